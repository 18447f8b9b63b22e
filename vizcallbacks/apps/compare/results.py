"""What a comparison found, and the files that say it: the plan of its runs (`Plan`), the
movie's header and frames (`composer_and_plan`), the figures over seeds, the verdict,
summary.png and summary.json (`summarise`), and the results returned (`CompareResult`,
`RunResult`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...framefiles import MANIFEST_NAME, RUNS_DIR, write_atomically
from .backends import BACKENDS
from .compose import Composer, write_summary_png
from .dynamics import dynamics_by_config
from .configs import HYPERPARAMETERS, Config
from .executors import Executor
from .run import RunOptions, RunSpec
from .schedule import Schedule, frame_plan
from .spec import Comparison
from .stats import Runs, Verdict, make_verdict, point_stats

__all__ = ["RunResult", "CompareResult", "Plan", "make_plan", "composer_and_plan", "summarise"]


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
class Plan:
    """What a comparison trains and shares: the configurations and seeds, and every run.

    Args:
        configs: the configurations, in order.
        seeds: the seeds every configuration runs with.
        options: what every run shares.
        specs: every run, by configuration then seed.
        scale_lr: None, or how the learning rate follows the batch size.
        reference_batch: the batch size the learning rate is for, with `scale_lr`.
    """

    configs: tuple[Config, ...]
    seeds: tuple[int, ...]
    options: RunOptions
    specs: tuple[RunSpec, ...]
    scale_lr: str | None
    reference_batch: int | None

    def runs(self, records: Mapping[str, list]) -> Runs:
        """The runs' records, as the figures over seeds read them.

        Args:
            records: each run's manifest lines, by run name.
        """
        names = {(spec.config.name, spec.seed): spec.name for spec in self.specs}
        return Runs(configs=tuple(c.name for c in self.configs), labels={c.name: c.label for c in self.configs},
                    seeds=self.seeds, names=names, records=records, align=self.options.schedule.align,
                    batch_sizes_only=self.configs[0].varied == ("batch_size",))


def make_plan(out_dir: Path, comparison: Comparison, options: RunOptions) -> Plan:
    """Every run: each configuration with each seed, named and placed.

    Args:
        out_dir: the comparison's folder.
        comparison: what varies and what is fixed.
        options: what every run shares.

    Returns:
        The `Plan`.
    """
    specs = []
    seeds = comparison.seed_list
    for config in comparison.configs:
        for seed in seeds:
            name = config.name if len(seeds) == 1 else f"{config.name}-seed{seed}"
            specs.append(RunSpec(name=name, config=config, seed=seed, position=len(specs),
                                 run_dir=str(out_dir / RUNS_DIR / name), options=options))
    return Plan(configs=comparison.configs, seeds=seeds, options=options, specs=tuple(specs),
                scale_lr=comparison.scale_lr, reference_batch=comparison.reference)


def _header(plan: Plan, dataset: str) -> tuple[str, str]:
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


def _base_lr(plan: Plan) -> float:
    config = plan.configs[0]
    return config.learning_rate * plan.reference_batch / config.batch_size


def composer_and_plan(out_dir: Path, runs: Runs, plan: Plan, *, dataset: str) -> tuple[Composer, list]:
    """The composer of the movie's frames, and which record of each run each frame shows.

    Args:
        out_dir: the comparison's folder.
        runs: the runs and their records.
        plan: the comparison's plan.
        dataset: the dataset's name, for the header.
    """
    schedule = plan.options.schedule
    if schedule.align == "time":
        frames = frame_plan(runs.records, align="time", frame_count=len(schedule.points))
        x_max = frames[-1][0]
    else:
        frames = frame_plan(runs.records, align=schedule.align, points=schedule.points)
        x_max = (max(r["examples_seen"] for run in runs.records.values() for r in run)
                 if schedule.align == "examples" else schedule.points[-1])
    composer = Composer(out_dir, runs, header=_header(plan, dataset), cmap=plan.options.style.cmap,
                        heldout_size=plan.options.heldout_size, x_max=x_max)
    return composer, frames


# long: summary.json's fields, one place
def summarise(out_dir: Path, plan: Plan, summaries: list[dict], runs: Runs, composer: Composer, frames: list,
              movies: list, *, executor: Executor, examples: int, train_wall_s: float) -> CompareResult:
    """The figures over seeds, the verdict, summary.png and summary.json, and the result
    that says where all is.

    Args:
        out_dir: the comparison's folder.
        plan: the comparison's plan.
        summaries: what each run returned (its run.json).
        runs: the runs and their records.
        composer: what drew the movie's frames.
        frames: (point, {run: record index}) per movie frame.
        movies: the movies written.
        executor: what ran the runs.
        examples: the training examples asked for.
        train_wall_s: seconds the runs took in all.
    """
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
        **({"dynamics": dynamics} if (dynamics := dynamics_by_config(plan.configs, summaries)) else {}),
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
