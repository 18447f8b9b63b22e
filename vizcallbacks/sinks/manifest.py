"""`ManifestSink`: one JSON line per frame in the manifest (see `framefiles`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..framefiles import FrameRecord, ManifestWriter
from .base import Sink, manifest_fields

__all__ = ["ManifestSink"]


class ManifestSink(Sink):
    """Appends one line per frame to the manifest, flushed at once: `file` (the frame's PNG,
    relative to the manifest), then the fields of its record (a `FrameRecord`, or a
    `NamedRecord`'s fields: see `records.manifest_fields`).

    Listed after the PNG sink, it writes a frame's line only once the frame is on disk, so
    every line names a whole frame. Without `frames_dir` (frames not kept as PNGs) the
    lines have no `file`.

    >>> sinks = [PngSink("run/frames"), ManifestSink("run/manifest.jsonl", frames_dir="run/frames")]

    Args:
        manifest_path: the manifest file; lines are appended to one that exists.
        frames_dir: the folder of the frames' PNGs, for each line's `file`; None to write
            lines without it.
        digits: how the frames' names are padded, as the PNG sink pads them.
        append: add to a manifest that is there (a resumed run's); False starts it afresh.
    """

    def __init__(self, manifest_path, *, frames_dir=None, digits: tuple[int, int] = (2, 4), append: bool = True):
        self.manifest_path = Path(manifest_path)
        self.frames_dir = None if frames_dir is None else Path(frames_dir)
        self.digits = digits
        self.append = append
        self._writer: ManifestWriter | None = None

    def open(self, *, earlier=()) -> None:
        self._writer = ManifestWriter(self.manifest_path, append=self.append)

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        file = None if self.frames_dir is None else self.frames_dir / record.file_name(self.digits)
        self._writer.write(manifest_fields(record), file=file)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
