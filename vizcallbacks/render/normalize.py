"""How activations become colours: a stack of outputs mapped to [0, 1].

normalization:
  "stable" (default): one range per key (a column, and a channel for feature maps),
    taken over all the images the frame shows it for (0.5 to 99.5 percentile), and
    followed slowly from frame to frame (weight 0.25): colours mean the same from one
    frame to the next, so a movie does not flicker, while still following training as
    it moves the layer.
  "minmax": each map stretched to its own min and max (flickers, shows detail).
  "standardize": the notes' (x - mean) / std * 64 + 128 per map.
"""

from __future__ import annotations

import numpy as np

from .palette import finite, scale_to_unit

__all__ = ["NORMALIZATIONS", "Normalizer"]

NORMALIZATIONS = ("stable", "minmax", "standardize")

# The stable normalization follows each range with this weight per frame: slow enough
# that a movie does not flicker, fast enough to follow training.
_STABLE_SMOOTHING = 0.25
_STABLE_PERCENTILES = (0.5, 99.5)


class Normalizer:
    """Maps a stack of maps (or vectors, or sequences) to [0, 1]; NaN and infinities
    become NaN. One per renderer: the stable mode remembers each key's range.

    Args:
        mode: one of `NORMALIZATIONS`.
    """

    def __init__(self, mode: str):
        self.mode = mode
        self._ranges: dict[tuple, tuple[float, float]] = {}

    def __call__(self, key: tuple, stack: np.ndarray) -> np.ndarray:
        """`stack` (images first) in [0, 1].

        Args:
            key: what the stack is (a column and a channel); the stable mode follows
                each key's range from frame to frame.
            stack: the outputs, one per image along the first axis.

        Returns:
            A float32 array of `stack`'s shape.
        """
        stack = finite(stack.astype(np.float32, copy=False))
        per_map_axes = tuple(range(1, stack.ndim))
        if self.mode == "standardize":  # the notes' (x - mean) / std * 64 + 128
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nanmean(stack, axis=per_map_axes, keepdims=True)
                std = np.nanstd(stack, axis=per_map_axes, keepdims=True)
            return np.clip(((stack - mean) / np.maximum(std, 1e-12) * 64 + 128) / 255, 0, 1)
        if self.mode == "minmax":
            with np.errstate(invalid="ignore"):
                low = np.nanmin(stack, axis=per_map_axes, keepdims=True)
                high = np.nanmax(stack, axis=per_map_axes, keepdims=True)
            return scale_to_unit(stack, low, high)
        return scale_to_unit(stack, *self._stable_range(key, stack))

    def _stable_range(self, key: tuple, stack: np.ndarray) -> tuple[float, float]:
        values = stack[np.isfinite(stack)]
        if values.size == 0:
            return self._ranges.get(key, (0.0, 1.0))
        low, high = np.percentile(values, _STABLE_PERCENTILES)
        previous = self._ranges.get(key)
        if previous is not None:
            low = previous[0] + _STABLE_SMOOTHING * (low - previous[0])
            high = previous[1] + _STABLE_SMOOTHING * (high - previous[1])
        self._ranges[key] = (float(low), float(high))
        return self._ranges[key]
