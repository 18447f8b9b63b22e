"""The range test's frames, on the one route every frame takes: `EveryBatch`, the test's own
*when* (one frame after every batch: the test trains one batch per epoch), captures through
a `ConvPlotter` whose renderer is the `LossStrip`'s and hands each capture to a
`FramePipeline`; the pipeline draws and sends it to the sinks (PNG, manifest, movies).
Once the suggestion is known, its frame is sent last (`Conclusion`): to the movies, which
end on it, and as ``suggestion.png``; the frames folder and its manifest keep the batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from ...framefiles import FrameRecord
from ...render import Stamp
from ...sinks.base import NamedRecord, Sink

__all__ = ["EveryBatch", "Conclusion", "draw", "batches_only", "conclusion_only"]


@dataclass(frozen=True)
class _Capture:
    pending: object  # the forward pass under way (`PendingActivations`)
    record: FrameRecord


@dataclass(frozen=True)
class Conclusion:
    """The last frame's job: the whole curve with the suggested range.

    Args:
        suggestion: what `rule.suggest` found.
    """

    suggestion: object


class EveryBatch(keras.callbacks.Callback):
    """Captures a frame at the end of every epoch of one batch and submits it to `pipeline`,
    with the record the callback would write (epoch and step from 1, batch 0).

    >>> frames = EveryBatch(plotter, pipeline, batch_size=64)
    >>> model.fit(x, y, batch_size=64, epochs=200, steps_per_epoch=1, callbacks=[..., frames])

    Args:
        plotter: the `ConvPlotter` (its renderer draws the loss strip).
        pipeline: the `FramePipeline` the captures go to (`draw` renders them).
        batch_size: the examples per batch, for `examples_seen`.
        clock: seconds, for the record's `time_s` and `wall_time`.
    """

    def __init__(self, plotter, pipeline, *, batch_size: int, clock: Callable[[], float] = time.time):
        super().__init__()
        self.plotter, self.pipeline, self.batch_size, self.clock = plotter, pipeline, batch_size, clock
        self._logs: dict = {}
        self._started = clock()

    def on_train_begin(self, logs=None):
        self._started = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        self._logs = dict(logs or {})

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        step = epoch + 1
        record = FrameRecord(epoch=step, batch=0, step=step, examples_seen=step * self.batch_size,
                             accuracy=_number(self._logs.get("accuracy")), loss=_number(self._logs.get("loss")),
                             time_s=round(now - self._started, 4), wall_time=now, due_batch=0)
        self.pipeline.submit(_Capture(self.plotter.dispatch(), record))


def _number(value) -> float | None:
    return None if value is None else float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def draw(plotter, store, job) -> tuple[np.ndarray, object]:
    """A job's frame and record, in the pipeline's thread: a batch's frame drawn from its
    forward pass, or the conclusion drawn by the loss strip from every batch before it.

    Args:
        plotter: the `ConvPlotter` whose renderer is a `LossStripRenderer`.
        store: the `ActivationRecorder` that keeps each batch's activations, or None.
        job: an `EveryBatch` capture, or a `Conclusion`.

    Returns:
        (frame, record); the conclusion's record is a `NamedRecord` "suggestion.png".
    """
    if isinstance(job, Conclusion):
        return plotter.renderer.conclude(job.suggestion), NamedRecord("suggestion.png", {}, step=0)
    record = job.record
    stamp = Stamp(epoch=record.epoch, batch=record.batch, accuracy=record.accuracy, loss=record.loss)
    activations = job.pending.result()
    if store is not None:  # written when the frame is sent to it, the first of the sinks
        store.hold(record, activations)
    return plotter.render(activations, stamp), record


class _Selected(Sink):
    """`sink`, sent only the frames whose record `keep` accepts."""

    def __init__(self, sink: Sink, keep: Callable[[object], bool]):
        self.sink, self.keep = sink, keep

    def open(self, *, earlier=()) -> None:
        self.sink.open(earlier=earlier)

    def send(self, frame, record) -> None:
        if self.keep(record):
            self.sink.send(frame, record)

    def finish(self) -> None:
        self.sink.finish()

    def abort(self) -> None:
        self.sink.abort()


def batches_only(sink: Sink) -> Sink:
    """`sink`, sent the batches' frames and not the conclusion (the frames folder, its manifest).

    Args:
        sink: the sink.
    """
    return _Selected(sink, lambda record: isinstance(record, FrameRecord))


def conclusion_only(sink: Sink) -> Sink:
    """`sink`, sent only the conclusion (``suggestion.png``).

    Args:
        sink: the sink.
    """
    return _Selected(sink, lambda record: isinstance(record, NamedRecord))
