"""A strip of curves under a movie frame, drawn with PIL on the panels' palette (so that a
GIF keeps every frame exact): axes, ticks and labels drawn once, then per frame a cursor,
legend values, lines, bands (a stippled min-max area) and markers.

`compare` draws held-out accuracy against examples seen with it, `lr-find` the loss
against the learning rate.

>>> strip = CurveStrip(800, title="loss", x_label="learning rate", x_range=(1e-4, 10), y_range=(0, 3),
...                    x_log=True, names=["loss"], colours=palette_colours(palette, 1))
>>> layer = strip.text_layer(0.01, ["loss: 1.234"])      # L image: axes, cursor, legend text
>>> frame = lut[np.asarray(layer)]                          # on the palette's greys
>>> strip.draw_lines(ImageDraw.Draw(image), 0, [[(1e-4, 2.3), (1e-3, 2.1)]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from . import font

__all__ = ["CurveStrip", "grey_lut", "palette_colours", "nice_ticks", "STRIP_H", "LEGEND_ROW_H"]

#: The strip's least height, and the height of one legend row, in pixels.
STRIP_H = 250
LEGEND_ROW_H = 20
# Target colours for the curves; each becomes the nearest colour of the palette.
_TARGETS = ((80, 20, 140), (245, 125, 20), (30, 160, 50), (215, 40, 40), (150, 150, 150),
            (190, 60, 120), (20, 20, 20), (250, 200, 40))
_TOP, _BOTTOM_MARGIN, _LEFT = 40, 44, 64


def grey_lut(palette: np.ndarray) -> np.ndarray:
    """RGB of the palette grey nearest to each of the 256 L values: text is drawn in L
    (antialiased) and lands on the palette's greys.

    Args:
        palette: the (N, 3) uint8 palette.

    Returns:
        A (256, 3) uint8 array: index it with an L image.
    """
    greys = np.flatnonzero((palette[:, 0] == palette[:, 1]) & (palette[:, 1] == palette[:, 2]))
    levels = palette[greys, 0].astype(np.int64)
    nearest = np.abs(np.arange(256)[:, None] - levels[None, :]).argmin(axis=1)
    return palette[greys[nearest]]


def palette_colours(palette: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    """`count` curve colours, each the palette's nearest to a fixed target (repeating after
    eight).

    Args:
        palette: the (N, 3) uint8 palette.
        count: how many colours.

    Returns:
        RGB tuples.
    """
    colours = []
    for i in range(count):
        target = np.array(_TARGETS[i % len(_TARGETS)], dtype=np.int64)
        nearest = int(((palette.astype(np.int64) - target) ** 2).sum(axis=1).argmin())
        colours.append(tuple(int(c) for c in palette[nearest]))
    return colours


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values between `low` and `high` (matplotlib's `MaxNLocator`).

    Args:
        low: the axis's start.
        high: the axis's end.
        count: about how many ticks.
        integer: integers only.

    Returns:
        The ticks within [low, high].
    """
    from matplotlib.ticker import MaxNLocator

    return [float(t) for t in MaxNLocator(nbins=count, integer=integer).tick_values(low, high)
            if low - 1e-9 <= t <= high + 1e-9]


def _log_ticks(low: float, high: float, most: int = 8) -> list[float]:
    """Powers of ten between `low` and `high`, every k-th so that at most `most` remain."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    step = max(1, math.ceil((last - first + 1) / most))
    return [10.0 ** e for e in range(first, last + 1, step) if low * (1 - 1e-9) <= 10.0 ** e <= high * (1 + 1e-9)]


class CurveStrip:
    """Curves against one axis, with a cursor at the current point and a legend at the
    right; the axes, ticks and labels are drawn once.

    Args:
        width: the strip's width in pixels (the frame's).
        title: the line above the plot.
        x_label: the x axis's label.
        x_range: (first, last) on the x axis; with `x_log`, both positive.
        y_range: (low, high) on the y axis; values outside are drawn at the edge.
        names: one legend row per curve.
        colours: one RGB colour per curve, from the palette.
        x_log: a logarithmic x axis.
        x_format: a tick's or the cursor's text from its x value.
        integer_ticks: x ticks at integers only (linear axis).
        legend_width: the legend's width in pixels, at the right.
        y_format: a y tick's text from its value.
    """

    def __init__(self, width: int, *, title: str, x_label: str, x_range: tuple[float, float],
                 y_range: tuple[float, float], names: Sequence[str], colours: Sequence[tuple[int, int, int]],
                 x_log: bool = False, x_format: Callable[[float], str] = lambda x: f"{x:g}",
                 integer_ticks: bool = False, legend_width: int = 190,
                 y_format: Callable[[float], str] = lambda y: f"{y:.2f}"):
        from PIL import Image, ImageDraw

        self.names, self.colours, self.x_log, self.x_format = list(names), list(colours), x_log, x_format
        self.width = width
        self.height = self.height_for(len(self.names))
        self.left, self.right = _LEFT, width - legend_width
        self.top, self.bottom = _TOP, self.height - _BOTTOM_MARGIN
        first, last = x_range
        if x_log:
            self.x_low, self.x_high = math.log10(first), math.log10(last)
        else:
            self.x_low, self.x_high = first, last if last > first else first + 1.0
        self.y_low, self.y_high = y_range
        base = Image.new("L", (width, self.height), 255)
        draw = ImageDraw.Draw(base)
        small = font(11)
        draw.text((self.left, 4), title, fill=0, font=font(13, bold=True))
        for y in nice_ticks(self.y_low, self.y_high):
            py = self.y_px(y)
            draw.line([(self.left, py), (self.right, py)], fill=225)
            draw.text((self.left - 6, py), y_format(y), fill=60, font=small, anchor="rm")
        ticks = _log_ticks(first, last) if x_log else nice_ticks(first, last, 6, integer=integer_ticks)
        for x in ticks:
            px = self.x_px(x)
            draw.line([(px, self.top), (px, self.bottom)], fill=235)
            draw.text((px, self.bottom + 6), x_format(x), fill=60, font=small, anchor="mt")
        draw.rectangle([self.left, self.top, self.right, self.bottom], outline=120)
        draw.text(((self.left + self.right) // 2, self.bottom + 24), x_label, fill=40, font=font(12), anchor="mt")
        self.base = base

    @staticmethod
    def height_for(legend_rows: int) -> int:
        """The strip's height in pixels with this many legend rows.

        Args:
            legend_rows: the curves (and other legend lines) listed at the right.
        """
        return max(STRIP_H, _TOP + _BOTTOM_MARGIN + LEGEND_ROW_H * legend_rows + 12)

    def x_px(self, x: float) -> int:
        """The pixel column of `x`, clipped to the plot.

        Args:
            x: a value on the x axis.
        """
        value = math.log10(max(x, 1e-300)) if self.x_log else x
        unit = (value - self.x_low) / (self.x_high - self.x_low)
        return round(self.left + (self.right - self.left) * min(max(unit, 0.0), 1.0))

    def y_px(self, y: float) -> int:
        """The pixel row of `y`, clipped to the plot.

        Args:
            y: a value on the y axis.
        """
        span = max(self.y_high - self.y_low, 1e-9)
        return round(self.bottom - (self.bottom - self.top) * min(max((y - self.y_low) / span, 0.0), 1.0))

    def text_layer(self, cursor: float | None, legend: Sequence[str], *, cursor_text: str | None = None):
        """The strip's L layer for one frame: the base, a dashed cursor and the legend.

        Args:
            cursor: the cursor's x value, or None for none.
            legend: one text per curve, beside its colour.
            cursor_text: the text over the cursor; default `x_format(cursor)`.

        Returns:
            A `PIL.Image` in mode "L", `width` x `height`.
        """
        from PIL import ImageDraw

        layer = self.base.copy()
        draw = ImageDraw.Draw(layer)
        if cursor is not None:
            px = self.x_px(cursor)
            for y in range(self.top, self.bottom, 6):
                draw.line([(px, y), (px, min(y + 3, self.bottom))], fill=90)
            draw.text((px, self.top - 2), self.x_format(cursor) if cursor_text is None else cursor_text,
                      fill=30, font=font(11), anchor="mb")
        for i, text in enumerate(legend):
            draw.text((self.right + 34, self.top + 6 + i * LEGEND_ROW_H), text, fill=0, font=font(12))
        return layer

    def draw_lines(self, draw, offset_y: int, curves: Sequence[Sequence[tuple[float, float | None]]], *,
                   markers: bool = True, width: int | Sequence[int] = 2) -> None:
        """Each curve in its colour (a point with a None value is skipped), and the legend's
        colour boxes.

        Args:
            draw: a `PIL.ImageDraw` on the frame.
            offset_y: the strip's top row in the frame.
            curves: one list of (x, y) per curve, in `names` order.
            markers: a small square at every point.
            width: the lines' width in pixels: one for all, or one per curve.
        """
        widths = [width] * len(curves) if isinstance(width, int) else list(width)
        for i, (curve, colour) in enumerate(zip(curves, self.colours)):
            y = offset_y + self.top + 6 + i * LEGEND_ROW_H
            draw.rectangle([self.right + 12, y + 3, self.right + 28, y + 11], fill=colour)
            pixels = [(self.x_px(x), offset_y + self.y_px(v)) for x, v in curve if v is not None]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=widths[i])
            if markers:
                for px, py in pixels:
                    draw.rectangle([px - 2, py - 2, px + 2, py + 2], fill=colour)

    def fill_bands(self, frame: np.ndarray, offset_y: int,
                   bands: Sequence[Sequence[tuple[float, float | None, float | None]]]) -> None:
        """Each curve's band, between its low and high values, stippled in its colour (one
        pixel in four, offset per curve, so that up to four bands interleave).

        Args:
            frame: the frame, an (H, W, 3) uint8 array, changed in place.
            offset_y: the strip's top row in the frame.
            bands: one list of (x, low, high) per curve; points with None are skipped.
        """
        from PIL import Image, ImageDraw

        rows, cols = np.mgrid[0:self.height, 0:self.width]
        for i, (band, colour) in enumerate(zip(bands, self.colours)):
            kept = [(x, low, high) for x, low, high in band if low is not None and high is not None]
            if len(kept) < 2:
                continue
            outline = ([(self.x_px(x), self.y_px(high)) for x, _, high in kept]
                       + [(self.x_px(x), self.y_px(low)) for x, low, _ in reversed(kept)])
            mask = Image.new("1", (self.width, self.height), 0)
            ImageDraw.Draw(mask).polygon(outline, fill=1, outline=1)
            stipple = ((rows + offset_y) % 2 == (i // 2) % 2) & (cols % 2 == i % 2)
            inside = np.asarray(mask, dtype=bool) & stipple
            frame[offset_y:offset_y + self.height][inside] = colour

    def mark(self, draw, offset_y: int, x: float, y: float, colour: tuple[int, int, int], text: str = "") -> None:
        """A cross at (x, y) (clipped to the plot) with a label beside it.

        Args:
            draw: a `PIL.ImageDraw` on the frame.
            offset_y: the strip's top row in the frame.
            x: the x value.
            y: the y value.
            colour: the cross's and label's colour.
            text: the label.
        """
        px, py = self.x_px(x), offset_y + self.y_px(y)
        draw.line([(px - 6, py - 6), (px + 6, py + 6)], fill=colour, width=3)
        draw.line([(px - 6, py + 6), (px + 6, py - 6)], fill=colour, width=3)
        if text:
            draw.fontmode = "1"  # no antialiasing: coloured text stays on the palette
            anchor = "rm" if px > (self.left + self.right) / 2 else "lm"
            draw.text((px - 10 if anchor == "rm" else px + 10, py + (12 if py < offset_y + self.top + 12 else 0)),
                      text, fill=colour, font=font(12, bold=True), anchor=anchor)

    def shade(self, frame: np.ndarray, offset_y: int, x_from: float, x_to: float, colour: tuple[int, int, int]) -> None:
        """A vertical stippled span from `x_from` to `x_to` (one pixel in four).

        Args:
            frame: the frame, an (H, W, 3) uint8 array, changed in place.
            offset_y: the strip's top row in the frame.
            x_from: where the span starts on the x axis.
            x_to: where it ends.
            colour: its colour.
        """
        left, right = sorted((self.x_px(x_from), self.x_px(x_to)))
        area = frame[offset_y + self.top + 1:offset_y + self.bottom, left:right + 1]
        area[::2, ::2] = colour
