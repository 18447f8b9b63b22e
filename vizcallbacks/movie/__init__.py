"""Encode RGB frames into GIF, MP4 and WebM movies with the ffmpeg of imageio-ffmpeg.

Writers follow matplotlib's movie-writer protocol, ``setup -> grab_frame -> finish``, and are
chosen from :data:`WRITERS`, a table keyed by file extension::

    with writer_for("run/activations.gif", fps=12, scale=4) as writer:
        for frame in frames:          # (height, width, 3) uint8 arrays
            writer.grab_frame(frame)

:func:`stitch` turns a folder of PNG frames, a manifest of them or an iterable of arrays
into a movie and returns a :class:`Movie` that Jupyter shows inline.

One module a part, each importing only those before it:

- ``display.py``: :class:`Movie`, what was written, and how a notebook shows it;
- ``ffmpeg.py``: the ffmpeg command line and process that frames are piped into;
- ``tempfiles.py``: the hidden files a writer encodes into, and what a killed one left;
- ``base.py``: :class:`MovieWriter`, the protocol, the pipe, and the arguments every writer takes;
- ``formats.py``: :class:`GifWriter`, :class:`Mp4Writer`, :class:`WebmWriter`: each one's own
  options and ffmpeg arguments;
- ``writers.py``: :data:`WRITERS`, :func:`writer_for`, :func:`check_movie_path`, :func:`writing`;
- ``inspect.py``: :func:`inspect_movie`, a movie file read back;
- ``stitch.py``: :func:`stitch`.
"""

from .display import Movie
from .inspect import inspect_movie
from .stitch import stitch
from .writers import (WRITERS, GifWriter, MovieWriter, Mp4Writer, WebmWriter, check_movie_path, writer_for,
                      writing)

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
