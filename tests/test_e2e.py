"""End-to-end: the default CNN trained on real MNIST and Fashion-MNIST with the
callback, files read back. Marked e2e; CI runs them."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import FASHION_DIR, MNIST_DIR, require
from vizcallbacks import load_dataset, train_movie
from vizcallbacks.capture.probe import ActivationProbe
from vizcallbacks.demos.models import default_cnn
from vizcallbacks.movie import inspect_movie
from vizcallbacks.render import GridRenderer
from vizcallbacks.apps.train import NOTES_IMAGE_INDICES, Training

pytestmark = pytest.mark.e2e


def _grid_cells(dataset, data_dir):
    """Where the cells of the default layout are, from a renderer built the same way."""
    _, (x_test, _), _ = load_dataset(dataset, data_dir=data_dir)
    images = x_test[list(NOTES_IMAGE_INDICES)][..., None] / np.float32(255)
    probe = ActivationProbe(default_cnn(seed=0), images)
    return GridRenderer(probe.views, images).cells()


@pytest.mark.parametrize("dataset, data_dir", [
    ("fashion_mnist", FASHION_DIR),
    ("mnist", MNIST_DIR),
])
def test_default_cnn_on_real_data_makes_a_learning_movie(dataset, data_dir, tmp_path):
    require(data_dir, dataset)
    formats = ("gif", "mp4") if dataset == "fashion_mnist" else ()
    result = train_movie(dataset=dataset, data_dir=data_dir, out_dir=tmp_path, every_n_batches=20,
                         training=Training(max_steps=240, batch_size=64, verbose=0), formats=formats)
    records = [json.loads(line) for line in (tmp_path / "frames.jsonl").read_text().splitlines()]
    # batches 0, 20, ..., 220, then the end of training at batch 239
    assert [r["batch"] for r in records] == list(range(0, 240, 20)) + [239]
    assert records[-1]["final"] and records[-1]["step"] == 240 and records[-1]["examples_seen"] == 240 * 64
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert [p.name for p in pngs] == [r["file"].split("/")[-1] for r in records]
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in pngs]
    assert len({f.shape for f in frames}) == 1
    assert records[0]["accuracy"] < 0.4 and records[-1]["accuracy"] >= 0.6, [r["accuracy"] for r in records]
    for image, row, column, rows, cols in _grid_cells(dataset, data_dir):
        cell = frames[-1][rows, cols].reshape(-1, 3)
        assert len(np.unique(cell, axis=0)) > 1, f"cell image {image} row {row} column {column} is flat"
    if formats:
        movies = {m.path.suffix: m for m in result.movies}
        gif, mp4 = inspect_movie(movies[".gif"].path), inspect_movie(movies[".mp4"].path)
        assert gif.frame_count == mp4.frame_count == len(records)
        assert gif.size == mp4.size == (frames[0].shape[1], frames[0].shape[0])
        last = Image.open(movies[".gif"].path)
        last.seek(last.n_frames - 1)
        assert np.array_equal(np.asarray(last.convert("RGB")), frames[-1])  # the palette is exact
