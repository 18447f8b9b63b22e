"""`ConvPlotter`: the one way to set up a probe and a renderer for a model and its images,
and `plot_conv`, one frame with it. The callback, `plot_conv` and `compare` all draw through it.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Mapping

import numpy as np

from .capture.layers import KINDS
from .capture.probe import ActivationProbe, Activations, PendingActivations, check_model
from .render import GridRenderer, Stamp, prepare_images
from .render.style import FrameStyle, style_with_legacy

__all__ = ["ConvPlotter", "plot_conv"]


class ConvPlotter:
    """A model and the images to show, set up once: images prepared for the model's input,
    the `ActivationProbe` built, the renderer made; then a frame per call.

    >>> plotter = ConvPlotter(model, x_test[:7], labels=y_test[:7], style=FrameStyle(class_names=names))
    >>> frame = plotter(epoch=1, batch=250, accuracy=0.73, loss=0.51)   # (H, W, 3) uint8
    >>> plotter.render(plotter.capture(), Stamp(epoch=1))                # the same, in two steps

    Args:
        model: a Keras model with one input and one output: Sequential, functional or
            subclassed. One not built yet is built by a first call on `images`.
        images: the images to show, in the form the model takes (already scaled); a
            grayscale batch may lack its channel axis.
        labels: true class per image (indices or one-hot), printed beside each row.
        style: how the frame looks: layers, channels, colours, cell size, class names,
            vocabulary (`FrameStyle`); default `FrameStyle()`.
        renderer_factory: called as `GridRenderer` is, to make the renderer.
        record: the layers every pass also returns for the activation store: None, or
            "drawable" (every drawable layer) or names / indices (see `ActivationProbe`).
        **legacy: the drawing options one by one (`class_names=`, `cmap=`, ...), the
            spelling before `FrameStyle`; deprecated, removed in the next release.

    Raises:
        TypeError, ValueError: the model is of a kind that cannot be shown, the images do
            not fit its input, or an option is not valid; the message says what is.
    """

    def __init__(self, model, images, *, labels=None, style: FrameStyle | None = None,
                 renderer_factory: Callable[..., GridRenderer] = GridRenderer, record=None, **legacy):
        style = style_with_legacy(style, legacy, "ConvPlotter", ("labels", "renderer_factory", "record"))
        check_model(model)  # several inputs: say so, rather than that the images do not fit
        #: How every frame looks.
        self.style = style
        #: The inputs as the model takes them: int32 token ids, else a float32 batch.
        self.images = prepare_images(images, _input_shape(model),
                                     token_ids=style.vocabulary is not None or _takes_token_ids(model))
        self.probe = ActivationProbe(model, self.images, layers=style.layers, record=record,
                                     kinds=getattr(renderer_factory, "KINDS", KINDS.values()))
        self.renderer = renderer_factory(self.probe.views, self.images, labels=labels, style=style,
                                         output_kind=self.probe.output_kind)

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

    def render(self, activations: Activations, stamp: Stamp = Stamp(), *, dynamics=None) -> np.ndarray:
        """Draw a frame from a forward pass (safe in another thread than `capture`'s).

        Args:
            activations: what `capture` returned.
            stamp: where training stands, printed at the top.
            dynamics: the learning dynamics so far (`analysis.FrameDynamics`), or None;
                not drawn yet.

        Returns:
            The frame, a (height, width, 3) uint8 RGB array.
        """
        return self.renderer.render(activations, stamp)

    def __call__(self, *, epoch: int | None = None, batch: int | None = None, accuracy: float | None = None,
                 loss: float | None = None, mae: float | None = None) -> np.ndarray:
        """Capture and render a frame stamped with what is given.

        Args:
            epoch: the epoch, from 1.
            batch: the batch index within the epoch.
            accuracy: the training accuracy.
            loss: the training loss.
            mae: the training mean absolute error (a regression's).

        Returns:
            The frame, a (height, width, 3) uint8 RGB array.
        """
        return self.render(self.capture(), Stamp(epoch, batch, accuracy, loss, mae))


def _declared_input(model):
    try:
        return model.inputs[0]
    except (AttributeError, ValueError, IndexError, TypeError):
        return None


def _first_layer(model):
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    return layers[0] if layers else None


def _input_shape(model) -> tuple | None:
    """The model's input shape without the batch axis, when the model declares one. A
    model that does not (Sequential without Input, subclassed) is taken to want images
    with their channel axis when its first layer takes 4 axes or more."""
    declared = _declared_input(model)
    if declared is not None:
        return tuple(declared.shape[1:])
    spec = getattr(_first_layer(model), "input_spec", None)
    axes = getattr(spec, "ndim", None) or getattr(spec, "min_ndim", None) or 0
    return (None, None, None) if axes >= 4 else None


def _takes_token_ids(model) -> bool:
    """Whether the model's input is token ids: it declares an integer input, or its first
    layer is an Embedding."""
    declared = _declared_input(model)
    if declared is not None and "int" in str(getattr(declared, "dtype", "")):
        return True
    return type(_first_layer(model)).__name__ == "Embedding"


def plot_conv(model, images, *, labels=None, style: FrameStyle | None = None,
              epoch: int | None = None, batch: int | None = None,
              accuracy: float | None = None, loss: float | None = None,
              mae: float | None = None, **legacy) -> np.ndarray:
    """Draw what each layer of `model` sees for `images`; returns an RGB uint8 array.

    Rows are inputs (the first gets one row per channel in `channels` when the model has
    feature maps, the others one row, unless `channels_per_image` says otherwise),
    columns are the input and then the layers: feature maps, sequences as time x channel
    heatmaps, vectors as strips. A nested model is shown as one column, its output.
    Rows are labelled with the truth and the model's prediction: class and confidence,
    a sigmoid's probability, or a regression's value and error; the stamp gives epoch,
    batch, accuracy (or mae) and loss when given.

    Called again with the same model, images and options, it reuses the `ConvPlotter` it
    made (kept on the model, at most four per model, and gone with it): a call then costs
    about what a frame costs in `PlotConvCallback`, and `normalization="stable"` follows
    the layers from call to call. To hold the plotter yourself, make a `ConvPlotter`.

    >>> frame = plot_conv(model, x_test[:7], labels=y_test[:7], epoch=1, batch=250,
    ...                   accuracy=0.732, loss=0.51, style=FrameStyle(class_names=names))
    >>> PIL.Image.fromarray(frame).save("frame.png")

    Args:
        model: a Keras model with one input and one output (see `ConvPlotter`).
        images: the inputs, in the form the model takes (already scaled): images,
            windows of a series, or token ids.
        labels: the truth per input: class (index or one-hot), 0/1, or target value.
        style: how the frame looks: layers, channels, colours, cell size, class names,
            vocabulary (`FrameStyle`); default `FrameStyle()`.
        epoch: the stamp's epoch.
        batch: the stamp's batch.
        accuracy: the stamp's accuracy.
        loss: the stamp's loss.
        mae: the stamp's mean absolute error.
        **legacy: the drawing options one by one (`class_names=`, `cmap=`, ...), the
            spelling before `FrameStyle`; deprecated, removed in the next release.

    Returns:
        The frame, a (height, width, 3) uint8 RGB array.

    Raises:
        TypeError, ValueError: as `ConvPlotter` does.
    """
    style = style_with_legacy(style, legacy, "plot_conv",
                              ("labels", "epoch", "batch", "accuracy", "loss", "mae"))
    options = dict(labels=labels, style=style)
    plotter = _PlotterCache.of(model).plotter(model, images, options)
    return plotter(epoch=epoch, batch=batch, accuracy=accuracy, loss=loss, mae=mae)


class _PlotterCache:
    """The plotters `plot_conv` made for one model, by images and options, newest last.

    Kept in the model's own `__dict__` (set past Keras's attribute tracking, which would
    otherwise wrap it): the model and its plotters (which hold the model) are then one
    cycle that the garbage collector frees with the model, where a module-level table
    would keep every model alive."""

    _ATTRIBUTE = "_vizcallbacks_plot_conv_cache"
    _KEPT = 4

    def __init__(self):
        self.plotters: collections.OrderedDict[tuple, ConvPlotter] = collections.OrderedDict()

    @classmethod
    def of(cls, model) -> _PlotterCache:
        cache = vars(model).get(cls._ATTRIBUTE)
        if cache is None:
            cache = cls()
            object.__setattr__(model, cls._ATTRIBUTE, cache)
        return cache

    def plotter(self, model, images, options: dict) -> ConvPlotter:
        key = _fingerprint(images, options)
        if key is not None:  # the model as built and compiled now: its layers and its loss
            key = (_structure(model),) + key
        if key is None:  # an option that cannot be compared: a plotter of its own
            return ConvPlotter(model, images, **options)
        found = self.plotters.get(key)
        if found is None:
            found = ConvPlotter(model, images, **options)
            self.plotters[key] = found
            while len(self.plotters) > self._KEPT:
                self.plotters.popitem(last=False)
        self.plotters.move_to_end(key)
        return found


def _structure(model) -> tuple:
    """What of the model a plotter depends on and a user may change between two calls:
    its layers (`pop`, `add`) and its compiled loss (how its output is read)."""
    loss = getattr(model, "loss", None)
    loss_key = loss if isinstance(loss, str) or loss is None else (
        type(loss).__qualname__, str(getattr(loss, "name", None) or getattr(loss, "__name__", "")))
    return tuple(id(layer) for layer in model.layers), loss_key


def _fingerprint(images, options: dict) -> tuple | None:
    """What makes a plotter the same: the images' bytes and every option, as a hashable
    key; None when an option cannot be turned into one."""
    try:
        key = (_frozen(images),) + tuple((name, _frozen(value)) for name, value in sorted(options.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _frozen(value):
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return value
    if isinstance(value, FrameStyle):
        return ("style", value.key())
    if isinstance(value, Mapping):
        return ("mapping",) + tuple(sorted((_frozen(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError("not a plain array")
    digest = hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).hexdigest()
    return ("array", array.shape, str(array.dtype), digest)
