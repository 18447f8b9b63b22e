"""Load MNIST and Fashion-MNIST from local files, falling back to keras.datasets.

Local copies are found in a folder the user names, in ``$VIZCALLBACKS_DATA``, in
the Keras cache, or (Fashion-MNIST) where Debian's ``dataset-fashion-mnist``
package installs it. Every file is checked, so a bad file is reported by path
instead of turning into a strange shape error later in training.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import is_int

# Canonical dataset names; "fashion-mnist" (the upstream spelling) is an alias.
DATASET_NAMES = ("mnist", "fashion_mnist")
_ALIASES = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "fashion-mnist": "fashion_mnist"}

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}

# Folders that operating-system packages install into, per dataset. Debian ships
# Fashion-MNIST (package dataset-fashion-mnist) but no MNIST package exists.
SYSTEM_DATA_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}

DATA_ENV_VAR = "VIZCALLBACKS_DATA"

# Subfolder names a dataset may live under, inside data_dir or $VIZCALLBACKS_DATA.
_SUBFOLDERS = {"mnist": ("mnist",), "fashion_mnist": ("fashion_mnist", "fashion-mnist")}
_NPZ_NAMES = {"mnist": ("mnist.npz",), "fashion_mnist": ("fashion_mnist.npz", "fashion-mnist.npz")}

# The four IDX files per dataset, as (split, kind, file stem).
_IDX_STEMS = (
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

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Place:
    """One folder to look in, and why it is on the list (shown in the error)."""

    directory: Path
    origin: str
    # IDX files share names across MNIST and Fashion-MNIST, so they are only
    # trusted in folders that belong to one dataset (or that the user named).
    idx_allowed: bool = True


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[Split, Split, tuple[str, ...]]:
    """Load MNIST or Fashion-MNIST from local files, or download it.

    With ``data_dir``, only that folder (or its ``mnist/``, ``fashion_mnist/``,
    ``fashion-mnist/`` subfolder) is searched, and nothing is downloaded.
    Otherwise ``$VIZCALLBACKS_DATA/<dataset>/``, the Keras cache and the system
    data folders are searched, and finally ``keras.datasets`` downloads the data
    if ``download`` is true. A folder holds either the four IDX files
    (``train-images-idx3-ubyte`` ..., gzipped or not) or a Keras-style npz.

    Example:
        >>> (x_train, y_train), (x_test, y_test), class_names = load_dataset(
        ...     "fashion_mnist", data_dir="~/data")
        >>> x_train.shape, class_names[y_train[0]]
        ((60000, 28, 28), 'Ankle boot')

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"`` (also ``"fashion-mnist"``).
        data_dir: the only folder to look in; None looks in the usual places.
        download: download with ``keras.datasets`` when no local copy is found
            (never with ``data_dir``).

    Returns:
        ``(x_train, y_train), (x_test, y_test), class_names``: ``x`` arrays uint8 of
        shape (N, 28, 28), ``y`` arrays uint8 of shape (N,) with values 0..9, and the
        10 class names.

    Raises:
        FileNotFoundError: no data found; the message lists every place searched.
        ValueError: a file found is damaged; the message names it.
    """
    dataset = canonical_name(name)
    if not isinstance(download, bool):
        raise TypeError(
            f"download must be True or False. Received: download={download!r}"
        )
    class_names = CLASS_NAMES[dataset]

    if data_dir is not None:
        places = _user_places(dataset, data_dir)
    else:
        places = _default_places(dataset)

    search_notes = []
    for place in places:
        found, note = _load_from_place(dataset, place)
        if found is not None:
            return found[0], found[1], class_names
        search_notes.append(note)

    download_error = None
    # A data_dir is the user saying where the data is; fetching it from the
    # internet into ~/.keras instead would hide a wrong path.
    if data_dir is None and download:
        try:
            return (*_download(dataset), class_names)
        except Exception as error:  # noqa: BLE001 - reported in the message below
            download_error = error
    raise FileNotFoundError(
        _not_found_message(
            dataset,
            search_notes,
            data_dir_given=data_dir is not None,
            download_error=download_error,
        )
    )


def canonical_name(name: object) -> str:
    """A dataset's name as the package spells it, case and "fashion-mnist" forgiven.

    Args:
        name: what the user gave.

    Returns:
        "mnist" or "fashion_mnist".

    Raises:
        ValueError: an unknown name; the message lists the valid ones and the closest.
    """
    if isinstance(name, str) and name.lower() in _ALIASES:
        return _ALIASES[name.lower()]
    import difflib

    valid = ", ".join(repr(alias) for alias in _ALIASES)
    close = difflib.get_close_matches(name, list(_ALIASES), n=1) if isinstance(name, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown dataset. Received: name={name!r}; valid names: {valid}{hint}")


def check_test_indices(image_indices, *, flag: str | None = None, test_count: int | None = None,
                       dataset: str | None = None) -> list[int]:
    """`image_indices`, indices of images in a test set, checked: before the data is
    loaded, that they are a non-empty list of integers 0 or more; with `test_count`, that
    the test set has each.

    Args:
        image_indices: what the caller received for its `image_indices` argument.
        flag: the command-line flag that sets it (`"--images"`), for the message.
        test_count: how many images the test set holds; None when not loaded yet.
        dataset: the dataset's name, for the message.

    Returns:
        The indices as a list of ints.

    Raises:
        ValueError: not a non-empty list of indices, or an index beyond the test set.
    """
    named = f"image_indices ({flag})" if flag else "image_indices"
    try:
        indices = None if isinstance(image_indices, (str, bytes)) else list(image_indices)
    except TypeError:
        indices = None
    if not indices or not all(is_int(index) and index >= 0 for index in indices):
        raise ValueError(f"{named} must be a non-empty list of test-set indices. "
                         f"Received: image_indices={image_indices!r}.")
    beyond = [index for index in indices if test_count is not None and index >= test_count]
    if beyond:
        of = f" of {dataset}" if dataset else ""
        raise ValueError(f"{named}: {beyond} out of range for the {test_count} test images{of} "
                         f"(valid: 0..{test_count - 1}).")
    return [int(index) for index in indices]


# ---------------------------------------------------------------------------
# Where to look
# ---------------------------------------------------------------------------


def _user_places(dataset: str, data_dir: str | os.PathLike) -> list[_Place]:
    root = Path(data_dir).expanduser()
    if root.is_file():
        raise ValueError(
            "data_dir must be a folder holding the IDX files or the npz, not a file. "
            f"Received: data_dir={str(data_dir)!r}"
        )
    places = [_Place(root, "data_dir")]
    places += [_Place(root / sub, "data_dir subfolder") for sub in _SUBFOLDERS[dataset]]
    return places


def _default_places(dataset: str) -> list[_Place]:
    places = []
    env_root = os.environ.get(DATA_ENV_VAR)
    if env_root:
        root = Path(env_root).expanduser()
        places += [
            _Place(root / sub, f"${DATA_ENV_VAR} subfolder") for sub in _SUBFOLDERS[dataset]
        ]

    keras_datasets = _keras_home() / "datasets"
    # keras.datasets caches MNIST as datasets/mnist.npz but Fashion-MNIST as
    # four .gz files in datasets/fashion-mnist/.
    places.append(_Place(keras_datasets, "Keras cache", idx_allowed=False))
    if dataset == "fashion_mnist":
        places.append(_Place(keras_datasets / "fashion-mnist", "Keras cache"))

    system_dirs = SYSTEM_DATA_DIRS.get(dataset, ())
    places += [_Place(Path(folder), "system data folder") for folder in system_dirs]
    return places


def _keras_home() -> Path:
    # Same rule as keras.backend.config, read now rather than at keras import.
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        return Path(keras_home).expanduser()
    return Path("~/.keras").expanduser()


def _find_idx_files(directory: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """Map (split, kind) to the file found for it; also list the stems missing."""
    found, missing = {}, []
    for split, kind, stem in _IDX_STEMS:
        dotted = stem.replace("-idx", ".idx", 1)  # e.g. train-images.idx3-ubyte
        candidates = (stem, stem + ".gz", dotted, dotted + ".gz")
        path = next((directory / c for c in candidates if (directory / c).is_file()), None)
        if path is None:
            missing.append(stem)
        else:
            found[(split, kind)] = path
    return found, missing


def _load_from_place(dataset: str, place: _Place) -> tuple[tuple[Split, Split] | None, str]:
    """Load the dataset from one folder, or say why it is not there."""
    label = f"{place.directory} ({place.origin})"
    if not place.directory.is_dir():
        return None, f"{label}: no such folder"

    incomplete = ""
    if place.idx_allowed:
        idx_files, missing = _find_idx_files(place.directory)
        if not missing:
            return _read_idx_set(idx_files), label
        if idx_files:
            incomplete = f"; incomplete IDX set, missing {', '.join(missing)}"

    for npz_name in _NPZ_NAMES[dataset]:
        npz_path = place.directory / npz_name
        if npz_path.is_file():
            return _read_npz(npz_path), label

    looked_for = " or ".join(_NPZ_NAMES[dataset])
    if place.idx_allowed:
        looked_for = f"the four IDX files or {looked_for}"
    return None, f"{label}: no {looked_for}{incomplete}"


# ---------------------------------------------------------------------------
# Reading and checking files
# ---------------------------------------------------------------------------


def _read_idx_set(idx_files: dict[tuple[str, str], Path]) -> tuple[Split, Split]:
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


def _read_npz(path: Path) -> tuple[Split, Split]:
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
    train = _checked_arrays(path, "train", arrays["x_train"], arrays["y_train"])
    test = _checked_arrays(path, "test", arrays["x_test"], arrays["y_test"])
    return train, test


def _checked_arrays(
    source: Path | str, split: str, images: np.ndarray, labels: np.ndarray
) -> Split:
    """Check arrays that did not come from IDX files (npz, keras download)."""
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


# ---------------------------------------------------------------------------
# Download and the final error
# ---------------------------------------------------------------------------


def _download(dataset: str) -> tuple[Split, Split]:
    import keras  # imported here: it is heavy, and only needed for a download

    loader = keras.datasets.mnist if dataset == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    source = f"keras.datasets.{dataset}"
    return (
        _checked_arrays(source, "train", x_train, y_train),
        _checked_arrays(source, "test", x_test, y_test),
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _not_found_message(
    dataset: str,
    search_notes: list[str],
    *,
    data_dir_given: bool,
    download_error: BaseException | None,
) -> str:
    if download_error is not None:
        why = f"and downloading it failed ({_first_line(download_error)})"
    elif data_dir_given:
        why = "in data_dir (nothing is downloaded when data_dir is given)"
    else:
        why = "and download=False"
    subfolder = _SUBFOLDERS[dataset][-1]
    idx_names = ", ".join(stem + ".gz" for _, _, stem in _IDX_STEMS)
    ways = []
    if dataset == "fashion_mnist":
        ways.append("on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist")
    ways.append(
        f"with internet access: load_dataset({dataset!r}) without data_dir and with "
        "download=True (the default); keras.datasets downloads it into "
        f"{_keras_home() / 'datasets'}"
    )
    ways.append(
        f"put the four IDX files ({idx_names}) or {_NPZ_NAMES[dataset][0]} in a folder "
        f"DIR and pass data_dir=DIR (CLI: --data-dir DIR), or put them in "
        f"DIR/{subfolder}/ and set {DATA_ENV_VAR}=DIR"
    )
    lines = [f"No {dataset} data found {why}.", "Searched, in order:"]
    lines += [f"  - {note}" for note in search_notes]
    if not data_dir_given and not os.environ.get(DATA_ENV_VAR):
        lines.append(f"  (${DATA_ENV_VAR} is not set)")
    lines.append("To get the data:")
    lines += [f"  ({letter}) {way}" for letter, way in zip("abc", ways)]
    return "\n".join(lines)
