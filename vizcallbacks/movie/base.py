"""`MovieWriter`: how frames travel from `grab_frame` through a pipe into ffmpeg, and the
arguments every writer takes, declared once.

Writers follow matplotlib's movie-writer protocol, ``setup -> grab_frame -> finish``. A
format (``formats.py``) is a subclass that adds its own options as keyword-only dataclass
fields and overrides one method, `_output_args`: its ffmpeg arguments (the way matplotlib's
``FFMpegWriter`` subclasses override ``_args``).

Frames stream through a pipe into ffmpeg (see `ffmpeg.py`) one at a time, so memory does not
grow with the length of the movie. Each writer encodes into a hidden temporary file beside
``out_path`` (see `tempfiles.py`) and renames it onto ``out_path`` only once ffmpeg has
succeeded, so a crash never leaves half a movie there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_fps, check_path, check_positive_int, check_rgb_frame, check_writable_dir, is_int, is_real
from .display import Movie
from .ffmpeg import kill_and_clean, remove_quietly, start_ffmpeg, stderr_tail
from .tempfiles import new_token, remove_leftovers, temp_path

__all__ = ["MovieWriter", "check_hold_ms", "check_out_path"]

_WHITE = 255


def _hold_repeats(last_frame_hold_ms: float, fps: float) -> int:
    """How many repeats of the last frame show it for about ``last_frame_hold_ms`` longer."""
    return round(last_frame_hold_ms * fps / 1000)


def check_hold_ms(last_frame_hold_ms: Any) -> float:
    """`last_frame_hold_ms` checked: a finite number of milliseconds, 0 or more.

    Args:
        last_frame_hold_ms: what the writer received.

    Returns:
        It, as a float.
    """
    if not is_real(last_frame_hold_ms) or not 0 <= last_frame_hold_ms < float("inf"):
        raise ValueError(
            "last_frame_hold_ms must be a number of milliseconds >= 0. "
            f"Received: last_frame_hold_ms={last_frame_hold_ms!r}"
        )
    return float(last_frame_hold_ms)


def check_out_path(out_path: Any, *, suffix: str, overwrite: bool, folder_must_exist: bool = True) -> Path:
    """`out_path` checked for a writer of `suffix` files, before anything is written: the
    extension, not a folder, not an existing file unless `overwrite`, a folder that can be
    written.

    Args:
        out_path: the movie file.
        suffix: the writer's extension, lower case with the dot.
        overwrite: whether an existing file there may be replaced.
        folder_must_exist: False lets a folder that does not exist yet pass, for callers
            that make it later.

    Returns:
        `Path(out_path)`.
    """
    path = check_path(out_path, "out_path")
    if path.suffix.lower() != suffix:
        raise ValueError(
            f"out_path must end with {suffix!r} for this writer. Received: out_path='{path}'. "
            f"Use writer_for(out_path) to pick the writer from the suffix."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"out_path is a folder, not a movie file. Received: out_path='{path}'"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"out_path already exists: '{path.resolve()}'. It is kept: pass overwrite=True "
            "(--overwrite on the command line) to replace it, or choose another path."
        )
    if not folder_must_exist and not path.parent.exists():
        return path  # for callers that make the folder later
    # Fail here, not with ffmpeg's stderr after the last frame.
    check_writable_dir(path.parent, f"out_path '{path}'", create=False)
    return path


def _check_frame(frame: Any, index: int, expected_hw: tuple[int, int] | None) -> None:
    check_rgb_frame(frame, f"frame {index}")
    if expected_hw is not None and frame.shape[:2] != expected_hw:
        raise ValueError(
            f"frame {index} has (height, width)={frame.shape[:2]} but the movie was set up for "
            f"(height, width)={expected_hw}; all frames must have the same size"
        )


# Keyword-only fields (out_path aside), compared by identity, shown by the writer's own repr.
@dataclass(kw_only=True, eq=False, repr=False)
class MovieWriter:
    """Streams raw RGB frames through a pipe into the ffmpeg binary of imageio-ffmpeg.

    Subclasses contribute only their ffmpeg arguments (:meth:`_output_args`) and the rate ffmpeg
    should read frames at (:meth:`_input_rate`); their own options are more keyword-only
    fields, declared the same way, with their checks in `__post_init__`. The arguments below
    are declared here only. ffmpeg is started at the first frame, so a writer that never
    receives a frame writes nothing.

    Args:
        out_path: the movie file to write, with this writer's extension; its folder must
            exist and be writable.
        fps: frames per second.
        scale: each pixel becomes a scale x scale block (nearest neighbour).
        last_frame_hold_ms: how much longer the last frame shows, in milliseconds.
        overwrite: replace a file at `out_path` (once the movie is finished).

    Raises:
        TypeError, ValueError: an option is not valid.
        FileExistsError: a file is at `out_path` and `overwrite` is False.
        FileNotFoundError: `out_path`'s folder does not exist.
    """

    #: The file extension this writer produces, lower case with the dot.
    suffix = ""
    # yuv420p stores colour for 2x2 pixel blocks, so its encoders need even sizes.
    _needs_even_size = False

    out_path: str | os.PathLike = field(kw_only=False)
    fps: float = 10
    scale: int = 1
    last_frame_hold_ms: float = 0
    overwrite: bool = False

    def __post_init__(self) -> None:
        self.fps = check_fps(self.fps)
        self.scale = check_positive_int(self.scale, "scale")
        self.last_frame_hold_ms = check_hold_ms(self.last_frame_hold_ms)
        self.overwrite = bool(self.overwrite)
        self.out_path = check_out_path(self.out_path, suffix=self.suffix, overwrite=self.overwrite)
        remove_leftovers(self.out_path)
        # Hidden, in the same folder so the final os.replace is an atomic rename, and keeping
        # the suffix so anyone looking knows what it is.
        self._token = new_token()
        self._temp_path = temp_path(self.out_path, "partial", self._token, self.suffix)
        self._temp_paths = [self._temp_path]
        self.frame_count = 0
        self._frame_hw: tuple[int, int] | None = None
        self._out_hw: tuple[int, int] | None = None
        self._process = None  # ffmpeg, from the first frame on
        self._stderr = None
        self._finalizer = None
        self._last_frame: np.ndarray | None = None
        self._finished = False
        self._movie: Movie | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.out_path}', fps={self.fps:g}, scale={self.scale})"

    # -- protocol ---------------------------------------------------------------------------

    def setup(self, *, frame_size: tuple[int, int]) -> None:
        """Fix the size of the frames that will be grabbed. Optional: the first
        :meth:`grab_frame` sets it up from its frame.

        Args:
            frame_size: (height, width) in pixels.
        """
        if self._finished:
            raise RuntimeError(f"{self!r} is already finished; create a new writer")
        if self._frame_hw is not None:
            raise RuntimeError(f"{self!r} is already set up for frame_size={self._frame_hw}")
        if not isinstance(frame_size, tuple) or len(frame_size) != 2 or not all(
                is_int(n) and n > 0 for n in frame_size):
            raise ValueError(
                "frame_size must be a tuple (height, width) of positive integers. "
                f"Received: frame_size={frame_size!r}"
            )
        height, width = (int(n) for n in frame_size)
        self._frame_hw = (height, width)
        height, width = height * self.scale, width * self.scale
        if self._needs_even_size:
            height, width = height + height % 2, width + width % 2
        self._out_hw = (height, width)

    def grab_frame(self, frame: np.ndarray) -> None:
        """Append one frame to the movie.

        Args:
            frame: a (height, width, 3) uint8 RGB array of the size set up.
        """
        if self._finished:
            raise RuntimeError(f"{self!r} is already finished; create a new writer")
        _check_frame(frame, self.frame_count, self._frame_hw)
        if self._frame_hw is None:
            self.setup(frame_size=frame.shape[:2])
        out = self._prepare(frame)
        if self._process is None:
            self._start(out)
        self._write(out)
        self.frame_count += 1
        if self._hold_frame_count:
            # The caller may reuse its buffer for the next frame; keep our own copy to repeat.
            self._last_frame = out.copy() if out is frame else out

    def finish(self) -> Movie | None:
        """Close the movie and move it onto ``out_path``; returns it, or None without frames.

        Calling it again returns the same result.
        """
        if self._finished:
            return self._movie
        self._finished = True
        if self._process is None:
            remove_quietly(self._temp_paths)
            return None
        try:
            for _ in range(self._hold_frame_count):
                self._write(self._last_frame)
            self._last_frame = None
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
            returncode = self._process.wait()
            if returncode != 0:
                raise RuntimeError(
                    f"ffmpeg failed with exit code {returncode} while writing '{self.out_path}':\n"
                    + stderr_tail(self._stderr)
                )
            os.replace(self._temp_path, self.out_path)
        except BaseException:
            self._abort_process()
            raise
        self._finalizer.detach()
        remove_quietly(self._temp_paths)
        self._stderr.close()
        height, width = self._out_hw
        self._movie = Movie(
            path=self.out_path,
            frame_count=self.frame_count,
            fps=self.playback_fps,
            duration_s=self.duration_s,
            size=(width, height),
        )
        return self._movie

    def abort(self) -> None:
        """Stop without writing anything to ``out_path``; an existing file there is untouched."""
        self._finished = True
        self._abort_process()

    def __enter__(self) -> MovieWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        # Like matplotlib's saving(): the frames grabbed so far become a valid movie even when
        # the body raised, e.g. a training run interrupted with Ctrl-C.
        self.finish()

    # -- what the movie will be -------------------------------------------------------------

    @property
    def playback_fps(self) -> float:
        """The rate the written file plays at."""
        return float(self._input_rate())

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the written movie, known once set up."""
        if self._out_hw is None:
            return None
        return (self._out_hw[1], self._out_hw[0])

    @property
    def duration_s(self) -> float:
        """Playing time of the frames grabbed so far, including the last-frame hold."""
        if self.frame_count == 0:
            return 0.0
        return (self.frame_count + self._hold_frame_count) / self.playback_fps

    @property
    def _hold_frame_count(self) -> int:
        return _hold_repeats(self.last_frame_hold_ms, self.fps)

    # -- subclass hooks ---------------------------------------------------------------------

    def _input_rate(self) -> Fraction:
        return Fraction(self.fps).limit_denominator(1_000_000)

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        raise NotImplementedError

    # -- the pipe ---------------------------------------------------------------------------

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        out = frame
        if self.scale > 1:
            # Nearest neighbour in numpy: a 28-pixel map shown 8x larger keeps crisp pixels,
            # where ffmpeg's default bicubic scaler would blur them.
            out = np.repeat(np.repeat(out, self.scale, axis=0), self.scale, axis=1)
        pad_h, pad_w = self._out_hw[0] - out.shape[0], self._out_hw[1] - out.shape[1]
        if pad_h or pad_w:
            out = np.pad(out, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=_WHITE)
        return np.ascontiguousarray(out)

    def _start(self, first_frame: np.ndarray) -> None:
        height, width = self._out_hw
        try:
            output_args = self._output_args(first_frame)
            self._stderr = tempfile.TemporaryFile()
            self._process = start_ffmpeg(output_args, width=width, height=height, rate=self._input_rate(),
                                         out_path=self._temp_path, stderr=self._stderr,
                                         frame_bytes=first_frame.nbytes)
        except BaseException:
            self.abort()  # e.g. the palette PNG is already written
            raise
        # A writer dropped without finish() must not leave ffmpeg waiting or a partial file.
        self._finalizer = weakref.finalize(
            self, kill_and_clean, self._process, list(self._temp_paths)
        )

    def _write(self, frame: np.ndarray) -> None:
        try:
            self._process.stdin.write(memoryview(frame).cast("B"))
        except OSError:  # BrokenPipeError, or EINVAL on Windows, once ffmpeg has exited
            try:
                returncode = self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                returncode = "none yet"
            tail = stderr_tail(self._stderr)
            self.abort()
            raise RuntimeError(
                f"ffmpeg stopped (exit code {returncode}) while writing '{self.out_path}':\n{tail}"
            ) from None

    def _abort_process(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills ffmpeg and removes the temporary files, once
        else:
            remove_quietly(self._temp_paths)
        if self._stderr is not None:
            self._stderr.close()


