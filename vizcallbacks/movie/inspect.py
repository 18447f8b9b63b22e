"""Read a movie file back: frames, rate, duration and size, as the file stores them."""

from __future__ import annotations

import collections
import os
from pathlib import Path

from .display import Movie
from .ffmpeg import quiet_fork
from .writers import writer_class

__all__ = ["inspect_movie"]


def inspect_movie(path: str | os.PathLike) -> Movie:
    """Read a movie file back: its frames, playback rate, duration and size.

    GIF frames and delays are those stored in the file. For MP4 and WebM, ``frame_count`` counts
    the frames ffmpeg decodes, so it includes repeats made by ``last_frame_hold_ms``.

    >>> inspect_movie("run/activations.gif").duration_s   # doctest: +SKIP
    12.9

    Args:
        path: a .gif, .mp4 or .webm file.

    Returns:
        The `Movie` as the file stores it.

    Raises:
        ValueError: another extension.
        FileNotFoundError: no file at `path`.
    """
    writer_class(path, argument="path")  # a movie format: says which exist
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No movie file at path='{path}'")
    if path.suffix.lower() == ".gif":
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

    with quiet_fork():
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
