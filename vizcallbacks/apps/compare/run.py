"""One training run per configuration and seed, each in a fresh process: `run_one`
(module level, so that a spawned process can import it) trains one model and writes
``DIR/runs/<name>/``: its panels, their manifest and ``run.json``. Where runs go (local
processes, a Dask cluster) is the executors' business (`executors.py`).

A run is four steps: its data (`_RunData`), the model and its plotter, the updates with a
capture at each point of the schedule (`_train`, `_Captures`), each capture handed by a
`_Recorder` to a `FramePipeline` whose sinks write the panel PNG, then its manifest line
(and, when asked for, the panel and figures into TensorBoard), as the callback's frames go.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import pickle
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...framefiles import MANIFEST_NAME, write_atomically
from ...render.style import FrameStyle
from ..trackers import Trackers
from .backends import prepare_process
from .configs import Config
from .schedule import PANELS_DIR, Schedule, heldout_indices, training_order

__all__ = ["RunOptions", "RunSpec", "run_one", "run_from_stdin", "run_pipeline", "panel_record", "RUN_JSON",
           "TENSORBOARD_SCALARS"]

#: Each run's figures and fingerprints, in its folder.
RUN_JSON = "run.json"


@dataclass(frozen=True)
class RunOptions:
    """What every run of a comparison shares, so that runs differ by their configuration
    and seed alone; picklable, as it travels to each run's process.

    Args:
        schedule: when every run captures, and how much data it reads.
        dataset: "mnist" or "fashion_mnist".
        data_dir: where the dataset is, or None to look where `load_dataset` looks.
        heldout_seed: the seed of the held-out sample, the same for every run.
        heldout_size: how many test images each capture evaluates on.
        image_indices: the test images each panel shows.
        style: how the panels look (the class names are the dataset's unless given).
        threads_per_run: the backend's threads; results depend on it.
        progress: show a progress bar on stderr.
        backend: the Keras backend every run uses (see `backends.BACKENDS`).
        tensorboard_dir: a folder for TensorBoard's logs, the run's in `<name>/`; None for none.
        trackers: the experiment trackers each run is logged to (`apps.trackers.Trackers`),
            under its name; None for none.
        dynamics: measure the run's learning dynamics into its `dynamics.json`.
    """

    schedule: Schedule
    dataset: str
    data_dir: str | None
    heldout_seed: int
    heldout_size: int
    image_indices: tuple[int, ...]
    style: FrameStyle
    threads_per_run: int
    progress: bool
    backend: str = "tensorflow"
    tensorboard_dir: str | None = None
    trackers: Trackers | None = None
    dynamics: bool = False


#: A run's figures written as TensorBoard scalars, under their manifest names.
TENSORBOARD_SCALARS = ("heldout_accuracy", "heldout_loss", "train_accuracy", "train_loss")
# TensorBoard's step for each alignment: the runs' curves and images line up on it. Seconds
# are no step (an integer), so runs aligned by time keep their own update count.
_STEP_KEYS = {"examples": "examples_seen", "steps": "step", "time": "step"}


@dataclass(frozen=True)
class RunSpec:
    """One run: its configuration, seed and place, and the options every run shares.

    Args:
        name: the run's name, e.g. "bs32" or "bs32-seed1", and its folder's.
        config: what it trains with (batch size, learning rate, optimizer).
        seed: its initial weights' and example order's seed.
        position: the run's line for its progress bar.
        run_dir: the folder the run writes.
        options: what every run shares.
    """

    name: str
    config: Config
    seed: int
    position: int
    run_dir: str
    options: RunOptions

    @property
    def batch_size(self) -> int:
        """The run's examples per update."""
        return self.config.batch_size

    @property
    def steps(self) -> int:
        """The updates this run makes to read the schedule's examples."""
        return self.options.schedule.steps_for(self.batch_size)


def _digest(*arrays) -> str:
    hasher = hashlib.sha1()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()[:16]


def _scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) as the model takes them: (N, 28, 28, 1), 0..1."""
    return images[..., None] / np.float32(255)


def _epoch(examples_seen: int, train_count: int) -> int:
    """The data epoch an example count falls in, from 1."""
    return max(1, math.ceil(examples_seen / train_count))


@dataclass(frozen=True)
class _RunData:
    """What one run reads, the same for every run of a comparison: the training set and the
    order of its examples, the held-out sample, and the images the panels show."""

    x_train: np.ndarray
    y_train: np.ndarray
    order: np.ndarray
    heldout: np.ndarray
    x_heldout: np.ndarray
    y_heldout: np.ndarray
    panel_images: np.ndarray
    panel_labels: np.ndarray
    class_names: tuple[str, ...]

    @classmethod
    def load(cls, spec: RunSpec) -> _RunData:
        from ...demos.datasets import load_dataset

        options = spec.options
        (x_train, y_train), (x_test, y_test), class_names = load_dataset(options.dataset, data_dir=options.data_dir)
        heldout = heldout_indices(options.heldout_seed, len(x_test), options.heldout_size)
        shown = list(options.image_indices)
        return cls(x_train=x_train, y_train=y_train,
                   order=training_order(spec.seed, len(x_train), spec.steps * spec.batch_size),
                   heldout=heldout, x_heldout=_scaled(x_test[heldout]), y_heldout=y_test[heldout],
                   panel_images=_scaled(x_test[shown]), panel_labels=y_test[shown], class_names=class_names)

    def batch(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The examples of update `step` (from 1), scaled for the model."""
        chosen = self.order[(step - 1) * batch_size:step * batch_size]
        return _scaled(self.x_train[chosen]), self.y_train[chosen]


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


class _Captures:
    """The points one run captures at, in order: which one each step reaches."""

    def __init__(self, schedule: Schedule, batch_size: int):
        self.by_steps = schedule.align == "steps"
        self.batch_size = batch_size
        self.points = schedule.run_points(batch_size)
        self.next_point = 0

    def due(self, step: int) -> int | None:
        """The point this step reaches, if any (the last one, if it passes several)."""
        key = step if self.by_steps else step * self.batch_size
        reached = None
        while self.next_point < len(self.points) and key >= self.points[self.next_point]:
            reached = self.points[self.next_point]
            self.next_point += 1
        return reached


class _Recorder:
    """Keeps a run's figures as it trains (training time, running loss and accuracy) and
    hands each capture to the run's frame pipeline: held-out figures and the forward pass
    here, in the training thread; the panel drawn and sent to the sinks (panel PNG, then
    its manifest line; TensorBoard) by the pipeline."""

    def __init__(self, spec: RunSpec, model, plotter, data: _RunData):
        from tqdm import tqdm

        self.model, self.plotter, self.data = model, plotter, data
        self.batch_size = spec.batch_size
        self.align = spec.options.schedule.align
        self.points = 0
        self.running = _RunningMean()
        self.train_seconds = 0.0
        self.bar = tqdm(total=spec.steps, position=spec.position,
                        desc=f"{spec.name:>6}", unit="step", file=sys.stderr, leave=True, dynamic_ncols=True,
                        disable=not spec.options.progress)
        from ...record import ActivationRecorder

        self.store = ActivationRecorder(spec.run_dir, plotter, labels=data.panel_labels)
        self.store.start(overwrite=True)  # the run's folder is this run's alone
        self.tracked, self.dynamics = _dynamics(spec, model, data) if spec.options.dynamics else (None, None)
        first = [self.store] + ([] if self.dynamics is None else [self.dynamics])
        self.pipeline = run_pipeline(spec, functools.partial(_draw_panel, plotter, self.store, self.dynamics),
                                     first=first)

    def trained(self, step: int, logs: Mapping, seconds: float) -> None:
        """Count update `step`, which took `seconds` and reported `logs`."""
        if step > 1:  # the first update is mostly the one-off tracing of the training graph
            self.train_seconds += seconds
        self.running.add(_epoch(step * self.batch_size, len(self.data.x_train)), logs, self.batch_size)
        self.bar.update()

    def capture(self, step: int, point: int, *, final: bool) -> None:
        """Evaluate on the held-out sample, start the panel's forward pass, hand both on."""
        examples_seen = step * self.batch_size
        heldout_logs = self.model.test_on_batch(self.data.x_heldout, self.data.y_heldout, return_dict=True)
        index = self.points
        fields = {
            "index": index, "point": point, "step": step, "examples_seen": examples_seen,
            "epoch": _epoch(examples_seen, len(self.data.x_train)),
            "epochs": round(examples_seen / len(self.data.x_train), 6),
            "time_s": round(self.train_seconds, 4),
            "heldout_accuracy": float(heldout_logs["accuracy"]),
            "heldout_loss": float(heldout_logs["loss"]),
            "train_accuracy": self.running.value("accuracy"),
            "train_loss": self.running.value("loss"),
            "final": final,
        }
        record = panel_record(fields, align=self.align, wall_time=time.time())  # non-finite figures: null
        tracked = None if self.tracked is None else self.tracked.dispatch()
        self.pipeline.submit((self.plotter.dispatch(), tracked, record))
        self.points += 1
        if record.heldout_accuracy is not None:
            self.bar.set_postfix_str(f"held-out acc {record.heldout_accuracy:.3f}", refresh=False)

    def close(self) -> None:
        try:
            self.pipeline.close()
        finally:
            self.bar.close()


def panel_record(fields: Mapping, *, align: str, wall_time: float | None = None):
    """A capture's record: its panel's name (`p<index>.png`), its manifest line, and its
    step for TensorBoard (examples seen when aligned by examples, else updates).

    Args:
        fields: the manifest line's figures, "index" among them.
        align: the comparison's alignment.
        wall_time: when the panel was captured; None for when it is sent.

    Returns:
        A `sinks.NamedRecord`.
    """
    from ...sinks.base import NamedRecord

    return NamedRecord(f"p{fields['index']:04d}.png", fields, step=fields[_STEP_KEYS[align]], wall_time=wall_time)


def run_pipeline(spec: RunSpec, render, *, background: bool = False, first=()):
    """A run's frame pipeline: its panels sent to the panel PNGs, then the manifest, and to
    TensorBoard and the experiment trackers when asked for. Drawn in the caller's thread by
    default, in order: the run's threads are the comparison's to measure.

    Args:
        spec: the run.
        render: makes (panel, record) from what is submitted.
        background: draw in a worker thread.
        first: sinks sent each panel before the others (the run's activation store).

    Returns:
        The `FramePipeline`, its sinks open.
    """
    from ...pipeline import FramePipeline
    from ...sinks import frame_sinks
    from ...sinks.tensorboard import TensorBoardSink

    run_dir = Path(spec.run_dir)
    views = ([] if spec.options.tensorboard_dir is None else
             [TensorBoardSink(Path(spec.options.tensorboard_dir) / spec.name, tag="panel",
                              scalars=TENSORBOARD_SCALARS)])
    if spec.options.trackers:
        views += spec.options.trackers.sinks(run_dir, run_name=spec.name)
    sinks = frame_sinks(run_dir / PANELS_DIR, run_dir / MANIFEST_NAME, overwrite=True, append=False, then=views)
    return FramePipeline(render, [*first, *sinks], background=background)


def _dynamics(spec: RunSpec, model, data: _RunData) -> tuple:
    """The run's tracked passes and its dynamics sink: the same tracked examples in every
    run of the comparison (drawn with its first seed)."""
    from ...analysis.options import Dynamics
    from ...analysis.sink import DynamicsSink
    from ...capture.tracked import TrackedPass

    dynamics = Dynamics(data.x_train, data.y_train, seed=spec.options.heldout_seed)
    tracked = TrackedPass(model, _scaled(data.x_train[dynamics.tracked_indices()]),
                          probe_examples=dynamics.probe_examples)
    return tracked, DynamicsSink(spec.run_dir, dynamics, layers=tracked.layers, shown_labels=data.panel_labels)


def _draw_panel(plotter, store, dynamics, job) -> tuple:
    """A capture's panel (unstamped: the movie titles it) and its record, its activations
    kept in the run's store first (and its dynamics observed, when measured)."""
    from ...render import Stamp

    pending, tracked, record = job
    activations = pending.result()
    store.hold(record, activations)
    if dynamics is None:
        return plotter.render(activations, Stamp()), record
    frame_dynamics = dynamics.observe(record.step, activations, tracked.result())
    return plotter.render(activations, Stamp(), dynamics=frame_dynamics), record


def _train(spec: RunSpec, model, data: _RunData, recorder: _Recorder) -> None:
    """The updates, each on the next `batch_size` examples of the common order, with a
    capture at the start and at every point of the schedule the run reaches."""
    captures = _Captures(spec.options.schedule, spec.batch_size)
    recorder.capture(0, captures.due(0), final=False)
    for step in range(1, spec.steps + 1):
        tick = time.perf_counter()
        logs = model.train_on_batch(*data.batch(step, spec.batch_size), return_dict=True)
        recorder.trained(step, logs, time.perf_counter() - tick)
        point = captures.due(step)
        if point is not None:  # the last step always reaches the last point
            recorder.capture(step, point, final=step == spec.steps)


def run_one(spec: RunSpec) -> dict:
    """Train one model and write DIR/runs/<name>/: panels/*.png, their manifest, run.json.
    Call it in a fresh process: it sets up the backend (threads, deterministic ops) first.

    Args:
        spec: the run.

    Returns:
        What run.json holds: the run's figures and the fingerprints (initial weights,
        example order, held-out sample) that show the runs were compared fairly.
    """
    options, config = spec.options, spec.config
    settings = prepare_process(options.backend, options.threads_per_run)
    from ...demos.models import default_cnn
    from ...plotter import ConvPlotter

    started = time.perf_counter()
    data = _RunData.load(spec)
    model = default_cnn(seed=spec.seed, optimizer=config.optimizer, learning_rate=config.learning_rate)
    initial_weights = _digest(*model.get_weights())
    style = options.style if options.style.class_names else options.style.replace(class_names=data.class_names)
    if options.dynamics:  # every panel keeps room for its timelines and dead fractions
        style = style.replace(show_dynamics=True)
    plotter = ConvPlotter(model, data.panel_images, labels=data.panel_labels, style=style, record="drawable")
    recorder = _Recorder(spec, model, plotter, data)
    try:
        _train(spec, model, data, recorder)
    finally:
        recorder.close()
    summary = {
        "name": spec.name, "config": config.name, "seed": spec.seed, "batch_size": spec.batch_size,
        "learning_rate": config.learning_rate, "optimizer": config.optimizer, "steps": spec.steps,
        "examples_seen": spec.steps * spec.batch_size, "train_seconds": round(recorder.train_seconds, 3),
        "wall_seconds": round(time.perf_counter() - started, 3), "points": recorder.points,
        "initial_weights_sha1": initial_weights,
        "data_order_sha1": _digest(data.order[:options.schedule.budget_examples]),
        "heldout_sha1": _digest(data.heldout), "backend": options.backend,
        "threads_per_run": options.threads_per_run, "backend_settings": settings,
        "layers": [view.name for view in plotter.views], "image_indices": list(options.image_indices),
    }
    if recorder.dynamics is not None:
        summary["dynamics"] = recorder.dynamics.headline()
    write_atomically(Path(spec.run_dir) / RUN_JSON, (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def run_from_stdin() -> None:
    """A run in a process of its own, its pickled `RunSpec` read from stdin; what it
    returns is in its folder's run.json. What an executor without a process pool starts:
    `python -c "from vizcallbacks.apps.compare.run import run_from_stdin; run_from_stdin()"`."""
    run_one(pickle.loads(sys.stdin.buffer.read()))
