"""Figures over seeds, as pure functions of the runs' records: per configuration and point
the mean, the spread (min, max, standard deviation) and how many seeds it holds; in how
many seeds the order between configurations held; and the verdict that compares the first
configuration with the last (the smallest batch with the largest).

A diverged run's figures are null (JSON has no NaN): they are left out of means and
spreads (each figure says how many seeds it counts), and such a run is behind every run
that did not diverge.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Spread", "spread", "Runs", "point_stats", "config_curves", "Verdict", "make_verdict"]

_POINT_WORDS = {"examples": "equal examples seen", "steps": "equal updates", "time": "equal training time"}


@dataclass(frozen=True)
class Spread:
    """One figure over seeds.

    Args:
        mean: the mean over the seeds where it is finite; None when it is in none.
        low: the smallest value, or None.
        high: the largest value, or None.
        std: the standard deviation (population), or None.
        seeds: how many seeds it counts (a diverged run's null left out).
    """

    mean: float | None
    low: float | None
    high: float | None
    std: float | None
    seeds: int

    def as_json(self) -> dict:
        """The spread as JSON: mean, min, max, std, seeds."""
        def rounded(value):
            return None if value is None else round(value, 6)
        return {"mean": rounded(self.mean), "min": rounded(self.low), "max": rounded(self.high),
                "std": rounded(self.std), "seeds": self.seeds}


def spread(values: Sequence[float | None]) -> Spread:
    """The `Spread` of `values`, None and non-finite ones left out.

    Args:
        values: one value per seed.

    Returns:
        The spread.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return Spread(None, None, None, None, 0)
    mean = sum(finite) / len(finite)
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / len(finite))
    return Spread(mean, min(finite), max(finite), std, len(finite))


@dataclass(frozen=True)
class Runs:
    """A comparison's runs, as the figures see them.

    Args:
        configs: the configurations' names, in order (the first is compared with the last).
        labels: each configuration's label, by name ("batch 32").
        seeds: the seeds, in order.
        names: the run's name for each (configuration name, seed).
        records: each run's manifest lines, by run name.
        align: what each point holds equal: "examples", "steps" or "time".
        batch_sizes_only: whether the configurations differ by batch size alone.
    """

    configs: tuple[str, ...]
    labels: Mapping[str, str]
    seeds: tuple[int, ...]
    names: Mapping[tuple[str, int], str]
    records: Mapping[str, list]
    align: str
    batch_sizes_only: bool

    def runs_of(self, config: str) -> list[str]:
        """The runs of `config`, one per seed, in seed order.

        Args:
            config: a configuration's name.
        """
        return [self.names[config, seed] for seed in self.seeds]


def _ranked(values: Mapping[str, float | None]) -> list[str]:
    """Names, best first; a null value (diverged) last; ties keep the given order."""
    return sorted(values, key=lambda name: math.inf if values[name] is None else -values[name])


def _ahead(a: float | None, b: float | None) -> bool:
    return a is not None and (b is None or a > b)


def point_stats(runs: Runs, plan: Sequence[tuple[float, Mapping[str, int]]]) -> list[dict]:
    """Per movie frame (see `frame_plan`): each configuration's held-out accuracy and
    loss over the seeds, the order of the configurations by mean accuracy, in how many
    seeds that whole order held, and for each pair in how many seeds the first was ahead.

    Args:
        runs: the runs and their records.
        plan: (point, {run name: record index}) per frame.

    Returns:
        One dict per frame: "point", "heldout_accuracy" and "heldout_loss" ({config:
        spread as JSON}), "order" (configs, best first), "seeds_in_order" (seeds where each
        configuration was strictly ahead of the next in that order) and "ahead" ({"a>b":
        seeds where a was strictly ahead of b}, for each pair a before b).
    """
    points = []
    for point, shown in plan:
        value = {(config, seed): runs.records[runs.names[config, seed]][shown[runs.names[config, seed]]]
                 for config in runs.configs for seed in runs.seeds}
        accuracy = {config: spread([value[config, seed]["heldout_accuracy"] for seed in runs.seeds])
                    for config in runs.configs}
        loss = {config: spread([value[config, seed]["heldout_loss"] for seed in runs.seeds])
                for config in runs.configs}
        order = _ranked({config: accuracy[config].mean for config in runs.configs})
        in_order = sum(1 for seed in runs.seeds if all(  # strictly: at equal weights, no order
            _ahead(value[a, seed]["heldout_accuracy"], value[b, seed]["heldout_accuracy"])
            for a, b in zip(order, order[1:])))
        ahead = {f"{a}>{b}": sum(1 for seed in runs.seeds if _ahead(value[a, seed]["heldout_accuracy"],
                                                                      value[b, seed]["heldout_accuracy"]))
                 for a, b in itertools.combinations(runs.configs, 2)}
        points.append({"point": point, "heldout_accuracy": {c: s.as_json() for c, s in accuracy.items()},
                       "heldout_loss": {c: s.as_json() for c, s in loss.items()}, "order": order,
                       "seeds_in_order": in_order, "ahead": ahead})
    return points


def config_curves(runs: Runs, key: str) -> dict[str, list[tuple[float, Spread]]]:
    """Each configuration's held-out accuracy over the seeds at each of its captures:
    (the capture's key averaged over the seeds, the spread), in capture order. Every
    seed of a configuration captures at the same points (time: about the same).

    Args:
        runs: the runs and their records.
        key: the record's key for the x axis: "examples_seen", "step" or "time_s".

    Returns:
        {config: [(x, Spread)]}.
    """
    curves = {}
    for config in runs.configs:
        by_seed = [runs.records[name] for name in runs.runs_of(config)]
        count = min(len(records) for records in by_seed)
        curves[config] = [(sum(records[i][key] for records in by_seed) / len(by_seed),
                           spread([records[i]["heldout_accuracy"] for records in by_seed]))
                          for i in range(count)]
    return curves


@dataclass(frozen=True)
class Verdict:
    """Whether the first configuration (the smallest batch) was ahead of the last (the
    largest) on held-out accuracy: at the end, at how many aligned points (on the mean
    over seeds), and in how many seeds.

    Args:
        smaller_batch_ahead: when the configurations differ by batch size alone, whether
            the smallest batch's final held-out accuracy (mean over seeds) is the higher;
            else None.
        examples_seen: the examples every run had seen at the end.
        accuracies: each configuration's final held-out accuracy, mean over seeds (None:
            diverged in every seed).
        points_ahead: at how many points after the first the first configuration was
            ahead on the mean.
        points_compared: how many points were compared.
        text: all of it in a sentence or two.
        first: the first configuration's name.
        last: the last configuration's name.
        first_ahead: whether the first was ahead of the last at the end, on the mean.
        seeds: how many seeds each configuration ran with.
        seeds_ahead: in how many seeds the first was ahead of the last at the end.
        seeds_ahead_everywhere: in how many seeds it was ahead at every compared point.
        accuracy_ranges: each configuration's final [min, max] over the seeds.
        best: the configuration with the best final mean.
    """

    smaller_batch_ahead: bool | None
    examples_seen: int
    accuracies: dict
    points_ahead: int | None
    points_compared: int | None
    text: str
    first: str = ""
    last: str = ""
    first_ahead: bool = False
    seeds: int = 1
    seeds_ahead: int = 0
    seeds_ahead_everywhere: int = 0
    accuracy_ranges: dict | None = None
    best: str = ""


def _number(value: float | None) -> str:
    return "NaN" if value is None else f"{value:.3f}"


# long: one sentence per case
def make_verdict(runs: Runs, plan: Sequence[tuple[float, Mapping[str, int]]]) -> Verdict:
    """The comparison's verdict from the runs' records, at the movie's points.

    Args:
        runs: the runs and their records.
        plan: (point, {run name: record index}) per frame (see `frame_plan`).

    Returns:
        The `Verdict`.
    """
    first, last = runs.configs[0], runs.configs[-1]
    finals = {config: [runs.records[name][-1] for name in runs.runs_of(config)] for config in runs.configs}
    final = {config: spread([r["heldout_accuracy"] for r in finals[config]]) for config in runs.configs}
    examples_seen = min(r["examples_seen"] for records in finals.values() for r in records)
    first_ahead = _ahead(final[first].mean, final[last].mean)
    seeds_ahead = sum(1 for a, b in zip(finals[first], finals[last])
                      if _ahead(a["heldout_accuracy"], b["heldout_accuracy"]))
    compared = [shown for _, shown in plan[1:]]  # point 0: the same initial weights

    def accuracy(config, seed, shown):
        name = runs.names[config, seed]
        return runs.records[name][shown[name]]["heldout_accuracy"]

    points_ahead = sum(1 for shown in compared if _ahead(
        spread([accuracy(first, seed, shown) for seed in runs.seeds]).mean,
        spread([accuracy(last, seed, shown) for seed in runs.seeds]).mean))
    everywhere = sum(1 for seed in runs.seeds
                     if all(_ahead(accuracy(first, seed, shown), accuracy(last, seed, shown)) for shown in compared))
    best = _ranked({config: final[config].mean for config in runs.configs})[0]
    updates = {config: finals[config][0]["step"] for config in runs.configs}

    if len(runs.seeds) == 1:
        figures = ", ".join(f"{runs.labels[c]} {_number(final[c].mean)} ({updates[c]:,} updates)"
                            for c in runs.configs)
        text = f"At {examples_seen:,} examples seen, held-out accuracy: {figures}."
    else:
        figures = ", ".join(f"{runs.labels[c]} {_number(final[c].mean)} ({_number(final[c].low)}–"
                            f"{_number(final[c].high)}, {updates[c]:,} updates)" for c in runs.configs)
        text = (f"At {examples_seen:,} examples seen, held-out accuracy over {len(runs.seeds)} seeds "
                f"(mean, min–max): {figures}.")
    if runs.batch_sizes_only:
        who = (f"The smaller batch ({runs.labels[first].removeprefix('batch ')})",
               f"the larger ({runs.labels[last].removeprefix('batch ')})")
    else:
        who = f"The first ({runs.labels[first]})", f"the last ({runs.labels[last]})"
    text += f" {who[0]} was {'ahead of' if first_ahead else 'not ahead of'} {who[1]}"
    words = _POINT_WORDS[runs.align]
    if len(runs.seeds) == 1:
        text += f"; ahead at {points_ahead} of {len(compared)} points of {words}." if compared else "."
    else:
        text += (f" on the mean; ahead at the end in {seeds_ahead} of {len(runs.seeds)} seeds, at every point "
                 f"in {everywhere} of {len(runs.seeds)}; on the mean, ahead at {points_ahead} of "
                 f"{len(compared)} points of {words}.")
    if not runs.batch_sizes_only or len(runs.configs) > 2:
        text += f" Best at the end: {runs.labels[best]} ({_number(final[best].mean)})."
    return Verdict(
        smaller_batch_ahead=bool(first_ahead) if runs.batch_sizes_only else None,
        examples_seen=int(examples_seen), accuracies={c: final[c].mean for c in runs.configs},
        points_ahead=points_ahead, points_compared=len(compared), text=text, first=first, last=last,
        first_ahead=bool(first_ahead), seeds=len(runs.seeds), seeds_ahead=seeds_ahead,
        seeds_ahead_everywhere=everywhere,
        accuracy_ranges={c: [final[c].low, final[c].high] for c in runs.configs}, best=best)
