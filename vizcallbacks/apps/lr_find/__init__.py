"""The learning-rate range test, as the notes use `LearningRateScheduler` "for finding the
best stable optimizer step": the default CNN trains one batch per epoch while
`keras.callbacks.LearningRateScheduler` raises the learning rate exponentially, batch
after batch; `RangeTest` records the loss and stops where training diverges; the
`PlotConvCallback` draws every batch's activations with the loss-against-learning-rate
strip under them (`LossStrip`); the movie ends on the suggested range.

Pieces: ``rule.py`` (the schedule, smoothing, divergence and suggestion: pure functions),
``callback.py`` (`RangeTest`), ``strip.py`` (the frames' renderer); `lr_find` ties them
together. Output: ``DIR/frames/`` and the manifest beside it (the callback's), ``DIR/movie.gif``,
``DIR/movie.mp4`` (the frames, then the suggestion), ``DIR/suggestion.png``,
``DIR/summary.json`` and ``DIR/summary.png``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...checks import (check_fps, check_int_in_range, check_non_negative_int, check_positive_int, check_seed,
                      check_positive_number, check_writable_dir, is_real)
from ..compare.schedule import DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS
from ..train import MOVIE_FORMATS
from ...framefiles import FRAMES_DIR, MANIFEST_NAME, decoded, partial_path, read_manifest, write_atomically, write_png
from ...render import CELL_PX_RANGE
from .rule import (DIVERGENCE_FACTOR, FRACTION, RULE, SMOOTHING, LearningRateRange, Suggestion, smooth,
                   smooth_without_lag, suggest)

__all__ = ["lr_find", "LRFindResult", "LearningRateRange", "Suggestion", "suggest", "RULE"]

_OUTPUTS = ("movie.gif", "movie.mp4", "suggestion.png", "summary.json", "summary.png")
# The suggestion's frame shows this long at the end of the movie.
_HOLD_MS = 3000


@dataclass(frozen=True)
class LRFindResult:
    """What the range test found, and where its files are.

    Args:
        out_dir: the test's folder.
        suggestion: the suggested range, the steepest descent, the minimum and where
            training diverged (`rule.Suggestion`).
        learning_rates: each batch's learning rate.
        losses: each batch's loss (None: NaN or infinite).
        smoothed_losses: the smoothed loss (see `rule.smooth`).
        frame_count: the frames the callback drew (one per batch).
        movies: the movies written (`vizcallbacks.movie.Movie`).
        manifest_path: the frames' manifest.
        suggestion_png: the last frame: the whole curve and the suggested range.
        summary_path: summary.json: the figures of every batch and the suggestion.
        summary_png: summary.png: the loss against the learning rate.
    """

    out_dir: Path
    suggestion: Suggestion
    learning_rates: tuple = field(repr=False)
    losses: tuple = field(repr=False)
    smoothed_losses: tuple = field(repr=False)
    frame_count: int = 0
    movies: tuple = ()
    manifest_path: Path | None = None
    suggestion_png: Path | None = None
    summary_path: Path | None = None
    summary_png: Path | None = None


def _check(*, min_lr, max_lr, batches, batch_size, smoothing, divergence_factor, fraction, seed, channel, cell_px,
           fps, formats) -> tuple[LearningRateRange, tuple[str, ...]]:
    """Every option that can be checked without data, each named as the caller names it."""
    from ..train import check_formats

    lr_range = LearningRateRange(min_lr, max_lr, batches)
    check_positive_int(batch_size, "batch_size")
    if not is_real(smoothing) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1). Received: smoothing={smoothing!r}.")
    if not is_real(divergence_factor) or not divergence_factor > 1 or not math.isfinite(divergence_factor):
        raise ValueError("divergence_factor must be a number above 1. "
                         f"Received: divergence_factor={divergence_factor!r}.")
    if check_positive_number(fraction, "fraction") > 1:
        raise ValueError(f"fraction must be in (0, 1]. Received: fraction={fraction!r}.")
    check_seed(seed)
    check_non_negative_int(channel, "channel")
    check_int_in_range(cell_px, "cell_px", *CELL_PX_RANGE)
    check_fps(fps)
    return lr_range, check_formats(formats)


def _prepare_out_dir(out_dir, overwrite: bool) -> Path:
    out_dir = check_writable_dir(out_dir, "out_dir (--out)")
    found = [name for name in (*_OUTPUTS, MANIFEST_NAME) if (out_dir / name).exists()]
    if found and not overwrite:
        raise FileExistsError(f"out_dir {str(out_dir)!r} already holds a range test ({', '.join(found)}). It is "
                              "kept: pass overwrite=True (--overwrite) to replace it, or choose another out_dir "
                              "(--out).")
    return out_dir


# long: the steps of one test, in order, each a few lines
def lr_find(*, dataset: str = "fashion_mnist", out_dir="output/lr_find", data_dir=None, min_lr: float = 1e-4,
            max_lr: float = 10.0, batches: int = 200, batch_size: int = 64, optimizer: str = "sgd", seed: int = 0,
            smoothing: float = SMOOTHING, divergence_factor: float = DIVERGENCE_FACTOR, fraction: float = FRACTION,
            image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES, layers: Sequence[str] = DEFAULT_LAYERS,
            channel: int = 1, cell_px: int = 48, cmap: str = "inferno", formats: Sequence[str] = ("gif", "mp4"),
            fps: float = 15, overwrite: bool = False, progress: bool = True) -> LRFindResult:
    """A learning-rate range test on the default CNN: the learning rate rises
    exponentially from `min_lr` to `max_lr` over `batches` batches (one batch per epoch,
    set by `keras.callbacks.LearningRateScheduler`), every batch's loss is recorded and
    its activations drawn, training stops where it diverges (loss NaN or infinite, or the
    smoothed loss above `divergence_factor` times its lowest), and the suggested range is
    found by the rule of `rule.RULE`: from the steepest descent of the smoothed loss to
    the smaller of its minimum and `fraction` of the divergence point.

    >>> result = lr_find(dataset="fashion_mnist", out_dir="output/lr_find")
    >>> result.suggestion.low, result.suggestion.high, result.suggestion.diverged_lr

    Args:
        dataset: "fashion_mnist" or "mnist".
        out_dir: the folder to write; made if missing.
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
        min_lr: the first batch's learning rate.
        max_lr: the last batch's, if training has not diverged before.
        batches: batches at most, at least 2 (a few hundred).
        batch_size: examples per batch.
        optimizer: a Keras optimizer name (see `vizcallbacks.apps.compare.OPTIMIZERS`).
        seed: initial weights and the order of the examples.
        smoothing: the moving average's weight of the past, in [0, 1).
        divergence_factor: k, above 1: diverged when the smoothed loss passes k x its lowest.
        fraction: the range ends at most at this fraction of the divergence point, in (0, 1].
        image_indices: test-set indices of the images the frames show.
        layers: names of the default CNN's layers the frames show.
        channel: the feature-map channel shown.
        cell_px: the grid's cell size in pixels.
        cmap: a matplotlib colormap name.
        formats: movie formats, from "gif" and "mp4".
        fps: the movies' frames per second.
        overwrite: replace a test already in `out_dir`.
        progress: show a progress bar on stderr.

    Returns:
        An `LRFindResult`.

    Raises:
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a test and `overwrite` is False.
    """
    from ..compare.configs import HYPERPARAMETERS
    from ...demos.datasets import canonical_name, check_test_indices

    lr_range, formats = _check(min_lr=min_lr, max_lr=max_lr, batches=batches, batch_size=batch_size,
                               smoothing=smoothing, divergence_factor=divergence_factor, fraction=fraction, seed=seed,
                               channel=channel, cell_px=cell_px, fps=fps, formats=formats)
    optimizer = HYPERPARAMETERS["optimizer"].check(optimizer, "optimizer")
    image_indices = check_test_indices(image_indices)
    canonical_name(dataset)
    out_dir = _prepare_out_dir(out_dir, overwrite)
    data = _load(dataset, data_dir, image_indices, seed=seed, count=batches * batch_size)

    test, strip = _train(data, lr_range, out_dir, batch_size=batch_size, optimizer=optimizer, seed=seed,
                         smoothing=smoothing, divergence_factor=divergence_factor, layers=layers, channel=channel,
                         cell_px=cell_px, cmap=cmap, overwrite=overwrite, progress=progress)
    found = suggest(test.learning_rates, test.losses, smoothing=smoothing, divergence_factor=divergence_factor,
                    fraction=fraction)
    last = strip.renderer.conclude(found)
    suggestion_png = write_png(last, out_dir / "suggestion.png")
    manifest = out_dir / MANIFEST_NAME
    frames = [manifest.parent / record["file"] for _, record in read_manifest(manifest)]
    movies = _movies(out_dir, frames, last, strip.renderer.palette, formats=formats, fps=fps, overwrite=overwrite)
    smoothed = smooth(test.losses, smoothing)
    summary_png = _summary_png(out_dir / "summary.png", test.learning_rates, test.losses, smoothed, found,
                               smoothing=smoothing)
    summary = {
        "dataset": dataset, "optimizer": optimizer, "batch_size": batch_size, "seed": seed, "min_lr": min_lr,
        "max_lr": max_lr, "batches_planned": batches, "batches_run": len(test.losses),
        "lr_factor_per_batch": lr_range.factor, "smoothing": smoothing, "divergence_factor": divergence_factor,
        "fraction": fraction, "suggestion": asdict(found), "frames": len(frames),
        "movies": [movie.path.name for movie in movies],
        "batches": [{"step": i, "learning_rate": lr, "loss": loss, "smoothed_loss": s}
                    for i, (lr, loss, s) in enumerate(zip(test.learning_rates, test.losses, smoothed))],
    }
    summary_path = write_atomically(out_dir / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    for stale in set(MOVIE_FORMATS) - set(formats):  # replaced (overwrite): no earlier test's movie beside this one
        (out_dir / f"movie.{stale}").unlink(missing_ok=True)
    return LRFindResult(out_dir=out_dir, suggestion=found, learning_rates=tuple(test.learning_rates),
                        losses=tuple(test.losses), smoothed_losses=tuple(smoothed), frame_count=len(frames),
                        movies=tuple(movies), manifest_path=manifest, suggestion_png=suggestion_png,
                        summary_path=summary_path, summary_png=summary_png)


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    y: np.ndarray
    shown: np.ndarray
    shown_labels: np.ndarray
    class_names: tuple


def _load(dataset: str, data_dir, image_indices: Sequence[int], *, seed: int, count: int) -> _Data:
    """The examples the test reads, in order (a shuffled permutation per epoch, from the
    seed, as `compare` orders them), and the images the frames show."""
    from ..compare.schedule import training_order
    from ...demos.datasets import check_test_indices, load_dataset

    (x_train, y_train), (x_test, y_test), class_names = load_dataset(dataset, data_dir=data_dir)
    check_test_indices(image_indices, test_count=len(x_test), dataset=dataset)
    order = training_order(seed, len(x_train), count)
    scale = np.float32(255)
    return _Data(x=(x_train[order][..., None] / scale).astype(np.float32), y=y_train[order],
                 shown=(x_test[list(image_indices)][..., None] / scale).astype(np.float32),
                 shown_labels=y_test[list(image_indices)], class_names=tuple(class_names))


def _train(data: _Data, lr_range: LearningRateRange, out_dir: Path, *, batch_size, optimizer, seed, smoothing,
           divergence_factor, layers, channel, cell_px, cmap, overwrite, progress):
    """The test itself: one batch per epoch, the learning rate set per epoch, a frame per batch."""
    import keras

    from ...callback import PlotConvCallback
    from ...demos.models import default_cnn
    from .callback import RangeTest
    from .strip import LossStrip

    model = default_cnn(seed=seed, optimizer=optimizer, learning_rate=lr_range.min_lr)
    test = RangeTest(lr_range, smoothing=smoothing, divergence_factor=divergence_factor, progress=progress)
    strip = LossStrip(lr_range, smoothing=smoothing, divergence_factor=divergence_factor)
    frames = PlotConvCallback(data.shown, labels=data.shown_labels, class_names=data.class_names,
                              frames_dir=out_dir / FRAMES_DIR, manifest_path=out_dir / MANIFEST_NAME,
                              every_n_batches=1, layers=list(layers), channels=(channel,), channels_per_image=1,
                              cell_px=cell_px, cmap=cmap, batch_size=batch_size, overwrite=overwrite,
                              renderer_factory=strip)
    with frames:
        model.fit(data.x, data.y, batch_size=batch_size, epochs=lr_range.batches, steps_per_epoch=1, shuffle=False,
                  verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lr_range), test, frames])
    return test, strip


def _movies(out_dir: Path, frames: list[Path], last: np.ndarray, palette, *, formats, fps, overwrite) -> list:
    """Each movie: the callback's frames, then the suggestion's, held a while."""
    from ...movie import stitch

    movies = []
    for fmt in formats:
        source = decoded(frames)
        try:
            movies.append(stitch(itertools.chain((frame for _, frame in source), [last]), out_dir / f"movie.{fmt}",
                                 fps=fps, last_frame_hold_ms=_HOLD_MS, overwrite=overwrite,
                                 palette=palette if fmt == "gif" else None))
        finally:
            source.close()
    return movies


def _summary_png(path: Path, lrs, losses, smoothed, found: Suggestion, *, smoothing: float) -> Path:
    """The loss and the smoothed losses against the learning rate, the range shaded, the
    steepest descent, the minimum and the divergence marked; written atomically."""
    import textwrap

    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    ax = figure.subplots()
    nan = [np.nan if v is None else v for v in losses]
    ax.plot(lrs, nan, color="0.6", linewidth=1, label="loss of each batch")
    ax.plot(lrs, [np.nan if v is None else v for v in smoothed], color="tab:purple", linewidth=2.5,
            label="smoothed loss (moving average, as the movie draws it)")
    end = len(losses) if found.diverged_step is None else found.diverged_step
    if end >= 3 and None not in losses[:end]:
        ax.plot(lrs[:end], smooth_without_lag(losses[:end], smoothing), color="black", linewidth=1.2,
                linestyle="--", label="smoothed without lag (the suggestion's)")
    if found.low is not None:
        ax.axvspan(found.low, found.high, color="tab:green", alpha=0.2,
                   label=f"suggested {found.low:.3g}–{found.high:.3g}")
        ax.axvline(found.steepest_lr, color="tab:green", linestyle=":",
                   label=f"steepest descent {found.steepest_lr:.3g}")
        ax.axvline(found.minimum_lr, color="tab:blue", linestyle=":", label=f"minimum {found.minimum_lr:.3g}")
    if found.diverged_lr is not None:
        loss = "NaN" if found.diverged_loss is None else f"{found.diverged_loss:.3g}"
        ax.axvline(found.diverged_lr, color="tab:red", linestyle="--",
                   label=f"diverged at {found.diverged_lr:.3g} (loss {loss})")
    finite = [v for v in nan if np.isfinite(v)]
    if finite:
        ax.set_ylim(0, 1.25 * finite[0] if finite[0] > 0 else None)
    ax.set(xscale="log", xlabel="learning rate (log scale)", ylabel="training loss",
           title="Learning-rate range test\n" + textwrap.fill(found.text, 120))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    partial = partial_path(path)
    figure.savefig(partial, format="png")
    os.replace(partial, path)
    return path
