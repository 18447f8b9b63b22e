"""`PlotConvCallback`: every N batches of `model.fit`, a frame of the layer activations.

The callback only decides *when*. A frame shows the model after a batch, so it is taken
at the next moment the training thread is between batches: `on_train_batch_begin` of
the next batch, or the end of the epoch. There a `ConvPlotter` (`plotter.py`) only starts
one batched forward pass; a background thread (`pipeline.py`) waits for it, draws the
frame and hands it to the sinks (`sinks/`): PNG files, the manifest, movies, TensorBoard's
log, the notebook cell, and any the user adds.

The callback is `async_safe`: Keras may then run `on_train_batch_end` in its own threads
(JAX, PyTorch), and the training thread never stops to turn each batch's figures into
Python numbers. That hook only notes the figures (`capture.schedule.LogBook`); the frame of a
batch waits for them in the background thread.
"""

from __future__ import annotations

import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .capture.probe import PendingActivations
from .analysis.options import check_recording
from .analysis.sink import DynamicsSink
from .record import ActivationRecorder, recordable
from .checks import check_bool, check_path, check_positive_int, check_writable_dir
from .capture.distribute import is_chief
from .figures import figures_from_logs
from .framefiles import FrameRecord, read_png
from .pipeline import FramePipeline, check_on_error
from .plotter import ConvPlotter
from .render.style import FrameStyle, check_style
from .render import GridRenderer, Stamp, prepare_images
from .sinks import FramesFolder, ManifestSink, MovieSink, PngSink, Sink, TensorBoardSink
from .callback_arguments import (Legacy, check_listed_movies, check_manifest_path, check_sinks, input_parts,
                                 movie_paths,
                                 name_digits, select_images)
from .capture.schedule import FrameSchedule, LogBook
from .capture.tracked import PendingTracked, TrackedPass

__all__ = ["PlotConvCallback", "StopAfterSteps", "check_sinks"]


class PlotConvCallback(keras.callbacks.Callback):
    """Writes a frame of the network's activations at batch 0 and every
    `every_n_batches` batches of every epoch, and once at the end of training.

    Frames are `plot-{epoch}-{batch}.png` in `frames_dir` (epoch counts from 1, batch is
    the batch index within the epoch, zero-padded so that names sort in time order),
    each with one line in the manifest (in `frames_dir`, or at `manifest_path`).
    With `movie_path` (one path or several, `.gif`/`.mp4`/`.webm`), frames are also
    streamed into movies as they are made. Every other output is a sink in `sinks`, the
    way `fit` takes a list of callbacks: a movie at its own frame rate, TensorBoard, the
    notebook cell, or one of your own (`vizcallbacks.sinks.Sink`).

    >>> callback = PlotConvCallback(x_test[:3], labels=y_test[:3], frames_dir="output/frames",
    ...                             movie_path="output/movie.mp4", batch_size=64)
    >>> with callback:          # finishes the movie even if fit raises
    ...     model.fit(x_train, y_train, batch_size=64, callbacks=[callback])
    >>> PlotConvCallback(x_test[:3], style=FrameStyle(channels=(0, 3), cmap="viridis"),
    ...                  sinks=[MovieSink("run.gif", fps=12), TensorBoardSink("logs/run1"), NotebookSink()])

    Nothing is lost: existing frames and movies are refused unless `overwrite=True`;
    a resumed `fit(..., initial_epoch=k)` appends frames and manifest lines after those
    of epochs up to k, and remakes each movie from the earlier frames followed by its own.
    Every argument that can be checked without the model is checked here; the rest
    (layers, channels, whether the images fit) when training begins, before the first batch.

    A frame is never the reason training dies: an error while drawing or writing one (a
    full disk, a write refused, a movie encoder that died) stops that output, or all
    frames when nothing can be written, and training goes on (see `on_error`; the faults
    of the last fit are in `faults`).

    Three attributes are for tests and tools, set after construction: `background`
    (False draws and writes in the training thread), `clock` (seconds, for the manifest's
    `time_s` and `wall_time`) and `renderer_factory` (called as `GridRenderer` is).

    Args:
        images: the inputs to show, in the form the model takes (already scaled):
            images, windows of a series, or token ids. Show a few: `x_test[[0, 23, 28]]`.
            A model with several inputs: a dict by input name, or a list in its order.
        labels: the truth per input of `images`: class (index or one-hot), 0/1 for
            one sigmoid unit, the target value of a regression, the target image of an
            autoencoder or the class map of a segmentation; a model with several outputs:
            a list in its order or a dict by output name (None for a head without truth).
        frames_dir: the folder of the PNG frames (and of the manifest, by default); None
            writes no PNGs and no manifest (then give `movie_path` or `sinks`).
        every_n_batches: a frame every this many batches of each epoch, from batch 0.
        style: how a frame looks, a `vizcallbacks.FrameStyle` (layers, channels, colours,
            cell size, class names, vocabulary); None for the default.
        movie_path: a movie to stream the frames into (`.gif`, `.mp4`, `.webm`), a list
            of them, or None; at 10 frames per second (`MovieSink` sets another).
        sinks: more outputs, `vizcallbacks.sinks.Sink` instances (`MovieSink`,
            `TensorBoardSink`, `NotebookSink`, your own), sent every frame after the PNGs,
            the manifest and `movie_path`; opened and finished with every fit.
        batch_size: the training batch size, so that the manifest counts the
            examples seen; None leaves `examples_seen` null.
        overwrite: replace frames, manifest lines and movies that are there already.
        on_error: "warn" (default): a fault in drawing or writing frames is warned about
            once and training goes on; "raise": the same, and the error is raised when
            training ends.
        manifest_path: where the manifest goes; default `framefiles.MANIFEST_NAME` in
            `frames_dir` (`vizcallbacks train` puts it beside the frames' folder).
        record: keep what every frame is drawn from in the activation store, `store/`
            beside the manifest (in `frames_dir` by default; read it with `vizcallbacks.open_run`, draw it again with
            `vizcallbacks render`): True for every layer that can be drawn (a superset of
            the columns), a list of layer names or indices, or False. Nothing is recorded
            without `frames_dir`. A `vizcallbacks.Dynamics` (or a `vizcallbacks.Recording`
            holding one) also measures the learning dynamics of tracked training examples
            into `dynamics.json` and `dynamics.png` beside the store.
        **legacy: the spellings of the release before, kept for this one only, with a
            DeprecationWarning naming the new one: `indices`, `fps`, `keep_frames`, `live`,
            `tensorboard_dir`, the drawing options one by one (`layers`, `channels`,
            `cmap`, ...), `background`, `clock`, `renderer_factory`.

    Raises:
        TypeError, ValueError: an argument is not valid; the message says what is.
        FileExistsError: a movie is at `movie_path` and `overwrite` is False.
    """

    #: Draw and write frames in a worker thread (True) or in the training thread.
    background: bool = True
    #: Returns the time in seconds, for the manifest's `time_s` and `wall_time`.
    clock: Callable[[], float] = staticmethod(time.time)
    #: Called as `GridRenderer` is, to make the renderer.
    renderer_factory: Callable[..., GridRenderer] = GridRenderer

    def __init__(self, images, *, labels=None, frames_dir=None, every_n_batches: int = 50,
                 style: FrameStyle | None = None, movie_path=None, sinks: Sequence[Sink] = (),
                 batch_size: int | None = None, overwrite: bool = False, on_error: str = "warn",
                 manifest_path=None, record=True, **legacy):
        super().__init__()
        legacy = Legacy.read(legacy, style=style)
        self.every_n_batches = check_positive_int(every_n_batches, "every_n_batches")
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, "batch_size")
        self.images, self.labels = select_images(images, legacy.indices, labels)
        for batch in input_parts(self.images):
            prepare_images(batch, None)  # dtype and emptiness, before any model is known
        self.style = legacy.style if legacy.style is not None else check_style(style)
        if legacy.keep_frames is False:
            frames_dir = manifest_path = None
        self.frames_dir = None if frames_dir is None else check_path(frames_dir, "frames_dir")
        self.manifest_path = check_manifest_path(manifest_path, self.frames_dir)
        # A string "False" from a config file must not count as True: overwrite deletes.
        self.overwrite = check_bool(overwrite, "overwrite")
        self.on_error = check_on_error(on_error)
        #: The layers kept in the activation store (`store/` beside the manifest): "drawable", names, or None.
        record, self.dynamics = check_recording(record)
        self.record = record if self.frames_dir is not None else None  # the store lives beside the frames
        if self.dynamics is not None and self.frames_dir is None:
            raise ValueError("PlotConvCallback: record=Dynamics(...) needs frames_dir: dynamics.json is written "
                             "beside the frames' manifest. Give frames_dir, or record without Dynamics.")
        if self.dynamics is not None:  # each frame keeps room for its timelines and dead fractions
            self.style = self.style.replace(show_dynamics=True)
        self.movie_paths = movie_paths(movie_path, overwrite=self.overwrite)
        self.sinks = legacy.sinks + check_sinks(sinks)
        self._tensorboard_dir = legacy.tensorboard_dir
        own = [MovieSink(path, fps=legacy.fps) for path in self.movie_paths]
        self._movie_sinks = own + [sink for sink in self.sinks if isinstance(sink, MovieSink)]
        self._own_movie_sinks = own
        check_listed_movies(self._movie_sinks, overwrite=self.overwrite)
        legacy.set_attributes(self)
        if self.frames_dir is None and not (self.movie_paths or self.sinks or self._tensorboard_dir):
            raise ValueError("PlotConvCallback: frames_dir=None and no movie_path or sinks: the frames would go "
                             "nowhere. Give frames_dir (PNG frames and their manifest), movie_path, or sinks=[...].")
        self._movies_made: set[Path] = set()
        self._pipeline: FramePipeline | None = None
        self._finalizer = None
        self._active = False

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
        """Frames rendered and sent to the sinks so far."""
        return 0 if self._pipeline is None else self._pipeline.frames_sent

    @property
    def faults(self) -> tuple:
        """The faults of the last fit (`vizcallbacks.pipeline.Fault`: what failed, the
        error, what was kept), in order; empty when every frame was drawn and written."""
        return () if self._pipeline is None else tuple(self._pipeline.faults)

    def close(self) -> None:
        """Write every pending frame and finish the sinks (manifest, movies). Called by
        `on_train_end`; call it (or use `with`) when `fit` may raise."""
        if self._finalizer is not None:
            self._finalizer()

    # ---- hooks -----------------------------------------------------------------
    # Keras calls on_train_batch_end of an async_safe callback from its own threads on
    # JAX and PyTorch; every other hook runs in the training thread.
    async_safe = True

    def on_train_begin(self, logs=None):
        self.close()  # a run that raised earlier without close()
        model = self.model  # the one read of Callback.model: on JAX it syncs every weight
        self._active = is_chief(model)
        if self._active:
            self._prepare(model)

    def on_epoch_begin(self, epoch, logs=None):
        if self._active:
            self._start_epoch(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self._active and batch > 0:
            self._after_batch(batch - 1)

    def on_train_batch_end(self, batch, logs=None):
        if self._active:
            self._logs.put(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._active:
            self._end_epoch()

    def on_train_end(self, logs=None):
        try:
            if self._active:
                self._capture_final()
        finally:
            self.close()

    # ---- when ------------------------------------------------------------------
    def _start_epoch(self, epoch: int) -> None:
        if not self._opened:
            self._epoch_first_step = self._first_step(epoch)
            self._open(first_epoch=epoch)
        self._epoch = epoch
        self._schedule.start_epoch()

    def _first_step(self, epoch: int) -> int:
        """Steps made before `epoch`, where a fit that starts there counts from."""
        if epoch == 0 or self._steps_per_epoch:
            return epoch * (self._steps_per_epoch or 0)
        # Keras does not know the epoch's length (a generator, a dataset of unknown size):
        # go on from the earlier run's last recorded step.
        done = None if self._folder is None else self._folder.last_step()
        if done is None:
            warnings.warn(
                f"PlotConvCallback: this fit resumes at epoch {epoch + 1}, but Keras does not know "
                "how many batches an epoch has and no manifest records the earlier steps: its "
                "frames count steps from 0 again.", stacklevel=3)
            return 0
        return done

    def _after_batch(self, batch: int) -> None:
        """The training thread is past `batch`: take its frame if one is due."""
        self._last_batch = batch
        due = self._schedule.due(batch)
        if due is not None:
            self._capture(batch, due_batch=due)

    def _end_epoch(self) -> None:
        # Keras has run every on_train_batch_end of the epoch by now, so the log book
        # knows its last batch (with steps_per_execution, the last hook's batch).
        last = self._logs.last_batch(self._epoch)
        if last is None:
            return
        if self._steps_per_epoch:
            last = min(last, self._steps_per_epoch - 1)
        self._after_batch(last)
        self._epoch_first_step += last + 1

    def _capture_final(self) -> None:
        """The frame of the end of training, unless the last batch has one already."""
        if self._last_batch is None:
            return
        # _end_epoch moved the step count on past the last batch.
        if self._last_captured_step != self._epoch_first_step:
            self._capture(self._last_batch, due_batch=None, final=True,
                          step=self._epoch_first_step)

    # ---- work ------------------------------------------------------------------
    def _prepare(self, model):
        """Everything that needs the model, once per fit: the plotter (probe and renderer),
        and the folders checked, so that a mistake is reported before the first batch."""
        self._plotter = ConvPlotter(model, self.images, labels=self.labels, style=self.style,
                                    renderer_factory=self.renderer_factory, record=self.record)
        self._folder = None if self.frames_dir is None else FramesFolder(
            self.frames_dir, manifest_path=self.manifest_path, overwrite=self.overwrite)
        if self._folder is not None:
            self._folder.check(resume=True)  # folders usable: fail now, not at the first frame
        for sink in self._movie_sinks:
            check_writable_dir(sink.path.parent, "movie_path")
            sink.palette = self._plotter.palette  # every frame's colours: a GIF reproduces them exactly
        if self._tensorboard_dir is not None:
            check_writable_dir(self._tensorboard_dir, "tensorboard_dir")
        steps = self.params.get("steps")
        self._steps_per_epoch = steps
        self._digits = name_digits(epochs=self.params.get("epochs") or 1, steps=steps)
        if self.record is not None and not recordable(self._plotter):
            warnings.warn("record: the activation store keeps models with one input and one output; the frames "
                          "of this model are drawn but not recorded (vizcallbacks render cannot redraw them).",
                          stacklevel=2)
        recording = self.record is not None and recordable(self._plotter)
        self._recorder = None if not recording else ActivationRecorder(
            self._folder.manifest_path.parent, self._plotter, labels=self.labels, digits=self._digits)
        self._tracked = None if self.dynamics is None else TrackedPass(
            model, np.asarray(self.dynamics.x)[self.dynamics.tracked_indices()],
            probe_examples=self.dynamics.probe_examples)
        self._opened = False
        self._epoch = 0
        self._epoch_first_step = 0
        self._last_batch = None
        self._last_captured_step = None
        self._schedule = FrameSchedule(self.every_n_batches)
        self._logs = LogBook()
        self._started = self.clock()

    def _open(self, first_epoch: int):
        """At the first epoch, when fit tells where it starts: refuse what would be lost,
        then open the sinks. A resumed run's movies start with the frames already kept."""
        resume = first_epoch > 0
        self._movies_made |= {movie.path for movie in self.movies}
        for sink in self._movie_sinks:
            self._check_movie_replaceable(sink.path, resume=resume)
        sinks, earlier = [], []
        if self._folder is not None:
            if resume:
                self._check_earlier_frame_size()
            self._folder.prepare(resume=resume, first_epoch=first_epoch)
            earlier = self._folder.listed_frames() if resume else []
            sinks.append(_FolderSink(self._folder, digits=self._digits, overwrite=self.overwrite))
        sinks += self._own_movie_sinks
        if self._tensorboard_dir is not None:  # the spelling before TensorBoardSink in sinks
            # Resumed: hide what an earlier run logged from this run's first step on.
            sinks.append(TensorBoardSink(self._tensorboard_dir, resumed=self._epoch_first_step > 0))
        # Before the user's sinks, so that a tracker finishing after it finds the final dynamics files.
        dynamics = None if self._tracked is None else DynamicsSink(
            self._folder.manifest_path.parent, self.dynamics, layers=self._tracked.layers, shown_labels=self.labels)
        sinks += [] if dynamics is None else [dynamics]
        sinks += self.sinks
        if self._recorder is not None:  # first: the store never lacks a frame the others have
            self._recorder.start(overwrite=self.overwrite, keep_through=self._epoch_first_step if resume else None)
            sinks.insert(0, self._recorder)
        # The pipeline holds no reference to the callback, whose finalizer must be free
        # to run when a user drops it after fit raised.
        draw = _FrameDrawer(self._plotter, self._logs, batch_size=self.batch_size, recorder=self._recorder,
                            dynamics=dynamics)
        self._pipeline = FramePipeline(draw, sinks, earlier=earlier, background=self.background,
                                       on_error=self.on_error, owner="PlotConvCallback")
        self._finalizer = weakref.finalize(self, self._pipeline.close)
        self._opened = True

    def _check_movie_replaceable(self, path: Path, *, resume: bool) -> None:
        """A movie is replaced only with overwrite=True, or by the resumed run of this
        callback, whose new movie holds every earlier frame again (kept as PNGs)."""
        if not path.exists() or self.overwrite:
            return
        if resume and self.frames_dir is not None and path in self._movies_made:
            return
        why = (" A resumed run can only add to a movie it remakes from the kept frames "
               "(frames_dir)." if resume and path in self._movies_made else "")
        raise FileExistsError(
            f"movie_path {str(path)!r} already exists. It is kept: pass overwrite=True "
            f"(--overwrite) to replace it, or choose another movie_path.{why}"
        )

    def _check_earlier_frame_size(self) -> None:
        """A resumed run must draw frames of the size already in frames_dir, or the frames
        could never make one movie."""
        size = self._plotter.frame_size
        existing = self._folder.existing_frames()
        if size is None or not existing:
            return
        try:
            earlier = read_png(existing[-1]).shape[:2]
        except (ValueError, OSError):
            return  # stitch names a damaged frame when it reads it
        if earlier != tuple(size):
            raise ValueError(
                f"frames_dir: the frames already in {str(self.frames_dir)!r} are "
                f"{earlier[1]}x{earlier[0]} pixels ({existing[-1].name}) but this run draws "
                f"{size[1]}x{size[0]}: other images, layers or channels than the run it resumes. "
                "Resume with the same ones, or choose another frames_dir."
            )

    def _capture(self, batch: int, *, due_batch: int | None, final: bool = False,
                 step: int | None = None):
        """In the training thread: start the forward pass, note when, hand it on."""
        step = self._epoch_first_step + batch + 1 if step is None else step
        if not self._pipeline.drawing:  # a fault stopped every frame: no forward pass
            self._pipeline.poll()
            return
        now = self.clock()
        self._pipeline.submit(_Capture(
            pending=self._plotter.dispatch(), tracked=None if self._tracked is None else self._tracked.dispatch(),
            epoch=self._epoch, batch=batch, due_batch=due_batch,
            step=step, time_s=round(now - self._started, 4), wall_time=now, final=final))
        self._last_captured_step = step


class _FrameDrawer:
    """In the background thread: waits for a capture's forward pass and for its batch's
    figures, then draws the frame and writes its record."""

    def __init__(self, plotter: ConvPlotter, logs: LogBook, *, batch_size: int | None,
                 recorder: ActivationRecorder | None = None, dynamics: DynamicsSink | None = None):
        self.plotter, self.logs, self.batch_size, self.recorder = plotter, logs, batch_size, recorder
        self.dynamics = dynamics

    def __call__(self, capture: _Capture) -> tuple[np.ndarray, FrameRecord]:
        logs = self.logs.get(capture.epoch, capture.batch)
        figures = figures_from_logs(logs)
        record = FrameRecord(
            epoch=capture.epoch + 1, batch=capture.batch, step=capture.step,
            examples_seen=None if self.batch_size is None else capture.step * self.batch_size,
            time_s=capture.time_s, wall_time=capture.wall_time,
            final=capture.final, due_batch=capture.due_batch, **figures)
        stamp = Stamp.of(capture.epoch + 1, capture.batch, figures)
        activations = capture.pending.result()
        if self.recorder is not None:  # the store sink writes them when the frame is sent
            self.recorder.hold(record, activations)
        if self.dynamics is None:
            return self.plotter.render(activations, stamp), record
        frame_dynamics = self.dynamics.observe(capture.step, activations, capture.tracked.result())
        return self.plotter.render(activations, stamp, dynamics=frame_dynamics), record


@dataclass(frozen=True)
class _Capture:
    """A frame on its way: the forward pass started in the training thread, and when."""

    pending: PendingActivations
    tracked: PendingTracked | None  # the learning dynamics' passes, when measured
    epoch: int          # 0-based, as Keras's hooks count
    batch: int
    due_batch: int | None
    step: int
    time_s: float
    wall_time: float
    final: bool

    @property
    def position(self) -> str:
        """Where training stood, as the frame's record says it (epoch from 1)."""
        return f"epoch {self.epoch + 1}, batch {self.batch}"


class _FolderSink(Sink):
    """The frames folder as one destination: each frame's PNG, then its manifest line, so
    that a line is written only once its frame is whole, and a fault stops both."""

    def __init__(self, folder: FramesFolder, *, digits: tuple[int, int], overwrite: bool):
        self.frames_dir, self.manifest_path = folder.frames_dir, folder.manifest_path
        self.png = PngSink(folder.frames_dir, digits=digits, overwrite=overwrite)
        self.manifest = ManifestSink(folder.manifest_path, frames_dir=folder.frames_dir, digits=digits)

    def open(self, *, earlier=()) -> None:
        self.png.open(earlier=earlier)
        self.manifest.open(earlier=earlier)

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        self.png.send(frame, record)
        self.manifest.send(frame, record)

    def finish(self) -> None:
        self.manifest.finish()

    def describe(self) -> str:
        return f"writing frames to '{self.frames_dir}'"

    def describe_kept(self, frames: int, *, failed: bool) -> str:
        return f"{frames} whole frames in '{self.frames_dir}', listed in '{self.manifest_path}'"


class StopAfterSteps(keras.callbacks.Callback):
    """Ends `fit` after `max_steps` batches in all, so that the final frame comes right
    after them. With `compile(steps_per_execution=k)`, Keras runs k batches at a time
    and `fit` ends after the group that reaches `max_steps`.

    >>> model.fit(x, y, callbacks=[PlotConvCallback(...), StopAfterSteps(300)])

    Args:
        max_steps: how many batches to train, over all epochs.
    """

    # Counts in on_train_batch_begin (always in the training thread), so that Keras may
    # keep its batch-end hooks off that thread.
    async_safe = True

    def __init__(self, max_steps: int):
        super().__init__()
        self.max_steps = check_positive_int(max_steps, "max_steps")
        self.steps = 0
        self._group = 1

    def on_train_begin(self, logs=None):
        self._group = int(getattr(self.model, "steps_per_execution", 1) or 1)
        self.steps = 0  # each fit trains max_steps batches

    def on_train_batch_begin(self, batch, logs=None):
        # Keras checks stop_training once this batch (or group) has run; the last group
        # of an epoch may be shorter.
        epoch_steps = self.params.get("steps")
        self.steps += min(self._group, epoch_steps - batch) if epoch_steps else self._group
        if self.steps >= self.max_steps:
            self.model.stop_training = True


