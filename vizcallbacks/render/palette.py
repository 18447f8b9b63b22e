"""The fixed palette every frame is drawn from, and values turned into its indices.

A frame is composed as an image of palette indices: `CMAP_LEVELS` colours of the
colormap, 32 greys for text and background, green and red for right and wrong
predictions. So every frame uses the same 224 colours, and a GIF can use that palette
exactly (see `make_palette`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CMAP_LEVELS", "GREY0", "GREY_LEVELS", "WHITE", "NAN", "GREEN", "RED", "GREY_OF_L",
           "make_palette", "to_indices", "scale_to_unit", "finite", "grey"]

# 190 colormap levels are as smooth to the eye as 256 (neighbours differ by about one
# unit of 255), and leave a GIF room for a transparent entry, which makes it much smaller.
CMAP_LEVELS = 190
GREY0 = CMAP_LEVELS
GREY_LEVELS = 32
WHITE = GREY0 + GREY_LEVELS - 1
NAN = GREY0 + 18          # a mid grey: a NaN or infinite value, never a colormap colour
GREEN = GREY0 + GREY_LEVELS
RED = GREEN + 1
#: The palette index of each 8-bit grey level (0 black .. 255 white), for text drawn in "L" mode.
GREY_OF_L = (GREY0 + np.rint(np.arange(256) * (GREY_LEVELS - 1) / 255)).astype(np.uint8)


def grey(level: int) -> int:
    """The palette index of an 8-bit grey.

    Args:
        level: 0 (black) to 255 (white).

    Returns:
        The index of the nearest of the palette's greys.
    """
    return int(GREY_OF_L[level])


def make_palette(cmap: str) -> np.ndarray:
    """The 224 RGB colours every frame is drawn with, for colormap `cmap`: `CMAP_LEVELS` of
    the colormap, 32 greys, then green and red.

    Args:
        cmap: a matplotlib colormap name.

    Returns:
        A (224, 3) uint8 array.
    """
    import matplotlib

    colours = matplotlib.colormaps[cmap](np.linspace(0, 1, CMAP_LEVELS))[:, :3]
    greys = np.repeat(np.linspace(0, 1, GREY_LEVELS)[:, None], 3, axis=1)
    accents = np.array([[0.10, 0.62, 0.20], [0.85, 0.15, 0.15]])
    return np.rint(np.concatenate([colours, greys, accents]) * 255).astype(np.uint8)


def to_indices(unit: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as colormap indices; NaN as the NaN grey.

    Args:
        unit: an array of values in [0, 1] or NaN.

    Returns:
        A uint8 array of palette indices, of `unit`'s shape.
    """
    indices = np.rint(np.nan_to_num(unit, nan=0.0) * (CMAP_LEVELS - 1)).astype(np.uint8)
    indices[np.isnan(unit)] = NAN
    return indices


def scale_to_unit(values: np.ndarray, low, high) -> np.ndarray:
    """`values` mapped from [low, high] to [0, 1], clipped; NaN stays NaN.

    Args:
        values: an array.
        low: the value shown darkest (a number, or an array that broadcasts).
        high: the value shown brightest.

    Returns:
        A float array of `values`' shape.
    """
    span = np.maximum(high - low, 1e-12)
    return np.clip((values - low) / span, 0.0, 1.0)


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """The lowest and highest finite value of `values`; (0, 1) when none is finite, so
    that NaN and infinities never make the range of the numbers around them.

    Args:
        values: an array.
    """
    known = values[np.isfinite(values)]
    if not known.size:
        return 0.0, 1.0
    return float(known.min()), float(known.max())


def finite(values: np.ndarray) -> np.ndarray:
    """`values` with infinities as NaN, so that both are drawn as "no number".

    Args:
        values: a float array.

    Returns:
        A float array of `values`' shape.
    """
    return np.where(np.isfinite(values), values, np.nan)
