"""A model with several outputs: one reader per head, read together beside each row.

`make_reader` gives the renderer the reader of its model's output: the reader of its
kind for one output (`OUTPUT_READERS`), or a `HeadsReader` that holds one reader per
head, each fed its own head's output, for several. The label column then names each
head: "digit: 3 (87%)", "size: 4.2 (err 0.3)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from ..capture.outputs import READS_PROBABILITIES, to_probabilities
from ..capture.probe import Activations
from ..checks import check_choice
from .readers import OUTPUT_READERS, OutputReader

__all__ = ["HeadsReader", "make_reader", "check_output_kind"]


def check_output_kind(output_kind) -> str | dict[str, str]:
    """`output_kind` checked: one kind of `OUTPUT_READERS`, or {head name: kind} for a
    model with several outputs.

    Args:
        output_kind: what the renderer was given.

    Raises:
        TypeError, ValueError: neither; the message lists the kinds.
    """
    if isinstance(output_kind, str):
        return check_choice(output_kind, "output_kind", tuple(OUTPUT_READERS))
    if not isinstance(output_kind, Mapping) or not output_kind:
        raise TypeError(
            f"output_kind must be one of {tuple(OUTPUT_READERS)}, or a non-empty dict of {{head name: kind}} for "
            f"a model with several outputs. Received: output_kind={output_kind!r}."
        )
    return {str(name): check_choice(kind, f"output_kind[{name!r}]", tuple(OUTPUT_READERS))
            for name, kind in output_kind.items()}


def make_reader(output_kind, labels, count: int, *, class_names: Sequence[str] | None = None) -> OutputReader:
    """The reader of a model's output.

    Args:
        output_kind: one kind (`OUTPUT_READERS`' keys), or {head name: kind} in the
            model's order for several outputs.
        labels: the truth per input; for several outputs, a list (one entry per head, in
            order) or a dict by head name; a head without truth gets None.
        count: how many inputs.
        class_names: names of the classes of a classifying output.

    Returns:
        The reader: one of `OUTPUT_READERS`, or a `HeadsReader`.
    """
    output_kind = check_output_kind(output_kind)
    if isinstance(output_kind, str):
        return OUTPUT_READERS[output_kind](labels, count, class_names=class_names)
    return HeadsReader(output_kind, labels, count, class_names=class_names)


def _labels_by_head(labels, names: Sequence[str]) -> list:
    """One truth (or None) per head from what the user gave for several outputs."""
    if labels is None:
        return [None] * len(names)
    if isinstance(labels, Mapping):
        unknown = sorted(set(map(str, labels)) - set(names))
        if unknown:
            raise ValueError(f"labels: {unknown} name no output of the model. Its outputs: {list(names)}.")
        return [labels.get(name) for name in names]
    if isinstance(labels, (list, tuple)) and len(labels) == len(names):
        return list(labels)
    raise ValueError(
        f"labels of a model with {len(names)} outputs ({', '.join(names)}) must be a list with one entry per "
        f"output, in that order, or a dict by output name (None for an output without truth). "
        f"Received: {type(labels).__name__}{f' of {len(labels)}' if hasattr(labels, '__len__') else ''}."
    )


def _short(first: str, second: str, *, pictured: bool = False) -> str:
    """A reader's two lines as one, numbers to two digits: "3 87%", "0.24 err -0.03"; for a
    picture (drawn in its column) the figure alone: "MSE 0.012"."""
    what = "" if pictured and second else first.removeprefix("pred: ")
    how = second.replace("confidence ", "").replace("error ", "err ")
    text = " ".join(part for part in (what, how) if part)
    return re.sub(r"-?\d+\.\d{4,}", lambda number: f"{float(number.group()):.2g}", text)


class HeadsReader(OutputReader):
    """Several outputs: each head read by the reader of its kind, on its own output.

    Its lines name each head ("digit: 3 (87%)" over "size: 4.2 (err 0.3)"); its marks are
    the first classifying head's.

    Args:
        kinds: {head name: kind}, in the model's order.
        labels: the truth per head (see `make_reader`), or None.
        count: how many inputs.
        class_names: names of the classes of the classifying heads.
    """

    kind = "heads"

    def __init__(self, kinds: Mapping[str, str], labels, count: int, *, class_names: Sequence[str] | None = None):
        self.names, self.kinds = tuple(kinds), tuple(kinds.values())
        self.readers = tuple(
            OUTPUT_READERS[kind](head_labels, count, class_names=class_names if kind in READS_PROBABILITIES else None)
            for kind, head_labels in zip(self.kinds, _labels_by_head(labels, self.names)))
        super().__init__(None, count, class_names=class_names)
        has_labels = [reader.labels is not None for reader in self.readers]
        self.labels = tuple(reader.labels for reader in self.readers) if any(has_labels) else None

    def head(self, activations: Activations, index: int) -> Activations:
        """The pass as head `index`'s reader sees it: that head's output (and probabilities).

        Args:
            activations: the frame's pass, with `heads`.
            index: the head's index.
        """
        if not activations.heads:
            return replace(activations, output=None, probabilities=None)
        output = activations.heads[index]
        reads = self.kinds[index] in READS_PROBABILITIES
        return replace(activations, output=output, probabilities=to_probabilities(output) if reads else None,
                       heads=())

    def true_text(self, index: int) -> str | None:
        found = [reader.true_text(index) for reader in self.readers]
        found = [text.removeprefix("true: ") for text in found if text]
        return "true: " + " | ".join(found) if found else None

    def lines(self, activations: Activations) -> list[tuple[str, str]] | None:
        per_head = []
        for index, (name, reader) in enumerate(zip(self.names, self.readers)):
            lines = reader.lines(self.head(activations, index))
            per_head.append([f"{name}: {_short(*pair, pictured=reader.pictured)}" for pair in lines] if lines
                            else [f"{name}: -"] * self.count)
        # The label column has room for two lines under the truth: later heads share the second.
        return [(rows[0], " · ".join(rows[1:])) for rows in zip(*per_head)]

    def marks(self, activations: Activations) -> list[bool | None] | None:
        for index, reader in enumerate(self.readers):
            marks = reader.marks(self.head(activations, index))
            if marks is not None:
                return marks
        return None

    def targets(self) -> np.ndarray | None:
        return next((t for t in (reader.targets() for reader in self.readers) if t is not None), None)

    def predicted(self, activations: Activations) -> np.ndarray | None:
        for index, reader in enumerate(self.readers):
            if reader.targets() is not None:
                return reader.predicted(self.head(activations, index))
        return None
