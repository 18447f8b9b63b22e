"""The learning-rate range test as pure functions: the learning rate of each batch, the
smoothed loss, where training diverged, and the suggested range.

The rule, stated once (`RULE`):

- the learning rate rises exponentially, from `min_lr` at the first batch to `max_lr` at
  the last (`LearningRateRange`);
- the loss is smoothed with an exponential moving average (factor `smoothing`, 0.9: about
  the last ten batches), corrected for its start at zero (`smooth`): what the movie draws
  as training goes;
- training has diverged at the first batch whose loss is NaN or infinite, whose smoothed
  loss is above `divergence_factor` (4) times the lowest smoothed loss so far, or, once the
  smoothed loss has fallen 5% (`MIN_FALL`) below its start, back above its start: the
  network lost what it learned, as one whose ReLUs died does, its loss bounded where Keras
  clips probabilities (`divergence_step`); the test stops there;
- the suggested range is read off the loss up to there, smoothed by the same average run
  forward and then backward (`smooth_without_lag`: a one-way average lags about ten
  batches behind, a factor of about 1.8 in learning rate over 200 batches and 5 decades):
  from the learning rate where it falls fastest (the steepest descent against log learning
  rate, before its minimum) to the smaller of the learning rate at its minimum and
  `fraction` (1/4) of the learning rate where training diverged (`suggest`); none when
  the smoothed loss never fell 5% (`MIN_FALL`) below its start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...checks import check_positive_int, check_positive_number

__all__ = ["LearningRateRange", "Suggestion", "smooth", "smooth_without_lag", "divergence_step", "suggest", "RULE",
           "DIVERGENCE_FACTOR", "SMOOTHING", "FRACTION"]

#: The rule's defaults: the smoothing factor, k in "k times the lowest smoothed loss", and
#: the fraction of the divergence point the range ends at.
SMOOTHING = 0.9
DIVERGENCE_FACTOR = 4.0
FRACTION = 0.25
#: The smoothed loss must fall below (1 - MIN_FALL) x its start for a range to be suggested.
MIN_FALL = 0.05

RULE = ("suggested range: from the learning rate where the smoothed loss (exponential moving average, "
        "factor {smoothing}, run forward and backward so that it does not lag) falls fastest against log "
        "learning rate, before its minimum, to the smaller of the learning rate at its minimum and {fraction:g} x "
        "the learning rate where training diverged (loss NaN or infinite, the forward moving average above "
        "{factor:g} x its lowest so far, or back above its start after falling 5% below it); none if it never "
        "fell 5% below its start")


@dataclass(frozen=True)
class LearningRateRange:
    """The learning rate of each batch: `min_lr` at the first, `max_lr` at the last,
    multiplied by the same factor each batch. Called as `keras.callbacks.LearningRateScheduler`
    calls its schedule, with one batch per epoch.

    >>> schedule = LearningRateRange(1e-4, 10.0, 201)
    >>> schedule.lr(0), schedule.lr(100), schedule.lr(200)
    (0.0001, 0.0316..., 10.0)

    Args:
        min_lr: the first batch's learning rate.
        max_lr: the last batch's.
        batches: how many batches the test runs at most, at least 2.
    """

    min_lr: float
    max_lr: float
    batches: int

    def __post_init__(self):
        check_positive_number(self.min_lr, "min_lr")
        check_positive_number(self.max_lr, "max_lr")
        check_positive_int(self.batches, "batches")
        if self.max_lr <= self.min_lr:
            raise ValueError(f"max_lr must be above min_lr ({self.min_lr:g}). Received: max_lr={self.max_lr!r}.")
        if self.batches < 2:
            raise ValueError(f"batches must be at least 2. Received: batches={self.batches!r}.")

    @property
    def factor(self) -> float:
        """What the learning rate is multiplied by from one batch to the next."""
        return (self.max_lr / self.min_lr) ** (1 / (self.batches - 1))

    def lr(self, step: int) -> float:
        """The learning rate of batch `step` (from 0).

        Args:
            step: the batch, from 0.
        """
        return float(self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.batches - 1)))

    def __call__(self, epoch: int, lr: float = 0.0) -> float:
        """The learning rate of epoch `epoch` (one batch each), for `LearningRateScheduler`.

        Args:
            epoch: the epoch, from 0.
            lr: the current learning rate (not used).
        """
        return self.lr(epoch)


def smooth(losses: Sequence[float | None], smoothing: float = SMOOTHING) -> list[float | None]:
    """The exponential moving average of `losses`, corrected for its start at zero; None
    from the first loss that is None or not finite on.

    Args:
        losses: the loss of each batch.
        smoothing: the weight of the past, 0 <= smoothing < 1.

    Returns:
        One value per loss.
    """
    average, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        if loss is None or not math.isfinite(loss) or (smoothed and smoothed[-1] is None):
            smoothed.append(None)
            continue
        average = smoothing * average + (1 - smoothing) * loss
        smoothed.append(average / (1 - smoothing ** (i + 1)))
    return smoothed


def smooth_without_lag(losses: Sequence[float], smoothing: float = SMOOTHING) -> list[float]:
    """`smooth` run forward, then backward over the result: as smooth, without the lag.

    Args:
        losses: finite losses.
        smoothing: the weight of the past, 0 <= smoothing < 1.

    Returns:
        One value per loss.
    """
    return smooth(smooth(losses, smoothing)[::-1], smoothing)[::-1]


def divergence_step(losses: Sequence[float | None], smoothed: Sequence[float | None],
                    factor: float = DIVERGENCE_FACTOR) -> int | None:
    """The first batch where training diverged: its loss NaN or infinite (None), its
    smoothed loss above `factor` times the lowest smoothed loss before it, or, once the
    smoothed loss has fallen `MIN_FALL` below its start, back above its start.

    Args:
        losses: the loss of each batch.
        smoothed: `smooth(losses)`.
        factor: k.

    Returns:
        The batch (from 0), or None when training did not diverge.
    """
    lowest, start = math.inf, None
    for step, (loss, value) in enumerate(zip(losses, smoothed)):
        if loss is None or not math.isfinite(loss) or value is None:
            return step
        start = value if start is None else start
        if value > factor * lowest or (lowest < (1 - MIN_FALL) * start and value > start):
            return step
        lowest = min(lowest, value)
    return None


@dataclass(frozen=True)
class Suggestion:
    """What the range test found.

    Args:
        low: the suggested range's start (the steepest descent), or None when the loss
            did not fall.
        high: its end, or None.
        steepest_lr: where the smoothed loss fell fastest against log learning rate.
        minimum_lr: where the smoothed loss was lowest.
        minimum_loss: that lowest smoothed loss.
        diverged_lr: where training diverged, or None.
        diverged_step: at which batch (from 0), or None.
        diverged_loss: the loss there (None: NaN or infinite).
        rule: the rule, in words.
        text: what was found, in a sentence.
    """

    low: float | None
    high: float | None
    steepest_lr: float | None
    minimum_lr: float | None
    minimum_loss: float | None
    diverged_lr: float | None
    diverged_step: int | None
    diverged_loss: float | None
    rule: str
    text: str


def suggest(lrs: Sequence[float], losses: Sequence[float | None], *, smoothing: float = SMOOTHING,
            divergence_factor: float = DIVERGENCE_FACTOR, fraction: float = FRACTION) -> Suggestion:
    """The suggested learning-rate range from a range test's batches (see `RULE`).

    >>> suggest(lrs, losses).low, suggest(lrs, losses).high
    (0.012, 0.21)

    Args:
        lrs: the learning rate of each batch, rising.
        losses: the loss of each batch (None: NaN or infinite).
        smoothing: the moving average's weight of the past.
        divergence_factor: k: divergence when the smoothed loss is above k x its lowest.
        fraction: the range ends at most at this fraction of the divergence point.

    Returns:
        The `Suggestion`.
    """
    smoothed = smooth(losses, smoothing)
    diverged = divergence_step(losses, smoothed, divergence_factor)
    end = len(losses) if diverged is None else diverged
    rule = RULE.format(smoothing=smoothing, fraction=fraction, factor=divergence_factor)
    diverged_lr = None if diverged is None else float(lrs[diverged])
    diverged_loss = None if diverged is None or losses[diverged] is None or not math.isfinite(losses[diverged]) \
        else float(losses[diverged])
    found = dict(diverged_lr=diverged_lr, diverged_step=diverged, diverged_loss=diverged_loss, rule=rule)
    ended = (f"training diverged at lr {diverged_lr:.3g} (batch {diverged})" if diverged is not None
             else f"training did not diverge up to lr {lrs[end - 1]:.3g}")
    if end < 3:
        return Suggestion(None, None, None, None, None, **found,
                          text=f"No range: {ended}, at once; lower min_lr.")
    values = np.asarray(smooth_without_lag(losses[:end], smoothing), dtype=np.float64)
    minimum = int(np.argmin(values))
    if minimum < 2 or values[minimum] > (1 - MIN_FALL) * values[0]:
        return Suggestion(None, None, None, float(lrs[minimum]), float(values[minimum]), **found,
                          text=f"No range: the smoothed loss did not fall {MIN_FALL:.0%} below its start, and "
                               f"{ended}; lower min_lr, or give more batches.")
    slopes = np.gradient(values[:minimum + 1], np.log10(np.asarray(lrs[:minimum + 1], dtype=np.float64)))
    steepest = int(np.argmin(slopes))
    low, high = float(lrs[steepest]), float(lrs[minimum])
    if diverged_lr is not None:
        high = min(high, fraction * diverged_lr)
    high = max(high, low)
    text = (f"Suggested learning rates: {low:.3g} to {high:.3g} (steepest descent at {low:.3g}, lowest smoothed "
            f"loss {values[minimum]:.3f} at {lrs[minimum]:.3g}; {ended}).")
    return Suggestion(low, high, low, float(lrs[minimum]), float(values[minimum]), **found, text=text)
