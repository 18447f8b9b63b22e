"""`GridRenderer`: the layout that composes a frame from its parts.

The grid is the notes' figure: column 0 shows the input, then one column per layer.
The first image gets one row per chosen channel, the others one row each; other kinds
of output than feature maps are drawn in the first row of their image. What goes in a
cell is drawn by the drawer of its kind: the input's (`inputs.py`), each layer
output's (`cells.py`); the words beside each row come from the output's reader
(`readers.py`). The grid only places them.

Speed comes from drawing everything that does not change (headers, true labels,
inputs) once, when the renderer is made, and composing each frame in numpy as an
image of palette indices (`palette.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..analysis.frame import FrameDynamics
from ..capture.layers import LayerView
from ..capture.probe import Activations
from .cells import CELL_DRAWERS, Patch
from .dynamics import DynamicsPainter, check_frame_dynamics, dynamics_room
from .heads import make_reader
from .normalize import Normalizer
from .options import DEFAULT_CHANNELS, resolve_channels, rows_per_image
from .output_cells import output_columns
from .palette import GREEN, RED, make_palette
from .stamp import Stamp
from .several_inputs import input_batches, input_count, make_input_drawer
from .style import FrameStyle, check_style
from .text import (LINE, SMALL_FONT, STAMP_FONT, TextLayer, class_labels, fit_label, fit_text, font, header_lines,
                   shape_labels, shared_prefix)

__all__ = ["GridRenderer"]

# The fixed bands around the grid, in pixels.
_PAD = 6
_STAMP_H = 26
_LABEL_W = 124
_CHANNEL_W = 34
_COL_GAP, _ROW_GAP, _BLOCK_GAP = 3, 2, 8
# A column header's lines: the layer's name, its class, its output's shape.
_HEADER_GREYS = {"name": 0, "class": 72, "shape": 120}
# The least room between two columns' headers, in pixels (the old 1 let neighbours read as one,
# "se_squeezeactivation"; more would shorten the headers of 48- and 56-pixel cells).
_HEADER_GAP = 2
# The green or red square beside a prediction, below the block's top.
_MARK_TOP = LINE + 4


class GridRenderer:
    """Turns one forward pass into an RGB frame. Built once per run; every frame it
    draws has the same size.

    >>> renderer = GridRenderer(probe.views, images, labels=y, style=FrameStyle(class_names=names))
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
        images: the inputs as the model takes them: images (N, height, width, channels),
            windows of a series (N, time, features), token ids (N, length; integers) or
            features (N, values); each kind is drawn by its drawer in `INPUT_DRAWERS`.
            Several inputs: {input name: batch}, in the model's order, side by side.
        labels: the truth per input, printed beside each row: a class (index or
            one-hot), 0 or 1 for one sigmoid unit, or a target value for a regression.
        style: how the frame looks (`FrameStyle`: channels, rows per image, colours,
            normalization, cell size, class names, vocabulary); default `FrameStyle()`.
            Given channels must exist in every feature-map layer; the default ones are
            clipped to what each layer has.
        output_kind: what the model's output is, the key of `OUTPUT_READERS`:
            "classes" (softmax or logits), "binary" (one sigmoid unit) or "regression"
            (values), "image" (drawn as an image beside its target) or "segmentation"
            (a class map); {head name: kind} for several outputs (then `labels` is a
            list or dict per head); a probe's `output_kind`.

    Raises:
        TypeError, ValueError: an option is not valid; the message says what is.
    """

    #: The kinds of layer output (`LayerView.kind`) this renderer can draw.
    KINDS = tuple(CELL_DRAWERS)

    def __init__(self, views: Sequence[LayerView], images: np.ndarray, *,
                 labels=None, style: FrameStyle | None = None, output_kind: str = "classes"):
        style = check_style(style)
        self.style = style
        self.cell_px = style.cell_px
        self.views = tuple(views)
        self.images = input_batches(images)
        count = input_count(self.images)
        self.reader = make_reader(output_kind, labels, count, class_names=style.class_names)
        self.channels, self._clip_channels = resolve_channels(style.channels, self.views)
        chosen = len(DEFAULT_CHANNELS) if self._clip_channels else len(self.channels)
        self.rows_per_image = rows_per_image(style.channels_per_image, count, chosen,
                                             cap=len(self.channels))
        if not any(CELL_DRAWERS[view.kind].rows_by_channel for view in self.views):
            self.rows_per_image = (1,) * count  # no layer has a row per channel
        self.palette = make_palette(style.cmap)
        normalize = Normalizer(style.normalization)
        self.input = make_input_drawer(
            self.images, cell_px=self.cell_px, targets=self.reader.targets(),
            vocabulary=None if style.vocabulary is None else dict(style.vocabulary))
        self.drawers = [CELL_DRAWERS[view.kind](
            view, column=column, cell_px=self.cell_px, channels=self.channels,
            rows_per_image=self.rows_per_image, normalize=normalize)
            for column, view in enumerate(self.views, start=1)]
        #: The columns after the layers that draw a picture output (an image, a class map).
        self.output_columns = output_columns(self.reader, self.views, cell_px=self.cell_px)
        self._widths = ([self.input.width] + [self.cell_px for _ in self.drawers]
                        + [column.width for column in self.output_columns])
        #: What every layer name shown begins with ("convnext_tiny_"), written once.
        self.name_prefix = shared_prefix([view.name for view in self.views], [view.layer_class for view in self.views])
        #: Each column's header, top to bottom: (line, "name" | "class" | "shape").
        self.headers = self._header_texts()
        self._layout()
        self._dynamics = self._dynamics_painter() if style.show_dynamics else None
        self._text = TextLayer(self._draw_static_text())
        self._input_rgb = self.input.rgb_patches()

    @property
    def labels(self) -> np.ndarray | None:
        """The truth per image, as the output's reader compares it with the output."""
        return self.reader.labels

    # ---- layout, computed once -------------------------------------------------
    def _header_texts(self) -> list[list[tuple[str, str]]]:
        """Each column's header, (line, role) from the top: the layer's name in up to
        three lines, its class, and the shape of its output for one input."""
        from PIL import Image, ImageDraw

        measure = ImageDraw.Draw(Image.new("L", (1, 1)))
        small = font(SMALL_FONT)
        columns = [("input", (self.input.title,), self.input.shape_texts)] + [
            (view.name[len(self.name_prefix):], class_labels(view.layer_class) if view.layer_class else (),
             shape_labels(view.shape)) for view in self.views] + [
            (name, what, shape_labels(shape)) for name, what, shape in (c.header for c in self.output_columns)]
        headers = []
        for column, (width, (name, what, shape)) in enumerate(zip(self._widths, columns)):
            # The last column's header may use the frame's margin: no header follows it.
            room = width - 1 + _PAD if column == len(columns) - 1 else width - _HEADER_GAP + _COL_GAP
            lines = [(line, "name") for line in header_lines(measure, name, small, room)]
            if what:
                lines.append((fit_label(measure, what, small, room), "class"))
            lines.append((fit_label(measure, shape, small, room), "shape"))
            headers.append(lines)
        return headers

    def _layout(self):
        cell = self.cell_px
        self._show_channels = max(self.rows_per_image) > 1
        self._grid_left = _PAD + _LABEL_W + (_CHANNEL_W if self._show_channels else 0)
        room = dynamics_room(self.style.show_dynamics)  # none unless shown: the frame as before
        self._grid_top = _STAMP_H + room.header_px + max(len(lines) for lines in self.headers) * LINE + 4
        widths = self._widths
        self._col_x = [self._grid_left + sum(widths[:i]) + i * _COL_GAP for i in range(len(widths))]
        self._block_y, self._row_y = [], []
        y = self._grid_top
        for rows in self.rows_per_image:
            self._block_y.append(y)
            self._row_y.append([y + r * (cell + _ROW_GAP) for r in range(rows)])
            y += max(rows * cell + (rows - 1) * _ROW_GAP, room.block_px) + _BLOCK_GAP
        width = self._col_x[-1] + widths[-1] + _PAD
        height = y - _BLOCK_GAP + _PAD
        # Even sizes, so that H.264 takes frames as they are.
        self.frame_size = (height + height % 2, width + width % 2)

    def _dynamics_painter(self) -> DynamicsPainter:
        return DynamicsPainter(names=[view.name for view in self.views], column_x=self._col_x[1:],
                               column_widths=[width + _COL_GAP - 1 for width in self._widths[1:]],
                               block_tops=self._block_y, label_x=_PAD, label_width=_LABEL_W - 8, row_y=_STAMP_H)

    def _draw_static_text(self):
        from PIL import Image, ImageDraw

        height, width = self.frame_size
        text = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(text)
        small = font(SMALL_FONT)
        cell = self.cell_px
        #: Where each header line was drawn, (left, top, right, bottom) per column: to measure.
        self.header_boxes = []
        for x, lines in zip(self._col_x, self.headers):
            top = self._grid_top - 4 - len(lines) * LINE  # the shape line just above the cells
            for i, (line, role) in enumerate(lines):
                draw.text((x, top + i * LINE), line, fill=_HEADER_GREYS[role], font=small)
            self.header_boxes.append([draw.textbbox((x, top + i * LINE), line, font=small)
                                      for i, (line, _) in enumerate(lines)])
        if self.name_prefix:
            draw.text((_PAD, self._grid_top - 4 - 2 * LINE), "layers:", fill=_HEADER_GREYS["class"], font=small)
            draw.text((_PAD, self._grid_top - 4 - LINE), fit_text(draw, self.name_prefix + "…", small, _LABEL_W - 4),
                      fill=_HEADER_GREYS["name"], font=small)
        for image_index, block_top in enumerate(self._block_y):
            true_text = self.reader.true_text(image_index)
            if true_text is not None:
                draw.text((_PAD, block_top), fit_text(draw, true_text, small, _LABEL_W - 4), fill=0, font=small)
            if self._show_channels:
                for row, row_top in enumerate(self._row_y[image_index]):
                    draw.text((self._grid_left - 4, row_top + cell // 2), f"ch {self.channels[row]}",
                              fill=64, font=small, anchor="rm")
        return text

    def cells(self) -> list[tuple[int, int, int, slice, slice]]:
        """(image, row, column, rows, cols) of every grid cell that shows something:
        each image's input and vector cells in its first row, feature maps in every
        row whose channel the layer has."""
        found = []
        for image_index, rows in enumerate(self.rows_per_image):
            for row in range(rows):
                for column in range(len(self._widths)):
                    layer = 0 < column <= len(self.drawers)
                    shown = self.drawers[column - 1].shows(row) if layer else row == 0
                    if shown:
                        found.append((image_index, row, column, *self._cell_box(image_index, row, column)))
        return found

    def _cell_box(self, image_index: int, row: int, column: int):
        top, left = self._row_y[image_index][row], self._col_x[column]
        return slice(top, top + self.cell_px), slice(left, left + self._widths[column])

    # ---- per frame ---------------------------------------------------------------
    def render(self, activations: Activations, stamp: Stamp = Stamp(), *,
               dynamics: FrameDynamics | None = None) -> np.ndarray:
        """Draw one frame.

        Args:
            activations: a probe's forward pass over this renderer's images.
            stamp: where training stands, printed at the top.
            dynamics: what the analysis knows at this frame (each input's right/wrong
                history, each layer's dead fraction), drawn in the room that
                `FrameStyle(show_dynamics=True)` keeps; None draws the frame without.

        Returns:
            The frame, (height, width, 3) uint8, `frame_size` large, every colour from
            `palette`.

        Raises:
            TypeError, ValueError: dynamics that are not a `FrameDynamics` of this
                frame's inputs, or given to a renderer whose style keeps no room for them.
        """
        groups = self._text_groups(activations, stamp)
        if dynamics is not None:
            dynamics = check_frame_dynamics(dynamics, input_count(self.images), has_room=self._dynamics is not None)
            groups.extend(self._dynamics.text_groups(dynamics))
        indices = self._text.compose(groups)
        if dynamics is not None:
            self._dynamics.paint(indices, dynamics)
        self._paste(indices, 0, self.input.patches(self.reader.predicted(activations)))
        for column, (drawer, output) in enumerate(zip(self.drawers, activations.outputs), start=1):
            self._paste(indices, column, drawer.patches(output))
        pictures = list(enumerate(self.output_columns, start=len(self.drawers) + 1))
        for column, picture in pictures:
            self._paste(indices, column, picture.patches(activations))
        self._mark_predictions(indices, activations)
        # np.take: the same lookup as self.palette[indices], in a third of the time.
        frame = np.take(self.palette, indices, axis=0)
        self._paste(frame, 0, self._input_rgb)
        for column, picture in pictures:
            self._paste(frame, column, picture.rgb_patches(activations))
        return frame

    def _text_groups(self, activations: Activations, stamp: Stamp) -> list[tuple]:
        """The lines each frame draws, grouped: ((x, y), text, grey, font size) each."""
        from PIL import ImageDraw

        measure = ImageDraw.Draw(self._text.base)  # only measures text, draws nothing
        groups = [(((_PAD, 5), *self._stamp_line(measure, stamp.text()), ),)]
        lines = self.reader.lines(activations)
        if lines is None:
            return groups
        small = font(SMALL_FONT)
        for block_top, (first, second) in zip(self._block_y, lines):
            top = block_top + LINE + 2
            groups.append((((_PAD + 12, top), fit_text(measure, first, small, _LABEL_W - 16), 0, SMALL_FONT),
                           ((_PAD + 12, top + LINE), fit_text(measure, second, small, _LABEL_W - 16), 64,
                            SMALL_FONT)))
        return groups

    def _stamp_line(self, measure, text: str) -> tuple[str, int, int]:
        """The stamp as (text, grey, font size): smaller, then cut short, where a narrow frame
        (few columns) has no room for it whole."""
        room = self.frame_size[1] - 2 * _PAD
        for size in (STAMP_FONT, SMALL_FONT + 2):
            if measure.textlength(text, font=font(size)) <= room:
                return text, 0, size
        return fit_text(measure, text, font(SMALL_FONT + 2), room), 0, SMALL_FONT + 2

    def _paste(self, canvas: np.ndarray, column: int, patches: Sequence[Patch]) -> None:
        left = self._col_x[column]
        for patch in patches:
            height, width = patch.pixels.shape[1:3]
            for (image_index, row), picture in zip(patch.places, patch.pixels):
                top = self._row_y[image_index][row] + patch.top
                canvas[top:top + height, left + patch.left:left + patch.left + width] = picture

    def _mark_predictions(self, indices: np.ndarray, activations: Activations) -> None:
        marks = self.reader.marks(activations)
        if marks is None:
            return
        for block_top, right in zip(self._block_y, marks):
            if right is None:
                continue
            top = block_top + _MARK_TOP
            indices[top:top + 8, _PAD:_PAD + 8] = GREEN if right else RED

