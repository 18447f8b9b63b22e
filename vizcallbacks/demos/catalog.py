"""What each `vizcallbacks train --dataset NAME` trains: its data, its model, what is shown.

A demo is a small class in the `DEMOS` table: the MNIST and Fashion-MNIST images with the
notes' CNN, the notes' time series with their LSTM model, and a synthetic sentiment task
with their Conv1D text model. A new demo is a new class listed there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Demo", "DemoData", "ImageDemo", "SeriesDemo", "TokenDemo", "DEMOS", "DEMO_NAMES", "demo_for"]


@dataclass(frozen=True)
class DemoData:
    """A demo's data, in the form its model takes.

    Args:
        x_train: training inputs.
        y_train: their truth.
        x_test: held-out inputs; some are shown in the frames.
        y_test: their truth.
        class_names: names of the classes, or None.
        vocabulary: the words of token ids, or None.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] | None = None
    vocabulary: tuple[str, ...] | None = None


class Demo:
    """One demo: how to get its data and its model, and its defaults."""

    #: The `--dataset` name.
    name = ""
    #: Epochs, batch size and frame interval unless told otherwise.
    epochs, batch_size, every_n_batches = 1, 64, 20
    #: The held-out inputs shown unless told otherwise.
    image_indices: tuple[int, ...] = ()
    #: Whether the data is read from files (`data_dir`), rather than made.
    reads_files = False

    def load(self, data_dir=None) -> DemoData:
        """The data.

        Args:
            data_dir: where the files are (demos that read files); None looks in the
                usual places.
        """
        raise NotImplementedError

    def model(self, data: DemoData, *, seed: int):
        """A new compiled model for `data`.

        Args:
            data: what `load` returned.
            seed: for the initial weights.
        """
        raise NotImplementedError


class ImageDemo(Demo):
    """MNIST or Fashion-MNIST (see `load_dataset`) and the notes' CNN (`default_cnn`).

    Args:
        name: "mnist" or "fashion_mnist".
    """

    #: The test images the notes' plot_conv shows.
    image_indices = (0, 23, 28, 900, 1500, 5000, 7000)
    reads_files = True

    def __init__(self, name: str):
        self.name = name

    def load(self, data_dir=None) -> DemoData:
        from .datasets import load_dataset

        (x_train, y_train), (x_test, y_test), class_names = load_dataset(self.name, data_dir=data_dir)
        return DemoData(_scaled(x_train), y_train, _scaled(x_test), y_test, class_names=class_names)

    def model(self, data: DemoData, *, seed: int):
        from .models import default_cnn

        return default_cnn(seed=seed)


def _scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images as float32 in 0..1, with a channel axis."""
    return (images[..., None] / np.float32(255)).astype(np.float32)


class SeriesDemo(Demo):
    """The notes' time series (trend + seasonality + noise), windows of 20 days split by
    time (see `synthetic.series_data`), and their model (`series_lstm`), which reports the
    mean absolute error. Shows five validation windows across the year."""

    name = "series"
    epochs, batch_size, every_n_batches = 20, 32, 10  # the notes' batch of 32
    image_indices = (0, 100, 200, 300, 400)

    def load(self, data_dir=None) -> DemoData:
        from .synthetic import series_data

        data = series_data()
        return DemoData(data.x_train, data.y_train, data.x_valid, data.y_valid)

    def model(self, data: DemoData, *, seed: int):
        from .models import series_lstm

        return series_lstm(window_size=data.x_train.shape[1], seed=seed)


class TokenDemo(Demo):
    """A synthetic sentiment task in words (see `synthetic.token_task`: no real text
    corpus can be had offline) and the notes' Conv1D text model (`text_conv1d`); frames
    show the sentences in words."""

    name = "tokens"
    epochs, batch_size, every_n_batches = 3, 32, 10
    image_indices = (0, 1, 2, 3, 4, 5)

    def load(self, data_dir=None) -> DemoData:
        from .synthetic import token_task

        task = token_task()
        return DemoData(task.x_train, task.y_train, task.x_test, task.y_test,
                        class_names=task.class_names, vocabulary=task.vocabulary)

    def model(self, data: DemoData, *, seed: int):
        from .models import text_conv1d

        return text_conv1d(vocabulary_size=len(data.vocabulary), length=data.x_train.shape[1], seed=seed)


#: Each demo by its `--dataset` name.
DEMOS: dict[str, Demo] = {demo.name: demo for demo in (
    ImageDemo("mnist"), ImageDemo("fashion_mnist"), SeriesDemo(), TokenDemo())}
DEMO_NAMES = tuple(DEMOS)


def demo_for(name) -> Demo:
    """The demo called `name` (case and "fashion-mnist" forgiven).

    Args:
        name: what the user gave.

    Returns:
        The `Demo`.

    Raises:
        ValueError: an unknown name; the message lists the valid ones and the closest.
    """
    from .datasets import canonical_name

    if isinstance(name, str) and name.lower() in DEMOS:
        return DEMOS[name.lower()]
    try:
        return DEMOS[canonical_name(name)]
    except ValueError:
        pass
    import difflib

    close = difflib.get_close_matches(name, DEMO_NAMES, n=1) if isinstance(name, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown dataset. Received: name={name!r}; valid names: "
                     f"{', '.join(repr(n) for n in DEMO_NAMES)}{hint}")
