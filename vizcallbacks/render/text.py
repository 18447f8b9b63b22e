"""Text on a frame: the font, lines cut to fit, column headers, and the text layer that
draws each frame's changing lines on the static ones.

Text is drawn by Pillow in "L" mode (black on white) and mapped to the palette's greys.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .palette import GREY_OF_L

__all__ = ["STAMP_FONT", "SMALL_FONT", "LINE", "font", "fit_text", "fit_label", "abbreviate", "class_labels",
           "shape_labels", "automatic_name", "shared_prefix", "header_lines", "TextLayer", "Line"]

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
    return _cut(draw, text, text_font, width)


def _cut(draw, text: str, text_font, width: int) -> str:
    """The longest beginning of `text` that fits in `width` with "…" after it."""
    while text and draw.textlength(text + "…", font=text_font) > width:
        text = text[:-1]
    return text + "…"


# Words of layer names and classes, shortened when a header has no room for them.
_ABBREVIATIONS = (("normalization", "norm"), ("average", "avg"), ("pooling", "pool"),
                  ("expanded", "exp"), ("expand", "exp"), ("project", "proj"), ("depthwise", "dw"),
                  ("separable", "sep"), ("activation", "act"), ("concatenate", "concat"),
                  ("bidirectional", "bi"), ("timedistributed", "td"), ("embedding", "embed"),
                  ("convolution", "conv"), ("transpose", "t"), ("dropout", "drop"),
                  ("identity", "id"), ("global", "glob"), ("block", "blk"))


def abbreviate(text: str) -> str:
    """`text` with long words of layer names shortened ("global_average_pooling2d":
    "glob_avg_pool2d", "GlobalAveragePooling2D": "GlobAvgPool2D"), keeping each word's case.

    Args:
        text: a layer's name or class.

    Returns:
        The shortened text.
    """
    import re

    for long, short in _ABBREVIATIONS:
        text = re.sub(long, lambda match, short=short: short.capitalize() if match.group()[0].isupper() else short,
                      text, flags=re.IGNORECASE)
    return text


def fit_label(draw, texts: Sequence[str], text_font, width: int) -> str:
    """The first of `texts` (ever shorter ways to say one thing) that fits in `width`
    pixels, else the last cut to fit.

    Args:
        draw: a `PIL.ImageDraw.ImageDraw`, to measure with.
        texts: the ways to say it, longest first.
        text_font: the font.
        width: the room, in pixels.

    Returns:
        One line.
    """
    for text in texts:
        if draw.textlength(text, font=text_font) <= width:
            return text
    return fit_text(draw, texts[-1], text_font, width)


def class_labels(layer_class: str) -> tuple[str, ...]:
    """Ways to name a layer class, longest first: as it is, shortened
    ("GlobalAvgPool2D"), and its capitals ("GAP2D").

    Args:
        layer_class: the class's name, e.g. "GlobalAveragePooling2D".

    Returns:
        Up to three names.
    """
    import re

    short = abbreviate(layer_class)
    initials = "".join(re.findall(r"[A-Z]|\d+D?|[()]", layer_class))
    return tuple(dict.fromkeys((layer_class, short, initials or short)))


def shape_labels(shape: Sequence[int]) -> tuple[str, ...]:
    """Ways to write an output's shape, longest first: "24×24×144", "24²×144".

    Args:
        shape: the shape for one input.

    Returns:
        One or two texts.
    """
    full = "×".join(str(d) for d in shape)
    if len(shape) == 3 and shape[0] == shape[1]:
        return full, f"{shape[0]}²×{shape[2]}"
    return (full,)


def automatic_name(layer_class: str) -> str:
    """The name Keras gives a layer of `layer_class` that was not named, without its
    number: "Conv2DTranspose": "conv2d_transpose" (Keras's own snake case).

    Args:
        layer_class: the class's name; a wrapper's "Bidirectional(LSTM)" counts as "Bidirectional".

    Returns:
        The name in snake case.
    """
    import re

    name = re.sub(r"\W+", "", layer_class.split("(")[0])
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _still_names(name: str, prefix: str, layer_class: str) -> bool:
    """Whether `name` without `prefix` still names its layer: a word remains, not only a
    number ("conv2d_3" is not "3"), and the prefix does not cut into the name Keras made
    from the layer's class ("conv2d_transpose" is not "transpose")."""
    rest = name[len(prefix):]
    if not any(word[:1].isalpha() for word in rest.split("_")):
        return False
    automatic = automatic_name(layer_class) if layer_class else ""
    return not (automatic and name.startswith(automatic) and len(prefix) <= len(automatic))


def shared_prefix(names: Sequence[str], classes: Sequence[str] = ()) -> str:
    """The words that every one of several layer names begins with ("convnext_tiny_" in
    ConvNeXt), up to an underscore, when what remains of each name still names its layer:
    a word, not only a number, and not the tail of the name Keras made from the layer's
    class. An autoencoder's "conv2d_3", "conv2d_transpose" keep their names whole.

    Args:
        names: the layer names.
        classes: each layer's class name ("Conv2DTranspose"), where known.

    Returns:
        The prefix, ending in "_"; "" when there is none or fewer than two names.
    """
    import os

    if len(names) < 2:
        return ""
    common = os.path.commonprefix(list(names))
    prefix = common[:common.rfind("_") + 1]
    classes = tuple(classes) or ("",) * len(names)
    if prefix and all(_still_names(name, prefix, layer_class) for name, layer_class in zip(names, classes)):
        return prefix
    return ""


def _wrapped(draw, text: str, text_font, width: int, *, break_words: bool) -> list[str] | None:
    """`text` in lines no wider than `width`, broken after underscores; a word that a
    line cannot hold is broken where it must be with `break_words`, else None."""
    parts = [part + "_" for part in text.split("_")]
    parts[-1] = parts[-1][:-1]
    lines = [""]
    for part in parts:
        if draw.textlength(lines[-1] + part, font=text_font) <= width:
            lines[-1] += part
            continue
        if lines[-1]:
            lines.append("")
        if draw.textlength(part, font=text_font) <= width:
            lines[-1] = part
            continue
        if not break_words:
            return None
        for char in part:
            if lines[-1] and draw.textlength(lines[-1] + char, font=text_font) > width:
                lines.append("")
            lines[-1] += char
    return [line for line in lines if line]


def header_lines(draw, name: str, text_font, width: int, *, max_lines: int = 3) -> list[str]:
    """A layer's name in at most `max_lines` lines of `width` pixels: broken after
    underscores, its long words shortened when it does not fit otherwise (see
    `abbreviate`), broken inside a word only when that does not help, and as a last
    resort its middle left out ("…"), since a name's first and last words say most
    (its block, and what the layer does).

    Args:
        draw: a `PIL.ImageDraw.ImageDraw`, to measure with.
        name: the layer's name.
        text_font: the font.
        width: the room, in pixels.
        max_lines: the most lines.

    Returns:
        One to `max_lines` lines.
    """
    lines = []
    for break_words in (False, True):
        for candidate in (name, abbreviate(name)):
            lines = _wrapped(draw, candidate, text_font, width, break_words=break_words)
            if lines is not None and len(lines) <= max_lines:
                return lines
    if max_lines == 1:
        return [_cut(draw, lines[0], text_font, width)]
    return [_cut(draw, lines[0], text_font, width)] + lines[len(lines) - max_lines + 1:]


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
