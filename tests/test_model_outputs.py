"""Every model as its user knows it: an autoencoder's and a segmentation's output drawn as
pictures beside their targets, a two-head model read head by head, a two-input model's
inputs each drawn as what it is. Each model is small and trained for real on a few
batches of synthetic pictures; the frames are read back from disk."""

import glob

import numpy as np
import pytest
from PIL import Image

from vizcallbacks import PlotConvCallback, open_run
from vizcallbacks.apps.cli import main
from vizcallbacks.plotter import ConvPlotter, plot_conv

SIDE = 16
BATCH = 16


def _squares(count: int = 64, seed: int = 0):
    """Pictures of one bright square on a dark ground: (images, its quadrant, its size,
    a per-pixel class map: 0 ground, 1 the square's edge, 2 its inside)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, SIDE, SIDE, 1), np.float32)
    classes = np.zeros((count, SIDE, SIDE), np.int64)
    quadrants, sizes = np.zeros(count, np.int64), np.zeros(count, np.float32)
    for index in range(count):
        size = int(rng.integers(4, 8))
        top, left = rng.integers(0, SIDE - size, 2)
        images[index, top:top + size, left:left + size] = 1.0
        classes[index, top:top + size, left:left + size] = 1
        classes[index, top + 1:top + size - 1, left + 1:left + size - 1] = 2
        quadrants[index] = 2 * int(top + size / 2 >= SIDE / 2) + int(left + size / 2 >= SIDE / 2)
        sizes[index] = size / SIDE
    return images, quadrants, sizes, classes


def _autoencoder(keras):
    inputs = keras.Input((SIDE, SIDE, 1))
    hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="encode")(inputs)
    hidden = keras.layers.MaxPooling2D(name="pool")(hidden)
    hidden = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", name="decode")(hidden)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def _segmenter(keras):
    inputs = keras.Input((SIDE, SIDE, 1))
    hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="features")(inputs)
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="softmax", name="classes")(hidden)
    model = keras.Model(inputs, outputs)
    # One-hot maps: Keras on torch fails (grad_input must be contiguous) to train a sparse
    # cross-entropy over a map.
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    return model


def _two_heads(keras):
    inputs = keras.Input((SIDE, SIDE, 1))
    hidden = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    hidden = keras.layers.GlobalAveragePooling2D(name="pool")(hidden)
    quadrant = keras.layers.Dense(4, activation="softmax", name="quadrant")(hidden)
    size = keras.layers.Dense(1, name="size")(hidden)
    model = keras.Model(inputs, [quadrant, size])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"])
    return model


def _two_inputs(keras):
    image = keras.Input((SIDE, SIDE, 1), name="image")
    meta = keras.Input((5,), name="meta")
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    hidden = keras.layers.GlobalAveragePooling2D(name="pool")(hidden)
    hidden = keras.layers.Concatenate(name="joined")([hidden, meta])
    outputs = keras.layers.Dense(4, activation="softmax", name="quadrant")(hidden)
    model = keras.Model([image, meta], outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _fit(model, x, y, images, labels, frames_dir, **options):
    """Train one epoch (4 batches) with a frame every other batch; the frames, read back."""
    callback = PlotConvCallback(images, labels=labels, frames_dir=frames_dir, every_n_batches=2, **options)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[callback])
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(glob.glob(f"{frames_dir}/*.png"))]


def _cells(plotter, first_column: int):
    """{(image, column): (rows, cols)} of each drawn cell from `first_column` on."""
    return {(image, column): (rows, cols) for image, row, column, rows, cols in plotter.renderer.cells()
            if column >= first_column and row == 0}


def _drawn(frame, box) -> bool:
    """Whether a cell holds a picture: not all of it the white background."""
    return bool(np.any(frame[box] != 255))


def test_an_autoencoder_draws_its_reconstruction_beside_the_target(keras, tmp_path):
    x, *_ = _squares()
    model = _autoencoder(keras)
    frames = _fit(model, x, x, x[:3], x[:3], tmp_path / "run")
    plotter = ConvPlotter(model, x[:3], labels=x[:3])
    assert plotter.probe.output_kind == "image"
    picture_column = len(plotter.views) + 1
    cell = plotter.renderer.cell_px
    assert len(frames) >= 2 and all(frame.shape[:2] == plotter.frame_size for frame in frames)
    for image in range(3):
        rows, cols = _cells(plotter, picture_column)[(image, picture_column)]
        prediction, target = (rows, slice(cols.start, cols.start + cell)), (rows, slice(cols.stop - cell, cols.stop))
        input_box = _cells(plotter, 0)[(image, 0)]
        for frame in frames:
            assert _drawn(frame, prediction) and _drawn(frame, target)
            assert np.array_equal(frame[target], frame[input_box])  # the target is the input, on its scale
        assert not np.array_equal(frames[0][prediction], frames[-1][prediction])  # training moves it
    lines = plotter.renderer.reader.lines(plotter.capture())
    assert all(second.startswith("MSE ") for _, second in lines)


def test_a_recorded_autoencoder_run_is_redrawn_by_the_render_command(keras, tmp_path):
    x, *_ = _squares()
    model = _autoencoder(keras)
    frames = _fit(model, x, x, x[:2], x[:2], tmp_path / "run")
    assert main(["render", str(tmp_path / "run"), "--out", str(tmp_path / "again"), "--format", "gif"]) == 0
    again = [np.asarray(Image.open(path).convert("RGB")) for path in sorted(glob.glob(f"{tmp_path}/again/frames/*.png"))]
    assert len(again) == len(frames) == len(open_run(tmp_path / "run").steps)
    plotter = ConvPlotter(model, x[:2], labels=x[:2])
    column = len(plotter.views) + 1
    for before, after in zip(frames, again):
        assert before.shape == after.shape
        for image in range(2):  # the output is stored in float32: its pictures are drawn again exactly
            box = _cells(plotter, column)[(image, column)]
            assert _drawn(after, box) and np.array_equal(before[box], after[box])


def test_a_segmentation_draws_class_maps_and_the_share_of_pixels_right(keras, tmp_path):
    x, _, _, classes = _squares()
    one_hot = np.eye(3, dtype=np.float32)[classes]
    model = _segmenter(keras)
    frames = _fit(model, x, one_hot, x[:3], one_hot[:3], tmp_path / "run")
    plotter = ConvPlotter(model, x[:3], labels=classes[:3])  # a class per pixel reads as one-hot does
    assert plotter.probe.output_kind == "segmentation"
    column = len(plotter.views) + 1
    cell = plotter.renderer.cell_px
    for image in range(3):
        rows, cols = _cells(plotter, column)[(image, column)]
        target = frames[-1][rows, slice(cols.stop - cell, cols.stop)]
        assert len(np.unique(target.reshape(-1, 3), axis=0)) == 3  # three classes, three colours
        assert _drawn(frames[-1], (rows, slice(cols.start, cols.start + cell)))
    lines = plotter.renderer.reader.lines(plotter.capture())
    assert all(second.startswith("pixels right ") for _, second in lines)


def test_a_two_head_model_gets_a_column_and_a_reading_per_head(keras, tmp_path):
    x, quadrants, sizes, _ = _squares()
    model = _two_heads(keras)
    frames = _fit(model, x, [quadrants, sizes], x[:3], [quadrants[:3], sizes[:3]], tmp_path / "run")
    plotter = ConvPlotter(model, x[:3], labels={"quadrant": quadrants[:3], "size": sizes[:3]})
    assert plotter.probe.output_kind == {"quadrant": "classes", "size": "regression"}
    names = [view.name for view in plotter.views]
    assert {"quadrant", "size"} <= set(names)
    cells = _cells(plotter, 1)
    for frame in frames:
        for head in ("quadrant", "size"):
            assert all(_drawn(frame, cells[(image, names.index(head) + 1)]) for image in range(3))
    activations = plotter.capture()
    lines = plotter.renderer.reader.lines(activations)
    assert all(first.startswith("quadrant: ") and second.startswith("size: ") and "err" in second
               for first, second in lines)
    assert plotter.renderer.reader.true_text(0).count("|") == 1  # both heads' truth, named by order
    assert plotter.renderer.reader.marks(activations) is not None


def test_a_two_input_model_draws_the_image_and_the_metadata_side_by_side(keras, tmp_path):
    x, quadrants, _, _ = _squares()
    meta = np.random.default_rng(1).random((len(x), 5)).astype(np.float32)
    model = _two_inputs(keras)
    frames = _fit(model, [x, meta], quadrants, {"image": x[:3], "meta": meta[:3]}, quadrants[:3], tmp_path / "run")
    with pytest.warns(UserWarning, match="not recorded"):
        _fit(model, [x, meta], quadrants, [x[:3], meta[:3]], quadrants[:3], tmp_path / "list")
    plotter = ConvPlotter(model, [x[:3], meta[:3]], labels=quadrants[:3])
    assert plot_conv(model, [x[:3], meta[:3]], labels=quadrants[:3]).shape == frames[0].shape
    assert plotter.renderer.input.title == "image | meta"
    cell = plotter.renderer.cell_px
    for image in range(3):
        rows, cols = _cells(plotter, 0)[(image, 0)]
        assert cols.stop - cols.start > 2 * cell  # two pictures
        for frame in frames:
            assert _drawn(frame, (rows, slice(cols.start, cols.start + cell)))           # the image
            assert _drawn(frame, (rows, slice(cols.stop - cell, cols.stop)))             # the vector strip


def test_what_cannot_be_drawn_is_refused_before_the_first_batch_saying_what_would_do(keras, tmp_path):
    x, quadrants, _, _ = _squares()
    model = _two_inputs(keras)
    with pytest.raises(ValueError, match=r"takes 2 inputs \(image, meta\)\. Give a list of 2 batches"):
        _fit(model, [x, x[:, :5, 0, 0]], quadrants, x[:3], quadrants[:3], tmp_path / "one")

    class Nested(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            flat = keras.ops.reshape(inputs, (-1, SIDE * SIDE))
            return [self.dense(flat), [self.dense(flat)]]

    # What the callback makes when training begins, before the first batch.
    with pytest.raises(ValueError, match="not one tensor. Drawable: .* flattened into one list or dict"):
        ConvPlotter(Nested(), x[:2])


def test_a_picture_head_beside_a_class_head_gets_its_own_picture_column(keras):
    x, quadrants, _, _ = _squares(8)
    inputs = keras.Input((SIDE, SIDE, 1))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    image = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="image")(hidden)
    quadrant = keras.layers.Dense(4, activation="softmax", name="quadrant")(
        keras.layers.GlobalAveragePooling2D(name="pool")(hidden))
    model = keras.Model(inputs, {"image": image, "quadrant": quadrant})
    model.compile(optimizer="adam", loss={"image": "mse", "quadrant": "sparse_categorical_crossentropy"})
    plotter = ConvPlotter(model, x[:2], labels={"image": x[:2], "quadrant": quadrants[:2]})
    assert plotter.probe.output_kind == {"image": "image", "quadrant": "classes"}
    assert [column.name for column in plotter.renderer.output_columns] == ["image"]
    frame = plotter(epoch=1)
    column = len(plotter.views) + 1
    assert all(_drawn(frame, box) for box in (_cells(plotter, column)[(image, column)] for image in range(2)))
    lines = plotter.renderer.reader.lines(plotter.capture())
    assert all(first.startswith("image: MSE ") and second.startswith("quadrant: ") for first, second in lines)
