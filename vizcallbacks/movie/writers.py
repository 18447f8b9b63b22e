"""Movie writers: GIF, MP4 and WebM, chosen from `WRITERS`, a table keyed by file extension.

Writers follow matplotlib's movie-writer protocol, ``setup -> grab_frame -> finish``::

    with writer_for("run/activations.gif", fps=12, scale=4) as writer:
        for frame in frames:          # (height, width, 3) uint8 arrays
            writer.grab_frame(frame)

Frames stream through a pipe into ffmpeg (see `ffmpeg.py`) one at a time, so memory does not
grow with the length of the movie. Each writer encodes into a hidden temporary file beside
``out_path`` and renames it onto ``out_path`` only once ffmpeg has succeeded, so a crash never
leaves half a movie there.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import re
import secrets
import subprocess
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import (check_choice, check_fps, check_int_in_range, check_path, check_positive_int,
                      check_rgb_frame, check_writable_dir, is_int, is_real)
from .display import Movie
from .ffmpeg import BT709_ARGS, kill_and_clean, remove_quietly, start_ffmpeg, stderr_tail

__all__ = ["MovieWriter", "GifWriter", "Mp4Writer", "WebmWriter", "WRITERS", "writer_class", "writer_for",
           "check_movie_path", "writing"]

# Browsers raise GIF delays below 2 centiseconds to 10 cs, so faster GIFs would play slower.
_MIN_GIF_DELAY_CS = 2
_WHITE = 255


# ----------------------------------------------------------------------------------------------
# Unit conversions, kept in one place.


def _gif_delay_cs(fps: float) -> int:
    """Per-frame GIF delay in centiseconds, the unit the format stores."""
    return max(_MIN_GIF_DELAY_CS, round(100 / fps))


def _hold_frame_count(last_frame_hold_ms: float, fps: float) -> int:
    """How many repeats of the last frame show it for about ``last_frame_hold_ms`` longer."""
    return round(last_frame_hold_ms * fps / 1000)


# ----------------------------------------------------------------------------------------------
# The hidden files a writer works in beside its movie, and what a killed one leaves of them.

# `.{name}.{kind}-{pid}-{6 hex digits}{suffix}`: the movie being encoded ("partial") and a GIF's
# palette ("palette"). A process killed with SIGKILL cannot remove them, nor can its ffmpeg.
_TEMP_TOKEN = re.compile(r"\.(?:partial|palette)-(?P<token>(?P<pid>\d+)-[0-9a-f]{6})\.(?:png|[a-z0-9]+)\Z")
# The tokens of this process's writers: a leftover whose pid is this process's own (a container
# restarted, its pids counted from 1 again) is known by a token not among them.
_TOKENS_HERE: set[str] = set()


def _temp_path(out_path: Path, kind: str, token: str, suffix: str) -> Path:
    return out_path.with_name(f".{out_path.name}.{kind}-{token}{suffix}")


def _writer_running(token: str, pid: int) -> bool:
    if pid == os.getpid():
        return token in _TOKENS_HERE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_leftovers(out_path: Path) -> list[Path]:
    """Remove the hidden files that a killed writer of `out_path` left, once their process is
    gone: no one can finish them, and a new movie of that path is about to be written. Files
    of other movies, and of writers still running (here or elsewhere), are left alone; the
    latter are named in a warning. Returns the files removed."""
    if not out_path.parent.is_dir():
        return []
    removed, running = [], []
    for path in sorted(out_path.parent.glob(f".{glob.escape(out_path.name)}.*-*")):
        found = _TEMP_TOKEN.search(path.name)
        ours = found is not None and path.name in (
            _temp_path(out_path, "partial", found["token"], out_path.suffix.lower()).name,
            _temp_path(out_path, "palette", found["token"], ".png").name)
        if not ours or not path.is_file():
            continue
        if _writer_running(found["token"], int(found["pid"])):
            running.append(path)
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    if removed:
        warnings.warn(
            f"movie_path '{out_path}': removed {len(removed)} hidden file(s) that a run killed while "
            f"writing this movie left ({', '.join(path.name for path in removed)}); the new movie "
            "replaces them.", stacklevel=2)
    if running:
        warnings.warn(
            f"movie_path '{out_path}': {', '.join(str(path) for path in running)}: hidden file(s) of "
            "another writer of this movie whose process is still running; left alone. If both finish, "
            "the movie that finishes last is the one kept.", stacklevel=2)
    return removed


# ----------------------------------------------------------------------------------------------
# Argument checks.


def _check_hold_ms(last_frame_hold_ms: Any) -> float:
    if not is_real(last_frame_hold_ms) or not 0 <= last_frame_hold_ms < float("inf"):
        raise ValueError(
            "last_frame_hold_ms must be a number of milliseconds >= 0. "
            f"Received: last_frame_hold_ms={last_frame_hold_ms!r}"
        )
    return float(last_frame_hold_ms)


def _check_out_path(out_path: Any, *, suffix: str, overwrite: bool, folder_must_exist: bool = True) -> Path:
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
    check_rgb_frame(frame, f"frame {index}")
    if expected_hw is not None and frame.shape[:2] != expected_hw:
        raise ValueError(
            f"frame {index} has (height, width)={frame.shape[:2]} but the movie was set up for "
            f"(height, width)={expected_hw}; all frames must have the same size"
        )


class MovieWriter:
    """Streams raw RGB frames through a pipe into the ffmpeg binary of imageio-ffmpeg.

    Subclasses contribute only their ffmpeg arguments (:meth:`_output_args`) and the rate ffmpeg
    should read frames at (:meth:`_input_rate`). ffmpeg is started at the first frame, so a
    writer that never receives a frame writes nothing.

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

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        fps: float = 10,
        scale: int = 1,
        last_frame_hold_ms: float = 0,
        overwrite: bool = False,
    ) -> None:
        self.fps = check_fps(fps)
        self.scale = check_positive_int(scale, "scale")
        self.last_frame_hold_ms = _check_hold_ms(last_frame_hold_ms)
        self.overwrite = bool(overwrite)
        self.out_path = _check_out_path(out_path, suffix=self.suffix, overwrite=self.overwrite)
        _remove_leftovers(self.out_path)
        # Hidden, in the same folder so the final os.replace is an atomic rename, and keeping
        # the suffix so anyone looking knows what it is.
        self._token = f"{os.getpid()}-{secrets.token_hex(3)}"
        _TOKENS_HERE.add(self._token)
        self._temp_path = _temp_path(self.out_path, "partial", self._token, self.suffix)
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


class Mp4Writer(MovieWriter):
    """H.264 MP4 that plays in browsers, notebooks and slides.

    ``crf`` trades size for quality (0 lossless .. 51 worst, 18 looks lossless); ``preset`` trades
    encoding time for size. ``last_frame_hold_ms`` repeats the last frame to show it longer.
    Odd sizes are padded with white on the right and bottom, because yuv420p needs even sizes.

    Args:
        out_path: the movie file to write, with this writer's extension; its folder must
            exist and be writable.
        fps: frames per second.
        scale: each pixel becomes a scale x scale block (nearest neighbour).
        crf: quality, 0 (lossless) to 51 (worst); 18 looks lossless.
        preset: x264's speed preset, "ultrafast" to "placebo".
        last_frame_hold_ms: how much longer the last frame shows (by repeating it).
        overwrite: replace a file at `out_path`.
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
        self.crf = check_int_in_range(crf, "crf", 0, 51)
        self.preset = check_choice(preset, "preset", self._PRESETS)
        super().__init__(out_path, fps=fps, scale=scale, last_frame_hold_ms=last_frame_hold_ms,
                         overwrite=overwrite)

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libx264",
            "-preset", self.preset,
            "-crf", str(self.crf),
            *BT709_ARGS,
            # The index goes at the front so browsers start playing before the download ends.
            "-movflags", "+faststart",
            "-f", "mp4",
        ]


class WebmWriter(MovieWriter):
    """VP9 WebM, smaller than MP4 at the same quality, slower to encode.

    Args:
        out_path: the movie file to write, with this writer's extension; its folder must
            exist and be writable.
        fps: frames per second.
        scale: each pixel becomes a scale x scale block (nearest neighbour).
        crf: quality, 0 (best) to 63; 31 is libvpx's suggestion for 1080p.
        last_frame_hold_ms: how much longer the last frame shows (by repeating it).
        overwrite: replace a file at `out_path`.
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
        self.crf = check_int_in_range(crf, "crf", 0, 63)
        super().__init__(out_path, fps=fps, scale=scale, last_frame_hold_ms=last_frame_hold_ms,
                         overwrite=overwrite)

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libvpx-vp9",
            # -b:v 0 makes -crf a constant quality instead of a cap under libvpx's default bitrate.
            "-crf", str(self.crf),
            "-b:v", "0",
            "-deadline", "good",
            "-cpu-used", "4",
            "-row-mt", "1",
            *BT709_ARGS,
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

    Args:
        out_path: the movie file to write, with this writer's extension; its folder must
            exist and be writable.
        fps: frames per second.
        scale: each pixel becomes a scale x scale block (nearest neighbour).
        palette: the colours of every frame, a (K, 3) array, K <= 256; None takes them
            from the first frame.
        last_frame_hold_ms: how much longer the last frame shows, below 655 s.
        overwrite: replace a file at `out_path`.
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
        if _gif_delay_cs(check_fps(fps)) > 0xFFFF:
            raise ValueError(f"fps must be at least 1/655.35 for a GIF. Received: fps={fps!r}")
        if round(_check_hold_ms(last_frame_hold_ms) / 10) + _gif_delay_cs(fps) > 0xFFFF:
            raise ValueError(
                "last_frame_hold_ms must be below 655 seconds for a GIF. "
                f"Received: last_frame_hold_ms={last_frame_hold_ms!r}"
            )
        super().__init__(out_path, fps=fps, scale=scale, last_frame_hold_ms=last_frame_hold_ms,
                         overwrite=overwrite)
        self._palette_path = _temp_path(self.out_path, "palette", self._token, ".png")
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


def writer_class(out_path: str | os.PathLike, *, argument: str = "out_path") -> type[MovieWriter]:
    """The writer class that serves `out_path`'s extension, from `WRITERS`.

    Args:
        out_path: a movie file's path.
        argument: what the messages call `out_path`.

    Returns:
        A `MovieWriter` subclass.

    Raises:
        TypeError: `out_path` is not a path.
        ValueError: no writer serves its extension; the message lists those that exist.
    """
    suffix = check_path(out_path, argument).suffix.lower()
    found = WRITERS.get(suffix)
    if found is None:
        raise ValueError(
            f"{argument} must end with one of {', '.join(sorted(WRITERS))}. "
            f"Received: {argument}='{out_path}' (suffix {suffix or 'none'!r})"
        )
    return found


def writer_for(out_path: str | os.PathLike, **options: Any) -> MovieWriter:
    """The writer for ``out_path``'s extension (see :data:`WRITERS`), built with ``options``.

    >>> writer = writer_for("movie.mp4", fps=24, scale=2)   # doctest: +SKIP

    Args:
        out_path: the movie file, ending in .gif, .mp4 or .webm.
        **options: the writer's keyword options (`fps`, `scale`, `overwrite`, ...).

    Returns:
        The `MovieWriter`, not yet set up.
    """
    return writer_class(out_path)(out_path, **options)


def check_movie_path(out_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check ``out_path`` as :func:`writer_for` would, before anything is written: a known
    extension, not a folder, not an existing file unless ``overwrite``, a folder that can be
    written. A folder that does not exist yet passes, for callers that create it later.

    >>> check_movie_path("run/movie.avi")   # doctest: +SKIP
    ValueError: out_path must end with one of .gif, .mp4, .webm. Received: ...

    Args:
        out_path: the movie file.
        overwrite: whether an existing file there may be replaced.

    Returns:
        `Path(out_path)`.

    Raises:
        TypeError, ValueError, FileExistsError, IsADirectoryError, NotADirectoryError:
            as the writer would.
    """
    return _check_out_path(out_path, suffix=writer_class(out_path).suffix, overwrite=overwrite,
                           folder_must_exist=False)


@contextlib.contextmanager
def writing(
    writer: MovieWriter, *, frame_size: tuple[int, int] | None = None
) -> Iterator[MovieWriter]:
    """Set ``writer`` up, yield it, and finish the file even if the body raises.

    >>> with writing(GifWriter("out.gif"), frame_size=(28, 28)) as writer:  # doctest: +SKIP
    ...     writer.grab_frame(frame)

    Args:
        writer: a `MovieWriter`.
        frame_size: (height, width) to set the writer up for; None lets the first frame
            set it up.

    Returns:
        A context manager that gives `writer`.
    """
    if frame_size is not None:
        writer.setup(frame_size=frame_size)
    try:
        yield writer
    finally:
        writer.finish()

