"""`PlotConvCallback`: every N batches of `model.fit`, a frame of the layer activations.

The callback only decides *when*. A probe (`activations.py`) runs one batched forward
pass in the training thread, so the frame shows the model exactly at that batch; a
renderer (`render.py`) draws; sinks (`frames.py`) write PNGs, the manifest and movies,
in a background thread (`pipeline.py`).
"""

from __future__ import annotations

import numbers
import os
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from .activations import ActivationProbe, check_layer_choice, check_model
from .frames import FrameRecord, FrameStore, MovieSink, _writable_dir
from .pipeline import FramePipeline
from .render import NORMALIZATIONS, GridRenderer, Stamp, prepare_images

__all__ = ["PlotConvCallback", "StopAfterSteps"]

_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
                  "binary_accuracy")


def _accuracy(logs: dict) -> float | None:
    for key in _ACCURACY_KEYS:
        if key in logs:
            return float(logs[key])
    for key, value in logs.items():
        if key.endswith("accuracy") and not key.startswith("val_"):
            return float(value)
    return None


def _positive_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}.")
    return int(value)


def _check_channels(channels) -> None:
    """What can be known of `channels` without the model; the renderer checks each
    index against each layer's channel count when training begins."""
    if channels is None:
        return
    items = [channels] if isinstance(channels, numbers.Integral) else channels
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"channels must be a list of channel indices. Received: channels={channels!r}.") from None
    if not items:
        raise ValueError("channels is empty. Pass None for the default (1, 5, 10, 20) or indices.")
    for index in items:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
            raise ValueError(
                f"channels must be non-negative integers (channel indices). Received: channels={channels!r}."
            )


def _select_images(images, indices, labels):
    array = np.asarray(images)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"images is empty: received shape {array.shape}. Give at least one image.")
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != len(array):
            raise ValueError(
                f"labels must have one entry per image: {len(array)} images, received "
                f"{len(labels)} labels."
            )
    if indices is None:
        return array, labels
    received = indices
    indices = np.asarray(indices)
    if indices.ndim != 1 or len(indices) == 0:
        raise ValueError(
            f"indices must be a non-empty list of image indices (valid: 0..{len(array) - 1}). "
            f"Received: indices={received!r}."
        )
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be integers. Received dtype {indices.dtype}: indices={received!r}.")
    bad = indices[(indices < 0) | (indices >= len(array))]
    if bad.size:
        raise ValueError(
            f"indices: {bad.tolist()} out of range for {len(array)} images (valid: 0..{len(array) - 1})."
        )
    return array[indices], None if labels is None else labels[indices]


class PlotConvCallback(keras.callbacks.Callback):
    """Writes a frame of the network's activations at batch 0 and every
    `every_n_batches` batches of every epoch, and once at the end of training.

    Frames are `plot-{epoch}-{batch}.png` in `frames_dir` (epoch counts from 1, batch is
    the batch index within the epoch, zero-padded so that names sort in time order),
    each with one line in `frames.jsonl` (in `frames_dir`, or at `manifest_path`).
    With `movie_path` (one path or several, `.gif`/`.mp4`), frames are also streamed
    into movies as they are made; `keep_frames=False` then skips the PNGs.

    >>> callback = PlotConvCallback(x_test, indices=[0, 23, 28], labels=y_test,
    ...                             class_names=names, frames_dir="output/frames",
    ...                             every_n_batches=50, batch_size=64)
    >>> with callback:          # finishes the movie even if fit raises
    ...     model.fit(x_train, y_train, batch_size=64, callbacks=[callback])

    `images` are in the form the model takes (already scaled); `indices` pick from them.
    `batch_size`, when given, makes the manifest count the examples seen.

    Nothing is lost: existing frames and movies are refused unless `overwrite=True`;
    a resumed `fit(..., initial_epoch=k)` appends frames and manifest lines after those
    of epochs up to k, and remakes each movie from the earlier frames followed by its own.
    """

    def __init__(self, images, *, frames_dir, every_n_batches: int = 50,
                 indices: Sequence[int] | None = None, labels=None,
                 class_names: Sequence[str] | None = None,
                 layers: Sequence[str | int] | None = None,
                 channels: Sequence[int] | None = None,
                 channels_per_image: int | Sequence[int] | None = None,
                 normalization: str = "stable", cmap: str = "inferno", cell_px: int = 56,
                 batch_size: int | None = None, manifest_path=None,
                 movie_path=None, fps: float = 10, keep_frames: bool = True,
                 overwrite: bool = False, background: bool = True,
                 clock: Callable[[], float] = time.time,
                 renderer_factory: Callable[..., GridRenderer] = GridRenderer):
        super().__init__()
        self.every_n_batches = _positive_int(every_n_batches, "every_n_batches")
        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size")
        self.batch_size = batch_size
        self.images, self.labels = _select_images(images, indices, labels)
        prepare_images(self.images, None)  # dtype and emptiness, before any model is known
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}. Received: normalization={normalization!r}."
            )
        import matplotlib

        from .movie import _check_fps

        if cmap not in matplotlib.colormaps:
            raise ValueError(f"cmap must be a matplotlib colormap name such as 'inferno'. Received: cmap={cmap!r}.")
        if not isinstance(frames_dir, (str, os.PathLike)):
            raise TypeError(f"frames_dir must be a path. Received: frames_dir={frames_dir!r}.")
        self.frames_dir = Path(frames_dir)
        self.manifest_path = manifest_path
        self.class_names = class_names
        self.layers = check_layer_choice(layers)
        _check_channels(channels)
        self.channels = channels
        self.channels_per_image = channels_per_image
        self.normalization = normalization
        self.cmap = cmap
        self.cell_px = cell_px
        self.fps = _check_fps(fps)
        self.overwrite = overwrite
        self.movie_paths = _movie_paths(movie_path, overwrite=overwrite)
        self.keep_frames = keep_frames
        self.background = background
        self.clock = clock
        self.renderer_factory = renderer_factory
        if not keep_frames and not self.movie_paths:
            raise ValueError("keep_frames=False needs movie_path: otherwise the frames would go nowhere.")
        self._movie_sinks: list[MovieSink] = []
        self._movies_made: set[Path] = set()
        self._pipeline: FramePipeline | None = None
        self._finalizer = None

    # ---- context manager: finishes files even when fit raises -----------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def movies(self) -> tuple:
        """The finished movies (`vizcallbacks.movie.Movie`), once training has ended."""
        return tuple(sink.movie for sink in self._movie_sinks if sink.movie is not None)

    @property
    def frames_written(self) -> int:
        """Frames rendered and sent to every sink so far."""
        return 0 if self._pipeline is None else self._pipeline.frames_sent

    def close(self) -> None:
        """Write every pending frame and finish the manifest and movies. Called by
        `on_train_end`; call it (or use `with`) when `fit` may raise."""
        if self._finalizer is not None:
            self._finalizer()

    # ---- hooks -----------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.close()  # a run that raised earlier without close()
        self._prepare()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self._opened:
            self._open(first_epoch=epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._last = (batch, dict(logs or {}))
        if batch % self.every_n_batches == 0:
            self._capture(batch, self._last[1])

    def on_train_end(self, logs=None):
        try:
            if self._last is not None and self._last_captured_step != self._step:
                self._capture(self._last[0], self._last[1], final=True)
        finally:
            self.close()

    # ---- work ------------------------------------------------------------------
    def _prepare(self):
        """Everything that needs the model, once per fit: probe, renderer, sinks."""
        check_model(self.model)  # several inputs: say so, not that the images do not fit
        try:
            model_input = tuple(self.model.inputs[0].shape[1:])
        except (AttributeError, ValueError, IndexError, TypeError):
            model_input = None
        images = prepare_images(self.images, model_input)
        self._probe = ActivationProbe(self.model, layers=self.layers, input_shape=images.shape[1:],
                                     build=True)
        self._batch_images = prepare_images(images, self._probe.input_shape)
        self._renderer = self.renderer_factory(
            self._probe.views, self._batch_images, labels=self.labels, class_names=self.class_names,
            channels=self.channels, channels_per_image=self.channels_per_image,
            normalization=self.normalization, cmap=self.cmap, cell_px=self.cell_px)
        self._store = FrameStore(self.frames_dir, manifest_path=self.manifest_path,
                                 overwrite=self.overwrite) if self.keep_frames else None
        if self._store is not None:
            self._store.check(resume=True)  # folders usable: fail now, not at the first frame
        for path in self.movie_paths:
            _writable_dir(path.parent, "movie_path")
        steps = self.params.get("steps")
        epochs = self.params.get("epochs") or 1
        self._steps_per_epoch = steps
        self._digits = _name_digits(epochs=epochs, steps=steps)
        self._opened = False
        self._epoch = 0
        self._step = 0
        self._last = None
        self._last_captured_step = None
        self._started = self.clock()

    def _open(self, first_epoch: int):
        """At the first epoch, when fit tells where it starts: refuse what would be lost,
        then open the sinks. A resumed run's movies start with the frames already kept."""
        resume = first_epoch > 0
        self._movies_made |= {movie.path for movie in self.movies}
        for path in self.movie_paths:
            self._check_movie_replaceable(path, resume=resume)
        sinks = []
        earlier = []
        if self._store is not None:
            if resume:
                self._check_earlier_frame_size()
            self._store.open(resume=resume, first_epoch=first_epoch, digits=self._digits)
            sinks.append(self._store)
            if resume:
                earlier = self._store.listed_frames()
        self._movie_sinks = [MovieSink(self._movie_writer(path)) for path in self.movie_paths]
        try:
            for sink in self._movie_sinks:
                sink.open(earlier=earlier)
        except BaseException:
            for sink in self._movie_sinks:
                sink.abort()
            if self._store is not None:
                self._store.close()
            raise
        sinks += self._movie_sinks
        self._pipeline = FramePipeline(self._renderer.render, sinks, background=self.background)
        self._finalizer = weakref.finalize(self, self._pipeline.close)
        if self._steps_per_epoch:
            self._step = first_epoch * self._steps_per_epoch
        self._opened = True

    def _check_movie_replaceable(self, path: Path, *, resume: bool) -> None:
        """A movie is replaced only with overwrite=True, or by the resumed run of this
        callback, whose new movie holds every earlier frame again (kept as PNGs)."""
        if not path.exists() or self.overwrite:
            return
        if resume and self.keep_frames and path in self._movies_made:
            return
        why = (" A resumed run can only add to a movie it remakes from the kept frames "
               "(keep_frames=True)." if resume and path in self._movies_made else "")
        raise FileExistsError(
            f"movie_path {str(path)!r} already exists. It is kept: pass overwrite=True "
            f"(--overwrite) to replace it, or choose another movie_path.{why}"
        )

    def _check_earlier_frame_size(self) -> None:
        """A resumed run must draw frames of the size already in frames_dir, or the frames
        could never make one movie."""
        size = getattr(self._renderer, "frame_size", None)
        existing = self._store.existing_frames()
        if size is None or not existing:
            return
        from PIL import Image

        try:
            with Image.open(existing[-1]) as image:
                earlier = (image.height, image.width)
        except OSError:
            return  # stitch names a damaged frame when it reads it
        if earlier != tuple(size):
            raise ValueError(
                f"frames_dir: the frames already in {str(self.frames_dir)!r} are "
                f"{earlier[1]}x{earlier[0]} pixels ({existing[-1].name}) but this run draws "
                f"{size[1]}x{size[0]}: other images, layers or channels than the run it resumes. "
                "Resume with the same ones, or choose another frames_dir."
            )

    def _movie_writer(self, path: Path):
        from .movie import writer_for

        # Replacing was decided in _check_movie_replaceable; the file is swapped in
        # atomically once the movie is finished.
        writer = writer_for(path, fps=self.fps, overwrite=True)
        if getattr(writer, "palette", False) is None:
            # Every frame is drawn from these 256 colours: the GIF reproduces them exactly.
            writer.palette = getattr(self._renderer, "palette", None)
        return writer

    def _capture(self, batch: int, logs: dict, *, final: bool = False):
        activations = self._probe(self._batch_images)
        accuracy = _accuracy(logs)
        loss = float(logs["loss"]) if "loss" in logs else None
        now = self.clock()
        record = FrameRecord(
            epoch=self._epoch + 1, batch=batch, step=self._step,
            examples_seen=None if self.batch_size is None else self._step * self.batch_size,
            accuracy=accuracy, loss=loss, time_s=round(now - self._started, 4),
            wall_time=now, final=final)
        stamp = Stamp(epoch=self._epoch + 1, batch=batch, accuracy=accuracy, loss=loss)
        self._pipeline.submit(activations, stamp, record=record)
        self._last_captured_step = self._step


class StopAfterSteps(keras.callbacks.Callback):
    """Ends `fit` after `max_steps` batches in all (Keras checks `stop_training` after
    each batch), so that the final frame comes right after them."""

    def __init__(self, max_steps: int):
        super().__init__()
        self.max_steps = _positive_int(max_steps, "max_steps")
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps >= self.max_steps:
            self.model.stop_training = True


def _name_digits(*, epochs: int, steps: int | None) -> tuple[int, int]:
    """Zero-padding of epoch and batch in frame names, wide enough for this run, at
    least the notes' 2 and 4 (6 for batches when the epoch length is unknown)."""
    batch_digits = max(4, len(str(steps - 1))) if steps else 6
    return max(2, len(str(epochs))), batch_digits


def _movie_paths(movie_path, *, overwrite: bool) -> tuple[Path, ...]:
    """`movie_path` as a tuple of paths, each checked now: a known extension, not a
    folder, not an existing movie unless overwrite (its folder is made at train begin)."""
    from .movie import check_movie_path

    if movie_path is None:
        return ()
    if isinstance(movie_path, (str, os.PathLike)):
        movie_path = [movie_path]
    try:
        paths = list(movie_path)
    except TypeError:
        raise TypeError(
            "movie_path must be a path or a list of paths (.gif, .mp4, .webm). "
            f"Received: movie_path={movie_path!r}."
        ) from None
    checked = []
    for path in paths:
        try:
            checked.append(check_movie_path(path, overwrite=overwrite))
        except (TypeError, ValueError, OSError) as error:
            raise type(error)(f"movie_path: {error}") from None
    duplicates = sorted({str(p) for p in checked if checked.count(p) > 1})
    if duplicates:
        raise ValueError(f"movie_path names the same file twice: {duplicates}. Give each movie its own path.")
    return tuple(checked)
