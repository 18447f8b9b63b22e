"""Where frames go: PNG files with a JSON-lines manifest, or straight into a movie.

Sinks share one tiny protocol, `open()`, `send(frame, record)`, `close()`, so the
callback and the background pipeline never care what a frame becomes.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["FrameRecord", "FrameStore", "MovieSink", "frame_name", "MANIFEST_NAME"]

MANIFEST_NAME = "frames.jsonl"
_FRAME_GLOB = "plot-*.png"


@dataclass(frozen=True)
class FrameRecord:
    """What the manifest says of one frame. `epoch` counts from 1, as Keras's progress
    bar does; `batch` is the 0-based index of the batch within its epoch; `step` the
    number of batches trained so far; `examples_seen` is step x batch size (None when
    the batch size is not known); `time_s` is seconds since training began."""

    epoch: int
    batch: int
    step: int
    examples_seen: int | None
    accuracy: float | None
    loss: float | None
    time_s: float
    wall_time: float
    final: bool = False


def frame_name(epoch: int, batch: int, *, epoch_digits: int = 2, batch_digits: int = 4) -> str:
    """`plot-{epoch}-{batch}.png`, zero-padded so that names sort in time order."""
    return f"plot-{epoch:0{epoch_digits}d}-{batch:0{batch_digits}d}.png"


def _json_number(value):
    # JSON has no NaN; a diverged run's figures are written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _writable_dir(path: Path, argument: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"{argument}: cannot create folder {str(path)!r}: {error.strerror or error}. Choose a "
            "folder you can write to."
        ) from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(
            f"{argument}: folder {str(path)!r} is not writable. Choose a folder you can write to."
        )


class FrameStore:
    """Writes each frame as a PNG in `frames_dir` and appends its record to the manifest.

    A PNG is written under a temporary name and renamed into place, and its manifest
    line is written (and flushed) only after, so a killed run leaves only whole frames,
    each with its line. Existing frames are never replaced unless `overwrite=True`; a
    resumed run (`resume=True` on open) adds its frames beside the earlier ones.
    """

    def __init__(self, frames_dir, *, manifest_path=None, overwrite: bool = False,
                 png_compress_level: int = 1):
        self.frames_dir = Path(frames_dir)
        self.manifest_path = Path(manifest_path) if manifest_path is not None else self.frames_dir / MANIFEST_NAME
        self.overwrite = overwrite
        self.png_compress_level = png_compress_level
        self._manifest = None
        self._digits = (2, 4)

    def existing_frames(self) -> list[Path]:
        return sorted(self.frames_dir.glob(_FRAME_GLOB)) if self.frames_dir.is_dir() else []

    def check(self, *, resume: bool = False) -> None:
        """Raise before training if the folders are unusable or would lose frames."""
        _writable_dir(self.frames_dir, "frames_dir")
        _writable_dir(self.manifest_path.parent, "manifest_path")
        existing = self.existing_frames()
        if (existing or self.manifest_path.exists()) and not (self.overwrite or resume):
            raise FileExistsError(
                f"frames_dir {str(self.frames_dir)!r} already holds {len(existing)} frames "
                f"(manifest {str(self.manifest_path)!r}). They are kept: pass overwrite=True "
                "(--overwrite) to replace them, choose another folder, or resume with "
                "model.fit(..., initial_epoch=k) to add to them."
            )

    def open(self, *, resume: bool = False, digits: tuple[int, int] = (2, 4)) -> None:
        self.check(resume=resume)
        if self.overwrite and not resume:
            for path in self.existing_frames():
                path.unlink()
            self.manifest_path.unlink(missing_ok=True)
        self._digits = digits
        self._manifest = open(self.manifest_path, "a", encoding="utf-8")

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        from PIL import Image

        name = frame_name(record.epoch, record.batch, epoch_digits=self._digits[0],
                          batch_digits=self._digits[1])
        path = self.frames_dir / name
        if path.exists() and not self.overwrite:
            raise FileExistsError(
                f"frame {str(path)!r} exists already and is kept. Pass overwrite=True to replace it."
            )
        partial = self.frames_dir / f".{name}.partial"
        Image.fromarray(frame).save(partial, format="PNG", compress_level=self.png_compress_level)
        os.replace(partial, path)
        line = {"file": os.path.relpath(path, self.manifest_path.parent)}
        line.update({key: _json_number(value) for key, value in asdict(record).items()})
        self._manifest.write(json.dumps(line) + "\n")
        self._manifest.flush()

    def close(self) -> None:
        if self._manifest is not None:
            self._manifest.close()
            self._manifest = None


class MovieSink:
    """Streams frames into a movie writer (see `vizcallbacks.movie`) as they are made."""

    def __init__(self, writer):
        self.writer = writer
        self.movie = None  # the finished Movie, after close()
        self._started = False

    def open(self, **_) -> None:
        pass

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        if not self._started:
            self.writer.setup(frame_size=frame.shape[:2])
            self._started = True
        self.writer.grab_frame(frame)

    def close(self) -> None:
        self.movie = self.writer.finish()
