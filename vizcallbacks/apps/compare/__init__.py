"""Compare hyper-parameters side by side: one model per configuration (batch size, learning
rate, optimizer, or a grid of them) and seed, the runs of a seed starting from the same
initial weights and reading the same stream of training examples, so that they differ by
their configuration alone; one movie whose every frame shows every configuration after the
same amount of data (or the same number of updates, or the same training time), with the
mean over the seeds and its spread.

Four steps, as elsewhere in the package: *plan* (pure functions: which configurations and
seeds, which examples in which order, when to capture: ``grid.py``, ``schedule.py``),
*run* (each run in a fresh process, locally or on a Dask cluster, writes its panels and
figures to ``DIR/runs/<name>/``: ``run.py``, ``backends.py``, ``executors.py``),
*compose* (the caller turns those files into movie frames, so the movie is the same
whatever ran the runs: ``compose.py``) and *summarise* (figures over seeds, the verdict,
``summary.json`` and ``summary.png``: ``stats.py``); `compare_runs` ties them together.

Output layout: ``DIR/runs/<name>/`` per run (``panels/``, its manifest, ``run.json``),
``DIR/frames/`` and a manifest beside it for the movie's frames, ``DIR/movie.gif``,
``DIR/movie.mp4``, ``DIR/summary.json``, ``DIR/summary.png``. A run is named after what
varies ("bs32", "lr0.05", "bs32-adam"), with "-seed<N>" when there are several seeds.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...checks import check_writable_dir
from ...framefiles import FRAMES_DIR, MANIFEST_NAME, RUNS_DIR, read_manifest, write_atomically
from ...sinks.tensorboard import check_tensorboard_dir
from ..train import MOVIE_FORMATS
from .backends import BACKENDS, configured_backend
from .compose import Composer, write_movie, write_summary_png
from .executors import EXECUTORS, DaskExecutor, Executor, LocalExecutor, make_executor
from .configs import (HYPERPARAMETERS, OPTIMIZERS, SCALE_LR, Config, check_batch_sizes, check_seeds, parse_vary,
                   plan_configs)
from .run import RunOptions, RunSpec
from .schedule import (ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, Schedule,
                       check_options, frame_plan, heldout_indices, plan_schedule, training_order)
from .stats import Runs, Verdict, make_verdict, point_stats
from .views import write_views

__all__ = ["compare_runs", "compare_batch_sizes", "CompareResult", "RunResult", "Verdict", "Schedule", "Config",
           "plan_configs", "plan_schedule", "training_order", "heldout_indices", "frame_plan", "check_seeds",
           "parse_vary", "Executor", "LocalExecutor", "DaskExecutor", "EXECUTORS", "HYPERPARAMETERS",
           "SCALE_LR", "ALIGNS", "OPTIMIZERS", "BACKENDS", "DEFAULT_IMAGE_INDICES", "DEFAULT_LAYERS",
           "MOVIE_FORMATS"]


@dataclass(frozen=True)
class RunResult:
    """One run: its configuration and seed, folder, manifest and figures per capture point.

    Args:
        name: the run's name: its configuration's ("bs32"), with "-seed<N>" when there
            are several seeds.
        batch_size: the examples per update.
        run_dir: the run's folder, `out_dir/runs/<name>/`.
        manifest_path: its manifest: one line per capture point.
        steps: the updates it made.
        examples_seen: the training examples it read.
        train_seconds: seconds spent in updates, the first (graph tracing) not counted.
        records: its manifest's lines, as dicts.
        config: its configuration's name.
        seed: its seed (initial weights and example order).
        learning_rate: its learning rate.
        optimizer: its optimizer.
    """

    name: str
    batch_size: int
    run_dir: Path
    manifest_path: Path
    steps: int
    examples_seen: int
    train_seconds: float
    records: tuple = field(repr=False)
    config: str = ""
    seed: int = 0
    learning_rate: float = 0.0
    optimizer: str = ""


@dataclass(frozen=True)
class CompareResult:
    """Where the comparison's files are, and what it found.

    Args:
        out_dir: the comparison's folder.
        runs: a `RunResult` per run, by configuration (in order) then seed.
        frame_count: the movie's frames.
        movies: the movies written (`vizcallbacks.movie.Movie`).
        summary_path: `summary.json`: figures per run and point, over seeds, and the verdict.
        summary_png: `summary.png`: the final curves.
        verdict: whether the first configuration (the smallest batch) was ahead of the last.
        schedule: when the runs captured, and how much data they read.
        configs: the configurations, in order.
        seeds: the seeds every configuration ran with.
        points: figures per movie point over the seeds (see `stats.point_stats`).
        page_path: `index.html`, the page that plays every run together; None when a
            file of another kind was there.
        tensorboard_dir: where the TensorBoard logs went (a subfolder per run); None
            when not asked for.
    """

    out_dir: Path
    runs: tuple  # of RunResult
    frame_count: int
    movies: tuple  # of vizcallbacks.movie.Movie
    summary_path: Path
    summary_png: Path
    verdict: Verdict
    schedule: Schedule
    configs: tuple = ()  # of Config
    seeds: tuple = ()
    points: tuple = field(default=(), repr=False)
    page_path: Path | None = None
    tensorboard_dir: Path | None = None


@dataclass(frozen=True)
class _Plan:
    """What a comparison trains and shares: the configurations and seeds, and every run."""

    configs: tuple[Config, ...]
    seeds: tuple[int, ...]
    options: RunOptions
    specs: tuple[RunSpec, ...]
    scale_lr: str | None
    reference_batch: int | None

    def runs(self, records: Mapping[str, list]) -> Runs:
        names = {(spec.config.name, spec.seed): spec.name for spec in self.specs}
        return Runs(configs=tuple(c.name for c in self.configs), labels={c.name: c.label for c in self.configs},
                    seeds=self.seeds, names=names, records=records, align=self.options.schedule.align,
                    batch_sizes_only=self.configs[0].varied == ("batch_size",))


def compare_runs(*, vary: Mapping[str, Sequence], seeds: int | Sequence[int] | None = None, seed: int = 0,
                 batch_size: int = 32, learning_rate: float = 0.05, optimizer: str = "sgd",
                 scale_lr: str | None = None, reference_batch: int | None = None, examples: int = 30000,
                 out_dir="output/compare", dataset: str = "fashion_mnist", data_dir=None, align: str = "examples",
                 every_examples: int | None = None, every_steps: int | None = None, heldout_size: int = 1000,
                 image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES, layers: Sequence[str] = DEFAULT_LAYERS,
                 channel: int = 1, cell_px: int = 48, cmap: str = "inferno", formats: Sequence[str] = MOVIE_FORMATS,
                 fps: float = 6, executor: str | Executor = "local", scheduler=None, jobs: int | None = None,
                 threads_per_run: int = 1, overwrite: bool = False, progress: bool = True,
                 tensorboard_dir=None) -> CompareResult:
    """Train the default CNN once per configuration and seed and compare the
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

    Runs go through `executor`: local 'spawn' processes, `jobs` at once, or a Dask
    cluster. Each starts fresh with its backend set up first (`threads_per_run` threads,
    deterministic ops), so results do not depend on `jobs` or on where they ran, where
    the backend allows it: see `vizcallbacks.apps.compare.backends` (JAX with more than one
    thread per run follows the machine's CPU count; `align="time"` follows measured time).
    Locally, call it under ``if __name__ == "__main__":`` in a script, as 'spawn'
    re-imports the main module. Every file is written whole or not at all, so a
    comparison killed at any moment leaves only whole files.

    >>> result = compare_runs(vary={"learning_rate": [0.01, 0.05, 0.2]}, seeds=3, out_dir="output/lr")
    >>> print(result.verdict.text)

    Args:
        vary: hyper-parameter -> values: "batch_size", "learning_rate", "optimizer"
            (see `HYPERPARAMETERS`); several make a grid. At least two configurations.
        seeds: None (one run per configuration, from `seed`), a count N (seeds `seed`,
            `seed` + 1, ...) or a list of seeds.
        seed: the first seed; the held-out sample is drawn from it for every run.
        batch_size: the batch size where it does not vary.
        learning_rate: the learning rate where it does not vary (with `scale_lr`: at the
            reference batch).
        optimizer: a Keras optimizer name (see `OPTIMIZERS`) where it does not vary.
        scale_lr: None, or "linear": the learning rate times batch / `reference_batch`.
        reference_batch: the batch size `learning_rate` is for, with `scale_lr`; default
            the smallest batch size compared.
        examples: training examples every run reads, rounded down to a multiple of every
            batch size (their least common multiple), so that every run reads the same;
            when that multiple is more than `examples`, kept as it is, and each run reads
            up to the end of the batch that reaches it (see `plan_schedule`).
        out_dir: the folder to write; made if missing.
        dataset: "fashion_mnist" or "mnist".
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
            It is read here (the checks before any run starts) and by every
            run, on a Dask worker too, where that worker looks.
        align: what each frame holds equal: "examples" (points every `every_examples`, by
            default a multiple of every batch size so each run is captured exactly there),
            "steps" (every `every_steps` updates; a run that has ended holds its last state)
            or "time" (seconds spent in updates, the first update, mostly graph tracing, not
            counted; runs that share CPUs run slower, so use `jobs=1` for it).
        every_examples: examples between points (align "examples" or "time"); default about
            40 points.
        every_steps: updates between points (align "steps"); default about 40 points.
        heldout_size: test images every point is evaluated on.
        image_indices: test-set indices of the images each panel shows.
        layers: names of the default CNN's layers each panel shows.
        channel: the feature-map channel shown.
        cell_px: the panels' grid cell size in pixels.
        cmap: a matplotlib colormap name.
        formats: movie formats, from "gif" and "mp4".
        fps: the movie's frames per second.
        executor: "local", "dask" (with `scheduler`), or an `Executor`.
        scheduler: the Dask scheduler's address ("tcp://host:8786") or a connected
            `distributed.Client`, with executor "dask".
        jobs: runs at once; local default: as many as there are CPUs; Dask: all.
        threads_per_run: the backend's threads per run; results depend on it, not on `jobs`.
        overwrite: replace a comparison already in `out_dir` (its runs, frames, summary and
            movies), once the new one has succeeded: a comparison that fails puts it back.
        progress: show progress bars on stderr.
        tensorboard_dir: a folder for TensorBoard's logs, written at the end: each run's
            panels and figures in `tensorboard_dir/<run name>/`; None for none.

    Returns:
        A `CompareResult`: where the files are, each run's figures, and the verdict.

    Raises:
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a comparison and `overwrite` is False.
        RuntimeError: the runs of a seed did not share their initial weights or data
            order, seeds did not differ, or runs did not share the held-out sample.
    """
    configs = plan_configs(vary, batch_size=batch_size, learning_rate=learning_rate, optimizer=optimizer,
                           scale_lr=scale_lr, reference_batch=reference_batch)
    seeds = check_seeds(seeds, seed=seed)
    schedule = plan_schedule(sorted({c.batch_size for c in configs}), examples, align=align,
                             every_examples=every_examples, every_steps=every_steps)
    formats = check_options(heldout_size=heldout_size, image_indices=image_indices, layers=layers,
                            channel=channel, cell_px=cell_px, cmap=cmap, formats=formats, fps=fps,
                            threads_per_run=threads_per_run, dataset=dataset)
    executor = make_executor(executor, jobs=jobs, scheduler=scheduler)
    _check_against_data(dataset, data_dir, heldout_size=heldout_size, image_indices=image_indices)
    tensorboard_dir = check_tensorboard_dir(tensorboard_dir, "tensorboard_dir (--tensorboard)")
    out_dir, earlier = _set_earlier_aside(Path(out_dir), overwrite)
    try:
        result = _compare(out_dir, configs, seeds, schedule, formats, executor, dataset=dataset, data_dir=data_dir,
                          heldout_size=heldout_size, image_indices=image_indices, layers=layers, channel=channel,
                          cell_px=cell_px, cmap=cmap, threads_per_run=threads_per_run, progress=progress,
                          scale_lr=scale_lr, reference_batch=reference_batch, fps=fps, examples=examples,
                          tensorboard_dir=tensorboard_dir)
    except BaseException:
        _put_earlier_back(out_dir, earlier)
        raise
    if earlier is not None:
        shutil.rmtree(earlier, ignore_errors=True)
    return result


def _compare(out_dir: Path, configs, seeds, schedule, formats, executor, *, dataset, data_dir, heldout_size,
             image_indices, layers, channel, cell_px, cmap, threads_per_run, progress, scale_lr, reference_batch,
             fps, examples, tensorboard_dir) -> CompareResult:
    """`compare_runs` once its arguments are checked and `out_dir` is clear: train, compose, summarise."""
    options = RunOptions(schedule=schedule, dataset=dataset, data_dir=None if data_dir is None else str(data_dir),
                         heldout_seed=seeds[0], heldout_size=int(heldout_size),
                         image_indices=tuple(int(i) for i in image_indices), layers=tuple(layers),
                         channel=int(channel), cell_px=int(cell_px), cmap=cmap, threads_per_run=int(threads_per_run),
                         progress=progress, backend=configured_backend())
    plan = _plan(out_dir, configs, seeds, options, scale_lr=scale_lr, reference_batch=reference_batch)

    summaries, train_wall_s = _run(plan, executor, progress=progress)
    runs = plan.runs({spec.name: _run_records(out_dir, spec.name) for spec in plan.specs})
    composer, frames = _composer_and_plan(out_dir, runs, plan, dataset=dataset)
    movies = write_movie(out_dir, composer, frames, formats=formats, fps=fps, overwrite=False, progress=progress)
    result = _summarise(out_dir, plan, summaries, runs, composer, frames, movies, executor=executor,
                        examples=examples, train_wall_s=train_wall_s)
    return write_views(result, tensorboard_dir=tensorboard_dir)


def compare_batch_sizes(*, batch_sizes: Sequence[int] = (32, 128, 512), examples: int = 30000,
                        out_dir="output/compare", dataset: str = "fashion_mnist", data_dir=None,
                        align: str = "examples", every_examples: int | None = None,
                        every_steps: int | None = None, optimizer: str = "sgd",
                        learning_rate: float = 0.05, seed: int = 0, seeds: int | Sequence[int] | None = None,
                        scale_lr: str | None = None, reference_batch: int | None = None, heldout_size: int = 1000,
                        image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES,
                        layers: Sequence[str] = DEFAULT_LAYERS, channel: int = 1, cell_px: int = 48,
                        cmap: str = "inferno", formats: Sequence[str] = MOVIE_FORMATS, fps: float = 6,
                        executor: str | Executor = "local", scheduler=None, jobs: int | None = None,
                        threads_per_run: int = 1, overwrite: bool = False, progress: bool = True,
                        tensorboard_dir=None) -> CompareResult:
    """`compare_runs` over batch sizes: the default CNN trained once per batch size (and
    seed), from the same initial weights, on the same stream of examples, with the same
    optimizer and learning rate (or the learning rate scaled with the batch, with
    `scale_lr="linear"`); the verdict says whether the smallest batch was ahead of the
    largest at equal examples seen (and in how many seeds). Runs are named "bs<N>".

    >>> result = compare_batch_sizes(batch_sizes=[32, 128, 512], examples=30000, seeds=3,
    ...                              out_dir="output/compare")
    >>> print(result.verdict.text)

    Args:
        batch_sizes: at least two different batch sizes.
        examples: training examples every run reads (see `compare_runs`).
        out_dir: the folder to write; made if missing.
        dataset: "fashion_mnist" or "mnist".
        data_dir: the folder of the dataset's files.
        align: "examples", "steps" or "time" (see `compare_runs`).
        every_examples: examples between points (align "examples" or "time").
        every_steps: updates between points (align "steps").
        optimizer: a Keras optimizer name (see `OPTIMIZERS`), the same for every run.
        learning_rate: the optimizer's learning rate, the same for every run (with
            `scale_lr`: at the reference batch).
        seed: the first seed: initial weights, example order, held-out sample.
        seeds: None, a count or a list of seeds (see `compare_runs`).
        scale_lr: None, or "linear": the learning rate times batch / `reference_batch`.
        reference_batch: the batch size `learning_rate` is for; default the smallest.
        heldout_size: test images every point is evaluated on.
        image_indices: test-set indices of the images each panel shows.
        layers: names of the default CNN's layers each panel shows.
        channel: the feature-map channel shown.
        cell_px: the panels' grid cell size in pixels.
        cmap: a matplotlib colormap name.
        formats: movie formats, from "gif" and "mp4".
        fps: the movie's frames per second.
        executor: "local", "dask" (with `scheduler`), or an `Executor`.
        scheduler: the Dask scheduler's address or client, with executor "dask".
        jobs: runs trained at once (see `compare_runs`).
        threads_per_run: the backend's threads per run; results depend on it, not on `jobs`.
        overwrite: replace a comparison already in `out_dir` (see `compare_runs`).
        progress: show progress bars on stderr.
        tensorboard_dir: a folder for TensorBoard's logs (see `compare_runs`); None for none.

    Returns:
        A `CompareResult` (see `compare_runs`).

    Raises:
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a comparison and `overwrite` is False.
        RuntimeError: the runs were not compared fairly (see `compare_runs`).
    """
    sizes = check_batch_sizes(batch_sizes)
    return compare_runs(
        vary={"batch_size": list(sizes)}, seeds=seeds, seed=seed, learning_rate=learning_rate, optimizer=optimizer,
        scale_lr=scale_lr, reference_batch=reference_batch, examples=examples, out_dir=out_dir, dataset=dataset,
        data_dir=data_dir, align=align, every_examples=every_examples, every_steps=every_steps,
        heldout_size=heldout_size, image_indices=image_indices, layers=layers, channel=channel, cell_px=cell_px,
        cmap=cmap, formats=formats, fps=fps, executor=executor, scheduler=scheduler, jobs=jobs,
        threads_per_run=threads_per_run, overwrite=overwrite, progress=progress, tensorboard_dir=tensorboard_dir)


def _check_against_data(dataset: str, data_dir, *, heldout_size: int, image_indices: Sequence[int]) -> None:
    """The data loaded here too, so that a missing dataset or a bad index fails before any
    process starts."""
    from ...demos.datasets import check_test_indices, load_dataset

    _, (x_test, _), _ = load_dataset(dataset, data_dir=data_dir)
    if heldout_size > len(x_test):
        raise ValueError(f"heldout_size must be at most the {len(x_test)} test images. "
                         f"Received: heldout_size={heldout_size}.")
    check_test_indices(image_indices, test_count=len(x_test), dataset=dataset)


def _earlier_outputs(out_dir: Path) -> list[Path]:
    """What an earlier comparison wrote in `out_dir` (a user's other files are not ours)."""
    names = [RUNS_DIR, FRAMES_DIR, MANIFEST_NAME, "summary.json", "summary.png",
             *(f"movie.{fmt}" for fmt in MOVIE_FORMATS)]
    return [out_dir / name for name in names if (out_dir / name).exists()]


def _set_earlier_aside(out_dir: Path, overwrite: bool) -> tuple[Path, Path | None]:
    """`out_dir`, made and writable, and cleared of an earlier comparison: refused without
    `overwrite`; with it, moved into a hidden folder there (returned), so that a comparison
    that fails can put it back (`_put_earlier_back`) and only one that succeeds replaces it."""
    check_writable_dir(out_dir, "out_dir")
    existing = _earlier_outputs(out_dir)
    if not existing:
        return out_dir, None
    if not overwrite:
        raise FileExistsError(
            f"out_dir {str(out_dir)!r} already holds a comparison ({existing[0].name}). It is kept: pass "
            "overwrite=True (--overwrite) to replace it, or choose another folder.")
    earlier = out_dir / f".earlier-comparison-{os.getpid()}-{time.time_ns()}"
    earlier.mkdir()
    for path in existing:
        path.rename(earlier / path.name)
    return out_dir, earlier


def _put_earlier_back(out_dir: Path, earlier: Path | None) -> None:
    """After a failed comparison: what it wrote removed, the earlier one where it was."""
    if earlier is None:
        return
    for path in _earlier_outputs(out_dir):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in earlier.iterdir():
        path.rename(out_dir / path.name)
    earlier.rmdir()


def _plan(out_dir: Path, configs: Sequence[Config], seeds: Sequence[int], options: RunOptions, *,
          scale_lr: str | None, reference_batch: int | None) -> _Plan:
    """Every run: each configuration with each seed, named and placed."""
    specs = []
    for config in configs:
        for seed in seeds:
            name = config.name if len(seeds) == 1 else f"{config.name}-seed{seed}"
            specs.append(RunSpec(name=name, config=config, seed=seed, position=len(specs),
                                 run_dir=str(out_dir / RUNS_DIR / name), options=options))
    sizes = [c.batch_size for c in configs]
    return _Plan(configs=tuple(configs), seeds=tuple(seeds), options=options, specs=tuple(specs), scale_lr=scale_lr,
                 reference_batch=(reference_batch or min(sizes)) if scale_lr else None)


def _run(plan: _Plan, executor: Executor, *, progress: bool) -> tuple[list[dict], float]:
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


def _header(plan: _Plan, dataset: str) -> tuple[str, str]:
    """The frames' title line and line of details."""
    configs, schedule = plan.configs, plan.options.schedule
    varied = configs[0].varied
    values = {name: ", ".join(_unique(HYPERPARAMETERS[name].text(c.value(name)) for c in configs)) for name in varied}
    title = " × ".join(f"{HYPERPARAMETERS[name].plural} {values[name]}" for name in varied) + f" on {dataset}"
    training = []  # the optimizer and learning rate, where they do not vary: "sgd lr 0.05"
    if "optimizer" not in varied:
        training.append(configs[0].optimizer)
    if plan.scale_lr and "learning_rate" in varied:
        training.append(f"lr scaled {plan.scale_lr}ly with the batch (from batch {plan.reference_batch})")
    elif plan.scale_lr:
        training.append(f"lr scaled {plan.scale_lr}ly with the batch (lr {_base_lr(plan):g} at batch "
                        f"{plan.reference_batch})")
    elif "learning_rate" not in varied:
        training.append(f"lr {configs[0].learning_rate:g}")
    fixed = ([f"batch {configs[0].batch_size}"] if "batch_size" not in varied else []) + [" ".join(training)]
    seeds = (f"seed {plan.seeds[0]}" if len(plan.seeds) == 1 else
             f"seeds {', '.join(str(s) for s in plan.seeds)} (panels: seed {plan.seeds[0]})")
    exactness = ("" if schedule.align == "time" else " (exact)" if schedule.exact
                 else " (first step at or past each point)")
    per_seed = "" if len(plan.seeds) == 1 else " per seed"
    details = (f"same initial weights and example order{per_seed} · {' · '.join(filter(None, fixed))} · {seeds} · "
               f"held-out: {plan.options.heldout_size} test images · aligned by {schedule.align}{exactness}")
    return title, details


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def _base_lr(plan: _Plan) -> float:
    config = plan.configs[0]
    return config.learning_rate * plan.reference_batch / config.batch_size


def _composer_and_plan(out_dir: Path, runs: Runs, plan: _Plan, *, dataset: str) -> tuple[Composer, list]:
    """The composer of the movie's frames, and which record of each run each frame shows."""
    schedule = plan.options.schedule
    if schedule.align == "time":
        frames = frame_plan(runs.records, align="time", frame_count=len(schedule.points))
        x_max = frames[-1][0]
    else:
        frames = frame_plan(runs.records, align=schedule.align, points=schedule.points)
        x_max = (max(r["examples_seen"] for run in runs.records.values() for r in run)
                 if schedule.align == "examples" else schedule.points[-1])
    composer = Composer(out_dir, runs, header=_header(plan, dataset), cmap=plan.options.cmap,
                        heldout_size=plan.options.heldout_size, x_max=x_max)
    return composer, frames


def _summarise(out_dir: Path, plan: _Plan, summaries: list[dict], runs: Runs, composer: Composer, frames: list,
               movies: list, *, executor: Executor, examples: int, train_wall_s: float) -> CompareResult:
    """The figures over seeds, the verdict, summary.png and summary.json, and the result
    that says where all is."""
    options, schedule = plan.options, plan.options.schedule
    verdict = make_verdict(runs, frames)
    points = point_stats(runs, frames)
    summary_png = out_dir / "summary.png"
    write_summary_png(summary_png, runs, points, composer.colours,
                      f"{composer.header[0][:1].upper()}{composer.header[0][1:]}: {composer.header[1]}\n{verdict.text}")
    first = plan.configs[0]
    summary = {
        "dataset": options.dataset, "align": schedule.align,
        "batch_sizes": sorted({c.batch_size for c in plan.configs}), "examples_requested": examples,
        "schedule": asdict(schedule), "vary": {name: _unique(c.value(name) for c in plan.configs)
                                               for name in first.varied},
        "configurations": [c.describe() for c in plan.configs], "seeds": list(plan.seeds),
        "optimizer": first.optimizer, "learning_rate": first.learning_rate, "scale_lr": plan.scale_lr,
        "reference_batch": plan.reference_batch, "seed": plan.seeds[0], "heldout_size": options.heldout_size,
        "backend": options.backend, "determinism": BACKENDS[options.backend].determinism,
        "threads_per_run": options.threads_per_run, **executor.describe(), "train_wall_seconds": round(train_wall_s, 2),
        "frames": len(frames), "layout": composer.layout(),
        "movies": [str(m.path.relative_to(out_dir)) for m in movies],
        "verdict": asdict(verdict), "points": points,
        "runs": {s["name"]: {**s, "manifest": f"{RUNS_DIR}/{s['name']}/{MANIFEST_NAME}",
                             "records": runs.records[s["name"]]} for s in summaries},
    }
    summary_path = write_atomically(out_dir / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    results = tuple(RunResult(name=s["name"], batch_size=s["batch_size"], run_dir=out_dir / RUNS_DIR / s["name"],
                              manifest_path=out_dir / RUNS_DIR / s["name"] / MANIFEST_NAME, steps=s["steps"],
                              examples_seen=s["examples_seen"], train_seconds=s["train_seconds"],
                              records=tuple(runs.records[s["name"]]), config=s["config"], seed=s["seed"],
                              learning_rate=s["learning_rate"], optimizer=s["optimizer"])
                    for s in summaries)
    return CompareResult(out_dir=out_dir, runs=results, frame_count=len(frames), movies=tuple(movies),
                         summary_path=summary_path, summary_png=summary_png, verdict=verdict, schedule=schedule,
                         configs=plan.configs, seeds=plan.seeds, points=tuple(points))
