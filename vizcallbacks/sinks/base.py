"""The one interface every sink implements: `Sink`. A new destination for frames (a
TensorBoard log, a notebook view) is one new subclass in its own file."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..framefiles import FrameRecord

__all__ = ["Sink"]


class Sink(abc.ABC):
    """One destination for frames. The pipeline calls open() once before the first frame,
    send() for every frame in order, then finish() once at the end (also when fit raised:
    what was sent is kept), or abort() when what was begun is not worth keeping.

    A subclass implements `send`, and `open`, `finish` or `abort` where it has work there.
    `send` runs in the pipeline's worker thread (with `background=False`, in the training
    thread), one frame at a time, in the order the callback lists the sinks; `open`,
    `finish` and `abort` run in the training thread, never while `send` runs. A sink tied
    to the thread that made it (sqlite, a GUI) must hand its work to that thread. A sink
    never needs another.

    >>> class CountingSink(Sink):
    ...     def __init__(self):
    ...         self.count = 0
    ...     def send(self, frame, record):
    ...         self.count += 1
    >>> callback = PlotConvCallback(x_test[:4], frames_dir="run/frames", sinks=[CountingSink()])
    """

    def open(self, *, earlier: Sequence[Path] = ()) -> None:  # default: nothing
        """`earlier`: PNG paths of frames a resumed run already made, in order.

        Args:
            earlier: the frames a resumed run's earlier epochs left, for sinks that must
                hold the whole run (a movie); empty for a run that starts afresh.
        """

    @abc.abstractmethod
    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        """Take one frame.

        Args:
            frame: the frame, a (height, width, 3) uint8 RGB array; every frame of a run
                has the same size. The sink must not change it.
            record: where training stood when it was drawn (see `FrameRecord`).
        """

    def finish(self) -> None:  # default: nothing
        """Make what was sent final: close files, write the movie."""

    def abort(self) -> None:  # default: self.finish()
        """Stop without making what was begun final, where that matters (a movie);
        by default the same as `finish`."""
        self.finish()
