"""What the distributed scenarios share: a tiny model and data, the real `PlotConvCallback`
with instruments around it (the weights at every frame, the activations each frame was
drawn from, the time spent in its hooks), a one-device reference, and a report file.

Imported by the scenario scripts in this folder once they have set the backend and the
devices (both must precede importing Keras); `test_distributed.py` starts the scripts.
"""

import argparse
import contextlib
import json
import os
import time

import numpy as np
import keras

from vizcallbacks import PlotConvCallback
from vizcallbacks.render import GridRenderer

EPOCHS, BATCH, EVERY = 2, 32, 3
SAMPLES = 256


def tiny_cnn(name, *, batchnorm=True):
    """Conv (+ BatchNormalization, whose moving statistics are state outside the
    gradients) + pool + dense: small enough for two shared cores."""
    layers = keras.layers
    norm = [layers.BatchNormalization(name="bn")] if batchnorm else []
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu", name="conv")]
        + norm
        + [layers.MaxPooling2D(name="pool"), layers.Flatten(name="flat"),
           layers.Dense(10, activation="softmax", name="out")],
        name=name,
    )
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data(samples=SAMPLES, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 12, 12, 1), dtype=np.float32)
    y = (x.reshape(samples, -1).mean(axis=1) * 20).astype("int64") % 10
    return x, y


def probe_images(count=3, seed=1):
    return np.random.default_rng(seed).random((count, 12, 12, 1), dtype=np.float32)


def expected_frames(epochs, steps_per_epoch, every=EVERY):
    """(epoch from 1, batch) of every frame: batch 0 and every `every`-th of each epoch,
    then the last batch at the end of training."""
    frames = [(epoch + 1, batch) for epoch in range(epochs) for batch in range(0, steps_per_epoch, every)]
    if frames[-1] != (epochs, steps_per_epoch - 1):
        frames.append((epochs, steps_per_epoch - 1))
    return frames


def weights_now(model):
    """Numpy copies of the trainable and non-trainable weights as a forward pass sees them
    now: during a JAX fit they live in the trainer's state (and the next step donates
    those buffers, so they are copied at once); under a TensorFlow strategy a variable
    reads as its copy on the first replica, in a multi-process JAX fit as this process's."""
    state = getattr(model, "_jax_state", None)
    if state and state.get("trainable_variables") is not None:
        groups = state["trainable_variables"], state["non_trainable_variables"]
    else:
        groups = ([v.value for v in model.trainable_variables],
                  [v.value for v in model.non_trainable_variables])
    return [[np.array(_local_copy(value)) for value in group] for group in groups]


def _local_copy(value):
    # A global array of a multi-process JAX fit is not addressable as a whole; replicated,
    # each process holds a whole copy.
    if getattr(value, "is_fully_addressable", True) is False:
        value = value.addressable_data(0)
    return keras.ops.convert_to_numpy(value)


class WeightLog(keras.callbacks.Callback):
    """The weights after every batch, keyed as the manifest names frames: (epoch from 1,
    batch). Taken where the callback takes its frames: at the next batch's begin and at
    the epoch's end, in the training thread."""

    async_safe = True  # as PlotConvCallback, so that Keras dispatches the same way

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_train_begin(self, logs=None):
        self._model = self.model  # the one read: on JAX Callback.model syncs every weight
        self._epoch = 0
        self._last = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if batch > 0:
            self._note(batch - 1)

    def on_epoch_end(self, epoch, logs=None):
        if self._last is not None and self._last[0] == epoch + 1:
            self._note(self._last[1] + 1)

    def _note(self, batch):
        self._last = (self._epoch + 1, batch)
        self.weights[self._last] = weights_now(self._model)


def recording_renderer():
    """A renderer class that draws as GridRenderer does and keeps, by stamp (epoch from
    1, batch), the activations each frame was drawn from (`drawn`), the stamps in the order
    drawn (`order`) and the views (`shown`)."""

    class RecordingRenderer(GridRenderer):
        drawn = {}
        order = []
        shown = ()

        def __init__(self, views, images, **options):
            super().__init__(views, images, **options)
            type(self).shown = tuple(views)

        def render(self, activations, stamp=None):
            type(self).drawn[(stamp.epoch, stamp.batch)] = [np.array(a) for a in activations.outputs]
            type(self).order.append((stamp.epoch, stamp.batch))
            return super().render(activations, stamp)

    return RecordingRenderer


class TimedCallback(PlotConvCallback):
    """The real callback, with the time spent in its hooks summed in `hook_s`."""

    hook_s = 0.0

    @contextlib.contextmanager
    def _timer(self):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.hook_s += time.perf_counter() - started

    def on_train_begin(self, logs=None):
        with self._timer():
            super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        with self._timer():
            super().on_epoch_begin(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        with self._timer():
            super().on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        with self._timer():
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        with self._timer():
            super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        with self._timer():
            super().on_train_end(logs)


def make_callback(out_dir, *, movie=True):
    """The real callback writing PNG frames, the manifest and (with `movie`) a GIF under
    `out_dir`, recording its activations (`callback.renderer_factory.drawn`)."""
    callback = TimedCallback(
        probe_images(), frames_dir=os.path.join(out_dir, "frames"), every_n_batches=EVERY,
        batch_size=BATCH, movie_path=os.path.join(out_dir, "movie.gif") if movie else None)
    callback.renderer_factory = recording_renderer()
    return callback


def out_dir():
    """The folder a scenario script writes to, from its --out argument."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    return parser.parse_args().out


def fit(model, out_dir, *, data=None, batch_size=BATCH, scope=None):
    """`model.fit` of `data` (default the tiny data) for EPOCHS epochs, in order, with the
    real callback writing under `out_dir` and a `WeightLog`, inside `scope` when given.
    Returns the callback, the weight log and the history."""
    callback, weight_log = make_callback(out_dir), WeightLog()
    x, y = tiny_data() if data is None else data
    with scope or contextlib.nullcontext():
        history = model.fit(x, y, batch_size=batch_size, epochs=EPOCHS, shuffle=False, verbose=0,
                            callbacks=[callback, weight_log])
    return callback, weight_log, history


def largest_gap(first, second):
    """The largest difference between the activations two callbacks drew, frame by frame."""
    assert first.renderer_factory.order == second.renderer_factory.order
    return max(float(np.abs(a - b).max()) for key in first.renderer_factory.order
               for a, b in zip(first.renderer_factory.drawn[key], second.renderer_factory.drawn[key]))


def layer_outputs(reference, names):
    """A function: weights -> the outputs of layers `names` of `reference` (a model on one
    device, of the same architecture) holding those weights, on the probe images."""
    submodel = keras.Model(reference.inputs[0], [reference.get_layer(name).output for name in names])

    def outputs(weights, images):
        trainable, non_trainable = weights
        for variable, value in zip(reference.trainable_variables, trainable):
            variable.assign(value)
        for variable, value in zip(reference.non_trainable_variables, non_trainable):
            variable.assign(value)
        return [keras.ops.convert_to_numpy(o) for o in submodel(images, training=False)]
    return outputs


def check_against_reference(callback, weight_log, reference, atol=1e-5):
    """Every frame's activations equal those of a one-device model holding the weights
    the fit had at that frame. Returns the largest difference seen."""
    recorded = callback.renderer_factory
    names = [view.name for view in recorded.shown]
    images = callback.images
    worst = 0.0
    assert recorded.drawn, "no frame was drawn"
    outputs = layer_outputs(reference, names)
    for key, drawn in recorded.drawn.items():
        wanted = outputs(weight_log.weights[key], images)
        for name, got, want in zip(names, drawn, wanted):
            assert got.shape == want.shape, (key, name, got.shape, want.shape)
            gap = float(np.abs(got - want).max())
            assert gap <= atol, f"frame {key}, layer {name}: differs from one device by {gap}"
            worst = max(worst, gap)
    return worst


def write_report(out_dir, name, report):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{name}.json"), "w") as file:
        json.dump(report, file, default=str)
    print(json.dumps(report, default=str), flush=True)
