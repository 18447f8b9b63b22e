"""`ActivationProbe`: the outputs of chosen layers of a model for a fixed batch, in one
forward pass; what a frame is drawn from.

Data only: nothing here draws. A first pass, when the probe is made, finds what each
layer outputs (and builds a model that was not built yet); the probe then chooses the
columns (`layers.py`), reads what the output is (`outputs.py`) and sets up every later
pass once (`passes.py`).

`dispatch()` only starts the pass: on an accelerator the training thread goes on while
it runs, and `PendingActivations.result()` (called off the training thread) waits for
it and copies the outputs to numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .layers import (KINDS, MAX_DEFAULT_COLUMNS, LayerView, check_layer_choice, choose, layer_calls, model_layers,
                     shape_of)
from .outputs import READS_PROBABILITIES, head_losses, output_heads, output_kind, to_probabilities
from .passes import CallRecorder, backend_images, fully_built, make_forward

__all__ = ["ActivationProbe", "Activations", "PendingActivations", "check_model", "input_count"]


@dataclass(frozen=True)
class Activations:
    """What one forward pass returns, as numpy arrays.

    Args:
        outputs: per view, an array (images, ...).
        output: the model's own output (images, ...).
        probabilities: class probabilities (images, classes) when the output reads as a
            classifier's (softmax, sigmoid or logits), else None.
        recorded: per recorded layer (the probe's `recorded`, a superset of its views), an
            array (images, ...); () when the probe records nothing beyond the views.
        heads: every output head's output (images, ...), in the model's order, when the
            model has several; then `output` is None and `probabilities` are the first
            classifying head's. () for a model with one output.
    """

    outputs: tuple[np.ndarray, ...]
    probabilities: np.ndarray | None
    output: np.ndarray | None = None
    recorded: tuple[np.ndarray, ...] = ()
    heads: tuple[np.ndarray, ...] = ()


class PendingActivations:
    """A forward pass that was started; `result()` waits for it and converts it (once).

    Args:
        outputs: the chosen layers' outputs, backend tensors (on a device, maybe not
            computed yet).
        output: the model's output, a backend tensor (a list or dict of them for a
            model with several outputs).
        classifier: whether the output holds class scores, to be read as probabilities
            (False for a regression, an image); for several outputs, one flag per head.
        views: the positions in `outputs` of the views' outputs, in column order; None when
            `outputs` are the views' outputs and nothing else is recorded.
    """

    def __init__(self, outputs: Sequence, output, *, classifier: bool | Sequence[bool] = True,
                 views: Sequence[int] | None = None):
        self._raw = (list(outputs), output)
        self._views = None if views is None else tuple(views)
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
                arrays = tuple(ops.convert_to_numpy(value) for value in outputs)
                shown = arrays if self._views is None else tuple(arrays[index] for index in self._views)
                recorded = () if self._views is None else arrays
                self._result = _converted(output, self._classifier, shown, recorded)
                self._raw = None
            return self._result


def _converted(output, classifier, shown: tuple, recorded: tuple) -> Activations:
    """The pass's `Activations`, its model output copied to numpy: one array, or one per head."""
    from keras import ops

    if isinstance(classifier, bool):
        if isinstance(output, (list, tuple, dict)):  # one head given as a list or dict of one
            output = next(iter(output.values() if isinstance(output, dict) else output))
        output = ops.convert_to_numpy(output)
        return Activations(outputs=shown, probabilities=to_probabilities(output) if classifier else None,
                           output=output, recorded=recorded)
    values = output.values() if isinstance(output, dict) else output
    heads = tuple(ops.convert_to_numpy(value) for value in values)
    classifying = [head for head, reads in zip(heads, classifier) if reads]
    return Activations(outputs=shown, probabilities=to_probabilities(classifying[0]) if classifying else None,
                       recorded=recorded, heads=heads)


def _defined_inputs(model) -> list | None:
    try:
        return list(model.inputs)
    except (AttributeError, ValueError):  # a Sequential model without Input, a subclassed one
        return None


def check_model(model) -> None:
    """Raise a TypeError or ValueError when `model` is of a kind the probe cannot show:
    not a keras.Model, or no layers. Says what is supported.

    Args:
        model: the model to check.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model. Received: {type(model).__name__}. Supported: a "
            "Sequential, functional or subclassed keras.Model."
        )
    if not model.layers:
        raise ValueError(
            f"Model {model.name!r} is not supported: it has no layers. Supported: a model with "
            "layers to draw."
        )


def input_count(model) -> int:
    """How many inputs `model` declares (1 when it declares none: Sequential without
    Input, subclassed).

    Args:
        model: a keras.Model.
    """
    inputs = _defined_inputs(model)
    return len(inputs) if inputs else 1


class ActivationProbe:
    """Outputs of chosen layers of `model` for a fixed batch of inputs, in one forward pass.

    Args:
        model: a built or unbuilt keras.Model: Sequential, functional or subclassed,
            with one or several inputs and outputs. An unbuilt one is built by the first
            pass, on `sample`.
        sample: the batch the probe runs on (numpy, shaped for the model's input); a
            list of batches, one per input in the model's order, for several inputs.
        layers: None for the default choice (every drawable layer; for a deep model,
            the last layer of each stage and the output, at most `max_columns`),
            "all" for every drawable layer, or names / indices into the model's
            layers. A layer called twice gives two columns; a nested model or a
            custom layer holding others is one column, its output.
        kinds: which kinds of output are drawable ("maps", "sequence", "vector").
        max_columns: the most columns the default choice keeps.
        record: the layers whose outputs every pass also returns, for the activation
            store (`Activations.recorded`): None for none beyond the views, "drawable"
            for every drawable layer (a superset of the default columns), or names /
            indices as for `layers`. The views' layers are always among them.

    >>> probe = ActivationProbe(model, x_test[:7])
    >>> pending = probe.dispatch()        # returns at once; the pass runs meanwhile
    >>> pending.result().outputs[0].shape # (7, 26, 26, 64)
    """

    def __init__(self, model, sample: np.ndarray, *, layers=None,
                 kinds: Sequence[str] = tuple(KINDS.values()),
                 max_columns: int = MAX_DEFAULT_COLUMNS, record=None):
        check_model(model)
        layers = check_layer_choice(layers)
        if record is not None and record != "drawable":
            record = check_layer_choice(record)
        self.model = model
        several = isinstance(sample, (list, tuple))
        self.sample = [np.asarray(part) for part in sample] if several else np.asarray(sample)
        self.input_shape: tuple[int, ...] = tuple(self.sample[0].shape[1:] if several else self.sample.shape[1:])
        self._layers = model_layers(model)
        self._images = [backend_images(part) for part in self.sample] if several else backend_images(self.sample)
        if not fully_built(model):  # a stateless pass needs the variables: a call makes them
            self._run(lambda: model(self._images, training=False))
        recorder = CallRecorder(self._layers)
        _, output = self._run(lambda: make_forward(model, recorder, [], compiled=False)(self._images))
        heads, self.output_names = output_heads(model, output)
        records = layer_calls(self._layers, recorder.outputs, tuple(kinds))
        chosen = choose(model, records, layers, max_columns=max_columns, kinds=tuple(kinds))
        self.views = tuple(LayerView(r.name, r.shape, r.layer_class) for r in chosen)
        kinds_by_head = _head_kinds(model, heads, self.output_names, self._layers, records)
        #: What the model's output is (see `output_kind`): how a frame reads it; for a model
        #: with several outputs, {head name: kind} in the model's order.
        self.output_kind = kinds_by_head[self.output_names[0]] if len(heads) == 1 else kinds_by_head
        kept = None if record is None else _recorded_calls(model, records, chosen, record, tuple(kinds))
        #: The layers each pass also returns for the store, in model order (() for none).
        self.recorded = () if kept is None else tuple(LayerView(r.name, r.shape, r.layer_class) for r in kept)
        positions = [r.position for r in (chosen if kept is None else kept)]
        self._views = None if kept is None else [positions.index(r.position) for r in chosen]
        self._forward = make_forward(model, CallRecorder(self._layers), positions, compiled=True)

    def _run(self, call):
        """`call()`, a first call of the model, with an error that names the images."""
        try:
            return call()
        except Exception as error:  # each backend raises its own kind (InvalidArgumentError, RuntimeError, ...)
            raise ValueError(
                f"model {self.model.name!r} could not run on the images (shape {self.sample.shape}, "
                f"dtype {self.sample.dtype}): {error}"
            ) from error

    def dispatch(self) -> PendingActivations:
        """Start one pass over `sample` and return at once (on an accelerator the pass
        runs meanwhile); `result()` on what it returns waits and converts."""
        outputs, output = self._forward(self._images)
        kinds = self.output_kind
        classifier = kinds in READS_PROBABILITIES if isinstance(kinds, str) else [
            kind in READS_PROBABILITIES for kind in kinds.values()]
        return PendingActivations(outputs, output, classifier=classifier, views=self._views)

    def __call__(self) -> Activations:
        """One pass over `sample`, waited for: the outputs as numpy arrays."""
        return self.dispatch().result()


def _head_kinds(model, heads, names, layers, records) -> dict[str, str]:
    """Each head's kind, {name: kind}: read from its shape, its loss and the layer that
    made it (the last call whose output has the head's shape; the last call for one head)."""
    losses = head_losses(model, names)
    found = {}
    for head, name, loss in zip(heads, names, losses):
        shape = shape_of(head)[1:]
        makers = [r for r in records if r.shape == shape] if len(heads) > 1 else records
        named = [r for r in makers if r.name == name]
        maker = (named or makers or [None])[-1]
        layer = None if maker is None else layers[maker.layer_index]
        found[name] = output_kind(model, shape, layer, loss=loss)
    return found


def _recorded_calls(model, records, chosen, record, kinds) -> list:
    """The calls whose outputs the store keeps: every drawable one ("drawable") or those
    `record` names, with the shown ones always among them, in the order the pass made them."""
    if record == "drawable":
        wanted = [r for r in records if not r.why_not]
    else:
        wanted = choose(model, records, record, max_columns=MAX_DEFAULT_COLUMNS, kinds=kinds)
    positions = {r.position for r in wanted} | {r.position for r in chosen}
    return [r for r in records if r.position in positions]
