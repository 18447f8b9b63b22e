"""What the model's output says about each input, in words beside its row.

An output reader turns the model's output (or the class probabilities the probe read
from it) into each input's prediction lines, and says whether the prediction is right.
Readers are looked up by the kind of output in `OUTPUT_READERS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..capture.probe import Activations

__all__ = ["OutputReader", "ClassifierReader", "BinaryReader", "RegressionReader", "ImageReader",
           "SegmentationReader", "OUTPUT_READERS", "format_value"]


class OutputReader:
    """Reads the model's output for each input.

    Args:
        labels: the truth per input, or None.
        count: how many inputs.
        class_names: names of the classes, or None.
    """

    #: The kind of model output this reader reads (the key of `OUTPUT_READERS`).
    kind = ""
    #: Whether its prediction is a picture, drawn in a column of its own rather than said.
    pictured = False

    def __init__(self, labels, count: int, *, class_names: Sequence[str] | None = None):
        self.count = count
        self.class_names = None if class_names is None else tuple(str(c) for c in class_names)
        self.labels = None if labels is None else self.check_labels(np.asarray(labels))

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        """`labels` in the form this reader compares with the output.

        Args:
            labels: what the user gave, as an array.

        Returns:
            One truth per input.

        Raises:
            ValueError: not one truth per input.
        """
        raise NotImplementedError

    def true_text(self, index: int) -> str | None:
        """The line that says the truth of input `index` (drawn once), or None.

        Args:
            index: the input's index.
        """
        return None

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        """Each input's two lines for this frame: the prediction, and how sure or how far.

        Args:
            activations: the frame's forward pass.

        Returns:
            One pair per input, or None when the output says nothing to show.
        """
        return None

    def marks(self, activations: Activations) -> list[bool | None] | None:
        """Whether each input's prediction is right (green) or wrong (red).

        Args:
            activations: the frame's forward pass.

        Returns:
            True, False or None (no mark) per input; None for no marks at all.
        """
        return None

    def targets(self) -> np.ndarray | None:
        """The value each input should give, for inputs that show it (a series' next
        value); None unless the model regresses a value."""
        return None

    def predicted(self, activations: Activations) -> np.ndarray | None:
        """This frame's predicted value per input, for inputs that show it; None unless
        the model regresses a value.

        Args:
            activations: the frame's forward pass.
        """
        return None

    def class_name(self, index: int) -> str:
        """The name of class `index` (its number without `class_names`).

        Args:
            index: the class index.
        """
        if self.class_names is not None and 0 <= index < len(self.class_names):
            return self.class_names[index]
        return str(index)


class ClassifierReader(OutputReader):
    """Class probabilities (softmax, or logits turned into probabilities): the most likely
    class and its probability; right when it is the true class."""

    kind = "classes"

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.ndim == 2:  # one-hot
            labels = labels.argmax(axis=1)
        if labels.ndim != 1 or len(labels) != self.count:
            raise ValueError(
                f"labels must hold one class per image ({self.count} images). Received shape {labels.shape}."
            )
        return labels.astype(np.int64)

    def true_text(self, index: int) -> str | None:
        return None if self.labels is None else f"true: {self.class_name(int(self.labels[index]))}"

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        probabilities = activations.probabilities
        if probabilities is None:
            return None
        found = []
        for row in probabilities:
            if np.all(np.isnan(row)):
                found.append(("pred: NaN", ""))
            else:
                guess = int(np.nanargmax(row))
                found.append((f"pred: {self.class_name(guess)}", f"confidence {row[guess]:.0%}"))
        return found

    def marks(self, activations: Activations) -> list[bool | None] | None:
        probabilities = activations.probabilities
        if probabilities is None or self.labels is None:
            return None
        return [not np.all(np.isnan(row)) and int(np.nanargmax(row)) == label
                for row, label in zip(probabilities, self.labels)]


class BinaryReader(ClassifierReader):
    """One sigmoid unit (or one logit): the probability of class 1 and the class it
    predicts (1 from 0.5 on); right when it is the true class."""

    kind = "binary"

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.ndim == 2 and labels.shape[1] == 1:  # a column, as the model outputs
            labels = labels[:, 0]
        if labels.ndim == 1 and not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels of a model with one sigmoid unit must be 0 or 1. Received: "
                             f"{np.unique(labels).tolist()[:10]}.")
        return super().check_labels(labels)

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        probabilities = activations.probabilities
        if probabilities is None:
            return None
        found = []
        for p in probabilities[:, -1]:
            if np.isnan(p):
                found.append(("pred: NaN", ""))
            else:
                found.append((f"pred: {self.class_name(int(p >= 0.5))}", f"p({self.class_name(1)}) {p:.2f}"))
        return found

    def marks(self, activations: Activations) -> list[bool | None] | None:
        probabilities = activations.probabilities
        if probabilities is None or self.labels is None:
            return None
        return [not np.isnan(p) and int(p >= 0.5) == label for p, label in zip(probabilities[:, -1], self.labels)]


def format_value(value: float) -> str:
    """A regressed value in a few characters: four significant digits.

    Args:
        value: the number.
    """
    return "NaN" if not np.isfinite(value) else f"{value:.4g}"


class RegressionReader(OutputReader):
    """Values (one linear unit, or several): the prediction against the target, and the
    error; no right or wrong."""

    kind = "regression"

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.ndim == 1:
            labels = labels[:, None]
        if labels.ndim != 2 or len(labels) != self.count or not np.issubdtype(labels.dtype, np.number):
            raise ValueError(
                f"labels must hold one target (a number, or a row of numbers) per input ({self.count} "
                f"inputs). Received shape {labels.shape}, dtype {labels.dtype}."
            )
        return labels.astype(np.float64)

    def true_text(self, index: int) -> str | None:
        return None if self.labels is None else f"true: {_values(self.labels[index])}"

    def targets(self) -> np.ndarray | None:
        return None if self.labels is None or self.labels.shape[1] != 1 else self.labels[:, 0]

    def predicted(self, activations: Activations) -> np.ndarray | None:
        output = activations.output
        if output is None or output.ndim != 2 or output.shape[1] != 1:
            return None
        return output[:, 0].astype(np.float64)

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        output = activations.output
        if output is None or output.ndim != 2:
            return None
        found = []
        for index, row in enumerate(output.astype(np.float64)):
            error = ""
            if self.labels is not None and self.labels.shape[1] == row.shape[0]:
                error = f"error {format_value(float(np.mean(row - self.labels[index])))}"
            found.append((f"pred: {_values(row)}", error))
        return found


def _values(row: np.ndarray) -> str:
    return ", ".join(format_value(float(value)) for value in row[:3]) + (", …" if len(row) > 3 else "")


class ImageReader(OutputReader):
    """An image per input (an autoencoder's, a denoiser's): the error against the target
    image (mean squared, over its pixels); the images themselves are drawn in the output's
    own column (`output_cells.py`)."""

    kind = "image"
    pictured = True

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.ndim == 3:  # grayscale targets without their channel axis
            labels = labels[..., None]
        if labels.ndim != 4 or len(labels) != self.count or not np.issubdtype(labels.dtype, np.number):
            raise ValueError(
                f"labels of a model whose output is an image must hold one target image (height, width"
                f"[, channels]) per input ({self.count} inputs). Received shape {labels.shape}, dtype {labels.dtype}."
            )
        return labels.astype(np.float32)

    def errors(self, output: np.ndarray) -> np.ndarray | None:
        """The mean squared error of each input's output against its target, or None
        without targets (or of another shape).

        Args:
            output: the model's output, (inputs, height, width, channels).
        """
        if self.labels is None or output.shape != self.labels.shape:
            return None
        with np.errstate(invalid="ignore", over="ignore"):
            return np.mean((output.astype(np.float64) - self.labels) ** 2, axis=(1, 2, 3))

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        output = activations.output
        if output is None or output.ndim != 4:
            return None
        errors = self.errors(output)
        if errors is None:
            return [("pred: image", "") for _ in output]
        return [("pred: image", f"MSE {format_value(float(error))}") for error in errors]


class SegmentationReader(OutputReader):
    """Per-pixel class scores (a segmentation's): the share of pixels whose most likely
    class is the target's; the class maps are drawn in the output's own column."""

    kind = "segmentation"
    pictured = True

    def check_labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.ndim == 4 and labels.shape[-1] > 1:  # one-hot per pixel
            labels = labels.argmax(axis=-1)
        elif labels.ndim == 4:
            labels = labels[..., 0]
        if labels.ndim != 3 or len(labels) != self.count or not np.issubdtype(labels.dtype, np.number):
            raise ValueError(
                f"labels of a segmentation model must hold one class map (height, width: a class per pixel, "
                f"or one-hot) per input ({self.count} inputs). Received shape {labels.shape}, dtype {labels.dtype}."
            )
        return labels.astype(np.int64)

    def accuracies(self, output: np.ndarray) -> np.ndarray | None:
        """The share of each input's pixels given the target's class, or None without
        targets (or of another size).

        Args:
            output: the model's output, (inputs, height, width, classes).
        """
        if self.labels is None or output.shape[:3] != self.labels.shape:
            return None
        return np.mean(np.nan_to_num(output).argmax(axis=-1) == self.labels, axis=(1, 2))

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        output = activations.output
        if output is None or output.ndim != 4:
            return None
        accuracies = self.accuracies(output)
        if accuracies is None:
            return [("pred: class map", "") for _ in output]
        return [("pred: class map", f"pixels right {accuracy:.0%}") for accuracy in accuracies]


#: The reader of each kind of model output.
OUTPUT_READERS: dict[str, type[OutputReader]] = {
    reader.kind: reader for reader in (ClassifierReader, BinaryReader, RegressionReader, ImageReader,
                                       SegmentationReader)}
