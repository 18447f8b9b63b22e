"""Train a demo model (the default CNN on MNIST or Fashion-MNIST, the notes' time-series
or text model on synthetic data; see `demos.py`) and make its training movie."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..analysis.noise import check_label_noise, flip_labels
from ..analysis.options import Dynamics
from ..checks import check_bool, check_fps, check_positive_int, check_seed, check_writable_dir
from ..demos.catalog import ImageDemo
from ..framefiles import FRAME_GLOB, FRAMES_DIR, MANIFEST_NAME, read_manifest
from ..pipeline import check_on_error
from ..render.style import FrameStyle, check_style
from ..sinks import MovieSink, Sink, TensorBoardSink
from ..sinks.tensorboard import check_tensorboard_dir
from .page.sink import PageSink

__all__ = ["train_movie", "Training", "TrainResult", "NOTES_IMAGE_INDICES", "MOVIE_FORMATS"]

# The test images the notes' plot_conv shows.
NOTES_IMAGE_INDICES = ImageDemo.image_indices
MOVIE_FORMATS = ("gif", "mp4")


@dataclass(frozen=True)
class TrainResult:
    """Where a training movie's files are, and how training ended.

    Args:
        out_dir: the run's folder.
        frames_dir: the PNG frames' folder; None when frames were not kept.
        manifest_path: the manifest; None when frames were not kept.
        movies: the movies written (`vizcallbacks.movie.Movie`).
        frame_count: the frames made.
        steps: the batches trained, as the last frame's record says (0 without frames kept).
        final_accuracy: the training accuracy of the last epoch.
        test_accuracy: the accuracy on the whole test set after training (None for a
            regression).
        page_path: `index.html`, the page that plays the run (see `write_page`); None
            when frames were not kept.
        tensorboard_dir: where TensorBoard's event files went; None when not asked for.
        final_mae: the training mean absolute error of the last epoch (a regression's).
        test_mae: the mean absolute error on the held-out set after training (a
            regression's).
        faults: what failed while drawing or writing frames (`pipeline.Fault`); empty
            when nothing did.
    """

    out_dir: Path
    frames_dir: Path | None
    manifest_path: Path | None
    movies: tuple  # of vizcallbacks.movie.Movie
    frame_count: int
    steps: int
    final_accuracy: float | None
    test_accuracy: float | None
    page_path: Path | None = None
    tensorboard_dir: Path | None = None
    final_mae: float | None = None
    test_mae: float | None = None
    faults: tuple = ()


def check_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """`formats` as lower-case names without dots.

    Args:
        formats: one format or several ("gif", ".MP4", ...).

    Returns:
        A tuple of names from `MOVIE_FORMATS`.

    Raises:
        ValueError: a format not in `MOVIE_FORMATS`.
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(str(f).lower().lstrip(".") for f in formats)
    unknown = [f for f in formats if f not in MOVIE_FORMATS]
    if unknown:
        raise ValueError(f"formats: unknown format {unknown[0]!r}. Valid: {', '.join(MOVIE_FORMATS)}.")
    return formats


def _refuse_earlier_run(out_dir: Path, movie_paths: list[Path], *, keep_frames: bool) -> None:
    """An earlier run's frames, manifest or movies in out_dir are kept: say where, and how
    to proceed, before anything is loaded."""
    found = [path for path in movie_paths if path.exists()]
    if keep_frames:
        manifest, frames_dir = out_dir / MANIFEST_NAME, out_dir / FRAMES_DIR
        frames = sorted(frames_dir.glob(FRAME_GLOB)) if frames_dir.is_dir() else []
        found += [manifest] if manifest.exists() else []
        found += [frames_dir / f"({len(frames)} frames)"] if frames else []
    if found:
        listed = ", ".join(str(path.relative_to(out_dir)) for path in found)
        raise FileExistsError(
            f"out_dir {str(out_dir)!r} already holds a run ({listed}). It is kept: pass "
            "overwrite=True (--overwrite) to replace it, or choose another out_dir (--out)."
        )


@dataclass(frozen=True)
class Training:
    """How `train_movie` trains: Keras's `fit` options, each None for the demo's default.

    >>> train_movie(dataset="mnist", out_dir="output/mnist", training=Training(max_steps=300))

    Args:
        epochs: epochs to train; None for the dataset's default (1 for the images, 20
            for the series, 3 for the tokens).
        batch_size: examples per batch; None for the dataset's default (64; 32 for the
            series and the tokens).
        max_steps: stop after this many batches in all; None trains every epoch through.
        seed: for the initial weights (and the tracked examples and flipped labels).
        verbose: Keras's `fit` verbosity.
        dynamics: measure the learning dynamics (`vizcallbacks.Dynamics`: 512 tracked
            training examples) into `dynamics.json` and `dynamics.png` in the run's folder.
        label_noise: flip this fraction of the training labels to another class (with
            `seed`) before training; the tracked examples that were flipped are marked
            `noisy`. 0 for none. Classification demos only.

    Raises:
        ValueError: a field is not valid; the message names it.
    """

    epochs: int | None = None
    batch_size: int | None = None
    max_steps: int | None = None
    seed: int = 0
    verbose: int = 1
    dynamics: bool = False
    label_noise: float = 0.0

    def __post_init__(self):
        for name in ("epochs", "batch_size", "max_steps"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        check_seed(self.seed)
        check_bool(self.dynamics, "dynamics")
        check_label_noise(self.label_noise)

    def for_demo(self, demo) -> Training:
        """This plan with the demo's defaults filled in.

        Args:
            demo: a `demos.catalog.Demo`.
        """
        return replace(self, epochs=demo.epochs if self.epochs is None else self.epochs,
                       batch_size=demo.batch_size if self.batch_size is None else self.batch_size)


# Keywords of the release before, each with its new spelling.
_LEGACY_TRAINING = ("epochs", "batch_size", "max_steps", "seed", "verbose")
_LEGACY = {"channels": "style=FrameStyle(channels=...)", "keep_frames": "(frames are always kept)",
           "tensorboard_dir": "sinks=[TensorBoardSink(log_dir)]",
           **{name: f"training=Training({name}=...)" for name in _LEGACY_TRAINING}}
_ARGUMENTS = ("dataset", "out_dir", "training", "every_n_batches", "image_indices", "style", "formats", "fps",
              "sinks", "data_dir", "overwrite", "on_error")


def _read_legacy(legacy: dict, training: Training | None, style):
    """The keywords of the release before as (training, style, sinks), with one DeprecationWarning."""
    unknown = sorted(set(legacy) - set(_LEGACY))
    if unknown:
        raise TypeError(f"train_movie got unexpected keyword arguments {', '.join(unknown)}. Valid: "
                        f"{', '.join(_ARGUMENTS)}.")
    training = Training() if training is None else training
    if not isinstance(training, Training):
        raise TypeError(f"training must be a vizcallbacks.apps.train.Training, e.g. training=Training(max_steps=300). "
                        f"Received: training={training!r} ({type(training).__name__}).")
    if not legacy:
        return training, style, ()
    warnings.warn(f"train_movie({', '.join(f'{name}=...' for name in legacy)}): these keywords will be removed in "
                  f"the next release; write {'; '.join(dict.fromkeys(_LEGACY[name] for name in legacy))}.",
                  DeprecationWarning, stacklevel=3)
    training = replace(training, **{name: legacy[name] for name in _LEGACY_TRAINING if name in legacy})
    if legacy.get("channels") is not None:
        style = (FrameStyle() if style is None else style).replace(channels=legacy["channels"])
    if legacy.get("keep_frames") is False:
        raise ValueError("train_movie always keeps the frames (its page and `stitch` read them); "
                         "keep_frames=False is no longer taken.")
    tensorboard_dir = check_tensorboard_dir(legacy.get("tensorboard_dir"), "tensorboard_dir (--tensorboard)")
    sinks = () if tensorboard_dir is None else (TensorBoardSink(tensorboard_dir),)
    return training, style, sinks


def train_movie(*, dataset: str = "fashion_mnist", out_dir="output/fashion_mnist", training: Training | None = None,
                every_n_batches: int | None = None, image_indices: Sequence[int] | None = None,
                style: FrameStyle | None = None, formats: Sequence[str] = MOVIE_FORMATS, fps: float = 10,
                sinks: Sequence[Sink] = (), data_dir=None, overwrite: bool = False, on_error: str = "warn",
                **legacy) -> TrainResult:
    """Train a demo's model with `PlotConvCallback` and write, under `out_dir`,
    `frames/`, the manifest, `movie.gif` / `movie.mp4`, and `index.html`, a page that
    plays the run (see `write_page`).

    >>> result = train_movie(dataset="mnist", out_dir="output/mnist", training=Training(max_steps=300))
    >>> result.movies[0].path               # output/mnist/movie.gif
    >>> train_movie(dataset="series", out_dir="output/series")   # the notes' LSTM, MAE stamped
    >>> train_movie(style=FrameStyle(channels=(0, 3)), sinks=[TensorBoardSink("logs/run1")])

    Every argument is checked, and an existing run in `out_dir` refused unless
    `overwrite=True`, before any data is loaded; image indices are checked against the
    test set before the model is built, channels against its layers before training.
    A fault while drawing or writing frames (a full disk) does not stop training: the
    result's `faults` say what failed (see `PlotConvCallback`); the page is written from
    the frames that were kept, where the disk allows.

    Args:
        dataset: "fashion_mnist" or "mnist" (the default CNN), "series" (the notes'
            time-series model on their synthetic series) or "tokens" (the notes' Conv1D
            text model on a synthetic sentiment task); see `demos.DEMOS`.
        out_dir: the folder to write; made if missing.
        training: epochs, batch size, max steps, seed and verbosity (`Training`); None
            for the dataset's defaults.
        every_n_batches: a frame every this many batches of each epoch; None for the
            dataset's default (20; 10 for the series and the tokens).
        image_indices: test-set indices of the inputs shown; None for the dataset's
            default (the notes' seven images; five validation windows; six sentences).
        style: how a frame looks (`FrameStyle`); the dataset's class names and
            vocabulary are filled in. None for the default.
        formats: movie formats, from "gif" and "mp4", written as `movie.gif`, `movie.mp4`;
            empty for none.
        fps: those movies' frames per second.
        sinks: more outputs (`TensorBoardSink`, `NotebookSink`, a `MovieSink` elsewhere, ...).
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
            The series and tokens are made, not read: no `data_dir` for them.
        overwrite: replace a run already in `out_dir`.
        on_error: "warn" or "raise", what a fault in the frames does (see `PlotConvCallback`).
        **legacy: the spellings of the release before (`epochs`, `batch_size`, `max_steps`,
            `seed`, `verbose`, `channels`, `tensorboard_dir`), kept for this release with a
            DeprecationWarning.

    Returns:
        A `TrainResult`: where the files are, and how training ended.

    Raises:
        ValueError, TypeError: an argument is not valid; the message says what is.
        FileExistsError: `out_dir` holds a run and `overwrite` is False.
        FileNotFoundError: the dataset is not found.
    """
    from ..demos.catalog import demo_for

    training, style, old_sinks = _read_legacy(legacy, training, style)
    demo = demo_for(dataset)
    training = training.for_demo(demo)
    every_n_batches = check_positive_int(demo.every_n_batches if every_n_batches is None else every_n_batches,
                                         "every_n_batches")
    checked = _check_outputs(demo, out_dir, image_indices=image_indices, style=style, formats=formats, fps=fps,
                             sinks=tuple(sinks) + old_sinks, data_dir=data_dir, overwrite=overwrite,
                             on_error=on_error)
    return _train(demo, checked, training, every_n_batches=every_n_batches, data_dir=data_dir)


@dataclass(frozen=True)
class _Checked:
    out_dir: Path
    image_indices: tuple
    style: FrameStyle
    movie_sinks: tuple
    sinks: tuple
    overwrite: bool
    on_error: str


def _check_outputs(demo, out_dir, *, image_indices, style, formats, fps, sinks, data_dir, overwrite,
                   on_error) -> _Checked:
    """Every argument about what is shown and written, checked before any data is loaded."""
    from ..callback import check_sinks
    from ..demos.datasets import check_test_indices

    formats, fps = check_formats(formats), check_fps(fps)
    image_indices = check_test_indices(demo.image_indices if image_indices is None else image_indices,
                                       flag="--images")
    if data_dir is not None and not demo.reads_files:
        raise ValueError(f"data_dir (--data-dir) is for datasets read from files; {demo.name!r} is made "
                         f"on the spot. Received: data_dir={str(data_dir)!r}.")
    style, sinks, on_error = check_style(style), check_sinks(sinks), check_on_error(on_error)
    out_dir = check_writable_dir(out_dir, "out_dir (--out)")
    movie_sinks = tuple(MovieSink(out_dir / f"movie.{fmt}", fps=fps) for fmt in formats)
    if not overwrite:
        _refuse_earlier_run(out_dir, [sink.path for sink in movie_sinks], keep_frames=True)
    return _Checked(out_dir, tuple(image_indices), style, movie_sinks, sinks, overwrite, on_error)


def _train(demo, checked: _Checked, training: Training, *, every_n_batches: int, data_dir) -> TrainResult:
    """Load the data, build the model, train it with the callback; the page at the end."""
    from ..callback import PlotConvCallback, StopAfterSteps
    from ..demos.datasets import check_test_indices

    data = demo.load(data_dir)
    check_test_indices(list(checked.image_indices), flag="--images", test_count=len(data.x_test),
                       dataset=demo.name)
    shown = list(checked.image_indices)
    style = checked.style
    if style.class_names is None and data.class_names is not None:
        style = style.replace(class_names=data.class_names)
    if style.vocabulary is None and data.vocabulary is not None:
        style = style.replace(vocabulary=data.vocabulary)
    model = demo.model(data, seed=training.seed)
    out_dir = checked.out_dir
    y_train, record = _training_labels(data, training)
    page = PageSink(out_dir)  # before the user's sinks: a tracker keeps the page with the movies
    callback = PlotConvCallback(
        data.x_test[shown], labels=data.y_test[shown], frames_dir=out_dir / FRAMES_DIR,
        manifest_path=out_dir / MANIFEST_NAME, every_n_batches=every_n_batches, style=style,
        sinks=[*checked.movie_sinks, page, *checked.sinks], batch_size=training.batch_size,
        overwrite=checked.overwrite, on_error=checked.on_error, record=record)
    callbacks = [callback] + ([StopAfterSteps(training.max_steps)] if training.max_steps else [])
    with callback:
        history = model.fit(data.x_train, y_train, batch_size=training.batch_size, epochs=training.epochs,
                            shuffle=True, verbose=training.verbose, callbacks=callbacks)
    evaluation = model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0, return_dict=True)
    result = _result(out_dir, callback, history, evaluation, keep_frames=True)
    tensorboard = next((sink.log_dir for sink in checked.sinks if isinstance(sink, TensorBoardSink)), None)
    # On a full disk the page could not be written either: `vizcallbacks view` makes it later.
    return replace(result, page_path=page.path, tensorboard_dir=tensorboard, faults=callback.faults)


def _training_labels(data, training: Training):
    """The labels to train on (some flipped with `label_noise`) and what the callback
    records: every drawable layer, and the dynamics when asked for."""
    y_train, flipped = data.y_train, None
    if training.label_noise:
        classes = None if data.class_names is None else len(data.class_names)
        y_train, flipped = flip_labels(data.y_train, training.label_noise, seed=training.seed, classes=classes)
    if not training.dynamics:
        return y_train, True
    return y_train, Dynamics(data.x_train, y_train, seed=training.seed, noisy=flipped)


def _result(out_dir: Path, callback, history, evaluation: dict, *, keep_frames: bool) -> TrainResult:
    manifest_path = out_dir / MANIFEST_NAME if keep_frames else None
    records = []
    if manifest_path is not None and manifest_path.is_file():
        with warnings.catch_warnings():
            if callback.faults:  # a line the fault tore is said by the fault already
                warnings.simplefilter("ignore")
            records = [record for _, record in read_manifest(manifest_path)]
    accuracy = history.history.get("accuracy", [None])[-1]
    mae = history.history.get("mae", [None])[-1]
    return TrainResult(
        out_dir=out_dir, frames_dir=out_dir / FRAMES_DIR if keep_frames else None,
        manifest_path=manifest_path,
        movies=callback.movies,
        frame_count=len(records) if records else callback.frames_written,
        steps=records[-1]["step"] if records else 0,
        final_accuracy=None if accuracy is None else float(accuracy),
        test_accuracy=float(evaluation["accuracy"]) if "accuracy" in evaluation else None,
        final_mae=None if mae is None else float(mae),
        test_mae=float(evaluation["mae"]) if "mae" in evaluation else None)
