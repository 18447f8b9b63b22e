"""The figures a frame can carry, defined once: `FIGURES`.

A figure is one number that says how training stands when a frame is taken: the loss,
an accuracy, a mean absolute error, compare's held-out figures, lr-find's learning rate.
Every place that shows or stores figures reads this table instead of a list of its own:

- the stamp at the top of a frame (`render.stamp.Stamp`) prints them in table order;
- a frame's record (`framefiles.FrameRecord`) carries them, and the manifest writes each
  one as a flat field under its key (``"accuracy"``, ``"mae"``, ...);
- TensorBoard (`sinks.tensorboard`) writes each one a record carries as a scalar tagged by
  its key;
- the page (`apps.page`) draws a chart for each `Figure.chart` some record has.

Adding a figure is one row here. A figure that Keras reports names the Keras log entries
it is read from (`Figure.logs`); `figures_from_logs` reads them.

>>> figures_from_logs({"loss": 0.52, "sparse_categorical_accuracy": 0.73})
{'accuracy': 0.73, 'mae': None, 'loss': 0.52}
>>> figure("mae").text(0.12345)
'0.123'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Figure", "FIGURES", "FIGURE_KEYS", "figure", "figures_from_logs", "figures_of", "check_figures"]


@dataclass(frozen=True)
class Figure:
    """One figure a frame can carry: a row of `FIGURES`.

    Args:
        key: its name in records, manifests and TensorBoard ("accuracy", "heldout_loss").
        label: what the stamp and the page call it.
        format: the format spec of its value on the stamp (".3f").
        higher_is_better: whether a larger value means better training (an accuracy);
            None where neither is (a learning rate).
        chart: the page's chart it is drawn in; figures that share a chart stand for
            one another (a run's held-out loss, else its training loss), the first in
            table order that a run has is drawn. None: drawn in no chart.
        fraction: whether its values lie within 0..1 (the page's axis then does too).
        logs: the names Keras's `logs` give it, in the order they are tried.
        log_suffix: a metric the user named that ends with this ("my_accuracy") also
            counts, unless it is a validation ("val_") or top-k figure; None: none does.
    """

    key: str
    label: str
    format: str = ".3f"
    higher_is_better: bool | None = False
    chart: str | None = None
    fraction: bool = False
    logs: tuple[str, ...] = ()
    log_suffix: str | None = None

    def text(self, value: float) -> str:
        """`value` as the stamp prints it: "0.732", "NaN" for a diverged run.

        Args:
            value: the figure's value.

        Returns:
            The text.
        """
        return "NaN" if math.isnan(value) else format(value, self.format)

    def from_logs(self, logs: Mapping) -> float | None:
        """This figure in Keras's `logs`: the first of `logs` names there, else a user's
        metric ending with `log_suffix`. Only a single number counts: a metric that
        returns an array is not a figure.

        Args:
            logs: what Keras passed to `on_train_batch_end`.

        Returns:
            The value as a float, or None when `logs` hold none.
        """
        for name in self.logs:
            if name in logs and (value := _scalar(logs[name])) is not None:
                return value
        if self.log_suffix is None:
            return None
        for name, raw in logs.items():
            if name.endswith(self.log_suffix) and not name.startswith("val_") and "top_k" not in name \
                    and (value := _scalar(raw)) is not None:
                return value
        return None


# Table order is the stamp's order: "accuracy: 0.732, mae: 0.120, loss: 0.512". Held-out
# figures come before the training ones they stand for in a chart.
FIGURES: tuple[Figure, ...] = (
    Figure("heldout_accuracy", "held-out accuracy", higher_is_better=True, chart="accuracy", fraction=True),
    Figure("heldout_loss", "held-out loss", chart="loss"),
    Figure("accuracy", "accuracy", higher_is_better=True, chart="accuracy", fraction=True,
           logs=("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy"),
           log_suffix="accuracy"),
    Figure("mae", "mae", chart="mae", logs=("mae", "mean_absolute_error"), log_suffix="mean_absolute_error"),
    Figure("loss", "loss", chart="loss", logs=("loss",)),
    # compare's running means over the epoch's batches so far, beside its held-out figures.
    Figure("train_accuracy", "training accuracy", higher_is_better=True, fraction=True),
    Figure("train_loss", "training loss"),
    Figure("learning_rate", "learning rate", format=".3g", higher_is_better=None, chart="learning_rate"),
)

#: The keys of `FIGURES`, in table order.
FIGURE_KEYS: tuple[str, ...] = tuple(row.key for row in FIGURES)
_BY_KEY = {row.key: row for row in FIGURES}


def figure(key: str) -> Figure:
    """The row of `FIGURES` for `key`.

    Args:
        key: a figure's key, such as "accuracy".

    Returns:
        Its `Figure`.

    Raises:
        KeyError: no figure has that key; the message lists those that exist.
    """
    try:
        return _BY_KEY[key]
    except (KeyError, TypeError):
        raise KeyError(f"no figure is called {key!r}; the figures are {', '.join(FIGURE_KEYS)}.") from None


def check_figures(values: Mapping, argument: str = "figures") -> dict[str, float | None]:
    """`values` (key -> number or None) in table order, each a float or None, once every
    key is known to be a figure's.

    Args:
        values: figure key -> value.
        argument: what the message names.

    Returns:
        A new dict, in `FIGURES` order.

    Raises:
        TypeError: a key is not a figure's, or a value is not a number or None.
    """
    unknown = [key for key in values if key not in _BY_KEY]
    if unknown:
        raise TypeError(f"{argument}: {', '.join(map(repr, unknown))} is not a figure. "
                        f"Valid: {', '.join(FIGURE_KEYS)}.")
    checked = {}
    for key in (key for key in FIGURE_KEYS if key in values):
        value = values[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
            raise TypeError(f"{argument}: {key} must be a number or None. Received: {key}={value!r}.")
        checked[key] = None if value is None else float(value)
    return checked


def figures_from_logs(logs: Mapping) -> dict[str, float | None]:
    """Every figure that Keras reports, read from a batch's `logs`: None where they hold none.

    Args:
        logs: what Keras passed to `on_train_batch_end`.

    Returns:
        key -> value (or None), in table order, for each figure with Keras log names.
    """
    return {row.key: row.from_logs(logs) for row in FIGURES if row.logs}


def figures_of(record, *, finite: bool = False) -> dict[str, float]:
    """The figures a record holds, None values left out, in table order: what TensorBoard
    writes as scalars.

    Args:
        record: a Mapping (a manifest line) or an object with the figures as attributes
            (a `FrameRecord`, a manifest line as a namespace).
        finite: leave out NaN and infinities too (what the trackers log as metrics).

    Returns:
        key -> value as a float.
    """
    get = record.get if isinstance(record, Mapping) else lambda key: getattr(record, key, None)
    values = {key: get(key) for key in FIGURE_KEYS}
    found = {key: float(value) for key, value in values.items()
             if value is not None and not isinstance(value, bool) and isinstance(value, (int, float, np.number))}
    return {key: value for key, value in found.items() if math.isfinite(value)} if finite else found


def _scalar(value) -> float | None:
    """`value` as a float when it is one number (a Python or numpy number, a 0-d or
    one-element array or tensor), else None."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array.reshape(-1)[0]) if array.size == 1 else None
