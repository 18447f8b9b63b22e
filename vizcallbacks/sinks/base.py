"""The one interface every sink implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["Sink"]


class Sink(abc.ABC):
    """One destination for frames. The pipeline calls open() once before the first frame,
    send() for every frame in order, then finish() once at the end (also when fit raised:
    what was sent is kept), or abort() when what was begun is not worth keeping."""

    def open(self, *, earlier: Sequence[Path] = ()) -> None:
        """Called once before the first frame. `earlier`: PNG paths of the frames that a
        resumed run already made."""

    @abc.abstractmethod
    def send(self, frame: np.ndarray, record) -> None:
        """One frame, (H, W, 3) uint8 RGB, with its FrameRecord."""

    def finish(self) -> None:
        """Called once after the last frame; what was sent is kept."""

    def abort(self) -> None:
        """Called instead of finish() when what was begun is not worth keeping."""
        self.finish()
