"""Which layers a frame shows: what each layer's output is, which can be drawn, and the
default choice of columns (the last layer that computes in each stage of a deep model's
trunk, `trunk.py`).

Data only, and no pass: the probe (`probe.py`) records what each layer outputs in one
discovery pass (`passes.py`) and hands the calls it saw to `layer_calls` and `choose`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..checks import is_int
from .trunk import trunk_layers

__all__ = ["KINDS", "MAX_DEFAULT_COLUMNS", "LayerView", "LayerCall", "kind_of", "check_layer_choice",
           "layer_calls", "choose", "model_layers", "shape_of"]

# What a layer's output for one image is, by its number of axes.
KINDS = {3: "maps", 2: "sequence", 1: "vector"}
# The default choice of a deep model keeps at most this many columns.
MAX_DEFAULT_COLUMNS = 12


def kind_of(shape: Sequence[int]) -> str | None:
    """What an output of `shape` (for one input) is, by its number of axes: "maps",
    "sequence" or "vector". Maps of 1x1 and sequences of one step (a deep network's last
    stage at a small input) are vectors of their channels.

    Args:
        shape: the output's shape without the batch axis.

    Returns:
        The kind, or None for outputs of other ranks.
    """
    if len(shape) > 1 and all(size == 1 for size in shape[:-1]):
        return "vector"
    return KINDS.get(len(shape))


@dataclass(frozen=True)
class LayerView:
    """One column of the grid: a layer's output for one image.

    Args:
        name: the layer's name; a layer called more than once in a pass gets
            "name (2)", "name (3)" for its later calls.
        shape: the output's shape for one image (no batch axis).
        layer_class: the layer's class name, e.g. "Conv2D".
    """

    name: str
    shape: tuple[int, ...]
    layer_class: str = ""

    @property
    def kind(self) -> str:
        """"maps" (height, width, channels), "sequence" (time, channels) or "vector" (units);
        see `kind_of`."""
        return kind_of(self.shape)

    @property
    def channels(self) -> int:
        return self.shape[-1]


def check_layer_choice(layers) -> list | str | None:
    """`layers` as a list of names and indices, "all", or None (the default choice),
    checked as far as is possible without the model.

    Args:
        layers: None, "all", a layer name or index, or a list of them.

    Returns:
        None, "all", or a list of names (str) and indices (int).
    """
    if layers is None or (isinstance(layers, str) and layers == "all"):
        return layers
    if isinstance(layers, str) or is_int(layers):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(
            "layers must be a layer name, an index, a list of them, or 'all'. "
            f"Received: layers={layers!r} ({type(layers).__name__})."
        ) from None
    if len(layers) == 0:
        raise ValueError("layers is empty. Pass None for the default choice, 'all', or names/indices.")
    for item in layers:
        if not (isinstance(item, str) or is_int(item)):
            raise TypeError(
                f"layers must hold layer names (str) or indices (int). Received: {item!r} "
                f"({type(item).__name__})."
            )
    return layers


def model_layers(model) -> list:
    """The layers of `model` that the probe watches: all but its `InputLayer`.

    Args:
        model: a keras.Model.

    Returns:
        The layers, in the model's order; indices into this list are a choice's indices.
    """
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def shape_of(value) -> tuple | None:
    """The shape of `value` as a tuple of ints, batch axis included.

    Args:
        value: a layer's or the model's output.

    Returns:
        The shape, or None when `value` is not one tensor of known shape (a list, a dict).
    """
    shape = getattr(value, "shape", None)
    if shape is None or isinstance(value, (list, tuple, dict)):
        return None
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        return None


# ---- the calls of one pass, and whether each can be drawn ------------------------------


@dataclass(frozen=True)
class LayerCall:
    """One call of one layer in the discovery pass.

    Args:
        position: its index in the order the pass made its calls.
        layer_index: the layer's index in `model_layers(model)`.
        name: the layer's name; "name (2)", "name (3)" for its later calls.
        layer_class: the layer's class name; a wrapper's names the layer it wraps.
        shape: its output's shape per image; None when the output is not one tensor.
        why_not: why it cannot be drawn; "" when it can.
    """

    position: int
    layer_index: int
    name: str
    layer_class: str
    shape: tuple | None
    why_not: str = ""


def _layer_class(layer) -> str:
    """The layer's class name; a wrapper's names the layer it wraps: "Bidirectional(LSTM)"."""
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    name = type(layer).__name__
    return f"{name}({type(inner).__name__})" if inner is not None and hasattr(inner, "call") else name


def _why_not(shape: tuple | None, kinds: Sequence[str]) -> str:
    if shape is None:
        return "its output is not one tensor"
    kind = kind_of(shape[1:])
    if kind is None:
        return f"its output has {len(shape)} axes (batch included)"
    if kind not in kinds:
        return f"{kind} outputs are not drawn"
    if min(shape[1:], default=0) < 1:
        return "its output is empty"
    return ""


def layer_calls(layers: Sequence, outputs: Sequence[tuple[int, object]],
                kinds: Sequence[str]) -> list[LayerCall]:
    """What a pass's calls were, and which of them can be drawn.

    Args:
        layers: the watched layers (`model_layers(model)`).
        outputs: (layer index, output) for each call, in the pass's order.
        kinds: the kinds of output that can be drawn (see `KINDS`).

    Returns:
        One `LayerCall` per call, in the same order.
    """
    calls: dict[int, int] = {}
    found = []
    for position, (layer_index, value) in enumerate(outputs):
        layer = layers[layer_index]
        calls[layer_index] = calls.get(layer_index, 0) + 1
        name = layer.name if calls[layer_index] == 1 else f"{layer.name} ({calls[layer_index]})"
        shape = shape_of(value)
        found.append(LayerCall(position, layer_index, name, _layer_class(layer),
                               None if shape is None else shape[1:], _why_not(shape, kinds)))
    return found


# ---- the default choice: one column per stage ------------------------------------------

# Layers that only move or mask values: a stage is shown by a layer that computes.
_PLUMBING = ("ZeroPadding", "Cropping", "Dropout", "SpatialDropout", "GaussianNoise",
             "GaussianDropout", "AlphaDropout", "Reshape", "Permute", "RepeatVector", "Identity",
             "Masking", "ActivityRegularization")


def _stage(record: LayerCall) -> tuple:
    """Outputs of one stage share their kind and, within a factor of about 1.4, their
    resolution (a padding layer's 49x49 belongs with the 48x48 around it); for
    vectors, their length."""
    sizes = record.shape if len(record.shape) == 1 else record.shape[:-1]
    return (len(record.shape),) + tuple(round(math.log2(max(size, 1))) for size in sizes)


def _is_side_branch(stage: Sequence[LayerCall]) -> bool:
    """Whether a stage is one value per channel (a vector, or maps of 1x1): between two
    runs of maps of one resolution, that is a squeeze-and-excite branch, not a stage."""
    return all(kind_of(record.shape) == "vector" for record in stage)


def _default_choice(records: Sequence[LayerCall], max_columns: int,
                    trunk: frozenset[int] | None) -> list[LayerCall]:
    """Every drawable output when there are few; for a deep model, the last layer that
    computes in each stage of its trunk (`trunk.py`: never a side branch nor a block's
    inside; a stage is a run of outputs of the same kind and resolution, and a stage of
    plumbing only is passed over), the model's output among them, at most `max_columns`
    spread evenly. Without a graph to read (`trunk` None), squeeze-and-excite branches
    are still told by their shape: one value per channel between maps of one resolution."""
    drawable = [record for record in records if not record.why_not]
    if len(drawable) <= max_columns:
        return drawable
    on_trunk = [record for record in drawable if trunk is None or record.layer_index in trunk]
    drawable = on_trunk or drawable
    stages: list[list[LayerCall]] = []
    for record in drawable:
        if stages and _stage(stages[-1][-1]) == _stage(record):
            stages[-1].append(record)
        elif len(stages) >= 2 and _is_side_branch(stages[-1]) and _stage(stages[-2][-1]) == _stage(record):
            stages.pop()  # squeeze-and-excite: back to the maps it left, which go on
            stages[-1].append(record)
        else:
            stages.append([record])
    # A stage of plumbing only (a padding between two resolutions) shows nothing new.
    ends = [computing[-1] for computing in (
        [r for r in stage if not r.layer_class.startswith(_PLUMBING)] for stage in stages) if computing]
    ends = ends or [stage[-1] for stage in stages]
    if len(ends) > max_columns:
        keep = np.unique(np.rint(np.linspace(0, len(ends) - 1, max_columns)).astype(int))
        ends = [ends[i] for i in keep]
    return ends


# ---- the user's choice -----------------------------------------------------------------

# How each kind of output looks, for messages.
_KIND_SHAPES = {"maps": "(batch, height, width, channels)", "sequence": "(batch, time, channels)",
                "vector": "(batch, units)"}


def _shape_text(shape: tuple | None) -> str:
    return "(?)" if shape is None else "(" + ", ".join(str(d) for d in (None, *shape)) + ")"


def _drawable_names(records: Sequence[LayerCall]) -> list[str]:
    return [record.name for record in records if not record.why_not]


def choose(model, records: Sequence[LayerCall], layers, *, max_columns: int,
           kinds: Sequence[str]) -> list[LayerCall]:
    """The calls a frame shows, one column each.

    Args:
        model: the model, for its layers' names and for messages.
        records: the discovery pass's calls (`layer_calls`).
        layers: the user's choice, checked by `check_layer_choice`: None for the default
            choice, "all", or names and indices into `model_layers(model)`.
        max_columns: the most columns the default choice keeps.
        kinds: the kinds of output that can be drawn, for messages.

    Returns:
        The chosen calls, in the order of the columns.

    Raises:
        ValueError: nothing can be drawn, or a chosen layer does not exist, is not
            called, or cannot be drawn; the message lists the layers that can.
    """
    if not any(not record.why_not for record in records):
        outputs = ", ".join(f"{r.name} {_shape_text(r.shape)}" for r in records)
        shapes = " or ".join(_KIND_SHAPES[kind] for kind in KINDS.values() if kind in kinds)
        raise ValueError(
            f"Model {model.name!r} is not supported: none of its layers can be drawn "
            f"(outputs: {outputs or 'none recorded'}). Supported: layers whose output is {shapes}."
        )
    if layers is None:
        return _default_choice(records, max_columns, trunk_layers(model, model_layers(model)))
    if layers == "all":
        return [record for record in records if not record.why_not]
    names = [layer.name for layer in model_layers(model)]
    chosen = []
    for item in check_layer_choice(layers):
        chosen.extend(_calls_of(model, records, names, _layer_index(model, names, item)))
    return chosen


def _layer_index(model, names: list[str], item: str | int) -> int:
    if isinstance(item, str):
        if item not in names:
            raise ValueError(
                f"layers: no layer named {item!r} in model {model.name!r}. "
                f"Layers that exist: {names}."
            )
        return names.index(item)
    if not -len(names) <= item < len(names):
        raise ValueError(
            f"layers: index {item} is out of range for model {model.name!r}, which has "
            f"{len(names)} layers (valid: 0..{len(names) - 1}, or negative "
            f"from the end). Layers: {names}."
        )
    return int(item) % len(names)


def _calls_of(model, records: Sequence[LayerCall], names: list[str], index: int) -> list[LayerCall]:
    calls = [record for record in records if record.layer_index == index]
    if not calls:
        raise ValueError(
            f"layers: layer {names[index]!r} is not called when model {model.name!r} runs "
            "(not used by its call method, or used inside another layer), so it has no "
            f"output to draw. Layers called: {_drawable_names(records)}."
        )
    for record in calls:
        if record.why_not:
            raise ValueError(
                f"layers: layer {record.name!r} cannot be drawn: {record.why_not}. Drawable "
                f"layers: {_drawable_names(records)}."
            )
    return calls
