"""The range test's frames: the callback's activation grid with, underneath, the loss
against the learning rate so far (each batch's loss and the smoothed loss, log scale),
a cursor at the current learning rate, and the point where training diverged; the last
frame adds the suggested range. A renderer for `PlotConvCallback` (`renderer_factory=`),
drawn on the grid's palette so that the GIF keeps every frame exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...render.curves import CurveStrip, grey_lut, palette_colours
from ...render import GridRenderer, Stamp
from .rule import DIVERGENCE_FACTOR, SMOOTHING, LearningRateRange, Suggestion, divergence_step, smooth

__all__ = ["LossStrip", "LossStripRenderer"]

_MIN_WIDTH = 720
# palette_colours' order: purple, orange, green, red, grey.
_SMOOTHED, _RANGE, _DIVERGED, _RAW = 0, 2, 3, 4


def _finite(value) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class LossStripRenderer:
    """Draws a range test's frame: the activation grid (a `GridRenderer`) and the loss
    strip under it. Frames come in batch order, one per batch; the stamp's epoch is the
    batch, from 1, as the test trains one batch per epoch.

    Args:
        views: the layers shown (a probe's `views`).
        images: the images, as the model takes them.
        lr_range: the learning rate of each batch.
        smoothing: the smoothed loss's weight of the past (see `rule.smooth`).
        divergence_factor: k in "smoothed loss above k x its lowest" (see `rule`).
        **grid_options: `GridRenderer`'s options (labels, class_names, channels, ...).
    """

    def __init__(self, views, images, *, lr_range: LearningRateRange, smoothing: float = SMOOTHING,
                 divergence_factor: float = DIVERGENCE_FACTOR, **grid_options):
        self.grid = GridRenderer(views, images, **grid_options)
        self.palette = self.grid.palette
        self.lut = grey_lut(self.palette)
        self.colours = palette_colours(self.palette, 5)
        self.lr_range, self.smoothing, self.divergence_factor = lr_range, smoothing, divergence_factor
        grid_h, grid_w = self.grid.frame_size
        width = max(grid_w, _MIN_WIDTH)
        self.width = width + width % 2
        self.strip: CurveStrip | None = None  # made at the first frame, whose loss sets the y axis
        self.strip_h = CurveStrip.height_for(2)
        self.frame_size = (grid_h + self.strip_h, self.width)
        self.losses: list[float | None] = []
        self.last_panel: np.ndarray | None = None

    def _make_strip(self, first_loss: float | None) -> CurveStrip:
        top = 1.25 * (first_loss if first_loss else math.log(10))
        return CurveStrip(
            self.width, title=f"training loss against the learning rate (×{self.lr_range.factor:.3f} a batch)",
            x_label="learning rate (log scale)", x_range=(self.lr_range.min_lr, self.lr_range.max_lr),
            y_range=(0.0, top), names=["loss", "smoothed loss"],
            colours=[self.colours[_RAW], self.colours[_SMOOTHED]], x_log=True, x_format=lambda x: f"{x:g}")

    def render(self, activations, stamp: Stamp = Stamp()) -> np.ndarray:
        """One frame: the grid, stamped with the batch, and the strip up to this batch.

        Args:
            activations: the forward pass (see `ConvPlotter.capture`).
            stamp: the callback's stamp; its epoch is the batch, from 1.

        Returns:
            The frame, (height, width, 3) uint8 on the palette.
        """
        step = (stamp.epoch or 1) - 1
        self.losses[step:] = []  # frames come in order; a repeated batch replaces its loss
        self.losses += [None] * (step - len(self.losses)) + [_finite(stamp.loss)]
        if self.strip is None:
            self.strip = self._make_strip(self.losses[0])
        lr = self.lr_range.lr(step)
        self.last_panel = self.grid.render(activations, Stamp(batch=step, accuracy=stamp.accuracy, loss=stamp.loss))
        return self._compose(self.last_panel, cursor=lr, suggestion=None)

    def conclude(self, suggestion: Suggestion) -> np.ndarray:
        """The last frame: the last batch's grid, the whole curve, the suggested range
        shaded and the divergence marked.

        Args:
            suggestion: what `rule.suggest` found.

        Returns:
            The frame, as `render` returns it.

        Raises:
            RuntimeError: no frame was rendered yet.
        """
        if self.last_panel is None or self.strip is None:
            raise RuntimeError("conclude() comes after the frames: no frame was rendered yet.")
        return self._compose(self.last_panel, cursor=None, suggestion=suggestion)

    def _compose(self, panel: np.ndarray, *, cursor: float | None, suggestion: Suggestion | None) -> np.ndarray:
        from PIL import Image, ImageDraw

        lrs = [self.lr_range.lr(step) for step in range(len(self.losses))]
        smoothed = smooth(self.losses, self.smoothing)
        legend = [f"loss: {_text(self.losses[-1])}", f"smoothed: {_text(smoothed[-1])}"]
        if suggestion is not None and suggestion.low is not None:
            legend.append(f"range: {suggestion.low:.3g}–{suggestion.high:.3g}")
        layer = self.strip.text_layer(cursor, legend, cursor_text=None if cursor is None else f"lr {cursor:.3g}")
        grid_h, grid_w = panel.shape[:2]
        frame = np.empty((self.frame_size[0], self.width, 3), np.uint8)
        frame[:grid_h] = self.lut[255]
        frame[:grid_h, :grid_w] = panel
        frame[grid_h:] = self.lut[np.asarray(layer)]
        if suggestion is not None and suggestion.low is not None:
            self.strip.shade(frame, grid_h, suggestion.low, suggestion.high, self.colours[_RANGE])
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        self.strip.draw_lines(draw, grid_h, [list(zip(lrs, self.losses)), list(zip(lrs, smoothed))],
                              markers=False, width=(1, 3))
        diverged = divergence_step(self.losses, smoothed, self.divergence_factor)
        if diverged is not None:
            loss = self.losses[diverged]
            self.strip.mark(draw, grid_h, lrs[diverged], self.strip.y_high if loss is None else loss,
                            self.colours[_DIVERGED], f"diverged at lr {lrs[diverged]:.3g}: loss {_text(loss)}")
        if suggestion is not None and suggestion.low is not None:
            self.strip.mark(draw, grid_h, suggestion.steepest_lr, _nearest(lrs, smoothed, suggestion.steepest_lr),
                            self.colours[_RANGE], "steepest")
        return np.asarray(image)


def _text(value: float | None) -> str:
    return "NaN" if value is None else f"{value:.3f}"


def _nearest(lrs: Sequence[float], values: Sequence[float | None], lr: float) -> float:
    index = int(np.argmin([abs(math.log(x / lr)) for x in lrs]))
    return values[index] if values[index] is not None else 0.0


class LossStrip:
    """A `renderer_factory` for `PlotConvCallback`: makes the `LossStripRenderer` and keeps
    it, so that the test can draw its last frame with the suggested range.

    >>> strip = LossStrip(LearningRateRange(1e-4, 10, 200))
    >>> callback = PlotConvCallback(images, frames_dir=..., every_n_batches=1, renderer_factory=strip)

    Args:
        lr_range: the learning rate of each batch.
        smoothing: the smoothed loss's weight of the past.
        divergence_factor: k in "smoothed loss above k x its lowest".
    """

    #: The kinds of layer output it draws (the grid's).
    KINDS = GridRenderer.KINDS

    def __init__(self, lr_range: LearningRateRange, *, smoothing: float = SMOOTHING,
                 divergence_factor: float = DIVERGENCE_FACTOR):
        self.lr_range, self.smoothing, self.divergence_factor = lr_range, smoothing, divergence_factor
        self.renderer: LossStripRenderer | None = None

    def __call__(self, views, images, **grid_options) -> LossStripRenderer:
        """Make the renderer, as `ConvPlotter` calls a renderer factory.

        Args:
            views: the layers shown.
            images: the images, as the model takes them.
            **grid_options: `GridRenderer`'s options.
        """
        self.renderer = LossStripRenderer(views, images, lr_range=self.lr_range, smoothing=self.smoothing,
                                          divergence_factor=self.divergence_factor, **grid_options)
        return self.renderer
