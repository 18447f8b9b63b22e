"""Every bad input gets a clear error, before training where it can be known then; and
nothing already written is lost: overwriting, resuming, torn manifests.

Errors name the argument, what was received and what is valid; on the command line
they end with exit status 2 and one line on stderr."""

import gzip
import json
import math
import struct
import warnings

import numpy as np
import pytest
from PIL import Image, ImageSequence

from vizcallbacks import FrameStyle, PlotConvCallback, load_dataset, train_movie
from vizcallbacks.capture.probe import ActivationProbe
from vizcallbacks.apps.cli import main
from vizcallbacks.framefiles import read_manifest
from vizcallbacks.movie import inspect_movie, stitch
from vizcallbacks.render import GridRenderer
from vizcallbacks.render.style import STYLE_FIELDS
from vizcallbacks.sinks import MovieSink


# ---------------------------------------------------------------------------------------------
# helpers


def write_idx_set(folder, *, train=128, test=16, seed=0):
    """The four gzipped IDX files of a tiny MNIST-shaped data set; returns `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        magic = 2051 if array.ndim == 3 else 2049
        header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
        (folder / f"{stem}.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return folder


@pytest.fixture(scope="module")
def tiny_idx(tmp_path_factory):
    return write_idx_set(tmp_path_factory.mktemp("tiny_idx"))


def _fit(model, data, callback, *extra, epochs=1, initial_epoch=0):
    images, labels = data
    model.fit(images, labels, batch_size=8, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
              callbacks=[callback, *extra], shuffle=False)


@pytest.fixture
def batches(keras):
    """A callback that counts the batches trained: none, when an error comes before training."""

    class Batches(keras.callbacks.Callback):
        count = 0

        def on_train_batch_begin(self, batch, logs=None):
            Batches.count += 1

    return Batches()


def _manifest(path):
    return [record for _, record in read_manifest(path)]


def _gif_frame_count(path):
    with Image.open(path) as gif:
        return sum(1 for _ in ImageSequence.Iterator(gif))


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _visible_lines(text):
    """The lines a terminal shows: a carriage return draws over what came before on its line."""
    shown = [line.split("\r")[-1].strip() for line in text.split("\n")]
    return [line for line in shown if line]


def _one_line_error(capsys):
    lines = _visible_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


# ---------------------------------------------------------------------------------------------
# 1. Arguments the callback can check in __init__


@pytest.mark.parametrize("options, error, message", [
    ({"every_n_batches": 0}, ValueError, r"every_n_batches must be a positive integer\. Received: every_n_batches=0"),
    ({"every_n_batches": -3}, ValueError, r"every_n_batches.*Received: every_n_batches=-3"),
    ({"every_n_batches": 2.5}, ValueError, r"every_n_batches.*Received: every_n_batches=2\.5"),
    ({"every_n_batches": "5"}, ValueError, r"every_n_batches.*Received: every_n_batches='5'"),
    ({"every_n_batches": True}, ValueError, r"every_n_batches.*Received: every_n_batches=True"),
    ({"fps": 0}, ValueError, r"fps must be a positive, finite number.*Received: fps=0"),
    ({"fps": -2}, ValueError, r"fps.*Received: fps=-2"),
    ({"fps": math.nan}, ValueError, r"fps.*Received: fps=nan"),
    ({"movie_path": "{tmp}/m.avi"}, ValueError, r"movie_path: .*\.gif, \.mp4, \.webm.*m\.avi"),
    ({"movie_path": "{tmp}/m"}, ValueError, r"movie_path: .*\.gif, \.mp4, \.webm.*suffix 'none'"),
    ({"movie_path": 5}, TypeError, r"movie_path must be a path or a list of paths.*Received: movie_path=5"),
    ({"movie_path": ["{tmp}/m.gif", "{tmp}/m.gif"]}, ValueError, r"movie_path names the same file twice"),
    ({"movie_path": "{tmp}/folder.gif"}, IsADirectoryError, r"movie_path: out_path is a folder"),
    ({"frames_dir": 5}, TypeError, r"frames_dir must be a path\. Received: frames_dir=5"),
    ({"frames_dir": None}, ValueError, r"frames_dir=None and no movie_path or sinks: the frames would go nowhere"),
    ({"sinks": [5]}, TypeError, r"sinks must be a list of vizcallbacks\.sinks\.Sink instances.*Received: sinks=\[5\]"),
    ({"on_error": "ignore"}, ValueError, r"on_error must be one of 'warn', 'raise'.*Received: on_error='ignore'"),
    ({"labels": [1, 2]}, ValueError, r"labels must have one entry per image: 80 images, received 2"),
    ({"layers": []}, ValueError, r"layers is empty"),
    ({"layers": [1.5]}, TypeError, r"layers must hold layer names \(str\) or indices \(int\)\. Received: 1\.5"),
    ({"channels": [-1]}, ValueError, r"channels must be non-negative integers.*Received: channels=\[-1\]"),
    ({"channels": []}, ValueError, r"channels is empty"),
    ({"normalization": "zscore"}, ValueError, r"normalization must be one of.*Received: normalization='zscore'"),
    ({"cmap": "nope"}, ValueError, r"cmap must be a matplotlib colormap.*Received: cmap='nope'"),
    # A string from a config file: "False" must not count as True, overwrite deletes frames.
    ({"overwrite": "False"}, TypeError, r"overwrite must be True or False\. Received: overwrite='False'"),
    ({"style": {"cmap": "viridis"}}, TypeError, r"style must be a vizcallbacks\.FrameStyle.*Received: style=\{"),
    ({"cell_px": 4}, ValueError, r"cell_px must be an integer in 8\.\.512\. Received: cell_px=4"),
    ({"manifest_path": 5}, TypeError, r"manifest_path must be a path\. Received: manifest_path=5"),
])
def test_bad_arguments_fail_in_init(tiny_data, tmp_path, options, error, message):
    options = {key: (value.replace("{tmp}", str(tmp_path)) if isinstance(value, str) else
                     [v.replace("{tmp}", str(tmp_path)) for v in value] if isinstance(value, list)
                     and value and isinstance(value[0], str) else value)
               for key, value in options.items()}
    options.setdefault("frames_dir", tmp_path / "frames")
    (tmp_path / "folder.gif").mkdir()
    drawing = {name: options.pop(name) for name in list(options) if name in STYLE_FIELDS}
    fps = options.pop("fps", None)
    with pytest.raises(error, match=message):  # from FrameStyle and MovieSink, for what they take
        if drawing:
            options["style"] = FrameStyle(**drawing)
        if fps is not None:
            options["sinks"] = [MovieSink(tmp_path / "m.gif", fps=fps)]
        PlotConvCallback(tiny_data[0], **options)
    assert not (tmp_path / "frames").exists()  # nothing made for a callback that is refused


@pytest.mark.parametrize("images, error, message", [
    (np.zeros((0, 12, 12, 1), np.float32), ValueError, r"images is empty: received shape \(0, 12, 12, 1\)"),
    (np.full((2, 12, 12, 1), "a"), TypeError, r"images must be a numeric array.*Received dtype <U1"),
    (np.zeros((2, 12, 12, 1), bool), TypeError, r"images must be a numeric array.*Received dtype bool"),
])
def test_empty_or_non_numeric_images_fail_in_init(tmp_path, images, error, message):
    with pytest.raises(error, match=message):
        PlotConvCallback(images, frames_dir=tmp_path)


# ---------------------------------------------------------------------------------------------
# 1. What needs the model: checked in on_train_begin, before the first batch


@pytest.mark.parametrize("options, message", [
    ({"layers": ["conv9"]}, r"layers: no layer named 'conv9' in model 'tiny_cnn'\. Layers that exist: "
                            r"\['conv', 'pool', 'flat', 'out'\]"),
    ({"layers": [7]}, r"layers: index 7 is out of range for model 'tiny_cnn', which has 4 layers "
                      r"\(valid: 0\.\.3"),
    ({"channels": [1, 6]}, r"channels: index 6 is out of range for layer 'conv', which has 6 channels "
                           r"\(valid: 0\.\.5\)"),
    ({"images": np.zeros((2, 10, 10, 1), np.float32)},
     r"images do not fit the model's input: received shape \(2, 10, 10, 1\), the model takes \(N, 12, 12, 1\)"),
    ({"images": np.zeros((2, 12, 12, 3), np.float32)}, r"received shape \(2, 12, 12, 3\).*\(N, 12, 12, 1\)"),
])
def test_errors_that_need_the_model_come_before_the_first_batch(tiny_cnn, tiny_data, tmp_path, batches,
                                                               options, message):
    images = options.pop("images", tiny_data[0][:2])
    callback = PlotConvCallback(images, frames_dir=tmp_path / "frames", style=FrameStyle(**options))
    with pytest.raises(ValueError, match=message):
        with callback:
            _fit(tiny_cnn, tiny_data, callback, batches)
    assert batches.count == 0
    assert not list(tmp_path.rglob("*.png"))


def test_a_model_with_several_inputs_given_one_batch_is_refused_saying_how_to_give_them(keras, tiny_data,
                                                                                         tmp_path, batches):
    layers = keras.layers
    left, right = keras.Input((12, 12, 1), name="left"), keras.Input((12, 12, 1), name="right")
    merged = layers.Add()([layers.Conv2D(3, 3)(left), layers.Conv2D(3, 3)(right)])
    model = keras.Model([left, right], layers.Dense(5, activation="softmax")(layers.Flatten()(merged)),
                        name="two_inputs")
    model.compile(loss="sparse_categorical_crossentropy")
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path)
    message = (r"images: model 'two_inputs' takes 2 inputs \(left, right\)\. Give a list of 2 batches in that "
               r"order, or a dict by input name\. Received: one array of shape \(2, 12, 12, 1\)")
    with pytest.raises(ValueError, match=message):
        model.fit([tiny_data[0], tiny_data[0]], tiny_data[1], batch_size=8, verbose=0,
                  callbacks=[callback, batches])
    assert batches.count == 0
    with pytest.raises(ValueError, match="could not run on the images"):
        ActivationProbe(model, tiny_data[0][:2])


def test_a_model_without_a_drawable_layer_is_not_supported(keras, tmp_path, batches):
    # A Conv1D-only model is drawn now (a sequence); a volume (5-D output) is not.
    model = keras.Sequential([keras.Input((8, 8, 8, 1)), keras.layers.Conv3D(4, 3, name="conv3d")], name="volume")
    model.compile(loss="mse")
    x, y = np.zeros((16, 8, 8, 8, 1), np.float32), np.zeros((16, 6, 6, 6, 4), np.float32)
    callback = PlotConvCallback(x[:2], frames_dir=tmp_path)
    message = (r"Model 'volume' is not supported: none of its layers can be drawn \(outputs: conv3d "
               r"\(None, 6, 6, 6, 4\)\)\. Supported: layers whose output is \(batch, height, width, channels\) "
               r"or \(batch, time, channels\) or \(batch, units\)")
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, batch_size=8, verbose=0, callbacks=[callback, batches])
    assert batches.count == 0


def test_a_subclassed_model_is_drawn_in_the_order_its_call_runs_the_layers(keras, tiny_data, tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.dense = keras.layers.Dense(5, activation="softmax", name="dense")  # made first, called last
            self.conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
            self.flat = keras.layers.Flatten(name="flat")

        def call(self, x):
            return self.dense(self.flat(self.conv(x)))

    model = Subclassed()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=4)
    _fit(model, tiny_data, callback)
    assert [view.name for view in callback._plotter.views] == ["conv", "flat", "dense"]
    assert len(list(tmp_path.glob("*.png"))) == 4  # batches 0, 4, 8 and the last, 9


def test_something_that_is_not_a_model_is_refused(tiny_data):
    with pytest.raises(TypeError, match=r"model must be a keras\.Model\. Received: str"):
        ActivationProbe("model", tiny_data[0][:2])


@pytest.mark.parametrize("poison", [math.nan, math.inf])
def test_a_diverging_run_is_drawn_and_its_stamp_says_nan(tiny_cnn, tiny_data, tmp_path, poison):
    stamps = []

    class Recording(GridRenderer):
        def render(self, activations, stamp):
            stamps.append(stamp)
            return super().render(activations, stamp)

    for name in ("conv", "out"):  # activations and loss both go NaN or infinite
        kernel, bias = tiny_cnn.get_layer(name).get_weights()
        tiny_cnn.get_layer(name).set_weights([np.full_like(kernel, poison), bias])
    callback = PlotConvCallback(tiny_data[0][:3], labels=tiny_data[1][:3], frames_dir=tmp_path,
                                every_n_batches=4)
    callback.renderer_factory = Recording
    _fit(tiny_cnn, tiny_data, callback)
    records = [json.loads(line, parse_constant=pytest.fail)  # strict JSON: no NaN literal
               for line in (tmp_path / "frames.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["loss"] is None for r in records)
    assert all("loss: NaN" in stamp.text() for stamp in stamps)
    sizes = {Image.open(tmp_path / r["file"]).size for r in records}
    assert len(sizes) == 1


# ---------------------------------------------------------------------------------------------
# 1. Folders that cannot be made or written (see test_faults.py for a read-only folder)


def test_output_folders_that_cannot_be_created(tiny_cnn, tiny_data, tmp_path, batches):
    a_file = tmp_path / "a_file"
    a_file.write_text("a file, not a folder")  # mkdir below it fails for root too
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=a_file / "frames")
    with pytest.raises(ValueError, match=r"frames_dir: cannot create folder '.*a_file/frames': Not a directory"):
        _fit(tiny_cnn, tiny_data, callback, batches)
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames",
                                movie_path=a_file / "movies" / "m.gif")
    with pytest.raises(ValueError, match=r"movie_path: cannot create folder '.*a_file/movies'"):
        _fit(tiny_cnn, tiny_data, callback, batches)
    assert batches.count == 0


def test_a_movie_folder_that_does_not_exist_yet_is_made(tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=5,
                                movie_path=tmp_path / "new" / "folder" / "m.gif")
    _fit(tiny_cnn, tiny_data, callback)
    assert _gif_frame_count(tmp_path / "new" / "folder" / "m.gif") == 3


# ---------------------------------------------------------------------------------------------
# 2. Nothing is overwritten unless the user says so


def test_an_existing_movie_is_refused_with_where_and_how(tiny_data, tmp_path):
    (tmp_path / "m.mp4").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=r"movie_path: out_path already exists: '.*m\.mp4'\. It is kept: "
                                              r"pass overwrite=True \(--overwrite"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", movie_path=tmp_path / "m.mp4")
    assert (tmp_path / "m.mp4").read_bytes() == b"precious"


def test_existing_frames_are_refused_with_where_and_how(tiny_cnn, tiny_data, tmp_path, batches):
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5))
    before = _snapshot(tmp_path)
    again = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    with pytest.raises(FileExistsError, match=r"frames_dir '.*' already holds 3 frames.*overwrite=True "
                                              r"\(--overwrite\).*initial_epoch=k"):
        _fit(tiny_cnn, tiny_data, again, batches)
    assert batches.count == 0 and _snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# 2. Resumed runs append, and their movies hold the whole run


def test_the_same_callback_resumed_appends_frames_and_remakes_its_movies(tiny_cnn, tiny_data, tmp_path):
    movies = [tmp_path / "m.gif", tmp_path / "m.mp4"]
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=5,
                                movie_path=movies)
    _fit(tiny_cnn, tiny_data, callback)
    first = _snapshot(tmp_path / "frames")
    _fit(tiny_cnn, tiny_data, callback, epochs=2, initial_epoch=1)
    records = _manifest(tmp_path / "frames" / "frames.jsonl")
    assert [(r["epoch"], r["batch"]) for r in records] == [(1, 0), (1, 5), (1, 9), (2, 0), (2, 5), (2, 9)]
    now = _snapshot(tmp_path / "frames")
    assert all(now[name] == data for name, data in first.items() if name.suffix == ".png")
    assert _gif_frame_count(movies[0]) == inspect_movie(movies[1]).frame_count == 6
    assert {m.path for m in callback.movies} == set(movies)
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary files


@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed", "ignore:Your input ran out of data")
def test_a_resumed_fit_of_unknown_length_counts_steps_on_from_the_manifest(tiny_cnn, tiny_data, tmp_path):
    images, labels = tiny_data

    def batches():  # a generator: Keras does not know how many batches an epoch has
        for start in range(0, len(images), 8):
            yield images[start:start + 8], labels[start:start + 8]

    callback = PlotConvCallback(images[:2], frames_dir=tmp_path / "frames", every_n_batches=5)
    tiny_cnn.fit(batches(), epochs=1, verbose=0, callbacks=[callback])
    tiny_cnn.fit(batches(), epochs=2, initial_epoch=1, verbose=0, callbacks=[callback])
    records = _manifest(tmp_path / "frames" / "frames.jsonl")
    assert [(r["epoch"], r["batch"], r["step"]) for r in records] == [
        (1, 0, 1), (1, 5, 6), (1, 9, 10), (2, 0, 11), (2, 5, 16), (2, 9, 20)]


def test_a_resumed_run_in_a_new_process_needs_overwrite_for_its_movie(tiny_cnn, tiny_data, tmp_path):
    movie = tmp_path / "m.gif"
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames",
                                               every_n_batches=5, movie_path=movie))
    earlier_pngs = {p.name: p.read_bytes() for p in (tmp_path / "frames").glob("*.png")}
    with pytest.raises(FileExistsError, match="movie_path.*overwrite=True"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", movie_path=movie)
    resumed = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=5,
                               movie_path=movie, overwrite=True)
    _fit(tiny_cnn, tiny_data, resumed, epochs=2, initial_epoch=1)
    assert len(_manifest(tmp_path / "frames" / "frames.jsonl")) == 6
    assert _gif_frame_count(movie) == 6  # the earlier frames, then this run's
    assert all((tmp_path / "frames" / name).read_bytes() == data for name, data in earlier_pngs.items())


def test_resuming_over_frames_of_later_epochs_is_refused_or_rewound(tiny_cnn, tiny_data, tmp_path, batches):
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5),
         epochs=2)
    before = _snapshot(tmp_path)
    again = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    with pytest.raises(FileExistsError, match=r"frames of epoch 2 and later \(plot-02-0000\.png, \.\.\.; 3 in all\)"
                                              r".*initial_epoch=1.*overwrite=True"):
        _fit(tiny_cnn, tiny_data, again, batches, epochs=2, initial_epoch=1)
    assert batches.count == 0 and _snapshot(tmp_path) == before

    rewound = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=4, overwrite=True)
    _fit(tiny_cnn, tiny_data, rewound, epochs=2, initial_epoch=1)
    records = _manifest(tmp_path / "frames.jsonl")
    assert [(r["epoch"], r["batch"]) for r in records] == [(1, 0), (1, 5), (2, 0), (2, 4), (2, 8), (2, 9)]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [r["file"] for r in records]
    for name in ("plot-01-0000.png", "plot-01-0005.png"):
        assert (tmp_path / name).read_bytes() == before[tmp_path.joinpath(name).relative_to(tmp_path)]


def test_a_resumed_run_must_draw_frames_of_the_same_size(tiny_cnn, tiny_data, tmp_path, batches):
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5))
    before = _snapshot(tmp_path)
    bigger = PlotConvCallback(tiny_data[0][:3], frames_dir=tmp_path, every_n_batches=5)
    with pytest.raises(ValueError, match=r"frames_dir: the frames already in .* are \d+x\d+ pixels "
                                         r"\(plot-01-0009\.png\) but this run draws \d+x\d+"):
        _fit(tiny_cnn, tiny_data, bigger, batches, epochs=2, initial_epoch=1)
    assert batches.count == 0 and _snapshot(tmp_path) == before


def test_resuming_after_a_torn_manifest_line_drops_it_and_appends(tiny_cnn, tiny_data, tmp_path):
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5))
    manifest = tmp_path / "frames.jsonl"
    with open(manifest, "a") as torn:
        torn.write('{"file": "plot-01-00')  # what a run killed in mid-write leaves
    with pytest.warns(UserWarning, match=r"frames\.jsonl': its last line was incomplete.*removed"):
        _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5),
             epochs=2, initial_epoch=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # now whole again: no warning
        records = _manifest(manifest)
        movie = stitch(manifest, tmp_path / "all.gif")
    assert [(r["epoch"], r["batch"]) for r in records] == [(1, 0), (1, 5), (1, 9), (2, 0), (2, 5), (2, 9)]
    assert movie.frame_count == 6


# ---------------------------------------------------------------------------------------------
# 2. stitch and the manifest after a killed run


def _frames_with_manifest(folder, count=3):
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        name = f"plot-01-{index:04d}.png"
        Image.fromarray(np.full((20, 30, 3), 40 * index, np.uint8)).save(folder / name)
        lines.append(json.dumps({"file": name, "epoch": 1, "batch": index}) + "\n")
    return folder / "frames.jsonl", lines


def test_stitch_leaves_out_a_torn_last_line_with_a_warning(tmp_path):
    manifest, lines = _frames_with_manifest(tmp_path)
    manifest.write_text("".join(lines) + '{"file": "plot-01-0003.p')
    with pytest.warns(UserWarning, match=r"frames\.jsonl': line 4 is incomplete"):
        movie = stitch(manifest, tmp_path / "out.gif")
    assert movie.frame_count == 3

    manifest.write_text("".join(lines).rstrip("\n"))  # whole, only its newline missing: used
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stitch(manifest, tmp_path / "out2.gif").frame_count == 3


def test_stitch_refuses_a_corrupt_line_in_the_middle_and_a_missing_frame(tmp_path):
    manifest, lines = _frames_with_manifest(tmp_path)
    manifest.write_text(lines[0] + '{"file": "plot-01-0001.png", "epo\n' + lines[2])
    with pytest.raises(ValueError, match=r"frames: manifest '.*frames\.jsonl' line 2 is not valid JSON"):
        stitch(manifest, tmp_path / "out.gif")
    manifest.write_text(lines[0] + "[1, 2]\n" + lines[2])
    with pytest.raises(ValueError, match=r"line 2 is not a JSON object"):
        stitch(manifest, tmp_path / "out.gif")
    manifest.write_text("".join(lines))
    (tmp_path / "plot-01-0001.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"plot-01-0001\.png' listed on line 2 of manifest"):
        stitch(manifest, tmp_path / "out.gif")
    assert not (tmp_path / "out.gif").exists()


@pytest.mark.parametrize("options, message", [
    ({"dataset": "fasion"}, r"Unknown dataset\. Received: name='fasion'.*did you mean 'fashion_mnist'\?"),
    ({"fps": 0}, r"fps must be a positive, finite number.*Received: fps=0"),
    ({"formats": ["gif", "avi"]}, r"formats: unknown format 'avi'\. Valid: gif, mp4"),
    ({"image_indices": []}, r"image_indices \(--images\) must be a non-empty list.*Received: image_indices=\[\]"),
    ({"every_n_batches": 0}, r"every_n_batches must be a positive integer\. Received: every_n_batches=0"),
])
def test_train_movie_checks_arguments_before_touching_disk_or_data(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        train_movie(out_dir=tmp_path / "run", data_dir=tmp_path / "no_data", **options)
    assert not (tmp_path / "run").exists()


def test_train_movie_takes_its_old_keywords_with_one_warning_and_refuses_unknown_ones(tmp_path):
    from vizcallbacks.apps.train import Training

    with pytest.raises(TypeError, match=r"train_movie got unexpected keyword arguments max_step\. Valid: dataset, "
                                        r"out_dir, training, every_n_batches"):
        train_movie(out_dir=tmp_path / "run", max_step=3)
    with pytest.warns(DeprecationWarning, match=r"train_movie\(max_steps=\.\.\., epochs=\.\.\.\): these keywords "
                                                r"will be removed in the next release; write training=Training\("
                                                r"max_steps=\.\.\.\); training=Training\(epochs=\.\.\.\)"), \
            pytest.raises(ValueError, match=r"epochs must be a positive integer\. Received: epochs=0"):
        train_movie(out_dir=tmp_path / "run", max_steps=3, epochs=0)
    with pytest.raises(TypeError, match=r"training must be a vizcallbacks\.apps\.train\.Training"):
        train_movie(out_dir=tmp_path / "run", training={"epochs": 1})
    with pytest.raises(ValueError, match=r"max_steps must be a positive integer"):
        Training(max_steps=-1)
    assert not (tmp_path / "run").exists()


def test_unknown_dataset_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"name='mnsit'.*'mnist', 'fashion_mnist', 'fashion-mnist'; "
                                         r"did you mean 'mnist'\?"):
        load_dataset("mnsit")


# ---------------------------------------------------------------------------------------------
# 4. The command line: each mistake, exit status 2 and one line that says how to fix it


@pytest.mark.parametrize("argv, expected", [
    (["--epoch", "2"], "unrecognized argument: --epoch (did you mean --epochs?)"),
    (["--batchsize", "32"], "unrecognized argument: --batchsize (did you mean --batch-size?)"),
    (["--max_steps=3"], "--max_steps (did you mean --max-steps?)"),
    (["--dataset", "fasion"], "invalid choice: 'fasion'"),
    (["--every", "0"], "argument --every: expected a positive integer, received '0'"),
    (["--every", "-1"], "argument --every: expected a positive integer, received '-1'"),
    (["--every", "2.5"], "argument --every: expected a positive integer, received '2.5'"),
    (["--fps", "0"], "argument --fps: expected a positive number, received '0'"),
    (["--format", "gif,avi"], "unknown format 'avi'; valid: gif, mp4"),
    (["--images", "0,x"], "argument --images: expected integers separated by commas"),
    (["--channels", "1,-5"], "argument --channels: expected indices 0, 1, 2, ..."),
    (["--data-dir", "/nope"], "argument --data-dir: no such folder: '/nope'"),
])
def test_train_flag_typos_fail_at_once(argv, expected, capsys, tmp_path):
    assert main(["train", "--out", str(tmp_path / "run"), *argv]) == 2
    err = _one_line_error(capsys)
    assert expected in err and "see vizcallbacks train --help" in err
    if "fasion" in argv:
        assert "did you mean 'fashion_mnist'?" in err
    assert not (tmp_path / "run").exists()


def test_a_mistyped_command_suggests_the_right_one(capsys):
    assert main(["stich", "a", "b.gif"]) == 2
    assert "invalid choice: 'stich'" in _one_line_error(capsys)
    assert main(["trian"]) == 2
    assert "did you mean 'train'?" in _one_line_error(capsys)


@pytest.mark.parametrize("argv, expected", [
    (["--images", "0,99999"], "image_indices (--images): [99999] out of range for the 16 test images of "
                              "fashion_mnist (valid: 0..15)"),
    (["--channels", "1,500"], "channels: index 500 is out of range for layer 'conv1', which has 64 channels "
                              "(valid: 0..63)"),
])
def test_train_errors_known_after_loading_come_before_training(argv, expected, tiny_idx, capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(tiny_idx), "--out", str(out), "--max-steps", "2",
                 "--images", "0,1", *argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert "Epoch" not in captured.out  # Keras had not begun the first epoch
    assert not list(out.rglob("*.png")) and not (out / "frames.jsonl").exists()


def test_train_output_that_cannot_be_created(tiny_idx, capsys, tmp_path):
    (tmp_path / "a_file").write_text("")
    assert main(["train", "--data-dir", str(tiny_idx), "--out", str(tmp_path / "a_file" / "run")]) == 2
    assert "out_dir (--out): cannot create folder" in _one_line_error(capsys)


def test_train_keeps_an_earlier_run_unless_overwrite(tiny_idx, capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--data-dir", str(tiny_idx), "--out", str(out), "--max-steps", "2", "--every", "1",
            "--images", "0,1", "--format", "gif", "--quiet"]
    assert main(argv) == 0
    capsys.readouterr()
    before = _snapshot(out)
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert "already holds a run (movie.gif, frames.jsonl, frames/(2 frames))" in err
    assert "--overwrite" in err and "--out" in err
    assert _snapshot(out) == before
    assert main([*argv, "--epochs", "2", "--max-steps", "3", "--overwrite"]) == 0
    assert len(_manifest(out / "frames.jsonl")) == 3 and _gif_frame_count(out / "movie.gif") == 3


def test_stitch_mistakes_end_with_one_line(tmp_path, capsys):
    manifest, lines = _frames_with_manifest(tmp_path / "frames")
    cases = []
    (tmp_path / "empty").mkdir()
    cases.append(([str(tmp_path / "nowhere"), str(tmp_path / "o.gif")], "no such folder or manifest"))
    cases.append(([str(tmp_path / "empty"), str(tmp_path / "o.gif")], "no *.png files found in folder"))
    cases.append(([str(manifest), str(tmp_path / "o.avi")], "must end with one of .gif, .mp4, .webm"))
    cases.append(([str(manifest), str(tmp_path / "o.gif"), "--fps", "-1"], "argument --fps"))
    cases.append(([str(manifest), str(tmp_path / "o.gif"), "--fsp", "3"], "did you mean --fps?"))
    for argv, expected in cases:
        assert main(["stitch", *argv]) == 2
        assert expected in _one_line_error(capsys), argv

    manifest.write_text(lines[0] + "not json\n" + lines[2])
    assert main(["stitch", str(manifest), str(tmp_path / "o.gif")]) == 2
    assert "line 2 is not valid JSON" in _one_line_error(capsys)

    manifest.write_text("".join(lines))
    Image.fromarray(np.zeros((10, 30, 3), np.uint8)).save(tmp_path / "frames" / "plot-01-0001.png")
    assert main(["stitch", str(manifest), str(tmp_path / "o.gif")]) == 2
    assert "plot-01-0001.png' has (height, width)=(10, 30)" in _one_line_error(capsys)

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "frames" / "plot-01-0001.png")
    manifest.write_text("".join(lines) + '{"fi')
    assert main(["stitch", str(manifest), str(tmp_path / "o.gif"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("vizcallbacks: warning: manifest")
    assert len(captured.err.strip().splitlines()) == 1 and "line 4 is incomplete" in captured.err
    assert not (tmp_path / "o.avi").exists()
