"""The comparison's schedule, as pure functions: which examples every run reads and in
which order, when each run captures, and which capture of each run each movie frame shows.
(What a comparison's options are, and their checks: `spec.Comparison`.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...checks import check_choice, check_positive_int
from .configs import check_batch_sizes

ALIGNS = ("examples", "steps", "time")
DEFAULT_LAYERS = ("conv1", "pool2", "dense", "output")
DEFAULT_IMAGE_INDICES = (0, 1, 2)  # three classes in both MNIST and Fashion-MNIST
# About this many capture points when the user does not choose the interval.
TARGET_POINTS = 40
# The output folder's layout, shared by the runs, the composer and the summary; the movie's
# frames and their manifest are in FRAMES_DIR and MANIFEST_NAME, as in any run folder.
PANELS_DIR = "panels"


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

    Args:
        align: what the points count: "examples", "steps" or "time".
        batch_sizes: the runs' different batch sizes, smallest first.
        budget_examples: the training examples every run reads.
        every_examples: examples between points (align "examples" or "time"), else None.
        every_steps: updates between points (align "steps"), else None.
        points: the points, from 0: examples (align examples, time) or updates (steps).
        exact: whether every point is a multiple of every batch size.
    """

    align: str
    batch_sizes: tuple[int, ...]
    budget_examples: int
    every_examples: int | None
    every_steps: int | None
    points: tuple[int, ...]   # examples (align examples/time) or updates (align steps)
    exact: bool

    def steps_for(self, batch_size: int) -> int:
        """Updates a run makes to read `budget_examples`.

        Args:
            batch_size: the run's batch size.
        """
        return math.ceil(self.budget_examples / batch_size)

    def run_points(self, batch_size: int) -> tuple[int, ...]:
        """The points a run captures at (its own last step included, for steps).

        Args:
            batch_size: the run's batch size.
        """
        if self.align != "steps":
            return self.points
        last = self.steps_for(batch_size)
        return tuple(p for p in self.points if p < last) + (last,)


def plan_schedule(batch_sizes: Sequence[int], examples: int, *, align: str = "examples",
                  every_examples: int | None = None, every_steps: int | None = None) -> Schedule:
    """The capture schedule for `batch_sizes` reading about `examples` examples each.

    The budget is `examples` rounded down to a multiple of every batch size (their
    least common multiple), so that every run ends after exactly the same data; the
    default interval K is the multiple of that LCM that gives about 40 points. When the
    LCM is more than `examples` (batch sizes 100 and 128 for 3000 examples), the budget
    stays `examples`, each run captures at the first step past each point, and the
    schedule says it is not `exact`.

    >>> plan_schedule([32, 128, 512], 30000).points[:3], plan_schedule([32, 128, 512], 30000).budget_examples
    ((0, 512, 1024), 29696)

    Args:
        batch_sizes: the runs' different batch sizes, one or more.
        examples: about how many examples each run reads; at least the largest batch size.
        align: "examples", "steps" or "time" (see `compare_runs`).
        every_examples: examples between points (align "examples" or "time"); at least
            the largest batch size, at most the budget; default about 40 points.
        every_steps: updates between points (align "steps"); default about 40 points.

    Returns:
        The `Schedule`.

    Raises:
        ValueError: an argument is not valid, or does not go with `align`.
    """
    sizes = check_batch_sizes(list(batch_sizes), at_least=1)
    examples = check_positive_int(examples, "examples")
    check_choice(align, "align", ALIGNS)
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
        step = (check_positive_int(every_steps, "every_steps") if every_steps is not None
                else max(1, math.ceil(longest / TARGET_POINTS)))
        points = tuple(range(0, longest, step)) + (longest,)
        return Schedule(align, sizes, budget, None, step, points, exact=budget % lcm == 0)

    if every_examples is None:
        unit = lcm if lcm <= budget else 1
        every = unit * max(1, round(budget / TARGET_POINTS / unit))
        if every < sizes[-1]:  # every run moves between points
            every = min(budget, unit * math.ceil(sizes[-1] / unit))
    else:
        every = check_positive_int(every_examples, "every_examples")
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
    shuffled permutation of the training set per epoch, from `seed`.

    Args:
        seed: the random seed.
        train_count: the training set's size.
        count: how many examples are read.

    Returns:
        An int array of `count` indices; a longer count gives the same beginning.
    """
    rng = np.random.default_rng([seed, 0])
    epochs = math.ceil(count / train_count)
    return np.concatenate([rng.permutation(train_count) for _ in range(epochs)])[:count]


def heldout_indices(seed: int, test_count: int, size: int) -> np.ndarray:
    """The fixed sample of `size` test images every run is evaluated on.

    Args:
        seed: the random seed.
        test_count: the test set's size.
        size: how many images the sample holds.

    Returns:
        `size` different indices, sorted.
    """
    rng = np.random.default_rng([seed, 1])
    return np.sort(rng.choice(test_count, size=size, replace=False))


def frame_plan(records: Mapping[str, Sequence[Mapping]], *, align: str, points: Sequence[float] | None = None,
               frame_count: int = TARGET_POINTS + 1) -> list[tuple[float, dict[str, int]]]:
    """Which record of each run each movie frame shows: a list of (point, {run: record
    index}). A run shows its last record whose key (the scheduled point for examples,
    the update count for steps, the training seconds for time) is <= the point, so a
    run that has ended shows its final state.

    Args:
        records: each run's manifest lines, by run name, in capture order.
        align: "examples", "steps" or "time".
        points: the frames' points (the schedule's, for examples and steps); for time,
            None spreads `frame_count` points from 0 to the longest run's time.
        frame_count: how many frames, when `points` is None.

    Returns:
        A list of (point, {run name: record index}), one per frame.
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
