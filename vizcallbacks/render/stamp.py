"""`Stamp`: where training stands, the line at the top of a frame."""

from __future__ import annotations

import types
from collections.abc import Mapping

from ..figures import FIGURE_KEYS, check_figures, figure

__all__ = ["Stamp"]


class Stamp:
    """Where training stands, printed at the top of a frame; what is None is left out.

    Any figure of `figures.FIGURES` can be given by its key, and is printed in the
    table's order: `Stamp(epoch=1, batch=250, accuracy=0.732, loss=0.512)`. The first five
    can also be given in order, `Stamp(1, 250, 0.732, 0.512)`.

    Args:
        epoch: the epoch, from 1.
        batch: the batch index within the epoch.
        accuracy: the training accuracy (a classifier's).
        loss: the training loss.
        mae: the training mean absolute error (a regression's).
        **figures: any other figure by its key (`heldout_accuracy=0.71`).
    """

    __slots__ = ("epoch", "batch", "figures")

    def __init__(self, epoch: int | None = None, batch: int | None = None, accuracy: float | None = None,
                 loss: float | None = None, mae: float | None = None, **figures: float | None):
        given = check_figures({"accuracy": accuracy, "loss": loss, "mae": mae, **figures}, "Stamp")
        object.__setattr__(self, "epoch", epoch)
        object.__setattr__(self, "batch", batch)
        object.__setattr__(self, "figures", types.MappingProxyType(
            {key: value for key, value in given.items() if value is not None}))

    @classmethod
    def of(cls, epoch: int | None = None, batch: int | None = None, figures: Mapping | None = None) -> Stamp:
        """A stamp from a mapping of figures, such as `figures.figures_from_logs(logs)`.

        Args:
            epoch: the epoch, from 1.
            batch: the batch index within the epoch.
            figures: figure key -> value (None values are left out).

        Returns:
            The stamp.
        """
        return cls(epoch, batch, **dict(figures or {}))

    def __getattr__(self, name: str):
        # stamp.accuracy, stamp.loss, ...: any figure, None when the stamp has none.
        if name in FIGURE_KEYS:
            return self.figures.get(name)
        raise AttributeError(f"'Stamp' object has no attribute {name!r}")

    def __setattr__(self, name, value):
        raise AttributeError("a Stamp cannot be changed; make a new one")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Stamp):
            return NotImplemented
        return (self.epoch, self.batch, dict(self.figures)) == (other.epoch, other.batch, dict(other.figures))

    def __hash__(self) -> int:
        return hash((self.epoch, self.batch, tuple(self.figures.items())))

    def __repr__(self) -> str:
        figures = "".join(f", {key}={value!r}" for key, value in self.figures.items())
        return f"Stamp(epoch={self.epoch!r}, batch={self.batch!r}{figures})"

    def __reduce__(self):
        return Stamp.of, (self.epoch, self.batch, dict(self.figures))

    def text(self) -> str:
        """The line, in the notes' format: "Epoch: 01, batch: 0250, accuracy: 0.732, loss: 0.512"."""
        parts = []
        if self.epoch is not None:
            parts.append(f"Epoch: {self.epoch:02d}")
        if self.batch is not None:
            parts.append(f"batch: {self.batch:04d}")
        for key, value in self.figures.items():
            row = figure(key)
            parts.append(f"{row.label}: {row.text(value)}")
        return ", ".join(parts)
