"""The activation store's format: what every frame was drawn from, kept as data (names,
files, encoding and decoding); `store.py` writes it, `reader.py` reads it.

A run folder's store is a folder, `STORE_DIR` (``store/``), holding:

- one compressed NumPy archive per frame, ``step-0000000250.npz`` (`frame_file_name`): the
  recorded layers' outputs for the shown inputs (all channels), the model's output, the
  frame's step and its figures (JSON);
- ``meta.json`` (`META_NAME`): the store format's version, the recorded layers in model
  order with each one's shape (per input) and dtype, the model output's, the precision
  kept, and the drawing options (`FrameStyle.to_dict()`) when given;
- ``inputs.npz`` (`INPUTS_NAME`): the input images shown, and their labels, once;
- ``index.jsonl`` (`INDEX_NAME`): one line per frame (step, file, figures), so that a reader
  learns the steps and figures without opening every frame. It is only a shortcut: the frame
  files are the truth, and the index is rebuilt from them when it disagrees.

Why one file per frame, written atomically, and not Zarr or HDF5: a frame's archive is
written whole to a hidden temporary file and renamed into place (`os.replace`, atomic on
POSIX and Windows), the way the PNG frames are. A run killed with SIGKILL at any moment
therefore leaves every earlier frame whole and readable, and at most a hidden ``.partial``
file, which no reader lists and the next writer removes. HDF5 keeps one file whose
metadata a kill in mid-write can corrupt, losing the whole run; Zarr is safe per chunk but
is a dependency (not installed here) whose metadata and chunks are separate writes. The
``.npz`` format needs NumPy alone, so a laptop without Keras, TensorFlow, JAX or PyTorch
reads a store recorded on a GPU box; every member is compressed on its own, so reading one
layer over time decompresses that layer only (`vizcallbacks.record.reader`).

Precision (`PRECISIONS`). The default, "uint8", keeps each layer's output quantised to 256
levels per channel with a stored scale and offset (float32): for maps and sequences the
range is that of one input's channel over its positions, for vectors that of one unit over
the inputs. Each value is kept within 1/510 of that range; a channel's minimum and maximum
are kept (ReLU's zeros exactly). Measured for the demo's default CNN (7 inputs of 28x28x1,
all seven layers recorded, untrained and after an epoch): 0.27-0.28 MB a frame for
Fashion-MNIST images and 0.38-0.40 MB for random ones, against 0.45-0.47 and 0.62-0.67 MB in
float16 (over the 0.5 MB budget on noisy inputs) and 0.83-1.29 MB in float32. "float16" keeps about three significant
digits (relative error below 1/2048; under 6e-5, within 3e-8); "float32" is lossless. Whatever the precision, a
layer whose output is not finite in a frame (a diverged run) or too large for float16 is
kept in float32 in that frame, integer outputs in their own dtype, and the model's output
always in float32 (it is small, and probabilities are read as figures).
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..checks import is_int

__all__ = ["STORE_DIR", "META_NAME", "INPUTS_NAME", "INDEX_NAME", "FORMAT_VERSION", "PRECISIONS",
           "DEFAULT_PRECISION", "FRAME_FILE_PATTERN", "FORMAT_NAME", "frame_file_name", "frame_files", "read_meta",
           "read_index", "frame_figures", "layer_member", "decode_member", "encode_member", "json_value",
           "archive_bytes", "same_array", "package_version"]

#: The store's folder in a run folder.
STORE_DIR = "store"
#: The store's description, in its folder.
META_NAME = "meta.json"
#: The inputs shown (images, labels), once, in the store's folder.
INPUTS_NAME = "inputs.npz"
#: One JSON line per frame: {"step", "file", "figures"}; rebuilt from the frames when torn.
INDEX_NAME = "index.jsonl"
#: The version of the layout described above. A reader refuses a store of a later version.
FORMAT_VERSION = 1
#: How layer outputs are kept (see the module's docstring).
PRECISIONS = ("uint8", "float16", "float32")
DEFAULT_PRECISION = "uint8"
#: A frame's file: `frame_file_name`'s names, with the step as group 1.
FRAME_FILE_PATTERN = re.compile(r"step-(\d+)\.npz")

FORMAT_NAME = "vizcallbacks activation store"
_FLOAT16_MAX = float(np.finfo(np.float16).max)
_LEVELS = 255  # uint8's largest level
# zlib's fastest level: on the demo's frames four times faster than NumPy's (level 6), for
# 2% more bytes; the frames are compressed in the pipeline's worker, beside training.
_COMPRESS_LEVEL = 1


def frame_file_name(step: int) -> str:
    """The file of the frame at `step`, zero-padded so that names sort in step order.

    Args:
        step: the frame's training step, 0 or more.

    Returns:
        `step-{step:010d}.npz`, e.g. `frame_file_name(250)` is `"step-0000000250.npz"`.
    """
    return f"step-{step:010d}.npz"


def frame_files(store_dir) -> dict[int, Path]:
    """The whole frame files in a store's folder (never a `.partial` one), by step.

    Args:
        store_dir: the store's folder.

    Returns:
        {step: path}, in step order; empty when the folder does not exist.
    """
    folder = Path(store_dir)
    found = {}
    for path in folder.glob("step-*.npz") if folder.is_dir() else ():
        match = FRAME_FILE_PATTERN.fullmatch(path.name)
        if match:
            found[int(match[1])] = path
    return dict(sorted(found.items()))


def read_meta(store_dir, *, argument: str = "path") -> dict:
    """The store's `meta.json`, refused when a later vizcallbacks wrote it.

    Args:
        store_dir: the store's folder.
        argument: what the messages name first (the caller's argument).

    Returns:
        The description, a dict.

    Raises:
        FileNotFoundError: the folder holds no `meta.json`.
        ValueError: it is not a store's description, or its format version is later than
            `FORMAT_VERSION`: a newer vizcallbacks wrote it.
    """
    path = Path(store_dir) / META_NAME
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{argument}: no activation store at '{store_dir}' ({META_NAME} is missing).") \
            from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{argument}: '{path}' is not a valid {META_NAME} ({error}).") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if not is_int(version) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{argument}: '{path}' does not describe a vizcallbacks activation store "
                         f"(no \"format\": {FORMAT_NAME!r} with an integer \"format_version\").")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{argument}: the activation store at '{store_dir}' has store format version {version}, written by "
            f"a newer vizcallbacks ({meta.get('written_by', 'unknown version')}); this vizcallbacks "
            f"({package_version()}) reads store format versions up to {FORMAT_VERSION}. Upgrade vizcallbacks "
            "(pip install --upgrade vizcallbacks) to read it.")
    return meta


def package_version() -> str:
    """The installed vizcallbacks's version, written into every store's meta."""
    from .. import __version__

    return __version__


def read_index(store_dir) -> dict[int, dict]:
    """The index's entries by step, the last line of a step winning; lines that do not parse
    (the torn last line of a killed run) are left out: the frame files are the truth.

    Args:
        store_dir: the store's folder.

    Returns:
        {step: {"step", "file", "figures"}}; empty without an index.
    """
    try:
        data = (Path(store_dir) / INDEX_NAME).read_bytes()
    except FileNotFoundError:
        return {}
    entries = {}
    for raw in data.split(b"\n"):
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict) and is_int(entry.get("step")) and isinstance(entry.get("file"), str):
            entries[entry["step"]] = entry
    return entries


def layer_member(position: int) -> str:
    """The archive member that holds the layer at `position` in the store's layers.

    Args:
        position: the layer's index in `meta["layers"]`.

    Returns:
        `"layer{position}"`; quantised layers add `".scale"` and `".offset"` members.
    """
    return f"layer{position}"


def decode_member(archive, member: str) -> np.ndarray:
    """A layer's (or the output's) values from one frame's archive, as float32.

    Args:
        archive: the frame's opened archive (`np.load(path)`); only `member` and its
            scale and offset are read from it.
        member: the member's name (`layer_member`, or `"output"`).

    Returns:
        A float32 array (inputs, ...).
    """
    values = archive[member]
    if values.dtype != np.uint8 or f"{member}.scale" not in archive.files:
        return values.astype(np.float32)
    scale, offset = archive[f"{member}.scale"], archive[f"{member}.offset"]
    return (values.astype(np.float32) * scale + offset).astype(np.float32, copy=False)


def encode_member(values: np.ndarray, member: str, precision: str) -> dict[str, np.ndarray]:
    """`values` as the members that keep them at `precision` (see the module's docstring).

    Args:
        values: one layer's outputs for every input shown.
        member: the archive member's name (`layer_member`).
        precision: one of `PRECISIONS`.
    """
    if not np.issubdtype(values.dtype, np.floating):
        return {member: values}
    finite = bool(np.isfinite(values).all())
    if precision == "float32" or not finite:
        return {member: values.astype(np.float32)}
    if precision == "float16":
        big = values.size and float(np.abs(values).max()) > _FLOAT16_MAX
        return {member: values.astype(np.float32 if big else np.float16)}
    return _quantised(values.astype(np.float32), member)


def _quantised(values: np.ndarray, member: str) -> dict[str, np.ndarray]:
    """uint8 levels with a float32 scale and offset per channel: for maps and sequences per
    input and channel (over positions), for vectors per unit (over the inputs)."""
    axes = tuple(range(1, values.ndim - 1)) if values.ndim >= 3 else (0,)
    low = values.min(axis=axes, keepdims=True) if values.size else np.zeros((1,) * values.ndim, np.float32)
    high = values.max(axis=axes, keepdims=True) if values.size else low
    scale = (high - low) / _LEVELS
    levels = np.rint((values - low) / np.where(scale > 0, scale, 1))
    return {member: np.clip(levels, 0, _LEVELS).astype(np.uint8),
            f"{member}.scale": scale.astype(np.float32), f"{member}.offset": low.astype(np.float32)}


def json_value(value):
    """`value` as JSON can hold it: numpy numbers as Python's, non-finite numbers as null.

    Args:
        value: a number, or a mapping or list of them.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return value


def archive_bytes(members: Mapping[str, np.ndarray]) -> bytes:
    """`members` as an `.npz` archive (what `np.savez_compressed` writes, and `np.load`
    reads), each member deflated at `_COMPRESS_LEVEL`.

    Args:
        members: archive member name -> array.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as archive:
        for name, values in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(values), allow_pickle=False)
    return buffer.getvalue()


def same_array(a, b) -> bool:
    """Whether `a` and `b` hold the same values (NaNs equal), e.g. a resumed run's inputs.

    Args:
        a: an array.
        b: another.
    """
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def frame_figures(path) -> dict:
    """The figures of one frame, read from its file (its "figures" member only).

    Args:
        path: the frame's file.

    Returns:
        The figures, a dict (empty when the frame had none).

    Raises:
        ValueError: the file is not a frame's archive.
    """
    try:
        with np.load(path) as archive:
            return json.loads(archive["figures"].tobytes().decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"activation store: '{path}' is not a readable frame file ({error}).") from error
