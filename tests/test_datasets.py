"""Tests for vizcallbacks.demos.datasets: finding, reading and checking MNIST-style data."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from vizcallbacks.demos import datasets
from vizcallbacks.demos.datasets import load_dataset

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)

IDX_STEMS = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def make_arrays(*, num_train: int = 5, num_test: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(num_train, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, size=num_train, dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(num_test, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, size=num_test, dtype=np.uint8)
    return (x_train, y_train), (x_test, y_test)


def idx_bytes(array: np.ndarray, *, magic: int | None = None) -> bytes:
    if magic is None:
        magic = 2051 if array.ndim == 3 else 2049
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", dim) for dim in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, arrays, *, compress: bool = True) -> dict[tuple[str, str], Path]:
    """Write the four IDX files for `arrays` into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = arrays
    contents = {
        ("train", "images"): x_train,
        ("train", "labels"): y_train,
        ("test", "images"): x_test,
        ("test", "labels"): y_test,
    }
    paths = {}
    for key, array in contents.items():
        data = idx_bytes(array)
        if compress:
            path = folder / (IDX_STEMS[key] + ".gz")
            path.write_bytes(gzip.compress(data))
        else:
            path = folder / IDX_STEMS[key]
            path.write_bytes(data)
        paths[key] = path
    return paths


def write_npz(path: Path, arrays, **overrides) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = arrays
    content = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    content.update(overrides)
    content = {key: value for key, value in content.items() if value is not None}
    np.savez(path, **content)
    return path


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test), _ = loaded
    (ex_train, ey_train), (ex_test, ey_test) = arrays
    for got, expected in ((x_train, ex_train), (y_train, ey_train), (x_test, ex_test), (y_test, ey_test)):
        assert got.dtype == np.uint8
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data anywhere: empty Keras home, no env var, no system folders."""
    keras_home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VIZCALLBACKS_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", {})
    return keras_home


# ---------------------------------------------------------------------------
# Reading the formats
# ---------------------------------------------------------------------------


def test_gzipped_idx_round_trip(tmp_path, isolated):
    arrays = make_arrays()
    write_idx_set(tmp_path / "data", arrays)
    loaded = load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert_same(loaded, arrays)
    assert loaded[2] == tuple("0123456789")


def test_uncompressed_idx_round_trip(tmp_path, isolated):
    arrays = make_arrays(seed=1)
    write_idx_set(tmp_path / "data", arrays, compress=False)
    assert_same(load_dataset("mnist", data_dir=str(tmp_path / "data"), download=False), arrays)


def test_dotted_idx_names_are_accepted(tmp_path, isolated):
    arrays = make_arrays(seed=2)
    paths = write_idx_set(tmp_path / "data", arrays, compress=False)
    for path in paths.values():
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert_same(load_dataset("mnist", data_dir=tmp_path / "data", download=False), arrays)


def test_gz_name_with_uncompressed_content_is_read(tmp_path, isolated):
    # Browsers often decompress a download but keep the .gz name.
    arrays = make_arrays(seed=3)
    paths = write_idx_set(tmp_path / "data", arrays, compress=False)
    for path in paths.values():
        path.rename(path.with_name(path.name + ".gz"))
    assert_same(load_dataset("mnist", data_dir=tmp_path / "data", download=False), arrays)


def test_npz_round_trip(tmp_path, isolated):
    arrays = make_arrays(seed=4)
    write_npz(tmp_path / "data" / "fashion_mnist.npz", arrays)
    loaded = load_dataset("fashion_mnist", data_dir=tmp_path / "data", download=False)
    assert_same(loaded, arrays)
    assert loaded[2][9] == "Ankle boot"
    assert len(loaded[2]) == 10


def test_npz_of_the_other_dataset_is_not_used(tmp_path, isolated):
    write_npz(tmp_path / "data" / "mnist.npz", make_arrays())
    with pytest.raises(FileNotFoundError):
        load_dataset("fashion_mnist", data_dir=tmp_path / "data", download=False)


@pytest.mark.parametrize(
    ("name", "subfolder"),
    [("mnist", "mnist"), ("fashion_mnist", "fashion-mnist"), ("fashion-mnist", "fashion_mnist")],
)
def test_data_dir_subfolder_layout(tmp_path, isolated, name, subfolder):
    arrays = make_arrays(seed=5)
    write_idx_set(tmp_path / "data" / subfolder, arrays)
    assert_same(load_dataset(name, data_dir=tmp_path / "data", download=False), arrays)


def test_returned_arrays_are_writable(tmp_path, isolated):
    write_idx_set(tmp_path / "data", make_arrays())
    (x_train, y_train), _, _ = load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    x_train[0, 0, 0] = 7  # e.g. in-place augmentation, as with keras.datasets arrays
    np.random.default_rng(0).shuffle(y_train)


# ---------------------------------------------------------------------------
# Where to look
# ---------------------------------------------------------------------------


def test_env_var_subfolder_is_used(tmp_path, isolated, monkeypatch):
    arrays = make_arrays(seed=6)
    write_idx_set(tmp_path / "env" / "fashion-mnist", arrays)
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    assert_same(load_dataset("fashion_mnist", download=False), arrays)


def test_env_var_files_directly_in_it_are_not_used(tmp_path, isolated, monkeypatch):
    # MNIST and Fashion-MNIST share file names: files at the top are ambiguous.
    write_idx_set(tmp_path / "env", make_arrays())
    write_npz(tmp_path / "env" / "mnist.npz", make_arrays())
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("mnist", download=False)
    assert str(tmp_path / "env" / "mnist") in str(caught.value)


def test_data_dir_is_searched_alone(tmp_path, isolated, monkeypatch):
    write_idx_set(tmp_path / "env" / "mnist", make_arrays())
    write_npz(isolated / "datasets" / "mnist.npz", make_arrays())
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "empty")
    message = str(caught.value)
    assert str(tmp_path / "empty") in message
    assert str(tmp_path / "env") not in message
    assert "Keras cache" not in message


def test_data_dir_wins_over_env_var(tmp_path, isolated, monkeypatch):
    mine = make_arrays(seed=7)
    write_idx_set(tmp_path / "mine", mine)
    write_idx_set(tmp_path / "env" / "mnist", make_arrays(seed=8))
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    assert_same(load_dataset("mnist", data_dir=tmp_path / "mine"), mine)


def test_keras_cache_layouts(isolated):
    digits, clothes = make_arrays(seed=9), make_arrays(seed=10)
    write_npz(isolated / "datasets" / "mnist.npz", digits)
    write_idx_set(isolated / "datasets" / "fashion-mnist", clothes)
    assert_same(load_dataset("mnist", download=False), digits)
    assert_same(load_dataset("fashion_mnist", download=False), clothes)


def test_system_folder_is_used_for_fashion(tmp_path, isolated, monkeypatch):
    arrays = make_arrays(seed=11)
    write_idx_set(tmp_path / "system", arrays)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", {"fashion_mnist": (tmp_path / "system",)})
    assert_same(load_dataset("fashion_mnist", download=False), arrays)


def test_env_var_comes_before_keras_cache(tmp_path, isolated, monkeypatch):
    from_env = make_arrays(seed=12)
    write_idx_set(tmp_path / "env" / "mnist", from_env)
    write_npz(isolated / "datasets" / "mnist.npz", make_arrays(seed=13))
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    assert_same(load_dataset("mnist", download=False), from_env)


def test_failed_download_is_reported_in_one_error(isolated, monkeypatch):
    def no_network(dataset):
        raise OSError("URL fetch failure: Name or service not known\nmore detail")

    monkeypatch.setattr(datasets, "_download", no_network)
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("mnist")
    message = str(caught.value)
    assert "downloading it failed (OSError: URL fetch failure: Name or service not known)" in message
    assert "more detail" not in message


def test_download_result_is_returned(isolated, monkeypatch):
    arrays = make_arrays(seed=14)
    monkeypatch.setattr(datasets, "_download", lambda dataset: arrays)
    assert_same(load_dataset("fashion_mnist"), arrays)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as caught:
        load_dataset("cifar10")
    message = str(caught.value)
    assert "name='cifar10'" in message
    for valid in ("'mnist'", "'fashion_mnist'", "'fashion-mnist'"):
        assert valid in message


def test_download_must_be_bool(tmp_path):
    with pytest.raises(TypeError, match="download='no'"):
        load_dataset("mnist", data_dir=tmp_path, download="no")


def test_data_dir_that_is_a_file(tmp_path):
    path = write_npz(tmp_path / "mnist.npz", make_arrays())
    with pytest.raises(ValueError, match="data_dir must be a folder"):
        load_dataset("mnist", data_dir=path)


def test_wrong_magic_names_file_and_magic(tmp_path, isolated):
    paths = write_idx_set(tmp_path / "data", make_arrays())
    # A labels file where the images should be: the classic mix-up.
    images_path = paths[("train", "images")]
    images_path.write_bytes(paths[("train", "labels")].read_bytes())
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert str(images_path) in message
    assert "magic number 2049, expected 2051" in message


def test_truncated_payload_names_file(tmp_path, isolated):
    paths = write_idx_set(tmp_path / "data", make_arrays(), compress=False)
    images_path = paths[("test", "images")]
    images_path.write_bytes(images_path.read_bytes()[:-100])
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert str(images_path) in message
    assert "truncated: header says 3 images of 28x28 (2352 bytes)" in message
    assert "holds 2252 bytes" in message


def test_truncated_labels_names_file(tmp_path, isolated):
    paths = write_idx_set(tmp_path / "data", make_arrays())
    labels_path = paths[("train", "labels")]
    labels_path.write_bytes(gzip.compress(gzip.decompress(labels_path.read_bytes())[:-2]))
    with pytest.raises(ValueError, match=r"truncated: header says 5 labels") as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(labels_path) in str(caught.value)


def test_truncated_gzip_names_file(tmp_path, isolated):
    paths = write_idx_set(tmp_path / "data", make_arrays())
    images_path = paths[("train", "images")]
    compressed = images_path.read_bytes()
    images_path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert str(images_path) in message
    assert "damaged gzip data" in message


def test_count_mismatch_names_both_files(tmp_path, isolated):
    (x_train, y_train), test = make_arrays()
    paths = write_idx_set(tmp_path / "data", ((x_train, y_train[:4]), test))
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert "5 images" in message and "4 labels" in message
    assert str(paths[("train", "images")]) in message
    assert str(paths[("train", "labels")]) in message


def test_label_out_of_range(tmp_path, isolated):
    (x_train, y_train), test = make_arrays()
    y_train = y_train.copy()
    y_train[2] = 12
    paths = write_idx_set(tmp_path / "data", ((x_train, y_train), test))
    with pytest.raises(ValueError, match="label 12 at index 2 is out of range") as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(paths[("train", "labels")]) in str(caught.value)


def test_wrong_image_size(tmp_path, isolated):
    paths = write_idx_set(tmp_path / "data", make_arrays())
    paths[("test", "images")].write_bytes(gzip.compress(idx_bytes(np.zeros((3, 32, 32), np.uint8))))
    with pytest.raises(ValueError, match="images are 32x32, expected 28x28"):
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)


def test_corrupt_file_does_not_fall_through(tmp_path, isolated, monkeypatch):
    # A good copy later in the search order must not hide a bad one earlier.
    paths = write_idx_set(tmp_path / "env" / "mnist", make_arrays())
    paths[("train", "labels")].write_bytes(b"\x1f\x8b garbage")
    write_npz(isolated / "datasets" / "mnist.npz", make_arrays())
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    with pytest.raises(ValueError, match="damaged gzip data"):
        load_dataset("mnist", download=False)


def test_npz_missing_keys(tmp_path, isolated):
    path = write_npz(tmp_path / "data" / "mnist.npz", make_arrays(), y_test=None)
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert str(path) in message
    assert "missing arrays y_test" in message


def test_npz_wrong_shape(tmp_path, isolated):
    path = write_npz(
        tmp_path / "data" / "mnist.npz", make_arrays(), x_train=np.zeros((5, 784), np.uint8)
    )
    with pytest.raises(ValueError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(path) in str(caught.value)
    assert "x_train has shape (5, 784)" in str(caught.value)


def test_damaged_npz(tmp_path, isolated):
    path = tmp_path / "data" / "mnist.npz"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a readable npz file") as caught:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(path) in str(caught.value)


def test_nothing_found_lists_every_place_and_how_to_get_data(tmp_path, isolated, monkeypatch):
    monkeypatch.setenv("VIZCALLBACKS_DATA", str(tmp_path / "env"))
    # An incomplete set is not used, but is mentioned.
    write_idx_set(isolated / "datasets" / "fashion-mnist", make_arrays())
    (isolated / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("fashion_mnist", download=False)
    message = str(caught.value)
    searched = [
        tmp_path / "env" / "fashion_mnist",
        tmp_path / "env" / "fashion-mnist",
        isolated / "datasets",
        isolated / "datasets" / "fashion-mnist",
    ]
    for place in searched:
        assert str(place) in message
    assert "missing t10k-labels-idx1-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "data_dir=" in message and "--data-dir" in message
    assert "VIZCALLBACKS_DATA" in message
    assert "keras.datasets" in message


def test_nothing_found_in_data_dir(tmp_path, isolated):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("mnist", data_dir=tmp_path / "nowhere")
    message = str(caught.value)
    assert str(tmp_path / "nowhere") in message
    assert str(tmp_path / "nowhere" / "mnist") in message
    # Debian ships no MNIST package, so do not suggest one.
    assert "apt-get" not in message


# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------


def _real_mnist_dir() -> Path:
    from_env = os.environ.get("VIZCALLBACKS_MNIST_DIR")
    if from_env:
        return Path(from_env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.mark.e2e
def test_real_mnist():
    mnist_dir = _real_mnist_dir()
    if not (mnist_dir / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST IDX files not found in {mnist_dir} (set VIZCALLBACKS_MNIST_DIR)")
    (x_train, y_train), (x_test, y_test), class_names = load_dataset(
        "mnist", data_dir=mnist_dir, download=False
    )
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert y_train[0] == 5
    assert class_names[y_train[0]] == "5"


@pytest.mark.e2e
def test_real_fashion_mnist():
    if not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            f"Fashion-MNIST not found in {FASHION_SYSTEM_DIR} "
            "(sudo apt-get install dataset-fashion-mnist)"
        )
    (x_train, y_train), (x_test, y_test), class_names = load_dataset(
        "fashion_mnist", data_dir=FASHION_SYSTEM_DIR, download=False
    )
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[0] == 9
    assert class_names[y_train[0]] == "Ankle boot"
