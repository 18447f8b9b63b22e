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

from .compose import Verdict, _Composer, _summary_png, _verdict, _write_movie
from .run import _RunSpec, _run_all
from .schedule import (ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, FRAMES_DIR, MANIFEST_NAME,
                       MOVIE_FORMATS, OPTIMIZERS, RUNS_DIR, Schedule, _check_batch_sizes, _check_options,
                       frame_plan, heldout_indices, plan_schedule, training_order)

__all__ = ["compare_batch_sizes", "CompareResult", "RunResult", "Verdict", "Schedule",
           "plan_schedule", "training_order", "heldout_indices", "frame_plan", "ALIGNS",
           "OPTIMIZERS"]


@dataclass(frozen=True)
class RunResult:
    """One run: its batch size, folder, manifest and figures per capture point."""

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
    """Where the comparison's files are, and what it found."""

    out_dir: Path
    runs: tuple  # of RunResult, smallest batch first
    frame_count: int
    movies: tuple  # of vizcallbacks.movie.Movie
    summary_path: Path
    summary_png: Path
    verdict: Verdict
    schedule: Schedule



def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"out_dir: cannot create folder {str(out_dir)!r}: {error.strerror or error}.") from None
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


def _read_manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def compare_batch_sizes(*, batch_sizes: Sequence[int] = (32, 128, 512), examples: int = 30000,
                        out_dir="output/compare", dataset: str = "fashion_mnist", data_dir=None,
                        align: str = "examples", every_examples: int | None = None,
                        every_steps: int | None = None, optimizer: str = "sgd",
                        learning_rate: float = 0.05, seed: int = 0, heldout_size: int = 1000,
                        image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES,
                        layers: Sequence[str] = DEFAULT_LAYERS, channel: int = 1, cell_px: int = 48,
                        cmap: str = "inferno", formats: Sequence[str] = MOVIE_FORMATS, fps: float = 6,
                        jobs: int | None = None, threads_per_run: int = 1, overwrite: bool = False,
                        progress: bool = True) -> CompareResult:
    """Train the default CNN once per batch size, from the same initial weights, on the
    same stream of examples (one shuffled permutation per epoch, from `seed`), with the
    same optimizer and learning rate; write under `out_dir`:

    - ``runs/bs<N>/``: each run's panels (PNG), ``frames.jsonl`` (figures per capture
      point: updates, examples seen, epoch, training time, held-out accuracy and loss on
      `heldout_size` fixed test images, running training accuracy and loss) and ``run.json``;
    - ``frames/`` and ``frames.jsonl``: the movie's frames and which record of each run
      each frame shows; ``movie.gif`` / ``movie.mp4``;
    - ``summary.png`` (final curves) and ``summary.json`` (figures per run and point, the
      verdict: was the smallest batch ahead at equal examples seen?).

    ``align`` says what each frame holds equal: ``"examples"`` (default; points every
    `every_examples`, by default a multiple of every batch size so each run is captured
    exactly there), ``"steps"`` (every `every_steps` updates; a run that has ended holds its
    last state) or ``"time"`` (seconds spent in updates, the first update, mostly graph
    tracing, not counted; runs that share CPUs run slower, so use ``jobs=1`` for it).

    Runs go in `jobs` processes at once (default: as many as there are CPUs, at most one
    per run), each started fresh with the 'spawn' method and `threads_per_run` threads,
    so results do not depend on `jobs`. Call it under ``if __name__ == "__main__":`` in a
    script, as 'spawn' re-imports the main module.

    >>> result = compare_batch_sizes(batch_sizes=[32, 128, 512], examples=30000, out_dir="output/compare")
    >>> print(result.verdict.text)
    """
    sizes = _check_batch_sizes(batch_sizes)
    schedule = plan_schedule(sizes, examples, align=align, every_examples=every_examples,
                             every_steps=every_steps)
    formats = _check_options(learning_rate=learning_rate, optimizer=optimizer, seed=seed,
                             heldout_size=heldout_size, image_indices=image_indices, layers=layers,
                             channel=channel, cell_px=cell_px, formats=formats, fps=fps, jobs=jobs,
                             threads_per_run=threads_per_run, dataset=dataset)
    import matplotlib

    if cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap must be a matplotlib colormap name such as 'inferno'. Received: cmap={cmap!r}.")
    from ..datasets import load_dataset

    # Loaded here too, so that a missing dataset or a bad index fails before any process starts.
    (x_train, _), (x_test, _), _ = load_dataset(dataset, data_dir=data_dir)
    if heldout_size > len(x_test):
        raise ValueError(f"heldout_size must be at most the {len(x_test)} test images. "
                         f"Received: heldout_size={heldout_size}.")
    bad = [i for i in image_indices if i >= len(x_test)]
    if bad:
        raise ValueError(f"image_indices: {bad} out of range for {len(x_test)} test images "
                         f"(valid: 0..{len(x_test) - 1}).")
    del x_train, x_test
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, overwrite)
    from ..movie import _available_cpus

    jobs = jobs or min(len(sizes), _available_cpus())

    specs = [_RunSpec(name=f"bs{size}", batch_size=size, position=i,
                      run_dir=str(out_dir / RUNS_DIR / f"bs{size}"), schedule=schedule, dataset=dataset,
                      data_dir=None if data_dir is None else str(data_dir), seed=int(seed),
                      optimizer=optimizer.lower(), learning_rate=float(learning_rate),
                      heldout_size=int(heldout_size), image_indices=tuple(int(i) for i in image_indices),
                      layers=tuple(layers), channel=int(channel), cell_px=int(cell_px), cmap=cmap,
                      threads_per_run=int(threads_per_run), progress=progress)
             for i, size in enumerate(sizes)]
    started = time.perf_counter()
    runs = _run_all(specs, min(jobs, len(specs)))
    train_wall_s = time.perf_counter() - started
    for check in ("initial_weights_sha1", "data_order_sha1", "heldout_sha1"):
        if len({run[check] for run in runs}) != 1:
            raise RuntimeError(f"The runs did not share their {check.removesuffix('_sha1').replace('_', ' ')}: "
                               f"{[run[check] for run in runs]}. The comparison would not be fair.")

    records = {run["name"]: _read_manifest(out_dir / RUNS_DIR / run["name"] / MANIFEST_NAME) for run in runs}
    if align == "examples":
        plan = frame_plan(records, align=align, points=schedule.points)
        x_max = max(r["examples_seen"] for run in records.values() for r in run)
    elif align == "steps":
        plan = frame_plan(records, align=align, points=schedule.points)
        x_max = schedule.points[-1]
    else:
        plan = frame_plan(records, align=align, frame_count=len(schedule.points))
        x_max = plan[-1][0]
    header = (f"batch sizes {', '.join(str(s) for s in sizes)} on {dataset}",
              f"same initial weights and example order · {optimizer.lower()} lr {learning_rate:g} · "
              f"seed {seed} · held-out: {heldout_size} test images · aligned by {align}"
              + ("" if align == "time" else " (exact)" if schedule.exact else " (first step at or past each point)"))
    composer = _Composer(out_dir, runs, records, align=align, header=header, cmap=cmap,
                         heldout_size=heldout_size, x_max=x_max)
    movies = _write_movie(out_dir, composer, plan, formats=formats, fps=fps, overwrite=overwrite,
                          progress=progress)

    verdict = _verdict(runs, records, align)
    summary_png = out_dir / "summary.png"
    _summary_png(summary_png, runs, records, composer.colours, f"Batch sizes {', '.join(map(str, sizes))} "
                 f"on {dataset}: " + header[1] + "\n" + verdict.text)
    summary = {
        "dataset": dataset, "align": align, "batch_sizes": list(sizes), "examples_requested": examples,
        "schedule": asdict(schedule), "optimizer": optimizer.lower(), "learning_rate": learning_rate,
        "seed": seed, "heldout_size": heldout_size, "threads_per_run": threads_per_run, "jobs": jobs,
        "train_wall_seconds": round(train_wall_s, 2), "frames": len(plan), "layout": composer.layout(),
        "movies": [str(m.path.relative_to(out_dir)) for m in movies],
        "verdict": asdict(verdict),
        "runs": {run["name"]: {**run, "manifest": f"{RUNS_DIR}/{run['name']}/{MANIFEST_NAME}",
                               "records": records[run["name"]]} for run in runs},
    }
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    results = tuple(RunResult(name=run["name"], batch_size=run["batch_size"],
                              run_dir=out_dir / RUNS_DIR / run["name"],
                              manifest_path=out_dir / RUNS_DIR / run["name"] / MANIFEST_NAME,
                              steps=run["steps"], examples_seen=run["examples_seen"],
                              train_seconds=run["train_seconds"], records=tuple(records[run["name"]]))
                    for run in runs)
    return CompareResult(out_dir=out_dir, runs=results, frame_count=len(plan), movies=tuple(movies),
                         summary_path=summary_path, summary_png=summary_png, verdict=verdict,
                         schedule=schedule)
