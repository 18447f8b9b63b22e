"""`MovieSink`: frames streamed into a movie writer (GIF, MP4, WebM) as they are made."""

from __future__ import annotations

import numpy as np

from ..framefiles import FrameRecord, decoded
from .base import Sink

__all__ = ["MovieSink"]


class MovieSink(Sink):
    """Streams frames into a movie writer (see `vizcallbacks.movie`) as they are made.

    Opened with the frames a resumed run already made (`earlier`), it first puts those into
    the movie, so that a resumed run's movie holds the whole run. `abort` stops without
    writing the movie; a file already at its path is untouched.

    >>> sink = MovieSink(writer_for("run/movie.mp4", fps=10))
    >>> ...                                 # the pipeline sends it frames
    >>> sink.movie.duration_s               # once finished

    Args:
        writer: a `vizcallbacks.movie.MovieWriter`, not yet set up.
    """

    def __init__(self, writer):
        self.writer = writer
        self.movie = None  # the finished Movie, after finish()
        self._started = False

    def open(self, *, earlier=()) -> None:
        if not earlier:
            return
        source = decoded(list(earlier))
        try:
            for _, frame in source:
                self._grab(frame)
        finally:
            source.close()

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        self._grab(frame)

    def _grab(self, frame: np.ndarray) -> None:
        if not self._started:
            self.writer.setup(frame_size=frame.shape[:2])
            self._started = True
        self.writer.grab_frame(frame)

    def finish(self) -> None:
        self.movie = self.writer.finish()

    def abort(self) -> None:
        self.writer.abort()
