"""Any model the notes train, trained for real and small: their Conv1D text model, their
time-series model, recurrent text models, a subclassed model, a `keras.applications`
network (marked e2e: it is slow to compile), a model compiled with `steps_per_execution`. Each makes frames of one size,
the right number of them, and no cell of any frame is a flat colour."""

import gc
import weakref

import numpy as np
import pytest

from vizcallbacks import FrameStyle, ConvPlotter, PlotConvCallback, plot_conv
from vizcallbacks import plotter as plotter_module
from vizcallbacks.framefiles import read_manifest
from vizcallbacks.demos.models import series_lstm, text_conv1d
from vizcallbacks.render import GridRenderer, Stamp
from vizcallbacks.render.inputs import token_text
from vizcallbacks.render.text import abbreviate
from vizcallbacks.demos.synthetic import series_data, token_task


def recording_renderer():
    """A renderer class that keeps what it made and drew: the renderer, frames, stamps."""

    class Recording(GridRenderer):
        made, frames, stamps, activations = [], [], [], []

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            Recording.made.append(self)

        def render(self, activations, stamp=Stamp()):
            frame = super().render(activations, stamp)
            Recording.frames.append(frame)
            Recording.stamps.append(stamp)
            Recording.activations.append(activations)
            return frame

    return Recording


def check_frames(recording, count, *, flat_where_constant=False):
    """`count` frames of one size, in which every cell shows more than one colour. With
    `flat_where_constant` (and normalization="minmax", where a cell is flat exactly when
    what it shows is), a cell may be flat where its values are all the same (an untrained
    deep network's dead ReLU channel), and most are not."""
    assert len(recording.frames) == count
    assert len({frame.shape for frame in recording.frames}) == 1
    renderer = recording.made[-1]
    flat = []
    for number, (frame, activations) in enumerate(zip(recording.frames, recording.activations)):
        for image, row, column, rows, cols in renderer.cells():
            if len(np.unique(frame[rows, cols].reshape(-1, 3), axis=0)) > 1:
                continue
            where = f"frame {number}: cell of image {image}, row {row}, column {column} is flat"
            assert flat_where_constant and column > 0, where
            shown = activations.outputs[column - 1][image]
            if renderer.views[column - 1].kind == "maps":
                shown = shown[..., renderer.channels[row]]
            assert np.ptp(shown) == 0, f"{where}, yet its values vary"
            flat.append(where)
    assert len(flat) <= len(recording.frames) * len(renderer.cells()) // 4, flat


def records(folder):
    return [record for _, record in read_manifest(folder / "frames.jsonl")]


@pytest.fixture(scope="module")
def task():
    return token_task(train=64, test=8, seed=0)


def test_the_notes_conv1d_text_model_shows_its_sentences_in_words(task, tmp_path):
    model = text_conv1d(vocabulary_size=len(task.vocabulary), length=task.x_train.shape[1], seed=0)
    recording = recording_renderer()
    callback = PlotConvCallback(task.x_test[:3], labels=task.y_test[:3], frames_dir=tmp_path, every_n_batches=3,
                                style=FrameStyle(class_names=task.class_names, vocabulary=task.vocabulary))
    callback.renderer_factory = recording
    model.fit(task.x_train, task.y_train, batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 4)  # batches 0, 3, 6 and the end, 7
    renderer = recording.made[0]
    assert [(view.name, view.kind) for view in renderer.views] == [
        ("embedding", "sequence"), ("conv1d", "sequence"), ("max_over_time", "vector"), ("dense", "vector"),
        ("positive", "vector")]
    assert renderer.images.dtype == np.int32 and renderer.input.kind == "tokens"
    assert renderer.reader.kind == "binary"
    words = token_text(renderer.images[0], dict(enumerate(task.vocabulary)))
    assert words == " ".join(task.vocabulary[i] for i in task.x_test[0] if i) and "not" in task.vocabulary
    assert all(r["accuracy"] is not None and r["mae"] is None for r in records(tmp_path))
    assert "accuracy: " in recording.stamps[-1].text()


def test_the_notes_time_series_model_shows_windows_and_the_mean_absolute_error(tmp_path):
    data = series_data()
    model = series_lstm(seed=0)
    recording = recording_renderer()
    callback = PlotConvCallback(data.x_valid[[0, 100, 200]], labels=data.y_valid[[0, 100, 200]],
                                frames_dir=tmp_path, every_n_batches=3)
    callback.renderer_factory = recording
    model.fit(data.x_train[:64], data.y_train[:64], batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 4)
    renderer = recording.made[0]
    assert [(view.name, view.kind, view.shape) for view in renderer.views] == [
        ("causal_conv1d", "sequence", (20, 32)), ("lstm_sequence", "sequence", (20, 64)),
        ("lstm", "vector", (64,)), ("dense", "vector", (1,)), ("forecast", "vector", (1,))]
    assert renderer.input.kind == "series" and renderer.reader.kind == "regression"
    np.testing.assert_allclose(renderer.reader.targets(), data.y_valid[[0, 100, 200]])
    manifest = records(tmp_path)
    assert all(r["accuracy"] is None and r["mae"] > 0 for r in manifest)
    text = recording.stamps[-1].text()
    assert f"mae: {manifest[-1]['mae']:.3f}" in text and "accuracy" not in text


@pytest.mark.parametrize("metric", ["mean_absolute_error", "mae"])
def test_a_regression_stamps_its_mae_whatever_the_metric_is_called(keras, tmp_path, metric):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="value")])
    model.compile(optimizer="adam", loss="mse", metrics=[metric])
    x = np.random.default_rng(0).random((32, 6), dtype=np.float32)
    y = x.sum(axis=1)
    recording = recording_renderer()
    callback = PlotConvCallback(x[:3], labels=y[:3], frames_dir=tmp_path, every_n_batches=2)
    callback.renderer_factory = recording
    model.fit(x, y, batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 3)  # batches 0, 2 and the end, 3
    assert recording.made[0].input.kind == "features"
    assert all(stamp.mae is not None and stamp.accuracy is None for stamp in recording.stamps)
    assert [r["mae"] for r in records(tmp_path)] == [stamp.mae for stamp in recording.stamps]


def test_recurrent_text_models_gru_and_bidirectional_lstm(keras, task, tmp_path):
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((task.x_train.shape[1],), dtype="int32"),
        layers.Embedding(len(task.vocabulary), 8, name="embedding"),
        layers.Bidirectional(layers.LSTM(6, return_sequences=True), name="bi_lstm"),
        layers.GRU(6, name="gru"),
        layers.Dense(1, activation="sigmoid", name="positive"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    recording = recording_renderer()
    callback = PlotConvCallback(task.x_test[:2], labels=task.y_test[:2], frames_dir=tmp_path, every_n_batches=4)
    callback.renderer_factory = recording
    model.fit(task.x_train, task.y_train, batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 3)  # batches 0, 4 and the end, 7
    views = recording.made[0].views
    assert [(v.name, v.kind, v.shape, v.layer_class) for v in views] == [
        ("embedding", "sequence", (12, 8), "Embedding"), ("bi_lstm", "sequence", (12, 12), "Bidirectional(LSTM)"),
        ("gru", "vector", (6,), "GRU"), ("positive", "vector", (1,), "Dense")]


def test_a_subclassed_model_without_input_is_built_by_fit_and_drawn(keras, task, tmp_path):
    class SentimentModel(keras.Model):  # the TensorFlow tutorials' style: layers in __init__, a call
        def __init__(self, vocabulary_size):
            super().__init__(name="sentiment")
            self.embedding = keras.layers.Embedding(vocabulary_size, 8, name="embedding")
            self.conv = keras.layers.Conv1D(8, 3, name="conv")
            self.pool = keras.layers.GlobalMaxPooling1D(name="pool")
            self.classes = keras.layers.Dense(2, name="classes")

        def call(self, ids):
            return self.classes(self.pool(keras.ops.relu(self.conv(self.embedding(ids)))))

    keras.utils.set_random_seed(0)
    model = SentimentModel(len(task.vocabulary))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    recording = recording_renderer()
    callback = PlotConvCallback(task.x_test[:3], labels=task.y_test[:3], frames_dir=tmp_path, every_n_batches=5,
                                style=FrameStyle(vocabulary=task.vocabulary))
    callback.renderer_factory = recording
    model.fit(task.x_train, task.y_train, batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 3)  # batches 0, 5 and the end, 7
    renderer = recording.made[0]
    assert [view.name for view in renderer.views] == ["embedding", "conv", "pool", "classes"]
    assert renderer.input.kind == "tokens" and renderer.reader.kind == "classes"


@pytest.mark.e2e  # a real network of 156 layers: a minute to compile its training step on 2 cores
def test_a_keras_applications_network_is_drawn_by_stage_on_one_screen(keras, tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 32, 32, 3), dtype=np.float32), rng.integers(0, 4, 16)
    recording = recording_renderer()
    callback = PlotConvCallback(x[:2], labels=y[:2], frames_dir=tmp_path, every_n_batches=1,
                                style=FrameStyle(normalization="minmax"))
    callback.renderer_factory = recording
    model.fit(x, y, batch_size=8, verbose=0, callbacks=[callback])
    check_frames(recording, 2, flat_where_constant=True)  # batches 0 and 1 (the end)
    renderer = recording.made[0]
    assert 4 <= len(renderer.views) <= 12 and renderer.views[-1].name == "predictions"
    assert len(model.layers) > 100
    height, width = renderer.frame_size
    assert width <= 1920 and height <= 1080
    # Every header names its layer in full: no name cut short.
    names = [line for header in renderer.headers[1:] for line, role in header if role == "name"]
    assert not any("…" in line for line in names)
    # In full, or with its long words shortened where the column is narrow (text.abbreviate).
    drawn = "".join(names).replace("_", "")
    assert drawn in {"".join(names_of).replace("_", "") for names_of in (
        [view.name for view in renderer.views], [abbreviate(view.name) for view in renderer.views])} or \
        all(abbreviate(view.name).replace("_", "") in drawn or view.name.replace("_", "") in drawn
            for view in renderer.views), drawn


def test_steps_per_execution_frames_fall_at_the_first_hook_past_each_multiple(keras, tiny_cnn, tiny_data, tmp_path):
    if keras.backend.backend() == "torch":
        pytest.skip("Keras refuses steps_per_execution > 1 on PyTorch")
    tiny_cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                     steps_per_execution=8)
    images, labels = (np.concatenate([array] * 7)[:512] for array in tiny_data)  # 64 batches of 8
    recording = recording_renderer()
    callback = PlotConvCallback(images[:2], labels=labels[:2], frames_dir=tmp_path, every_n_batches=20,
                                batch_size=8)
    callback.renderer_factory = recording
    tiny_cnn.fit(images, labels, batch_size=8, verbose=0, shuffle=False, callbacks=[callback])
    check_frames(recording, 4)
    manifest = records(tmp_path)
    # Keras calls the hooks after batches 7, 15, ..., 63.
    assert [(r["batch"], r["due_batch"], r["step"]) for r in manifest] == [(7, 0, 8), (23, 20, 24), (47, 40, 48),
                                                                          (63, 60, 64)]
    assert [stamp.batch for stamp in recording.stamps] == [7, 23, 47, 63]
    assert [r["examples_seen"] for r in manifest] == [64, 192, 384, 512]


def test_plot_conv_called_again_reuses_its_plotter_and_keeps_the_colour_scale(tiny_cnn, tiny_data, monkeypatch):
    made = []

    class CountingPlotter(ConvPlotter):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(plotter_module, "ConvPlotter", CountingPlotter)
    images = tiny_data[0][:3]
    frames = [plot_conv(tiny_cnn, images, labels=tiny_data[1][:3], epoch=1, batch=b) for b in range(3)]
    assert len(made) == 1
    held = ConvPlotter(tiny_cnn, images, labels=tiny_data[1][:3])  # what a held plotter draws
    assert all(np.array_equal(frame, held(epoch=1, batch=b)) for b, frame in enumerate(frames))
    plot_conv(tiny_cnn, images, labels=tiny_data[1][:3], style=FrameStyle(cmap="viridis"))  # other options: another plotter
    plot_conv(tiny_cnn, images[:2], labels=tiny_data[1][:2])              # other images: another
    assert len(made) == 3


def test_plot_conv_does_not_keep_a_model_alive(keras, tiny_data):
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(3, 3, name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    plot_conv(model, tiny_data[0][:2])
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("vocabulary, message", [
    ("the cat", "vocabulary must be a list of words"),
    ([1, 2, 3], "vocabulary must be a list of words"),
    ({"the": "cat"}, "mapping from token id to word"),
])
def test_a_vocabulary_that_is_not_words_fails_in_init(tmp_path, vocabulary, message):
    with pytest.raises(TypeError, match=message):
        PlotConvCallback(np.zeros((2, 5), np.int32), frames_dir=tmp_path, style=FrameStyle(vocabulary=vocabulary))


def test_token_ids_stay_integers_and_fractions_are_refused(task):
    model = text_conv1d(vocabulary_size=len(task.vocabulary), length=task.x_train.shape[1], seed=0)
    plotter = ConvPlotter(model, task.x_test[:2].astype(np.float64))  # whole numbers as floats
    assert plotter.images.dtype == np.int32 and plotter.renderer.input.kind == "tokens"
    with pytest.raises(ValueError, match="must be token ids \\(whole numbers\\)"):
        ConvPlotter(model, task.x_test[:2] + 0.5)


# Layer names of keras.applications networks, from short to the longest they have.
APPLICATION_NAMES = ["block_13_expand_relu", "expanded_conv_project_BN", "global_average_pooling2d",
                     "conv5_block3_out", "block6d_project_bn", "top_activation", "conv5_block16_concat",
                     "block14_sepconv2_act", "expanded_conv_3_squeeze_excite_relu",
                     "separable_conv_1_bn_reduction_left1_stem_1"]


@pytest.mark.parametrize("name", APPLICATION_NAMES)
def test_column_headers_keep_a_layer_name_readable(name):
    from PIL import Image, ImageDraw

    from vizcallbacks.render.text import SMALL_FONT, abbreviate, font, header_lines

    draw, small, room = ImageDraw.Draw(Image.new("L", (1, 1))), font(SMALL_FONT), 58  # a 56-pixel cell
    lines = header_lines(draw, name, small, room)
    assert 1 <= len(lines) <= 3 and all(draw.textlength(line, font=small) <= room for line in lines)
    whole = "".join(lines) in (name, abbreviate(name))  # the name, or with its usual abbreviations
    assert whole or len(name) > 26  # what three lines hold is never cut
    if not whole:  # too long even shortened: its beginning and its end, never a name cut off at its end
        assert lines[0].endswith("…") and name.endswith(lines[-1]) and abbreviate(name).startswith(lines[0][:-1])


def test_names_that_all_columns_share_are_written_once(keras):
    from vizcallbacks.render.text import shared_prefix

    assert shared_prefix(["convnext_tiny_stage_0_block_2", "convnext_tiny_head_dense"]) == "convnext_tiny_"
    assert shared_prefix(["block_1_relu", "block_13_relu"]) == "block_"
    assert shared_prefix(["conv", "conv_1"]) == "" and shared_prefix(["conv_1"]) == ""
    # Only where what remains still names the layer: not a number, not the tail of Keras's own name.
    autoencoder = ["conv2d_3", "conv2d_4", "conv2d_transpose", "conv2d_5"]
    assert shared_prefix(autoencoder, ["Conv2D", "Conv2D", "Conv2DTranspose", "Conv2D"]) == ""
    assert shared_prefix(["conv2d_3", "conv2d_4"]) == ""
    assert shared_prefix(["encoder_conv2d", "encoder_conv2d_transpose"], ["Conv2D", "Conv2DTranspose"]) == "encoder_"


def test_squeeze_and_excite_branches_are_not_stages(keras):
    """A deep model whose stages hold squeeze-and-excite branches (maps squeezed to one
    value per channel, then back): one column per stage, as for a plain network."""
    from vizcallbacks.capture.probe import ActivationProbe

    layers = keras.layers
    inputs = x = keras.Input((16, 16, 3))
    for stage, size in enumerate((16, 8, 4)):
        if stage:
            x = layers.MaxPooling2D(name=f"pool{stage}")(x)
        x = layers.Conv2D(4, 3, padding="same", activation="relu", name=f"conv{stage}")(x)
        squeezed = layers.GlobalAveragePooling2D(keepdims=True, name=f"squeeze{stage}")(x)
        excited = layers.Conv2D(4, 1, activation="sigmoid", name=f"excite{stage}")(squeezed)
        x = layers.Multiply(name=f"scale{stage}")([x, excited])
        x = layers.Conv2D(4, 3, padding="same", activation="relu", name=f"out{stage}")(x)
    outputs = layers.Dense(3, activation="softmax", name="predictions")(layers.Flatten(name="flat")(x))
    probe = ActivationProbe(keras.Model(inputs, outputs), np.zeros((1, 16, 16, 3), np.float32))
    assert [view.name for view in probe.views] == ["out0", "out1", "out2", "flat", "predictions"]


@pytest.mark.parametrize("dataset, figure, printed", [
    ("series", "mae", "validation mean absolute error"),
    ("tokens", "accuracy", "test accuracy"),
])
def test_the_sequence_demos_make_their_movies_from_the_command_line(tmp_path, capsys, dataset, figure, printed):
    from vizcallbacks.apps.cli import main
    from vizcallbacks.movie import inspect_movie

    out = tmp_path / dataset
    assert main(["train", "--dataset", dataset, "--epochs", "1", "--max-steps", "12", "--every", "5",
                 "--format", "gif", "--out", str(out), "--quiet"]) == 0
    manifest = records(out)
    assert [r["batch"] for r in manifest] == [0, 5, 10, 11] and manifest[-1]["final"]
    assert all(r[figure] is not None for r in manifest)
    other = {"mae": "accuracy", "accuracy": "mae"}[figure]
    assert all(r[other] is None for r in manifest)
    assert inspect_movie(out / "movie.gif").frame_count == 4
    assert printed in capsys.readouterr().out


def test_the_made_datasets_take_no_data_dir(tmp_path):
    from vizcallbacks import train_movie

    with pytest.raises(ValueError, match=r"data_dir \(--data-dir\) is for datasets read from files; 'series' is made"):
        train_movie(dataset="series", data_dir=tmp_path, out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_notes_series_is_windowed_as_the_notes_window_it():
    from vizcallbacks.demos.synthetic import notes_series, series_windows

    series = notes_series()
    assert series.shape == (1461,) and 0 < series.mean() < 100
    windows, targets = series_windows(series[:30], 20)
    assert windows.shape == (10, 20, 1) and targets.shape == (10,)
    # window(21, shift=1), then (w[:-1], w[-1]): window i holds days i..i+19, its target day i+20
    np.testing.assert_array_equal(windows[3, :, 0], series[3:23])
    assert targets[3] == series[23]
    data = series_data()
    assert data.x_train.shape == (980, 20, 1) and data.x_valid.shape == (441, 20, 1)
    assert data.y_valid[0] == data.series[data.split_time + 20]  # validation starts after the split


def test_a_sequence_is_drawn_with_time_across_and_channels_down():
    from vizcallbacks.capture.layers import LayerView
    from vizcallbacks.capture.probe import Activations

    windows = np.linspace(0, 1, 2 * 6).reshape(2, 6, 1).astype(np.float32)
    windows[1, 2, 0] = np.nan  # a gap in a window: drawn, not a crash
    renderer = GridRenderer([LayerView("seq", (6, 4), "LSTM")], windows, labels=[0.5, 2.0],
                            output_kind="regression", style=FrameStyle(normalization="minmax"))
    rising_channels = np.broadcast_to(np.arange(4, dtype=np.float32), (2, 6, 4))  # channel c is c at every step
    frame = renderer.render(Activations((rising_channels,), None, output=np.array([[0.4], [1.0]])), Stamp(1, 0))
    (_, _, _, rows, cols), = [cell for cell in renderer.cells() if cell[:3] == (0, 0, 1)]
    cell = frame[rows, cols]
    assert all(len(np.unique(cell[:, x], axis=0)) == 4 for x in range(cell.shape[1]))  # down: 4 channels
    assert all(len(np.unique(cell[y], axis=0)) == 1 for y in range(cell.shape[0]))     # across: one colour
    assert renderer.input.kind == "series" and renderer.input.title == "window ○ true ■ pred"
