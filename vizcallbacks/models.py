"""The default CNN the demos train: the notes' conv net (two 64-filter conv/pool stages,
a 128-unit dense layer, a softmax), with readable layer names."""

from __future__ import annotations

__all__ = ["default_cnn", "set_random_seed"]


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
    import keras

    if seed is not None:
        set_random_seed(seed)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(64, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dense(classes, activation="softmax", name="output"),
    ], name="default_cnn")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer,
                                                  "config": {"learning_rate": learning_rate}}),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
