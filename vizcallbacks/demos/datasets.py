"""Load MNIST and Fashion-MNIST from local files, falling back to keras.datasets.

Local copies are found in a folder the user names, in ``$VIZCALLBACKS_DATA``, in
the Keras cache, or (Fashion-MNIST) where Debian's ``dataset-fashion-mnist``
package installs it. Every file is checked as it is read (``mnist_files.py``), so a
bad file is reported by path instead of turning into a strange shape error later in
training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..checks import is_int
from .mnist_files import IDX_STEMS, Split, checked_arrays, find_idx_files, read_idx_set, read_npz

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


def _load_from_place(dataset: str, place: _Place) -> tuple[tuple[Split, Split] | None, str]:
    """Load the dataset from one folder, or say why it is not there."""
    label = f"{place.directory} ({place.origin})"
    if not place.directory.is_dir():
        return None, f"{label}: no such folder"

    incomplete = ""
    if place.idx_allowed:
        idx_files, missing = find_idx_files(place.directory)
        if not missing:
            return read_idx_set(idx_files), label
        if idx_files:
            incomplete = f"; incomplete IDX set, missing {', '.join(missing)}"

    for npz_name in _NPZ_NAMES[dataset]:
        npz_path = place.directory / npz_name
        if npz_path.is_file():
            return read_npz(npz_path), label

    looked_for = " or ".join(_NPZ_NAMES[dataset])
    if place.idx_allowed:
        looked_for = f"the four IDX files or {looked_for}"
    return None, f"{label}: no {looked_for}{incomplete}"


# ---------------------------------------------------------------------------
# Download and the final error
# ---------------------------------------------------------------------------


def _download(dataset: str) -> tuple[Split, Split]:
    import keras  # imported here: it is heavy, and only needed for a download

    loader = keras.datasets.mnist if dataset == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    source = f"keras.datasets.{dataset}"
    return (
        checked_arrays(source, "train", x_train, y_train),
        checked_arrays(source, "test", x_test, y_test),
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
    idx_names = ", ".join(stem + ".gz" for _, _, stem in IDX_STEMS)
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
