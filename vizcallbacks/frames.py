"""Where frames go: PNG files with a JSON-lines manifest, or straight into a movie.

Sinks share one tiny protocol, `open()`, `send(frame, record)`, `close()`, so the
callback and the background pipeline never care what a frame becomes.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import tempfile
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["FrameRecord", "FrameStore", "MovieSink", "frame_name", "read_manifest", "MANIFEST_NAME"]

MANIFEST_NAME = "frames.jsonl"
_FRAME_GLOB = "plot-*.png"
_FRAME_NAME = re.compile(r"plot-(\d+)-(\d+)\.png")


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
    """Make folder `path` and prove that a file can be written in it, or raise a
    ValueError naming `argument`."""
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
    # os.access says yes to root everywhere but on read-only mounts; only a real file
    # tells (e.g. /proc, a full disk, a FUSE or network folder that refuses writes).
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ValueError(
            f"{argument}: cannot write in folder {str(path)!r}: {error.strerror or error}. Choose "
            "a folder you can write to."
        ) from None


def _parse_manifest_line(path: Path, line_number: int, raw: bytes, argument: str):
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{argument}: manifest '{path}' line {line_number} is not valid JSON ({error}). "
            "Repair or delete that line."
        ) from None
    if not isinstance(record, dict):
        raise ValueError(
            f"{argument}: manifest '{path}' line {line_number} is not a JSON object. "
            f"Received: {raw.decode('utf-8', 'replace').strip()[:200]}"
        )
    return record


def _torn_tail(data: bytes) -> tuple[int, bytes]:
    """Where the last line without its newline starts, and that line (b"" if none)."""
    start = data.rfind(b"\n") + 1
    return start, data[start:]


def read_manifest(manifest_path, *, argument: str = "manifest_path") -> list[tuple[int, dict]]:
    """(line number, record) for each line of a frames.jsonl manifest, blank lines skipped.

    A last line that has no newline and does not parse is what a run killed in the
    middle of writing it leaves: it is left out, with a warning. Any other line that
    is not a JSON object raises a ValueError naming the file and the line.

    >>> [record["file"] for _, record in read_manifest("run/frames.jsonl")]
    ['frames/plot-01-0000.png', ...]
    """
    path = Path(manifest_path)
    data = path.read_bytes()
    start, tail = _torn_tail(data)
    lines = data[:start].split(b"\n")[:-1] if start else []
    entries = [(number, _parse_manifest_line(path, number, raw, argument))
               for number, raw in enumerate(lines, start=1) if raw.strip()]
    if tail.strip():
        number = len(lines) + 1
        try:
            entries.append((number, _parse_manifest_line(path, number, tail, argument)))
        except ValueError:
            warnings.warn(
                f"manifest '{path}': line {number} is incomplete (no newline, not valid JSON), as "
                "a run killed while writing it leaves it; that line is left out, the frames "
                "before it are used.", stacklevel=2)
    return entries


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type: grey, RGB, RGBA


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _encode_png(frame: np.ndarray, compress_level: int) -> bytes | None:
    """`frame` (uint8, (H, W), (H, W, 3) or (H, W, 4)) as PNG bytes, or None for other
    frames. The pixels Pillow would write, written about 2.5 times faster: Pillow tries
    every row filter on every row, which costs more than deflating, and holds the GIL
    meanwhile. Frames drawn from a palette compress smaller unfiltered, and zlib
    releases the GIL, so training goes on while a frame is written."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0:
        return None
    if frame.ndim == 2:
        channels = 1
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        channels = frame.shape[2]
    else:
        return None
    height, width = frame.shape[:2]
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0, "None", on every row
    rows[:, 1:] = frame.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    return b"".join([_PNG_SIGNATURE, _png_chunk(b"IHDR", header),
                     _png_chunk(b"IDAT", zlib.compress(rows, compress_level)),
                     _png_chunk(b"IEND", b"")])


class FrameStore:
    """Writes each frame as a PNG in `frames_dir` and appends its record to the manifest.

    A PNG is written under a temporary name and renamed into place, and its manifest
    line is written (and flushed) only after, so a killed run leaves only whole frames,
    each with its line (at most the last frame without one). Existing frames are never
    replaced unless `overwrite=True`; a resumed run (`resume=True` on open) adds its
    frames and lines after the earlier ones, first dropping a last line that a killed
    run left half-written.
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

    def open(self, *, resume: bool = False, first_epoch: int = 0,
             digits: tuple[int, int] = (2, 4)) -> None:
        """Start writing. `resume=True` keeps the frames of epochs up to `first_epoch`
        (the 0-based `initial_epoch` of fit) and appends after them; frames of later
        epochs, which this run draws again, are refused unless `overwrite=True`."""
        self.check(resume=resume)
        for stale in self.frames_dir.glob(f".{_FRAME_GLOB}.partial"):
            stale.unlink()  # half a PNG that a killed run was writing
        if resume:
            self._repair_manifest()
            self._rewind(first_epoch)
        elif self.overwrite:
            for path in self.existing_frames():
                path.unlink()
            self.manifest_path.unlink(missing_ok=True)
        self._digits = digits
        self._manifest = open(self.manifest_path, "a", encoding="utf-8")

    def listed_frames(self) -> list[Path]:
        """The frame files the manifest lists, in its order."""
        if not self.manifest_path.is_file():
            return []
        return [self.manifest_path.parent / record["file"]
                for _, record in read_manifest(self.manifest_path)
                if isinstance(record.get("file"), str)]

    def _repair_manifest(self) -> None:
        """A run killed while writing a line leaves it without its newline: remove it if
        it is incomplete, end it if it is whole, so that the next line does not stick to it."""
        if not self.manifest_path.is_file():
            return
        data = self.manifest_path.read_bytes()
        start, tail = _torn_tail(data)
        if not tail:
            return
        try:
            _parse_manifest_line(self.manifest_path, 0, tail, "manifest_path")
            complete = True
        except ValueError:
            complete = False
        with open(self.manifest_path, "r+b") as manifest:
            if complete:
                manifest.seek(0, os.SEEK_END)
                manifest.write(b"\n")
            else:
                manifest.truncate(start)
        if not complete:
            warnings.warn(
                f"manifest '{self.manifest_path}': its last line was incomplete (no newline, not "
                "valid JSON), as a run killed while writing it leaves it; it was removed before "
                "this run appends its own lines.", stacklevel=3)

    def _rewind(self, first_epoch: int) -> None:
        """Frames of epoch `first_epoch + 1` and later would be drawn again by a run that
        resumes at `initial_epoch=first_epoch`: refuse them, or with overwrite remove them
        and their manifest lines, so that the manifest never lists a frame twice."""
        entries = read_manifest(self.manifest_path) if self.manifest_path.is_file() else []

        def later(epoch) -> bool:
            return isinstance(epoch, int) and epoch > first_epoch

        stale_lines = {number for number, record in entries if later(record.get("epoch"))}
        stale_files = [path for path in self.existing_frames()
                       if (match := _FRAME_NAME.fullmatch(path.name)) and later(int(match[1]))]
        if not stale_lines and not stale_files:
            return
        if not self.overwrite:
            names = [path.name for path in stale_files] or [
                record.get("file") for number, record in entries if number in stale_lines]
            raise FileExistsError(
                f"frames_dir {str(self.frames_dir)!r} already holds frames of epoch "
                f"{first_epoch + 1} and later ({names[0]}{', ...' if len(names) > 1 else ''}; "
                f"{len(names)} in all), which this run, resuming with initial_epoch={first_epoch}, "
                "would draw again. They are kept: resume from a later epoch, choose another "
                "folder, or pass overwrite=True (--overwrite) to replace them."
            )
        if stale_lines:
            # Numbered as read_manifest numbers them; _repair_manifest left a final newline.
            lines = self.manifest_path.read_bytes().split(b"\n")[:-1]
            kept = b"".join(line + b"\n" for number, line in enumerate(lines, start=1)
                            if number not in stale_lines)
            partial = self.manifest_path.with_name(f".{self.manifest_path.name}.partial")
            partial.write_bytes(kept)
            os.replace(partial, self.manifest_path)
        for path in stale_files:
            path.unlink()

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
        encoded = _encode_png(frame, self.png_compress_level)
        if encoded is not None:
            partial.write_bytes(encoded)
        else:  # frames of other kinds (16-bit, float, ...) as Pillow saves them
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
    """Streams frames into a movie writer (see `vizcallbacks.movie`) as they are made.

    `open(earlier=[png paths])` first puts frames already on disk into the movie, so
    that a resumed run's movie holds the whole run."""

    def __init__(self, writer):
        self.writer = writer
        self.movie = None  # the finished Movie, after close()
        self._started = False

    def open(self, *, earlier=(), **_) -> None:
        if not earlier:
            return
        from .movie import _decoded

        source = _decoded(list(earlier))
        try:
            for _, frame in source:
                self.send(frame, None)
        finally:
            source.close()

    def abort(self) -> None:
        """Stop without writing the movie; a file already at its path is untouched."""
        self.writer.abort()

    def send(self, frame: np.ndarray, record: FrameRecord) -> None:
        if not self._started:
            self.writer.setup(frame_size=frame.shape[:2])
            self._started = True
        self.writer.grab_frame(frame)

    def close(self) -> None:
        self.movie = self.writer.finish()
