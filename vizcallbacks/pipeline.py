"""Render and write frames in a background thread, so that training goes on meanwhile; and
the one place the fault policy lives: a frame is never the reason a training run dies.

The pipeline holds the sinks' protocol (see `vizcallbacks.sinks.Sink`): it opens every sink
when it is made, sends each frame to every sink in order, and finishes them all at `close`.
The queue is bounded: when rendering falls behind, `submit` waits (back-pressure) instead of
dropping frames, and frames leave in the order they came.

The fault policy (`on_error`). An error while drawing a frame, or in a sink (a full disk,
a write refused, a movie encoder that died), is a *fault*:

- the sink that failed gets no more frames (it is aborted: a half movie is not kept); when
  drawing failed, or no sink is left, no more frames are drawn, so what each sink holds has
  no gap;
- training goes on; the fault is said once, in a `FrameFaultWarning` from the training
  thread (`on_error="warn"`), naming what failed, at which frame, and what was kept where;
- with `on_error="raise"` the first fault's own exception (type kept, with what was kept in
  its notes) is raised by `close`, at the end of training, instead of the warning.

Errors in opening the sinks, before the first frame, are raised at once: they are mistakes
to fix before training (a folder that cannot be written), not faults.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .sinks.base import Sink

__all__ = ["FramePipeline", "Fault", "FrameFaultWarning", "ON_ERROR", "check_on_error"]

_STOP = object()

#: What `on_error` may be.
ON_ERROR = ("warn", "raise")


class FrameFaultWarning(UserWarning):
    """A frame could not be drawn or written; training went on (see `FramePipeline`)."""


def check_on_error(on_error) -> str:
    """`on_error`, once known to be one of `ON_ERROR`.

    Args:
        on_error: what the caller received.

    Raises:
        ValueError: anything else; the message lists the valid values.
    """
    if not isinstance(on_error, str) or on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(repr(v) for v in ON_ERROR)}: 'warn' lets training "
                         "go on and warns once when a frame cannot be drawn or written, 'raise' also raises "
                         f"that error when training ends. Received: on_error={on_error!r}.")
    return on_error


@dataclass(frozen=True)
class Fault:
    """A fault the pipeline met: what failed, when, and what was kept.

    Args:
        what: what failed: "drawing", or the sink that failed.
        error: the exception.
        frame: the number of the frame it failed on, from 1 (0: while finishing).
        position: where training stood ("epoch 1, batch 52"), or "".
        kept: what each sink holds, in words.
        stopped_all: whether no more frames are drawn after it (drawing failed, or no
            sink is left).
        elsewhere: whether what failed only copied frames elsewhere (`Sink.copies_elsewhere`:
            a tracker, TensorBoard): the run's own files are whole.
    """

    what: str
    error: BaseException
    frame: int
    position: str
    kept: str
    stopped_all: bool = False
    elsewhere: bool = False

    def message(self, owner: str) -> str:
        """The fault in one paragraph: what, when, why, and what was kept where.

        Args:
            owner: who speaks ("PlotConvCallback").
        """
        what = f"{owner}: {self.what} failed"
        error = f"{type(self.error).__name__}: {_one_line(self.error)}"
        if not self.frame:
            return f"{what} while finishing: {error}. Kept: {self.kept}."
        where = f" ({self.position})" if self.position else ""
        stopped = "no more frames are drawn" if self.stopped_all else "it gets no more frames"
        return f"{what} at frame {self.frame}{where}: {error}. Training goes on; {stopped}. Kept: {self.kept}."


class FramePipeline:
    """`submit(job)` calls `render(job)`, which returns a frame and its record, and sends
    them to every sink, in a worker thread (`background=True`) or at once.

    >>> pipeline = FramePipeline(draw, [PngSink("frames")])
    >>> pipeline.submit(capture)   # draw(capture) -> (frame, FrameRecord), in the worker
    >>> pipeline.close()           # waits for every frame, then finishes the sinks

    Args:
        render: makes `(frame, record)` from a job given to `submit`.
        sinks: `Sink` instances, sent every frame in this order; opened here, in order.
            If one fails to open, those opened so far (and it) are aborted and the error
            is raised.
        earlier: PNG paths of the frames a resumed run already made, for the sinks' `open`.
        background: render and send in a worker thread (True) or in the caller's.
        queue_size: how many submitted frames may wait for the worker.
        on_error: "warn" or "raise": what a fault does (see the module's docstring).
        owner: who the warnings and notes say speaks.

    Raises:
        TypeError: an item of `sinks` is not a `Sink`.
        ValueError: `on_error` is not valid.
    """

    def __init__(self, render: Callable, sinks: Sequence[Sink], *, earlier: Sequence[Path] = (),
                 background: bool = True, queue_size: int = 4, on_error: str = "warn",
                 owner: str = "FramePipeline"):
        self.render = render
        self.sinks = list(sinks)
        for sink in self.sinks:
            if not isinstance(sink, Sink):
                raise TypeError(f"sinks must be vizcallbacks.sinks.Sink instances. Received: {sink!r} "
                                f"({type(sink).__name__}).")
        self.on_error = check_on_error(on_error)
        self.owner = owner
        _open_all(self.sinks, earlier)
        self.background = background
        self.frames_sent = 0
        self.faults: list[Fault] = []
        self._said = 0  # faults warned about so far
        self._live = list(self.sinks)  # the sinks that still get frames
        self._taken = {id(sink): 0 for sink in self.sinks}  # frames each sink took
        self._drawing = True  # False once drawing failed or no sink is left
        self._error: BaseException | None = None  # an interrupt in the worker, for the caller
        self._failed = False  # set for good by an interrupt: stop drawing
        self._closed = False
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=queue_size)
            # Daemon, so that a crashed training script can still exit; close() and
            # the callback's finalizer drain it on every orderly path.
            self._worker = threading.Thread(target=self._work, name="vizcallbacks-frames", daemon=True)
            self._worker.start()

    @property
    def drawing(self) -> bool:
        """Whether frames are still drawn: no fault stopped them all."""
        return self._drawing

    def poll(self) -> None:
        """In the caller's (training) thread: warn about the faults not said yet.

        Raises:
            KeyboardInterrupt: an interrupt that reached the worker thread.
        """
        self._raise_worker_interrupt()
        self._say_faults()

    def submit(self, job) -> None:
        """Render a frame from `job` and send it with its record to every sink; waits while
        the queue is full. After a fault that stopped every frame, `job` is dropped.

        Args:
            job: what `render` takes.

        Raises:
            RuntimeError: the pipeline is closed.
            KeyboardInterrupt: an interrupt that reached the worker thread.
        """
        self.poll()
        if self._closed:
            raise RuntimeError("FramePipeline is closed; no more frames can be submitted.")
        if self._queue is None:
            self._process(job)
            self._say_faults()
        elif self._drawing:
            self._queue.put(job)

    def _process(self, job) -> None:
        if not self._drawing:
            return
        try:
            frame, record = self.render(job)
        except Exception as error:
            self._drawing = False
            self._fault("drawing", error, record=job)
            return
        taken = False
        for sink in list(self._live):
            try:
                sink.send(frame, record)
            except Exception as error:
                self._stop_sink(sink, error, record)
            else:
                self._taken[id(sink)] += 1
                taken = True
        self.frames_sent += taken

    def _stop_sink(self, sink: Sink, error: Exception, record) -> None:
        """`sink` failed: it gets no more frames, and what it began is not made final."""
        self._live.remove(sink)
        with contextlib.suppress(Exception):  # the send error is the one to report
            sink.abort()
        if all(live.follows_others for live in self._live):
            self._drawing = False  # nowhere left to write: stop drawing
        self._fault(_label(sink), error, record=record, failed=sink)

    def _fault(self, what: str, error: BaseException, *, record, failed: Sink | None = None,
               frame: int | None = None) -> None:
        frame = self.frames_sent + 1 if frame is None else frame
        position = _position(record)
        kept = "; ".join(_describe(sink, self._taken.get(id(sink), 0), failed=sink is failed)
                         for sink in self.sinks) or "nothing"
        self.faults.append(Fault(what=what, error=error, frame=frame, position=position, kept=kept,
                                 stopped_all=not self._drawing,
                                 elsewhere=failed is not None and failed.copies_elsewhere))

    def _say_faults(self) -> None:
        """In the caller's thread: warn once about each fault not said yet."""
        if self.on_error != "warn":
            return
        while self._said < len(self.faults):
            fault = self.faults[self._said]
            self._said += 1
            warnings.warn(FrameFaultWarning(fault.message(self.owner)), stacklevel=4)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if not self._failed:  # after an interrupt, drain without working
                    self._process(item)
            except BaseException as error:  # an interrupt: handed to the training thread
                self._error, self._failed, self._drawing = error, True, False
            finally:
                self._queue.task_done()

    def _raise_worker_interrupt(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Finish every submitted frame, then finish every sink (even after an error, so that
        what was sent is kept); calling it again does nothing. Interrupted while it waits
        (a second Ctrl-C), it draws no more frames and finishes the sinks with those sent.

        Raises:
            Exception: with `on_error="raise"`, the first fault's own error, the others
                noted on it. A fault in finishing a sink is a fault like any other.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._worker is not None:
                self._queue.put(_STOP)
                try:
                    self._worker.join()
                except BaseException:  # the sinks are finished only once the worker is out of them
                    self._failed = True
                    self._worker.join()
                    raise
        finally:
            self._finish_sinks()
            self._raise_worker_interrupt()
            self._say_faults()
            self._raise_first_fault()

    def _finish_sinks(self) -> None:
        for sink in list(self._live):
            try:
                sink.finish()
            except Exception as error:  # finish the others all the same
                self._live.remove(sink)
                self._fault(_label(sink), error, record=None, failed=sink, frame=0)

    def _raise_first_fault(self) -> None:
        if self.on_error != "raise" or not self.faults:
            return
        first, *others = self.faults
        _note(first.error, f"({first.message(self.owner)})")
        for other in others:
            _note(first.error, f"(also: {other.message(self.owner)})")
        raise first.error


def _position(item) -> str:
    """Where training stood, from a record (epoch from 1, batch) or a job that says it."""
    if isinstance(getattr(item, "position", None), str):
        return item.position
    if isinstance(getattr(item, "epoch", None), int) and isinstance(getattr(item, "batch", None), int):
        return f"epoch {item.epoch}, batch {item.batch}"
    return ""


def _one_line(error: BaseException) -> str:
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _label(sink: Sink) -> str:
    """A sink in words: its kind and where it writes."""
    describe = getattr(sink, "describe", None)
    if callable(describe):
        return describe()
    for attribute in ("path", "frames_dir", "log_dir", "manifest_path", "out_path"):
        value = getattr(sink, attribute, None)
        if value is not None:
            return f"{type(sink).__name__} '{value}'"
    return type(sink).__name__


def _describe(sink: Sink, frames: int, *, failed: bool) -> str:
    """What `sink` holds, in words: its own account (`describe_kept`) where it gives one."""
    describe = getattr(sink, "describe_kept", None)
    if callable(describe):
        return describe(frames, failed=failed)
    return f"{frames} frames in {_label(sink)}" + (" (it failed)" if failed else "")


def _note(error: BaseException | None, note: str) -> None:
    if error is not None and hasattr(error, "add_note"):  # Python 3.11 and later
        error.add_note(note)


def _open_all(sinks: Sequence[Sink], earlier: Sequence[Path]) -> None:
    """Open `sinks` in order; when one fails, abort it and those opened before it."""
    opened = []
    try:
        for sink in sinks:
            opened.append(sink)
            sink.open(earlier=list(earlier))
    except BaseException:
        for sink in reversed(opened):
            with contextlib.suppress(Exception):  # the error in open is the one to report
                sink.abort()
        raise
