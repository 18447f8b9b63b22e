"""Ctrl-C that stops `fit` between two batches instead of wherever it lands.

Python turns SIGINT into a KeyboardInterrupt at whatever line the main thread runs next.
When that line is in a finalizer (a `__del__` the garbage collector runs in the middle of
`fit`; TensorFlow has many, some with a bare `except:`), the exception cannot reach `fit`
and the key press is lost. This project's Ctrl-C test saw it under TensorFlow, twice in a
row on an idle machine: a minute after Ctrl-C, the main thread was still training
(every thread's stack, dumped by the test) and nothing had been printed.

`stop_fit_on_interrupt` handles SIGINT itself while `fit` runs: the handler only sets
`model.stop_training`, which Keras reads after every batch, so the first Ctrl-C always
ends the fit at the next batch, `on_train_end` included (the callback's last frame and
finished movies); then the KeyboardInterrupt is raised where nothing can swallow it, when
the block ends. A second Ctrl-C raises at once, as Python would.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["stop_fit_on_interrupt"]


@contextlib.contextmanager
def stop_fit_on_interrupt(model) -> Iterator[None]:
    """While the block runs, the first Ctrl-C (SIGINT) stops `model.fit` after the current
    batch and the block ends with KeyboardInterrupt; a second one raises at once.

    >>> with stop_fit_on_interrupt(model):
    ...     model.fit(x, y, callbacks=[viz])   # Ctrl-C: the last frame and movies are finished

    Only where Python's own handler is in place, in the main thread (signals are handled
    there only); elsewhere, or under a handler someone else installed, the block runs as
    it is.

    Args:
        model: the model whose `fit` runs in the block.

    Raises:
        KeyboardInterrupt: at the end of the block, when Ctrl-C was pressed during it.
    """
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    pressed = []

    def stop(signum, frame):
        if pressed:  # a second Ctrl-C: the user does not want to wait for the batch
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        pressed.append(signum)
        model.stop_training = True

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt("stopped by Ctrl-C after the current batch")
