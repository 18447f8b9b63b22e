"""One process of a two-process JAX fit under keras.distribution.DataParallel, with the real
callback (`keras.distribution.initialize` reads KERAS_DISTRIBUTION_* set by
test_distributed.py: a coordinator on 127.0.0.1, CPU collectives). Each process is given
its own output folder; only process 0's callback draws and writes frames, manifest and
movie, on its own device, the other's does nothing and creates nothing.

Writes <out>/reports/process<i>.json (the test's instruments, not the callback's) and
process<i>_weights.npz; process 0 also checks every frame's activations against a
one-device model holding the weights of that moment.

    python tests/distributed/multiworker_jax.py --out DIR
"""

import os

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402
import jax  # noqa: E402
import keras  # noqa: E402

from common import (BATCH, EPOCHS, SAMPLES, check_against_reference, expected_frames, fit,  # noqa: E402
                    out_dir, tiny_cnn, tiny_data, write_report)
from vizcallbacks.demos.models import set_random_seed  # noqa: E402  (keras's would start TensorFlow)


def main():
    out = out_dir()
    keras.distribution.initialize()
    set_random_seed(0)
    process, processes = jax.process_index(), jax.process_count()
    task = f"process{process}"
    data_parallel = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    data_parallel.auto_shard_dataset = False  # numpy input: each process feeds its own half
    with data_parallel.scope():
        model = tiny_cnn("dp", batchnorm=False)

    x, y = tiny_data()
    share = slice(process * len(x) // processes, (process + 1) * len(x) // processes)
    # Each process its own folder: the worker's must stay absent.
    callback, weight_log, history = fit(model, os.path.join(out, task), data=(x[share], y[share]),
                                        batch_size=BATCH // processes, scope=data_parallel.scope())

    reports = os.path.join(out, "reports")
    os.makedirs(reports, exist_ok=True)
    # Fully replicated: each process reads its own copy, no collective.
    np.savez(os.path.join(reports, f"{task}_weights.npz"),
             *[np.asarray(v.value.addressable_data(0)) for v in model.weights])
    report = dict(task=task, process_count=processes, global_devices=len(jax.devices()),
                  weights_fully_addressable=model.weights[0].value.is_fully_addressable,
                  frames_written=callback.frames_written, frames_drawn=callback.renderer_factory.order,
                  hook_ms=round(callback.hook_s * 1e3, 2), loss=history.history["loss"])
    if callback.frames_written:
        assert callback.renderer_factory.order == expected_frames(EPOCHS, SAMPLES // BATCH)
        keras.distribution.set_distribution(None)
        report["largest difference from one device"] = check_against_reference(
            callback, weight_log, tiny_cnn("one_device", batchnorm=False))
    write_report(reports, task, report)


if __name__ == "__main__":
    main()
