"""FrameStyle: the drawing options as one checked value, and the old keywords for one release."""

import numpy as np
import pytest

from vizcallbacks import ConvPlotter, FrameStyle, plot_conv

pytestmark = pytest.mark.once


def test_a_style_is_checked_once_where_it_is_made_and_names_the_field():
    for fields, message in [({"cmap": "nope"}, "cmap must be a matplotlib colormap.*Received: cmap='nope'"),
                            ({"cell_px": 4}, r"cell_px must be an integer in 8\.\.512"),
                            ({"normalization": "z"}, "normalization must be one of"),
                            ({"channels": []}, "channels is empty"),
                            ({"channels_per_image": 0}, "channels_per_image must be at least 1"),
                            ({"class_names": []}, "class_names is empty"),
                            ({"layers": []}, "layers is empty")]:
        with pytest.raises(ValueError, match=message):
            FrameStyle(**fields)
    with pytest.raises(TypeError, match="class_names must be a list of names"):
        FrameStyle(class_names="shirt")


def test_a_style_is_immutable_and_survives_a_trip_through_json():
    import json

    style = FrameStyle(layers=["conv", 2], channels=np.array([0, 3]), class_names=np.array(["a", "b"]),
                       vocabulary={"the": 1, "cat": 2}, channels_per_image=[2, 1])
    assert style.layers == ("conv", 2) and style.channels == (0, 3) and style.class_names == ("a", "b")
    assert dict(style.vocabulary) == {1: "the", 2: "cat"}
    with pytest.raises(Exception):
        style.cmap = "gray"
    again = FrameStyle.from_dict(json.loads(json.dumps(style.to_dict())))
    assert again == style and again.key() == style.key()
    smaller = style.replace(cell_px=24)
    assert smaller.cell_px == 24 and style.cell_px == 56 and smaller.channels == style.channels
    with pytest.raises(TypeError, match="FrameStyle has no field colour"):
        style.replace(colour="red")
    with pytest.raises(ValueError, match="unknown fields \\['colour'\\]"):
        FrameStyle.from_dict({"colour": "red"})


def test_the_old_keywords_still_draw_the_same_frame_and_warn_once(tiny_cnn, tiny_data):
    images, labels = tiny_data[0][:3], tiny_data[1][:3]
    new = ConvPlotter(tiny_cnn, images, labels=labels, style=FrameStyle(cmap="viridis", cell_px=24))(epoch=1)
    with pytest.warns(DeprecationWarning, match=r"style=FrameStyle\(cmap=..., cell_px=...\)"):
        old = ConvPlotter(tiny_cnn, images, labels=labels, cmap="viridis", cell_px=24)(epoch=1)
    np.testing.assert_array_equal(new, old)
    with pytest.raises(TypeError, match="plot_conv got unexpected keyword arguments colour.*Valid: labels"):
        plot_conv(tiny_cnn, images, colour="red")
    with pytest.raises(TypeError, match="give the drawing options in style= only"):
        plot_conv(tiny_cnn, images, style=FrameStyle(), cmap="gray")
    with pytest.raises(TypeError, match="style must be a vizcallbacks.FrameStyle.*Received: style='viridis'"):
        plot_conv(tiny_cnn, images, style="viridis")
