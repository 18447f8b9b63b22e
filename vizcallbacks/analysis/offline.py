"""`analyze_run`: the learning dynamics a recorded run tells after the fact, from its
activation store alone (NumPy; no Keras, no model).

A store keeps the shown inputs only, so this is the dynamics of those few: their
forgetting (from the recorded outputs and labels), each recorded layer's CKA to the
final and the previous frame, and dead units. What it cannot know: the layers'
activations (the store keeps the layer's class, not its activation), so a layer counts
as ReLU-family when it computes units (`COMPUTING`: dense, conv, activation layers) and
every value it recorded at the last frame is >= 0 with some exactly 0; saturation is not
inferred. A live run (`record=Dynamics(...)`) tracks
hundreds of training examples instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..capture.outputs import to_probabilities
from ..record.reader import RecordedRun, open_run
from .files import PICTURE_NAME, write_dynamics
from .forgetting import class_indices
from .picture import draw_dynamics
from .tracker import DynamicsTracker

__all__ = ["analyze_run", "COMPUTING"]

#: Layer classes whose last axis are units of their own; a pooling or a flatten layer
#: only passes on another's.
COMPUTING = ("Dense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D",
             "ReLU", "Activation")


def _relu_like(run: RecordedRun, layer: str) -> bool:
    """Whether a layer reads as ReLU-family from its class and what it recorded."""
    if run.drawing.get("layer_classes", {}).get(layer) not in COMPUTING:
        return False
    values = run.activations(layer, frames=[-1])
    return bool(values.size) and float(values.min()) >= 0 and bool((values == 0).any())


def analyze_run(path, *, out_dir=None) -> dict:
    """Compute a recorded run's dynamics and write `dynamics.json`, `dynamics_raster.png`
    and `dynamics.png` beside its store.

    >>> summary = analyze_run("output/fashion_mnist")
    >>> summary["unforgettable_fraction"], list(summary["layers"])

    Args:
        path: the run's folder or its store (see `vizcallbacks.open_run`).
        out_dir: where to write; default the folder that holds the store.

    Returns:
        The dynamics, as `dynamics.json` holds them.

    Raises:
        FileNotFoundError: no store there.
        ValueError: the run recorded no frame, no output or no labels of a classifier.
    """
    run = open_run(path)
    if not run.steps:
        raise ValueError(f"path: the run in '{run.path}' recorded no frame yet; nothing to analyse.")
    if run.labels is None or run.drawing.get("output_kind") == "regression":
        raise ValueError(f"path: the run in '{run.path}' has no class labels for its inputs: forgetting needs "
                         "a classifier's run recorded with labels.")
    out_dir = Path(out_dir) if out_dir is not None else run.path.parent
    outputs = run.output()
    tracker = DynamicsTracker(layers={name: "relu" if _relu_like(run, name) else None for name in run.layers},
                              labels=class_indices(run.labels), noisy=np.zeros(len(run.labels), bool),
                              shown_labels=None, snapshots=max(2, len(run.steps)))
    for position, step in enumerate(run.steps):
        frame = run.frame(position)
        probabilities = to_probabilities(outputs[position])
        if probabilities is None:
            raise ValueError(f"path: the run in '{run.path}' recorded outputs of shape {outputs.shape[2:]}, "
                             "not class scores.")
        tracker.observe(step, tracked_probabilities=probabilities, shown_probabilities=None,
                        layer_outputs=[frame.activations[name] for name in run.layers])
    tracker.finish()
    summary, raster = tracker.summary(), tracker.raster()
    write_dynamics(out_dir, summary, raster)
    draw_dynamics(summary, raster, out_dir / PICTURE_NAME)
    return summary
