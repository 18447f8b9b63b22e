"""The models the demos train, with readable layer names: the notes' conv net (two 64-filter
conv/pool stages, a 128-unit dense layer, a softmax), their Conv1D text model and their
time-series model."""

from __future__ import annotations

__all__ = ["default_cnn", "text_conv1d", "series_lstm", "set_random_seed"]


def set_random_seed(seed: int) -> None:
    """`keras.utils.set_random_seed`, without starting TensorFlow where it is not the backend.

    Keras seeds TensorFlow whenever it is installed (for `tf.data` pipelines), which under
    JAX or PyTorch imports it: two seconds, and its start-up lines in a process that never
    uses it. Keras draws every unseeded initializer's and layer's seed from Python's
    `random`, so seeding Python, NumPy (and torch, as Keras does) makes the same weights.

    Args:
        seed: the seed.
    """
    import random

    import keras
    import numpy as np

    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def default_cnn(*, input_shape: tuple[int, int, int] = (28, 28, 1), classes: int = 10,
                learning_rate: float = 1e-3, optimizer: str = "adam", seed: int | None = None):
    """Two conv/pool stages, a dense layer and a softmax, compiled with
    sparse categorical cross-entropy and accuracy. Takes images scaled to 0..1.

    >>> model = default_cnn(seed=0)
    >>> model.fit(x_train / 255.0, y_train, batch_size=64)

    Args:
        input_shape: one image's shape, (height, width, channels).
        classes: how many classes the softmax has.
        learning_rate: the optimizer's learning rate.
        optimizer: a Keras optimizer name.
        seed: seeds Keras (initial weights) when given.

    Returns:
        The compiled `keras.Sequential` model.
    """
    return _compiled("default_cnn", lambda keras, layers: [
        keras.Input(shape=input_shape),
        layers.Conv2D(64, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dense(classes, activation="softmax", name="output"),
    ], optimizer=optimizer, learning_rate=learning_rate, loss="sparse_categorical_crossentropy",
        metric="accuracy", seed=seed)


def _compiled(name: str, make_layers, *, optimizer: str, learning_rate: float, loss: str, metric: str,
              seed: int | None):
    """A `keras.Sequential` of `make_layers(keras, keras.layers)`, seeded first when
    `seed` is given, compiled with the optimizer named, the loss and one metric."""
    import keras

    if seed is not None:
        set_random_seed(seed)
    model = keras.Sequential(make_layers(keras, keras.layers), name=name)
    optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
    return model


def text_conv1d(*, vocabulary_size: int, length: int, embedding_dim: int = 16, filters: int = 32,
                kernel_size: int = 5, learning_rate: float = 1e-3, seed: int | None = None):
    """The notes' Conv1D text model: Embedding, Conv1D, GlobalMaxPooling1D, a 24-unit
    dense layer and one sigmoid unit; compiled with binary cross-entropy and accuracy.
    Takes token ids (int32, padded to `length`).

    >>> model = text_conv1d(vocabulary_size=43, length=12, seed=0)

    Args:
        vocabulary_size: how many token ids there are (0 pads).
        length: tokens per input.
        embedding_dim: the size of each word's vector.
        filters: the Conv1D's filters (the notes' course uses 128).
        kernel_size: words the Conv1D reads at once.
        learning_rate: Adam's learning rate.
        seed: seeds Keras (initial weights) when given.

    Returns:
        The compiled `keras.Sequential` model.
    """
    return _compiled("text_conv1d", lambda keras, layers: [
        keras.Input(shape=(length,), dtype="int32"),
        layers.Embedding(vocabulary_size, embedding_dim, name="embedding"),
        layers.Conv1D(filters, kernel_size, activation="relu", name="conv1d"),
        layers.GlobalMaxPooling1D(name="max_over_time"),
        layers.Dense(24, activation="relu", name="dense"),
        layers.Dense(1, activation="sigmoid", name="positive"),
    ], optimizer="adam", learning_rate=learning_rate, loss="binary_crossentropy", metric="accuracy", seed=seed)


def series_lstm(*, window_size: int = 20, learning_rate: float = 1e-3, seed: int | None = None):
    """The notes' time-series model: a causal Conv1D, an LSTM that returns its sequence,
    an LSTM, one linear unit, and the course's scaling of the forecast to the series'
    range (`Lambda(lambda x: x * 100)` there, a `Rescaling` layer here, which saves);
    compiled with the Huber loss and the mean absolute error.

    >>> model = series_lstm(seed=0)
    >>> model.fit(windows, targets, batch_size=32, epochs=20)

    Args:
        window_size: values per window (one feature each).
        learning_rate: Adam's learning rate.
        seed: seeds Keras (initial weights) when given.

    Returns:
        The compiled `keras.Sequential` model.
    """
    return _compiled("series_lstm", lambda keras, layers: [
        keras.Input(shape=(window_size, 1)),
        layers.Conv1D(32, 5, padding="causal", activation="relu", name="causal_conv1d"),
        layers.LSTM(64, return_sequences=True, name="lstm_sequence"),
        layers.LSTM(64, name="lstm"),
        layers.Dense(1, name="dense"),
        layers.Rescaling(100.0, name="forecast"),
    ], optimizer="adam", learning_rate=learning_rate, loss="huber", metric="mae", seed=seed)
