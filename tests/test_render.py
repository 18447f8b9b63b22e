import math

import numpy as np
import pytest

from vizcallbacks import FrameStyle, plot_conv
from vizcallbacks.capture.probe import ActivationProbe, Activations
from vizcallbacks.render import GridRenderer, Stamp


def _renderer(model, images, labels=None, output_kind="classes", **style):
    probe = ActivationProbe(model, images)
    return probe, GridRenderer(probe.views, images, labels=labels, style=FrameStyle(**style),
                               output_kind=output_kind)


def test_stamp_text_has_the_notes_format_and_the_loss():
    assert Stamp(1, 250, 0.7321, 0.5123).text() == "Epoch: 01, batch: 0250, accuracy: 0.732, loss: 0.512"
    assert Stamp(3, 7, math.nan, math.inf).text() == "Epoch: 03, batch: 0007, accuracy: NaN, loss: inf"


def test_plot_conv_returns_an_rgb_frame_with_one_column_per_drawable_layer(tiny_cnn, tiny_data):
    images, labels = tiny_data
    frame = plot_conv(tiny_cnn, images[:3], labels=labels[:3], epoch=1, batch=0)
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    probe, renderer = _renderer(tiny_cnn, images[:3])
    assert [v.name for v in probe.views] == ["conv", "pool", "flat", "out"]
    assert frame.shape[:2] == renderer.frame_size


def test_every_frame_of_a_run_has_the_same_size(tiny_cnn, tiny_data):
    images, labels = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:4], labels=labels[:4], class_names=list("abcde"))
    sizes = {renderer.render(probe(), Stamp(e, b, a, l)).shape
             for e, b, a, l in [(1, 0, 0.1, 2.3), (12, 12345, 1.0, 0.0001), (2, 5, math.nan, math.nan)]}
    assert len(sizes) == 1


def test_grid_layout_first_image_gets_one_row_per_channel(tiny_cnn, tiny_data):
    images, _ = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:3], channels=[0, 2, 5])
    assert renderer.rows_per_image == (3, 1, 1)
    cells = renderer.cells()
    # image 0: input + flat + out in row 0, conv and pool in all three rows
    assert sorted((r, c) for i, r, c, *_ in cells if i == 0) == [
        (0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (2, 1), (2, 2)]
    probe, renderer = _renderer(tiny_cnn, images[:3], channels=[0, 2, 5], channels_per_image=2)
    assert renderer.rows_per_image == (2, 2, 2)


def test_default_channels_are_clipped_to_what_each_layer_has(tiny_cnn, tiny_data):
    images, _ = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:2])  # conv has 6 channels: 1 and 5 shown, no empty rows
    assert renderer.channels == (1, 5) and renderer.rows_per_image == (2, 1)
    shown_rows = {r for i, r, c, *_ in renderer.cells() if i == 0 and c == 1}
    assert shown_rows == {0, 1}


def test_explicit_channel_beyond_a_layer_names_the_layer_and_its_count(tiny_cnn, tiny_data):
    images, _ = tiny_data
    with pytest.raises(ValueError, match=r"layer 'conv', which has 6 channels"):
        plot_conv(tiny_cnn, images[:2], style=FrameStyle(channels=[1, 6]))


def test_every_cell_shows_content(tiny_cnn, tiny_data):
    images, labels = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:3], labels=labels[:3], normalization="minmax")
    frame = renderer.render(probe(), Stamp(1, 0))
    for image, row, column, rows, cols in renderer.cells():
        cell = frame[rows, cols]
        assert len(np.unique(cell.reshape(-1, 3), axis=0)) > 1, (image, row, column)


@pytest.mark.parametrize("model_name", ["tiny_cnn_without_input", "branched_model"])
def test_plot_conv_works_on_sequential_without_input_and_branched_functional(model_name, request, tiny_data):
    model = request.getfixturevalue(model_name)
    images, labels = tiny_data
    if model_name == "tiny_cnn_without_input":
        model.build((None, 12, 12, 1))
    frame = plot_conv(model, images[:2, ..., 0], labels=labels[:2])  # channel axis added for us
    assert frame.ndim == 3
    probe = ActivationProbe(model, images[:2])
    names = [v.name for v in probe.views]
    if model_name == "branched_model":
        # the nested model is one column; BatchNormalization and Dropout are drawn too
        assert names == ["left", "right", "add", "bn", "nested", "flat", "drop", "logits"]
        probabilities = probe().probabilities
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)  # logits -> softmax


def test_layers_by_name_and_index(tiny_cnn, tiny_data):
    images, _ = tiny_data
    probe = ActivationProbe(tiny_cnn, images[:3], layers=["pool", -1])
    assert [v.name for v in probe.views] == ["pool", "out"]
    acts = probe()
    assert acts.outputs[0].shape == (3, 5, 5, 6) and acts.outputs[1].shape == (3, 5)


def test_unknown_layer_lists_the_layers_that_exist(tiny_cnn):
    with pytest.raises(ValueError, match=r"no layer named 'conv1'.*\['conv', 'pool', 'flat', 'out'\]"):
        ActivationProbe(tiny_cnn, np.zeros((1, 12, 12, 1), np.float32), layers=["conv1"])
    with pytest.raises(ValueError, match=r"index 9 is out of range.*0\.\.3"):
        ActivationProbe(tiny_cnn, np.zeros((1, 12, 12, 1), np.float32), layers=[9])


def test_an_unbuilt_model_is_built_by_the_first_pass_on_its_images(keras):
    model = keras.Sequential([keras.layers.Dense(3, name="dense")])
    probe = ActivationProbe(model, np.ones((2, 4), np.float32))
    assert model.built and [(v.name, v.shape) for v in probe.views] == [("dense", (3,))]
    assert probe().outputs[0].shape == (2, 3)


def test_images_the_model_cannot_run_on_are_named_with_what_went_wrong(keras):
    class Picky(keras.Model):
        def __init__(self):
            super().__init__(name="picky")
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 5)))

    with pytest.raises(ValueError, match=r"model 'picky' could not run on the images \(shape \(2, 4\), dtype float32\)"):
        ActivationProbe(Picky(), np.ones((2, 4), np.float32))


def test_images_that_do_not_fit_the_input_are_refused(tiny_cnn):
    with pytest.raises(ValueError, match=r"received shape \(2, 10, 10, 1\).*\(N, 12, 12, 1\)"):
        plot_conv(tiny_cnn, np.zeros((2, 10, 10, 1), np.float32))
    with pytest.raises(TypeError, match="numeric"):
        plot_conv(tiny_cnn, np.full((2, 12, 12, 1), "a"))
    with pytest.raises(ValueError, match="empty"):
        plot_conv(tiny_cnn, np.zeros((0, 12, 12, 1), np.float32))


def test_nan_activations_are_drawn_and_the_stamp_says_nan(tiny_cnn, tiny_data):
    images, _ = tiny_data
    weights = tiny_cnn.get_layer("conv").get_weights()
    tiny_cnn.get_layer("conv").set_weights([np.full_like(weights[0], np.nan), weights[1]])
    frame = plot_conv(tiny_cnn, images[:2], accuracy=math.nan, loss=math.nan, epoch=1, batch=3)
    assert frame.shape[2] == 3


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_bad_pixel_in_an_input_leaves_the_rest_of_the_image_drawn(tiny_cnn, tiny_data, bad):
    images, _ = tiny_data
    images = images[:2].copy()
    images[0, 0, 0, 0] = bad
    probe, renderer = _renderer(tiny_cnn, images)
    frame = renderer.render(probe())
    for image, _, column, rows, cols in renderer.cells():
        if column == 0:  # the input: its range comes from the finite pixels, not the bad one
            assert len(np.unique(frame[rows, cols].reshape(-1, 3), axis=0)) > 10, image


def test_stable_normalization_follows_a_layer_slowly(tiny_cnn, tiny_data):
    images, _ = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:2])
    acts = probe()
    first = renderer.render(acts)
    doubled = Activations(tuple(o * 3 for o in acts.outputs), acts.probabilities)
    stable = renderer.render(doubled)
    _, minmax = _renderer(tiny_cnn, images[:2], normalization="minmax")
    assert not np.array_equal(first, stable)  # brighter, since the range lags behind
    # minmax ignores the scale completely: the same frame for x and 3x
    assert np.array_equal(minmax.render(acts), minmax.render(doubled))


def test_frame_colours_are_all_in_the_renderer_palette(tiny_cnn, tiny_data):
    images, labels = tiny_data
    probe, renderer = _renderer(tiny_cnn, images[:3], labels=labels[:3])
    frame = renderer.render(probe(), Stamp(1, 2, 0.5, 1.0))
    colours = {tuple(c) for c in np.unique(frame.reshape(-1, 3), axis=0)}
    assert colours <= {tuple(c) for c in renderer.palette}
    # fewer than 256: a GIF keeps an entry free for transparency
    assert renderer.palette.shape == (224, 3)
    assert len(np.unique(renderer.palette, axis=0)) == 224


@pytest.mark.parametrize("option, value, message", [
    ("normalization", "zscore", "normalization must be one of"),
    ("cmap", "nope", "cmap must be a matplotlib colormap"),
    ("channels_per_image", 9, "channels_per_image"),
])
def test_bad_render_options_name_the_argument(tiny_cnn, tiny_data, option, value, message):
    images, _ = tiny_data
    with pytest.raises(ValueError, match=message):
        plot_conv(tiny_cnn, images[:2], **{option: value})


def test_a_warm_renderer_draws_what_a_fresh_one_draws(tiny_cnn, tiny_data):
    """Text drawn once and kept for later frames changes no pixel."""
    images, labels = tiny_data
    probe, warm = _renderer(tiny_cnn, images[:4], labels=labels[:4], class_names=list("abcde"))
    acts = probe()
    for batch in range(5):
        warm.render(acts, Stamp(1, batch, 0.5, 1.0))
    _, fresh = _renderer(tiny_cnn, images[:4], labels=labels[:4], class_names=list("abcde"))
    stamp = Stamp(2, 77, 0.25, 0.75)
    assert np.array_equal(warm.render(acts, stamp), fresh.render(acts, stamp))


def test_a_narrow_frame_fits_its_stamp_rather_than_cutting_it_at_the_edge(tiny_cnn, tiny_data):
    images = tiny_data[0][:2]
    probe = ActivationProbe(tiny_cnn, images, layers=["out"])
    renderer = GridRenderer(probe.views, images, style=FrameStyle(cell_px=16))
    frame = renderer.render(probe(), Stamp(12, 93750, 0.8876, 0.3105, 1.25))
    band = frame[:26]  # the stamp's band
    inked = np.nonzero((band < 200).any(axis=(0, 2)))[0]
    assert frame.shape[1] < 300 and inked.size  # a narrow frame, with a stamp drawn
    assert inked.max() < frame.shape[1] - 3  # its ink ends inside the frame
