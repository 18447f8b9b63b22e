"""Compare batch sizes side by side: one model per batch size, the same initial weights,
the same seed and the same stream of training examples, so that the runs differ by
batch size alone; one movie whose every frame shows every run after the same amount of
data (or the same number of updates, or the same training time).

Three parts, as elsewhere in the package: a *schedule* (pure functions: which examples,
in which order, and when to capture), a *run* (one process per batch size trains and
writes its panels and figures to ``DIR/runs/<name>/``), and a *composer* (the parent
turns those files into movie frames, so the movie is the same whatever ``jobs`` is):
``schedule.py``, ``run.py`` and ``compose.py``; this module ties them together.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..checks import available_cpus, check_writable_dir
from ..framefiles import FRAMES_DIR, MANIFEST_NAME, read_manifest, write_atomically
from ..sinks.tensorboard import check_tensorboard_dir
from .compose import Composer, Verdict, make_verdict, write_movie, write_summary_png
from .run import RunOptions, RunSpec, run_all
from .schedule import (ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, MOVIE_FORMATS, OPTIMIZERS, RUNS_DIR, Schedule,
                       check_batch_sizes, check_options, frame_plan, heldout_indices, plan_schedule, training_order)
from .views import write_views

__all__ = ["compare_batch_sizes", "CompareResult", "RunResult", "Verdict", "Schedule",
           "plan_schedule", "training_order", "heldout_indices", "frame_plan", "ALIGNS",
           "OPTIMIZERS", "DEFAULT_IMAGE_INDICES", "DEFAULT_LAYERS", "MOVIE_FORMATS"]


@dataclass(frozen=True)
class RunResult:
    """One run: its batch size, folder, manifest and figures per capture point.

    Args:
        name: the run's name, "bs<batch size>".
        batch_size: the examples per update.
        run_dir: the run's folder, `out_dir/runs/<name>/`.
        manifest_path: its manifest: one line per capture point.
        steps: the updates it made.
        examples_seen: the training examples it read.
        train_seconds: seconds spent in updates, the first (graph tracing) not counted.
        records: its manifest's lines, as dicts.
    """

    name: str
    batch_size: int
    run_dir: Path
    manifest_path: Path
    steps: int
    examples_seen: int
    train_seconds: float
    records: tuple = field(repr=False)


@dataclass(frozen=True)
class CompareResult:
    """Where the comparison's files are, and what it found.

    Args:
        out_dir: the comparison's folder.
        runs: a `RunResult` per batch size, smallest batch first.
        frame_count: the movie's frames.
        movies: the movies written (`vizcallbacks.movie.Movie`).
        summary_path: `summary.json`: figures per run and point, and the verdict.
        summary_png: `summary.png`: the final curves.
        verdict: whether the smallest batch was ahead (see `Verdict`).
        schedule: when the runs captured, and how much data they read.
        page_path: `index.html`, the page that plays every run together; None when a
            file of another kind was there.
        tensorboard_dir: where the TensorBoard logs went (a subfolder per run); None
            when not asked for.
    """

    out_dir: Path
    runs: tuple  # of RunResult, smallest batch first
    frame_count: int
    movies: tuple  # of vizcallbacks.movie.Movie
    summary_path: Path
    summary_png: Path
    verdict: Verdict
    schedule: Schedule
    page_path: Path | None = None
    tensorboard_dir: Path | None = None


def compare_batch_sizes(*, batch_sizes: Sequence[int] = (32, 128, 512), examples: int = 30000,
                        out_dir="output/compare", dataset: str = "fashion_mnist", data_dir=None,
                        align: str = "examples", every_examples: int | None = None,
                        every_steps: int | None = None, optimizer: str = "sgd",
                        learning_rate: float = 0.05, seed: int = 0, heldout_size: int = 1000,
                        image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES,
                        layers: Sequence[str] = DEFAULT_LAYERS, channel: int = 1, cell_px: int = 48,
                        cmap: str = "inferno", formats: Sequence[str] = MOVIE_FORMATS, fps: float = 6,
                        jobs: int | None = None, threads_per_run: int = 1, overwrite: bool = False,
                        progress: bool = True, tensorboard_dir=None) -> CompareResult:
    """Train the default CNN once per batch size, from the same initial weights, on the
    same stream of examples (one shuffled permutation per epoch, from `seed`), with the
    same optimizer and learning rate; write under `out_dir`:

    - ``runs/bs<N>/``: each run's panels (PNG), ``frames.jsonl`` (figures per capture
      point: updates, examples seen, epoch, training time, held-out accuracy and loss on
      `heldout_size` fixed test images, running training accuracy and loss) and ``run.json``;
    - ``frames/`` and ``frames.jsonl``: the movie's frames and which record of each run
      each frame shows; ``movie.gif`` / ``movie.mp4``;
    - ``summary.png`` (final curves) and ``summary.json`` (figures per run and point, the
      verdict: was the smallest batch ahead at equal examples seen?);
    - ``index.html``: a page that plays every run's panels together, with their curves.

    Runs go in `jobs` processes at once, each started fresh with the 'spawn' method and
    `threads_per_run` threads, so results do not depend on `jobs`. Call it under
    ``if __name__ == "__main__":`` in a script, as 'spawn' re-imports the main module.
    Every file is written whole or not at all (frames and manifest lines as the callback
    writes them), so a comparison killed at any moment leaves only whole files.

    >>> result = compare_batch_sizes(batch_sizes=[32, 128, 512], examples=30000, out_dir="output/compare")
    >>> print(result.verdict.text)

    Args:
        batch_sizes: at least two different batch sizes.
        examples: training examples every run reads, rounded down to a multiple of every
            batch size (their least common multiple), so that every run reads the same.
        out_dir: the folder to write; made if missing.
        dataset: "fashion_mnist" or "mnist".
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
        align: what each frame holds equal: "examples" (points every `every_examples`, by
            default a multiple of every batch size so each run is captured exactly there),
            "steps" (every `every_steps` updates; a run that has ended holds its last state)
            or "time" (seconds spent in updates, the first update, mostly graph tracing, not
            counted; runs that share CPUs run slower, so use `jobs=1` for it).
        every_examples: examples between points (align "examples" or "time"); default about
            40 points.
        every_steps: updates between points (align "steps"); default about 40 points.
        optimizer: a Keras optimizer name (see `OPTIMIZERS`), the same for every run.
        learning_rate: the optimizer's learning rate, the same for every run.
        seed: for the initial weights, the example order and the held-out sample.
        heldout_size: test images every point is evaluated on.
        image_indices: test-set indices of the images each panel shows.
        layers: names of the default CNN's layers each panel shows.
        channel: the feature-map channel shown.
        cell_px: the panels' grid cell size in pixels.
        cmap: a matplotlib colormap name.
        formats: movie formats, from "gif" and "mp4".
        fps: the movie's frames per second.
        jobs: runs trained at once; default as many as there are CPUs, at most one per run.
        threads_per_run: TensorFlow threads per run; results depend on it, not on `jobs`.
        overwrite: replace a comparison already in `out_dir`.
        progress: show progress bars on stderr.
        tensorboard_dir: a folder for TensorBoard's logs, written at the end: each run's
            panels and figures in `tensorboard_dir/<run name>/`; None for none.

    Returns:
        A `CompareResult`: where the files are, each run's figures, and the verdict.

    Raises:
        ValueError: an argument is not valid, or does not fit the dataset.
        FileExistsError: `out_dir` holds a comparison and `overwrite` is False.
        RuntimeError: the runs did not share their initial weights, data order or
            held-out sample (the comparison would not be fair).
    """
    sizes = check_batch_sizes(batch_sizes)
    schedule = plan_schedule(sizes, examples, align=align, every_examples=every_examples,
                             every_steps=every_steps)
    formats = check_options(learning_rate=learning_rate, optimizer=optimizer, seed=seed,
                            heldout_size=heldout_size, image_indices=image_indices, layers=layers,
                            channel=channel, cell_px=cell_px, cmap=cmap, formats=formats, fps=fps, jobs=jobs,
                            threads_per_run=threads_per_run, dataset=dataset)
    _check_against_data(dataset, data_dir, heldout_size=heldout_size, image_indices=image_indices)
    tensorboard_dir = check_tensorboard_dir(tensorboard_dir, "tensorboard_dir (--tensorboard)")
    out_dir = _prepare_out_dir(Path(out_dir), overwrite)
    options = RunOptions(schedule=schedule, dataset=dataset, data_dir=None if data_dir is None else str(data_dir),
                         seed=int(seed), optimizer=optimizer.lower(), learning_rate=float(learning_rate),
                         heldout_size=int(heldout_size), image_indices=tuple(int(i) for i in image_indices),
                         layers=tuple(layers), channel=int(channel), cell_px=int(cell_px), cmap=cmap,
                         threads_per_run=int(threads_per_run), progress=progress)
    jobs = jobs or min(len(sizes), available_cpus())

    runs, train_wall_s = _run(out_dir, sizes, options, jobs)
    records = {run["name"]: _run_records(out_dir, run["name"]) for run in runs}
    composer, plan = _composer_and_plan(out_dir, runs, records, options, sizes)
    movies = write_movie(out_dir, composer, plan, formats=formats, fps=fps, overwrite=overwrite,
                         progress=progress)
    result = _summarise(out_dir, runs, records, composer, plan, movies, options,
                        examples=examples, jobs=jobs, train_wall_s=train_wall_s)
    return write_views(result, tensorboard_dir=tensorboard_dir)


def _check_against_data(dataset: str, data_dir, *, heldout_size: int, image_indices: Sequence[int]) -> None:
    """The data loaded here too, so that a missing dataset or a bad index fails before any
    process starts."""
    from ..datasets import check_test_indices, load_dataset

    _, (x_test, _), _ = load_dataset(dataset, data_dir=data_dir)
    if heldout_size > len(x_test):
        raise ValueError(f"heldout_size must be at most the {len(x_test)} test images. "
                         f"Received: heldout_size={heldout_size}.")
    check_test_indices(image_indices, test_count=len(x_test), dataset=dataset)


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> Path:
    """`out_dir`, made and writable, without an earlier comparison (removed with overwrite)."""
    check_writable_dir(out_dir, "out_dir")
    ours = [out_dir / RUNS_DIR, out_dir / FRAMES_DIR, out_dir / MANIFEST_NAME, out_dir / "summary.json",
            out_dir / "summary.png"]
    existing = [path for path in ours if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"out_dir {str(out_dir)!r} already holds a comparison ({existing[0].name}). It is kept: pass "
            "overwrite=True (--overwrite) to replace it, or choose another folder.")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return out_dir


def _run(out_dir: Path, sizes: Sequence[int], options: RunOptions, jobs: int) -> tuple[list[dict], float]:
    """Every run, in `jobs` processes; what each returned, and the seconds they took in all.
    Raises RuntimeError when the runs did not start from the same weights and data."""
    specs = [RunSpec(name=f"bs{size}", batch_size=size, position=i, run_dir=str(out_dir / RUNS_DIR / f"bs{size}"),
                     options=options) for i, size in enumerate(sizes)]
    started = time.perf_counter()
    runs = run_all(specs, min(jobs, len(specs)))
    train_wall_s = time.perf_counter() - started
    for check in ("initial_weights_sha1", "data_order_sha1", "heldout_sha1"):
        if len({run[check] for run in runs}) != 1:
            raise RuntimeError(f"The runs did not share their {check.removesuffix('_sha1').replace('_', ' ')}: "
                               f"{[run[check] for run in runs]}. The comparison would not be fair.")
    return runs, train_wall_s


def _run_records(out_dir: Path, name: str) -> list[dict]:
    return [record for _, record in read_manifest(out_dir / RUNS_DIR / name / MANIFEST_NAME)]


def _composer_and_plan(out_dir: Path, runs: list[dict], records: dict, options: RunOptions,
                       sizes: Sequence[int]) -> tuple[Composer, list]:
    """The composer of the movie's frames, and which record of each run each frame shows."""
    schedule = options.schedule
    if schedule.align == "time":
        plan = frame_plan(records, align="time", frame_count=len(schedule.points))
        x_max = plan[-1][0]
    else:
        plan = frame_plan(records, align=schedule.align, points=schedule.points)
        x_max = (max(r["examples_seen"] for run in records.values() for r in run) if schedule.align == "examples"
                 else schedule.points[-1])
    exactness = ("" if schedule.align == "time" else " (exact)" if schedule.exact
                 else " (first step at or past each point)")
    header = (f"batch sizes {', '.join(str(s) for s in sizes)} on {options.dataset}",
              f"same initial weights and example order · {options.optimizer} lr {options.learning_rate:g} · "
              f"seed {options.seed} · held-out: {options.heldout_size} test images · aligned by "
              f"{schedule.align}{exactness}")
    composer = Composer(out_dir, runs, records, align=schedule.align, header=header, cmap=options.cmap,
                        heldout_size=options.heldout_size, x_max=x_max)
    return composer, plan


def _summarise(out_dir: Path, runs: list[dict], records: dict, composer: Composer, plan: list, movies: list,
               options: RunOptions, *, examples: int, jobs: int, train_wall_s: float) -> CompareResult:
    """The verdict, summary.png and summary.json, and the result that says where all is."""
    schedule = options.schedule
    verdict = make_verdict(runs, records, schedule.align)
    summary_png = out_dir / "summary.png"
    sizes = ", ".join(str(size) for size in schedule.batch_sizes)
    write_summary_png(summary_png, runs, records, composer.colours,
                      f"Batch sizes {sizes} on {options.dataset}: {composer.header[1]}\n{verdict.text}")
    summary = {
        "dataset": options.dataset, "align": schedule.align, "batch_sizes": list(schedule.batch_sizes),
        "examples_requested": examples, "schedule": asdict(schedule), "optimizer": options.optimizer,
        "learning_rate": options.learning_rate, "seed": options.seed, "heldout_size": options.heldout_size,
        "threads_per_run": options.threads_per_run, "jobs": jobs, "train_wall_seconds": round(train_wall_s, 2),
        "frames": len(plan), "layout": composer.layout(),
        "movies": [str(m.path.relative_to(out_dir)) for m in movies],
        "verdict": asdict(verdict),
        "runs": {run["name"]: {**run, "manifest": f"{RUNS_DIR}/{run['name']}/{MANIFEST_NAME}",
                               "records": records[run["name"]]} for run in runs},
    }
    summary_path = write_atomically(out_dir / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    results = tuple(RunResult(name=run["name"], batch_size=run["batch_size"], run_dir=out_dir / RUNS_DIR / run["name"],
                              manifest_path=out_dir / RUNS_DIR / run["name"] / MANIFEST_NAME,
                              steps=run["steps"], examples_seen=run["examples_seen"],
                              train_seconds=run["train_seconds"], records=tuple(records[run["name"]]))
                    for run in runs)
    return CompareResult(out_dir=out_dir, runs=results, frame_count=len(plan), movies=tuple(movies),
                         summary_path=summary_path, summary_png=summary_png, verdict=verdict,
                         schedule=schedule)
