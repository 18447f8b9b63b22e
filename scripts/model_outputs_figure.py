"""The README's picture of a model whose output is an image: a small convolutional
autoencoder trained for three epochs on 6,000 MNIST digits, drawn with its reconstruction
beside the target (docs/model-autoencoder.png).

    KERAS_BACKEND=tensorflow .venv/bin/python scripts/model_outputs_figure.py [out.png]
"""

import sys

import keras
from PIL import Image

from vizcallbacks import ConvPlotter, FrameStyle, load_dataset


def autoencoder() -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="encode_1")(inputs)
    hidden = keras.layers.MaxPooling2D(name="pool_1")(hidden)
    hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="encode_2")(hidden)
    hidden = keras.layers.MaxPooling2D(name="code")(hidden)
    hidden = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", name="decode_1")(hidden)
    hidden = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu", name="decode_2")(hidden)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(hidden)
    model = keras.Model(inputs, outputs, name="autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    return model


def main(out_path: str = "docs/model-autoencoder.png") -> None:
    (x_train, _), (x_test, _), _ = load_dataset("mnist")
    x_train = x_train[:6000, ..., None].astype("float32") / 255
    shown = x_test[[0, 1, 2], ..., None].astype("float32") / 255
    model = autoencoder()
    # The reconstruction layer (one channel) is drawn in the output's own column, beside its target.
    layers = ["encode_1", "pool_1", "encode_2", "code", "decode_1", "decode_2"]
    plotter = ConvPlotter(model, shown, labels=shown, style=FrameStyle(layers=layers, channels=(0, 3)))
    history = model.fit(x_train, x_train, batch_size=64, epochs=3, verbose=0)
    frame = plotter(epoch=3, batch=len(x_train) // 64, loss=history.history["loss"][-1])
    Image.fromarray(frame).save(out_path)
    print(f"{out_path}: {frame.shape[1]}x{frame.shape[0]}")


if __name__ == "__main__":
    main(*sys.argv[1:])
