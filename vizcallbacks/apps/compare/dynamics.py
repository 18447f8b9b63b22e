"""The configurations' learning dynamics side by side, for `summary.json`: what each run's
`dynamics.json` says in two figures (`DynamicsSink.headline`), averaged over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["dynamics_by_config"]


def _mean(values: list) -> float | None:
    values = [value for value in values if value is not None]
    return round(float(np.mean(values)), 6) if values else None


def dynamics_by_config(configs: Sequence, summaries: Sequence[dict]) -> dict:
    """Per configuration (in order), the unforgettable fraction and each layer's final dead
    fraction, each the mean over the configuration's seeds.

    >>> dynamics_by_config(plan.configs, summaries)["bs32"]
    {'unforgettable_fraction': 0.61, 'dead_fraction': {'conv1': 0.0, 'dense': 0.31}, 'seeds': 3}

    Args:
        configs: the comparison's configurations (`Config`), in order.
        summaries: what each run returned (its run.json), with its "dynamics".

    Returns:
        {config name: {"unforgettable_fraction", "dead_fraction": {layer: fraction}, "seeds"}};
        {} when no run measured its dynamics.
    """
    found = {}
    for config in configs:
        runs = [s["dynamics"] for s in summaries if s["config"] == config.name and s.get("dynamics")]
        if not runs:
            continue
        layers = list(dict.fromkeys(name for run in runs for name in run["dead_fraction"]))
        found[config.name] = {
            "unforgettable_fraction": _mean([run["unforgettable_fraction"] for run in runs]),
            "dead_fraction": {name: _mean([run["dead_fraction"].get(name) for run in runs]) for name in layers},
            "seeds": len(runs)}
    return found
