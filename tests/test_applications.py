"""Every `keras.applications` family, as its smallest member at the smallest input it takes,
untrained, drawn with its default columns: the trunk's stages (`capture/trunk.py`), never a
side branch, headers that never run into each other, and a frame that fits a screen.

Marked `once`: the columns come from the model's graph and its shapes, which no backend
changes. Marked `e2e`: building fourteen networks and tracing their passes takes about
a minute on 2 cores."""

import re

import numpy as np
import pytest

from vizcallbacks import ConvPlotter

pytestmark = [pytest.mark.once, pytest.mark.e2e]

# family: (how to build its smallest member, the smallest input side it takes).
FAMILIES = {
    "ConvNeXt": (lambda apps, shape: apps.ConvNeXtTiny(input_shape=shape, **_UNTRAINED), 32),
    "DenseNet": (lambda apps, shape: apps.DenseNet121(input_shape=shape, **_UNTRAINED), 32),
    "EfficientNet": (lambda apps, shape: apps.EfficientNetB0(input_shape=shape, **_UNTRAINED), 32),
    "EfficientNetV2": (lambda apps, shape: apps.EfficientNetV2B0(input_shape=shape, **_UNTRAINED), 32),
    "InceptionResNetV2": (lambda apps, shape: apps.InceptionResNetV2(input_shape=shape, **_UNTRAINED), 75),
    "InceptionV3": (lambda apps, shape: apps.InceptionV3(input_shape=shape, **_UNTRAINED), 75),
    "MobileNet": (lambda apps, shape: apps.MobileNet(input_shape=shape, alpha=0.25, **_UNTRAINED), 32),
    "MobileNetV2": (lambda apps, shape: apps.MobileNetV2(input_shape=shape, alpha=0.35, **_UNTRAINED), 32),
    "MobileNetV3": (lambda apps, shape: apps.MobileNetV3Small(input_shape=shape, alpha=0.75, **_UNTRAINED), 32),
    "NASNet": (lambda apps, shape: apps.NASNetMobile(input_shape=shape, **_UNTRAINED), 32),
    "ResNet": (lambda apps, shape: apps.ResNet50(input_shape=shape, **_UNTRAINED), 32),
    "ResNetV2": (lambda apps, shape: apps.ResNet50V2(input_shape=shape, **_UNTRAINED), 32),
    "VGG": (lambda apps, shape: apps.VGG16(input_shape=shape, **_UNTRAINED), 32),
    "Xception": (lambda apps, shape: apps.Xception(input_shape=shape, **_UNTRAINED), 71),
}
_UNTRAINED = {"weights": None, "classes": 4}
# Side branches by the names keras.applications gives them: squeeze-and-excite
# (EfficientNet's "block2b_se_expand", MobileNetV3's "expanded_conv_3_squeeze_excite_relu").
_SIDE_BRANCH = re.compile(r"(^|_)se_|squeeze_excite")
MAX_FRAME_WIDTH = 1400


def _has_space(view) -> bool:
    """Whether a column's output has more than one position (not a vector, not maps of 1x1)."""
    return len(view.shape) > 1 and int(np.prod(view.shape[:-1])) > 1


def _overlapping(boxes):
    """The pairs of (left, top, right, bottom) boxes, one from each of two columns, that
    share a pixel or touch."""
    found = []
    for column, column_boxes in enumerate(boxes):
        for other in boxes[column + 1:]:
            found += [(box, box_other) for box in column_boxes for box_other in other
                      if box[0] <= box_other[2] and box_other[0] <= box[2]
                      and box[1] <= box_other[3] and box_other[1] <= box[3]]
    return found


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_keras_applications_family_is_drawn_by_its_trunk(keras, family):
    build, side = FAMILIES[family]
    keras.utils.set_random_seed(0)
    model = build(keras.applications, (side, side, 3))
    images = np.random.default_rng(0).random((2, side, side, 3), dtype=np.float32)
    plotter = ConvPlotter(model, images, labels=np.array([0, 1]))
    frames = [plotter(epoch=1, batch=batch) for batch in (0, 1, 2)]

    names = [view.name for view in plotter.views]
    assert 4 <= len(names) <= 12, names
    assert not [name for name in names if _SIDE_BRANCH.search(name)], names
    # Once the trunk has pooled space away, nothing after it has space again: a column of
    # one value per channel between maps is a branch that squeezes and comes back.
    spaced = [_has_space(view) for view in plotter.views]
    assert spaced == sorted(spaced, reverse=True), list(zip(names, spaced))
    assert names[-1] == model.layers[-1].name  # the model's output ends the frame

    renderer = plotter.renderer
    assert _overlapping(renderer.header_boxes) == []
    height, width = renderer.frame_size
    assert all(box[2] < width for column in renderer.header_boxes for box in column)
    assert {frame.shape for frame in frames} == {(height, width, 3)} and width <= MAX_FRAME_WIDTH
