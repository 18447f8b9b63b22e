"""Compare hyper-parameters side by side: one model per configuration (batch size, learning
rate, optimizer, or a grid of them) and seed, the runs of a seed starting from the same
initial weights and reading the same stream of training examples, so that they differ by
their configuration alone; one movie whose every frame shows every configuration after the
same amount of data (or the same number of updates, or the same training time), with the
mean over the seeds and its spread.

What a comparison varies and holds fixed is one value, `Comparison` (``spec.py``); how its
panels look is a `FrameStyle` (`COMPARE_STYLE` by default):

>>> result = compare_runs(Comparison(vary={"learning_rate": [0.01, 0.05, 0.2]}, seeds=3), out_dir="output/lr")

Four steps, as elsewhere in the package: *plan* (pure functions: which configurations and
seeds, which examples in which order, when to capture: ``configs.py``, ``schedule.py``),
*run* (each run in a fresh process, locally or on a Dask cluster, sends its panels and
figures through a frame pipeline to ``DIR/runs/<name>/``: ``run.py``, ``backends.py``,
``executors.py``), *compose* (the caller turns those files into movie frames, sent through
a frame pipeline to the PNGs, manifest and movies, so the movie is the same whatever ran
the runs: ``compose.py``) and *summarise* (figures over seeds, the verdict, ``summary.json``
and ``summary.png``: ``stats.py``, ``results.py``); ``outdir.py`` keeps an earlier
comparison safe while a new one replaces it; `compare_runs` ties them together.

Output layout: ``DIR/runs/<name>/`` per run (``panels/``, its manifest, ``run.json``),
``DIR/frames/`` and a manifest beside it for the movie's frames, ``DIR/movie.gif``,
``DIR/movie.mp4``, ``DIR/summary.json``, ``DIR/summary.png``. A run is named after what
varies ("bs32", "lr0.05", "bs32-adam"), with "-seed<N>" when there are several seeds.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from ...checks import check_fps
from ...framefiles import MANIFEST_NAME, RUNS_DIR, read_manifest
from ...render.style import FrameStyle
from ...sinks.tensorboard import check_tensorboard_dir
from ..trackers import comparison_trackers
from ..train import MOVIE_FORMATS, check_formats
from .backends import BACKENDS, configured_backend
from .compose import write_movie
from .configs import HYPERPARAMETERS, OPTIMIZERS, SCALE_LR, Config, check_batch_sizes, check_seeds, parse_vary, \
    plan_configs
from .executors import EXECUTORS, DaskExecutor, Executor, LocalExecutor, make_executor
from .outdir import put_earlier_back, set_earlier_aside
from .results import CompareResult, Plan, RunResult, composer_and_plan, make_plan, summarise
from .run import RunOptions
from .schedule import (ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, Schedule, frame_plan, heldout_indices,
                       plan_schedule, training_order)
from .spec import COMPARE_STYLE, Comparison, check_compare_style
from .stats import Verdict
from .views import write_views

__all__ = ["compare_runs", "compare_batch_sizes", "Comparison", "COMPARE_STYLE", "CompareResult", "RunResult",
           "Verdict", "Schedule", "Config", "plan_configs", "plan_schedule", "training_order", "heldout_indices",
           "frame_plan", "check_seeds", "parse_vary", "Executor", "LocalExecutor", "DaskExecutor", "EXECUTORS",
           "HYPERPARAMETERS", "SCALE_LR", "ALIGNS", "OPTIMIZERS", "BACKENDS", "DEFAULT_IMAGE_INDICES",
           "DEFAULT_LAYERS", "MOVIE_FORMATS"]

_COMPARISON_FIELDS = tuple(f.name for f in dataclasses.fields(Comparison) if f.init)
# The drawing options compare_runs took one by one before FrameStyle: keyword -> style field.
_LEGACY_STYLE = {"layers": "layers", "channel": "channels", "cell_px": "cell_px", "cmap": "cmap"}


def compare_runs(comparison: Comparison | None = None, *, out_dir="output/compare", style: FrameStyle | None = None,
                 formats: Sequence[str] = MOVIE_FORMATS, fps: float = 6, executor: str | Executor = "local",
                 jobs: int | None = None, overwrite: bool = False, progress: bool = True, tensorboard_dir=None,
                 trackers=None, **legacy) -> CompareResult:
    """Train the default CNN once per configuration and seed of `comparison` and compare the
    configurations side by side. Runs of one seed start from the same initial weights and
    read the same stream of examples (one shuffled permutation per epoch, from the seed);
    every seed draws other weights and another order, the same for every configuration,
    so that runs stay paired. Writes under `out_dir`:

    - ``runs/<name>/``: each run's panels (PNG), its manifest (figures per capture
      point: updates, examples seen, epoch, training time, held-out accuracy and loss on
      `heldout_size` fixed test images, the same for every run, running training accuracy
      and loss) and ``run.json``;
    - ``frames/`` and the manifest beside it: the movie's frames (the first seed's panels; the
      strip: mean over the seeds with its min-max band) and which record of each run each
      frame shows; ``movie.gif`` / ``movie.mp4``;
    - ``summary.png`` (final curves over the seeds) and ``summary.json`` (figures per run
      and point; per point each configuration's mean, min, max and standard deviation, and
      in how many seeds the order between configurations held; the verdict).
    - ``index.html``: a page that plays every run's panels together, with their curves.

    Every frame (each run's panels, the movie's frames) goes through a `FramePipeline` to
    the same sinks as the callback's: PNGs and manifest lines written atomically, movies
    streamed, TensorBoard. Runs go through `executor`: local 'spawn' processes, `jobs` at
    once, or a Dask cluster (`DaskExecutor(scheduler)`). Each starts fresh with its
    backend set up first (`threads_per_run` threads, deterministic ops), so results do not
    depend on `jobs` or on where they ran, where the backend allows it: see
    `vizcallbacks.apps.compare.backends`. Locally, call it under
    ``if __name__ == "__main__":`` in a script, as 'spawn' re-imports the main module.

    >>> result = compare_runs(Comparison(vary={"learning_rate": [0.01, 0.05, 0.2]}, seeds=3), out_dir="output/lr")
    >>> print(result.verdict.text)

    Args:
        comparison: what varies and what is fixed (see `Comparison`).
        out_dir: the folder to write; made if missing.
        style: how the panels look (a `FrameStyle` of the default CNN's layer names);
            default `COMPARE_STYLE`.
        formats: movie formats, from "gif" and "mp4".
        fps: the movie's frames per second.
        executor: "local", an `Executor` (`LocalExecutor(jobs)`, `DaskExecutor(scheduler)`).
        jobs: runs at once with executor "local"; default as many as there are CPUs.
        overwrite: replace a comparison already in `out_dir` (its runs, frames, summary and
            movies), once the new one has succeeded: a comparison that fails puts it back,
            and one killed meanwhile is put back by the next comparison into `out_dir`.
        progress: show progress bars on stderr.
        tensorboard_dir: a folder for TensorBoard's logs, written as each run trains: its
            panels and figures in `tensorboard_dir/<run name>/`; None for none.
        trackers: experiment trackers (`vizcallbacks.apps.trackers.Trackers`): each run is
            logged as it trains, under its name, nested under one parent run in MLflow
            (which keeps the movies, page and summary), in one group in W&B; None for none.
        **legacy: the keywords of version 0.x, for one release, each with a
            DeprecationWarning: `Comparison`'s fields (vary=..., seeds=..., ...), layers,
            channel, cell_px and cmap (`style`), and scheduler (`executor="dask"`).

    Returns:
        A `CompareResult`: where the files are, each run's figures, and the verdict.

    Raises:
        TypeError: an argument is of the wrong kind, or unknown.
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a comparison and `overwrite` is False.
        RuntimeError: the runs of a seed did not share their initial weights or data
            order, seeds did not differ, or runs did not share the held-out sample.
    """
    comparison, style, scheduler = _with_legacy(comparison, style, legacy)
    formats = check_formats(formats)
    check_fps(fps)
    executor = make_executor(executor, jobs=jobs, scheduler=scheduler)
    _check_against_data(comparison)
    tensorboard_dir = check_tensorboard_dir(tensorboard_dir, "tensorboard_dir (--tensorboard)")
    out_dir, earlier = set_earlier_aside(Path(out_dir), overwrite)
    try:
        with comparison_trackers(trackers, out_dir) as for_runs:
            result = _compare(out_dir, comparison, style, executor, formats=formats, fps=fps, progress=progress,
                              tensorboard_dir=tensorboard_dir, trackers=for_runs)
    except BaseException:
        put_earlier_back(out_dir, earlier)
        raise
    if earlier is not None:
        shutil.rmtree(earlier, ignore_errors=True)
    return result


def compare_batch_sizes(batch_sizes: Sequence[int] = (32, 128, 512), **options) -> CompareResult:
    """`compare_runs` over batch sizes: `Comparison(vary={"batch_size": batch_sizes}, ...)`.
    The verdict says whether the smallest batch was ahead of the largest at equal examples
    seen (and in how many seeds). Runs are named "bs<N>".

    >>> result = compare_batch_sizes([32, 128, 512], examples=30000, seeds=3, out_dir="output/compare")

    Args:
        batch_sizes: at least two different batch sizes.
        **options: the fields of `Comparison` but `vary` (examples=..., seeds=...), and
            `compare_runs`'s arguments (out_dir=..., style=..., jobs=...).

    Returns:
        A `CompareResult` (see `compare_runs`).

    Raises:
        TypeError, ValueError, FileExistsError, RuntimeError: as `compare_runs` raises them.
    """
    sizes = check_batch_sizes(batch_sizes)
    fields = {name: options.pop(name) for name in _COMPARISON_FIELDS if name in options}
    if "vary" in fields:
        raise TypeError("compare_batch_sizes varies the batch size; for other hyper-parameters use "
                        "compare_runs(Comparison(vary=...)).")
    return compare_runs(Comparison(vary={"batch_size": list(sizes)}, **fields), **options)


def _with_legacy(comparison, style, legacy: dict) -> tuple[Comparison, FrameStyle, object]:
    """The comparison, style and Dask scheduler, from the new arguments or, for one release,
    from the old keywords (each one warned about, naming its new spelling)."""
    unknown = sorted(set(legacy) - set(_COMPARISON_FIELDS) - set(_LEGACY_STYLE) - {"scheduler"})
    if unknown:
        raise TypeError(f"compare_runs() got unexpected keyword arguments {unknown}. Valid: comparison, out_dir, "
                        "style, formats, fps, executor, jobs, overwrite, progress, tensorboard_dir.")
    fields = {name: legacy[name] for name in _COMPARISON_FIELDS if name in legacy}
    drawing = {name: legacy[name] for name in _LEGACY_STYLE if name in legacy}
    if fields:
        if comparison is not None:
            raise TypeError(f"compare_runs: give what varies and what is fixed in comparison, or as keywords "
                            f"({', '.join(fields)}), not both.")
        _deprecated(fields, "compare_runs(Comparison({}), ...)")
        comparison = Comparison(**fields)
    if not isinstance(comparison, Comparison):
        raise TypeError("comparison must be a Comparison, e.g. Comparison(vary={'learning_rate': [0.01, 0.1]}). "
                        f"Received: comparison={comparison!r}.")
    style = check_compare_style(style)
    if drawing:
        _deprecated(drawing, "compare_runs(..., style=COMPARE_STYLE.replace({}))")
        if "channel" in drawing:
            drawing["channel"] = (drawing["channel"],)
        style = style.replace(**{_LEGACY_STYLE[name]: value for name, value in drawing.items()})
        style = check_compare_style(style)
    scheduler = legacy.get("scheduler")
    if "scheduler" in legacy:
        _deprecated({"scheduler": scheduler}, "compare_runs(..., executor=DaskExecutor({}))")
    return comparison, style, scheduler


def _deprecated(keywords: dict, new: str) -> None:
    given = ", ".join(f"{name}=..." for name in keywords)
    warnings.warn(f"compare_runs({given}) is deprecated and will be removed in the next release: write "
                  f"{new.format(given)}.", DeprecationWarning, stacklevel=4)


def _check_against_data(comparison: Comparison) -> None:
    """The data loaded here too, so that a missing dataset or a bad index fails before any
    process starts."""
    from ...demos.datasets import check_test_indices, load_dataset

    _, (x_test, _), _ = load_dataset(comparison.dataset, data_dir=comparison.data_dir)
    if comparison.heldout_size > len(x_test):
        raise ValueError(f"heldout_size must be at most the {len(x_test)} test images. "
                         f"Received: heldout_size={comparison.heldout_size}.")
    check_test_indices(list(comparison.image_indices), test_count=len(x_test), dataset=comparison.dataset)


def _compare(out_dir: Path, comparison: Comparison, style: FrameStyle, executor: Executor, *, formats, fps, progress,
             tensorboard_dir, trackers=None) -> CompareResult:
    """`compare_runs` once its arguments are checked and `out_dir` is clear: train, compose, summarise."""
    seeds = comparison.seed_list
    options = RunOptions(schedule=comparison.schedule, dataset=comparison.dataset, data_dir=comparison.data_dir,
                         heldout_seed=seeds[0], heldout_size=int(comparison.heldout_size),
                         image_indices=comparison.image_indices, style=style,
                         threads_per_run=int(comparison.threads_per_run), progress=progress,
                         backend=configured_backend(),
                         tensorboard_dir=None if tensorboard_dir is None else str(tensorboard_dir),
                         trackers=trackers,
                         dynamics=comparison.dynamics)
    plan = make_plan(out_dir, comparison, options)
    summaries, train_wall_s = _run(plan, executor, progress=progress)
    runs = plan.runs({spec.name: _run_records(out_dir, spec.name) for spec in plan.specs})
    composer, frames = composer_and_plan(out_dir, runs, plan, dataset=comparison.dataset)
    movies = write_movie(out_dir, composer, frames, formats=formats, fps=fps, overwrite=False, progress=progress)
    result = summarise(out_dir, plan, summaries, runs, composer, frames, movies, executor=executor,
                       examples=comparison.examples, train_wall_s=train_wall_s)
    return write_views(result, tensorboard_dir=tensorboard_dir)


def _run(plan: Plan, executor: Executor, *, progress: bool) -> tuple[list[dict], float]:
    """Every run, through `executor`; what each returned, and the seconds they took in all.
    Raises RuntimeError when the runs were not paired as they should be."""
    started = time.perf_counter()
    summaries = executor.run(plan.specs, progress=progress)
    train_wall_s = time.perf_counter() - started
    _check_fair(summaries)
    return summaries, train_wall_s


def _check_fair(summaries: Sequence[dict]) -> None:
    """Runs of a seed share their initial weights and data order, seeds differ, and every
    run has the same held-out sample."""
    by_seed: dict[int, list[dict]] = {}
    for summary in summaries:
        by_seed.setdefault(summary["seed"], []).append(summary)
    for seed, group in by_seed.items():
        for check in ("initial_weights_sha1", "data_order_sha1"):
            if len({run[check] for run in group}) != 1:
                raise RuntimeError(
                    f"The runs of seed {seed} did not share their {check.removesuffix('_sha1').replace('_', ' ')}: "
                    f"{[run[check] for run in group]}. The comparison would not be fair.")
    weights = {group[0]["initial_weights_sha1"] for group in by_seed.values()}
    if len(weights) != len(by_seed):
        raise RuntimeError(f"Different seeds gave the same initial weights ({sorted(by_seed)}): the seeds "
                           "would not be repeats.")
    if len({run["heldout_sha1"] for run in summaries}) != 1:
        raise RuntimeError(f"The runs did not share their held-out sample: {[r['heldout_sha1'] for r in summaries]}. "
                           "The comparison would not be fair.")


def _run_records(out_dir: Path, name: str) -> list[dict]:
    return [record for _, record in read_manifest(out_dir / RUNS_DIR / name / MANIFEST_NAME)]
