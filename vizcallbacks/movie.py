"""Encode RGB frames into GIF, MP4 and WebM movies with the ffmpeg of imageio-ffmpeg.

Writers follow matplotlib's movie-writer protocol, ``setup -> grab_frame -> finish``, and are
chosen from :data:`WRITERS`, a table keyed by file extension::

    with writer_for("run/activations.gif", fps=12, scale=4) as writer:
        for frame in frames:          # (height, width, 3) uint8 arrays
            writer.grab_frame(frame)

:func:`stitch` turns a folder of PNG frames, a ``frames.jsonl`` manifest or an iterable of arrays
into a movie and returns a :class:`Movie` that Jupyter shows inline.

Frames stream through a pipe into ffmpeg one at a time, so memory does not grow with the length
of the movie. Each writer encodes into a hidden temporary file beside ``out_path`` and renames it
onto ``out_path`` only once ffmpeg has succeeded, so a crash never leaves half a movie there.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import html
import itertools
import json
import math
import numbers
import os
import re
import secrets
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "GifWriter",
    "Mp4Writer",
    "Movie",
    "MovieWriter",
    "WRITERS",
    "WebmWriter",
    "check_movie_path",
    "inspect_movie",
    "stitch",
    "writer_for",
    "writing",
]

#: Movies up to this size are embedded in ``Movie._repr_html_`` as data URIs; larger ones are
#: linked, because notebooks that carry tens of megabytes of base64 become slow to open.
MAX_INLINE_BYTES = 10 * 1024 * 1024

#: The manifest that the frame-saving callback writes beside (or into) its frames folder.
MANIFEST_NAME = "frames.jsonl"

# Browsers raise GIF delays below 2 centiseconds to 10 cs, so faster GIFs would play slower.
_MIN_GIF_DELAY_CS = 2
# How many decoded PNGs may wait for ffmpeg: enough to hide decode time, bounded for memory.
_READ_AHEAD_FRAMES = 8


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # the CPUs this process may use, e.g. in a container
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# PIL decodes without holding the GIL, so threads help, but ffmpeg needs a core of its own.
_DECODE_THREADS = min(4, max(1, _available_cpus() - 1))

_STDERR_TAIL_LINES = 15
_WHITE = 255


# ----------------------------------------------------------------------------------------------
# Unit conversions, kept in one place.


def _gif_delay_cs(fps: float) -> int:
    """Per-frame GIF delay in centiseconds, the unit the format stores."""
    return max(_MIN_GIF_DELAY_CS, round(100 / fps))


def _hold_frame_count(last_frame_hold_ms: float, fps: float) -> int:
    """How many repeats of the last frame show it for about ``last_frame_hold_ms`` longer."""
    return round(last_frame_hold_ms * fps / 1000)


def _ffmpeg_rate(fps: float | Fraction) -> str:
    # ffmpeg takes rates as exact rationals; 100/3 written as "33.3333" would drift.
    rate = Fraction(fps).limit_denominator(1_000_000)
    return f"{rate.numerator}/{rate.denominator}"


# ----------------------------------------------------------------------------------------------
# Argument checks.


def _check_fps(fps: Any) -> float:
    if (
        isinstance(fps, bool)
        or not isinstance(fps, numbers.Real)
        or not math.isfinite(fps)
        or fps <= 0
    ):
        raise ValueError(
            f"fps must be a positive, finite number of frames per second. Received: fps={fps!r}"
        )
    return float(fps)


def _check_scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Integral) or scale < 1:
        raise ValueError(
            "scale must be a positive integer (each pixel becomes a scale x scale block). "
            f"Received: scale={scale!r}"
        )
    return int(scale)


def _check_hold_ms(last_frame_hold_ms: Any) -> float:
    if (
        isinstance(last_frame_hold_ms, bool)
        or not isinstance(last_frame_hold_ms, numbers.Real)
        or not math.isfinite(last_frame_hold_ms)
        or last_frame_hold_ms < 0
    ):
        raise ValueError(
            "last_frame_hold_ms must be a number of milliseconds >= 0. "
            f"Received: last_frame_hold_ms={last_frame_hold_ms!r}"
        )
    return float(last_frame_hold_ms)


def _check_out_path(
    out_path: Any, *, suffix: str, overwrite: bool, folder_must_exist: bool = True
) -> Path:
    if not isinstance(out_path, (str, os.PathLike)):
        raise TypeError(
            f"out_path must be a str or os.PathLike. Received: out_path={out_path!r}"
        )
    path = Path(out_path)
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
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(
            f"The folder of out_path is a file: '{parent}'. Received: out_path='{path}'"
        )
    if not parent.is_dir():
        if not folder_must_exist:
            return path
        raise FileNotFoundError(
            f"The folder of out_path does not exist: '{parent}'. Create it first. "
            f"Received: out_path='{path}'"
        )
    # Fail here, not with ffmpeg's stderr after the last frame. A real file, because
    # os.access answers yes to root for folders such as /proc that refuse new files.
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise ValueError(
            f"The folder of out_path cannot be written: '{parent}' ({exc.strerror or exc}). "
            f"Choose a folder you can write to. Received: out_path='{path}'"
        ) from None
    return path


def _check_palette(palette: Any) -> np.ndarray | None:
    if palette is None:
        return None
    array = np.asarray(palette)
    valid = "an array of shape (K, 3) with 1 <= K <= 256 and values 0..255"
    if array.ndim != 2 or array.shape[1] != 3 or not 1 <= array.shape[0] <= 256:
        raise ValueError(f"palette must be {valid}. Received: palette of shape {array.shape}")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
            raise ValueError(
                f"palette must be {valid}. Received: palette of dtype {array.dtype} with values "
                f"{array.min()}..{array.max()}"
            )
        array = array.astype(np.uint8)
    return array


def _check_frame(frame: Any, index: int, expected_hw: tuple[int, int] | None) -> None:
    if not isinstance(frame, np.ndarray):
        raise TypeError(
            f"frame {index} must be a numpy array of shape (height, width, 3) and dtype uint8. "
            f"Received: {type(frame).__name__}"
        )
    if frame.dtype != np.uint8:
        raise ValueError(
            f"frame {index} must have dtype uint8 (RGB values 0..255). "
            f"Received: dtype={frame.dtype}"
        )
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(
            f"frame {index} must have shape (height, width, 3). Received: shape={frame.shape}"
        )
    if expected_hw is not None and frame.shape[:2] != expected_hw:
        raise ValueError(
            f"frame {index} has (height, width)={frame.shape[:2]} but the movie was set up for "
            f"(height, width)={expected_hw}; all frames must have the same size"
        )


# ----------------------------------------------------------------------------------------------
# The movie that was written.


_MIME_TYPES = {"gif": "image/gif", "mp4": "video/mp4", "webm": "video/webm"}


@dataclasses.dataclass(frozen=True)
class Movie:
    """A movie file on disk, as written by a writer or :func:`stitch`.

    ``size`` is (width, height) of the written movie in pixels, after scaling and padding.
    ``fps`` is the rate the file plays at (a GIF stores whole centiseconds, so ``fps=30``
    plays at 100/3). ``duration_s`` includes the hold on the last frame.
    """

    path: Path
    frame_count: int
    fps: float
    duration_s: float
    size: tuple[int, int]

    @property
    def format(self) -> str:
        """The file format from the suffix: ``"gif"``, ``"mp4"`` or ``"webm"``."""
        return self.path.suffix.lower().lstrip(".")

    def _repr_html_(self) -> str:
        mime = _MIME_TYPES.get(self.format, "application/octet-stream")
        try:
            inline = self.path.stat().st_size <= MAX_INLINE_BYTES
        except OSError:
            inline = False
        if inline:
            encoded = base64.b64encode(self.path.read_bytes()).decode("ascii")
            src = f"data:{mime};base64,{encoded}"
        else:
            # Jupyter serves files relative to the notebook, usually the working folder.
            try:
                src = Path(os.path.relpath(self.path)).as_posix()
            except ValueError:  # another drive on Windows
                src = self.path.as_posix()
        width, height = self.size
        attributes = f'src="{html.escape(src)}" width="{width}" height="{height}"'
        if self.format == "gif":
            return f'<img {attributes} alt="{html.escape(self.path.name)}">'
        return f"<video {attributes} controls loop autoplay muted playsinline></video>"


# ----------------------------------------------------------------------------------------------
# Writers.


def _remove_quietly(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _kill_and_clean(process: subprocess.Popen, temp_paths: list[Path]) -> None:
    """Stop ffmpeg and remove its temporary files; for aborts and forgotten writers."""
    with contextlib.suppress(OSError):
        process.stdin.close()
    if process.poll() is None:
        process.kill()
    process.wait()
    _remove_quietly(temp_paths)


def _stderr_tail(stderr_file) -> str:
    stderr_file.seek(0)
    text = stderr_file.read().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-_STDERR_TAIL_LINES:]) or "(ffmpeg printed nothing)"


def _widen_pipe(pipe, *, frame_bytes: int) -> None:
    """Grow a Linux pipe from 64 KiB towards one frame; best effort, elsewhere a no-op.

    With 64 KiB, each 640x480 frame takes ~15 round trips between us and ffmpeg; a frame-sized
    pipe doubles throughput, which matters when ffmpeg itself is fast (GIF, small frames).
    """
    if not sys.platform.startswith("linux"):
        return
    import fcntl

    # Unprivileged processes may go up to /proc/sys/fs/pipe-max-size, 1 MiB by default.
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, min(max(frame_bytes, 1 << 16), 1 << 20))


# Ctrl-C in a terminal signals the whole process group. ffmpeg would stop at once, and the
# movie that `with callback:` (or the writer's own `with`) finishes after the interrupt
# would be lost; in its own group, ffmpeg stops when its input ends, like every other exit.
_SHIELDED_FROM_CTRL_C: dict[str, Any] = (
    {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32"
    else {"start_new_session": True}
)


class MovieWriter:
    """Streams raw RGB frames through a pipe into the ffmpeg binary of imageio-ffmpeg.

    Subclasses contribute only their ffmpeg arguments (:meth:`_output_args`) and the rate ffmpeg
    should read frames at (:meth:`_input_rate`). ffmpeg is started at the first frame, so a
    writer that never receives a frame writes nothing.
    """

    #: The file extension this writer produces, lower case with the dot.
    suffix = ""
    # yuv420p stores colour for 2x2 pixel blocks, so its encoders need even sizes.
    _needs_even_size = False

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        fps: float = 10,
        scale: int = 1,
        last_frame_hold_ms: float = 0,
        overwrite: bool = False,
    ) -> None:
        self.fps = _check_fps(fps)
        self.scale = _check_scale(scale)
        self.last_frame_hold_ms = _check_hold_ms(last_frame_hold_ms)
        self.overwrite = bool(overwrite)
        self.out_path = _check_out_path(out_path, suffix=self.suffix, overwrite=self.overwrite)
        # Hidden, in the same folder so the final os.replace is an atomic rename, and keeping
        # the suffix so anyone looking knows what it is.
        self._token = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._temp_path = self.out_path.with_name(
            f".{self.out_path.name}.partial-{self._token}{self.suffix}"
        )
        self._temp_paths = [self._temp_path]
        self.frame_count = 0
        self._frame_hw: tuple[int, int] | None = None
        self._out_hw: tuple[int, int] | None = None
        self._process: subprocess.Popen | None = None
        self._stderr = None
        self._finalizer = None
        self._last_frame: np.ndarray | None = None
        self._finished = False
        self._movie: Movie | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.out_path}', fps={self.fps:g}, scale={self.scale})"

    # -- protocol ---------------------------------------------------------------------------

    def setup(self, *, frame_size: tuple[int, int]) -> None:
        """Fix the size, (height, width) in pixels, of the frames that will be grabbed.

        Optional: the first :meth:`grab_frame` sets it up from its frame.
        """
        if self._finished:
            raise RuntimeError(f"{self!r} is already finished; create a new writer")
        if self._frame_hw is not None:
            raise RuntimeError(f"{self!r} is already set up for frame_size={self._frame_hw}")
        if (
            not isinstance(frame_size, tuple)
            or len(frame_size) != 2
            or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                for n in frame_size
            )
        ):
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
        """Append one frame, a (height, width, 3) uint8 RGB array, to the movie."""
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
            _remove_quietly(self._temp_paths)
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
                    + _stderr_tail(self._stderr)
                )
            os.replace(self._temp_path, self.out_path)
        except BaseException:
            self._abort_process()
            raise
        self._finalizer.detach()
        _remove_quietly(self._temp_paths)
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
        return _hold_frame_count(self.last_frame_hold_ms, self.fps)

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
        import tempfile

        import imageio_ffmpeg

        height, width = self._out_hw
        try:
            output_args = self._output_args(first_frame)
            self._stderr = tempfile.TemporaryFile()
            self._process = subprocess.Popen(
                [
                    imageio_ffmpeg.get_ffmpeg_exe(),
                    "-hide_banner",
                    "-loglevel", "error",
                    "-f", "rawvideo",
                    "-pix_fmt", "rgb24",
                    "-s", f"{width}x{height}",
                    "-framerate", _ffmpeg_rate(self._input_rate()),
                    "-i", "pipe:0",
                    *output_args,
                    "-y", str(self._temp_path),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                # A file, not a PIPE: ffmpeg blocks once an unread stderr pipe fills (64 KiB)
                # while we block writing frames to its stdin.
                stderr=self._stderr,
                **_SHIELDED_FROM_CTRL_C,
            )
        except BaseException:
            self.abort()  # e.g. the palette PNG is already written
            raise
        _widen_pipe(self._process.stdin, frame_bytes=first_frame.nbytes)
        # A writer dropped without finish() must not leave ffmpeg waiting or a partial file.
        self._finalizer = weakref.finalize(
            self, _kill_and_clean, self._process, list(self._temp_paths)
        )

    def _write(self, frame: np.ndarray) -> None:
        try:
            self._process.stdin.write(memoryview(frame).cast("B"))
        except OSError:  # BrokenPipeError, or EINVAL on Windows, once ffmpeg has exited
            try:
                returncode = self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                returncode = "none yet"
            tail = _stderr_tail(self._stderr)
            self.abort()
            raise RuntimeError(
                f"ffmpeg stopped (exit code {returncode}) while writing '{self.out_path}':\n{tail}"
            ) from None

    def _abort_process(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills ffmpeg and removes the temporary files, once
        else:
            _remove_quietly(self._temp_paths)
        if self._stderr is not None:
            self._stderr.close()


_BT709_ARGS = [
    # swscale converts RGB to YUV with BT.601 unless told. Convert with BT.709 and tag the
    # frames so players convert back with the same matrix; ffmpeg 7+ takes the tags from the
    # frames (setparams), ignoring -colorspace/-color_primaries given to the encoder.
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
    "-pix_fmt", "yuv420p",
]


class Mp4Writer(MovieWriter):
    """H.264 MP4 that plays in browsers, notebooks and slides.

    ``crf`` trades size for quality (0 lossless .. 51 worst, 18 looks lossless); ``preset`` trades
    encoding time for size. ``last_frame_hold_ms`` repeats the last frame to show it longer.
    Odd sizes are padded with white on the right and bottom, because yuv420p needs even sizes.
    """

    suffix = ".mp4"
    _needs_even_size = True

    _PRESETS = (
        "ultrafast", "superfast", "veryfast", "faster", "fast",
        "medium", "slow", "slower", "veryslow", "placebo",
    )

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        fps: float = 10,
        scale: int = 1,
        crf: int = 18,
        preset: str = "medium",
        last_frame_hold_ms: float = 0,
        overwrite: bool = False,
    ) -> None:
        if isinstance(crf, bool) or not isinstance(crf, numbers.Integral) or not 0 <= crf <= 51:
            raise ValueError(f"crf must be an integer from 0 to 51. Received: crf={crf!r}")
        if preset not in self._PRESETS:
            raise ValueError(
                f"preset must be one of {', '.join(self._PRESETS)}. Received: preset={preset!r}"
            )
        self.crf = int(crf)
        self.preset = preset
        super().__init__(
            out_path,
            fps=fps,
            scale=scale,
            last_frame_hold_ms=last_frame_hold_ms,
            overwrite=overwrite,
        )

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libx264",
            "-preset", self.preset,
            "-crf", str(self.crf),
            *_BT709_ARGS,
            # The index goes at the front so browsers start playing before the download ends.
            "-movflags", "+faststart",
            "-f", "mp4",
        ]


class WebmWriter(MovieWriter):
    """VP9 WebM, smaller than MP4 at the same quality, slower to encode.

    ``crf`` runs 0..63 (31 is libvpx's suggestion for 1080p; lower is better).
    """

    suffix = ".webm"
    _needs_even_size = True

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        fps: float = 10,
        scale: int = 1,
        crf: int = 31,
        last_frame_hold_ms: float = 0,
        overwrite: bool = False,
    ) -> None:
        if isinstance(crf, bool) or not isinstance(crf, numbers.Integral) or not 0 <= crf <= 63:
            raise ValueError(f"crf must be an integer from 0 to 63. Received: crf={crf!r}")
        self.crf = int(crf)
        super().__init__(
            out_path,
            fps=fps,
            scale=scale,
            last_frame_hold_ms=last_frame_hold_ms,
            overwrite=overwrite,
        )

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libvpx-vp9",
            # -b:v 0 makes -crf a constant quality instead of a cap under libvpx's default bitrate.
            "-crf", str(self.crf),
            "-b:v", "0",
            "-deadline", "good",
            "-cpu-used", "4",
            "-row-mt", "1",
            *_BT709_ARGS,
            "-f", "webm",
        ]


class GifWriter(MovieWriter):
    """Animated GIF that loops forever, with one fixed palette of up to 256 colours.

    GIF stores delays in centiseconds, so every frame shows for ``max(2, round(100 / fps))`` cs
    (browsers slow down anything shorter than 2 cs); :attr:`playback_fps` is the resulting rate.
    The last frame shows ``last_frame_hold_ms`` longer, so a looping GIF pauses on the result.

    Pass ``palette`` (K <= 256 RGB colours) when the frames only use those colours, as frames
    from a colormap renderer do: every pixel is then reproduced exactly. Without it the palette
    comes from the first frame (its own colours when it has at most 256, else median cut).
    Pixels are mapped to the nearest palette colour without dithering, which keeps flat areas
    flat and the file small.
    """

    suffix = ".gif"

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        fps: float = 10,
        scale: int = 1,
        palette: np.ndarray | None = None,
        last_frame_hold_ms: float = 1000,
        overwrite: bool = False,
    ) -> None:
        self.palette = _check_palette(palette)
        # The GIF format stores delays as 16-bit centiseconds.
        if _gif_delay_cs(_check_fps(fps)) > 0xFFFF:
            raise ValueError(f"fps must be at least 1/655.35 for a GIF. Received: fps={fps!r}")
        if round(_check_hold_ms(last_frame_hold_ms) / 10) + _gif_delay_cs(fps) > 0xFFFF:
            raise ValueError(
                "last_frame_hold_ms must be below 655 seconds for a GIF. "
                f"Received: last_frame_hold_ms={last_frame_hold_ms!r}"
            )
        super().__init__(
            out_path,
            fps=fps,
            scale=scale,
            last_frame_hold_ms=last_frame_hold_ms,
            overwrite=overwrite,
        )
        self._palette_path = self.out_path.with_name(
            f".{self.out_path.name}.palette-{self._token}.png"
        )
        self._temp_paths.append(self._palette_path)

    @property
    def delay_cs(self) -> int:
        """How long each frame shows, in centiseconds."""
        return _gif_delay_cs(self.fps)

    @property
    def final_delay_cs(self) -> int:
        """How long the last frame shows, in centiseconds: one frame plus the hold."""
        return self.delay_cs + round(self.last_frame_hold_ms / 10)

    @property
    def duration_s(self) -> float:
        if self.frame_count == 0:
            return 0.0
        return ((self.frame_count - 1) * self.delay_cs + self.final_delay_cs) / 100

    @property
    def _hold_frame_count(self) -> int:
        return 0  # the gif muxer's -final_delay holds the last frame without repeating it

    def _input_rate(self) -> Fraction:
        # Reading frames at exactly 100/delay_cs gives timestamps on whole centiseconds, so
        # every delay is equal instead of alternating 3 and 4 cs for 30 fps.
        return Fraction(100, self.delay_cs)

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        from PIL import Image

        palette = self.palette if self.palette is not None else _palette_from_frame(first_frame)
        opaque = np.column_stack([palette, np.full(len(palette), 255, np.uint8)])
        # paletteuse wants exactly 256 entries; repeats of the last colour are never picked.
        # When there is room, the last entry is left fully transparent: the gif encoder
        # then marks the pixels that did not change since the previous frame with it
        # (transdiff), which is what keeps a GIF of slowly changing frames small. Frames
        # are opaque, so no pixel is ever mapped to it.
        transparent = [[0, 0, 0, 0]] if len(palette) < 256 else []
        padding = np.repeat(opaque[-1:], 256 - len(palette) - len(transparent), axis=0)
        tile = np.concatenate([opaque, padding, np.array(transparent, np.uint8).reshape(-1, 4)])
        Image.fromarray(tile.astype(np.uint8).reshape(16, 16, 4)).save(self._palette_path)
        return [
            "-i", str(self._palette_path),
            # A fixed palette maps frames in one streaming pass (palettegen would need all
            # frames first). No dithering: colours in the palette come out exact, flat areas
            # stay flat and compress well; diff_mode only remaps what changed.
            "-filter_complex", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle",
            "-c:v", "gif",
            # Default gifflags (offsetting+transdiff) store only the changed rectangle and make
            # unchanged pixels transparent, which keeps slowly changing activations small.
            "-loop", "0",
            "-final_delay", str(self.final_delay_cs),
            "-f", "gif",
        ]


def _palette_from_frame(frame: np.ndarray) -> np.ndarray:
    """Up to 256 colours for a GIF: the frame's own when it has that few, else median cut."""
    pixels = frame.reshape(-1, 3)
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8)
    packed |= pixels[:, 2]
    colours = np.unique(packed)
    if len(colours) <= 256:
        exact = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
        # A first frame of few colours (a blank canvas) would leave later frames nothing to
        # map to, so spare slots get an even spread of the RGB cube.
        levels = np.array([0, 51, 102, 153, 204, 255], dtype=np.uint32)
        cube = np.array(list(itertools.product(levels, repeat=3)), dtype=np.uint32)
        cube_packed = (cube[:, 0] << 16) | (cube[:, 1] << 8) | cube[:, 2]
        spare = cube[~np.isin(cube_packed, colours)][: 256 - len(colours)]
        return np.concatenate([exact, spare]).astype(np.uint8)
    from PIL import Image

    quantized = Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT)
    palette = np.array(quantized.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)
    return palette


#: Which writer serves which file extension.
WRITERS: dict[str, type[MovieWriter]] = {
    ".gif": GifWriter,
    ".mp4": Mp4Writer,
    ".webm": WebmWriter,
}


def _writer_class(out_path: Any) -> type[MovieWriter]:
    if not isinstance(out_path, (str, os.PathLike)):
        raise TypeError(f"out_path must be a str or os.PathLike. Received: out_path={out_path!r}")
    suffix = Path(out_path).suffix.lower()
    writer_class = WRITERS.get(suffix)
    if writer_class is None:
        raise ValueError(
            f"out_path must end with one of {', '.join(sorted(WRITERS))}. "
            f"Received: out_path='{out_path}' (suffix {suffix or 'none'!r})"
        )
    return writer_class


def writer_for(out_path: str | os.PathLike, **options: Any) -> MovieWriter:
    """The writer for ``out_path``'s extension (see :data:`WRITERS`), built with ``options``.

    >>> writer = writer_for("movie.mp4", fps=24, scale=2)   # doctest: +SKIP
    """
    return _writer_class(out_path)(out_path, **options)


def check_movie_path(out_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check ``out_path`` as :func:`writer_for` would, before anything is written: a known
    extension, not a folder, not an existing file unless ``overwrite``, a folder that can be
    written. A folder that does not exist yet passes, for callers that create it later.

    >>> check_movie_path("run/movie.avi")   # doctest: +SKIP
    ValueError: out_path must end with one of .gif, .mp4, .webm. Received: ...
    """
    writer_class = _writer_class(out_path)
    return _check_out_path(
        out_path, suffix=writer_class.suffix, overwrite=overwrite, folder_must_exist=False
    )


def inspect_movie(path: str | os.PathLike) -> Movie:
    """Read a movie file back: its frames, playback rate, duration and size.

    GIF frames and delays are those stored in the file. For MP4 and WebM, ``frame_count`` counts
    the frames ffmpeg decodes, so it includes repeats made by ``last_frame_hold_ms``.

    >>> inspect_movie("run/activations.gif").duration_s   # doctest: +SKIP
    12.9
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(
            f"path must end with one of {', '.join(sorted(WRITERS))}. Received: path='{path}'"
        )
    if not path.is_file():
        raise FileNotFoundError(f"No movie file at path='{path}'")
    if suffix == ".gif":
        from PIL import Image, ImageSequence

        with Image.open(path) as image:
            size = image.size
            durations_ms = [
                frame.info.get("duration", 0) for frame in ImageSequence.Iterator(image)
            ]
        # The last frame may carry a hold, so the rate comes from the others.
        usual_ms = collections.Counter(durations_ms[:-1] or durations_ms).most_common(1)[0][0]
        return Movie(
            path=path,
            frame_count=len(durations_ms),
            fps=1000 / usual_ms if usual_ms else 0.0,
            duration_s=sum(durations_ms) / 1000,
            size=size,
        )
    import imageio_ffmpeg

    frame_count, duration_s = imageio_ffmpeg.count_frames_and_secs(str(path))
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    finally:
        reader.close()
    return Movie(
        path=path,
        frame_count=frame_count,
        fps=float(meta["fps"]),
        duration_s=float(duration_s),
        size=tuple(meta["size"]),
    )


@contextlib.contextmanager
def writing(
    writer: MovieWriter, *, frame_size: tuple[int, int] | None = None
) -> Iterator[MovieWriter]:
    """Set ``writer`` up, yield it, and finish the file even if the body raises.

    >>> with writing(GifWriter("out.gif"), frame_size=(28, 28)) as writer:  # doctest: +SKIP
    ...     writer.grab_frame(frame)
    """
    if frame_size is not None:
        writer.setup(frame_size=frame_size)
    try:
        yield writer
    finally:
        writer.finish()


# ----------------------------------------------------------------------------------------------
# stitch: frames on disk or in memory -> movie.


def _natural_key(path: Path) -> list:
    # frame_2.png before frame_10.png, for frames saved without zero padding.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_manifest(manifest: Path) -> list[tuple[Path, int]]:
    """(frame file, line number) for each entry of a frames.jsonl manifest. A last line
    that a killed run left half-written is skipped with a warning (see read_manifest)."""
    from .frames import read_manifest

    entries = []
    for line_number, entry in read_manifest(manifest, argument="frames"):
        if not isinstance(entry.get("file"), str):
            raise ValueError(
                f"frames: manifest '{manifest}' line {line_number} needs a \"file\" string, "
                f"the frame's path relative to the manifest. Received: {json.dumps(entry)[:200]}"
            )
        entries.append((manifest.parent / entry["file"], line_number))
    return entries


def _frames_from_manifest(manifest: Path, entries: list[tuple[Path, int]]) -> list[Path]:
    if not entries:
        raise ValueError(f"frames: manifest '{manifest}' lists no frames")
    for path, line_number in entries:
        if not path.is_file():
            raise FileNotFoundError(
                f"frames: '{path}' listed on line {line_number} of manifest '{manifest}' "
                "does not exist"
            )
    return [path for path, _ in entries]


def _frame_files(frames: Path) -> list[Path]:
    """The PNG files to stitch, in order, from a folder or a manifest."""
    if not frames.exists():
        raise FileNotFoundError(f"frames: no such folder or manifest: '{frames}'")
    if frames.is_file():
        if frames.suffix.lower() != ".jsonl":
            raise ValueError(
                "frames must be a folder of PNG frames, a frames.jsonl manifest or an iterable "
                f"of arrays. Received: frames='{frames}'"
            )
        return _frames_from_manifest(frames, _read_manifest(frames))
    inside = frames / MANIFEST_NAME
    if inside.is_file():
        return _frames_from_manifest(inside, _read_manifest(inside))
    beside = frames.parent / MANIFEST_NAME
    if beside.is_file():
        # A run folder holding frames/ and frames.jsonl: keep the manifest's order for the
        # entries that live in this folder.
        folder = frames.resolve()
        entries = [(p, n) for p, n in _read_manifest(beside) if p.resolve().parent == folder]
        if entries:
            return _frames_from_manifest(beside, entries)
    files = sorted(
        (path for path in frames.iterdir() if path.suffix.lower() == ".png" and path.is_file()),
        key=_natural_key,
    )
    if not files:
        raise FileNotFoundError(f"frames: no *.png files found in folder '{frames}'")
    return files


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except FileNotFoundError:
        raise FileNotFoundError(f"frames: frame file '{path}' disappeared") from None
    except Exception as exc:  # PIL reports corrupt files as OSError, SyntaxError, zlib errors...
        raise ValueError(
            f"frames: could not decode '{path}'; is it a truncated or corrupt PNG? ({exc})"
        ) from exc


def _decoded(files: list[Path]) -> Iterator[tuple[str, np.ndarray]]:
    """Decode PNGs a few ahead in worker threads (PIL releases the GIL while it inflates)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=_DECODE_THREADS)
    try:
        remaining = iter(files)
        pending = collections.deque(
            (path, pool.submit(_read_png, path))
            for path in itertools.islice(remaining, _READ_AHEAD_FRAMES)
        )
        while pending:
            path, future = pending.popleft()
            frame = future.result()
            following = next(remaining, None)
            if following is not None:
                pending.append((following, pool.submit(_read_png, following)))
            yield f"'{path}'", frame
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _from_iterable(frames: Iterable[np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    for index, frame in enumerate(frames):
        yield f"frames[{index}]", frame


def stitch(
    frames: str | os.PathLike | Iterable[np.ndarray],
    out_path: str | os.PathLike,
    *,
    fps: float = 10,
    scale: int = 1,
    last_frame_hold_ms: float | None = None,
    palette: np.ndarray | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Movie:
    """Encode frames into a movie whose format follows ``out_path``'s extension.

    ``frames`` is a folder of PNG files (in the order of a ``frames.jsonl`` manifest inside or
    beside it, else by file name), a path to such a manifest (JSON lines with a ``"file"``
    relative to the manifest), or an iterable of (height, width, 3) uint8 arrays. Frames are
    decoded and encoded one at a time. ``last_frame_hold_ms=None`` keeps the writer's default
    (1000 ms for GIF, 0 for video). ``palette`` is for GIF only (see :class:`GifWriter`).

    On any error nothing is written to ``out_path`` and a file already there is untouched.

    >>> movie = stitch("run/frames", "run/activations.mp4", fps=12, scale=4)  # doctest: +SKIP
    >>> movie.frame_count, movie.size                                          # doctest: +SKIP
    (120, (112, 112))
    """
    options: dict[str, Any] = {"fps": fps, "scale": scale, "overwrite": overwrite}
    if last_frame_hold_ms is not None:
        options["last_frame_hold_ms"] = last_frame_hold_ms
    if palette is not None:
        if Path(out_path).suffix.lower() != ".gif":
            raise ValueError(
                f"palette applies to GIF output only. Received: palette with out_path='{out_path}'"
            )
        options["palette"] = palette
    writer = writer_for(out_path, **options)

    if isinstance(frames, (str, os.PathLike)):
        files = _frame_files(Path(frames))
        source, total = _decoded(files), len(files)
    elif isinstance(frames, Iterable):
        source = _from_iterable(frames)
        total = len(frames) if hasattr(frames, "__len__") else None
    else:
        raise TypeError(
            "frames must be a folder of PNG frames, a frames.jsonl manifest or an iterable of "
            f"(height, width, 3) uint8 arrays. Received: {type(frames).__name__}"
        )

    from tqdm import tqdm

    first_label = first_hw = None
    try:
        with tqdm(
            total=total,
            unit="frame",
            desc=Path(out_path).name,
            file=sys.stderr,
            disable=not progress,
        ) as bar:
            try:
                for label, frame in source:
                    if first_hw is None and isinstance(frame, np.ndarray):
                        first_label, first_hw = label, frame.shape[:2]
                    elif isinstance(frame, np.ndarray) and frame.shape[:2] != first_hw:
                        raise ValueError(
                            f"frames: {label} has (height, width)={frame.shape[:2]} but the "
                            f"first frame {first_label} has {first_hw}; all frames must have the "
                            "same size"
                        )
                    writer.grab_frame(frame)
                    bar.update()
            except BaseException:
                bar.leave = False  # the bar is erased: the error stands alone on its line
                raise
        if writer.frame_count == 0:
            raise ValueError(
                f"frames is empty: there is nothing to encode. Received: an empty "
                f"{type(frames).__name__}"
            )
        movie = writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        source.close()
    return movie
