"""The input column: what the model is given, prepared for it and drawn as what it is.

`prepare_images` shapes what the user gives for the model's input: images and series as
float32, token ids as integers. Input drawers, looked up by `input_kind` in
`INPUT_DRAWERS`, draw each kind of input: an image as an image, token ids as the words
(or the ids), a window of a time series as a small line plot with the value that follows
it, a vector of features as a strip. A new kind of input is a new class here, listed in
that table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ..checks import is_int
from .cells import CellPlan, Patch, cell_plan, nearest_index, vector_grid
from .palette import CMAP_LEVELS, GREY_OF_L, WHITE, finite, finite_range, grey, scale_to_unit, to_indices
from .text import LINE, SMALL_FONT, fit_text, font, shape_labels

__all__ = ["prepare_images", "input_kind", "check_vocabulary", "token_text", "InputDrawer", "ImageInput",
           "TokenInput", "SeriesInput", "FeatureInput", "INPUT_DRAWERS"]


def prepare_images(images, input_shape: tuple | None, *, argument: str = "images",
                   token_ids: bool = False) -> np.ndarray:
    """`images` (any batch of inputs: images, series, token ids) as a batch shaped for a
    model's input. A batch without the model's last axis of 1 (a grayscale image's
    channel, a series' single feature) gets one; a single input gets a batch axis.

    Args:
        images: an array of inputs (uint8, integer or float).
        input_shape: the model's input without the batch axis (None entries match
            anything); None takes the batch as it is.
        argument: what the messages call `images`.
        token_ids: the inputs are token ids (the model embeds them): kept as integers.

    Returns:
        A C-contiguous array (N, ...): int32 for token ids, float32 otherwise.

    Raises:
        TypeError: `images` is not numeric.
        ValueError: `images` is empty, is not a batch, does not fit `input_shape`, or
            holds token ids that are not whole numbers.
    """
    array = np.asarray(images)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            f"{argument} must be a numeric array (uint8, integer or float). Received dtype {array.dtype}."
        )
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{argument} is empty: received shape {array.shape}. Give at least one image.")
    if input_shape is not None:
        array = _fit_shape(array, tuple(input_shape), argument)
    elif array.ndim < 2:
        raise ValueError(
            f"{argument} must be a batch of inputs (N, ...): images (N, height, width[, channels]), "
            f"series (N, time[, features]) or token ids (N, length). Received shape {array.shape}."
        )
    if not token_ids:
        return np.ascontiguousarray(array, dtype=np.float32)
    if not np.issubdtype(array.dtype, np.integer) and not np.array_equal(array, np.round(array)):
        raise ValueError(f"{argument} must be token ids (whole numbers) for a model that embeds its "
                         f"input. Received dtype {array.dtype} with fractions.")
    return np.ascontiguousarray(array, dtype=np.int32)


def _fit_shape(array: np.ndarray, input_shape: tuple, argument: str) -> np.ndarray:
    def fits(shape):
        return len(shape) == len(input_shape) and all(
            want is None or want == got for want, got in zip(input_shape, shape))

    if fits(array.shape[1:]):
        return array
    if fits(array.shape[1:] + (1,)):
        return array[..., None]
    if fits(array.shape):
        return array[None]
    raise ValueError(
        f"{argument} do not fit the model's input: received shape {array.shape}, "
        f"the model takes (N, {', '.join(str(d) for d in input_shape)})."
    )


def input_kind(images: np.ndarray) -> str:
    """What kind of input a prepared batch is, the key of `INPUT_DRAWERS`: "tokens" for
    integer ids (N, length), "image" (N, height, width, channels), "series"
    (N, time, features), "features" (N, values).

    Args:
        images: the batch, as `prepare_images` returns it.

    Returns:
        The kind; "features" for any other shape (drawn flattened).
    """
    if images.ndim == 2 and np.issubdtype(images.dtype, np.integer):
        return "tokens"
    return {4: "image", 3: "series"}.get(images.ndim, "features")


def check_vocabulary(vocabulary) -> dict[int, str] | None:
    """`vocabulary` as a mapping from token id to word.

    Args:
        vocabulary: None; a list of words whose index is the id (what
            `TextVectorization.get_vocabulary()` returns); a mapping from id to word
            (`index_word`); or from word to id (`word_index`).

    Returns:
        {id: word}, or None.

    Raises:
        TypeError: none of these.
    """
    if vocabulary is None:
        return None
    received = f"Received: vocabulary={_short_repr(vocabulary)} ({type(vocabulary).__name__})."
    if isinstance(vocabulary, Mapping):
        items = list(vocabulary.items())
        if all(is_int(key) and isinstance(word, str) for key, word in items):
            return {int(key): word for key, word in items}
        if all(isinstance(word, str) and is_int(key) for word, key in items):
            return {int(key): word for word, key in items}
    elif not isinstance(vocabulary, (str, bytes)):
        try:
            words = list(vocabulary)
        except TypeError:
            words = None
        if words is not None and all(isinstance(word, str) for word in words):
            return dict(enumerate(words))
    raise TypeError(
        "vocabulary must be a list of words (the index is the token id), a mapping from token id "
        f"to word, or from word to token id. {received}"
    )


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def token_text(ids: Sequence[int], vocabulary: Mapping[int, str] | None) -> str:
    """Token ids as text: the words, or the ids without a vocabulary. Padding (id 0,
    unless the vocabulary gives it a word; words that are "") is left out.

    Args:
        ids: the ids of one input.
        vocabulary: {id: word}, or None.

    Returns:
        The words (or ids) separated by spaces; an unknown id as "#id".
    """
    if vocabulary is None:
        return " ".join(str(int(i)) for i in ids if i != 0)
    words = [vocabulary.get(int(i), "" if i == 0 else f"#{int(i)}") for i in ids]
    return " ".join(word for word in words if word)


class InputDrawer:
    """Draws the input column: once, when the renderer is made, and then what changes
    with each frame (a prediction marked on the input).

    Args:
        images: the inputs as the model takes them.
        cell_px: the side of a grid cell.
        targets: the value each input should give (a regression's truth), or None.
        vocabulary: {token id: word}, or None.
    """

    #: The `input_kind` this drawer draws.
    kind = ""
    #: The column's width, in cells.
    cells_wide = 1

    def __init__(self, images: np.ndarray, *, cell_px: int, targets: np.ndarray | None = None,
                 vocabulary: Mapping[int, str] | None = None):
        self.images, self.cell_px = images, cell_px
        self.targets, self.vocabulary = targets, vocabulary
        self.places = tuple((image, 0) for image in range(len(images)))
        self._setup()

    def _setup(self) -> None:
        """What a kind of drawer works out once, when it is made."""

    @property
    def width(self) -> int:
        """The column's width in pixels."""
        return self.cells_wide * self.cell_px

    @property
    def title(self) -> str:
        """What the column's header calls the input."""
        return self.kind

    @property
    def shape_texts(self) -> tuple[str, ...]:
        """Ways to write one input's shape in the header, longest first."""
        return shape_labels(self.images.shape[1:])

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        """The column's pictures in palette indices, in row 0 of each input.

        Args:
            predicted: this frame's predicted value per input (a regression's), or None.

        Returns:
            The patches to put in the column.
        """
        return []

    def rgb_patches(self) -> list[Patch]:
        """Pictures in RGB, pasted on the frame after its colours are looked up."""
        return []


class ImageInput(InputDrawer):
    """An image: grayscale in the colormap, scaled over all the images shown; colour
    (three channels) as it is, stretched to 0..255 over all the images."""

    kind = "image"

    def _setup(self) -> None:
        self.plan = cell_plan(self.images.shape[1:3], self.cell_px)
        self._patches = []
        if self.images.shape[-1] != 3:
            maps = finite(self.images[..., 0].astype(np.float32))
            pictures = to_indices(scale_to_unit(maps, *finite_range(maps)))
            self._patches = [Patch(self.places, self.plan.top, self.plan.left, self.plan.scale(pictures))]

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        return self._patches

    def rgb_patches(self) -> list[Patch]:
        if self.images.shape[-1] != 3:
            return []
        images = self.images.astype(np.float32)
        unit = scale_to_unit(images, *finite_range(images))
        pictures = (np.nan_to_num(unit, nan=0.0) * 255).astype(np.uint8)  # NaN: black
        return [Patch(self.places, self.plan.top, self.plan.left, self.plan.scale(pictures))]


class TokenInput(InputDrawer):
    """Token ids as the words they stand for (with a vocabulary), else as the ids, in
    lines that fill a column three cells wide; what does not fit ends in "…"."""

    kind = "tokens"
    cells_wide = 3

    @property
    def title(self) -> str:
        return "tokens" if self.vocabulary is not None else "token ids"

    def _setup(self) -> None:
        from PIL import Image, ImageDraw

        small = font(SMALL_FONT)
        pictures = []
        for ids in self.images:
            card = Image.new("L", (self.width, self.cell_px), 255)
            draw = ImageDraw.Draw(card)
            for row, line in enumerate(_wrap(draw, token_text(ids, self.vocabulary), small, self.width - 4,
                                             max(1, self.cell_px // LINE))):
                draw.text((2, row * LINE), line, fill=0, font=small)
            pictures.append(np.take(GREY_OF_L, np.asarray(card)))
        self._patches = [Patch(self.places, 0, 0, np.stack(pictures))]

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        return self._patches


def _wrap(draw, text: str, text_font, width: int, max_lines: int) -> list[str]:
    """`text` in lines no wider than `width`, at most `max_lines`; the last line of text
    that does not fit ends in "…"."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if draw.textlength(candidate, font=text_font) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + " …", font=text_font) > width:
            last = last[:-1]
        lines[-1] = last + " …"
    return [fit_text(draw, line, text_font, width) for line in lines]


# How a series' window is drawn: its line, the value that follows it, the prediction.
_SERIES_MARGIN = 4
_SERIES_LINE = grey(60)
_SERIES_AXIS = grey(215)
_TARGET = round(0.78 * (CMAP_LEVELS - 1))       # a bright colormap colour (inferno: orange)
_PREDICTION = round(0.35 * (CMAP_LEVELS - 1))   # a dark one (inferno: purple)
_MARKER_R = 3


class SeriesInput(InputDrawer):
    """A window of a time series (time, features), two cells wide. One feature: a line
    plot, and, for a regression, the value that follows the window as a ring (its
    target) and the model's prediction as a dot, redrawn each frame. Several features:
    a heatmap, time across and features down, scaled over all the windows."""

    kind = "series"
    cells_wide = 2

    @property
    def title(self) -> str:
        # The markers of the plot: the value that follows the window, the prediction.
        return "window ○ true ■ pred" if self._ranges is not None and self.targets is not None else "window"

    def _setup(self) -> None:
        count, steps, features = self.images.shape
        if features > 1:
            plan = CellPlan((features, steps), 0, 0, nearest_index(features, self.cell_px),
                            nearest_index(steps, self.width))
            values = finite(self.images.astype(np.float32)).transpose(0, 2, 1)
            self._static = plan.scale(to_indices(scale_to_unit(values, *finite_range(values))))
            self._ranges = None
            return
        series = self.images[..., 0].astype(np.float64)
        known = series if self.targets is None else np.concatenate([series, self.targets[:, None]], axis=1)
        known = finite(known)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window of NaN only: drawn flat
            low, high = np.nanmin(known, axis=1), np.nanmax(known, axis=1)
        low, high = np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)
        pad = np.maximum((high - low) * 0.08, 1e-9)
        self._ranges = np.stack([low - pad, high + pad], axis=1)
        self._static = np.stack([self._draw(index) for index in range(count)])

    def _x(self, step: float) -> float:
        steps = self.images.shape[1]  # the target stands one step after the window
        return _SERIES_MARGIN + step * (self.width - 2 * _SERIES_MARGIN - _MARKER_R) / steps

    def _y(self, index: int, value: float) -> float:
        low, high = self._ranges[index]
        span = self.cell_px - 2 * _SERIES_MARGIN
        unit = np.clip((value - low) / (high - low), 0, 1) if np.isfinite(value) else 0.5
        return _SERIES_MARGIN + (1 - unit) * span

    def _draw(self, index: int) -> np.ndarray:
        from PIL import Image, ImageDraw

        card = Image.new("L", (self.width, self.cell_px), WHITE)
        draw = ImageDraw.Draw(card)
        draw.rectangle((0, 0, self.width - 1, self.cell_px - 1), outline=_SERIES_AXIS)
        values = self.images[index, :, 0]
        points = [(self._x(step), self._y(index, value)) for step, value in enumerate(values)]
        draw.line(points, fill=_SERIES_LINE, width=1)
        if self.targets is not None:
            x, y = self._x(len(values)), self._y(index, self.targets[index])
            draw.ellipse((x - _MARKER_R, y - _MARKER_R, x + _MARKER_R, y + _MARKER_R), outline=_TARGET, width=1)
        return np.asarray(card)

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        if self._ranges is None or predicted is None:
            return [Patch(self.places, 0, 0, self._static)]
        pictures = self._static.copy()
        x = round(self._x(self.images.shape[1]))
        for index, value in enumerate(predicted):
            y = round(self._y(index, value))
            pictures[index, max(0, y - 2):y + 2, max(0, x - 2):x + 2] = _PREDICTION
        return [Patch(self.places, 0, 0, pictures)]


class FeatureInput(InputDrawer):
    """A vector of features (values): a strip when short, a block when long, in the
    colormap, scaled over all the inputs shown."""

    kind = "features"

    def _setup(self) -> None:
        values = finite(self.images.reshape(len(self.images), -1).astype(np.float32))
        rows, cols = vector_grid(values.shape[1])
        plan = cell_plan((rows, cols), self.cell_px)
        pictures = np.full((len(values), rows * cols), WHITE, dtype=np.uint8)
        pictures[:, :values.shape[1]] = to_indices(scale_to_unit(values, *finite_range(values)))
        self._patches = [Patch(self.places, plan.top, plan.left,
                               plan.scale(pictures.reshape(len(values), rows, cols)))]

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        return self._patches


#: The drawer of each kind of input (`input_kind`).
INPUT_DRAWERS: dict[str, type[InputDrawer]] = {
    drawer.kind: drawer for drawer in (ImageInput, TokenInput, SeriesInput, FeatureInput)}
