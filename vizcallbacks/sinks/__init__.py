"""Where frames go. Every sink implements one interface, `Sink` (``base.py``: open, send,
finish, abort), in a file of its own, and none imports another:

- ``png.py``: `PngSink`, each frame a PNG file;
- ``manifest.py``: `ManifestSink`, one line per frame in the manifest;
- ``movie.py``: `MovieSink`, frames streamed into a GIF, MP4 or WebM writer;
- ``tensorboard.py``: `TensorBoardSink`, image summaries and scalars for ``tensorboard --logdir``
  (``PlotConvCallback(tensorboard_dir=...)``);
- ``notebook.py``: `NotebookSink`, the latest frame live in the running notebook cell
  (``PlotConvCallback(live=True)``);
- ``mlflow.py``: `MLflowSink`, images at their steps, figures as metrics and the movies as
  artifacts in an MLflow run (``vizcallbacks[mlflow]``);
- ``wandb.py``: `WandbSink`, the same in a Weights & Biases run (``vizcallbacks[wandb]``).

``folder.py`` is not a sink: `FramesFolder` holds the rules for what a frames folder and its
manifest already contain (refuse to lose frames, resume after them, repair a torn line).

A new sink is a new file with a `Sink` subclass; pass it to `PlotConvCallback(sinks=[...])`.

`frame_sinks` builds a run's sinks in the order that keeps its frames whole (PNGs, then the
manifest, then the movies streamed, then whatever else is watched): compare's runs and
composer and lr-find build their pipelines with it, and the callback can.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


from ..framefiles import MANIFEST_NAME
from .base import NamedRecord, Sink
from .folder import FramesFolder
from .manifest import ManifestSink
from .mlflow import MLflowSink
from .movie import MovieSink
from .notebook import NotebookSink
from .png import PngSink
from .tensorboard import TensorBoardSink
from .wandb import WandbSink

__all__ = ["Sink", "NamedRecord", "frame_sinks", "PngSink", "ManifestSink", "MovieSink", "TensorBoardSink", "NotebookSink", "MLflowSink",
           "WandbSink", "FramesFolder"]


def frame_sinks(frames_dir=None, manifest_path=None, *, digits: tuple[int, int] = (2, 4), overwrite: bool = False,
                append: bool = True, movie_writers: Sequence = (), then: Sequence[Sink] = ()) -> list[Sink]:
    """The sinks of a run, in order: PNGs and manifest (with `frames_dir`), a `MovieSink`
    per writer, then `then`.

    >>> sinks = frame_sinks("run/frames", "run/frames.jsonl", movie_writers=[writer_for("run/movie.gif", fps=10)])
    >>> pipeline = FramePipeline(draw, sinks)

    Args:
        frames_dir: the folder of the PNG frames; None keeps no PNGs and no manifest.
        manifest_path: the manifest; default `MANIFEST_NAME` in `frames_dir`.
        digits: how epoch and batch are padded in the frames' names (`FrameRecord.file_name`).
        overwrite: replace a frame file that is there already.
        append: add to a manifest that is there; False starts it afresh.
        movie_writers: `vizcallbacks.movie.MovieWriter`s, not yet set up, each streamed every frame.
        then: more sinks, sent every frame after these.

    Returns:
        A list of `Sink`s, for `FramePipeline`.
    """
    sinks: list[Sink] = []
    if frames_dir is not None:
        frames_dir = Path(frames_dir)
        manifest_path = frames_dir / MANIFEST_NAME if manifest_path is None else Path(manifest_path)
        sinks += [PngSink(frames_dir, digits=digits, overwrite=overwrite),
                  ManifestSink(manifest_path, frames_dir=frames_dir, digits=digits, append=append)]
    sinks += [MovieSink(writer) for writer in movie_writers]
    return sinks + list(then)
