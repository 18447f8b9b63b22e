"""Which writer serves which movie: `WRITERS`, a table keyed by file extension, and the
functions that look it up.

Writers follow matplotlib's movie-writer protocol, ``setup -> grab_frame -> finish``::

    with writer_for("run/activations.gif", fps=12, scale=4) as writer:
        for frame in frames:          # (height, width, 3) uint8 arrays
            writer.grab_frame(frame)

How frames travel to ffmpeg is `MovieWriter`'s job (``base.py``); what each format adds, its
class's (``formats.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..checks import check_path
from .base import MovieWriter, check_out_path
from .formats import GifWriter, Mp4Writer, WebmWriter

__all__ = ["MovieWriter", "GifWriter", "Mp4Writer", "WebmWriter", "WRITERS", "writer_class", "writer_for",
           "check_movie_path", "writing"]


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
    return check_out_path(out_path, suffix=writer_class(out_path).suffix, overwrite=overwrite,
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

