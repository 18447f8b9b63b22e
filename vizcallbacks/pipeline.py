"""Render and write frames in a background thread, so that training goes on meanwhile.

The pipeline holds the sinks' protocol (see `vizcallbacks.sinks.Sink`): it opens every sink
when it is made, sends each frame to every sink in order, and finishes them all at `close`.
The queue is bounded: when rendering falls behind, `submit` waits (back-pressure) instead of
dropping frames, and frames leave in the order they came. An error in the worker is raised
in the caller's thread at the next `submit` or at `close`; the frames queued after it are
not drawn, so that what the sinks hold has no gap.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from .sinks.base import Sink

__all__ = ["FramePipeline"]

_STOP = object()


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

    Raises:
        TypeError: an item of `sinks` is not a `Sink`.
    """

    def __init__(self, render: Callable, sinks: Sequence[Sink], *, earlier: Sequence[Path] = (),
                 background: bool = True, queue_size: int = 4):
        self.render = render
        self.sinks = list(sinks)
        for sink in self.sinks:
            if not isinstance(sink, Sink):
                raise TypeError(f"sinks must be vizcallbacks.sinks.Sink instances. Received: {sink!r} "
                                f"({type(sink).__name__}).")
        _open_all(self.sinks, earlier)
        self.background = background
        self.frames_sent = 0
        self._error: BaseException | None = None
        self._failed = False  # set for good by an error, or a Ctrl-C in close: stop drawing
        self._closed = False
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=queue_size)
            # Daemon, so that a crashed training script can still exit; close() and
            # the callback's finalizer drain it on every orderly path.
            self._worker = threading.Thread(target=self._work, name="vizcallbacks-frames", daemon=True)
            self._worker.start()

    def submit(self, job) -> None:
        """Render a frame from `job` and send it with its record to every sink; waits while
        the queue is full.

        Args:
            job: what `render` takes.

        Raises:
            RuntimeError: the pipeline is closed.
            Exception: what rendering or a sink raised for an earlier frame, type kept.
        """
        self._raise_worker_error()
        if self._closed:
            raise RuntimeError("FramePipeline is closed; no more frames can be submitted.")
        if self._queue is None:
            self._process(job)
        else:
            self._queue.put(job)

    def _process(self, job) -> None:
        frame, record = self.render(job)
        for sink in self.sinks:
            sink.send(frame, record)
        self.frames_sent += 1

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if not self._failed:  # after an error, drain without working
                    self._process(item)
            except BaseException as error:  # handed to the training thread
                self._error, self._failed = error, True
            finally:
                self._queue.task_done()

    def _raise_worker_error(self) -> None:
        # The worker's own exception, type kept: a FileExistsError or a full disk reads
        # the same as it would have without the thread.
        if self._error is not None:
            error, self._error = self._error, None
            _note(error, "(raised while drawing or writing a frame in the background)")
            raise error

    def close(self) -> None:
        """Finish every submitted frame, then finish every sink (even after an error, so that
        what was sent is kept); calling it again does nothing. Interrupted while it waits
        (a second Ctrl-C), it draws no more frames and finishes the sinks with those sent.

        Raises:
            Exception: what rendering or a sink raised, after every sink is finished; the
            other errors are noted on it.
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
            errors = []
            for sink in self.sinks:
                try:
                    sink.finish()
                except BaseException as error:  # finish the others all the same
                    errors.append(error)
            if self._error is None and errors:
                first = errors.pop(0)
                for other in errors:
                    _note(first, f"(also, finishing another sink: {type(other).__name__}: {other})")
                raise first
            for other in errors:
                _note(self._error, f"(also, finishing a sink: {type(other).__name__}: {other})")
            self._raise_worker_error()


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
