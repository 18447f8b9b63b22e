"""`DynamicsTracker`: the learning dynamics of a run, frame after frame, from numbers only
(what the tracked passes returned); nothing here touches the model.

Memory stays bounded whatever the run's length, apart from one bit-sized history per
tracked example and frame (the right/wrong raster):
- per layer, the centred Gram matrix of the probe (n x n float32, n = `probe_examples`),
  kept for at most `snapshots` frames, evenly spaced: when full, the stride doubles and
  every other snapshot goes (`GramSnapshots`). CKA to the final state is then computed
  for the kept frames (None for the others).
- the previous frame's Gram matrices, for CKA to the previous frame (live).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .cka import centered_gram, cka_from_grams
from .forgetting import correct_predictions, forgetting
from .frame import FrameDynamics
from .units import inactive_fraction

__all__ = ["DynamicsTracker", "GramSnapshots", "RIGHT", "WRONG"]

RIGHT = (0, 160, 0)
WRONG = (200, 0, 0)


class GramSnapshots:
    """Per frame index, the layers' Gram matrices, at most `capacity` frames, evenly spaced.

    Args:
        capacity: the most frames kept (at least 2).
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.stride = 1
        self.kept: dict[int, dict[str, np.ndarray]] = {}

    def add(self, index: int, grams: dict[str, np.ndarray]) -> None:
        """Keep frame `index`'s matrices when it falls on the stride; thin when full.

        Args:
            index: the frame's position in the run (0, 1, ...).
            grams: per layer, its centred Gram matrix.
        """
        if index % self.stride:
            return
        self.kept[index] = grams
        while len(self.kept) > self.capacity:
            self.stride *= 2
            self.kept = {kept: value for kept, value in self.kept.items() if kept % self.stride == 0}

    @property
    def nbytes(self) -> int:
        """The bytes held by the kept matrices."""
        return sum(gram.nbytes for grams in self.kept.values() for gram in grams.values())


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


class DynamicsTracker:
    """Everything the dynamics say so far; `observe` once per frame, in step order.

    Args:
        layers: per probed layer name (model order), its unit kind (`units.unit_kind`) or None.
        labels: the class index of each tracked training example.
        noisy: per tracked training example, whether its label was flipped.
        shown_labels: the class index of each shown input, or None when they have none.
        snapshots: the most frames whose Gram matrices are kept (`GramSnapshots`).
    """

    def __init__(self, *, layers: Mapping[str, str | None], labels: np.ndarray, noisy: np.ndarray,
                 shown_labels: np.ndarray | None, snapshots: int):
        self.kinds = dict(layers)
        self.labels = np.asarray(labels)
        self.noisy = np.asarray(noisy, dtype=bool)
        self.shown_labels = None if shown_labels is None else np.asarray(shown_labels)
        self.steps: list[int] = []
        self._correct: list[np.ndarray] = []   # per frame, tracked then shown examples
        self._cka_previous: dict[str, list] = {name: [] for name in self.kinds}
        self._inactive: dict[str, list] = {name: [] for name in self.kinds}
        self._previous: dict[str, np.ndarray] | None = None
        self.snapshots = GramSnapshots(snapshots)
        self._cka_final: dict[str, list] | None = None

    def observe(self, step: int, *, tracked_probabilities: np.ndarray, layer_outputs: Sequence[np.ndarray],
                shown_probabilities: np.ndarray | None) -> FrameDynamics:
        """Take one frame's passes.

        Args:
            step: the frame's training step.
            tracked_probabilities: (tracked examples, classes) class probabilities.
            layer_outputs: the probe's outputs of each layer of `layers`, in that order.
            shown_probabilities: (shown inputs, classes), or None.

        Returns:
            What the frame draws of the dynamics so far.
        """
        if self.steps and step == self.steps[-1]:  # the final frame of a run ending on a frame
            return self.frame_dynamics()
        correct = correct_predictions(tracked_probabilities, self.labels)
        if self.shown_labels is not None and shown_probabilities is not None:
            correct = np.concatenate([correct, correct_predictions(shown_probabilities, self.shown_labels)])
        self.steps.append(int(step))
        self._correct.append(correct)
        grams = {}
        for (name, kind), outputs in zip(self.kinds.items(), layer_outputs):
            grams[name] = centered_gram(outputs, dtype=np.float32)  # 5x faster, half the memory of float64
            previous = None if self._previous is None else cka_from_grams(self._previous[name], grams[name])
            self._cka_previous[name].append(_finite(previous))
            self._inactive[name].append(None if kind is None else inactive_fraction(outputs, kind))
        self.snapshots.add(len(self.steps) - 1, grams)
        self._previous = grams
        self._cka_final = None
        return self.frame_dynamics()

    def frame_dynamics(self) -> FrameDynamics:
        """What the last frame draws: the shown rows' right/wrong histories, the layers'
        dead fractions and CKA to the previous frame."""
        shown = self._history()[:, len(self.labels):].T  # one row per shown input with a label
        return FrameDynamics(
            row_correct=tuple(tuple(row.tolist()) for row in shown),
            dead_fraction={name: values[-1] for name, values in self._inactive.items()
                           if values and values[-1] is not None},
            cka_to_previous={name: values[-1] for name, values in self._cka_previous.items() if values})

    def finish(self) -> None:
        """The run has ended: CKA of every kept frame with the last one (the final state)."""
        if self._previous is None:
            return
        final, kept = self._previous, self.snapshots.kept
        self._cka_final = {}
        for name in self.kinds:
            values = [_finite(cka_from_grams(kept[index][name], final[name])) if index in kept else None
                      for index in range(len(self.steps))]
            values[-1] = _finite(cka_from_grams(final[name], final[name]))  # kept or thinned away
            self._cka_final[name] = values

    def summary(self) -> dict:
        """The dynamics as `dynamics.json` holds them: `steps`, `layers` (per layer
        `cka_to_final`, `cka_to_previous`, `dead_fraction`, one value per step), `examples`
        (per tracked example `first_learned_step`, `forgetting_events`, `noisy`; the
        training examples, then the shown inputs) and `unforgettable_fraction`."""
        empty = [None] * len(self.steps)
        layers = {name: {"cka_to_final": list(self._cka_final[name]) if self._cka_final else list(empty),
                         "cka_to_previous": list(self._cka_previous[name]),
                         "dead_fraction": [_finite(value) for value in self._inactive[name]]}
                  for name in self.kinds}
        stats = forgetting(self._history(), self.steps)
        noisy = list(self.noisy.tolist()) + [False] * (len(stats.forgetting_events) - len(self.noisy))
        examples = [{"first_learned_step": first, "forgetting_events": int(events), "noisy": bool(flag)}
                    for first, events, flag in zip(stats.first_learned_step, stats.forgetting_events, noisy)]
        fraction = stats.unforgettable_fraction
        return {"steps": list(self.steps), "layers": layers, "examples": examples,
                "unforgettable_fraction": None if fraction is None else round(fraction, 6)}

    def _history(self) -> np.ndarray:
        """(steps, examples) bools: right at each look, tracked examples then shown inputs."""
        if not self._correct:
            return np.zeros((0, len(self.labels)), bool)
        return np.array(self._correct, dtype=bool)

    def raster(self) -> np.ndarray:
        """The examples x time right/wrong picture: one pixel column per step, one row per
        tracked example sorted by first learned step (never learned last), green right,
        red wrong.

        Returns:
            A (examples, steps, 3) uint8 array.
        """
        history = self._history().T  # examples x steps
        if not self.steps:
            return np.zeros((len(history), 0, 3), np.uint8)
        learned = history.any(axis=1)
        first = np.where(learned, history.argmax(axis=1), len(self.steps))
        order = np.argsort(first, kind="stable")
        return np.where(history[order][..., None], np.uint8(RIGHT), np.uint8(WRONG)).astype(np.uint8)
