"""The input column: what the model is given, prepared for it and drawn once.

`prepare_images` shapes what the user gives for the model's input. Input drawers,
looked up by `input_kind` in `INPUT_DRAWERS`, draw it once, when the renderer is made.
"""

from __future__ import annotations

import numpy as np

from .cells import Patch, cell_plan
from .palette import finite, scale_to_unit, to_indices

__all__ = ["prepare_images", "input_kind", "InputDrawer", "ImageInput", "INPUT_DRAWERS"]


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


def input_kind(images: np.ndarray) -> str:
    """What kind of input a prepared batch is, the key of `INPUT_DRAWERS`.

    Args:
        images: the batch, as `prepare_images` returns it.

    Returns:
        "image".
    """
    return "image"


class InputDrawer:
    """Draws the input column once, when the renderer is made.

    Args:
        images: the inputs as the model takes them.
        cell_px: the side of a grid cell.
    """

    #: The `input_kind` this drawer draws.
    kind = ""

    def __init__(self, images: np.ndarray, *, cell_px: int):
        self.images, self.cell_px = images, cell_px
        self._setup()

    def _setup(self) -> None:
        """What a kind of drawer works out once, when it is made."""

    @property
    def width(self) -> int:
        """The column's width in pixels."""
        return self.cell_px

    def patches(self) -> list[Patch]:
        """The column's pictures in palette indices, pasted in every frame; row 0 of each
        input."""
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
        self._places = tuple((image, 0) for image in range(len(self.images)))

    def patches(self) -> list[Patch]:
        if self.images.shape[-1] == 3:
            return []
        maps = self.images[..., 0].astype(np.float32)
        low, high = float(np.nanmin(maps)), float(np.nanmax(maps))
        pictures = to_indices(scale_to_unit(finite(maps), low, high))
        return [Patch(self._places, self.plan.top, self.plan.left, self.plan.scale(pictures))]

    def rgb_patches(self) -> list[Patch]:
        if self.images.shape[-1] != 3:
            return []
        images = self.images.astype(np.float32)
        low, high = float(np.nanmin(images)), float(np.nanmax(images))
        pictures = (scale_to_unit(images, low, high) * 255).astype(np.uint8)
        return [Patch(self._places, self.plan.top, self.plan.left, self.plan.scale(pictures))]


#: The drawer of each kind of input (`input_kind`).
INPUT_DRAWERS: dict[str, type[InputDrawer]] = {drawer.kind: drawer for drawer in (ImageInput,)}
