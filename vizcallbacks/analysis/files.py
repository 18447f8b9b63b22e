"""Where a run's dynamics are kept, beside its `frames/` and `store/`: `dynamics.json`
(the numbers), `dynamics_raster.png` (the right/wrong raster as plain pixels, for the
page) and `dynamics.png` (the summary picture, at the end). Each is written whole under a
temporary name and renamed into place, so a reader polling them never sees half a file."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from ..framefiles import write_atomically

__all__ = ["DYNAMICS_NAME", "RASTER_NAME", "PICTURE_NAME", "write_dynamics", "read_dynamics"]

DYNAMICS_NAME = "dynamics.json"
RASTER_NAME = "dynamics_raster.png"
PICTURE_NAME = "dynamics.png"


def _json_safe(value):
    """NaN and infinities as None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def _png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def write_dynamics(run_dir, summary: dict, raster: np.ndarray | None = None) -> Path:
    """Write `dynamics.json` (and `dynamics_raster.png` when given) in `run_dir`, atomically.

    Args:
        run_dir: the run's folder.
        summary: what `DynamicsTracker.summary` returns.
        raster: the (examples, steps, 3) uint8 right/wrong raster, or None.

    Returns:
        The path of `dynamics.json`.
    """
    run_dir = Path(run_dir)
    if raster is not None and raster.size:
        write_atomically(run_dir / RASTER_NAME, _png_bytes(raster))
    return write_atomically(run_dir / DYNAMICS_NAME, json.dumps(_json_safe(summary)).encode("utf-8"))


def read_dynamics(path) -> dict:
    """A run's dynamics, as `write_dynamics` wrote them.

    Args:
        path: the run's folder or its `dynamics.json`.

    Returns:
        The dict (`steps`, `layers`, `examples`, `unforgettable_fraction`).

    Raises:
        FileNotFoundError: no dynamics there.
    """
    path = Path(path)
    path = path / DYNAMICS_NAME if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"path: no {DYNAMICS_NAME} at '{path}'. Record the run with dynamics on "
                                "(record=Dynamics(...), train --dynamics) or run `vizcallbacks analyze` on it.")
    return json.loads(path.read_text(encoding="utf-8"))
