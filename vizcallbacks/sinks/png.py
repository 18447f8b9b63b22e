"""`PngSink`: each frame as a PNG file, `plot-{epoch}-{batch}.png`, written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..framefiles import FrameRecord, write_png
from .base import Sink

__all__ = ["PngSink"]


class PngSink(Sink):
    """Writes each frame as `plot-{epoch}-{batch}.png` in `frames_dir`, under a hidden
    temporary name renamed into place, so that a killed run never leaves half a frame.

    >>> sink = PngSink("run/frames")
    >>> sink.send(frame, record)           # run/frames/plot-01-0250.png

    Args:
        frames_dir: the folder of the frames; made when the sink opens.
        digits: how many digits epoch and batch are padded to in file names (see
            `FrameRecord.file_name`).
        overwrite: replace a frame file that exists already; otherwise it is kept and
            `send` raises FileExistsError.
        compress_level: zlib's level for the PNGs, 0 (none) to 9 (smallest, slowest).
    """

    def __init__(self, frames_dir, *, digits: tuple[int, int] = (2, 4), overwrite: bool = False,
                 compress_level: int = 1):
        self.frames_dir = Path(frames_dir)
        self.digits = digits
        self.overwrite = overwrite
        self.compress_level = compress_level

    def open(self, *, earlier=()) -> None:
        self.frames_dir.mkdir(parents=True, exist_ok=True)

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        path = self.frames_dir / record.file_name(self.digits)
        if path.exists() and not self.overwrite:
            raise FileExistsError(
                f"frame {str(path)!r} exists already and is kept. Pass overwrite=True to replace it."
            )
        write_png(frame, path, compress_level=self.compress_level)
