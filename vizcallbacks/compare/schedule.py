"""The comparison's options and its schedule, as pure functions: which options are
valid, which examples every run reads and in which order, when each run captures, and
which capture of each run each movie frame shows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..train import MOVIE_FORMATS, check_formats  # noqa: F401 (MOVIE_FORMATS: the package re-exports it)

ALIGNS = ("examples", "steps", "time")
# Keras optimizer names that take a learning rate and nothing else required.
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
              "lion", "ftrl")
DEFAULT_LAYERS = ("conv1", "pool2", "dense", "output")
DEFAULT_IMAGE_INDICES = (0, 1, 2)  # three classes in both MNIST and Fashion-MNIST
# About this many capture points when the user does not choose the interval.
TARGET_POINTS = 40
# The output folder's layout, shared by the runs, the composer and the summary.
RUNS_DIR, FRAMES_DIR = "runs", "frames"
MANIFEST_NAME = "frames.jsonl"


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


def _check_options(*, learning_rate, optimizer, seed, heldout_size, image_indices, layers,
                   channel, cell_px, formats, fps, jobs, threads_per_run, dataset):
    from ..datasets import DATASET_NAMES

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
    formats = check_formats(formats)
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps < math.inf:
        raise ValueError(f"fps must be a positive number. Received: fps={fps!r}.")
    if jobs is not None:
        _positive_int(jobs, "jobs")
    _positive_int(threads_per_run, "threads_per_run")
    return formats


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
