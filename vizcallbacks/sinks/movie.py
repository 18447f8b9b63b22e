"""`MovieSink`: frames streamed into a movie (GIF, MP4, WebM) as they are made."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..checks import check_fps
from ..framefiles import FrameRecord, decoded
from .base import Sink

__all__ = ["MovieSink"]


class MovieSink(Sink):
    """Streams frames into a movie as they are made: listed in a callback's `sinks`, it is
    how a movie gets a frame rate of its own.

    >>> PlotConvCallback(x_test[:4], frames_dir="run/frames",
    ...                  sinks=[MovieSink("run/movie.mp4", fps=12), MovieSink("run/movie.gif")])

    Given a path, the writer (see `vizcallbacks.movie.writer_for`) is made when the sink
    opens, once per fit, so the same sink serves a resumed fit; a file already at the path
    is replaced only once the new movie is finished. Opened with the frames a resumed run
    already made (`earlier`), it first puts those into the movie, so that a resumed run's
    movie holds the whole run. `abort` stops without writing the movie; a file already at
    its path is untouched.

    Args:
        movie: the movie's path (`.gif`, `.mp4`, `.webm`), or a `vizcallbacks.movie.MovieWriter`
            not yet set up (used for one fit only).
        fps: frames per second, for a movie given by its path (a writer has its own).

    Raises:
        TypeError, ValueError: `movie` is neither a path with a movie extension nor a
            writer, or `fps` is not a positive number.
    """

    def __init__(self, movie, *, fps: float = 10):
        self.fps = check_fps(fps)
        self.movie = None  # the finished Movie, after finish()
        self.palette = None  # the colours of every frame, for a GIF (set by the callback)
        if isinstance(movie, (str, os.PathLike)):
            from ..movie.writers import writer_class

            writer_class(movie, argument="movie")  # a known extension, checked now
            self.path, self.writer = Path(movie), None
        elif hasattr(movie, "grab_frame") and hasattr(movie, "finish"):
            self.path, self.writer = Path(movie.out_path), movie
        else:
            raise TypeError("MovieSink needs a movie path (.gif, .mp4, .webm) or a MovieWriter. "
                            f"Received: movie={movie!r} ({type(movie).__name__}).")
        self._from_path = self.writer is None
        self._started = False

    def __repr__(self) -> str:
        return f"MovieSink('{self.path}', fps={self.fps:g})"

    def open(self, *, earlier=()) -> None:
        if self._from_path:
            self.writer = self._new_writer()
        self.movie, self._started = None, False
        if not earlier:
            return
        source = decoded(list(earlier))
        try:
            for _, frame in source:
                self._grab(frame)
        finally:
            source.close()

    def _new_writer(self):
        from ..movie import writer_for

        # Replacing a file that is there was decided before training (the callback's
        # overwrite and resume rules); it is swapped in atomically once finished.
        writer = writer_for(self.path, fps=self.fps, overwrite=True)
        if self.palette is not None and getattr(writer, "palette", False) is None:
            writer.palette = self.palette  # a GIF then reproduces every frame exactly
        return writer

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        self._grab(frame)

    def _grab(self, frame: np.ndarray) -> None:
        if not self._started:
            self.writer.setup(frame_size=frame.shape[:2])
            self._started = True
        self.writer.grab_frame(frame)

    def finish(self) -> None:
        if self.writer is not None:
            self.movie = self.writer.finish()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    def describe(self) -> str:
        """This sink in words, for the pipeline's messages."""
        return f"the movie '{self.path}'"

    def describe_kept(self, frames: int, *, failed: bool) -> str:
        """What this sink holds after a fault, for the pipeline's message.

        Args:
            frames: the frames it took.
            failed: whether this sink is the one that failed (its movie is not written).
        """
        if failed:
            return f"no movie at '{self.path}' (the {frames} frames it took are lost with it)"
        return f"{frames} frames in the movie '{self.path}'"
