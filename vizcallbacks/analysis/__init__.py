"""Analyse: a run's records turned into numbers over time, the learning dynamics (DESIGN.md).
Reads what the passes returned or the store kept, never the model.

- ``cka.py``: `linear_cka`, and its Gram form (`centered_gram`, `cka_from_grams`);
- ``forgetting.py``: when each tracked example is learned and forgotten (Toneva et al.);
- ``units.py``: dead (ReLU) and saturated (sigmoid, tanh) units per layer;
- ``tracker.py``: `DynamicsTracker`, all of it frame by frame with bounded memory;
- ``options.py``: `Dynamics` and `Recording`, what the callback's `record` takes;
- ``sink.py``, ``files.py``, ``picture.py``: `dynamics.json`, its raster and `dynamics.png`;
- ``offline.py``: `analyze_run`, what a recorded run's store tells after the fact;
- ``frame.py``: `FrameDynamics`, what a frame draws of it.
"""

from .cka import centered_gram, cka_from_grams, linear_cka
from .files import DYNAMICS_NAME, PICTURE_NAME, RASTER_NAME, read_dynamics, write_dynamics
from .forgetting import Forgetting, forgetting
from .frame import FrameDynamics
from .options import Dynamics, Recording
from .tracker import DynamicsTracker
from .units import inactive_fraction, unit_kind

__all__ = ["linear_cka", "centered_gram", "cka_from_grams", "forgetting", "Forgetting", "inactive_fraction",
           "unit_kind", "Dynamics", "Recording", "DynamicsTracker", "FrameDynamics", "read_dynamics",
           "write_dynamics", "DYNAMICS_NAME", "RASTER_NAME", "PICTURE_NAME"]
