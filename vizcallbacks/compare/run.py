"""One training run per batch size, each in a fresh 'spawn' process: `_run_all` starts
them; `_run_one` (module level, so that a spawned process can import it) trains one
model and writes ``DIR/runs/<name>/``: its panels, ``frames.jsonl`` and ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .schedule import MANIFEST_NAME, Schedule, heldout_indices, training_order


@dataclass(frozen=True)
class _RunSpec:
    """Everything a run process needs; picklable."""

    name: str
    batch_size: int
    position: int
    run_dir: str
    schedule: Schedule
    dataset: str
    data_dir: str | None
    seed: int
    optimizer: str
    learning_rate: float
    heldout_size: int
    image_indices: tuple[int, ...]
    layers: tuple[str, ...]
    channel: int
    cell_px: int
    cmap: str
    threads_per_run: int
    progress: bool


def _digest(*arrays) -> str:
    hasher = hashlib.sha1()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()[:16]


def _set_up_backend(seed: int, threads: int) -> None:
    """Seeds, deterministic ops and a fixed thread count. The count changes the float
    results (reductions split differently), so it is the same whatever `jobs` is."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


class _RunningMean:
    """Training loss and accuracy averaged over the current epoch's batches, as Keras's
    progress bar shows them; reset when a new data epoch starts."""

    def __init__(self):
        self.epoch, self.count, self.sums = None, 0, {}

    def add(self, epoch: int, logs: Mapping, weight: int) -> None:
        if epoch != self.epoch:
            self.epoch, self.count, self.sums = epoch, 0, {}
        self.count += weight
        for key in ("loss", "accuracy"):
            if key in logs:
                self.sums[key] = self.sums.get(key, 0.0) + float(logs[key]) * weight

    def value(self, key: str) -> float | None:
        return self.sums[key] / self.count if self.count and key in self.sums else None


def _finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def _run_one(spec: _RunSpec) -> dict:
    """Train one model and write DIR/runs/<name>/: panels/*.png, frames.jsonl, run.json.
    Returns what run.json holds."""
    _set_up_backend(spec.seed, spec.threads_per_run)
    from PIL import Image
    from tqdm import tqdm

    from ..activations import ActivationProbe
    from ..datasets import load_dataset
    from ..models import default_cnn
    from ..render import GridRenderer, Stamp

    started = time.perf_counter()
    (x_train, y_train), (x_test, y_test), class_names = load_dataset(spec.dataset, data_dir=spec.data_dir)
    schedule, batch_size = spec.schedule, spec.batch_size
    steps = schedule.steps_for(batch_size)
    order = training_order(spec.seed, len(x_train), steps * batch_size)
    heldout = heldout_indices(spec.seed, len(x_test), spec.heldout_size)
    x_heldout = x_test[heldout][..., None] / np.float32(255)
    y_heldout = y_test[heldout]
    panel_images = x_test[list(spec.image_indices)][..., None] / np.float32(255)

    model = default_cnn(seed=spec.seed, optimizer=spec.optimizer, learning_rate=spec.learning_rate)
    initial_weights = _digest(*model.get_weights())
    probe = ActivationProbe(model, layers=list(spec.layers))
    renderer = GridRenderer(probe.views, panel_images, labels=y_test[list(spec.image_indices)],
                            class_names=class_names, channels=(spec.channel,), channels_per_image=1,
                            cell_px=spec.cell_px, cmap=spec.cmap)

    run_dir = Path(spec.run_dir)
    (run_dir / "panels").mkdir(parents=True, exist_ok=True)
    points = schedule.run_points(batch_size)
    next_point = 0
    running = _RunningMean()
    train_seconds = 0.0
    records = []
    bar = tqdm(total=steps, position=spec.position, desc=f"{spec.name:>6}", unit="step",
               file=sys.stderr, leave=True, dynamic_ncols=True, disable=not spec.progress)

    def capture(step: int, point: int, final: bool) -> None:
        examples_seen = step * batch_size
        heldout_logs = model.test_on_batch(x_heldout, y_heldout, return_dict=True)
        panel = renderer.render(probe(panel_images), Stamp())
        file = f"panels/p{len(records):04d}.png"
        Image.fromarray(panel).save(run_dir / file, format="PNG", compress_level=1)
        record = {
            "file": file, "index": len(records), "point": point, "step": step,
            "examples_seen": examples_seen,
            "epoch": max(1, math.ceil(examples_seen / len(x_train))),
            "epochs": round(examples_seen / len(x_train), 6),
            "time_s": round(train_seconds, 4),
            "heldout_accuracy": _finite_or_none(float(heldout_logs["accuracy"])),
            "heldout_loss": _finite_or_none(float(heldout_logs["loss"])),
            "train_accuracy": _finite_or_none(running.value("accuracy")),
            "train_loss": _finite_or_none(running.value("loss")),
            "final": final,
        }
        records.append(record)
        manifest.write(json.dumps(record) + "\n")
        manifest.flush()
        if record["heldout_accuracy"] is not None:
            bar.set_postfix_str(f"held-out acc {record['heldout_accuracy']:.3f}", refresh=False)

    def due(step: int) -> int | None:
        """The point this step reaches, if any (the last one, if it passes several)."""
        nonlocal next_point
        key = step if schedule.align == "steps" else step * batch_size
        reached = None
        while next_point < len(points) and key >= points[next_point]:
            reached = points[next_point]
            next_point += 1
        return reached

    with open(run_dir / MANIFEST_NAME, "w", encoding="utf-8") as manifest, bar:
        capture(0, due(0), final=False)
        for step in range(1, steps + 1):
            batch = order[(step - 1) * batch_size:step * batch_size]
            tick = time.perf_counter()
            logs = model.train_on_batch(x_train[batch][..., None] / np.float32(255), y_train[batch],
                                        return_dict=True)
            if step > 1:  # the first update is mostly the one-off tracing of the training graph
                train_seconds += time.perf_counter() - tick
            running.add(max(1, math.ceil(step * batch_size / len(x_train))), logs, batch_size)
            bar.update()
            point = due(step)
            if point is not None:  # the last step always reaches the last point
                capture(step, point, final=step == steps)

    summary = {
        "name": spec.name, "batch_size": batch_size, "steps": steps,
        "examples_seen": steps * batch_size, "train_seconds": round(train_seconds, 3),
        "wall_seconds": round(time.perf_counter() - started, 3), "points": len(records),
        "initial_weights_sha1": initial_weights, "data_order_sha1": _digest(order[:schedule.budget_examples]),
        "heldout_sha1": _digest(heldout), "threads_per_run": spec.threads_per_run,
        "layers": [view.name for view in probe.views], "image_indices": list(spec.image_indices),
    }
    (run_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _init_worker(lock) -> None:
    from tqdm import tqdm

    tqdm.set_lock(lock)  # the bars of all runs share one terminal


def _run_all(specs: Sequence[_RunSpec], jobs: int) -> list[dict]:
    """Each run in a fresh 'spawn' process (TensorFlow is not fork-safe; a fresh process
    per run makes a run's result the same whatever ran before it in that process)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = context.Pool(processes=jobs, maxtasksperchild=1, initializer=_init_worker,
                        initargs=(context.RLock(),))
    try:
        pending = [pool.apply_async(_run_one, (spec,)) for spec in specs]
        results = [task.get() for task in pending]
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results
