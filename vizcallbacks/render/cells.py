"""One way to draw each kind of layer output into the cells of its column.

A cell drawer is made once per column, for one `LayerView`, and turns that layer's
output for every image into `Patch`es of palette indices; the grid (`grid.py`) puts them
in place. Drawers are looked up by `LayerView.kind` in `CELL_DRAWERS`: a new kind of
output is a new class here, listed in that table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..capture.layers import LayerView
from .normalize import Normalizer
from .palette import WHITE, grey, to_indices

__all__ = ["Patch", "CellPlan", "cell_plan", "nearest_index", "vector_grid", "CellDrawer", "MapCells",
           "SequenceCells", "VectorCells", "CELL_DRAWERS"]

# The outline of a single unit's gauge.
_GAUGE_EDGE = grey(200)


@dataclass(frozen=True)
class Patch:
    """Same-sized pictures for some cells of one column, one per place.

    Args:
        places: (image index, row) of each cell drawn.
        top: where the pictures start inside their cells, in pixels from the top.
        left: and from the left.
        pixels: the pictures, (len(places), height, width) palette indices (or
            (..., 3) RGB for a colour input).
    """

    places: tuple[tuple[int, int], ...]
    top: int
    left: int
    pixels: np.ndarray


def nearest_index(size: int, target: int) -> np.ndarray:
    """Source indices that scale `size` pixels to `target` with nearest neighbour.

    Args:
        size: the source's length.
        target: the length wanted.

    Returns:
        `target` indices into the source.
    """
    return np.minimum((np.arange(target) * size) // target, size - 1)


@dataclass(frozen=True)
class CellPlan:
    """How a picture of `grid` values is scaled into a cell: where it goes and which
    source rows and columns make each pixel.

    Args:
        grid: (rows, cols) of the source picture.
        top: its offset in the cell, from the top.
        left: and from the left.
        rows: source row of each pixel row.
        cols: source column of each pixel column.
    """

    grid: tuple[int, int]
    top: int
    left: int
    rows: np.ndarray
    cols: np.ndarray

    def scale(self, pictures: np.ndarray) -> np.ndarray:
        """A stack of pictures (n, rows, cols, ...) scaled to the cell, all at once:
        `take` along each axis costs less than fancy indexing or a loop.

        Args:
            pictures: the stack.

        Returns:
            The scaled stack.
        """
        return pictures.take(self.rows, axis=1).take(self.cols, axis=2)


def cell_plan(grid: tuple[int, int], cell_px: int, *, fill: bool = False) -> CellPlan:
    """The plan for a picture of `grid` values in a square cell: centred and keeping its
    aspect, or stretched over the cell with `fill` (and always for a single row).

    Args:
        grid: (rows, cols) of the picture.
        cell_px: the cell's side.
        fill: stretch the picture over the whole cell.

    Returns:
        The `CellPlan`.
    """
    height, width = grid
    if fill or height == 1:  # a short vector: a strip that fills the cell, as in the notes
        target_h, target_w = cell_px, cell_px
    else:
        scale = cell_px / max(height, width)
        target_h, target_w = max(1, round(height * scale)), max(1, round(width * scale))
    return CellPlan(grid, (cell_px - target_h) // 2, (cell_px - target_w) // 2,
                    nearest_index(height, target_h), nearest_index(width, target_w))


class CellDrawer:
    """Draws one layer's output into its column's cells. Made once per column.

    Args:
        view: the layer shown.
        column: the column's index in the grid (0 is the input), which keys its
            stable colour range.
        cell_px: the side of a cell.
        channels: the feature-map channels chosen, one per row of an image.
        rows_per_image: how many rows each image has.
        normalize: the renderer's `Normalizer`.
    """

    #: The `LayerView.kind` this drawer draws.
    kind = ""
    #: Whether the drawer gives an image one row per chosen channel (feature maps), or
    #: draws in its first row only.
    rows_by_channel = False

    def __init__(self, view: LayerView, *, column: int, cell_px: int, channels: Sequence[int],
                 rows_per_image: Sequence[int], normalize: Normalizer):
        self.view, self.column, self.cell_px = view, column, cell_px
        self.channels, self.rows_per_image = tuple(channels), tuple(rows_per_image)
        self.normalize = normalize
        self._setup()

    def _setup(self) -> None:
        """What a kind of drawer works out once, when it is made."""

    def shows(self, row: int) -> bool:
        """Whether an image's `row` has a cell in this column (by default its first row).

        Args:
            row: the row within an image's rows.

        Returns:
            True where a cell is drawn.
        """
        return row == 0

    def patches(self, output: np.ndarray) -> list[Patch]:
        """This frame's pictures of the layer's output.

        Args:
            output: the layer's output for every image, (images, ...).

        Returns:
            The patches to put in this column.
        """
        raise NotImplementedError


class MapCells(CellDrawer):
    """Feature maps (height, width, channels): one map per chosen channel, a row each,
    keeping its aspect. Each channel is normalized over all the images that show it, so
    that one channel's rows compare across images while a weak channel stays visible."""

    kind = "maps"
    rows_by_channel = True

    def _setup(self) -> None:
        self.plan = cell_plan(self.view.shape[:2], self.cell_px)

    def shows(self, row: int) -> bool:
        return self.channels[row] < self.view.channels  # the default channels are clipped per layer

    def patches(self, output: np.ndarray) -> list[Patch]:
        found = []
        for row, channel in enumerate(self.channels):
            if channel >= self.view.channels:
                continue
            images = [i for i, rows in enumerate(self.rows_per_image) if rows > row]
            if not images:
                continue
            unit = self.normalize((self.column, channel), output[images, :, :, channel])
            found.append(Patch(tuple((image, row) for image in images), self.plan.top, self.plan.left,
                               self.plan.scale(to_indices(unit))))
        return found


def vector_grid(units: int) -> tuple[int, int]:
    """Rows and columns a vector of `units` is wrapped into: one strip when short, a
    near-square block when long so that each unit stays visible.

    Args:
        units: the vector's length.

    Returns:
        (rows, cols).
    """
    if units <= 16:
        return 1, units
    cols = math.ceil(math.sqrt(units))
    return math.ceil(units / cols), cols


class VectorCells(CellDrawer):
    """A vector (units): a strip when short, a block when long, in each image's first
    row; the layer is normalized as a whole. A single unit (a regression's value, a
    sigmoid's probability) is a gauge: a bar that fills the cell as far as the value
    goes in the layer's range, in the value's colour."""

    kind = "vector"

    def _setup(self) -> None:
        self.plan = cell_plan(vector_grid(self.view.channels), self.cell_px)
        self._draw = self._gauges if self.view.channels == 1 else self._strips

    def patches(self, output: np.ndarray) -> list[Patch]:
        places = tuple((image, 0) for image in range(len(output)))
        units = output.reshape(len(output), -1)  # maps of 1x1 are vectors too
        return [Patch(places, *self._draw(self.normalize((self.column, None), units)))]

    def _strips(self, unit: np.ndarray) -> tuple[int, int, np.ndarray]:
        rows, cols = self.plan.grid
        pictures = np.full((len(unit), rows * cols), WHITE, dtype=np.uint8)
        pictures[:, :self.view.channels] = to_indices(unit)
        return self.plan.top, self.plan.left, self.plan.scale(pictures.reshape(len(unit), rows, cols))

    def _gauges(self, unit: np.ndarray) -> tuple[int, int, np.ndarray]:
        cell, inner = self.cell_px, self.cell_px - 2
        pictures = np.full((len(unit), cell, cell), _GAUGE_EDGE, dtype=np.uint8)
        pictures[:, 1:-1, 1:-1] = WHITE
        # A value off the charts (NaN) fills the gauge in the NaN grey.
        heights = np.rint(np.nan_to_num(unit[:, 0], nan=1.0) * inner).astype(int)
        filled = np.arange(inner)[None, :] >= inner - heights[:, None]         # (images, rows)
        colours = np.broadcast_to(to_indices(unit[:, :1])[:, :, None], (len(unit), inner, inner))
        pictures[:, 1:-1, 1:-1] = np.where(filled[:, :, None], colours, WHITE)
        return 0, 0, pictures


class SequenceCells(CellDrawer):
    """A sequence (time, channels), from Embedding, Conv1D, 1-D pooling, recurrent layers
    with `return_sequences`: a heatmap with time across and channels down, stretched
    over the cell, in each image's first row; the layer is normalized as a whole, like
    a vector, so that a strong channel shows as strong."""

    kind = "sequence"

    def _setup(self) -> None:
        steps, channels = self.view.shape
        self.plan = cell_plan((channels, steps), self.cell_px, fill=True)

    def patches(self, output: np.ndarray) -> list[Patch]:
        unit = self.normalize((self.column, None), output)
        pictures = to_indices(unit).transpose(0, 2, 1)  # (images, channels, time)
        places = tuple((image, 0) for image in range(len(output)))
        return [Patch(places, self.plan.top, self.plan.left, self.plan.scale(pictures))]


#: The drawer of each kind of layer output (`LayerView.kind`).
CELL_DRAWERS: dict[str, type[CellDrawer]] = {
    drawer.kind: drawer for drawer in (MapCells, SequenceCells, VectorCells)}
