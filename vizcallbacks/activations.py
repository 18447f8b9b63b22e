"""Which layers a frame shows, and one batched forward pass that returns their outputs.

Data only: nothing here draws. `ActivationProbe` resolves the layers once, builds the
activation sub-model once, and then answers every frame with one `predict_on_batch`.
Only the Keras 3 public API is used, so the probe runs on any Keras backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LayerView", "Activations", "ActivationProbe", "drawable_layers", "check_model",
           "check_layer_choice"]

# A layer is drawn if its output is (batch, height, width, channels): feature maps,
# or (batch, units): a vector.
_MAPS_NDIM = 4
_VECTOR_NDIM = 2


@dataclass(frozen=True)
class LayerView:
    """One column of the grid: a layer and the shape of its output for one image."""

    name: str
    shape: tuple[int, ...]

    @property
    def kind(self) -> str:
        return "maps" if len(self.shape) == _MAPS_NDIM - 1 else "vector"

    @property
    def channels(self) -> int:
        return self.shape[-1]


@dataclass(frozen=True)
class Activations:
    """What one forward pass returns: per view, an array (images, ...); and the
    model's class probabilities (images, classes), or None when the output is not a
    classifier's."""

    outputs: tuple[np.ndarray, ...]
    probabilities: np.ndarray | None


def _output_shape(layer) -> tuple | None:
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError):
        return None


def _is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def drawable_layers(model) -> list[str]:
    """Names of the layers of `model` whose output can be drawn (4-D maps or 2-D vectors)."""
    names = []
    for layer in model.layers:
        shape = _output_shape(layer)
        if not _is_input_layer(layer) and shape is not None and len(shape) in (_MAPS_NDIM, _VECTOR_NDIM):
            names.append(layer.name)
    return names


def _defined_inputs(model) -> list | None:
    try:
        return list(model.inputs)
    except (AttributeError, ValueError):  # a Sequential model without Input, a subclassed one
        return None


def check_model(model) -> None:
    """Raise a TypeError or ValueError when `model` is of a kind the probe cannot show:
    not a keras.Model, no layers, several inputs or several outputs. Says what is supported.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model. Received: {type(model).__name__}. Supported: a "
            "functional or Sequential keras.Model with one image input."
        )
    if not model.layers:
        raise ValueError(
            f"Model {model.name!r} is not supported: it has no layers. Supported: a model with "
            "layers to draw."
        )
    inputs = _defined_inputs(model)
    if inputs and len(inputs) != 1:
        raise ValueError(
            f"Models with several inputs are not supported: model {model.name!r} has "
            f"{len(inputs)} inputs. Supported: models with one image input."
        )
    if inputs:
        outputs = model.outputs
        if len(outputs) != 1:
            raise ValueError(
                f"Models with several outputs are not supported: model {model.name!r} has "
                f"{len(outputs)} outputs. Supported: models with one output."
            )


def _symbolic_graph(model, input_shape: tuple[int, ...] | None):
    """Returns (input tensor, {layer name: symbolic output}, model output) for `model`.

    A functional model, or a Sequential model with an `Input`, already has a graph. A
    Sequential model built without `Input` has none (Keras 3 leaves `model.inputs`
    undefined even inside `fit`), so its layers are called once more on a fresh
    `keras.Input`: the layers, and so the weights, are the model's own.
    """
    import keras

    check_model(model)
    inputs = _defined_inputs(model)
    if inputs:
        outputs = {layer.name: layer.output for layer in model.layers if not _is_input_layer(layer)}
        return inputs[0], outputs, model.outputs[0]

    if not isinstance(model, keras.Sequential) or input_shape is None:
        raise ValueError(
            f"Model {model.name!r} is not supported: it has no defined input (a subclassed model, "
            "or one not built yet). Supported: a functional model, or a Sequential model that "
            "is built (call model.build(input_shape), fit it, or give it a keras.Input)."
        )
    tensor = inp = keras.Input(shape=input_shape)
    outputs = {}
    for layer in model.layers:
        tensor = layer(tensor)
        outputs[layer.name] = tensor
    return inp, outputs, tensor


def check_layer_choice(layers) -> list | None:
    """`layers` as a list of names and indices (None for the default), checked as far as
    is possible without the model: raises for an empty choice or items of another type."""
    if layers is None:
        return None
    if isinstance(layers, (str, int, np.integer)) and not isinstance(layers, bool):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(
            "layers must be a layer name, an index, or a list of them. "
            f"Received: layers={layers!r} ({type(layers).__name__})."
        ) from None
    if len(layers) == 0:
        raise ValueError("layers is empty. Pass None for every drawable layer, or names/indices.")
    for item in layers:
        if isinstance(item, bool) or not isinstance(item, (str, int, np.integer)):
            raise TypeError(
                f"layers must hold layer names (str) or indices (int). Received: {item!r} "
                f"({type(item).__name__})."
            )
    return layers


def _resolve(model, layers: Sequence[str | int] | None, drawable: list[str]) -> list[str]:
    all_names = [layer.name for layer in model.layers if not _is_input_layer(layer)]
    if layers is None:
        if not drawable:
            shapes = ", ".join(f"{layer.name} {_shape_text(layer)}" for layer in model.layers
                               if not _is_input_layer(layer))
            raise ValueError(
                f"Model {model.name!r} is not supported: none of its layers can be drawn "
                f"(outputs: {shapes}). Supported: layers whose output is (batch, height, width, "
                "channels) or (batch, units)."
            )
        return list(drawable)
    chosen = []
    for item in check_layer_choice(layers):
        if isinstance(item, str):
            if item not in all_names:
                raise ValueError(
                    f"layers: no layer named {item!r} in model {model.name!r}. "
                    f"Layers that exist: {all_names}."
                )
            name = item
        else:
            if not -len(all_names) <= item < len(all_names):
                raise ValueError(
                    f"layers: index {item} is out of range for model {model.name!r}, which has "
                    f"{len(all_names)} layers (valid: 0..{len(all_names) - 1}, or negative "
                    f"from the end). Layers: {all_names}."
                )
            name = all_names[item]
        if name not in drawable:
            raise ValueError(
                f"layers: layer {name!r} cannot be drawn: its output is neither "
                "(batch, height, width, channels) nor (batch, units). Drawable layers: "
                f"{drawable}."
            )
        chosen.append(name)
    return chosen


def _shape_text(layer) -> str:
    shape = _output_shape(layer)
    return "(?)" if shape is None else "(" + ", ".join(str(d) for d in shape) + ")"


def _to_probabilities(output: np.ndarray) -> np.ndarray | None:
    """Class probabilities from a classifier's output, whether it ends in softmax,
    sigmoid or gives logits."""
    if output.ndim != 2:
        return None
    output = output.astype(np.float64)
    if output.shape[1] == 1:
        p = output[:, 0]
        if not (np.all(p >= 0) and np.all(p <= 1)):
            p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1)
    rows_are_probabilities = np.all(output >= 0) and np.allclose(output.sum(axis=1), 1, atol=1e-3)
    if rows_are_probabilities:
        return output
    # nanmax without its warning: a diverged run gives all-NaN rows every frame, which
    # stay NaN and are drawn as such.
    with np.errstate(invalid="ignore", over="ignore"):
        row_max = np.where(np.isnan(output), -np.inf, output).max(axis=1, keepdims=True)
        exp = np.exp(output - row_max)
        return exp / exp.sum(axis=1, keepdims=True)


class ActivationProbe:
    """Outputs of chosen layers of `model` for a batch of images, in one forward pass.

    Layers are chosen by name or index into `model.layers` (default: every layer whose
    output is 4-D feature maps or 2-D vectors). A nested model counts as one layer and
    is shown as one column: its output.

    >>> probe = ActivationProbe(model, layers=["conv1", "dense"])
    >>> acts = probe(images)              # one predict_on_batch
    >>> acts.outputs[0].shape             # (len(images), 26, 26, 32)
    """

    def __init__(self, model, *, layers: Sequence[str | int] | None = None,
                 input_shape: tuple[int, ...] | None = None, build: bool = False):
        import keras

        check_model(model)
        if _defined_inputs(model) is None and not isinstance(model, keras.Sequential):
            _symbolic_graph(model, input_shape)  # says that a subclassed model is not supported
        # Inside fit, a Sequential model without Input may have its layers built only by
        # the first training step; `build=True` (the callback) lets the probe build them
        # on `input_shape`, with the very weights the training will use.
        can_build = build and isinstance(model, keras.Sequential) and input_shape is not None
        if not can_build and not all(layer.built for layer in model.layers):
            raise ValueError(
                f"Model {model.name!r} is not supported until it is built: it is not built, so "
                "its layers have no output yet. Call model.build(input_shape), fit it, or give "
                "it a keras.Input first."
            )
        inp, outputs, model_output = _symbolic_graph(model, input_shape)
        self.input_shape: tuple[int, ...] = tuple(inp.shape[1:])
        drawable = [name for name, tensor in outputs.items()
                    if len(tensor.shape) in (_MAPS_NDIM, _VECTOR_NDIM)]
        names = _resolve(model, layers, drawable)
        self.views = tuple(LayerView(name, tuple(outputs[name].shape[1:])) for name in names)
        # The model's own output rides along to give predictions; no second pass.
        self._model = keras.Model(inp, [outputs[name] for name in names] + [model_output])

    def __call__(self, images: np.ndarray) -> Activations:
        results = self._model.predict_on_batch(images)
        results = [np.asarray(r) for r in results]
        return Activations(outputs=tuple(results[:-1]), probabilities=_to_probabilities(results[-1]))
