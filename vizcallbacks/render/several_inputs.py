"""A model with several inputs: each drawn by the drawer of its kind, side by side in the
input column, named by the model's input names.

The renderer is given several inputs as a dict {input name: batch}, in the model's
order (what `ConvPlotter` makes of a list or dict); one input stays one array.
`make_input_drawer` gives the input column's drawer either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .cells import Patch
from .inputs import INPUT_DRAWERS, InputDrawer, input_kind
from .text import shape_labels

__all__ = ["SeveralInputs", "make_input_drawer", "input_batches", "input_count"]

# Between two inputs' pictures, as between two columns.
_GAP = 3


def input_batches(images) -> np.ndarray | dict[str, np.ndarray]:
    """The renderer's inputs: one array, or {input name: array} for several.

    Args:
        images: an array (one input), or a dict of arrays (several).

    Raises:
        ValueError: a dict whose batches differ in length.
    """
    if not isinstance(images, Mapping):
        return np.asarray(images)
    batches = {str(name): np.asarray(batch) for name, batch in images.items()}
    lengths = {name: len(batch) for name, batch in batches.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"images: every input must hold the same number of examples. Received lengths {lengths}.")
    return batches


def input_count(images) -> int:
    """How many examples `images` (see `input_batches`) holds.

    Args:
        images: an array, or a dict of arrays.
    """
    return len(next(iter(images.values()))) if isinstance(images, Mapping) else len(images)


def make_input_drawer(images, **options) -> InputDrawer:
    """The input column's drawer: the drawer of the input's kind (`INPUT_DRAWERS`), or a
    `SeveralInputs` for a dict of inputs.

    Args:
        images: an array, or {input name: array} (see `input_batches`).
        **options: the drawers' keyword arguments (`cell_px`, `targets`, `vocabulary`).
    """
    if isinstance(images, Mapping):
        return SeveralInputs(images, **options)
    return INPUT_DRAWERS[input_kind(images)](images, **options)


class SeveralInputs(InputDrawer):
    """Several inputs, each drawn by its own kind's drawer, left to right in the model's
    order; the header names them ("image | meta").

    Args:
        images: {input name: batch}.
        cell_px: the side of a grid cell.
        targets: a regression's truth per example (for a series input), or None.
        vocabulary: {token id: word} (for a token input), or None.
    """

    kind = "several"

    def __init__(self, images: Mapping[str, np.ndarray], *, cell_px: int, targets=None, vocabulary=None):
        self.names = tuple(images)
        self.parts = tuple(INPUT_DRAWERS[input_kind(batch)](batch, cell_px=cell_px, targets=targets,
                                                            vocabulary=vocabulary) for batch in images.values())
        self.offsets = tuple(sum(part.width + _GAP for part in self.parts[:index]) for index in range(len(self.parts)))
        super().__init__(next(iter(images.values())), cell_px=cell_px, targets=targets, vocabulary=vocabulary)

    @property
    def width(self) -> int:
        return self.offsets[-1] + self.parts[-1].width

    @property
    def title(self) -> str:
        return " | ".join(self.names)

    @property
    def shape_texts(self) -> tuple[str, ...]:
        shapes = [shape_labels(part.images.shape[1:])[-1] for part in self.parts]
        return (" | ".join(shapes), " ".join(shapes))

    def _moved(self, patches_of) -> list[Patch]:
        return [replace(patch, left=patch.left + offset)
                for offset, part in zip(self.offsets, self.parts) for patch in patches_of(part)]

    def patches(self, predicted: np.ndarray | None = None) -> list[Patch]:
        return self._moved(lambda part: part.patches(predicted))

    def rgb_patches(self) -> list[Patch]:
        return self._moved(lambda part: part.rgb_patches())
