"""Reading and checking the files of MNIST-style data: the four IDX files (gzipped or not) and
Keras's npz. Every file is checked, so a bad file is reported by path instead of turning into
a strange shape error later in training. Where to look for them is `datasets.py`'s job.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_STEMS", "Split", "find_idx_files", "read_idx_set", "read_npz", "checked_arrays"]

# The four IDX files per dataset, as (split, kind, file stem).
IDX_STEMS = (
    ("train", "images", "train-images-idx3-ubyte"),
    ("train", "labels", "train-labels-idx1-ubyte"),
    ("test", "images", "t10k-images-idx3-ubyte"),
    ("test", "labels", "t10k-labels-idx1-ubyte"),
)
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049
_IMAGE_SIDE = 28
_NUM_CLASSES = 10
_GZIP_MAGIC = b"\x1f\x8b"

#: One split: images (N, 28, 28) uint8 and labels (N,) uint8.
Split = tuple[np.ndarray, np.ndarray]


def find_idx_files(directory: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """The IDX files in `directory`, under their own names, gzipped or not, or with a dot
    before "idx" (`train-images.idx3-ubyte`).

    Args:
        directory: the folder to look in.

    Returns:
        A map from (split, kind) to the file found for it, and the stems missing.
    """
    found, missing = {}, []
    for split, kind, stem in IDX_STEMS:
        dotted = stem.replace("-idx", ".idx", 1)  # e.g. train-images.idx3-ubyte
        candidates = (stem, stem + ".gz", dotted, dotted + ".gz")
        path = next((directory / c for c in candidates if (directory / c).is_file()), None)
        if path is None:
            missing.append(stem)
        else:
            found[(split, kind)] = path
    return found, missing


def read_idx_set(idx_files: dict[tuple[str, str], Path]) -> tuple[Split, Split]:
    """The train and test splits from the four IDX files, each checked.

    Args:
        idx_files: (split, kind) to path, as `find_idx_files` gives for a complete set.

    Returns:
        (train, test), each (images, labels).

    Raises:
        ValueError: a file is damaged, or a split's images and labels differ in number;
            the message names the file.
    """
    splits = []
    for split in ("train", "test"):
        images_path, labels_path = idx_files[(split, "images")], idx_files[(split, "labels")]
        images = _read_idx_images(images_path)
        labels = _read_idx_labels(labels_path)
        if len(images) != len(labels):
            raise ValueError(
                f"{split} split does not match: {images_path} holds {len(images)} images "
                f"but {labels_path} holds {len(labels)} labels"
            )
        splits.append((images, labels))
    return splits[0], splits[1]


def _read_idx_bytes(path: Path) -> bytes:
    # Opening errors (missing file, no permission) already name the path.
    with path.open("rb") as raw:
        data = raw.read()
    # Decide by content, not by name: browsers often decompress a download but
    # keep its .gz name, and IDX data never starts with the gzip magic bytes.
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
        raise ValueError(
            f"{path}: damaged gzip data ({type(error).__name__}: {error}); "
            "the file is probably truncated, download it again"
        ) from None


def _read_idx_header(path: Path, data: bytes, *, kind: str) -> tuple[int, ...]:
    """Check the magic number and return the dimensions (count first)."""
    expected_magic, num_dims = (_IMAGE_MAGIC, 3) if kind == "images" else (_LABEL_MAGIC, 1)
    # The magic number comes first so a swapped file is reported as swapped,
    # even when it is too short to hold the header it should have.
    header_bytes = 4 + 4 * num_dims
    magic = int(np.frombuffer(data, dtype=">u4", count=1)[0]) if len(data) >= 4 else None
    if magic is not None and magic != expected_magic:
        other = {_IMAGE_MAGIC: "IDX images", _LABEL_MAGIC: "IDX labels"}.get(magic)
        hint = f"; this looks like a file of {other}" if other else ""
        raise ValueError(
            f"{path}: magic number {magic}, expected {expected_magic} (IDX {kind}){hint}"
        )
    if len(data) < header_bytes:
        raise ValueError(
            f"{path}: holds {len(data)} bytes, too short for an IDX {kind} header "
            f"({header_bytes} bytes)"
        )
    header = np.frombuffer(data, dtype=">u4", count=1 + num_dims)
    return tuple(int(dim) for dim in header[1:])


def _read_idx_images(path: Path) -> np.ndarray:
    data = _read_idx_bytes(path)
    count, rows, cols = _read_idx_header(path, data, kind="images")
    if (rows, cols) != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise ValueError(
            f"{path}: images are {rows}x{cols}, expected {_IMAGE_SIDE}x{_IMAGE_SIDE}"
        )
    expected_bytes = count * rows * cols
    payload_bytes = len(data) - 16
    if payload_bytes != expected_bytes:
        problem = "truncated" if payload_bytes < expected_bytes else "too long"
        raise ValueError(
            f"{path}: {problem}: header says {count} images of {rows}x{cols} "
            f"({expected_bytes} bytes) but the file holds {payload_bytes} bytes after "
            "its 16-byte header"
        )
    # copy() so callers get a writable array, as keras.datasets gives.
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols).copy()


def _read_idx_labels(path: Path) -> np.ndarray:
    data = _read_idx_bytes(path)
    (count,) = _read_idx_header(path, data, kind="labels")
    payload_bytes = len(data) - 8
    if payload_bytes != count:
        problem = "truncated" if payload_bytes < count else "too long"
        raise ValueError(
            f"{path}: {problem}: header says {count} labels ({count} bytes) but the "
            f"file holds {payload_bytes} bytes after its 8-byte header"
        )
    labels = np.frombuffer(data, dtype=np.uint8, offset=8).copy()
    _check_label_range(path, labels)
    return labels


def _check_label_range(source: Path | str, labels: np.ndarray, *, what: str = "label") -> None:
    out_of_range = (labels < 0) | (labels >= _NUM_CLASSES)
    if out_of_range.any():
        bad_index = int(np.argmax(out_of_range))
        raise ValueError(
            f"{source}: {what} {int(labels[bad_index])} at index {bad_index} is out of "
            f"range, expected 0..{_NUM_CLASSES - 1}"
        )


def read_npz(path: Path) -> tuple[Split, Split]:
    """The train and test splits from a Keras-style npz (x_train, y_train, x_test, y_test),
    checked.

    Args:
        path: the npz file.

    Returns:
        (train, test), each (images, labels).

    Raises:
        ValueError: the file is not a readable npz, lacks an array, or holds arrays of the
            wrong shape, type or labels; the message names it.
    """
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as archive:
            present = list(archive.files)
            arrays = {key: archive[key] for key in keys if key in present}
    # np.load raises ValueError for pickled arrays, the others for damaged zips.
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError) as error:
        raise ValueError(
            f"{path}: not a readable npz file ({type(error).__name__}: {error})"
        ) from None
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise ValueError(
            f"{path}: missing arrays {', '.join(missing)}; it holds "
            f"{', '.join(present) or 'no arrays'}, expected {', '.join(keys)}"
        )
    train = checked_arrays(path, "train", arrays["x_train"], arrays["y_train"])
    test = checked_arrays(path, "test", arrays["x_test"], arrays["y_test"])
    return train, test


def checked_arrays(
    source: Path | str, split: str, images: np.ndarray, labels: np.ndarray
) -> Split:
    """Check arrays that did not come from IDX files (npz, keras download).

    Args:
        source: where they came from, for the messages.
        split: "train" or "test", for the messages.
        images: the images, which must be (N, 28, 28) uint8.
        labels: the labels, which must be N integers 0..9.

    Returns:
        (images, labels), labels as uint8.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise ValueError(
            f"{source}: x_{split} has shape {images.shape}, "
            f"expected (N, {_IMAGE_SIDE}, {_IMAGE_SIDE})"
        )
    if images.dtype != np.uint8:
        raise ValueError(f"{source}: x_{split} has dtype {images.dtype}, expected uint8")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{source}: y_{split} has shape {labels.shape}, expected ({len(images)},) "
            f"to match x_{split}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{source}: y_{split} has dtype {labels.dtype}, expected integers")
    _check_label_range(source, labels, what=f"y_{split} label")
    return images, labels.astype(np.uint8, copy=False)
