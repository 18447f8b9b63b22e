"""What the page shows of a run's learning dynamics (issue 19), read from the
`dynamics.json` beside it: a layer x time map of linear CKA (to the final state once the
run has ended, to the previous frame while it runs), the examples x time right/wrong
raster (`dynamics_raster.png`, referred to, not embedded) with the examples whose label was
flipped marked, and each layer's dead fraction over time. `page_dynamics.js` draws them.

A run without `dynamics.json` has no panels; one whose file cannot be read gets a warning
and no panels, never a failed page.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DYNAMICS_NAME", "RASTER_NAME", "dynamics_data", "raster_order"]

#: The analysis' files beside a run's manifest (written by the analysis at every frame).
DYNAMICS_NAME = "dynamics.json"
RASTER_NAME = "dynamics_raster.png"


def dynamics_data(run_dir: Path, url_of) -> dict | None:
    """The dynamics panels' data for the run in `run_dir`, or None when it has none.

    Args:
        run_dir: the run's folder, where `dynamics.json` is.
        url_of: turns a file's path into the page's reference to it (relative to the page).

    Returns:
        None, or {"steps", "cka": {"kind": "final" | "previous", "layers", "values"},
        "dead": {"layers", "values"}, "raster": {"src", "examples", "noisy_rows"} or None,
        "unforgettable_fraction"}: one value per step for each layer, None where unknown.
    """
    path = Path(run_dir) / DYNAMICS_NAME
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _panels(raw, url_of(path.parent / RASTER_NAME) if (path.parent / RASTER_NAME).is_file() else None)
    except (OSError, ValueError, TypeError, KeyError) as error:
        warnings.warn(f"write_page: {str(path)!r} cannot be read ({error}); the page has no dynamics panels.",
                      stacklevel=3)
        return None


def raster_order(first_learned: list) -> list[int]:
    """The examples in the raster's order, top to bottom: by the step each was first
    learned, the examples never learned last, ties in their own order.

    Args:
        first_learned: per tracked example, the step it was first learned, or None.

    Returns:
        The examples' indices, in raster rows.
    """
    return sorted(range(len(first_learned)),
                  key=lambda example: (first_learned[example] is None, first_learned[example] or 0))


def _number(value):
    """A finite number for the page's JSON, else None (NaN is not JSON)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _series(values, steps: int, key: str, layer: str) -> list:
    if not isinstance(values, list) or len(values) != steps:
        raise ValueError(f"layer {layer!r}: {key} must hold one value per step ({steps})")
    return [_number(value) for value in values]


def _panels(raw: Mapping, raster_src: str | None) -> dict:
    steps = [int(step) for step in raw["steps"]]
    layers = raw["layers"]
    if not isinstance(layers, Mapping):
        raise TypeError("'layers' must map layer names to their series")
    names = list(layers)
    to_final = [_series(layers[name]["cka_to_final"], len(steps), "cka_to_final", name) for name in names]
    ended = any(value is not None for series in to_final for value in series)
    cka = to_final if ended else [
        _series(layers[name]["cka_to_previous"], len(steps), "cka_to_previous", name) for name in names]
    return {
        "steps": steps,
        "cka": {"kind": "final" if ended else "previous", "layers": names, "values": cka},
        "dead": {"layers": names,
                 "values": [_series(layers[name]["dead_fraction"], len(steps), "dead_fraction", name)
                            for name in names]},
        "raster": None if raster_src is None else _raster(raw.get("examples") or [], raster_src),
        "unforgettable_fraction": _number(raw.get("unforgettable_fraction")),
    }


def _raster(examples, src: str) -> dict:
    # dynamics.json keeps one entry per tracked example ({"first_learned_step", "noisy", ...}).
    first_learned = [example.get("first_learned_step") for example in examples]
    noisy = [bool(example.get("noisy")) for example in examples]
    rows = raster_order(first_learned)
    return {"src": src, "examples": len(first_learned),
            "noisy_rows": [row for row, example in enumerate(rows) if example < len(noisy) and noisy[example]]}
