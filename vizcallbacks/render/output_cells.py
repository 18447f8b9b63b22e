"""Columns for outputs that are pictures: an image (an autoencoder's reconstruction) or a
class map (a segmentation's), drawn after the layers, the target beside the prediction.

An output column is made once per picture head, by `output_columns`, from the head's
reader; each frame it draws that head's output. Columns are looked up by the head's kind
in `OUTPUT_COLUMNS`: a new kind of picture output is a new class here, listed there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..capture.layers import LayerView
from ..capture.probe import Activations
from .cells import Patch, cell_plan
from .palette import CMAP_LEVELS, finite, finite_range, scale_to_unit, to_indices
from .readers import OutputReader

__all__ = ["OutputColumn", "ImageColumn", "ClassMapColumn", "OUTPUT_COLUMNS", "output_columns", "class_colours"]

# Between the prediction and its target, as between two columns.
_GAP = 3


def class_colours(classes: int) -> np.ndarray:
    """The palette index of each class of a class map: colormap colours spread as far
    apart as the classes allow, the same in every frame.

    Args:
        classes: how many classes.

    Returns:
        (classes,) uint8 palette indices.
    """
    return np.rint(np.linspace(0, CMAP_LEVELS - 1, max(classes, 2))[:classes]).astype(np.uint8)


class OutputColumn:
    """One picture output's column: its prediction each frame, and its target (drawn once)
    beside it when the reader has one.

    Args:
        name: the head's name, the column's header.
        reader: the head's reader (its `labels` are the targets).
        head: the head's index among the pass's `heads`; None for a model's single output.
        shape: the output's shape for one input (height, width, channels), for the header.
        cell_px: the side of a grid cell.
    """

    #: The head kind (`OUTPUT_KINDS`) this column draws.
    kind = ""
    #: What the header calls the prediction.
    what = "prediction"

    def __init__(self, name: str, reader: OutputReader, *, head: int | None, shape: tuple, cell_px: int):
        self.name, self.reader, self.head, self.shape, self.cell_px = name, reader, head, tuple(shape), cell_px
        self.targets = reader.labels
        self.width = cell_px * 2 + _GAP if self.targets is not None else cell_px
        self.places = tuple((image, 0) for image in range(reader.count))
        self._static: Patch | None = None  # the targets' pictures, drawn at the first frame
        self._setup()

    def _setup(self) -> None:
        """What a kind of column works out once, when it is made."""

    @property
    def header(self) -> tuple[str, tuple[str, ...], tuple]:
        """(name, what it shows, shape) for the column's header."""
        return self.name, (f"{self.what} | target", "pred | target") if self.targets is not None \
            else (self.what, "pred"), self.shape

    def output(self, activations: Activations) -> np.ndarray | None:
        """This head's output in the pass, or None when the pass has none.

        Args:
            activations: the frame's pass.
        """
        if self.head is None:
            return activations.output
        return activations.heads[self.head] if len(activations.heads) > self.head else None

    def pictures(self, values: np.ndarray) -> np.ndarray:
        """Palette-index pictures (inputs, height, width) of an output or target.

        Args:
            values: the output (inputs, height, width, channels) or target.
        """
        raise NotImplementedError

    def patches(self, activations: Activations) -> list[Patch]:
        """This frame's pictures, in palette indices: the prediction, then the target.

        Args:
            activations: the frame's pass.
        """
        output = self.output(activations)
        found = [] if output is None or output.ndim != 4 else [self._patch(self.pictures(output), 0)]
        if self.targets is not None and self._static is None:
            self._static = self._patch(self.pictures(self.targets), self.cell_px + _GAP)
        return found + ([self._static] if self._static is not None else [])

    def rgb_patches(self, activations: Activations) -> list[Patch]:
        """Pictures in RGB (a colour image), pasted after the palette lookup.

        Args:
            activations: the frame's pass.
        """
        return []

    def _patch(self, pictures: np.ndarray, left: int) -> Patch:
        plan = cell_plan(pictures.shape[1:3], self.cell_px)
        return Patch(self.places, plan.top, left + plan.left, plan.scale(pictures))


class ImageColumn(OutputColumn):
    """An image: grayscale (or the first channel) in the colormap, colour (three channels)
    as it is; both on the targets' range (0..1 without targets), so that the prediction
    and its target are drawn on one scale and a better reconstruction looks more like it."""

    kind = "image"

    def _setup(self) -> None:
        self.range = finite_range(self.targets) if self.targets is not None else (0.0, 1.0)
        self.colour = len(self.shape) == 3 and self.shape[-1] == 3

    def pictures(self, values: np.ndarray) -> np.ndarray:
        if self.colour:  # drawn in RGB (`rgb_patches`); the cell is left to them
            return np.zeros(values.shape[:3], dtype=np.uint8)
        return to_indices(scale_to_unit(finite(values[..., 0].astype(np.float32)), *self.range))

    def rgb_patches(self, activations: Activations) -> list[Patch]:
        if not self.colour:
            return []
        output = self.output(activations)
        found = [] if output is None else [self._patch(self._rgb(output), 0)]
        if self.targets is not None:
            found.append(self._patch(self._rgb(self.targets), self.cell_px + _GAP))
        return found

    def _rgb(self, values: np.ndarray) -> np.ndarray:
        unit = scale_to_unit(values.astype(np.float32), *self.range)
        return (np.nan_to_num(unit, nan=0.0) * 255).astype(np.uint8)


class ClassMapColumn(OutputColumn):
    """Per-pixel classes: each pixel in its most likely class's colour (`class_colours`),
    the target map beside it in the same colours."""

    kind = "segmentation"
    what = "classes"

    def _setup(self) -> None:
        self.classes: int | None = None  # the output's last axis, read at the first frame

    def pictures(self, values: np.ndarray) -> np.ndarray:
        if values.ndim == 4:  # the output's scores; the targets are class maps already
            self.classes = values.shape[-1]
            values = np.nan_to_num(values).argmax(axis=-1)
        colours = class_colours(self.classes or int(values.max(initial=0)) + 1)
        return colours[np.clip(values, 0, len(colours) - 1)]


#: The column of each picture kind of output.
OUTPUT_COLUMNS: dict[str, type[OutputColumn]] = {column.kind: column for column in (ImageColumn, ClassMapColumn)}


def _head_shape(name: str, views: Sequence[LayerView], reader: OutputReader, several: bool) -> tuple:
    """A head's shape for one input, for its header: its targets' (the truth has the
    output's shape), else its layer's (the view named like it; for a single output, the
    last view, which the default choice of columns always is); () when neither says."""
    labels = reader.labels
    if labels is not None:
        return tuple(labels.shape[1:])
    named = [view for view in views if view.name == name] or ([] if several or not views else [views[-1]])
    return tuple(named[-1].shape) if named and len(named[-1].shape) == 3 else ()


def output_columns(reader: OutputReader, views: Sequence[LayerView], *, cell_px: int) -> list[OutputColumn]:
    """The picture columns of a model's output: one per head whose kind has a column in
    `OUTPUT_COLUMNS` (image, class map); none for other outputs.

    Args:
        reader: the renderer's reader (a `HeadsReader` for several outputs).
        views: the layers shown, to read each head's shape.
        cell_px: the side of a grid cell.
    """
    heads = getattr(reader, "readers", None)
    if heads is None:
        entries = [("output", reader, None)]
    else:
        entries = [(name, head, index) for index, (name, head) in enumerate(zip(reader.names, heads))]
    return [OUTPUT_COLUMNS[head.kind](name, head, head=index, shape=_head_shape(name, views, head, heads is not None),
                                      cell_px=cell_px)
            for name, head, index in entries if head.kind in OUTPUT_COLUMNS]
