"""keras.distribution.DataParallel on JAX over two host devices, with the real callback.

- A fit with BatchNormalization: every frame is drawn once, from the trainer's state of
  that moment (replicated on both devices), and its activations equal those of a
  one-device model holding those weights.
- A whole fit over two devices and the same fit on one device, from the same weights
  over the same batches: the same frames (JAX's data parallelism is one program over the
  global batch, so even BatchNormalization sees the whole batch).

Started by test_distributed.py in a fresh process (XLA_FLAGS must be set before JAX
starts): python tests/distributed/jax_data_parallel.py --out DIR
"""

import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

import jax  # noqa: E402
import keras  # noqa: E402

from common import (BATCH, EPOCHS, SAMPLES, check_against_reference, expected_frames, fit,  # noqa: E402
                    largest_gap, out_dir, tiny_cnn, write_report)
from vizcallbacks.demos.models import set_random_seed  # noqa: E402  (keras's would start TensorFlow)


def main():
    out = out_dir()
    assert len(jax.devices()) == 2, jax.devices()
    set_random_seed(0)
    expected = expected_frames(EPOCHS, SAMPLES // BATCH)
    report = {"expected": expected}

    reference = tiny_cnn("one_device")  # made before the distribution: one device
    data_parallel = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    with data_parallel.scope():
        model = tiny_cnn("data_parallel")
        distributed = tiny_cnn("distributed")
    layout = model.weights[0].value.sharding
    assert len(layout.device_set) == 2 and layout.is_fully_replicated, layout
    single = tiny_cnn("single")
    single.set_weights(distributed.get_weights())

    callback, weight_log, _ = fit(model, os.path.join(out, "data-parallel"), scope=data_parallel.scope())
    assert callback.renderer_factory.order == expected, callback.renderer_factory.order
    report["largest difference from one device"] = check_against_reference(callback, weight_log, reference)

    two = fit(distributed, os.path.join(out, "whole-two-devices"), scope=data_parallel.scope())[0]
    one = fit(single, os.path.join(out, "whole-one-device"))[0]
    assert len(single.weights[0].value.sharding.device_set) == 1
    gap = largest_gap(two, one)
    assert gap < 1e-4, gap
    report["whole fit: largest activation difference, two devices vs one"] = gap
    write_report(out, "jax_data_parallel", report)


if __name__ == "__main__":
    main()
