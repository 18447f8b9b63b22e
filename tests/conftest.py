"""Tiny named models and data for fast tests; Agg backend; quiet TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("VIZCALLBACKS_MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def keras():
    import keras

    return keras


def _compile(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def tiny_cnn(keras):
    """Sequential with an Input: conv (6 channels), pool, flatten, dense softmax."""
    return build_tiny_cnn(keras)


def build_tiny_cnn(keras):
    """The `tiny_cnn` fixture's model, for fixtures of a wider scope (a run shared by a module)."""
    keras.utils.set_random_seed(1)
    layers = keras.layers
    return _compile(keras.Sequential([
        keras.Input((12, 12, 1)),
        layers.Conv2D(6, 3, activation="relu", name="conv"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(5, activation="softmax", name="out"),
    ], name="tiny_cnn"))


@pytest.fixture
def tiny_cnn_without_input(keras):
    """The same network as a Sequential model without an Input layer."""
    keras.utils.set_random_seed(1)
    layers = keras.layers
    return _compile(keras.Sequential([
        layers.Conv2D(6, 3, activation="relu", name="conv"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(5, activation="softmax", name="out"),
    ], name="no_input"))


@pytest.fixture
def branched_model(keras):
    """Functional: two conv branches added, BatchNormalization, a nested Sequential,
    Dropout, and a logits output (no softmax)."""
    keras.utils.set_random_seed(2)
    layers = keras.layers
    inp = keras.Input((12, 12, 1), name="pixels")
    left = layers.Conv2D(6, 3, padding="same", activation="relu", name="left")(inp)
    right = layers.Conv2D(6, 5, padding="same", activation="relu", name="right")(inp)
    x = layers.Add(name="add")([left, right])
    x = layers.BatchNormalization(name="bn")(x)
    nested = keras.Sequential([keras.Input((12, 12, 6)), layers.Conv2D(4, 3, name="inner_conv")], name="nested")
    x = nested(x)
    x = layers.Flatten(name="flat")(x)
    x = layers.Dropout(0.3, name="drop")(x)
    out = layers.Dense(5, name="logits")(x)
    model = keras.Model(inp, out, name="branched")
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.fixture
def tiny_data():
    """80 random 12x12 images in five classes whose class sets the brightness of a
    block, so that a tiny model can learn something."""
    return make_tiny_data()


def make_tiny_data():
    """The `tiny_data` fixture's images and labels, for fixtures of a wider scope."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=80)
    images = rng.random((80, 12, 12, 1), dtype=np.float32) * 0.3
    for i, label in enumerate(labels):
        images[i, 2 * label:2 * label + 3, 2:10, 0] += 0.7
    return images, labels


def require(path: Path, what: str) -> Path:
    if not path.exists():
        message = f"{what} not found at {path}"
        if os.environ.get("CI"):  # CI must run the real-data tests, never skip them
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_runtest_setup(item):
    """A test marked `backend("jax")` starts its own processes under that backend, whatever
    the backend of the suite: it runs in the suite's pass under that backend
    (`scripts/test.sh` makes one per backend) and is skipped in the others, which would
    only repeat it.

    A test marked `once` tests something the backend does not change (encoding a movie, a
    file layout, a page), or something a sibling test covers under every backend:
    `scripts/test.sh` runs it in its first pass and, by setting VIZCALLBACKS_REPEAT_PASS=1,
    skips it in the passes after, which keeps CI under its time limit. Plain pytest runs it."""
    if item.get_closest_marker("once") is not None and os.environ.get("VIZCALLBACKS_REPEAT_PASS") == "1":
        pytest.skip("the same under every backend: runs in scripts/test.sh's first pass only")
    marker = item.get_closest_marker("backend")
    if marker is None:
        return
    import keras

    wanted = marker.args[0]
    if keras.backend.backend() != wanted:
        pytest.skip(f"starts its own {wanted} processes: runs in the suite's KERAS_BACKEND={wanted} pass")
