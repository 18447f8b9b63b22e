"""What the callback's `record` takes: which layers the store keeps, and whether the run's
learning dynamics are measured (`Dynamics`), as one value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_positive_int, is_int
from ..record import check_record

__all__ = ["Dynamics", "Recording", "check_recording", "DEFAULT_EXAMPLES", "DEFAULT_PROBE", "DEFAULT_SNAPSHOTS"]

DEFAULT_EXAMPLES = 512
DEFAULT_PROBE = 64
DEFAULT_SNAPSHOTS = 128


@dataclass(frozen=True, eq=False)
class Dynamics:
    """Measure how training goes, beside the frames (`dynamics.json`, `dynamics.png`):
    which tracked training examples are learned and forgotten when, how far each layer is
    from its final state (linear CKA), which units are dead.

    A Keras callback cannot see the data `fit` trains on: give it here. Each fit measures
    its own frames: a resumed fit (`initial_epoch=k`) starts its dynamics afresh.

    >>> PlotConvCallback(x_test[:7], labels=y_test[:7], frames_dir="run/frames",
    ...                  record=Dynamics(x_train, y_train, examples=512, seed=0))

    Args:
        x: the training inputs, in the form the model takes.
        y: their labels: class indices, one-hot rows or 0/1.
        examples: how many training examples to track (drawn with `seed`; all when fewer).
        seed: the seed of the draw.
        probe_examples: how many of the tracked examples the layers are probed on (CKA,
            dead units); memory for CKA grows with its square.
        snapshots: the most frames whose layer state is kept for CKA to the final state;
            past it, every other one is dropped (those frames' `cka_to_final` are None).
        noisy: a bool per training example: whether its label was flipped (label-noise
            runs); None when none was.

    Raises:
        ValueError, TypeError: an argument is not valid; the message says what is.
    """

    x: np.ndarray
    y: np.ndarray
    examples: int = DEFAULT_EXAMPLES
    seed: int = 0
    probe_examples: int = DEFAULT_PROBE
    snapshots: int = DEFAULT_SNAPSHOTS
    noisy: np.ndarray | None = None

    def __post_init__(self):
        if len(self.x) != len(self.y) or len(self.x) < 2:
            raise ValueError(f"Dynamics: x and y must hold the same training examples, at least 2. "
                             f"Received: {len(self.x)} inputs and {len(self.y)} labels.")
        for name in ("examples", "probe_examples", "snapshots"):
            check_positive_int(getattr(self, name), name)
        if self.probe_examples < 2 or self.snapshots < 2:
            raise ValueError("Dynamics: probe_examples and snapshots must be at least 2. Received: "
                             f"probe_examples={self.probe_examples}, snapshots={self.snapshots}.")
        if not is_int(self.seed):
            raise TypeError(f"Dynamics: seed must be an int. Received: seed={self.seed!r}.")
        if self.noisy is not None and np.shape(self.noisy) != (len(self.x),):
            raise ValueError(f"Dynamics: noisy must be one bool per training example ({len(self.x)}). "
                             f"Received: shape {np.shape(self.noisy)}.")

    def tracked_indices(self) -> np.ndarray:
        """The training examples tracked: `examples` of them drawn with `seed`, in order.

        Returns:
            Sorted int indices into `x`.
        """
        count = min(self.examples, len(self.x))
        return np.sort(np.random.default_rng(self.seed).choice(len(self.x), count, replace=False))


@dataclass(frozen=True)
class Recording:
    """What the callback keeps besides its frames.

    Args:
        layers: the layers the activation store keeps: True or "drawable" (every drawable
            layer), a list of names or indices, or False.
        dynamics: a `Dynamics` to measure the run's learning dynamics, or None.
    """

    layers: object = "drawable"
    dynamics: Dynamics | None = None

    def __post_init__(self):
        check_record(self.layers)
        if self.dynamics is not None and not isinstance(self.dynamics, Dynamics):
            raise TypeError(f"Recording: dynamics must be a Dynamics or None. Received: {self.dynamics!r:.80}.")


def check_recording(record) -> tuple[object, Dynamics | None]:
    """`record` as the callback takes it, split: (the store's layers as `check_record`
    gives them, the `Dynamics` or None). A `Dynamics` alone records every drawable layer.

    Args:
        record: True, False, "drawable", layer names / indices, a `Dynamics` or a `Recording`.

    Raises:
        TypeError: anything else.
    """
    if isinstance(record, Dynamics):
        return "drawable", record
    if isinstance(record, Recording):
        return check_record(record.layers), record.dynamics
    return check_record(record), None
