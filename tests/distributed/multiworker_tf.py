"""One process of a two-process tf.distribute.MultiWorkerMirroredStrategy fit with the real
callback (TF_CONFIG set by test_distributed.py, on 127.0.0.1). Each process is given its
own output folder; only the chief's callback draws and writes frames, manifest and movie,
the other's does nothing and creates nothing.

Writes <out>/reports/<task>.json (the test's instruments, not the callback's) and
<task>_weights.npz; the chief also checks every frame's activations against a one-device
model holding the weights of that moment.

    python tests/distributed/multiworker_tf.py --out DIR
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from common import (BATCH, EPOCHS, SAMPLES, check_against_reference, expected_frames, fit,  # noqa: E402
                    out_dir, tiny_cnn, write_report)


def keras_mwms_workarounds(model):
    """TEST-ONLY WORKAROUND, never in the library: Keras 3's own `fit` fails under
    MultiWorkerMirroredStrategy, with or without any callback (keras-team/keras#20585,
    open in Keras 3.15):

    1. `_maybe_symbolic_build` reduces the first batch, a tuple of PerReplica values, with
       `strategy.reduce("MEAN", (x, y), axis=None)`: "Attempt to convert a value
       (PerReplica...)". Dropping the model's saved strategy skips it; `fit` must then run
       inside `strategy.scope()`, where `model.distribute_strategy` still finds it.
    2. `reduce_per_replica` reduces the scalar loss with `axis=0`: "Invalid reduction
       dimension 0 for input with 0 dimensions". Treated as single-worker there, it reduces
       over the local replicas only, which is what the logs need (the loss tracker is a
       SyncOnRead variable, global already); gradients are still all-reduced across the
       workers by the optimizer (both processes end with equal weights: the test checks).
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    model._distribute_strategy = None
    tf_trainer._collective_all_reduce_multi_worker = lambda strategy: False


def main():
    out = out_dir()
    keras.utils.set_random_seed(0)

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    task = f"{resolver.task_type}{resolver.task_id}"
    with strategy.scope():
        model = tiny_cnn("mwms", batchnorm=False)
    keras_mwms_workarounds(model)

    # Each process its own folder: the worker's must stay absent.
    callback, weight_log, history = fit(model, os.path.join(out, task), scope=strategy.scope())

    reports = os.path.join(out, "reports")
    os.makedirs(reports, exist_ok=True)
    np.savez(os.path.join(reports, f"{task}_weights.npz"), *model.get_weights())
    report = dict(task=task, should_checkpoint=strategy.extended.should_checkpoint,
                  num_replicas_in_sync=strategy.num_replicas_in_sync,
                  frames_written=callback.frames_written, frames_drawn=callback.renderer_factory.order,
                  hook_ms=round(callback.hook_s * 1e3, 2), loss=history.history["loss"])
    if callback.frames_written:
        assert callback.renderer_factory.order == expected_frames(EPOCHS, SAMPLES // BATCH)
        report["largest difference from one device"] = check_against_reference(
            callback, weight_log, tiny_cnn("one_device", batchnorm=False))
    write_report(reports, task, report)


if __name__ == "__main__":
    main()
