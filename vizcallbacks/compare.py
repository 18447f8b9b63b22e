"""Compare batch sizes side by side: one model per batch size, the same initial weights,
the same seed and the same stream of training examples, so that the runs differ by
batch size alone; one movie whose every frame shows every run after the same amount of
data (or the same number of updates, or the same training time).

Three parts, as elsewhere in the package: a *schedule* (pure functions: which examples,
in which order, and when to capture), a *run* (one process per batch size trains and
writes its panels and figures to ``DIR/runs/<name>/``), and a *composer* (the parent
turns those files into movie frames, so the movie is the same whatever ``jobs`` is).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["compare_batch_sizes", "CompareResult", "RunResult", "Verdict", "Schedule",
           "plan_schedule", "training_order", "heldout_indices", "frame_plan", "ALIGNS",
           "OPTIMIZERS"]

ALIGNS = ("examples", "steps", "time")
# Keras optimizer names that take a learning rate and nothing else required.
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
              "lion", "ftrl")
MOVIE_FORMATS = ("gif", "mp4")
DEFAULT_LAYERS = ("conv1", "pool2", "dense", "output")
DEFAULT_IMAGE_INDICES = (0, 1, 2)  # three classes in both MNIST and Fashion-MNIST
# About this many capture points when the user does not choose the interval.
TARGET_POINTS = 40
RUNS_DIR, FRAMES_DIR = "runs", "frames"
MANIFEST_NAME = "frames.jsonl"

# Composition: sizes in pixels.
_MARGIN = 12
_PANEL_GAP = 14
_HEADER_H = 46
_TITLE_H = 40
_STRIP_H = 250
_STRIP_GAP = 6
_CROP_MARGIN = 4
# Target colours for the runs' curves; each becomes the nearest colour of the panels'
# palette, so every frame stays on one 256-colour palette and the GIF is exact.
_RUN_TARGETS = ((80, 20, 140), (245, 125, 20), (30, 160, 50), (215, 40, 40), (150, 150, 150),
                (190, 60, 120))


# ---- options ---------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_int(value, argument: str) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}.")
    return int(value)


def _check_batch_sizes(batch_sizes) -> tuple[int, ...]:
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence):
        raise ValueError(
            "batch_sizes must be a list of positive integers, e.g. [32, 128, 512]. "
            f"Received: batch_sizes={batch_sizes!r}.")
    bad = [size for size in batch_sizes if not _is_int(size) or size < 1]
    if bad:
        raise ValueError(
            f"batch_sizes must be positive integers; {bad[0]!r} is not. "
            f"Received: batch_sizes={list(batch_sizes)!r}.")
    sizes = sorted(int(size) for size in batch_sizes)
    if len(sizes) < 2:
        raise ValueError(f"batch_sizes needs at least two sizes to compare. Received: batch_sizes={sizes!r}.")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"batch_sizes must be different from each other. Received: batch_sizes={sizes!r}.")
    return tuple(sizes)


# ---- schedule: pure functions ------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """When every run captures, and how much data every run reads.

    Every run trains until it has seen `budget_examples` examples. With
    ``align="examples"`` or ``"time"`` a run captures at the first step where
    examples_seen >= each of `points` (0, K, 2K, ..., budget) and records the exact
    count; `exact` says whether every point is a multiple of every batch size, so that
    each run is captured exactly at it. With ``align="steps"`` a run captures every
    `every_steps` updates and at its last one.
    """

    align: str
    batch_sizes: tuple[int, ...]
    budget_examples: int
    every_examples: int | None
    every_steps: int | None
    points: tuple[int, ...]   # examples (align examples/time) or updates (align steps)
    exact: bool

    def steps_for(self, batch_size: int) -> int:
        """Updates a run with `batch_size` makes to read `budget_examples`."""
        return math.ceil(self.budget_examples / batch_size)

    def run_points(self, batch_size: int) -> tuple[int, ...]:
        """The points this run captures at (its own last step included, for steps)."""
        if self.align != "steps":
            return self.points
        last = self.steps_for(batch_size)
        return tuple(p for p in self.points if p < last) + (last,)


def plan_schedule(batch_sizes: Sequence[int], examples: int, *, align: str = "examples",
                  every_examples: int | None = None, every_steps: int | None = None) -> Schedule:
    """The capture schedule for `batch_sizes` reading about `examples` examples each.

    The budget is `examples` rounded down to a multiple of every batch size (their
    least common multiple), so that every run ends after exactly the same data; the
    default interval K is the multiple of that LCM that gives about 40 points.

    >>> plan_schedule([32, 128, 512], 30000).points[:3], plan_schedule([32, 128, 512], 30000).budget_examples
    ((0, 512, 1024), 29696)
    """
    sizes = _check_batch_sizes(list(batch_sizes))
    examples = _positive_int(examples, "examples")
    if align not in ALIGNS:
        raise ValueError(f"align must be one of {', '.join(ALIGNS)}. Received: align={align!r}.")
    if examples < sizes[-1]:
        raise ValueError(
            f"examples must be at least the largest batch size ({sizes[-1]}), so that every run "
            f"makes an update. Received: examples={examples}.")
    if every_steps is not None and align != "steps":
        raise ValueError(f"every_steps applies to align='steps' only. Received: every_steps={every_steps!r} "
                         f"with align={align!r}; use every_examples.")
    if every_examples is not None and align == "steps":
        raise ValueError(f"every_examples applies to align='examples' or 'time'. Received: "
                         f"every_examples={every_examples!r} with align='steps'; use every_steps.")
    lcm = math.lcm(*sizes)
    budget = examples // lcm * lcm if lcm <= examples else examples

    if align == "steps":
        longest = math.ceil(budget / sizes[0])
        step = (_positive_int(every_steps, "every_steps") if every_steps is not None
                else max(1, math.ceil(longest / TARGET_POINTS)))
        points = tuple(range(0, longest, step)) + (longest,)
        return Schedule(align, sizes, budget, None, step, points, exact=budget % lcm == 0)

    if every_examples is None:
        unit = lcm if lcm <= budget else 1
        every = unit * max(1, round(budget / TARGET_POINTS / unit))
        if every < sizes[-1]:  # every run moves between points
            every = min(budget, unit * math.ceil(sizes[-1] / unit))
    else:
        every = _positive_int(every_examples, "every_examples")
        if every < sizes[-1]:
            raise ValueError(
                f"every_examples must be at least the largest batch size ({sizes[-1]}), so that "
                f"every run moves between points. Received: every_examples={every}.")
        if every > budget:
            raise ValueError(
                f"every_examples must be at most the examples every run reads ({budget}). "
                f"Received: every_examples={every}.")
    points = tuple(range(0, budget, every)) + (budget,)
    exact = all(p % size == 0 for p in points for size in sizes)
    return Schedule(align, sizes, budget, every, None, points, exact)


def training_order(seed: int, train_count: int, count: int) -> np.ndarray:
    """Indices of the first `count` training examples every run reads, in order: one
    shuffled permutation of the training set per epoch, from `seed`."""
    rng = np.random.default_rng([seed, 0])
    epochs = math.ceil(count / train_count)
    return np.concatenate([rng.permutation(train_count) for _ in range(epochs)])[:count]


def heldout_indices(seed: int, test_count: int, size: int) -> np.ndarray:
    """The fixed sample of `size` test images every run is evaluated on, sorted."""
    rng = np.random.default_rng([seed, 1])
    return np.sort(rng.choice(test_count, size=size, replace=False))


def frame_plan(records: Mapping[str, Sequence[Mapping]], *, align: str, points: Sequence[float] | None = None,
               frame_count: int = TARGET_POINTS + 1) -> list[tuple[float, dict[str, int]]]:
    """Which record of each run each movie frame shows: a list of (point, {run: record
    index}). A run shows its last record whose key (the scheduled point for examples,
    the update count for steps, the training seconds for time) is <= the point, so a
    run that has ended shows its final state.

    `points` are the frame points (the schedule's, for examples and steps); for time
    they default to `frame_count` points spread from 0 to the longest run's time.
    """
    key = {"examples": "point", "steps": "step", "time": "time_s"}[align]
    if points is None:
        longest = max(run[-1][key] for run in records.values())
        points = [longest * i / (frame_count - 1) for i in range(frame_count)]
    plan = []
    for point in points:
        shown = {}
        for name, run in records.items():
            keys = [record[key] for record in run]
            # Keys grow with the record index; the last one at or before the point.
            keys = np.asarray(keys, dtype=np.float64)
            index = max(int(np.searchsorted(keys, point, side="right")) - 1, 0)
            # Of records with equal keys (time: the first update is not timed), the earliest.
            shown[name] = int(np.searchsorted(keys, keys[index], side="left"))
        plan.append((point, shown))
    return plan


# ---- one run, in its own process ------------------------------------------------------------

@dataclass(frozen=True)
class _RunSpec:
    """Everything a run process needs; picklable."""

    name: str
    batch_size: int
    position: int
    run_dir: str
    schedule: Schedule
    dataset: str
    data_dir: str | None
    seed: int
    optimizer: str
    learning_rate: float
    heldout_size: int
    image_indices: tuple[int, ...]
    layers: tuple[str, ...]
    channel: int
    cell_px: int
    cmap: str
    threads_per_run: int
    progress: bool


def _digest(*arrays) -> str:
    hasher = hashlib.sha1()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()[:16]


def _set_up_backend(seed: int, threads: int) -> None:
    """Seeds, deterministic ops and a fixed thread count. The count changes the float
    results (reductions split differently), so it is the same whatever `jobs` is."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


class _RunningMean:
    """Training loss and accuracy averaged over the current epoch's batches, as Keras's
    progress bar shows them; reset when a new data epoch starts."""

    def __init__(self):
        self.epoch, self.count, self.sums = None, 0, {}

    def add(self, epoch: int, logs: Mapping, weight: int) -> None:
        if epoch != self.epoch:
            self.epoch, self.count, self.sums = epoch, 0, {}
        self.count += weight
        for key in ("loss", "accuracy"):
            if key in logs:
                self.sums[key] = self.sums.get(key, 0.0) + float(logs[key]) * weight

    def value(self, key: str) -> float | None:
        return self.sums[key] / self.count if self.count and key in self.sums else None


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def _run_one(spec: _RunSpec) -> dict:
    """Train one model and write DIR/runs/<name>/: panels/*.png, frames.jsonl, run.json.
    Returns what run.json holds."""
    _set_up_backend(spec.seed, spec.threads_per_run)
    from PIL import Image
    from tqdm import tqdm

    from .activations import ActivationProbe
    from .datasets import load_dataset
    from .models import default_cnn
    from .render import GridRenderer, Stamp

    started = time.perf_counter()
    (x_train, y_train), (x_test, y_test), class_names = load_dataset(spec.dataset, data_dir=spec.data_dir)
    schedule, batch_size = spec.schedule, spec.batch_size
    steps = schedule.steps_for(batch_size)
    order = training_order(spec.seed, len(x_train), steps * batch_size)
    heldout = heldout_indices(spec.seed, len(x_test), spec.heldout_size)
    x_heldout = x_test[heldout][..., None] / np.float32(255)
    y_heldout = y_test[heldout]
    panel_images = x_test[list(spec.image_indices)][..., None] / np.float32(255)

    model = default_cnn(seed=spec.seed, optimizer=spec.optimizer, learning_rate=spec.learning_rate)
    initial_weights = _digest(*model.get_weights())
    probe = ActivationProbe(model, layers=list(spec.layers))
    renderer = GridRenderer(probe.views, panel_images, labels=y_test[list(spec.image_indices)],
                            class_names=class_names, channels=(spec.channel,), channels_per_image=1,
                            cell_px=spec.cell_px, cmap=spec.cmap)

    run_dir = Path(spec.run_dir)
    (run_dir / "panels").mkdir(parents=True, exist_ok=True)
    points = schedule.run_points(batch_size)
    next_point = 0
    running = _RunningMean()
    train_seconds = 0.0
    records = []
    bar = tqdm(total=steps, position=spec.position, desc=f"{spec.name:>6}", unit="step",
               file=sys.stderr, leave=True, dynamic_ncols=True, disable=not spec.progress)

    def capture(step: int, point: int, final: bool) -> None:
        examples_seen = step * batch_size
        heldout_logs = model.test_on_batch(x_heldout, y_heldout, return_dict=True)
        panel = renderer.render(probe(panel_images), Stamp())
        file = f"panels/p{len(records):04d}.png"
        Image.fromarray(panel).save(run_dir / file, format="PNG", compress_level=1)
        record = {
            "file": file, "index": len(records), "point": point, "step": step,
            "examples_seen": examples_seen,
            "epoch": max(1, math.ceil(examples_seen / len(x_train))),
            "epochs": round(examples_seen / len(x_train), 6),
            "time_s": round(train_seconds, 4),
            "heldout_accuracy": _finite_or_none(float(heldout_logs["accuracy"])),
            "heldout_loss": _finite_or_none(float(heldout_logs["loss"])),
            "train_accuracy": _finite_or_none(running.value("accuracy")),
            "train_loss": _finite_or_none(running.value("loss")),
            "final": final,
        }
        records.append(record)
        manifest.write(json.dumps(record) + "\n")
        manifest.flush()
        if record["heldout_accuracy"] is not None:
            bar.set_postfix_str(f"held-out acc {record['heldout_accuracy']:.3f}", refresh=False)

    def due(step: int) -> int | None:
        """The point this step reaches, if any (the last one, if it passes several)."""
        nonlocal next_point
        key = step if schedule.align == "steps" else step * batch_size
        reached = None
        while next_point < len(points) and key >= points[next_point]:
            reached = points[next_point]
            next_point += 1
        return reached

    with open(run_dir / MANIFEST_NAME, "w", encoding="utf-8") as manifest, bar:
        capture(0, due(0), final=False)
        for step in range(1, steps + 1):
            batch = order[(step - 1) * batch_size:step * batch_size]
            tick = time.perf_counter()
            logs = model.train_on_batch(x_train[batch][..., None] / np.float32(255), y_train[batch],
                                        return_dict=True)
            if step > 1:  # the first update is mostly the one-off tracing of the training graph
                train_seconds += time.perf_counter() - tick
            running.add(max(1, math.ceil(step * batch_size / len(x_train))), logs, batch_size)
            bar.update()
            point = due(step)
            if point is not None:  # the last step always reaches the last point
                capture(step, point, final=step == steps)

    summary = {
        "name": spec.name, "batch_size": batch_size, "steps": steps,
        "examples_seen": steps * batch_size, "train_seconds": round(train_seconds, 3),
        "wall_seconds": round(time.perf_counter() - started, 3), "points": len(records),
        "initial_weights_sha1": initial_weights, "data_order_sha1": _digest(order[:schedule.budget_examples]),
        "heldout_sha1": _digest(heldout), "threads_per_run": spec.threads_per_run,
        "layers": [view.name for view in probe.views], "image_indices": list(spec.image_indices),
    }
    (run_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _init_worker(lock) -> None:
    from tqdm import tqdm

    tqdm.set_lock(lock)  # the bars of all runs share one terminal


def _run_all(specs: Sequence[_RunSpec], jobs: int) -> list[dict]:
    """Each run in a fresh 'spawn' process (TensorFlow is not fork-safe; a fresh process
    per run makes a run's result the same whatever ran before it in that process)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = context.Pool(processes=jobs, maxtasksperchild=1, initializer=_init_worker,
                        initargs=(context.RLock(),))
    try:
        pending = [pool.apply_async(_run_one, (spec,)) for spec in specs]
        results = [task.get() for task in pending]
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results


# ---- composition, in the parent -----------------------------------------------------------

@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False):
    import matplotlib
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/{name}", size)
    except OSError:
        return ImageFont.load_default(size)


def _grey_lut(palette: np.ndarray) -> np.ndarray:
    """RGB of the palette grey nearest to each of the 256 L values: text is drawn in L
    (antialiased) and lands on the palette's greys."""
    greys = np.flatnonzero((palette[:, 0] == palette[:, 1]) & (palette[:, 1] == palette[:, 2]))
    levels = palette[greys, 0].astype(np.int64)
    nearest = np.abs(np.arange(256)[:, None] - levels[None, :]).argmin(axis=1)
    return palette[greys[nearest]]


def _run_colours(palette: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    colours = []
    for i in range(count):
        target = np.array(_RUN_TARGETS[i % len(_RUN_TARGETS)], dtype=np.int64)
        nearest = int(((palette.astype(np.int64) - target) ** 2).sum(axis=1).argmin())
        colours.append(tuple(int(c) for c in palette[nearest]))
    return colours


def _nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    return [float(t) for t in MaxNLocator(nbins=count, integer=integer).tick_values(low, high) if low - 1e-9 <= t <= high + 1e-9]


_AXIS_LABELS = {"examples": "examples seen", "steps": "updates (steps)", "time": "training time (s)"}
_POINT_WORDS = {"examples": "examples seen", "steps": "updates", "time": "of training"}


def _format_point(align: str, value: float) -> str:
    if align == "time":
        return f"{value:.1f} s"
    return f"{int(round(value)):,}"


class _Strip:
    """Held-out accuracy against the alignment key, for every run so far, with a cursor
    at the current point; drawn with PIL on the palette's colours. The axes, ticks and
    labels are drawn once; each frame adds the lines."""

    def __init__(self, width: int, *, align: str, x_max: float, y_range: tuple[float, float],
                 names: Sequence[str], colours: Sequence[tuple[int, int, int]], heldout_size: int):
        from PIL import Image, ImageDraw

        self.width, self.height, self.align = width, _STRIP_H, align
        self.names, self.colours = list(names), list(colours)
        self.left, self.right = 64, width - 190
        self.top, self.bottom = 40, _STRIP_H - 44
        self.x_max = x_max if x_max > 0 else 1.0
        self.y_low, self.y_high = y_range
        base = Image.new("L", (width, _STRIP_H), 255)
        draw = ImageDraw.Draw(base)
        small = _font(11)
        draw.text((self.left, 4), f"held-out accuracy ({heldout_size} test images) against "
                  f"{_AXIS_LABELS[align]}", fill=0, font=_font(13, bold=True))
        for y in _nice_ticks(self.y_low, self.y_high):
            py = self.y_px(y)
            draw.line([(self.left, py), (self.right, py)], fill=225)
            draw.text((self.left - 6, py), f"{y:.2f}", fill=60, font=small, anchor="rm")
        for x in _nice_ticks(0, self.x_max, 6, integer=align != "time"):
            px = self.x_px(x)
            draw.line([(px, self.top), (px, self.bottom)], fill=235)
            draw.text((px, self.bottom + 6), _format_point(align, x).replace(" s", ""), fill=60,
                      font=small, anchor="mt")
        draw.rectangle([self.left, self.top, self.right, self.bottom], outline=120)
        draw.text(((self.left + self.right) // 2, self.bottom + 24), _AXIS_LABELS[align], fill=40,
                  font=_font(12), anchor="mt")
        self.base = base

    def x_px(self, x: float) -> int:
        return round(self.left + (self.right - self.left) * min(max(x / self.x_max, 0.0), 1.0))

    def y_px(self, y: float) -> int:
        span = max(self.y_high - self.y_low, 1e-9)
        return round(self.bottom - (self.bottom - self.top) * min(max((y - self.y_low) / span, 0.0), 1.0))

    def text_layer(self, point: float, current: Sequence[float | None]):
        """The strip's L layer for one frame: base, cursor and legend values."""
        from PIL import ImageDraw

        layer = self.base.copy()
        draw = ImageDraw.Draw(layer)
        px = self.x_px(point)
        for y in range(self.top, self.bottom, 6):  # dashed cursor
            draw.line([(px, y), (px, min(y + 3, self.bottom))], fill=90)
        draw.text((px, self.top - 2), _format_point(self.align, point), fill=30, font=_font(11), anchor="mb")
        font = _font(12)
        for i, (name, value) in enumerate(zip(self.names, current)):
            text = f"{name}: " + ("—" if value is None else f"{value:.3f}")
            draw.text((self.right + 34, self.top + 6 + i * 20), text, fill=0, font=font)
        return layer

    def draw_lines(self, draw, offset_y: int, curves: Sequence[Sequence[tuple[float, float]]]) -> None:
        for i, (curve, colour) in enumerate(zip(curves, self.colours)):
            y = offset_y + self.top + 6 + i * 20
            draw.rectangle([self.right + 12, y + 3, self.right + 28, y + 11], fill=colour)
            pixels = [(self.x_px(x), offset_y + self.y_px(acc)) for x, acc in curve if acc is not None]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2)
            for px, py in pixels:
                draw.rectangle([px - 2, py - 2, px + 2, py + 2], fill=colour)


def _panel_title(record: Mapping, done: bool) -> str:
    accuracy = record["heldout_accuracy"]
    text = (f"{record['step']:,} updates · epoch {record['epoch']} · held-out acc "
            + ("NaN" if accuracy is None else f"{accuracy:.3f}"))
    return text + (" · done" if done else "")


class _Composer:
    """Movie frames from the runs' panels and figures: a header, one titled panel per
    run side by side, and the accuracy strip underneath."""

    def __init__(self, out_dir: Path, runs: Sequence[dict], records: Mapping[str, list[dict]], *,
                 align: str, header: str, cmap: str, heldout_size: int, x_max: float):
        from PIL import Image

        from .render import make_palette

        self.out_dir, self.runs, self.records, self.align, self.header = out_dir, runs, records, align, header
        self.palette = make_palette(cmap)
        self.lut = _grey_lut(self.palette)
        self.colours = _run_colours(self.palette, len(runs))
        first = [np.asarray(Image.open(out_dir / RUNS_DIR / run["name"] / records[run["name"]][0]["file"])
                            .convert("RGB")) for run in runs]
        # The panels are drawn without a stamp: drop their empty top band.
        self.crop_top = max(0, min(int(np.argmax((panel != 255).any(axis=(1, 2)))) for panel in first)
                            - _CROP_MARGIN)
        self.panel_h = first[0].shape[0] - self.crop_top
        self.panel_w = first[0].shape[1]
        width = 2 * _MARGIN + len(runs) * self.panel_w + (len(runs) - 1) * _PANEL_GAP
        self.width = width + width % 2
        self.panel_top = _MARGIN + _HEADER_H + _TITLE_H
        self.panel_left = [_MARGIN + i * (self.panel_w + _PANEL_GAP) for i in range(len(runs))]
        self.strip_top = self.panel_top + self.panel_h + _STRIP_GAP
        height = self.strip_top + _STRIP_H + _MARGIN
        self.height = height + height % 2
        accuracies = [r["heldout_accuracy"] for run in records.values() for r in run
                      if r["heldout_accuracy"] is not None] or [0.0, 1.0]
        y_low = max(0.0, math.floor((min(accuracies) - 0.02) * 20) / 20)
        y_high = min(1.0, math.ceil((max(accuracies) + 0.02) * 20) / 20)
        self.strip = _Strip(self.width, align=align, x_max=x_max, y_range=(y_low, y_high),
                            names=[f"batch {run['batch_size']}" for run in runs], colours=self.colours,
                            heldout_size=heldout_size)
        self._key = {"examples": "examples_seen", "steps": "step", "time": "time_s"}[align]

    def layout(self) -> dict:
        """Where each run's panel sits in a frame, for readers of the movie."""
        return {"frame_size": [self.height, self.width], "panel_crop_top": self.crop_top,
                "panels": {run["name"]: [self.panel_top, left, self.panel_h, self.panel_w]
                           for run, left in zip(self.runs, self.panel_left)}}

    def frame(self, point: float, shown: Mapping[str, int]) -> tuple[np.ndarray, dict]:
        from PIL import Image, ImageDraw

        from .render import _fit_text

        text = Image.new("L", (self.width, self.height), 255)
        draw = ImageDraw.Draw(text)
        draw.text((_MARGIN, _MARGIN), f"After {_format_point(self.align, point)} {_POINT_WORDS[self.align]}"
                  f"   ·   {self.header[0]}", fill=0, font=_font(17, bold=True))
        draw.text((_MARGIN, _MARGIN + 24), _fit_text(draw, self.header[1], _font(12), self.width - 2 * _MARGIN),
                  fill=70, font=_font(12))
        figures, current, curves = {}, [], []
        for run, left in zip(self.runs, self.panel_left):
            name = run["name"]
            record = self.records[name][shown[name]]
            done = record["final"] and record[self._key] < point
            top = _MARGIN + _HEADER_H
            draw.text((left + 22, top), f"batch {run['batch_size']}", fill=0, font=_font(15, bold=True))
            draw.text((left, top + 20), _panel_title(record, done), fill=30, font=_font(12))
            figures[name] = {key: record[key] for key in ("index", "file", "point", "step", "examples_seen",
                                                           "epoch", "time_s", "heldout_accuracy",
                                                           "heldout_loss", "train_accuracy", "train_loss")}
            current.append(record["heldout_accuracy"])
            curves.append([(r[self._key], r["heldout_accuracy"]) for r in self.records[name][:shown[name] + 1]])
        strip_text = self.strip.text_layer(point, current)
        text.paste(strip_text, (0, self.strip_top))
        frame = self.lut[np.asarray(text)]
        for run, left in zip(self.runs, self.panel_left):
            name = run["name"]
            panel = np.asarray(Image.open(self.out_dir / RUNS_DIR / name / self.records[name][shown[name]]["file"])
                               .convert("RGB"))
            frame[self.panel_top:self.panel_top + self.panel_h, left:left + self.panel_w] = panel[self.crop_top:]
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        for left, colour in zip(self.panel_left, self.colours):
            top = _MARGIN + _HEADER_H
            draw.rectangle([left, top + 3, left + 15, top + 15], fill=colour)
        self.strip.draw_lines(draw, self.strip_top, curves)
        return np.asarray(image), figures


# ---- verdict and summary ----------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """Whether the smallest batch was ahead of the largest on held-out accuracy after
    the same number of examples: at the end (`examples_seen`), and at how many of the
    aligned points (examples alignment only; else None)."""

    smaller_batch_ahead: bool
    examples_seen: int
    accuracies: dict
    points_ahead: int | None
    points_compared: int | None
    text: str


def _verdict(runs: Sequence[dict], records: Mapping[str, list[dict]], align: str) -> Verdict:
    small, large = runs[0], runs[-1]
    finals = {run["name"]: records[run["name"]][-1] for run in runs}
    accuracies = {run["name"]: finals[run["name"]]["heldout_accuracy"] for run in runs}
    examples_seen = min(final["examples_seen"] for final in finals.values())
    small_acc, large_acc = accuracies[small["name"]], accuracies[large["name"]]
    ahead = small_acc is not None and (large_acc is None or small_acc > large_acc)
    points_ahead = points_compared = None
    if align in ("examples", "time"):
        pairs = list(zip(records[small["name"]], records[large["name"]]))[1:]  # point 0: same weights
        points_compared = len(pairs)
        points_ahead = sum(1 for a, b in pairs if a["heldout_accuracy"] is not None and (
            b["heldout_accuracy"] is None or a["heldout_accuracy"] > b["heldout_accuracy"]))

    def figure(run):
        final = finals[run["name"]]
        acc = accuracies[run["name"]]
        return f"batch {run['batch_size']} {'NaN' if acc is None else f'{acc:.3f}'} ({final['step']:,} updates)"

    text = (f"At {examples_seen:,} examples seen, held-out accuracy: " + ", ".join(figure(r) for r in runs)
            + f". The smaller batch ({small['batch_size']}) was {'ahead of' if ahead else 'not ahead of'} "
            f"the larger ({large['batch_size']})")
    if points_compared:
        text += f"; ahead at {points_ahead} of {points_compared} points of equal examples seen"
    return Verdict(bool(ahead), int(examples_seen), accuracies, points_ahead, points_compared, text + ".")


def _summary_png(path: Path, runs: Sequence[dict], records: Mapping[str, list[dict]],
                 colours: Sequence[tuple[int, int, int]], title: str) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 4.8), dpi=100, layout="constrained")
    axes = figure.subplots(1, 3)
    for run, colour in zip(runs, colours):
        rows = [{key: np.nan if value is None else value for key, value in r.items()}
                for r in records[run["name"]]]  # a diverged run's figures are null
        rgb = tuple(c / 255 for c in colour)
        label = f"batch {run['batch_size']}"
        examples = [r["examples_seen"] for r in rows]
        axes[0].plot(examples, [r["heldout_accuracy"] for r in rows], "o-", ms=3, color=rgb, label=label)
        axes[0].plot(examples, [r["train_accuracy"] for r in rows], ":", color=rgb)
        trained = [r for r in rows if r["step"] > 0]  # a log axis has no 0
        axes[1].plot([r["step"] for r in trained], [r["heldout_accuracy"] for r in trained], "o-", ms=3,
                     color=rgb, label=label)
        axes[2].plot(examples, [r["heldout_loss"] for r in rows], "o-", ms=3, color=rgb, label=label)
    axes[0].set(xlabel="examples seen", ylabel="accuracy",
                title="held-out accuracy (solid), training running accuracy (dotted)")
    axes[1].set(xlabel="updates (log scale)", ylabel="held-out accuracy", xscale="log",
                title="held-out accuracy against updates")
    axes[2].set(xlabel="examples seen", ylabel="held-out loss", title="held-out loss")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    import textwrap

    figure.suptitle("\n".join(textwrap.fill(line, 190) for line in title.splitlines()), fontsize=11)
    figure.savefig(path)


# ---- the public function -----------------------------------------------------------------------

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


def _check_options(*, learning_rate, optimizer, seed, heldout_size, image_indices, layers,
                   channel, cell_px, formats, fps, jobs, threads_per_run, dataset):
    from .datasets import DATASET_NAMES

    if dataset not in DATASET_NAMES and dataset != "fashion-mnist":
        raise ValueError(f"dataset must be one of {', '.join(DATASET_NAMES)}. Received: dataset={dataset!r}.")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) or not (
            0 < learning_rate < math.inf):
        raise ValueError(f"learning_rate must be a positive number. Received: learning_rate={learning_rate!r}.")
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}. Received: optimizer={optimizer!r}.")
    if not _is_int(seed):
        raise ValueError(f"seed must be an integer. Received: seed={seed!r}.")
    _positive_int(heldout_size, "heldout_size")
    if isinstance(image_indices, (str, bytes)) or not isinstance(image_indices, Sequence) or not image_indices \
            or not all(_is_int(i) and i >= 0 for i in image_indices):
        raise ValueError(f"image_indices must be a non-empty list of test-set indices. "
                         f"Received: image_indices={image_indices!r}.")
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers \
            or not all(isinstance(name, str) and name for name in layers):
        raise ValueError(f"layers must be a non-empty list of layer names, e.g. {list(DEFAULT_LAYERS)}. "
                         f"Received: layers={layers!r}.")
    if not _is_int(channel) or channel < 0:
        raise ValueError(f"channel must be a non-negative integer. Received: channel={channel!r}.")
    if not _is_int(cell_px) or not 8 <= cell_px <= 512:
        raise ValueError(f"cell_px must be an integer in 8..512. Received: cell_px={cell_px!r}.")
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(str(f).lower().lstrip(".") for f in formats)
    unknown = [f for f in formats if f not in MOVIE_FORMATS]
    if unknown:
        raise ValueError(f"formats: unknown format {unknown[0]!r}. Valid: {', '.join(MOVIE_FORMATS)}.")
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps < math.inf:
        raise ValueError(f"fps must be a positive number. Received: fps={fps!r}.")
    if jobs is not None:
        _positive_int(jobs, "jobs")
    _positive_int(threads_per_run, "threads_per_run")
    return formats


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
    from .datasets import load_dataset

    # Loaded here too, so that a missing dataset or a bad index fails before any process starts.
    (x_train, _), (x_test, _), _ = load_dataset(dataset, data_dir=data_dir)
    if heldout_size > len(x_test):
        raise ValueError(f"heldout_size must be at most the {len(x_test)} test images. "
                         f"Received: heldout_size={heldout_size}.")
    bad = [i for i in image_indices if i >= len(x_test)]
    if bad:
        raise ValueError(f"image_indices: {bad} out of range for {len(x_test)} test images "
                         f"(valid: 0..{len(x_test) - 1}).")
    train_count = len(x_train)
    del x_train, x_test
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, overwrite)
    from .movie import _available_cpus

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


def _write_movie(out_dir: Path, composer: _Composer, plan, *, formats, fps, overwrite, progress) -> list:
    """Frames as PNGs with a manifest line each, streamed into every movie format."""
    from PIL import Image
    from tqdm import tqdm

    from .movie import writer_for

    frames_dir = out_dir / FRAMES_DIR
    frames_dir.mkdir(parents=True, exist_ok=True)
    writers = [writer_for(out_dir / f"movie.{fmt}", fps=fps, overwrite=overwrite,
                          **({"palette": composer.palette} if fmt == "gif" else {})) for fmt in formats]
    try:
        with open(out_dir / MANIFEST_NAME, "w", encoding="utf-8") as manifest:
            for index, (point, shown) in enumerate(tqdm(plan, desc="movie", unit="frame", file=sys.stderr,
                                                        disable=not progress)):
                frame, figures = composer.frame(point, shown)
                name = f"frame-{index:04d}.png"
                Image.fromarray(frame).save(frames_dir / name, format="PNG", compress_level=1)
                manifest.write(json.dumps({"file": f"{FRAMES_DIR}/{name}", "index": index,
                                           "align": composer.align, "point": point, "runs": figures}) + "\n")
                for writer in writers:
                    writer.grab_frame(frame)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return [movie for movie in (writer.finish() for writer in writers) if movie is not None]
