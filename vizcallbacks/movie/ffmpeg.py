"""The ffmpeg end of a movie writer: the command line that reads raw RGB frames from a pipe,
the process that runs it, and how it is stopped and cleaned up. Knows nothing of writers or
frames (matplotlib keeps ``FFMpegBase`` apart from ``MovieWriter`` the same way).
"""

from __future__ import annotations

import contextlib
import subprocess
import warnings
import sys
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

__all__ = ["start_ffmpeg", "ffmpeg_rate", "stderr_tail", "kill_and_clean", "remove_quietly", "BT709_ARGS"]

_STDERR_TAIL_LINES = 15

#: Output arguments for yuv420p video that players show in the frames' colours.
BT709_ARGS = [
    # swscale converts RGB to YUV with BT.601 unless told. Convert with BT.709 and tag the
    # frames so players convert back with the same matrix; ffmpeg 7+ takes the tags from the
    # frames (setparams), ignoring -colorspace/-color_primaries given to the encoder.
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
    "-pix_fmt", "yuv420p",
]

# Ctrl-C in a terminal signals the whole process group. ffmpeg would stop at once, and the
# movie that `with callback:` (or the writer's own `with`) finishes after the interrupt
# would be lost; in its own group, ffmpeg stops when its input ends, like every other exit.
_SHIELDED_FROM_CTRL_C: dict[str, Any] = (
    {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32"
    else {"start_new_session": True}
)


@contextlib.contextmanager
def quiet_fork():
    """Start ffmpeg without JAX's warning. JAX warns at every fork that a forked
    multithreaded process may deadlock; a child that runs nothing but exec of ffmpeg
    cannot, so the warning would only alarm users."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        yield


def ffmpeg_rate(fps: float | Fraction) -> str:
    """A frame rate as ffmpeg takes it, an exact rational: 100/3 written as "33.3333" would drift.

    Args:
        fps: frames per second.

    Returns:
        `"numerator/denominator"`.
    """
    rate = Fraction(fps).limit_denominator(1_000_000)
    return f"{rate.numerator}/{rate.denominator}"


def start_ffmpeg(output_args: Sequence[str], *, width: int, height: int, rate: float | Fraction,
                 out_path: Path, stderr, frame_bytes: int) -> subprocess.Popen:
    """Start the ffmpeg of imageio-ffmpeg reading raw RGB frames of `width` x `height` from
    its stdin and writing `out_path` with `output_args`.

    Args:
        output_args: the encoder's arguments (codec, filters, format).
        width: frame width in pixels.
        height: frame height in pixels.
        rate: frames per second ffmpeg reads the frames at.
        out_path: the file ffmpeg writes (replaced if there).
        stderr: a file for ffmpeg's messages (a file, not a pipe: ffmpeg blocks once an
            unread pipe fills while the writer blocks feeding it frames).
        frame_bytes: the size of one frame, to size the pipe for it.

    Returns:
        The running process; write frames to its stdin.
    """
    import imageio_ffmpeg

    with quiet_fork():
        process = _popen(output_args, imageio_ffmpeg.get_ffmpeg_exe(), width=width, height=height,
                         rate=rate, out_path=out_path, stderr=stderr)
    _widen_pipe(process.stdin, frame_bytes=frame_bytes)
    return process


def _popen(output_args, ffmpeg: str, *, width, height, rate, out_path, stderr) -> subprocess.Popen:
    return subprocess.Popen(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel", "error",
            "-f", "rawvideo",
            "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}",
            "-framerate", ffmpeg_rate(rate),
            "-i", "pipe:0",
            *output_args,
            "-y", str(out_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        **_SHIELDED_FROM_CTRL_C,
    )


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


def stderr_tail(stderr_file) -> str:
    """The last lines ffmpeg wrote to `stderr_file`, for an error message.

    Args:
        stderr_file: the binary file given to `start_ffmpeg` as `stderr`.

    Returns:
        Up to 15 non-blank lines, or a note that ffmpeg printed nothing.
    """
    stderr_file.seek(0)
    text = stderr_file.read().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-_STDERR_TAIL_LINES:]) or "(ffmpeg printed nothing)"


def remove_quietly(paths: Iterable[Path]) -> None:
    """Remove each file of `paths` that exists.

    Args:
        paths: files to remove.
    """
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def kill_and_clean(process: subprocess.Popen, temp_paths: Iterable[Path]) -> None:
    """Stop ffmpeg and remove its temporary files; for aborts and forgotten writers.

    Args:
        process: the ffmpeg process.
        temp_paths: the files it was writing, and any others to remove.
    """
    with contextlib.suppress(OSError):
        process.stdin.close()
    if process.poll() is None:
        process.kill()
    process.wait()
    remove_quietly(temp_paths)
