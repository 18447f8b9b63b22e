"""What a model's output is, and how it reads as class probabilities.

Data only: `output_kind` reads the compiled loss and the output layer once, when the
probe is made; `to_probabilities` turns each frame's output into probabilities.
"""

from __future__ import annotations

import numpy as np

from .layers import shape_of

__all__ = ["OUTPUT_KINDS", "output_kind", "to_probabilities", "check_single_output"]

#: What a model's output can be: class scores (softmax or logits), one sigmoid unit
#: (or one logit) for two classes, or values.
OUTPUT_KINDS = ("classes", "binary", "regression")

# What a loss's name says the output is; the first match counts. Hinge losses take -1/1
# labels of either kind: the output layer decides.
_LOSS_KINDS = (("hinge", None), ("categorical", "classes"), ("binary", "binary"),
               ("squared", "regression"), ("absolute", "regression"), ("huber", "regression"),
               ("cosh", "regression"), ("poisson", "regression"), ("mse", "regression"),
               ("mae", "regression"), ("mape", "regression"), ("msle", "regression"))


def _loss_name(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss.lower()
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", "")).lower()


def output_kind(model, shape: tuple | None, output_layer=None) -> str:
    """What `model`'s output is, one of `OUTPUT_KINDS`: as its compiled loss says
    (cross-entropies, regression losses), else as its output layer's activation and
    width say (one sigmoid unit: "binary"; one linear unit: "regression"; several units:
    "classes").

    Args:
        model: the model.
        shape: its output's shape for one input; None when unknown.
        output_layer: the layer that makes the output, to read its activation.

    Returns:
        "classes", "binary" or "regression"; "classes" for outputs that are not one
        vector per input (no class is read from them).
    """
    if shape is None or len(shape) != 1:
        return "classes"
    name = _loss_name(model)
    for part, kind in _LOSS_KINDS:
        if part in name:
            if kind is not None:
                return kind
            break
    if shape[0] > 1:
        return "classes"
    activation = getattr(getattr(output_layer, "activation", None), "__name__", "")
    return "binary" if activation == "sigmoid" else "regression"


def to_probabilities(output: np.ndarray) -> np.ndarray | None:
    """Class probabilities from a classifier's output, whether it ends in softmax,
    sigmoid or gives logits.

    Args:
        output: the model's output for a batch, (images, classes) or (images, 1).

    Returns:
        (images, classes) probabilities (two columns for one sigmoid unit or logit);
        None for outputs that are not (images, classes) floats.
    """
    if output.ndim != 2 or not np.issubdtype(output.dtype, np.floating):
        return None
    output = output.astype(np.float64)
    if output.shape[1] == 1:
        p = output[:, 0]
        if not (np.all(p >= 0) and np.all(p <= 1)):
            with np.errstate(over="ignore"):
                p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1)
    rows_are_probabilities = np.all(output >= 0) and np.allclose(output.sum(axis=1), 1, atol=1e-3)
    if rows_are_probabilities:
        return output
    # nanmax without its warning: a diverged run gives all-NaN rows every frame, which
    # stay NaN and are drawn as such.
    with np.errstate(invalid="ignore", over="ignore"):
        row_max = np.where(np.isnan(output), -np.inf, output).max(axis=1, keepdims=True)
        exp = np.exp(output - row_max)
        return exp / exp.sum(axis=1, keepdims=True)


def check_single_output(model, output) -> None:
    """Raise a ValueError when `model` returned several outputs (a list, a dict).

    Args:
        model: the model, for the message.
        output: what one call of it returned.
    """
    if shape_of(output) is None:
        count = len(output) if isinstance(output, (list, tuple, dict)) else "?"
        raise ValueError(
            f"Models with several outputs are not supported: model {model.name!r} returns "
            f"{type(output).__name__} of {count}. Supported: models with one output."
        )
