"""The frame file format: how frames and their manifest are named, written and read back.

A run folder holds PNG frames and a manifest, named `MANIFEST_NAME`: one JSON object a line, each
naming its frame's PNG (``"file"``, relative to the manifest) with the figures of that moment.
Every writer of frames (the callback's sinks, ``compare``'s runs and composer, the scripts)
and every reader (``stitch``, ``compare``, the scripts) goes through this module, so that a
frame killed in mid-write never reads as a whole one:

- a PNG is written under a hidden temporary name and renamed into place (`write_png`);
- its manifest line is written only after, and flushed (`ManifestWriter`, `write_frame`);
- a last line that a killed run left without its newline is left out with a warning when
  read (`read_manifest`), and can be repaired before appending (`torn_tail`).

>>> with ManifestWriter(Path("run") / MANIFEST_NAME) as manifest:
...     write_frame(frame, "run/frames/plot-01-0000.png", manifest, {"epoch": 1, "batch": 0})
>>> [record["file"] for _, record in read_manifest(Path("run") / MANIFEST_NAME)]
['frames/plot-01-0000.png']
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import os
import re
import struct
import types
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checks import available_cpus
from .figures import FIGURE_KEYS, check_figures

__all__ = ["MANIFEST_NAME", "FRAMES_DIR", "RUNS_DIR", "FRAME_GLOB", "FRAME_NAME_PATTERN", "PARTIAL_GLOB", "FrameRecord",
           "frame_name", "partial_path", "write_atomically", "encode_png", "write_png", "read_png", "decoded",
           "ManifestWriter", "write_frame", "read_manifest", "parse_manifest_line", "torn_tail"]

#: The manifest's file name, in a frames folder or beside it.
MANIFEST_NAME = "frames.jsonl"
#: The frames' folder in a run folder, beside the manifest.
FRAMES_DIR = "frames"
#: A comparison's folder of runs, each `RUNS_DIR/<name>/` with its own manifest (see
#: `vizcallbacks.apps.compare`); here so that readers of a comparison need not import it.
RUNS_DIR = "runs"
#: The callback's frames, `frame_name`'s pattern: as a glob, and with (epoch, batch) groups.
FRAME_GLOB = "plot-*.png"
FRAME_NAME_PATTERN = re.compile(r"plot-(\d+)-(\d+)\.png")

# How many decoded PNGs may wait for their reader: enough to hide decode time, bounded for memory.
_READ_AHEAD_FRAMES = 8
# PIL decodes without holding the GIL, so threads help, but an encoder (ffmpeg) needs a core too.
_DECODE_THREADS = min(4, max(1, available_cpus() - 1))

# What a manifest line holds besides the figures.
_RECORD_FIELDS = ("epoch", "batch", "step", "examples_seen", "time_s", "wall_time", "final", "due_batch")


@dataclass(frozen=True, init=False, repr=False)
class FrameRecord:
    """What the callback's manifest says of one frame.

    The figures (`figures.FIGURES`: accuracy, loss, mae, ...) are given by their keys and
    read back as attributes, `record.accuracy`, None when the record has none; the
    manifest writes them as fields of their own (`manifest_fields`).

    >>> record = FrameRecord(1, 250, 251, 8032, time_s=12.5, wall_time=time.time(), accuracy=0.73, loss=0.51)
    >>> record.accuracy, record.mae
    (0.73, None)

    Args:
        epoch: the epoch, counted from 1 as Keras's progress bar counts.
        batch: the 0-based index of the batch within its epoch.
        step: the number of batches trained so far.
        examples_seen: `step` x batch size; None when the batch size is not known.
        time_s: seconds since training began.
        wall_time: the clock's time (`time.time()`) of the frame.
        final: whether this is the frame made at the end of training.
        due_batch: the multiple of `every_n_batches` this frame stands for: `batch` itself,
            unless Keras calls its hooks once per several batches
            (`compile(steps_per_execution=k)`), when the frame falls at the first hook at
            or after the multiple; None for the final frame.
        **figures: the figures of that moment by key, each a number or None: the
            callback gives those Keras reports (`accuracy`, `mae`, `loss`; None when it
            reported none), compare its held-out ones. A figure given as None is still
            written (as null), so that every line of a run has the same fields.
    """

    epoch: int
    batch: int
    step: int
    examples_seen: int | None
    time_s: float
    wall_time: float
    final: bool
    due_batch: int | None
    figures: Mapping[str, float | None]

    def __init__(self, epoch: int, batch: int, step: int, examples_seen: int | None = None, *,
                 time_s: float, wall_time: float, final: bool = False, due_batch: int | None = None,
                 **figures: float | None):
        for name, value in (("epoch", epoch), ("batch", batch), ("step", step), ("examples_seen", examples_seen),
                            ("time_s", time_s), ("wall_time", wall_time), ("final", final),
                            ("due_batch", due_batch),
                            ("figures", types.MappingProxyType(check_figures(figures, "FrameRecord")))):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # record.accuracy, record.loss, ...: any figure, None when the record has none.
        if name in FIGURE_KEYS:
            return self.figures.get(name)
        raise AttributeError(f"'FrameRecord' object has no attribute {name!r}")

    def __hash__(self) -> int:
        return hash((self.epoch, self.batch, self.step, self.examples_seen, self.time_s, self.wall_time,
                     self.final, self.due_batch, tuple(self.figures.items())))

    @classmethod
    def from_fields(cls, fields: Mapping) -> FrameRecord:
        """The record a manifest line (or any flat mapping of its fields) describes: the
        inverse of `manifest_fields`; other keys ("file") are left out.

        >>> FrameRecord.from_fields({"file": "frames/plot-01-0000.png", "epoch": 1, "batch": 0, "step": 1,
        ...                          "time_s": 0.1, "wall_time": 1e9, "loss": 0.5}).loss
        0.5

        Args:
            fields: field name -> value, flat, as `manifest_fields` gives them.

        Returns:
            The record.
        """
        return cls(**{key: value for key, value in fields.items() if key in _RECORD_FIELDS or key in FIGURE_KEYS})

    def __reduce__(self):
        return FrameRecord.from_fields, (self.manifest_fields(),)

    def __repr__(self) -> str:
        return f"FrameRecord({', '.join(f'{key}={value!r}' for key, value in self.manifest_fields().items())})"

    def manifest_fields(self) -> dict:
        """The record as its manifest line holds it, flat: epoch, batch, step,
        examples_seen, each figure under its key, then time_s, wall_time, final, due_batch.

        Returns:
            A new dict.
        """
        # The figures of training that every manifest line has held since 0.1, null when unknown.
        figures = {**dict.fromkeys(("accuracy", "mae", "loss")), **self.figures}
        return {"epoch": self.epoch, "batch": self.batch, "step": self.step, "examples_seen": self.examples_seen,
                **figures,
                "time_s": self.time_s, "wall_time": self.wall_time, "final": self.final, "due_batch": self.due_batch}

    def file_name(self, digits: tuple[int, int] = (2, 4)) -> str:
        """This frame's PNG name (see `frame_name`).

        Args:
            digits: how many digits the epoch and the batch are padded to.

        Returns:
            `plot-{epoch}-{batch}.png`, e.g. `"plot-01-0250.png"`.
        """
        return frame_name(self.epoch, self.batch, epoch_digits=digits[0], batch_digits=digits[1])


def frame_name(epoch: int, batch: int, *, epoch_digits: int = 2, batch_digits: int = 4) -> str:
    """`plot-{epoch}-{batch}.png`, zero-padded so that names sort in time order.

    Args:
        epoch: the epoch, from 1.
        batch: the batch index within the epoch.
        epoch_digits: how many digits the epoch is padded to.
        batch_digits: how many digits the batch is padded to.

    Returns:
        The file name, e.g. `frame_name(1, 250)` is `"plot-01-0250.png"`.
    """
    return f"plot-{epoch:0{epoch_digits}d}-{batch:0{batch_digits}d}.png"


def partial_path(path) -> Path:
    """The hidden temporary file that `path` is written as before it is renamed into place:
    in the same folder, so that the rename is atomic.

    Args:
        path: the file's final path.

    Returns:
        `.{name}.partial` beside it.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


#: What writing any file leaves when killed in mid-write (see `partial_path`), as a glob.
PARTIAL_GLOB = partial_path("*").name


def write_atomically(path, data: bytes) -> Path:
    """Write `data` to `path` under a temporary name, then rename it into place: a reader
    (or a process killed meanwhile) sees the old file or the new one, never half of it.

    Args:
        path: the file to write; an existing file there is replaced.
        data: its new contents.

    Returns:
        `Path(path)`.
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except BaseException:  # a full disk, Ctrl-C: no half-written file left behind
        partial.unlink(missing_ok=True)
        raise
    return path


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


def encode_png(frame: np.ndarray, *, compress_level: int = 1) -> bytes:
    """`frame` as PNG bytes, for sinks that hand frames on encoded (TensorBoard, the notebook);
    lossless: decoding them gives `frame` back.

    >>> encode_png(np.zeros((2, 3, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'

    Args:
        frame: an image array; uint8 (H, W), (H, W, 3) or (H, W, 4) takes the fast path
            (see `write_png`), other arrays are encoded as Pillow encodes them.
        compress_level: zlib's level, 0 (none) to 9 (smallest, slowest).

    Returns:
        The PNG file's bytes.
    """
    encoded = _encode_png(frame, compress_level)
    if encoded is not None:
        return encoded
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def write_png(frame: np.ndarray, path, *, compress_level: int = 1) -> Path:
    """Write `frame` as a PNG at `path`, atomically (see `write_atomically`).

    Args:
        frame: an image array; uint8 (H, W), (H, W, 3) or (H, W, 4) takes the fast path,
            other arrays are saved as Pillow saves them.
        path: the PNG to write; an existing file there is replaced.
        compress_level: zlib's level, 0 (none) to 9 (smallest, slowest).

    Returns:
        `Path(path)`.
    """
    return write_atomically(path, encode_png(frame, compress_level=compress_level))


def read_png(path, *, argument: str = "frames") -> np.ndarray:
    """Decode the PNG at `path` into an RGB array.

    Args:
        path: the PNG file.
        argument: what the messages name as the source of the file.

    Returns:
        A (height, width, 3) uint8 array; grey, palette and RGBA images are converted.

    Raises:
        FileNotFoundError: the file is not there (any more).
        ValueError: the file cannot be decoded: a truncated or corrupt PNG.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{argument}: frame file '{path}' disappeared") from None
    except Exception as exc:  # PIL reports corrupt files as OSError, SyntaxError, zlib errors...
        raise ValueError(
            f"{argument}: could not decode '{path}'; is it a truncated or corrupt PNG? ({exc})"
        ) from exc


def decoded(files: Iterable[Path], *, argument: str = "frames") -> Iterator[tuple[str, np.ndarray]]:
    """Decode PNGs in order, a few ahead in worker threads (PIL releases the GIL while it
    inflates). Close the iterator to stop early.

    Args:
        files: the PNG paths, in the order wanted.
        argument: what the messages name as the source of the files (see `read_png`).

    Returns:
        An iterator of ("'path'", RGB array), one per file.
    """
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=_DECODE_THREADS)
    try:
        remaining = iter(files)
        pending = collections.deque(
            (path, pool.submit(read_png, path, argument=argument))
            for path in itertools.islice(remaining, _READ_AHEAD_FRAMES)
        )
        while pending:
            path, future = pending.popleft()
            frame = future.result()
            following = next(remaining, None)
            if following is not None:
                pending.append((following, pool.submit(read_png, following, argument=argument)))
            yield f"'{path}'", frame
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _json_number(value):
    # JSON has no NaN; a diverged run's figures are written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ManifestWriter:
    """Appends lines to a manifest, each flushed as soon as it is written, so that a run
    killed at any moment leaves every line but perhaps the last whole.

    >>> with ManifestWriter(Path("run") / MANIFEST_NAME) as manifest:
    ...     manifest.write({"epoch": 1, "loss": 0.5}, file="run/frames/plot-01-0000.png")

    Args:
        manifest_path: the manifest file; made if missing.
        append: add to an existing manifest (True) or start it afresh (False).
    """

    def __init__(self, manifest_path, *, append: bool = True):
        self.path = Path(manifest_path)
        self._file = open(self.path, "a" if append else "w", encoding="utf-8")

    def write(self, fields: Mapping, *, file=None) -> dict:
        """Write one line: `"file"` (when given), then `fields`. Non-finite numbers among
        the fields are written as null, as JSON has no NaN.

        Args:
            fields: the figures of the frame; JSON-serializable values.
            file: the frame's PNG, written as a path relative to the manifest's folder;
                None for a line without a file.

        Returns:
            The line as written (a dict).
        """
        line = {} if file is None else {"file": Path(os.path.relpath(file, self.path.parent)).as_posix()}
        line.update({key: _json_number(value) for key, value in fields.items()})
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()
        return line

    def close(self) -> None:
        """Close the file; calling it again does nothing."""
        self._file.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def write_frame(frame: np.ndarray, path, manifest: ManifestWriter, fields: Mapping, *,
                compress_level: int = 1) -> dict:
    """Write `frame` as a PNG at `path` (atomically), then its line in `manifest`: the order
    that makes every line name a whole frame.

    Args:
        frame: the image (see `write_png`).
        path: the PNG to write.
        manifest: the manifest that lists it.
        fields: the line's figures (see `ManifestWriter.write`).
        compress_level: zlib's level for the PNG.

    Returns:
        The manifest line as written.
    """
    write_png(frame, path, compress_level=compress_level)
    return manifest.write(fields, file=path)


def parse_manifest_line(path: Path, line_number: int, raw: bytes, argument: str = "manifest_path") -> dict:
    """One manifest line as a dict.

    Args:
        path: the manifest, for the message.
        line_number: the line's number, from 1, for the message.
        raw: the line's bytes, without or with its newline.
        argument: what the message names first.

    Returns:
        The JSON object of the line.

    Raises:
        ValueError: the line is not valid JSON, or not a JSON object.
    """
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


def torn_tail(data: bytes) -> tuple[int, bytes]:
    """Where a manifest's last line without its newline starts, and that line.

    Args:
        data: the manifest's bytes.

    Returns:
        (offset, line); the line is b"" when the manifest ends with a newline.
    """
    start = data.rfind(b"\n") + 1
    return start, data[start:]


def read_manifest(manifest_path, *, argument: str = "manifest_path") -> list[tuple[int, dict]]:
    """(line number, record) for each line of a manifest, blank lines skipped.

    A last line that has no newline and does not parse is what a run killed in the
    middle of writing it leaves: it is left out, with a warning. Any other line that
    is not a JSON object raises a ValueError naming the file and the line.

    >>> [record["file"] for _, record in read_manifest(Path("run") / MANIFEST_NAME)]
    ['frames/plot-01-0000.png', ...]

    Args:
        manifest_path: the manifest file.
        argument: what error messages name first (the caller's argument).

    Returns:
        A list of (line number from 1, dict).

    Raises:
        ValueError: a line other than a torn last one is not a JSON object.
    """
    path = Path(manifest_path)
    data = path.read_bytes()
    start, tail = torn_tail(data)
    lines = data[:start].split(b"\n")[:-1] if start else []
    entries = [(number, parse_manifest_line(path, number, raw, argument))
               for number, raw in enumerate(lines, start=1) if raw.strip()]
    if tail.strip():
        number = len(lines) + 1
        try:
            entries.append((number, parse_manifest_line(path, number, tail, argument)))
        except ValueError:
            warnings.warn(
                f"manifest '{path}': line {number} is incomplete (no newline, not valid JSON), as "
                "a run killed while writing it leaves it; that line is left out, the frames "
                "before it are used.", stacklevel=2)
    return entries
