"""`TrackedPass`: the forward passes the learning dynamics need at every frame, started in
the training thread like the frame's own (see `probe.py`), waited for in the background.

Two passes, so that memory stays small whatever the model: the tracked training examples
(512 by default) through the whole model, keeping only its output (are they classified
right?); and a small fixed probe of them with every drawable layer's output returned
(CKA between frames, dead units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import model_layers
from .passes import CallRecorder, backend_images, make_forward
from .probe import ActivationProbe, Activations, PendingActivations

__all__ = ["TrackedPass", "PendingTracked", "TrackedActivations"]


@dataclass(frozen=True)
class TrackedActivations:
    """One frame's dynamics passes, as numpy.

    Args:
        probabilities: (tracked examples, classes) class probabilities.
        probe: the probe's pass: `recorded` holds every drawable layer's outputs.
    """

    probabilities: np.ndarray
    probe: Activations


@dataclass(frozen=True)
class PendingTracked:
    """The two passes of one frame, started; `result()` waits for both.

    Args:
        tracked: the pass over the tracked examples (its output only).
        probe: the pass over the probe, every drawable layer's output.
    """

    tracked: PendingActivations
    probe: PendingActivations

    def result(self) -> TrackedActivations:
        """Wait for both passes and copy them to numpy.

        Returns:
            The frame's `TrackedActivations`.
        """
        return TrackedActivations(self.tracked.result().probabilities, self.probe.result())


class TrackedPass:
    """The passes over tracked examples that a model's dynamics are measured from.

    Args:
        model: the keras.Model being trained (a classifier).
        tracked: the tracked examples, in the form the model takes.
        probe_examples: how many of the first tracked examples the layer probe runs on.

    Raises:
        ValueError: the model's output is not a classifier's.
    """

    def __init__(self, model, tracked: np.ndarray, *, probe_examples: int):
        self.probe = ActivationProbe(model, tracked[:probe_examples], record="drawable")
        if self.probe.output_kind == "regression":
            raise ValueError(f"record: learning dynamics need a classifier; model {model.name!r} outputs "
                             "a regression's values. Turn dynamics off for it.")
        by_name = {layer.name: layer for layer in model_layers(model)}
        #: Per recorded layer name (in model order), the layer itself (None for a repeated call).
        self.layers = {view.name: by_name.get(view.name) for view in self.probe.recorded}
        self._images = backend_images(np.asarray(tracked))
        self._forward = make_forward(model, CallRecorder([]), [], compiled=True)

    def dispatch(self) -> PendingTracked:
        """Start both passes and return at once (the training thread's part).

        Returns:
            The passes under way.
        """
        _, output = self._forward(self._images)
        return PendingTracked(PendingActivations([], output), self.probe.dispatch())
