"""`ManifestSink`: one JSON line per frame in the manifest (see `framefiles`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..framefiles import FrameRecord, ManifestWriter
from .base import Sink

__all__ = ["ManifestSink"]


class ManifestSink(Sink):
    """Appends one line per frame to the manifest, flushed at once: `file` (the frame's PNG,
    relative to the manifest), then the fields of its `FrameRecord`.

    Listed after the PNG sink, it writes a frame's line only once the frame is on disk, so
    every line names a whole frame. Without `frames_dir` (frames not kept as PNGs) the
    lines have no `file`.

    >>> sinks = [PngSink("run/frames"), ManifestSink("run/manifest.jsonl", frames_dir="run/frames")]

    Args:
        manifest_path: the manifest file; lines are appended to one that exists.
        frames_dir: the folder of the frames' PNGs, for each line's `file`; None to write
            lines without it.
        digits: how the frames' names are padded, as the PNG sink pads them.
    """

    def __init__(self, manifest_path, *, frames_dir=None, digits: tuple[int, int] = (2, 4)):
        self.manifest_path = Path(manifest_path)
        self.frames_dir = None if frames_dir is None else Path(frames_dir)
        self.digits = digits
        self._writer: ManifestWriter | None = None

    def open(self, *, earlier=()) -> None:
        self._writer = ManifestWriter(self.manifest_path)

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        file = None if self.frames_dir is None else self.frames_dir / record.file_name(self.digits)
        self._writer.write(record.manifest_fields(), file=file)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
