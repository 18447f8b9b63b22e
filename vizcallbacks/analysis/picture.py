"""`dynamics.png`: the summary picture of a run's dynamics, drawn once at its end with
matplotlib (Agg): CKA to the final state per layer over time (the picture of SVCCA's
"bottom-up" figure), the examples x time right/wrong raster, the dead fractions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..framefiles import partial_path

__all__ = ["draw_dynamics"]


def _cka_map(summary: dict) -> np.ndarray:
    rows = [[np.nan if value is None else value for value in layer["cka_to_final"]]
            for layer in summary["layers"].values()]
    return np.array(rows, dtype=float).reshape(len(rows), len(summary["steps"]))


def draw_dynamics(summary: dict, raster: np.ndarray, path) -> Path:
    """Draw the summary picture and write it atomically at `path`.

    Args:
        summary: what `DynamicsTracker.summary` returns, `cka_to_final` filled.
        raster: the (examples, steps, 3) uint8 right/wrong raster.
        path: the PNG to write.

    Returns:
        `Path(path)`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    path, steps, names = Path(path), summary["steps"], list(summary["layers"])
    figure = Figure(figsize=(13, 4.2), dpi=100, layout="constrained")
    axes = figure.subplots(1, 3)
    extent = (steps[0], steps[-1], len(names) - 0.5, -0.5) if steps else None
    image = axes[0].imshow(_cka_map(summary), aspect="auto", vmin=0, vmax=1, cmap="viridis",
                           interpolation="nearest", extent=extent)
    axes[0].set(yticks=range(len(names)), yticklabels=names, xlabel="step", title="linear CKA to the final state")
    figure.colorbar(image, ax=axes[0], fraction=0.05)
    axes[1].imshow(raster, aspect="auto", interpolation="nearest",
                   extent=(steps[0], steps[-1], len(raster), 0) if steps else None)
    fraction = summary.get("unforgettable_fraction")
    axes[1].set(xlabel="step", ylabel="tracked example (by first learned step)",
                title="right (green) / wrong (red)" + ("" if fraction is None else f", unforgettable {fraction:.1%}"))
    for name, layer in summary["layers"].items():
        values = [np.nan if value is None else value for value in layer["dead_fraction"]]
        if not all(np.isnan(values)):
            axes[2].plot(steps, values, label=name)
    axes[2].set(xlabel="step", ylabel="fraction of units", ylim=(-0.02, 1.02), title="dead (ReLU) / saturated units")
    if axes[2].lines:
        axes[2].legend(fontsize=8)
    partial = partial_path(path)
    figure.savefig(partial, format="png")
    os.replace(partial, path)
    return path
