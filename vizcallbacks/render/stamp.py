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
        accuracy: the training accuracy.
        loss: the training loss.
    """

    epoch: int | None = None
    batch: int | None = None
    accuracy: float | None = None
    loss: float | None = None

    def text(self) -> str:
        parts = []
        if self.epoch is not None:
            parts.append(f"Epoch: {self.epoch:02d}")
        if self.batch is not None:
            parts.append(f"batch: {self.batch:04d}")
        if self.accuracy is not None:
            parts.append(f"accuracy: {_number(self.accuracy)}")
        if self.loss is not None:
            parts.append(f"loss: {_number(self.loss)}")
        return ", ".join(parts)


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.3f}"
