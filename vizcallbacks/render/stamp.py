"""`Stamp`: where training stands, the line at the top of a frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Stamp"]


@dataclass(frozen=True)
class Stamp:
    """Where training stands, printed at the top of a frame; what is None is left out.

    Args:
        epoch: the epoch, from 1.
        batch: the batch index within the epoch.
        accuracy: the training accuracy (a classifier's).
        loss: the training loss.
        mae: the training mean absolute error (a regression's).
    """

    epoch: int | None = None
    batch: int | None = None
    accuracy: float | None = None
    loss: float | None = None
    mae: float | None = None

    def text(self) -> str:
        """The line, in the notes' format: "Epoch: 01, batch: 0250, accuracy: 0.732, loss: 0.512"."""
        parts = []
        if self.epoch is not None:
            parts.append(f"Epoch: {self.epoch:02d}")
        if self.batch is not None:
            parts.append(f"batch: {self.batch:04d}")
        for name in ("accuracy", "mae", "loss"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}: {_number(value)}")
        return ", ".join(parts)


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.3f}"
