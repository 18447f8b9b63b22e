"""One forward pass that notes the outputs of the model's own layers, set up once per
Keras backend.

`CallRecorder` notes each watched layer's output as the pass calls it: for the duration
of a pass, each layer's `call` is wrapped. That works alike for Sequential, functional
and subclassed models and on every Keras backend, and it needs no second model.
`make_forward` sets the pass up for the backend in use (`FORWARDS`):

- JAX: a jitted `stateless_call` fed with the trainer's current state. During `fit`,
  Keras keeps the weights in the trainer (`model._jax_state`) and detaches them from
  the model; reading them there costs nothing, where `Callback.model` would copy every
  variable back (`jax_state_sync`) at each frame.
- TensorFlow: the model called inside a `tf.function`.
- PyTorch (under `torch.no_grad()`) and any other backend: the model called eagerly;
  there is nothing to compile.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["CallRecorder", "Forward", "FORWARDS", "make_forward", "backend_images", "fully_built"]

#: A pass: the inputs in, (the chosen calls' outputs, the model's output) out, as backend tensors.
Forward = Callable[[object], tuple[list, object]]

_MISSING = object()


class CallRecorder:
    """While active, every call of a watched layer appends (layer index, output) to
    `outputs`, in the order the forward pass makes them.

    Each layer's `call` is shadowed by an instance attribute for the duration and
    restored after, so the model is left exactly as it was; Keras's `Layer.__call__`
    (and so functional graphs, Sequential and subclassed `call` methods alike) reaches
    a layer's computation through `self.call`.

    Args:
        layers: the layers to watch; an output is noted with its layer's index here.
    """

    def __init__(self, layers: Sequence):
        self.layers = list(layers)
        self.outputs: list[tuple[int, object]] = []
        self._saved: list = []

    def __enter__(self) -> CallRecorder:
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


# ---- JAX: a jitted stateless call on the trainer's weights ------------------------------


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


def _jax_forward(model, recorder: CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
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


# ---- every other backend: the model called as it is --------------------------------------


def _no_gradients(backend: str):
    """What a pass runs under so that the backend records no gradients: torch would
    otherwise keep a graph of every pass."""
    if backend == "torch":
        import torch

        return torch.no_grad
    return contextlib.nullcontext


def _tf_function(forward: Forward) -> Forward:
    import tensorflow as tf

    return tf.function(forward, autograph=False, reduce_retracing=True)


# Backends that compile a called model (the discovery pass is never compiled).
_COMPILERS = {"tensorflow": _tf_function}


def _called_forward(model, recorder: CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    import keras

    backend = keras.backend.backend()
    no_gradients = _no_gradients(backend)

    def forward(images):
        with no_gradients(), recorder:
            output = model(images, training=False)
            return [recorder.outputs[p][1] for p in positions], output

    compile_ = _COMPILERS.get(backend)
    return compile_(forward) if compiled and compile_ else forward


#: How a pass is set up, per Keras backend; other backends call the model (`_called_forward`).
FORWARDS = {"jax": _jax_forward}


def make_forward(model, recorder: CallRecorder, positions: Sequence[int], *, compiled: bool) -> Forward:
    """A pass of `model` for the Keras backend in use, from `FORWARDS`.

    Args:
        model: a built keras.Model (see `fully_built`).
        recorder: a `CallRecorder` of the model's watched layers.
        positions: which of the recorder's calls the pass returns, by their position in
            the pass.
        compiled: compile the pass (every frame's); False for the discovery pass, which
            only needs what each layer outputs.

    Returns:
        The pass: `forward(images) -> (outputs at positions, model output)`.
    """
    import keras

    make = FORWARDS.get(keras.backend.backend(), _called_forward)
    return make(model, recorder, positions, compiled=compiled)


def fully_built(model) -> bool:
    """Whether every layer, nested ones too, has its variables. A subclassed model
    marked built by `build()` may still create its sub-layers' variables at its first
    call; `_flatten_layers` is how Keras itself walks them.

    Args:
        model: a keras.Model.

    Returns:
        True when a stateless pass can run on its variables.
    """
    walk = getattr(model, "_flatten_layers", None)
    layers = walk(include_self=True, recursive=True) if walk else [model, *model.layers]
    return all(layer.built for layer in layers)


def backend_images(images: np.ndarray):
    """`images` where the backend wants them: a device tensor for torch and TensorFlow,
    made once; numpy for JAX, whose jit places it next to the weights (on one device,
    or on all of them under a data-parallel distribution).

    Args:
        images: the probe's batch, numpy.

    Returns:
        The batch to feed every pass.
    """
    import keras

    if keras.backend.backend() in ("torch", "tensorflow"):
        return keras.ops.convert_to_tensor(images)
    return images
