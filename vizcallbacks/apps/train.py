"""Train a demo model (the default CNN on MNIST or Fashion-MNIST, the notes' time-series
or text model on synthetic data; see `demos.py`) and make its training movie."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..checks import check_fps, check_positive_int, check_seed, check_writable_dir
from ..demos.catalog import ImageDemo
from ..framefiles import FRAME_GLOB, FRAMES_DIR, MANIFEST_NAME, read_manifest
from .page import write_page_at_end
from ..sinks.tensorboard import check_tensorboard_dir

__all__ = ["train_movie", "TrainResult", "NOTES_IMAGE_INDICES", "MOVIE_FORMATS"]

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


def train_movie(*, dataset: str = "fashion_mnist", out_dir="output/fashion_mnist",
                epochs: int | None = None, batch_size: int | None = None, every_n_batches: int | None = None,
                max_steps: int | None = None,
                image_indices: Sequence[int] | None = None,
                channels: Sequence[int] | None = None,
                formats: Sequence[str] = MOVIE_FORMATS, fps: float = 10,
                data_dir=None, seed: int = 0, keep_frames: bool = True,
                overwrite: bool = False, verbose: int = 1, tensorboard_dir=None) -> TrainResult:
    """Train a demo's model with `PlotConvCallback` and write, under `out_dir`,
    `frames/`, the manifest, `movie.gif` / `movie.mp4`, and `index.html`, a page that
    plays the run (see `write_page`).

    >>> result = train_movie(dataset="mnist", out_dir="output/mnist", max_steps=300)
    >>> result.movies[0].path               # output/mnist/movie.gif
    >>> train_movie(dataset="series", out_dir="output/series")   # the notes' LSTM, MAE stamped

    Every argument is checked, and an existing run in `out_dir` refused unless
    `overwrite=True`, before any data is loaded; image indices are checked against the
    test set before the model is built, channels against its layers before training.

    Args:
        dataset: "fashion_mnist" or "mnist" (the default CNN), "series" (the notes'
            time-series model on their synthetic series) or "tokens" (the notes' Conv1D
            text model on a synthetic sentiment task); see `demos.DEMOS`.
        out_dir: the folder to write; made if missing.
        epochs: epochs to train; None for the dataset's default (1 for the images, 20
            for the series, 3 for the tokens).
        batch_size: examples per batch; None for the dataset's default (64; 32 for the
            series and the tokens).
        every_n_batches: a frame every this many batches of each epoch; None for the
            dataset's default (20; 10 for the series and the tokens).
        max_steps: stop after this many batches in all; None trains every epoch through.
        image_indices: test-set indices of the inputs shown; None for the dataset's
            default (the notes' seven images; five validation windows; six sentences).
        channels: feature-map channels shown for the first image; default (1, 5, 10, 20).
        formats: movie formats, from "gif" and "mp4"; empty for none.
        fps: the movies' frames per second.
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
            The series and tokens are made, not read: no `data_dir` for them.
        seed: for the initial weights.
        keep_frames: write the PNG frames and the manifest (False needs a format).
        overwrite: replace a run already in `out_dir`.
        verbose: Keras's `fit` verbosity.
        tensorboard_dir: a folder for TensorBoard's event files (frames and metrics at
            the global step); None for none.

    Returns:
        A `TrainResult`: where the files are, and how training ended.

    Raises:
        ValueError, TypeError: an argument is not valid; the message says what is.
        FileExistsError: `out_dir` holds a run and `overwrite` is False.
        FileNotFoundError: the dataset is not found.
    """
    from ..demos.datasets import check_test_indices
    from ..demos.catalog import demo_for

    demo = demo_for(dataset)
    epochs = demo.epochs if epochs is None else epochs
    batch_size = demo.batch_size if batch_size is None else batch_size
    every_n_batches = demo.every_n_batches if every_n_batches is None else every_n_batches
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("every_n_batches", every_n_batches)):
        check_positive_int(value, name)
    if max_steps is not None:
        check_positive_int(max_steps, "max_steps")
    check_seed(seed)
    formats = check_formats(formats)
    fps = check_fps(fps)
    image_indices = check_test_indices(demo.image_indices if image_indices is None else image_indices,
                                       flag="--images")
    if data_dir is not None and not demo.reads_files:
        raise ValueError(f"data_dir (--data-dir) is for datasets read from files; {demo.name!r} is made "
                         f"on the spot. Received: data_dir={str(data_dir)!r}.")
    tensorboard_dir = check_tensorboard_dir(tensorboard_dir, "tensorboard_dir (--tensorboard)")
    out_dir = check_writable_dir(out_dir, "out_dir (--out)")
    movie_paths = [out_dir / f"movie.{fmt}" for fmt in formats]
    if not overwrite:
        _refuse_earlier_run(out_dir, movie_paths, keep_frames=keep_frames)

    data = demo.load(data_dir)
    check_test_indices(image_indices, flag="--images", test_count=len(data.x_test), dataset=demo.name)

    from ..callback import PlotConvCallback, StopAfterSteps

    model = demo.model(data, seed=seed)
    callback = PlotConvCallback(
        data.x_test, indices=image_indices, labels=data.y_test, class_names=data.class_names,
        vocabulary=data.vocabulary,
        frames_dir=out_dir / FRAMES_DIR, manifest_path=out_dir / MANIFEST_NAME,
        every_n_batches=every_n_batches, channels=channels, batch_size=batch_size,
        movie_path=movie_paths, fps=fps, keep_frames=keep_frames, overwrite=overwrite,
        tensorboard_dir=tensorboard_dir)
    callbacks = [callback] + ([StopAfterSteps(max_steps)] if max_steps else [])
    with callback:
        history = model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                            shuffle=True, verbose=verbose, callbacks=callbacks)
    evaluation = model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0, return_dict=True)
    result = _result(out_dir, callback, history, evaluation, keep_frames=keep_frames)
    page_path = write_page_at_end(out_dir) if keep_frames and result.frame_count else None
    return replace(result, page_path=page_path, tensorboard_dir=tensorboard_dir)


def _result(out_dir: Path, callback, history, evaluation: dict, *, keep_frames: bool) -> TrainResult:
    manifest_path = out_dir / MANIFEST_NAME if keep_frames else None
    records = []
    if manifest_path is not None:
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
