"""The one interface every sink implements: `Sink`. A new destination for frames (a
TensorBoard log, a notebook view) is one new subclass in its own file.

And what a sink is sent with each frame besides the pixels, a record: the callback's frames
carry a `framefiles.FrameRecord`; frames of another shape (compare's panels and movie
frames, whose manifest lines hold other figures) a `NamedRecord`. A sink reads a record's
file name (`file_name`), manifest line (`manifest_fields`), `step`, `wall_time` and any
figure by name (`getattr`)."""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..framefiles import FrameRecord

__all__ = ["Sink", "NamedRecord", "manifest_fields"]


class Sink(abc.ABC):
    """One destination for frames. The pipeline calls open() once before the first frame,
    send() for every frame in order, then finish() once at the end (also when fit raised:
    what was sent is kept), or abort() when what was begun is not worth keeping.

    A subclass implements `send`, and `open`, `finish` or `abort` where it has work there.
    `send` runs in the pipeline's worker thread (with `background=False`, in the training
    thread), one frame at a time, in the order the callback lists the sinks; `open`,
    `finish` and `abort` run in the training thread, never while `send` runs. A sink tied
    to the thread that made it (sqlite, a GUI) must hand its work to that thread. A sink
    never needs another.

    >>> class CountingSink(Sink):
    ...     def __init__(self):
    ...         self.count = 0
    ...     def send(self, frame, record):
    ...         self.count += 1
    >>> callback = PlotConvCallback(x_test[:4], frames_dir="run/frames", sinks=[CountingSink()])
    """

    #: True for a sink that only copies frames to another place (a tracker, TensorBoard, a
    #: notebook): when it fails, the run's own folder (frames, manifest, movies) is still
    #: whole, so an application finishes the run as if nothing failed and only says it.
    copies_elsewhere: bool = False
    #: True for a sink that only follows the others (the page, written from the manifest):
    #: when it is all that is left, no more frames are drawn.
    follows_others: bool = False

    def open(self, *, earlier: Sequence[Path] = ()) -> None:  # default: nothing
        """`earlier`: PNG paths of frames a resumed run already made, in order.

        Args:
            earlier: the frames a resumed run's earlier epochs left, for sinks that must
                hold the whole run (a movie); empty for a run that starts afresh.
        """

    @abc.abstractmethod
    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        """Take one frame.

        Args:
            frame: the frame, a (height, width, 3) uint8 RGB array; every frame of a run
                has the same size. The sink must not change it.
            record: where training stood when it was drawn (see `FrameRecord`).
        """

    def finish(self) -> None:  # default: nothing
        """Make what was sent final: close files, write the movie."""

    def abort(self) -> None:  # default: self.finish()
        """Stop without making what was begun final, where that matters (a movie);
        by default the same as `finish`."""
        self.finish()


@dataclasses.dataclass(frozen=True)
class NamedRecord:
    """A frame's record with a fixed file name and free-form figures, for frames that are
    not the callback's (compare's panels, its movie frames).

    >>> record = NamedRecord("p0003.png", {"index": 3, "heldout_accuracy": 0.71}, step=384)
    >>> record.file_name(), record.heldout_accuracy, record.step
    ('p0003.png', 0.71, 384)

    Args:
        name: the frame's PNG file name, e.g. "p0003.png".
        fields: the manifest line after its "file", in order; a figure that is not a
            finite number is kept as None (JSON has no NaN), and read as an attribute.
        step: where the sinks that order frames by a step (TensorBoard) put the frame.
        wall_time: when the frame was drawn (`time.time()`); None for when it is sent.
    """

    name: str
    fields: Mapping
    step: int
    wall_time: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "fields", {key: _finite_or_none(value) for key, value in self.fields.items()})

    def file_name(self, digits=None) -> str:
        """The frame's PNG name, whatever the padding asked for.

        Args:
            digits: ignored: a named record has its own name.
        """
        return self.name

    def __getattr__(self, key: str):
        # Only for names that are not the dataclass's own: the figures.
        fields = self.__dict__.get("fields", {})
        if key.startswith("__") or key not in fields:
            raise AttributeError(f"NamedRecord has no field {key!r}.")
        return fields[key]


def _finite_or_none(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def manifest_fields(record) -> dict:
    """The fields of `record`'s manifest line, after its "file", in order.

    Args:
        record: a `NamedRecord` or a dataclass such as `FrameRecord`.

    Returns:
        A dict of the line's fields.
    """
    if isinstance(record, NamedRecord):
        return dict(record.fields)
    if hasattr(record, "manifest_fields"):  # FrameRecord: its figures flat, as the manifest keeps them
        return record.manifest_fields()
    return dataclasses.asdict(record)
