"""Where frames go. Every sink implements one interface, `Sink` (``base.py``: open, send,
finish, abort), in a file of its own, and none imports another:

- ``png.py``: `PngSink`, each frame a PNG file;
- ``manifest.py``: `ManifestSink`, one line per frame in the manifest;
- ``movie.py``: `MovieSink`, frames streamed into a GIF, MP4 or WebM writer;
- ``tensorboard.py``: `TensorBoardSink`, image summaries and scalars for ``tensorboard --logdir``
  (``PlotConvCallback(tensorboard_dir=...)``);
- ``notebook.py``: `NotebookSink`, the latest frame live in the running notebook cell
  (``PlotConvCallback(live=True)``).

``folder.py`` is not a sink: `FramesFolder` holds the rules for what a frames folder and its
manifest already contain (refuse to lose frames, resume after them, repair a torn line).

A new sink is a new file with a `Sink` subclass; pass it to `PlotConvCallback(sinks=[...])`.
"""

from .base import Sink
from .folder import FramesFolder
from .manifest import ManifestSink
from .movie import MovieSink
from .notebook import NotebookSink
from .png import PngSink
from .tensorboard import TensorBoardSink

__all__ = ["Sink", "PngSink", "ManifestSink", "MovieSink", "TensorBoardSink", "NotebookSink", "FramesFolder"]
