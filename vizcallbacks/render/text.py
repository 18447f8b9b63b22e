"""Text on a frame: the font, lines cut to fit, column headers, and the text layer that
draws each frame's changing lines on the static ones.

Text is drawn by Pillow in "L" mode (black on white) and mapped to the palette's greys.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .palette import GREY_OF_L

__all__ = ["STAMP_FONT", "SMALL_FONT", "LINE", "font", "fit_text", "header_lines", "TextLayer", "Line"]

# Text sizes in pixels, and the height of a line of small text.
STAMP_FONT, SMALL_FONT = 15, 10
LINE = 12
# Ink may stray this far outside a line's box (a font that rounds outwards).
_TEXT_MARGIN = 2
# Drawn groups of lines kept for reuse: each image's prediction lines change rarely.
_TEXT_PATCHES_KEPT = 512

#: One line of text: ((x, y), text, grey level 0..255, font size).
Line = tuple[tuple[int, int], str, int, int]


@lru_cache(maxsize=16)
def font(size: int, *, bold: bool = False):
    """matplotlib's DejaVu Sans at `size` pixels, as a Pillow font; loaded once per size.

    Args:
        size: the font size in pixels.
        bold: the bold face.

    Returns:
        A `PIL.ImageFont` font (Pillow's own scalable font for a matplotlib without its fonts).
    """
    from PIL import ImageFont
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/{name}", size)
    except OSError:  # a matplotlib without its fonts: Pillow's own scalable font
        return ImageFont.load_default(size)


def fit_text(draw, text: str, text_font, width: int) -> str:
    """`text`, cut short with an ellipsis where it would be wider than `width` pixels.

    Args:
        draw: a `PIL.ImageDraw.ImageDraw`, to measure with.
        text: the text.
        text_font: the font it is drawn in (see `font`).
        width: the room, in pixels.

    Returns:
        `text` itself when it fits, else its longest beginning that fits with "…".
    """
    if draw.textlength(text, font=text_font) <= width:
        return text
    while text and draw.textlength(text + "…", font=text_font) > width:
        text = text[:-1]
    return text + "…"


def header_lines(draw, name: str, text_font, width: int) -> list[str]:
    """A layer's name on one line, or on two split at its last underscore.

    Args:
        draw: a `PIL.ImageDraw.ImageDraw`, to measure with.
        name: the layer's name.
        text_font: the font.
        width: the room, in pixels.

    Returns:
        One or two lines, each cut to fit.
    """
    if draw.textlength(name, font=text_font) <= width or "_" not in name:
        return [fit_text(draw, name, text_font, width)]
    head, _, tail = name.rpartition("_")
    return [fit_text(draw, head + "_", text_font, width), fit_text(draw, tail, text_font, width)]


def _overlap(boxes: Sequence[tuple[int, int, int, int]]) -> bool:
    """Whether any two of the (left, top, right, bottom) boxes may share a pixel."""
    ordered = sorted(boxes, key=lambda box: box[1])
    for i, (left, _, right, bottom) in enumerate(ordered):
        for other_left, other_top, other_right, _ in ordered[i + 1:]:
            if other_top >= bottom:  # this one and all after it start below
                break
            if left < other_right and other_left < right:
                return True
    return False


class TextLayer:
    """The static text of a frame (headers, labels), with each frame's lines drawn on it.

    Each group of lines (the stamp; one image's prediction) is drawn on a crop of the
    static text just large enough for it, and a group is kept for the next frames that
    show the same lines, so a frame redraws little. The pixels are those of drawing
    every line on the whole frame, which is what happens when groups overlap (very
    small cells).

    Args:
        base: the static text, a Pillow "L" image of the frame's size.
    """

    def __init__(self, base):
        self.base = base
        self.base_indices = np.take(GREY_OF_L, np.asarray(base))
        self._patches: dict[tuple, tuple[tuple[int, int, int, int], np.ndarray]] = {}

    def compose(self, groups: Sequence[tuple[Line, ...]]) -> np.ndarray:
        """The static text with `groups` drawn on it, as palette indices.

        Args:
            groups: groups of lines; the first (the stamp, different in every frame)
                is drawn and not kept, the others are kept for later frames.

        Returns:
            A (height, width) uint8 array of palette indices.
        """
        patches = [self._patch(group, keep=index > 0) for index, group in enumerate(groups)]
        if not _overlap([box for box, _ in patches]):
            indices = self.base_indices.copy()
            for (left, top, right, bottom), patch in patches:
                indices[top:bottom, left:right] = patch
            return indices
        from PIL import ImageDraw

        text = self.base.copy()
        draw = ImageDraw.Draw(text)
        for group in groups:
            for xy, line, fill, size in group:
                draw.text(xy, line, fill=fill, font=font(size))
        return np.take(GREY_OF_L, np.asarray(text))

    def _patch(self, group: tuple[Line, ...], *, keep: bool) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """`group` drawn on the static text: its box (left, top, right, bottom) in the
        frame and the palette indices there; with `keep`, kept for the next frames."""
        found = self._patches.get(group)
        if found is not None:
            return found
        from PIL import ImageDraw

        measure = ImageDraw.Draw(self.base)  # only measures
        width, height = self.base.size
        bboxes = [measure.textbbox(xy, line, font=font(size)) for xy, line, _, size in group if line]
        left = max(0, min((b[0] for b in bboxes), default=0) - _TEXT_MARGIN)
        top = max(0, min((b[1] for b in bboxes), default=0) - _TEXT_MARGIN)
        right = min(width, max((b[2] for b in bboxes), default=0) + _TEXT_MARGIN)
        bottom = min(height, max((b[3] for b in bboxes), default=0) + _TEXT_MARGIN)
        box = (left, top, max(left, right), max(top, bottom))
        crop = self.base.crop(box)
        draw = ImageDraw.Draw(crop)
        for (x, y), line, fill, size in group:
            draw.text((x - left, y - top), line, fill=fill, font=font(size))
        found = (box, np.take(GREY_OF_L, np.asarray(crop)))
        if keep:
            if len(self._patches) >= _TEXT_PATCHES_KEPT:
                self._patches.clear()
            self._patches[group] = found
        return found
