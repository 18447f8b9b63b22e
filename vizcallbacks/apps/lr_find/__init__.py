"""The learning-rate range test, as the notes use `LearningRateScheduler` "for finding the
best stable optimizer step": the default CNN trains one batch per epoch while
`keras.callbacks.LearningRateScheduler` raises the learning rate exponentially, batch
after batch; `RangeTest` records the loss and stops where training diverges; `EveryBatch`
captures every batch's activations and a `FramePipeline` draws them with the
loss-against-learning-rate strip under them (`LossStrip`) and sends them to the sinks, as
the callback's frames go; the movies end on the suggested range, sent last.

>>> result = lr_find(RangeTestSpec(min_lr=1e-3, max_lr=1.0, batches=100), out_dir="output/lr_find")

Pieces: ``spec.py`` (`RangeTestSpec`, what the test does), ``rule.py`` (the schedule,
smoothing, divergence and suggestion: pure functions), ``callback.py`` (`RangeTest`),
``strip.py`` (the frames' renderer), ``frames.py`` (the frames' *when* and route);
`lr_find` ties them together. Output: ``DIR/frames/`` and the manifest beside it (the callback's), ``DIR/movie.gif``,
``DIR/movie.mp4`` (the frames, then the suggestion), ``DIR/suggestion.png``,
``DIR/summary.json`` and ``DIR/summary.png``.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ...checks import check_fps, check_writable_dir
from ...framefiles import FRAMES_DIR, MANIFEST_NAME, partial_path, write_atomically
from ...render.style import FrameStyle
from ..train import MOVIE_FORMATS
from .rule import RULE, LearningRateRange, Suggestion, smooth, smooth_without_lag, suggest
from .spec import LR_FIND_STYLE, RangeTestSpec

__all__ = ["lr_find", "LRFindResult", "RangeTestSpec", "LR_FIND_STYLE", "LearningRateRange", "Suggestion", "suggest",
           "RULE"]

_OUTPUTS = ("movie.gif", "movie.mp4", "suggestion.png", "summary.json", "summary.png")
# The suggestion's frame shows this long at the end of the movie.
_HOLD_MS = 3000
_SPEC_FIELDS = tuple(f.name for f in fields(RangeTestSpec) if f.init)
# The drawing options lr_find took one by one before FrameStyle: keyword -> style field.
_LEGACY_STYLE = {"layers": "layers", "channel": "channels", "cell_px": "cell_px", "cmap": "cmap"}


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


def _prepare_out_dir(out_dir, overwrite: bool) -> Path:
    out_dir = check_writable_dir(out_dir, "out_dir (--out)")
    found = [name for name in (*_OUTPUTS, MANIFEST_NAME) if (out_dir / name).exists()]
    if found and not overwrite:
        raise FileExistsError(f"out_dir {str(out_dir)!r} already holds a range test ({', '.join(found)}). It is "
                              "kept: pass overwrite=True (--overwrite) to replace it, or choose another out_dir "
                              "(--out).")
    return out_dir


# long: the steps of one test, in order, each a few lines
def lr_find(spec: RangeTestSpec | None = None, *, out_dir="output/lr_find", style: FrameStyle | None = None,
            formats: Sequence[str] = ("gif", "mp4"), fps: float = 15, overwrite: bool = False, progress: bool = True,
            sinks: Sequence = (), **legacy) -> LRFindResult:
    """A learning-rate range test on the default CNN: the learning rate rises
    exponentially from `min_lr` to `max_lr` over `batches` batches (one batch per epoch,
    set by `keras.callbacks.LearningRateScheduler`), every batch's loss is recorded and
    its activations drawn, training stops where it diverges (loss NaN or infinite, or the
    smoothed loss above `divergence_factor` times its lowest), and the suggested range is
    found by the rule of `rule.RULE`: from the steepest descent of the smoothed loss to
    the smaller of its minimum and `fraction` of the divergence point.

    >>> result = lr_find(RangeTestSpec(dataset="fashion_mnist"), out_dir="output/lr_find")
    >>> result.suggestion.low, result.suggestion.high, result.suggestion.diverged_lr

    Args:
        spec: what the test trains and how it reads the loss (see `RangeTestSpec`);
            default `RangeTestSpec()`.
        out_dir: the folder to write; made if missing.
        style: how the frames look (a `FrameStyle` of the default CNN's layer names);
            default `LR_FIND_STYLE`.
        formats: movie formats, from "gif" and "mp4".
        fps: the movies' frames per second.
        overwrite: replace a test already in `out_dir`.
        progress: show a progress bar on stderr.
        sinks: more outputs (`TensorBoardSink`, `MLflowSink`, `WandbSink`, ...), sent every
            batch's frame after the frames, manifest and movies.
        **legacy: the keywords of version 0.x, for one release, each with a
            DeprecationWarning: `RangeTestSpec`'s fields (min_lr=..., batches=...), and
            layers, channel, cell_px and cmap (`style`).

    Returns:
        An `LRFindResult`.

    Raises:
        TypeError: an argument is of the wrong kind, or unknown.
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a test and `overwrite` is False.
    """
    from ...callback_arguments import check_sinks
    from ..train import check_formats

    spec, style = _with_legacy(spec, style, legacy)
    formats = check_formats(formats)
    check_fps(fps)
    out_dir = _prepare_out_dir(out_dir, overwrite)
    data = _load(spec)
    test, found, frame_count, movies = _train(data, spec, style, out_dir, formats=formats, fps=fps,
                                              overwrite=overwrite, progress=progress, more=check_sinks(sinks))
    smoothed = smooth(test.losses, spec.smoothing)
    summary_png = _summary_png(out_dir / "summary.png", test.learning_rates, test.losses, smoothed, found,
                               smoothing=spec.smoothing)
    summary = {
        "dataset": spec.dataset, "optimizer": spec.optimizer, "batch_size": spec.batch_size, "seed": spec.seed,
        "min_lr": spec.min_lr, "max_lr": spec.max_lr, "batches_planned": spec.batches,
        "batches_run": len(test.losses), "lr_factor_per_batch": spec.lr_range.factor, "smoothing": spec.smoothing,
        "divergence_factor": spec.divergence_factor, "fraction": spec.fraction, "suggestion": asdict(found),
        "frames": frame_count, "movies": [movie.path.name for movie in movies],
        "batches": [{"step": i, "learning_rate": lr, "loss": loss, "smoothed_loss": s}
                    for i, (lr, loss, s) in enumerate(zip(test.learning_rates, test.losses, smoothed))],
    }
    summary_path = write_atomically(out_dir / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    for stale in set(MOVIE_FORMATS) - set(formats):  # replaced (overwrite): no earlier test's movie beside this one
        (out_dir / f"movie.{stale}").unlink(missing_ok=True)
    return LRFindResult(out_dir=out_dir, suggestion=found, learning_rates=tuple(test.learning_rates),
                        losses=tuple(test.losses), smoothed_losses=tuple(smoothed), frame_count=frame_count,
                        movies=tuple(movies), manifest_path=out_dir / MANIFEST_NAME,
                        suggestion_png=out_dir / "suggestion.png", summary_path=summary_path, summary_png=summary_png)


def _with_legacy(spec, style, legacy: dict) -> tuple[RangeTestSpec, FrameStyle]:
    """The spec and style, from the new arguments or, for one release, from the old
    keywords (each one warned about, naming its new spelling)."""
    unknown = sorted(set(legacy) - set(_SPEC_FIELDS) - set(_LEGACY_STYLE))
    if unknown:
        raise TypeError(f"lr_find() got unexpected keyword arguments {unknown}. Valid: spec, out_dir, style, "
                        "formats, fps, overwrite, progress.")
    given = {name: legacy[name] for name in _SPEC_FIELDS if name in legacy}
    drawing = {name: legacy[name] for name in _LEGACY_STYLE if name in legacy}
    if given:
        if spec is not None:
            raise TypeError(f"lr_find: give the test in spec, or as keywords ({', '.join(given)}), not both.")
        _deprecated(given, "lr_find(RangeTestSpec({}), ...)")
    spec = RangeTestSpec(**given) if spec is None else spec
    if not isinstance(spec, RangeTestSpec):
        raise TypeError(f"spec must be a RangeTestSpec, e.g. RangeTestSpec(min_lr=1e-4, max_lr=10). "
                        f"Received: spec={spec!r}.")
    from ..compare.spec import check_compare_style

    style = LR_FIND_STYLE if style is None else check_compare_style(style)
    if drawing:
        _deprecated(drawing, "lr_find(..., style=LR_FIND_STYLE.replace({}))")
        if "channel" in drawing:
            drawing["channel"] = (drawing["channel"],)
        style = check_compare_style(style.replace(**{_LEGACY_STYLE[k]: v for k, v in drawing.items()}))
    return spec, style


def _deprecated(keywords: dict, new: str) -> None:
    given = ", ".join(f"{name}=..." for name in keywords)
    warnings.warn(f"lr_find({given}) is deprecated and will be removed in the next release: write "
                  f"{new.format(given)}.", DeprecationWarning, stacklevel=4)


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    y: np.ndarray
    shown: np.ndarray
    shown_labels: np.ndarray
    class_names: tuple


def _load(spec: RangeTestSpec) -> _Data:
    """The examples the test reads, in order (a shuffled permutation per epoch, from the
    seed, as `compare` orders them), and the images the frames show."""
    from ..compare.schedule import training_order
    from ...demos.datasets import check_test_indices, load_dataset

    (x_train, y_train), (x_test, y_test), class_names = load_dataset(spec.dataset, data_dir=spec.data_dir)
    shown = list(spec.image_indices)
    check_test_indices(shown, test_count=len(x_test), dataset=spec.dataset)
    order = training_order(spec.seed, len(x_train), spec.batches * spec.batch_size)
    scale = np.float32(255)
    return _Data(x=(x_train[order][..., None] / scale).astype(np.float32), y=y_train[order],
                 shown=(x_test[shown][..., None] / scale).astype(np.float32),
                 shown_labels=y_test[shown], class_names=tuple(class_names))


def _train(data: _Data, spec: RangeTestSpec, style: FrameStyle, out_dir: Path, *, formats, fps, overwrite, progress,
           more=()):
    """The test itself: one batch per epoch, the learning rate set per epoch, a frame per
    batch sent through the pipeline, then the suggestion's frame, sent last."""
    import keras

    from ...demos.models import default_cnn
    from ...pipeline import FramePipeline
    from ...plotter import ConvPlotter
    from .callback import RangeTest
    from .frames import Conclusion, EveryBatch, batches_only, draw
    from ...record import ActivationRecorder
    from .strip import LossStrip

    lr_range = spec.lr_range
    model = default_cnn(seed=spec.seed, optimizer=spec.optimizer, learning_rate=lr_range.min_lr)
    test = RangeTest(lr_range, smoothing=spec.smoothing, divergence_factor=spec.divergence_factor, progress=progress)
    strip = LossStrip(lr_range, smoothing=spec.smoothing, divergence_factor=spec.divergence_factor)
    plotter = ConvPlotter(model, data.shown, labels=data.shown_labels, renderer_factory=strip, record="drawable",
                          style=style if style.class_names else style.replace(class_names=data.class_names))
    sinks, movie_sinks = _sinks(out_dir, spec, plotter.palette, formats=formats, fps=fps, overwrite=overwrite)
    store = ActivationRecorder(out_dir, plotter, labels=data.shown_labels,
                               digits=(max(2, len(str(spec.batches))), 4))
    store.start(overwrite=True)  # the folder's frames were just replaced too
    pipeline = FramePipeline(functools.partial(draw, plotter, store), [store, *sinks, *map(batches_only, more)])
    try:
        model.fit(data.x, data.y, batch_size=spec.batch_size, epochs=lr_range.batches, steps_per_epoch=1,
                  shuffle=False, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lr_range), test,
                                                       EveryBatch(plotter, pipeline, batch_size=spec.batch_size)])
        found = suggest(test.learning_rates, test.losses, smoothing=spec.smoothing,
                        divergence_factor=spec.divergence_factor, fraction=spec.fraction)
        pipeline.submit(Conclusion(found))
    finally:
        pipeline.close()
    frame_count = pipeline.frames_sent - 1  # the batches', not the conclusion
    return test, found, frame_count, [sink.movie for sink in movie_sinks if sink.movie is not None]


def _sinks(out_dir: Path, spec: RangeTestSpec, palette, *, formats, fps, overwrite) -> tuple[list, list]:
    """The test's sinks: its frames and manifest (the batches), its movies (the batches,
    then the conclusion, held), suggestion.png (the conclusion)."""
    from ...movie import writer_for
    from ...sinks import FramesFolder, PngSink
    from ...sinks import frame_sinks
    from .frames import batches_only, conclusion_only

    folder = FramesFolder(out_dir / FRAMES_DIR, manifest_path=out_dir / MANIFEST_NAME, overwrite=overwrite)
    folder.prepare()  # a replaced test's frames and manifest removed, a killed one's half frame too
    digits = (max(2, len(str(spec.batches))), 4)  # as the callback pads an epoch of one batch
    kept = frame_sinks(folder.frames_dir, folder.manifest_path, digits=digits, overwrite=overwrite)
    writers = [writer_for(out_dir / f"movie.{fmt}", fps=fps, overwrite=overwrite, last_frame_hold_ms=_HOLD_MS,
                          **({"palette": palette} if fmt == "gif" else {})) for fmt in formats]
    movies = frame_sinks(movie_writers=writers)
    return [*map(batches_only, kept), *movies, conclusion_only(PngSink(out_dir, overwrite=True))], movies


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
