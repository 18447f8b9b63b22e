"""Label noise, the classic memorisation demo (Zhang et al., 2017; Toneva et al., 2019):
a fraction of the training labels flipped to another class, so that the dynamics can
show the flipped examples learned late and forgotten often."""

from __future__ import annotations

import numpy as np

__all__ = ["flip_labels", "check_label_noise"]


def check_label_noise(fraction) -> float:
    """`fraction` as a float in [0, 1), or a ValueError naming `label_noise`.

    Args:
        fraction: what the caller received.
    """
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(fraction, bool) or not 0 <= value < 1:
        raise ValueError(f"label_noise (--label-noise) must be a fraction in [0, 1). Received: {fraction!r}.")
    return value


def flip_labels(labels, fraction: float, *, seed: int, classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flip a fraction of class labels, each to another class drawn uniformly.

    >>> noisy, flipped = flip_labels(y_train, 0.2, seed=0)
    >>> (noisy != y_train).mean(), flipped.mean()       # both 0.2

    Args:
        labels: (examples,) class indices.
        fraction: the fraction of examples to flip, in [0, 1).
        seed: the seed of which examples and to which class.
        classes: how many classes; default the largest label + 1.

    Returns:
        (the labels with the flips, a bool per example: flipped).

    Raises:
        ValueError: `fraction` is not in [0, 1), or the labels are not class indices of
            at least two classes.
    """
    fraction = check_label_noise(fraction)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: label noise needs class indices (examples,). Received: shape {labels.shape}, "
                         f"dtype {labels.dtype}.")
    classes = int(labels.max()) + 1 if classes is None else int(classes)
    if classes < 2:
        raise ValueError(f"labels: label noise needs at least 2 classes. Received: {classes}.")
    rng = np.random.default_rng(seed)
    flipped = np.zeros(len(labels), bool)
    flipped[rng.choice(len(labels), int(round(fraction * len(labels))), replace=False)] = True
    shift = rng.integers(1, classes, size=len(labels))  # never 0: always another class
    noisy = np.where(flipped, (labels + shift) % classes, labels).astype(labels.dtype)
    return noisy, flipped
