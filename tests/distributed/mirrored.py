"""tf.distribute.MirroredStrategy over two logical CPU devices, with the real callback.

- A fit with BatchNormalization, `fit` called outside and then inside `strategy.scope()`:
  every frame is drawn once, from the weights of that moment, and its activations equal
  those of a one-device model holding those weights (the first replica's copy, which is
  also what `get_weights()` and saving read).
- A whole fit on two replicas and the same fit on one device, from the same weights over
  the same batches (no BatchNormalization: its statistics come from each replica's half
  batch, a matter of training, not of drawing): the same frames.

Started by test_distributed.py in a fresh process (the logical devices must be set before
TensorFlow starts): python tests/distributed/mirrored.py --out DIR
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

from common import (BATCH, EPOCHS, SAMPLES, check_against_reference, expected_frames, fit,  # noqa: E402
                    largest_gap, out_dir, tiny_cnn, write_report)


def main():
    out = out_dir()
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    expected = expected_frames(EPOCHS, SAMPLES // BATCH)
    report = {"expected": expected}

    with strategy.scope():
        model = tiny_cnn("mirrored")
    assert "Mirrored" in type(model.weights[0].value).__name__, type(model.weights[0].value)
    reference = tiny_cnn("one_device")  # the default strategy: one device
    for where, scope in (("outside", None), ("inside", strategy.scope())):
        callback, weight_log, _ = fit(model, os.path.join(out, where), scope=scope)
        assert callback.renderer_factory.order == expected, callback.renderer_factory.order
        report[f"fit {where} strategy.scope(): largest difference from one device"] = (
            check_against_reference(callback, weight_log, reference))

    # The whole fit, two replicas against one device.
    with strategy.scope():
        distributed = tiny_cnn("distributed", batchnorm=False)
    single = tiny_cnn("single", batchnorm=False)
    single.set_weights(distributed.get_weights())
    two = fit(distributed, os.path.join(out, "whole-two-replicas"))[0]
    one = fit(single, os.path.join(out, "whole-one-device"))[0]
    gap = largest_gap(two, one)
    assert gap < 1e-4, gap
    report["whole fit: largest activation difference, two replicas vs one device"] = gap
    write_report(out, "mirrored", report)


if __name__ == "__main__":
    main()
