"""What the analysis knows at one frame that the frame itself draws: each shown row's
right/wrong history and each column's dead fraction (issue 19). Filled by the dynamics
tracker in the background thread, read by the renderer; plain data, no Keras."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["FrameDynamics"]


@dataclasses.dataclass(frozen=True)
class FrameDynamics:
    """The dynamics drawn into one frame.

    Args:
        row_correct: per shown input (row), whether the model classified it right at each
            frame so far, oldest first, this frame last; None where it has no label.
        dead_fraction: per layer name (a column), the fraction of its units that are dead
            (ReLU-like) or saturated (sigmoid/tanh) on the probe inputs at this frame; a
            layer that has neither kind of unit is absent.
        cka_to_previous: per layer name, linear CKA of its activations with the previous
            frame's on the probe inputs; None at the first frame.
    """

    row_correct: tuple[tuple[bool, ...] | None, ...] = ()
    dead_fraction: Mapping[str, float] = dataclasses.field(default_factory=dict)
    cka_to_previous: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
