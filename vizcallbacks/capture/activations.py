"""Which layers a frame shows, and one forward pass that returns their outputs.

Data only: nothing here draws. `ActivationProbe` records the output of each of the
model's own layers as the forward pass calls them: for the duration of a pass, each
layer's `call` is wrapped to note its result. That works alike for Sequential,
functional and subclassed models and on every Keras backend, and it needs no second
model. A first pass, when the probe is made, finds what each layer outputs (and builds
a model that was not built yet); every frame after that is one pass, set up once:

- JAX: a jitted `stateless_call` fed with the trainer's current state. During `fit`,
  Keras keeps the weights in the trainer (`model._jax_state`) and detaches them from
  the model; reading them there costs nothing, where `Callback.model` would copy every
  variable back (`jax_state_sync`) at each frame.
- PyTorch: the model called under `torch.no_grad()` (eager: nothing to compile).
- TensorFlow: a `tf.function` of the same call.

`dispatch()` only starts the pass: on an accelerator the training thread goes on while
it runs, and `PendingActivations.result()` (called off the training thread) waits for
it and copies the outputs to numpy.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..checks import is_int

__all__ = ["LayerView", "Activations", "PendingActivations", "ActivationProbe", "check_model",
           "check_layer_choice", "output_kind", "kind_of", "KINDS", "OUTPUT_KINDS", "MAX_DEFAULT_COLUMNS"]

# What a layer's output for one image is, by its number of axes.
KINDS = {3: "maps", 2: "sequence", 1: "vector"}
# The default choice of a deep model keeps at most this many columns.
MAX_DEFAULT_COLUMNS = 12
#: What a model's output can be: class scores (softmax or logits), one sigmoid unit
#: (or one logit) for two classes, or values.
OUTPUT_KINDS = ("classes", "binary", "regression")


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


@dataclass(frozen=True)
class Activations:
    """What one forward pass returns, as numpy arrays.

    Args:
        outputs: per view, an array (images, ...).
        output: the model's own output (images, ...).
        probabilities: class probabilities (images, classes) when the output reads as a
            classifier's (softmax, sigmoid or logits), else None.
    """

    outputs: tuple[np.ndarray, ...]
    probabilities: np.ndarray | None
    output: np.ndarray | None = None


class PendingActivations:
    """A forward pass that was started; `result()` waits for it and converts it (once).

    Args:
        outputs: the chosen layers' outputs, backend tensors (on a device, maybe not
            computed yet).
        output: the model's output, a backend tensor.
        classifier: whether the output holds class scores, to be read as probabilities
            (False for a regression).
    """

    def __init__(self, outputs: Sequence, output, *, classifier: bool = True):
        self._raw = (list(outputs), output)
        self._classifier = classifier
        self._result: Activations | None = None
        self._lock = threading.Lock()

    def result(self) -> Activations:
        """Wait for the pass and copy its outputs to numpy (once; later calls return the same).

        Returns:
            The pass's `Activations`.
        """
        with self._lock:
            if self._result is None:
                from keras import ops

                outputs, output = self._raw
                output = ops.convert_to_numpy(output)
                self._result = Activations(
                    outputs=tuple(ops.convert_to_numpy(value) for value in outputs),
                    probabilities=_to_probabilities(output) if self._classifier else None, output=output)
                self._raw = None
            return self._result


def _is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def _defined_inputs(model) -> list | None:
    try:
        return list(model.inputs)
    except (AttributeError, ValueError):  # a Sequential model without Input, a subclassed one
        return None


def check_model(model) -> None:
    """Raise a TypeError or ValueError when `model` is of a kind the probe cannot show:
    not a keras.Model, no layers, several inputs. Says what is supported.

    Args:
        model: the model to check.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model. Received: {type(model).__name__}. Supported: a "
            "Sequential, functional or subclassed keras.Model with one input."
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
            f"{len(inputs)} inputs. Supported: models with one input."
        )


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


# ---- recording the outputs of a pass -------------------------------------------------

_MISSING = object()


class _CallRecorder:
    """While active, every call of a watched layer appends (layer index, output) to
    `outputs`, in the order the forward pass makes them.

    Each layer's `call` is shadowed by an instance attribute for the duration and
    restored after, so the model is left exactly as it was; Keras's `Layer.__call__`
    (and so functional graphs, Sequential and subclassed `call` methods alike) reaches
    a layer's computation through `self.call`.
    """

    def __init__(self, layers: Sequence):
        self.layers = list(layers)
        self.outputs: list[tuple[int, object]] = []
        self._saved: list = []

    def __enter__(self) -> _CallRecorder:
        self.outputs = []
        outputs = self.outputs
        self._saved = [layer.__dict__.get("call", _MISSING) for layer in self.layers]
        for index, layer in enumerate(self.layers):
            def recording_call(*args, _call=layer.call, _index=index, **kwargs):
                result = _call(*args, **kwargs)
                outputs.append((_index, result))
                return result

            object.__setattr__(layer, "call", recording_call)
        return self

    def __exit__(self, *exc_info) -> None:
        for layer, saved in zip(self.layers, self._saved):
            if saved is _MISSING:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", saved)


@dataclass(frozen=True)
class _Record:
    """One call of one layer in the discovery pass."""

    position: int          # index into the recorder's outputs
    layer_index: int       # index into the probe's layers
    name: str
    layer_class: str
    shape: tuple | None    # per image; None when the output is not one tensor
    why_not: str = ""      # why it cannot be drawn, "" when it can


def _shape_of(value) -> tuple | None:
    shape = getattr(value, "shape", None)
    if shape is None or isinstance(value, (list, tuple, dict)):
        return None
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        return None


def _layer_class(layer) -> str:
    """The layer's class name; a wrapper's names the layer it wraps: "Bidirectional(LSTM)"."""
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    name = type(layer).__name__
    return f"{name}({type(inner).__name__})" if inner is not None and hasattr(inner, "call") else name


def _records(layers: Sequence, outputs: Sequence[tuple[int, object]], kinds: Sequence[str]) -> list[_Record]:
    calls: dict[int, int] = {}
    found = []
    for position, (layer_index, value) in enumerate(outputs):
        layer = layers[layer_index]
        calls[layer_index] = calls.get(layer_index, 0) + 1
        name = layer.name if calls[layer_index] == 1 else f"{layer.name} ({calls[layer_index]})"
        shape = _shape_of(value)
        if shape is None:
            why = "its output is not one tensor"
            per_image = None
        else:
            per_image = shape[1:]
            kind = kind_of(per_image)
            if kind is None:
                why = f"its output has {len(shape)} axes (batch included)"
            elif kind not in kinds:
                why = f"{kind} outputs are not drawn"
            elif min(per_image, default=0) < 1:
                why = "its output is empty"
            else:
                why = ""
        found.append(_Record(position, layer_index, name, _layer_class(layer), per_image, why))
    return found


# Layers that only move or mask values: a stage is shown by a layer that computes.
_PLUMBING = ("ZeroPadding", "Cropping", "Dropout", "SpatialDropout", "GaussianNoise",
             "GaussianDropout", "AlphaDropout", "Reshape", "Permute", "RepeatVector", "Identity",
             "Masking", "ActivityRegularization")


def _stage(record: _Record) -> tuple:
    """Outputs of one stage share their kind and, within a factor of about 1.4, their
    resolution (a padding layer's 49x49 belongs with the 48x48 around it); for
    vectors, their length."""
    sizes = record.shape if len(record.shape) == 1 else record.shape[:-1]
    return (len(record.shape),) + tuple(round(math.log2(max(size, 1))) for size in sizes)


def _is_side_branch(stage: Sequence[_Record]) -> bool:
    """Whether a stage is one value per channel (a vector, or maps of 1x1): between two
    runs of maps of one resolution, that is a squeeze-and-excite branch, not a stage."""
    return all(kind_of(record.shape) == "vector" for record in stage)


def _default_choice(records: Sequence[_Record], max_columns: int) -> list[_Record]:
    """Every drawable output when there are few; for a deep model, the last layer that
    computes in each stage (a run of outputs of the same kind and resolution, through any
    squeeze-and-excite branches; a stage of plumbing only is passed over), the model's
    output among them, at most `max_columns` spread evenly."""
    drawable = [record for record in records if not record.why_not]
    if len(drawable) <= max_columns:
        return drawable
    stages: list[list[_Record]] = []
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


# How each kind of output looks, for messages.
_KIND_SHAPES = {"maps": "(batch, height, width, channels)", "sequence": "(batch, time, channels)",
                "vector": "(batch, units)"}


def _shape_text(shape: tuple | None) -> str:
    return "(?)" if shape is None else "(" + ", ".join(str(d) for d in (None, *shape)) + ")"


def _choose(model, records: Sequence[_Record], layers, max_columns: int,
            kinds: Sequence[str]) -> list[_Record]:
    names = [layer.name for layer in _model_layers(model)]
    if not any(not record.why_not for record in records):
        outputs = ", ".join(f"{r.name} {_shape_text(r.shape)}" for r in records)
        shapes = " or ".join(_KIND_SHAPES[kind] for kind in KINDS.values() if kind in kinds)
        raise ValueError(
            f"Model {model.name!r} is not supported: none of its layers can be drawn "
            f"(outputs: {outputs or 'none recorded'}). Supported: layers whose output is {shapes}."
        )
    if layers is None:
        return _default_choice(records, max_columns)
    if layers == "all":
        return [record for record in records if not record.why_not]
    chosen = []
    for item in check_layer_choice(layers):
        if isinstance(item, str):
            if item not in names:
                raise ValueError(
                    f"layers: no layer named {item!r} in model {model.name!r}. "
                    f"Layers that exist: {names}."
                )
            index = names.index(item)
        else:
            if not -len(names) <= item < len(names):
                raise ValueError(
                    f"layers: index {item} is out of range for model {model.name!r}, which has "
                    f"{len(names)} layers (valid: 0..{len(names) - 1}, or negative "
                    f"from the end). Layers: {names}."
                )
            index = int(item) % len(names)
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
        chosen.extend(calls)
    return chosen


def _drawable_names(records: Sequence[_Record]) -> list[str]:
    return [record.name for record in records if not record.why_not]


def _fully_built(model) -> bool:
    """Whether every layer, nested ones too, has its variables. A subclassed model
    marked built by `build()` may still create its sub-layers' variables at its first
    call; `_flatten_layers` is how Keras itself walks them."""
    walk = getattr(model, "_flatten_layers", None)
    layers = walk(include_self=True, recursive=True) if walk else [model, *model.layers]
    return all(layer.built for layer in layers)


def _model_layers(model) -> list:
    return [layer for layer in model.layers if not _is_input_layer(layer)]


def _to_probabilities(output: np.ndarray) -> np.ndarray | None:
    """Class probabilities from a classifier's output, whether it ends in softmax,
    sigmoid or gives logits; None for outputs that are not (images, classes)."""
    if output.ndim != 2 or not np.issubdtype(output.dtype, np.floating):
        return None
    output = output.astype(np.float64)
    if output.shape[1] == 1:
        p = output[:, 0]
        if not (np.all(p >= 0) and np.all(p <= 1)):
            with np.errstate(over="ignore"):
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


# What a loss's name says the output is; the first match counts. Hinge losses take -1/1
# labels of either kind: the output layer decides.
_LOSS_KINDS = (("hinge", None), ("categorical", "classes"), ("binary", "binary"),
               ("squared", "regression"), ("absolute", "regression"), ("huber", "regression"),
               ("cosh", "regression"), ("poisson", "regression"), ("mse", "regression"),
               ("mae", "regression"), ("mape", "regression"), ("msle", "regression"))


def _loss_name(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss.lower()
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", "")).lower()


def output_kind(model, shape: tuple | None, output_layer=None) -> str:
    """What `model`'s output is, one of `OUTPUT_KINDS`: as its compiled loss says
    (cross-entropies, regression losses), else as its output layer's activation and
    width say (one sigmoid unit: "binary"; one linear unit: "regression"; several units:
    "classes").

    Args:
        model: the model.
        shape: its output's shape for one input; None when unknown.
        output_layer: the layer that makes the output, to read its activation.

    Returns:
        "classes", "binary" or "regression"; "classes" for outputs that are not one
        vector per input (no class is read from them).
    """
    if shape is None or len(shape) != 1:
        return "classes"
    name = _loss_name(model)
    for part, kind in _LOSS_KINDS:
        if part in name:
            if kind is not None:
                return kind
            break
    if shape[0] > 1:
        return "classes"
    activation = getattr(getattr(output_layer, "activation", None), "__name__", "")
    return "binary" if activation == "sigmoid" else "regression"


# ---- one compiled pass per backend -----------------------------------------------------

Forward = Callable[[object], tuple[list, object]]


def _single_output(model, output):
    if _shape_of(output) is None:
        count = len(output) if isinstance(output, (list, tuple, dict)) else "?"
        raise ValueError(
            f"Models with several outputs are not supported: model {model.name!r} returns "
            f"{type(output).__name__} of {count}. Supported: models with one output."
        )
    return output


def _jax_weights(model) -> tuple[list, list]:
    # During fit the trainer holds the weights (see the module docstring); outside fit,
    # and once fit has synced them back, the variables do.
    state = getattr(model, "_jax_state", None)
    if state and state.get("trainable_variables") is not None:
        weights = list(state["trainable_variables"]), list(state["non_trainable_variables"] or [])
    else:
        weights = ([v.value for v in model.trainable_variables],
                   [v.value for v in model.non_trainable_variables])
    local = _local(weights[0] + weights[1])
    return local[:len(weights[0])], local[len(weights[0]):]


def _local(arrays: list) -> list:
    """Weights replicated over several devices (`keras.distribution.DataParallel`) as
    their copy on this process's first device: the same buffer, no transfer. The pass
    then runs on one device of this process only, rather than on every device, and
    needs no other process (under a multi-process distribution only the chief draws).
    Weights split over devices (`ModelParallel`) have no whole local copy: then the
    pass runs over all devices as the weights lie: all of them stay as they are, since
    one program cannot mix the two. That works in one process; split over the devices
    of several processes, the pass would need the others, which do not draw, so it is
    refused with a clear error."""
    local = []
    for array in arrays:
        sharding = getattr(array, "sharding", None)
        if sharding is None or len(sharding.device_set) == 1:
            local.append(array)
        elif sharding.is_fully_replicated:
            # addressable_data, not addressable_shards[0].data, which raises for these
            # arrays in a jax.distributed process (JAX 0.10).
            local.append(array.addressable_data(0))
        elif not getattr(array, "is_fully_addressable", True):
            raise NotImplementedError(
                "PlotConvCallback cannot draw a model whose weights are split over the devices of "
                "several processes (keras.distribution.ModelParallel across hosts): the pass would need "
                "every process, and only the chief draws. Replicate the weights (DataParallel), or "
                "draw from one process's copy of the model after fit.")
        else:
            return arrays
    return local


def _takes_training(model) -> bool:
    parameters = inspect.signature(model.call).parameters.values()
    return any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)


def _jax_forward(model, recorder: _CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    import jax

    # Layer.__call__ passes `training` only to a `call` that takes it; stateless_call
    # passes what it is given.
    options = {"training": False} if _takes_training(model) else {}

    def stateless(trainable, non_trainable, images):
        with recorder:
            output, _ = model.stateless_call(trainable, non_trainable, images, **options)
            return [recorder.outputs[p][1] for p in positions], output

    # Not compiled: the discovery pass, which needs shapes only; tracing gives them
    # without running (an op-by-op pass of a deep model takes seconds).
    run = jax.jit(stateless) if compiled else functools.partial(jax.eval_shape, stateless)

    def forward(images):
        return run(*_jax_weights(model), images)
    return forward


def _torch_forward(model, recorder: _CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    import torch

    def forward(images):
        with torch.no_grad(), recorder:
            output = model(images, training=False)
            return [recorder.outputs[p][1] for p in positions], output
    return forward


def _tensorflow_forward(model, recorder: _CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    def forward(images):
        with recorder:
            output = model(images, training=False)
            return [recorder.outputs[p][1] for p in positions], output
    if not compiled:
        return forward
    import tensorflow as tf

    return tf.function(forward, autograph=False, reduce_retracing=True)


def _eager_forward(model, recorder: _CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    def forward(images):
        with recorder:
            output = model(images, training=False)
            return [recorder.outputs[p][1] for p in positions], output
    return forward


#: How a pass runs, per Keras backend; other backends call the model eagerly.
FORWARDS = {"jax": _jax_forward, "torch": _torch_forward, "tensorflow": _tensorflow_forward}


def _backend_images(images: np.ndarray):
    """`images` where the backend wants them: a device tensor for torch and TensorFlow,
    made once; numpy for JAX, whose jit places it next to the weights (on one device,
    or on all of them under a data-parallel distribution)."""
    import keras

    if keras.backend.backend() in ("torch", "tensorflow"):
        return keras.ops.convert_to_tensor(images)
    return images


class ActivationProbe:
    """Outputs of chosen layers of `model` for a fixed batch of inputs, in one forward pass.

    Args:
        model: a built or unbuilt keras.Model with one input and one output:
            Sequential, functional or subclassed. An unbuilt one is built by the first
            pass, on `sample`.
        sample: the batch the probe runs on (numpy, shaped for the model's input).
        layers: None for the default choice (every drawable layer; for a deep model,
            the last layer of each stage and the output, at most `max_columns`),
            "all" for every drawable layer, or names / indices into the model's
            layers. A layer called twice gives two columns; a nested model or a
            custom layer holding others is one column, its output.
        kinds: which kinds of output are drawable ("maps", "sequence", "vector").
        max_columns: the most columns the default choice keeps.

    >>> probe = ActivationProbe(model, x_test[:7])
    >>> pending = probe.dispatch()        # returns at once; the pass runs meanwhile
    >>> pending.result().outputs[0].shape # (7, 26, 26, 64)
    """

    def __init__(self, model, sample: np.ndarray, *, layers=None,
                 kinds: Sequence[str] = tuple(KINDS.values()),
                 max_columns: int = MAX_DEFAULT_COLUMNS):
        import keras

        check_model(model)
        layers = check_layer_choice(layers)
        self.model = model
        self.sample = np.asarray(sample)
        self.input_shape: tuple[int, ...] = tuple(self.sample.shape[1:])
        self._layers = _model_layers(model)
        self._images = _backend_images(self.sample)
        make = FORWARDS.get(keras.backend.backend(), _eager_forward)
        if not _fully_built(model):  # a stateless pass needs the variables: a call makes them
            self._run_eagerly(model)
        recorder = _CallRecorder(self._layers)
        try:
            every, output = make(model, recorder, [], compiled=False)(self._images)
        except Exception as error:  # each backend raises its own kind (InvalidArgumentError, RuntimeError, ...)
            raise ValueError(
                f"model {model.name!r} could not run on the images (shape {self.sample.shape}, "
                f"dtype {self.sample.dtype}): {error}"
            ) from error
        _single_output(model, output)
        records = _records(self._layers, recorder.outputs, tuple(kinds))
        chosen = _choose(model, records, layers, max_columns, tuple(kinds))
        self.views = tuple(LayerView(r.name, r.shape, r.layer_class) for r in chosen)
        output_shape = _shape_of(output)
        last_layer = self._layers[records[-1].layer_index] if records else None
        #: What the model's output is (see `output_kind`): how a frame reads it.
        self.output_kind = output_kind(model, None if output_shape is None else output_shape[1:], last_layer)
        self._forward = make(model, _CallRecorder(self._layers), [r.position for r in chosen],
                             compiled=True)

    def _run_eagerly(self, model) -> None:
        try:
            model(self._images, training=False)
        except Exception as error:  # each backend raises its own kind (InvalidArgumentError, RuntimeError, ...)
            raise ValueError(
                f"model {model.name!r} could not run on the images (shape {self.sample.shape}, "
                f"dtype {self.sample.dtype}): {error}"
            ) from error

    def dispatch(self) -> PendingActivations:
        """Start one pass over `sample` and return at once (on an accelerator the pass
        runs meanwhile); `result()` on what it returns waits and converts."""
        outputs, output = self._forward(self._images)
        return PendingActivations(outputs, output, classifier=self.output_kind != "regression")

    def __call__(self) -> Activations:
        """One pass over `sample`, waited for: the outputs as numpy arrays."""
        return self.dispatch().result()
