"""When the callback takes a frame, and the figures that go with it.

Two small pieces the callback's hooks hand off to, each testable alone:

- `FrameSchedule` decides which batches get a frame: batch 0 and every
  `every_n_batches`-th batch of each epoch. With `compile(steps_per_execution=k)`
  Keras calls the batch hooks once per k batches; a frame then falls at the first
  hook at or after each multiple, and says which multiple it stands for.
- `LogBook` holds the figures Keras reports after each batch (`logs`) until the frame
  of that batch is drawn. The callback is `async_safe`, so on JAX and PyTorch Keras may
  call `on_train_batch_end` from its own worker threads, after the training thread
  has moved on; the frame's drawing waits for its batch's figures here instead.
"""

from __future__ import annotations

import threading
import warnings

__all__ = ["FrameSchedule", "LogBook"]


class FrameSchedule:
    """Batch 0 and every `every_n_batches`-th batch of each epoch get a frame.

    Args:
        every_n_batches: the interval, in batches.

    >>> schedule = FrameSchedule(every_n_batches=20)
    >>> schedule.start_epoch()
    >>> [schedule.due(batch) for batch in (0, 7, 15, 23)]   # hooks every 8 batches
    [0, None, None, 20]
    """

    def __init__(self, every_n_batches: int):
        self.every_n_batches = every_n_batches
        self._last_batch = -1

    def start_epoch(self) -> None:
        """Count batches from 0 again."""
        self._last_batch = -1

    def due(self, last_batch: int) -> int | None:
        """The multiple of `every_n_batches` that training reached since the last call.

        Args:
            last_batch: the index of the last batch trained so far in this epoch.

        Returns:
            That multiple (the latest one, if several were passed), or None.
        """
        previous, self._last_batch = self._last_batch, last_batch
        every = self.every_n_batches
        if last_batch // every > previous // every:  # -1 // every == -1: batch 0 is due
            return last_batch // every * every
        return None


class LogBook:
    """`logs` per (epoch, batch), handed from Keras's hook threads to the drawing thread.

    Args:
        keep: how many batches' figures are kept; older ones are forgotten (a frame
            waits for at most the last few).
    """

    def __init__(self, keep: int = 4096):
        self.keep = keep
        self._logs: dict[tuple[int, int], dict] = {}
        self._changed = threading.Condition()
        self._timed_out = False

    def put(self, epoch: int, batch: int, logs: dict | None) -> None:
        """Note a batch's figures.

        Args:
            epoch: the 0-based epoch, as Keras's hooks count.
            batch: the batch index within the epoch.
            logs: what Keras passed to `on_train_batch_end`.
        """
        with self._changed:
            self._logs[(epoch, batch)] = dict(logs or {})
            while len(self._logs) > self.keep:
                del self._logs[next(iter(self._logs))]
            self._changed.notify_all()

    def get(self, epoch: int, batch: int, *, timeout_s: float = 30.0) -> dict:
        """The figures of a batch, waiting for Keras to report them.

        Args:
            epoch: the 0-based epoch.
            batch: the batch index within the epoch.
            timeout_s: how long to wait; then {} (a custom loop that calls no
                `on_train_batch_end`).

        Returns:
            A copy of that batch's `logs`; {} after the timeout, said once in a warning.
        """
        with self._changed:
            if self._changed.wait_for(lambda: (epoch, batch) in self._logs, timeout=timeout_s):
                return dict(self._logs[(epoch, batch)])
        if not self._timed_out:
            self._timed_out = True
            warnings.warn(f"no figures came for epoch {epoch + 1}, batch {batch} in {timeout_s:g} s "
                          "(on_train_batch_end was not called): frames without them are stamped with none.",
                          stacklevel=2)
        return {}

    def last_batch(self, epoch: int) -> int | None:
        """The last batch of an epoch reported so far.

        Args:
            epoch: the 0-based epoch.

        Returns:
            Its index, or None when no batch of that epoch was reported.
        """
        with self._changed:
            batches = [batch for (e, batch) in self._logs if e == epoch]
        return max(batches) if batches else None
