"""What a model's output is, and how it reads as class probabilities.

Data only: `output_kind` reads the compiled loss and the output layer once, when the
probe is made; `to_probabilities` turns each frame's output into probabilities.
"""

from __future__ import annotations

import numpy as np

from .layers import shape_of

__all__ = ["OUTPUT_KINDS", "output_kind", "to_probabilities", "output_heads", "head_losses", "READS_PROBABILITIES"]

#: What a model's output can be: class scores (softmax or logits), one sigmoid unit
#: (or one logit) for two classes, values, an image (an autoencoder's, a denoiser's:
#: height x width x channels), or per-pixel class scores (a segmentation's).
OUTPUT_KINDS = ("classes", "binary", "regression", "image", "segmentation")

#: The kinds whose output is read as class probabilities (one row per input).
READS_PROBABILITIES = ("classes", "binary")

# What a loss's name says the output is; the first match counts. Hinge losses take -1/1
# labels of either kind: the output layer decides.
_LOSS_KINDS = (("hinge", None), ("categorical", "classes"), ("binary", "binary"),
               ("squared", "regression"), ("absolute", "regression"), ("huber", "regression"),
               ("cosh", "regression"), ("poisson", "regression"), ("mse", "regression"),
               ("mae", "regression"), ("mape", "regression"), ("msle", "regression"))


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss.lower()
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", "") if loss is not None else "").lower()


def head_losses(model, names) -> list:
    """The compiled loss of each output head: the model's one loss for a single head, the
    loss at the head's position (a list) or under its name (a dict) for several.

    Args:
        model: the model.
        names: the heads' names, in the order the model returns them.

    Returns:
        One loss (a name, a Loss, or None when not compiled or not given) per head.
    """
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        return [loss.get(name) for name in names]
    if isinstance(loss, (list, tuple)):
        return [loss[index] if index < len(loss) else None for index in range(len(names))]
    return [loss] * len(names)


def _activation(layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "")


def output_kind(model, shape: tuple | None, output_layer=None, *, loss=None) -> str:
    """What an output of `model` is, one of `OUTPUT_KINDS`: as its compiled loss says
    (cross-entropies, regression losses), else as its output layer's activation and
    width say (one sigmoid unit: "binary"; one linear unit: "regression"; several units:
    "classes"). An output of one (height, width, channels) map per input is an image,
    unless its loss is a categorical cross-entropy or it ends in a softmax over several
    channels: then its channels are per-pixel classes ("segmentation").

    Args:
        model: the model (its compiled loss is read when `loss` is None).
        shape: the output's shape for one input; None when unknown.
        output_layer: the layer that makes the output, to read its activation.
        loss: this head's loss (see `head_losses`); None reads the model's.

    Returns:
        One of `OUTPUT_KINDS`; "classes" for outputs that are neither one vector nor one
        image per input (no class is read from them).
    """
    name = _loss_name(getattr(model, "loss", None) if loss is None else loss)
    if shape is not None and len(shape) == 3:
        per_pixel_classes = "categorical" in name or (shape[-1] > 1 and _activation(output_layer) == "softmax")
        return "segmentation" if per_pixel_classes else "image"
    if shape is None or len(shape) != 1:
        return "classes"
    for part, kind in _LOSS_KINDS:
        if part in name:
            if kind is not None:
                return kind
            break
    if shape[0] > 1:
        return "classes"
    return "binary" if _activation(output_layer) == "sigmoid" else "regression"


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


def output_heads(model, output) -> tuple[list, list[str]]:
    """The model's output as its heads: one tensor per output, and each one's name.

    Args:
        model: the model (its `output_names`, when it has them, name the heads).
        output: what one call of it returned: a tensor, a list / tuple of tensors, or a
            dict of them.

    Returns:
        (tensors, names); a single output is one head named "output".

    Raises:
        ValueError: an output that is not a tensor (a nested list, None), with what would
            make it drawable.
    """
    if isinstance(output, dict):
        names, heads = [str(name) for name in output], list(output.values())
    elif isinstance(output, (list, tuple)):
        heads = list(output)
        declared = list(getattr(model, "output_names", None) or [])
        names = declared if len(declared) == len(heads) else [f"output_{index}" for index in range(len(heads))]
    else:
        heads, names = [output], ["output"]
    for name, head in zip(names, heads):
        if shape_of(head) is None:
            raise ValueError(
                f"Model {model.name!r} cannot be drawn: its output {name!r} is a {type(head).__name__}, not "
                "one tensor. Drawable: a model that returns a tensor, or a list or dict of tensors (one per "
                "head); return the nested outputs flattened into one list or dict."
            )
    return heads, names
