"""Render and write frames in a background thread, so that training goes on meanwhile.

The queue is bounded: when rendering falls behind, `submit` waits (back-pressure)
instead of dropping frames, and frames leave in the order they came. An error in the
worker is raised in the caller's thread at the next `submit` or at `close`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

__all__ = ["FramePipeline"]

_STOP = object()


class FramePipeline:
    """`submit(*args, record)` calls `render(*args)` and sends the frame with its record
    to every sink, in a worker thread (`background=True`) or at once.

    >>> pipeline = FramePipeline(renderer.render, [FrameStore("frames")])
    >>> pipeline.submit(activations, stamp, record=record)
    >>> pipeline.close()        # waits for every frame, then closes the sinks
    """

    def __init__(self, render: Callable, sinks: Sequence, *, background: bool = True,
                 queue_size: int = 4):
        self.render = render
        self.sinks = list(sinks)
        self.background = background
        self.frames_sent = 0
        self._error: BaseException | None = None
        self._closed = False
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=queue_size)
            # Daemon, so that a crashed training script can still exit; close() and
            # the callback's finalizer drain it on every orderly path.
            self._worker = threading.Thread(target=self._work, name="vizcallbacks-frames", daemon=True)
            self._worker.start()

    def submit(self, *args, record) -> None:
        self._raise_worker_error()
        if self._closed:
            raise RuntimeError("FramePipeline is closed; no more frames can be submitted.")
        if self._queue is None:
            self._process(args, record)
        else:
            self._queue.put((args, record))

    def _process(self, args, record) -> None:
        frame = self.render(*args)
        for sink in self.sinks:
            sink.send(frame, record)
        self.frames_sent += 1

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is None:  # after an error, drain without working
                    self._process(*item)
            except BaseException as error:  # handed to the training thread
                self._error = error
            finally:
                self._queue.task_done()

    def _raise_worker_error(self) -> None:
        # The worker's own exception, type kept: a FileExistsError or a full disk reads
        # the same as it would have without the thread.
        if self._error is not None:
            error, self._error = self._error, None
            if hasattr(error, "add_note"):
                error.add_note("(raised while drawing or writing a frame in the background)")
            raise error

    def close(self) -> None:
        """Finish every submitted frame, then close every sink (even after an error)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._worker is not None:
                self._queue.put(_STOP)
                self._worker.join()
        finally:
            errors = []
            for sink in self.sinks:
                try:
                    sink.close()
                except BaseException as error:  # close the others all the same
                    errors.append(error)
            self._raise_worker_error()
            if errors:
                raise errors[0]
