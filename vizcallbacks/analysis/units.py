"""Dead and saturated units, per layer: the fraction of a layer's units that no longer
pass a gradient on a probe of inputs.

A *unit* is a dense neuron or a conv channel: the last axis of a layer's output
(channels-last, Keras's default). Which test a layer gets depends on its activation
(`UNIT_KINDS`), read by `unit_kind` from the layer itself: a layer's `activation`
attribute (Dense, Conv*, Activation layers; Keras keeps the function, whose `__name__`
is the activation's name), or its class for the activation layers (`ReLU`, `ELU`...).
A layer without one (pooling, flatten, a linear output) gets no test.

- ReLU family (relu, relu6): *dead* when its output is exactly 0 for every probe input
  at every position (CS231n: "as much as 40%" of a network can die at too high a rate).
- sigmoid, hard_sigmoid, tanh: *saturated* when its output is within `tolerance` of one
  of its bounds for every probe input at every position (the gradient there is ~0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNIT_KINDS", "SATURATION_TOLERANCE", "unit_kind", "inactive_fraction"]

#: Activation name -> the bounds a unit stuck at counts as inactive: (0,) dead at exactly
#: zero; (low, high) saturated near either.
UNIT_KINDS: dict[str, tuple[float, ...]] = {
    "relu": (0.0,), "relu6": (0.0,),
    "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0),
}
#: How near its bound a saturating unit's output must stay (sigmoid' < 0.01 there).
SATURATION_TOLERANCE = 0.01


def unit_kind(layer) -> str | None:
    """The name of a layer's activation when `UNIT_KINDS` knows it, else None.

    Args:
        layer: a Keras layer (or anything with an `activation` attribute), or None.

    Returns:
        "relu", "sigmoid", ... or None.
    """
    if layer is None:
        return None
    if type(layer).__name__ == "ReLU":  # the layer form; a leaky one never outputs exactly 0
        return "relu" if not getattr(layer, "negative_slope", 0) else None
    activation = getattr(layer, "activation", None)
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", None)
    return name if name in UNIT_KINDS else None


def inactive_fraction(outputs, kind: str, *, tolerance: float = SATURATION_TOLERANCE) -> float:
    """The fraction of a layer's units that are dead (ReLU family) or saturated (sigmoid,
    tanh) on every input and position of `outputs`.

    >>> inactive_fraction(np.array([[0.0, 1.0], [0.0, 0.0]]), "relu")
    0.5

    Args:
        outputs: the layer's outputs for the probe, (inputs, ..., units).
        kind: a key of `UNIT_KINDS` (see `unit_kind`).
        tolerance: how near a bound a saturating unit stays.

    Returns:
        A fraction in [0, 1].

    Raises:
        ValueError: `kind` is not one of `UNIT_KINDS`.
    """
    if kind not in UNIT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(UNIT_KINDS)}. Received: kind={kind!r}.")
    outputs = np.asarray(outputs)
    values = outputs.reshape(-1, outputs.shape[-1])
    bounds = UNIT_KINDS[kind]
    if len(bounds) == 1:
        stuck = np.all(values == bounds[0], axis=0)
    else:
        near = [np.abs(values - bound) <= tolerance for bound in bounds]
        stuck = np.all(near[0] | near[1], axis=0)
    return float(stuck.mean())
