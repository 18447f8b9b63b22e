"""`RangeTest`: the Keras callback that records the loss of every batch of a range test
and stops training where it diverged (see `rule.py`), instead of letting NaNs run on."""

from __future__ import annotations

import math
import sys

import keras

from .rule import DIVERGENCE_FACTOR, SMOOTHING, LearningRateRange, divergence_step, smooth

__all__ = ["RangeTest"]


class RangeTest(keras.callbacks.Callback):
    """Records each batch's learning rate and loss during a range test that trains one
    batch per epoch (the learning rate set by `keras.callbacks.LearningRateScheduler`),
    and stops training at the batch where it diverged.

    >>> test = RangeTest(LearningRateRange(1e-4, 10, 200))
    >>> model.fit(x, y, batch_size=64, epochs=200, steps_per_epoch=1, callbacks=[
    ...     keras.callbacks.LearningRateScheduler(test.lr_range), test])
    >>> test.losses[:3], test.diverged_step

    Args:
        lr_range: the learning rate of each batch.
        smoothing: the smoothed loss's weight of the past.
        divergence_factor: k in "smoothed loss above k x its lowest".
        progress: show a progress bar on stderr.
    """

    def __init__(self, lr_range: LearningRateRange, *, smoothing: float = SMOOTHING,
                 divergence_factor: float = DIVERGENCE_FACTOR, progress: bool = False):
        super().__init__()
        self.lr_range, self.smoothing, self.divergence_factor = lr_range, smoothing, divergence_factor
        self.progress = progress
        self.learning_rates: list[float] = []
        self.losses: list[float | None] = []
        self.diverged_step: int | None = None
        self._bar = None

    def on_train_begin(self, logs=None):
        from tqdm import tqdm

        self.learning_rates, self.losses, self.diverged_step = [], [], None
        self._bar = tqdm(total=self.lr_range.batches, desc="lr-find", unit="batch", file=sys.stderr,
                         disable=not self.progress)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        loss = None if loss is None or not math.isfinite(float(loss)) else float(loss)
        self.learning_rates.append(self.lr_range.lr(epoch))
        self.losses.append(loss)
        self._bar.update()
        self._bar.set_postfix_str(f"lr {self.learning_rates[-1]:.3g} loss {_text(loss)}", refresh=False)
        if divergence_step(self.losses, smooth(self.losses, self.smoothing), self.divergence_factor) is not None:
            self.diverged_step = epoch
            self.model.stop_training = True  # the one read of Callback.model, at the end

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()


def _text(value: float | None) -> str:
    return "NaN" if value is None else f"{value:.3f}"
