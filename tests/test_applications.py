"""Every `keras.applications` family, as its smallest member at the smallest input it takes,
untrained, drawn with its default columns: the trunk's stages (`capture/trunk.py`), never a
side branch, headers that never run into each other, and a frame that fits a screen.

Marked `once`: the columns come from the model's graph and its shapes, which no backend
changes. The families are marked `e2e`: building fourteen networks and tracing their
passes takes about a minute and a half on 2 cores. Small graphs show the rule's other
cases fast: a U-Net, a residual network, a model with two inputs."""

import re

import numpy as np
import pytest

from vizcallbacks import ConvPlotter

pytestmark = pytest.mark.once

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


@pytest.mark.e2e
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
    # A stage for each resolution the trunk goes through (four at least, at these inputs).
    assert len({view.shape[:-1] for view in plotter.views if _has_space(view)}) >= 4, names

    renderer = plotter.renderer
    assert _overlapping(renderer.header_boxes) == []
    height, width = renderer.frame_size
    assert all(box[2] < width for column in renderer.header_boxes for box in column)
    assert {frame.shape for frame in frames} == {(height, width, 3)} and width <= MAX_FRAME_WIDTH


def _default_columns(keras, model, shape):
    from vizcallbacks.capture.probe import ActivationProbe

    sample = [np.zeros((1, *part), np.float32) for part in shape] if isinstance(shape, list) else \
        np.zeros((1, *shape), np.float32)
    return [view.name for view in ActivationProbe(model, sample).views]


def _convs(layers, x, filters, name, count=2):
    for index in range(count):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_{index}")(x)
    return x


def test_a_unet_is_drawn_down_to_its_bottleneck_and_back_though_skips_bypass_it(keras):
    """Every path may skip the encoder's deeper levels (the skip connections), yet the
    longest branch goes coarser than both its ends: it is the trunk."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    first = _convs(layers, inputs, 4, "enc1")
    second = _convs(layers, layers.MaxPooling2D(name="down1")(first), 8, "enc2")
    bottom = _convs(layers, layers.MaxPooling2D(name="down2")(second), 16, "bottleneck")
    up = layers.Concatenate(name="skip2")([layers.UpSampling2D(name="up2")(bottom), second])
    up = layers.Concatenate(name="skip1")([layers.UpSampling2D(name="up1")(_convs(layers, up, 8, "dec2")), first])
    outputs = layers.Conv2D(2, 1, activation="softmax", name="classes")(_convs(layers, up, 4, "dec1"))
    names = _default_columns(keras, keras.Model(inputs, outputs), (32, 32, 3))
    assert names == ["enc1_1", "enc2_1", "bottleneck_1", "dec2_1", "classes"]


def test_a_residual_blocks_inside_is_not_a_stage_its_sum_is(keras):
    layers = keras.layers
    inputs = x = keras.Input((16, 16, 3))
    for stage, filters in enumerate((4, 8, 16)):
        x = layers.Conv2D(filters, 3, strides=2 if stage else 1, padding="same", name=f"stem{stage}")(x)
        for block in range(2):
            branch = layers.ZeroPadding2D(name=f"pad{stage}{block}")(x)  # 18x18: a pad is not a new resolution
            branch = layers.Conv2D(filters, 3, activation="relu", name=f"conv{stage}{block}")(branch)
            x = layers.Add(name=f"add{stage}{block}")([x, branch])
    outputs = layers.Dense(3, activation="softmax", name="predictions")(layers.GlobalAveragePooling2D(name="gap")(x))
    names = _default_columns(keras, keras.Model(inputs, outputs), (16, 16, 3))
    assert names == ["add01", "add11", "add21", "gap", "predictions"]


def test_each_input_of_two_is_followed_to_where_they_merge(keras):
    """Before the inputs merge, each input's branch is its own trunk (the probe's choice
    of columns for several inputs is made from this)."""
    from vizcallbacks.capture.layers import model_layers
    from vizcallbacks.capture.trunk import trunk_layers

    layers = keras.layers
    image, meta = keras.Input((16, 16, 1), name="image"), keras.Input((4,), name="meta")
    x = layers.MaxPooling2D(name="pool")(_convs(layers, image, 4, "level"))
    squeezed = layers.GlobalAveragePooling2D(name="squeeze")(x)  # a branch of one value per channel
    x = layers.Multiply(name="excite")([x, layers.Reshape((1, 1, 4), name="scale")(squeezed)])
    merged = layers.Concatenate(name="merge")([layers.Flatten(name="flat")(x), layers.Dense(4, name="meta_dense")(meta)])
    model = keras.Model([image, meta], layers.Dense(3, activation="softmax", name="predictions")(merged))
    watched = model_layers(model)
    trunk = {watched[index].name for index in trunk_layers(model, watched)}
    # The vectors before the merge (the squeeze, the flattened maps, the metadata's) are branches.
    assert trunk == {"level_0", "level_1", "pool", "excite", "merge", "predictions"}
