"""Draw a grid of layer activations as one RGB frame: the generalized `plot_conv`.

The grid is the notes' figure: column 0 shows the input image, then one column per
layer. The first image gets one row per chosen channel, the others one row each; a
dense layer's vector is drawn as a small image in the first row of its image.

Speed comes from drawing everything that does not change (layer names, true labels,
input images) once, when the renderer is made, and composing each frame in numpy as
an image of palette indices. The palette is fixed: `CMAP_LEVELS` colours of the
colormap, 32 greys for text and background, green and red for right and wrong
predictions. So every frame uses the same 224 colours, and a GIF can use that palette
exactly (see `GridRenderer.palette`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .activations import Activations, LayerView
from .checks import check_choice, check_cmap, check_int_in_range, is_int

__all__ = ["GridRenderer", "Stamp", "prepare_images", "check_channels", "make_palette", "font", "fit_text",
           "NORMALIZATIONS", "DEFAULT_CHANNELS", "CMAP_LEVELS", "CELL_PX_RANGE"]

DEFAULT_CHANNELS = (1, 5, 10, 20)
NORMALIZATIONS = ("stable", "minmax", "standardize")
#: The smallest and largest grid cell, in pixels.
CELL_PX_RANGE = (8, 512)

# Palette layout. 190 colormap levels are as smooth to the eye as 256 (neighbours
# differ by about one unit of 255), and leave a GIF room for a transparent entry,
# which makes it much smaller.
CMAP_LEVELS = 190
_GREY0 = CMAP_LEVELS
_GREY_LEVELS = 32
_WHITE = _GREY0 + _GREY_LEVELS - 1
_NAN = _GREY0 + 18          # a mid grey: a NaN or infinite value, never a colormap colour
_GREEN = _GREY0 + _GREY_LEVELS
_RED = _GREEN + 1
_GREY_OF_L = (_GREY0 + np.rint(np.arange(256) * (_GREY_LEVELS - 1) / 255)).astype(np.uint8)

# Text sizes in pixels and the fixed bands around the grid.
_STAMP_FONT, _SMALL_FONT = 15, 10
_LINE = 12
_PAD = 6
_STAMP_H = 26
_HEADER_H = 3 * _LINE + 4
_LABEL_W = 124
_CHANNEL_W = 34
_COL_GAP, _ROW_GAP, _BLOCK_GAP = 3, 2, 8
_TEXT_MARGIN = 2
# Drawn groups of lines kept for reuse: each image's prediction lines change rarely.
_TEXT_PATCHES_KEPT = 512

# The stable normalization follows each layer's range with this weight per frame:
# slow enough that a movie does not flicker, fast enough to follow training.
_STABLE_SMOOTHING = 0.25
_STABLE_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Stamp:
    """Where training stands, printed at the top of a frame; what is None is left out.

    Args:
        epoch: the epoch, from 1.
        batch: the batch index within the epoch.
        accuracy: the training accuracy.
        loss: the training loss.
    """

    epoch: int | None = None
    batch: int | None = None
    accuracy: float | None = None
    loss: float | None = None

    def text(self) -> str:
        parts = []
        if self.epoch is not None:
            parts.append(f"Epoch: {self.epoch:02d}")
        if self.batch is not None:
            parts.append(f"batch: {self.batch:04d}")
        if self.accuracy is not None:
            parts.append(f"accuracy: {_number(self.accuracy)}")
        if self.loss is not None:
            parts.append(f"loss: {_number(self.loss)}")
        return ", ".join(parts)


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.3f}"


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
    greys = np.repeat(np.linspace(0, 1, _GREY_LEVELS)[:, None], 3, axis=1)
    accents = np.array([[0.10, 0.62, 0.20], [0.85, 0.15, 0.15]])
    return np.rint(np.concatenate([colours, greys, accents]) * 255).astype(np.uint8)


def prepare_images(images, input_shape: tuple | None, *, argument: str = "images") -> np.ndarray:
    """`images` as a float32 batch shaped for a model's input. A grayscale batch without
    its channel axis gets one; a single image gets a batch axis.

    Args:
        images: an array of images (uint8 or float).
        input_shape: the model's input without the batch axis (None entries match
            anything); None checks only that `images` is a batch of images.
        argument: what the messages call `images`.

    Returns:
        A C-contiguous float32 array (N, ...).

    Raises:
        TypeError: `images` is not numeric.
        ValueError: `images` is empty, or does not fit `input_shape`.
    """
    array = np.asarray(images)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            f"{argument} must be a numeric array (uint8 or float). Received dtype {array.dtype}."
        )
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{argument} is empty: received shape {array.shape}. Give at least one image.")
    if input_shape is None:
        if array.ndim == 3:
            array = array[..., None]
        if array.ndim != 4:
            raise ValueError(
                f"{argument} must be a batch of images (N, height, width[, channels]). "
                f"Received shape {array.shape}."
            )
    else:
        def fits(shape):
            return len(shape) == len(input_shape) and all(
                want is None or want == got for want, got in zip(input_shape, shape))

        if not fits(array.shape[1:]):
            if fits(array.shape[1:] + (1,)):
                array = array[..., None]
            elif fits(array.shape):
                array = array[None]
            else:
                raise ValueError(
                    f"{argument} do not fit the model's input: received shape {array.shape}, "
                    f"the model takes (N, {', '.join(str(d) for d in input_shape)})."
                )
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_labels(labels, count: int) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(axis=1)
    if labels.ndim != 1 or len(labels) != count:
        raise ValueError(
            f"labels must hold one class per image ({count} images). Received shape {labels.shape}."
        )
    return labels.astype(np.int64)


def check_channels(channels) -> tuple[int, ...] | None:
    """`channels` as a tuple of channel indices, checked as far as is possible without the
    model (the renderer checks each index against each layer's channels).

    Args:
        channels: None (the default channels), one index, or a list of indices.

    Returns:
        A tuple of ints, or None for the default.

    Raises:
        TypeError: `channels` is neither an index nor a list.
        ValueError: the list is empty, or holds something other than indices >= 0.
    """
    if channels is None:
        return None
    try:
        items = (channels,) if is_int(channels) else tuple(channels)
    except TypeError:
        raise TypeError(f"channels must be a list of channel indices. Received: channels={channels!r}.") from None
    if not items:
        raise ValueError(f"channels is empty. Pass None for the default {DEFAULT_CHANNELS} or indices.")
    if not all(is_int(index) and index >= 0 for index in items):
        raise ValueError(
            f"channels must be non-negative integers (channel indices). Received: channels={channels!r}."
        )
    return tuple(int(index) for index in items)


def _resolve_channels(channels, views: Sequence[LayerView]) -> tuple[tuple[int, ...], bool]:
    """The channel list, and whether it was the default (clipped per layer) or
    explicit (every index must exist in every feature-map layer)."""
    channels = check_channels(channels)
    if channels is None:
        return DEFAULT_CHANNELS, True
    for view in views:
        if view.kind == "maps" and max(channels) >= view.channels:
            raise ValueError(
                f"channels: index {max(channels)} is out of range for layer {view.name!r}, which "
                f"has {view.channels} channels (valid: 0..{view.channels - 1}). Choose smaller "
                "indices, other layers, or channels=None to clip the default to each layer."
            )
    return channels, False


def _rows_per_image(channels_per_image, count: int, channel_count: int) -> tuple[int, ...]:
    if channels_per_image is None:
        return (channel_count,) + (1,) * (count - 1)
    if is_int(channels_per_image):
        rows = (int(channels_per_image),) * count
    else:
        rows = tuple(channels_per_image)
        if len(rows) != count:
            raise ValueError(
                f"channels_per_image must give one count per image ({count} images). "
                f"Received {len(rows)} counts: {rows!r}."
            )
    for value in rows:
        if not is_int(value) or not 1 <= value <= channel_count:
            raise ValueError(
                f"channels_per_image: each count must be an integer in 1..{channel_count} (the number "
                f"of channels chosen). Received: {channels_per_image!r}."
            )
    return tuple(int(r) for r in rows)


def _nearest_index(size: int, target: int) -> np.ndarray:
    """Source indices that scale `size` pixels to `target` with nearest neighbour."""
    return np.minimum((np.arange(target) * size) // target, size - 1)


def _vector_grid(units: int) -> tuple[int, int]:
    """Rows and columns a vector of `units` is wrapped into: one strip when short,
    a near-square block when long so that each unit stays visible."""
    if units <= 16:
        return 1, units
    cols = math.ceil(math.sqrt(units))
    return math.ceil(units / cols), cols


@dataclass(frozen=True)
class _CellPlan:
    """How one layer's output is scaled into a cell: target box and source indices."""

    grid: tuple[int, int]          # (rows, cols) of the source image
    top: int
    left: int
    rows: np.ndarray
    cols: np.ndarray


def _cell_plan(grid: tuple[int, int], cell_px: int) -> _CellPlan:
    height, width = grid
    if height == 1:  # a short vector: a strip that fills the cell, as in the notes
        target_h, target_w = cell_px, cell_px
    else:
        scale = cell_px / max(height, width)
        target_h, target_w = max(1, round(height * scale)), max(1, round(width * scale))
    return _CellPlan(grid, (cell_px - target_h) // 2, (cell_px - target_w) // 2,
                     _nearest_index(height, target_h), _nearest_index(width, target_w))


def _scale_to_unit(values: np.ndarray, low, high) -> np.ndarray:
    span = np.maximum(high - low, 1e-12)
    return np.clip((values - low) / span, 0.0, 1.0)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


class _Normalizer:
    """Maps a stack of maps (or vectors) to [0, 1] (NaN stays NaN). `key` names the
    stack (a column and a channel) whose range the stable mode follows."""

    def __init__(self, mode: str):
        self.mode = mode
        self._ranges: dict[tuple, tuple[float, float]] = {}

    def __call__(self, key: tuple, stack: np.ndarray) -> np.ndarray:
        stack = _finite(stack.astype(np.float32, copy=False))
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
            return _scale_to_unit(stack, low, high)
        return _scale_to_unit(stack, *self._stable_range(key, stack))

    def _stable_range(self, key: tuple, stack: np.ndarray) -> tuple[float, float]:
        finite = stack[np.isfinite(stack)]
        if finite.size == 0:
            return self._ranges.get(key, (0.0, 1.0))
        low, high = np.percentile(finite, _STABLE_PERCENTILES)
        previous = self._ranges.get(key)
        if previous is not None:
            low = previous[0] + _STABLE_SMOOTHING * (low - previous[0])
            high = previous[1] + _STABLE_SMOOTHING * (high - previous[1])
        self._ranges[key] = (float(low), float(high))
        return self._ranges[key]


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


def _header_lines(draw, name: str, text_font, width: int) -> list[str]:
    if draw.textlength(name, font=text_font) <= width or "_" not in name:
        return [fit_text(draw, name, text_font, width)]
    head, _, tail = name.rpartition("_")
    return [fit_text(draw, head + "_", text_font, width), fit_text(draw, tail, text_font, width)]


class GridRenderer:
    """Turns one forward pass into an RGB frame. Built once per run; every frame it
    draws has the same size.

    >>> renderer = GridRenderer(probe.views, images, labels=y, class_names=names)
    >>> frame = renderer.render(probe(images), Stamp(epoch=1, batch=250, accuracy=0.73))
    >>> frame.shape, frame.dtype            # ((H, W, 3), uint8)

    normalization:
      "stable" (default): one range per layer and channel, taken over all the images
        the frame shows it for (0.5 to 99.5 percentile), and followed slowly from frame
        to frame (weight 0.25): colours mean the same from one frame to the next, so a
        movie does not flicker, while still following training as it moves the layer.
      "minmax": each map stretched to its own min and max (flickers, shows detail).
      "standardize": the notes' (x - mean) / std * 64 + 128 per map.

    Args:
        views: the layers shown, one `LayerView` per column (a probe's `views`).
        images: the images as the model takes them (N, height, width, channels).
        labels: true class per image (indices or one-hot), printed beside each row.
        class_names: names of the classes, for the labels and predictions.
        channels: feature-map channels shown for the first image; default
            `DEFAULT_CHANNELS`, clipped to what each layer has; given ones must exist in
            every feature-map layer.
        channels_per_image: rows per image: one count for all, or one per image; default
            every channel for the first image and one for the others.
        normalization: "stable", "minmax" or "standardize" (above).
        cmap: a matplotlib colormap name.
        cell_px: the side of one grid cell in pixels, 8..512.

    Raises:
        TypeError, ValueError: an option is not valid; the message says what is.
    """

    #: The kinds of layer output (`LayerView.kind`) this renderer can draw.
    KINDS = ("maps", "vector")

    def __init__(self, views: Sequence[LayerView], images: np.ndarray, *,
                 labels=None, class_names: Sequence[str] | None = None,
                 channels: Sequence[int] | None = None,
                 channels_per_image: int | Sequence[int] | None = None,
                 normalization: str = "stable", cmap: str = "inferno", cell_px: int = 56):
        check_choice(normalization, "normalization", NORMALIZATIONS)
        check_cmap(cmap)
        self.cell_px = check_int_in_range(cell_px, "cell_px", *CELL_PX_RANGE)
        self.views = tuple(views)
        self.images = np.asarray(images)
        self.labels = _check_labels(labels, len(self.images))
        self.class_names = None if class_names is None else tuple(str(c) for c in class_names)
        self.channels, self._clip_channels = _resolve_channels(channels, self.views)
        self.rows_per_image = _rows_per_image(channels_per_image, len(self.images), len(self.channels))
        self.palette = make_palette(cmap)
        self._normalize = _Normalizer(normalization)
        self._layout()
        self._plans = [self._plan(view) for view in self.views]
        self._base_text = self._draw_static_text()
        self._base_indices = np.take(_GREY_OF_L, np.asarray(self._base_text))
        self._text_patches: dict[tuple, tuple[tuple[int, int, int, int], np.ndarray]] = {}
        self._input_cells = self._draw_inputs()

    # ---- layout, computed once -------------------------------------------------
    def _layout(self):
        cell = self.cell_px
        self._show_channels = max(self.rows_per_image) > 1
        self._grid_left = _PAD + _LABEL_W + (_CHANNEL_W if self._show_channels else 0)
        self._grid_top = _STAMP_H + _HEADER_H
        columns = len(self.views) + 1
        self._col_x = [self._grid_left + i * (cell + _COL_GAP) for i in range(columns)]
        self._block_y, self._row_y = [], []
        y = self._grid_top
        for rows in self.rows_per_image:
            self._block_y.append(y)
            self._row_y.append([y + r * (cell + _ROW_GAP) for r in range(rows)])
            y += rows * cell + (rows - 1) * _ROW_GAP + _BLOCK_GAP
        width = self._col_x[-1] + cell + _PAD
        height = y - _BLOCK_GAP + _PAD
        # Even sizes, so that H.264 takes frames as they are.
        self.frame_size = (height + height % 2, width + width % 2)

    def _plan(self, view: LayerView) -> _CellPlan:
        grid = view.shape[:2] if view.kind == "maps" else _vector_grid(view.channels)
        return _cell_plan(grid, self.cell_px)

    def _class_name(self, index: int) -> str:
        if self.class_names is not None and 0 <= index < len(self.class_names):
            return self.class_names[index]
        return str(index)

    def _draw_static_text(self):
        from PIL import Image, ImageDraw

        height, width = self.frame_size
        text = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(text)
        small = font(_SMALL_FONT)
        cell = self.cell_px
        names = ["input"] + [view.name for view in self.views]
        shapes = ["×".join(str(d) for d in self.images.shape[1:])] + [
            "×".join(str(d) for d in view.shape) for view in self.views]
        for x, name, shape in zip(self._col_x, names, shapes):
            lines = _header_lines(draw, name, small, cell + _COL_GAP - 1)
            lines.append(fit_text(draw, shape, small, cell + _COL_GAP - 1))
            top = self._grid_top - 4 - len(lines) * _LINE
            for i, line in enumerate(lines):
                draw.text((x, top + i * _LINE), line, fill=0 if i < len(lines) - 1 else 96, font=small)
        for image_index, block_top in enumerate(self._block_y):
            if self.labels is not None:
                label = self._class_name(int(self.labels[image_index]))
                draw.text((_PAD, block_top), fit_text(draw, f"true: {label}", small, _LABEL_W - 4),
                          fill=0, font=small)
            if self._show_channels:
                for row, row_top in enumerate(self._row_y[image_index]):
                    draw.text((self._grid_left - 4, row_top + cell // 2), f"ch {self.channels[row]}",
                              fill=64, font=small, anchor="rm")
        return text

    def _draw_inputs(self) -> np.ndarray:
        """The input column, drawn once: palette indices (or RGB for colour inputs)."""
        images = self.images.astype(np.float32)
        if images.shape[-1] == 3:
            low, high = float(np.nanmin(images)), float(np.nanmax(images))
            return (_scale_to_unit(images, low, high) * 255).astype(np.uint8)
        maps = images[..., 0]
        low, high = float(np.nanmin(maps)), float(np.nanmax(maps))
        return self._to_indices(_scale_to_unit(_finite(maps), low, high))

    @staticmethod
    def _to_indices(unit: np.ndarray) -> np.ndarray:
        indices = np.rint(np.nan_to_num(unit, nan=0.0) * (CMAP_LEVELS - 1)).astype(np.uint8)
        indices[np.isnan(unit)] = _NAN
        return indices

    def cells(self) -> list[tuple[int, int, int, slice, slice]]:
        """(image, row, column, rows, cols) of every grid cell that shows something:
        each image's input and vector cells in its first row, feature maps in every
        row whose channel the layer has."""
        found = []
        for image_index, rows in enumerate(self.rows_per_image):
            for row in range(rows):
                for column in range(len(self.views) + 1):
                    view = self.views[column - 1] if column else None
                    shown = (row == 0 if view is None or view.kind == "vector"
                             else self.channels[row] < view.channels)
                    if shown:
                        found.append((image_index, row, column, *self._cell_box(image_index, row, column)))
        return found

    # ---- per frame ---------------------------------------------------------------
    def render(self, activations: Activations, stamp: Stamp = Stamp()) -> np.ndarray:
        """Draw one frame.

        Args:
            activations: a probe's forward pass over this renderer's images.
            stamp: where training stands, printed at the top.

        Returns:
            The frame, (height, width, 3) uint8, `frame_size` large, every colour from
            `palette`.
        """
        indices = self._text_layer(activations, stamp)
        self._paste_input_column(indices)
        for column, (view, output) in enumerate(zip(self.views, activations.outputs), start=1):
            self._paste_layer(indices, column, view, output)
        self._mark_predictions(indices, activations.probabilities)
        # np.take: the same lookup as self.palette[indices], in a third of the time.
        frame = np.take(self.palette, indices, axis=0)
        if self._input_cells.ndim == 4:  # colour inputs are pasted as they are
            self._paste_rgb_inputs(frame)
        return frame

    def _text_layer(self, activations: Activations, stamp: Stamp) -> np.ndarray:
        """The static text with this frame's stamp and predictions, as palette indices.

        Each group of lines (the stamp; one image's prediction and confidence) is drawn
        on a crop of the static text just large enough for it, and an image's group is
        kept for the next frames that show the same lines, so a frame redraws little.
        The pixels are those of drawing every line on the whole frame, which is what
        happens when groups overlap (very small cells)."""
        groups = self._text_groups(activations, stamp)
        # The stamp (group 0) differs in every frame: drawn, not kept.
        patches = [self._text_patch(group, keep=index > 0) for index, group in enumerate(groups)]
        boxes = [box for box, _ in patches]
        if not _overlap(boxes):
            indices = self._base_indices.copy()
            for (left, top, right, bottom), patch in patches:
                indices[top:bottom, left:right] = patch
            return indices
        from PIL import ImageDraw

        text = self._base_text.copy()
        draw = ImageDraw.Draw(text)
        for group in groups:
            for xy, line, fill, size in group:
                draw.text(xy, line, fill=fill, font=font(size))
        return np.take(_GREY_OF_L, np.asarray(text))

    def _text_groups(self, activations: Activations, stamp: Stamp) -> list[tuple]:
        """The lines each frame draws, grouped: ((x, y), text, grey, font size) each."""
        from PIL import ImageDraw

        groups = [(((_PAD, 5), stamp.text(), 0, _STAMP_FONT),)]
        probabilities = activations.probabilities
        if probabilities is None:
            return groups
        measure = ImageDraw.Draw(self._base_text)  # only measures text, draws nothing
        small = font(_SMALL_FONT)
        for image_index, block_top in enumerate(self._block_y):
            row = probabilities[image_index]
            if np.all(np.isnan(row)):
                guess_line, confidence_line = "pred: NaN", ""
            else:
                guess = int(np.nanargmax(row))
                guess_line = f"pred: {self._class_name(guess)}"
                confidence_line = f"confidence {row[guess]:.0%}"
            top = block_top + _LINE + 2
            guess_line = fit_text(measure, guess_line, small, _LABEL_W - 16)
            groups.append((((_PAD + 12, top), guess_line, 0, _SMALL_FONT),
                           ((_PAD + 12, top + _LINE), confidence_line, 64, _SMALL_FONT)))
        return groups

    def _text_patch(self, group: tuple, *, keep: bool) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """`group` drawn on the static text: its box (left, top, right, bottom) in the
        frame and the palette indices there; with `keep`, kept for the next frames."""
        found = self._text_patches.get(group)
        if found is not None:
            return found
        from PIL import ImageDraw

        measure = ImageDraw.Draw(self._base_text)
        height, width = self.frame_size
        # Each line's ink lies within its bbox; a margin, in case a font rounds outwards.
        bboxes = [measure.textbbox(xy, line, font=font(size)) for xy, line, _, size in group if line]
        left = max(0, min((b[0] for b in bboxes), default=0) - _TEXT_MARGIN)
        top = max(0, min((b[1] for b in bboxes), default=0) - _TEXT_MARGIN)
        right = min(width, max((b[2] for b in bboxes), default=0) + _TEXT_MARGIN)
        bottom = min(height, max((b[3] for b in bboxes), default=0) + _TEXT_MARGIN)
        box = (left, top, max(left, right), max(top, bottom))
        crop = self._base_text.crop(box)
        draw = ImageDraw.Draw(crop)
        for (x, y), line, fill, size in group:
            draw.text((x - left, y - top), line, fill=fill, font=font(size))
        found = (box, np.take(_GREY_OF_L, np.asarray(crop)))
        if keep:
            if len(self._text_patches) >= _TEXT_PATCHES_KEPT:
                self._text_patches.clear()
            self._text_patches[group] = found
        return found

    def _cell_box(self, image_index: int, row: int, column: int):
        top, left = self._row_y[image_index][row], self._col_x[column]
        return slice(top, top + self.cell_px), slice(left, left + self.cell_px)

    def _paste(self, indices, places, column: int, plan: _CellPlan, cells: np.ndarray):
        """Scale `cells` (a stack of maps) into their boxes, one (image, row) of `places`
        each. The whole stack is scaled at once, with `take` along each axis: per cell,
        or with fancy indexing, the indexing costs more than the copy."""
        scaled = cells.take(plan.rows, axis=1).take(plan.cols, axis=2)
        height, width = scaled.shape[1:3]
        left = self._col_x[column] + plan.left
        for (image_index, row), cell in zip(places, scaled):
            top = self._row_y[image_index][row] + plan.top
            indices[top:top + height, left:left + width] = cell

    def _paste_input_column(self, indices):
        if self._input_cells.ndim == 4:
            return
        height, width = self._input_cells.shape[1:3]
        plan = _cell_plan((height, width), self.cell_px)
        places = [(image_index, 0) for image_index in range(len(self.images))]
        self._paste(indices, places, 0, plan, self._input_cells)

    def _paste_rgb_inputs(self, frame):
        height, width = self._input_cells.shape[1:3]
        plan = _cell_plan((height, width), self.cell_px)
        for image_index in range(len(self.images)):
            rows, cols = self._cell_box(image_index, 0, 0)
            scaled = self._input_cells[image_index][np.ix_(plan.rows, plan.cols)]
            top, left = rows.start + plan.top, cols.start + plan.left
            frame[top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled

    def _paste_layer(self, indices, column: int, view: LayerView, output: np.ndarray):
        plan = self._plans[column - 1]
        if view.kind == "vector":
            rows, cols = plan.grid
            cells = np.full((len(output), rows * cols), _WHITE, dtype=np.uint8)
            cells[:, :view.channels] = self._to_indices(self._normalize((column, None), output))
            places = [(image_index, 0) for image_index in range(len(output))]
            self._paste(indices, places, column, plan, cells.reshape(len(output), rows, cols))
            return
        # Each channel is normalized over all the images that show it, so that one
        # channel's rows compare across images while a weak channel stays visible.
        for row, channel in enumerate(self.channels):
            if channel >= view.channels:  # the default channels are clipped per layer
                continue
            images = [i for i, rows in enumerate(self.rows_per_image) if rows > row]
            if not images:
                continue
            unit = self._normalize((column, channel), output[images, :, :, channel])
            self._paste(indices, [(image_index, row) for image_index in images], column, plan,
                        self._to_indices(unit))

    def _mark_predictions(self, indices, probabilities):
        if probabilities is None or self.labels is None:
            return
        for image_index, block_top in enumerate(self._block_y):
            row = probabilities[image_index]
            right = not np.all(np.isnan(row)) and int(np.nanargmax(row)) == self.labels[image_index]
            top = block_top + _LINE + 4
            indices[top:top + 8, _PAD:_PAD + 8] = _GREEN if right else _RED

