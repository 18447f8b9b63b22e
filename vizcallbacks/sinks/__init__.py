"""Where frames go. Every sink implements one interface, `Sink` (``base.py``: open, send,
finish, abort), in a file of its own, and none imports another:

- ``png.py``: `PngSink`, each frame a PNG file;
- ``manifest.py``: `ManifestSink`, one line per frame in ``frames.jsonl``;
- ``movie.py``: `MovieSink`, frames streamed into a GIF, MP4 or WebM writer.

``folder.py`` is not a sink: `FramesFolder` holds the rules for what a frames folder and its
manifest already contain (refuse to lose frames, resume after them, repair a torn line).

A new sink is a new file with a `Sink` subclass; pass it to `PlotConvCallback(sinks=[...])`.
"""

from .base import Sink
from .folder import FramesFolder
from .manifest import ManifestSink
from .movie import MovieSink
from .png import PngSink

__all__ = ["Sink", "PngSink", "ManifestSink", "MovieSink", "FramesFolder"]
