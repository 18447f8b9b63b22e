"""`ConvPlotter`: the one way to set up a probe and a renderer for a model and its images,
and `plot_conv`, one frame with it. The callback, `plot_conv` and `compare` all draw through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .activations import KINDS, ActivationProbe, Activations, PendingActivations, check_model
from .render import GridRenderer, Stamp, prepare_images

__all__ = ["ConvPlotter", "plot_conv"]


class ConvPlotter:
    """A model and the images to show, set up once: images prepared for the model's input,
    the `ActivationProbe` built, the renderer made; then a frame per call.

    >>> plotter = ConvPlotter(model, x_test[:7], labels=y_test[:7], class_names=names)
    >>> frame = plotter(epoch=1, batch=250, accuracy=0.73, loss=0.51)   # (H, W, 3) uint8
    >>> plotter.render(plotter.capture(), Stamp(epoch=1))                # the same, in two steps

    Args:
        model: a Keras model with one input and one output: Sequential, functional or
            subclassed. One not built yet is built by a first call on `images`.
        images: the images to show, in the form the model takes (already scaled); a
            grayscale batch may lack its channel axis.
        labels: true class per image (indices or one-hot), printed beside each row.
        class_names: names of the classes, for the labels and predictions.
        layers: names or indices of the layers to show, or "all"; default every layer
            whose output the renderer can draw, and for a deep model the last layer of
            each stage and the output, at most 12 (see `ActivationProbe`).
        channels: feature-map channels shown for the first image; default (1, 5, 10, 20),
            clipped to what each layer has.
        channels_per_image: rows per image: one count for all, or one per image; default
            every channel for the first image and one for the others.
        normalization: "stable", "minmax" or "standardize" (see `GridRenderer`).
        cmap: a matplotlib colormap name.
        cell_px: the side of one grid cell in pixels, 8..512.
        renderer_factory: called as `GridRenderer` is, to make the renderer.

    Raises:
        TypeError, ValueError: the model is of a kind that cannot be shown, the images do
            not fit its input, or an option is not valid; the message says what is.
    """

    def __init__(self, model, images, *, labels=None, class_names: Sequence[str] | None = None,
                 layers: Sequence[str | int] | None = None, channels: Sequence[int] | None = None,
                 channels_per_image: int | Sequence[int] | None = None, normalization: str = "stable",
                 cmap: str = "inferno", cell_px: int = 56,
                 renderer_factory: Callable[..., GridRenderer] = GridRenderer):
        check_model(model)  # several inputs: say so, rather than that the images do not fit
        #: The images as the model takes them: a float32 batch.
        self.images = prepare_images(images, _declared_input_shape(model))
        self.probe = ActivationProbe(model, self.images, layers=layers,
                                     kinds=getattr(renderer_factory, "KINDS", KINDS.values()))
        self.renderer = renderer_factory(
            self.probe.views, self.images, labels=labels, class_names=class_names, channels=channels,
            channels_per_image=channels_per_image, normalization=normalization, cmap=cmap, cell_px=cell_px)

    @property
    def views(self):
        """The layers shown, one `LayerView` per column after the input."""
        return self.probe.views

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(height, width) of every frame, or None when the renderer does not say."""
        return getattr(self.renderer, "frame_size", None)

    @property
    def palette(self) -> np.ndarray | None:
        """The RGB colours every frame is drawn from, or None when the renderer has no
        fixed palette."""
        return getattr(self.renderer, "palette", None)

    def capture(self) -> Activations:
        """One batched forward pass over the images: the model as it is now.

        Returns:
            The chosen layers' outputs and the model's class probabilities.
        """
        return self.probe()

    def dispatch(self) -> PendingActivations:
        """Start a forward pass over the images and return at once; the pass runs
        meanwhile (on an accelerator), and `result()` on what this returns waits for it.
        What the callback calls in the training thread.

        Returns:
            The pass under way.
        """
        return self.probe.dispatch()

    def render(self, activations: Activations, stamp: Stamp = Stamp()) -> np.ndarray:
        """Draw a frame from a forward pass (safe in another thread than `capture`'s).

        Args:
            activations: what `capture` returned.
            stamp: where training stands, printed at the top.

        Returns:
            The frame, a (height, width, 3) uint8 RGB array.
        """
        return self.renderer.render(activations, stamp)

    def __call__(self, *, epoch: int | None = None, batch: int | None = None, accuracy: float | None = None,
                 loss: float | None = None) -> np.ndarray:
        """Capture and render a frame stamped with what is given.

        Args:
            epoch: the epoch, from 1.
            batch: the batch index within the epoch.
            accuracy: the training accuracy.
            loss: the training loss.

        Returns:
            The frame, a (height, width, 3) uint8 RGB array.
        """
        return self.render(self.capture(), Stamp(epoch, batch, accuracy, loss))


def _declared_input_shape(model) -> tuple | None:
    """The model's input shape without the batch axis, when the model declares one."""
    try:
        return tuple(model.inputs[0].shape[1:])
    except (AttributeError, ValueError, IndexError, TypeError):
        return None


def plot_conv(model, images, *, labels=None, class_names: Sequence[str] | None = None,
              layers: Sequence[str | int] | None = None, channels: Sequence[int] | None = None,
              channels_per_image: int | Sequence[int] | None = None,
              normalization: str = "stable", cmap: str = "inferno", cell_px: int = 56,
              epoch: int | None = None, batch: int | None = None,
              accuracy: float | None = None, loss: float | None = None) -> np.ndarray:
    """Draw what each layer of `model` sees for `images`; returns an RGB uint8 array.

    Rows are images (the first gets one row per channel in `channels`, the others one row,
    unless `channels_per_image` says otherwise), columns are the input and then the layers.
    A nested model is shown as one column, its output. Rows are labelled with the true class
    and the model's prediction with its confidence; the stamp gives epoch, batch, accuracy
    and loss when given. For many frames of one model, make a `ConvPlotter` once instead.

    >>> frame = plot_conv(model, x_test[:7], labels=y_test[:7], epoch=1, batch=250,
    ...                   accuracy=0.732, loss=0.51)
    >>> PIL.Image.fromarray(frame).save("frame.png")

    Args:
        model: a built Keras model with one image input.
        images: the images, in the form the model takes (already scaled).
        labels: true class per image (indices or one-hot).
        class_names: names of the classes.
        layers: names or indices of the layers to show; default every layer whose output
            is 4-D feature maps or 2-D vectors.
        channels: feature-map channels shown for the first image; default (1, 5, 10, 20),
            clipped to what each layer has.
        channels_per_image: rows per image: one count for all, or one per image.
        normalization: "stable", "minmax" or "standardize" (see `GridRenderer`).
        cmap: a matplotlib colormap name.
        cell_px: the side of one grid cell in pixels, 8..512.
        epoch: the stamp's epoch.
        batch: the stamp's batch.
        accuracy: the stamp's accuracy.
        loss: the stamp's loss.

    Returns:
        The frame, a (height, width, 3) uint8 RGB array.

    Raises:
        TypeError, ValueError: as `ConvPlotter` does.
    """
    plotter = ConvPlotter(model, images, labels=labels, class_names=class_names, layers=layers,
                          channels=channels, channels_per_image=channels_per_image,
                          normalization=normalization, cmap=cmap, cell_px=cell_px)
    return plotter(epoch=epoch, batch=batch, accuracy=accuracy, loss=loss)
