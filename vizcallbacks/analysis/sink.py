"""`DynamicsSink`: a run's dynamics kept beside its frames. The frame drawer hands it
each frame's tracked passes (`observe`, in the background thread, before the frame is
drawn, so that the frame can show them); as a sink it rewrites `dynamics.json` and
`dynamics_raster.png` with every frame (live, `cka_to_final` still None), and at the end
writes them final with `dynamics.png`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..sinks.base import Sink
from .files import PICTURE_NAME, write_dynamics
from .forgetting import class_indices
from .frame import FrameDynamics
from .options import Dynamics
from .picture import draw_dynamics
from .tracker import DynamicsTracker
from .units import unit_kind

__all__ = ["DynamicsSink"]


class DynamicsSink(Sink):
    """Measures a run's dynamics frame by frame and writes them in `run_dir`.

    Args:
        run_dir: the run's folder (beside `frames/` and `store/`).
        dynamics: what to measure (`Dynamics`).
        layers: per probed layer name (model order), the Keras layer (None when unknown),
            whose activation says whether its units can die or saturate.
        shown_labels: the labels of the shown inputs, or None.
    """

    def __init__(self, run_dir, dynamics: Dynamics, *, layers: Mapping[str, object], shown_labels=None):
        self.run_dir = Path(run_dir)
        indices = dynamics.tracked_indices()
        noisy = np.zeros(len(indices), bool) if dynamics.noisy is None else np.asarray(dynamics.noisy)[indices]
        self.tracker = DynamicsTracker(
            layers={name: unit_kind(layer) for name, layer in layers.items()},
            labels=class_indices(np.asarray(dynamics.y)[indices]), noisy=noisy,
            shown_labels=None if shown_labels is None else class_indices(shown_labels),
            snapshots=dynamics.snapshots)

    def observe(self, step: int, shown, tracked) -> FrameDynamics:
        """Take one frame's passes (in the background thread).

        Args:
            step: the frame's training step.
            shown: the frame's own `Activations` (its `probabilities` for the shown rows).
            tracked: the frame's `TrackedActivations`.

        Returns:
            What the frame draws of the dynamics.
        """
        return self.tracker.observe(step, tracked_probabilities=tracked.probabilities,
                                    layer_outputs=tracked.probe.recorded or tracked.probe.outputs,
                                    shown_probabilities=shown.probabilities)

    def send(self, frame, record) -> None:
        write_dynamics(self.run_dir, self.tracker.summary(), self.tracker.raster())

    def finish(self) -> None:
        if not self.tracker.steps:
            return
        self.tracker.finish()
        summary, raster = self.tracker.summary(), self.tracker.raster()
        write_dynamics(self.run_dir, summary, raster)
        draw_dynamics(summary, raster, self.run_dir / PICTURE_NAME)

    def headline(self) -> dict:
        """The run's dynamics in two figures, for a comparison's summary: the unforgettable
        fraction and, per layer whose units can die or saturate, its dead fraction at the
        last frame.

        Returns:
            {"unforgettable_fraction": float or None, "dead_fraction": {layer: float}}.
        """
        summary = self.tracker.summary()
        dead = {name: layer["dead_fraction"][-1] for name, layer in summary["layers"].items()
                if layer["dead_fraction"] and layer["dead_fraction"][-1] is not None}
        return {"unforgettable_fraction": summary["unforgettable_fraction"], "dead_fraction": dead}

    def describe(self) -> str:
        return f"writing the learning dynamics to '{self.run_dir}'"
