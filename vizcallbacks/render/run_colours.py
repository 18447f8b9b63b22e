"""The one colour of each configuration of a comparison, read by everything that draws runs
side by side: the compare movie's strip and swatches, summary.png, the page's curves.

A configuration keeps its colour by its position in the comparison, everywhere. The
colours are matplotlib's "tab10" (the colours a reader of matplotlib plots knows, told
apart by most colour-blind readers, readable on white): blue, orange, green first, so
that the first configurations never take the red that a frame uses for a wrong prediction.

TensorBoard has no way to be told a run's colour: its page picks one per run name (a
reader may change it there), so there the runs are told apart by their names only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RUN_COLOURS", "run_colour", "run_rgb", "with_run_colours"]

#: Each configuration's colour, by position, as CSS hex (repeating after the last).
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def run_colour(position: int) -> str:
    """The colour of the configuration at `position` (from 0), as CSS hex ("#1f77b4").

    Args:
        position: the configuration's place in the comparison, from 0.

    Returns:
        "#rrggbb".
    """
    return RUN_COLOURS[position % len(RUN_COLOURS)]


def run_rgb(position: int) -> tuple[int, int, int]:
    """The colour of the configuration at `position` as RGB 0..255 (see `run_colour`).

    Args:
        position: the configuration's place in the comparison, from 0.

    Returns:
        (red, green, blue).
    """
    hex_colour = run_colour(position)
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def with_run_colours(palette: np.ndarray) -> np.ndarray:
    """A frame palette with the run colours after its own, so that a GIF of frames that
    draw runs in their colours keeps every pixel exact (224 + 8 colours: room is left
    for a GIF's transparent entry).

    Args:
        palette: the (N, 3) uint8 palette (`make_palette`).

    Returns:
        An (N + len(RUN_COLOURS), 3) uint8 array.
    """
    extra = np.array([run_rgb(position) for position in range(len(RUN_COLOURS))], dtype=np.uint8)
    return np.concatenate([np.asarray(palette, dtype=np.uint8), extra])
