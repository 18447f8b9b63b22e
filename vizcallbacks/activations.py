"""Which layers a frame shows, and one batched forward pass that returns their outputs.

Data only: nothing here draws. `ActivationProbe` resolves the layers once, builds the
activation sub-model once, and then answers every frame with one `predict_on_batch`.
Only the Keras 3 public API is used, so the probe runs on any Keras backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LayerView", "Activations", "ActivationProbe", "drawable_layers"]

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


def _symbolic_graph(model, input_shape: tuple[int, ...] | None):
    """Returns (input tensor, {layer name: symbolic output}, model output) for `model`.

    A functional model, or a Sequential model with an `Input`, already has a graph. A
    Sequential model built without `Input` has none (Keras 3 leaves `model.inputs`
    undefined even inside `fit`), so its layers are called once more on a fresh
    `keras.Input`: the layers, and so the weights, are the model's own.
    """
    import keras

    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        if len(inputs) != 1:
            raise ValueError(
                f"Models with several inputs are not supported: model {model.name!r} has "
                f"{len(inputs)} inputs. Supported: models with one image input."
            )
        outputs = {layer.name: layer.output for layer in model.layers if not _is_input_layer(layer)}
        model_outputs = model.outputs
        if len(model_outputs) != 1:
            raise ValueError(
                f"Models with several outputs are not supported: model {model.name!r} has "
                f"{len(model_outputs)} outputs. Supported: models with one output."
            )
        return inputs[0], outputs, model_outputs[0]

    if not isinstance(model, keras.Sequential) or input_shape is None:
        raise ValueError(
            f"Model {model.name!r} has no defined input. Supported: a functional model, or a "
            "Sequential model that is built (call model.build(input_shape), fit it, or give it "
            "a keras.Input)."
        )
    tensor = inp = keras.Input(shape=input_shape)
    outputs = {}
    for layer in model.layers:
        tensor = layer(tensor)
        outputs[layer.name] = tensor
    return inp, outputs, tensor


def _resolve(model, layers: Sequence[str | int] | None, drawable: list[str]) -> list[str]:
    all_names = [layer.name for layer in model.layers if not _is_input_layer(layer)]
    if layers is None:
        if not drawable:
            raise ValueError(
                f"Model {model.name!r} has no layer that can be drawn. Supported: layers whose "
                "output is (batch, height, width, channels) or (batch, units). Layers: "
                f"{all_names}."
            )
        return list(drawable)
    if isinstance(layers, (str, int)):
        layers = [layers]
    if len(layers) == 0:
        raise ValueError("layers is empty. Pass None for every drawable layer, or names/indices.")
    chosen = []
    for item in layers:
        if isinstance(item, bool) or not isinstance(item, (str, int, np.integer)):
            raise TypeError(
                f"layers must hold layer names (str) or indices (int). Received: {item!r} "
                f"({type(item).__name__})."
            )
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
    shifted = output - np.nanmax(output, axis=1, keepdims=True)
    exp = np.exp(shifted)
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

        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model. Received: {type(model).__name__}.")
        if not model.layers:
            raise ValueError(f"Model {model.name!r} has no layers. Supported: a model with layers to draw.")
        # Inside fit, a Sequential model without Input may have its layers built only by
        # the first training step; `build=True` (the callback) lets the probe build them
        # on `input_shape`, with the very weights the training will use.
        can_build = build and isinstance(model, keras.Sequential) and input_shape is not None
        if not can_build and not all(layer.built for layer in model.layers):
            raise ValueError(
                f"Model {model.name!r} is not built, so its layers have no output yet. Call "
                "model.build(input_shape), fit it, or give it a keras.Input first."
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
