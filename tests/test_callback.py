import json

import numpy as np
import pytest
from PIL import Image

from conftest import build_tiny_cnn
from vizcallbacks import FrameStyle, PlotConvCallback
from vizcallbacks import callback_arguments
from vizcallbacks import plotter as plotter_module
from vizcallbacks.callback import StopAfterSteps
from vizcallbacks.framefiles import frame_name, read_manifest
from vizcallbacks.render import GridRenderer
from vizcallbacks.sinks import Sink


def _manifest(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _fit(model, data, callback, *, epochs=1, batch_size=8, initial_epoch=0, extra=()):
    images, labels = data
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, initial_epoch=initial_epoch,
              verbose=0, callbacks=[callback, *extra], shuffle=False)


def test_frames_at_batch_zero_every_n_and_at_the_end(tiny_cnn, tiny_data, tmp_path):
    # 80 images / batch 8 = 10 batches per epoch; every 4 -> batches 0, 4, 8, then the end (9)
    callback = PlotConvCallback(tiny_data[0][:3], labels=tiny_data[1][:3],
                                frames_dir=tmp_path / "frames", every_n_batches=4, batch_size=8)
    _fit(tiny_cnn, tiny_data, callback, epochs=2)
    records = _manifest(tmp_path / "frames" / "frames.jsonl")
    assert [(r["epoch"], r["batch"], r["final"]) for r in records] == [
        (1, 0, False), (1, 4, False), (1, 8, False), (2, 0, False), (2, 4, False), (2, 8, False), (2, 9, True)]
    assert [r["step"] for r in records] == [1, 5, 9, 11, 15, 19, 20]
    assert [r["examples_seen"] for r in records] == [8, 40, 72, 88, 120, 152, 160]
    times = [r["time_s"] for r in records]
    assert times == sorted(times)
    files = sorted(p.name for p in (tmp_path / "frames").glob("*.png"))
    assert files == [r["file"] for r in records]  # names sort in time order
    sizes = {Image.open(tmp_path / "frames" / name).size for name in files}
    assert len(sizes) == 1
    assert not list((tmp_path / "frames").glob(".*"))  # no temporary files left
    for r in records:
        assert 0 <= r["accuracy"] <= 1 and r["loss"] > 0


def test_frames_read_back_exactly_as_drawn(tiny_cnn, tiny_data, tmp_path):
    frames = []

    class Recording(GridRenderer):
        def render(self, activations, stamp):
            frames.append(super().render(activations, stamp))
            return frames[-1]

    callback = PlotConvCallback(tiny_data[0][:3], labels=tiny_data[1][:3], frames_dir=tmp_path,
                                every_n_batches=4)
    callback.renderer_factory = Recording
    _fit(tiny_cnn, tiny_data, callback)
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == len(frames) == 4  # batches 0, 4, 8 and the last, 9
    for png, frame in zip(pngs, frames):
        assert np.array_equal(np.asarray(Image.open(png)), frame)


def test_frame_names_are_padded_to_sort_in_time_order():
    assert frame_name(1, 250) == "plot-01-0250.png"
    assert frame_name(7, 3, epoch_digits=3, batch_digits=5) == "plot-007-00003.png"
    assert callback_arguments.name_digits(epochs=150, steps=23456) == (3, 5)
    assert callback_arguments.name_digits(epochs=5, steps=100) == (2, 4)


def test_probe_built_once_and_one_batched_pass_per_frame(tiny_cnn, tiny_data, tmp_path, monkeypatch):
    built, calls = [], []

    class CountingProbe(plotter_module.ActivationProbe):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

        def dispatch(self):
            calls.append(len(self.sample))
            return super().dispatch()

    monkeypatch.setattr(plotter_module, "ActivationProbe", CountingProbe)
    callback = PlotConvCallback(tiny_data[0][:5], frames_dir=tmp_path, every_n_batches=3)
    _fit(tiny_cnn, tiny_data, callback)
    assert built == [1]
    assert calls == [5] * callback.frames_written == [5, 5, 5, 5]  # batches 0, 3, 6, 9; 9 is the last


def test_fake_renderer_receives_activations_and_stamps(tiny_cnn, tiny_data, tmp_path):
    stamps = []

    class FakeRenderer:
        def __init__(self, views, images, **options):
            self.views = views

        def render(self, activations, stamp):
            stamps.append(stamp)
            assert len(activations.outputs) == len(self.views)
            return np.zeros((4, 6, 3), np.uint8)

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    callback.renderer_factory = FakeRenderer
    _fit(tiny_cnn, tiny_data, callback)
    assert [(s.epoch, s.batch) for s in stamps] == [(1, 0), (1, 5), (1, 9)]


@pytest.mark.parametrize("model_name", ["tiny_cnn_without_input", "branched_model"])
def test_callback_on_sequential_without_input_and_branched_functional(model_name, request, tiny_data, tmp_path):
    model = request.getfixturevalue(model_name)
    callback = PlotConvCallback(tiny_data[0][[0, 5]], labels=tiny_data[1][[0, 5]],
                                frames_dir=tmp_path, every_n_batches=5)
    _fit(model, tiny_data, callback)
    records = _manifest(tmp_path / "frames.jsonl")
    assert len(records) == 3
    frame = np.asarray(Image.open(tmp_path / records[-1]["file"]))
    assert frame.ndim == 3 and frame.shape[2] == 3


def test_background_and_foreground_make_identical_frames(tiny_cnn, tiny_data, tmp_path, keras):
    weights = tiny_cnn.get_weights()
    for background in (True, False):
        tiny_cnn.set_weights(weights)
        keras.utils.set_random_seed(3)
        folder = tmp_path / str(background)
        callback = PlotConvCallback(tiny_data[0][:3], frames_dir=folder, every_n_batches=3)
        callback.background = background
        _fit(tiny_cnn, tiny_data, callback)
    names = sorted(p.name for p in (tmp_path / "True").glob("*.png"))
    assert names == sorted(p.name for p in (tmp_path / "False").glob("*.png"))
    for name in names:
        a = np.asarray(Image.open(tmp_path / "True" / name))
        b = np.asarray(Image.open(tmp_path / "False" / name))
        assert a.shape == b.shape


def test_existing_frames_are_kept_unless_overwrite(tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    _fit(tiny_cnn, tiny_data, callback)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}  # frames, manifest, store
    again = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        _fit(tiny_cnn, tiny_data, again)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    replace = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=4, overwrite=True)
    _fit(tiny_cnn, tiny_data, replace)
    assert [r["batch"] for r in _manifest(tmp_path / "frames.jsonl")] == [0, 4, 8, 9]
    assert len(list(tmp_path.glob("*.png"))) == 4


def test_resumed_run_appends_frames(tiny_cnn, tiny_data, tmp_path):
    first = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    _fit(tiny_cnn, tiny_data, first, epochs=1)
    resumed = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5)
    _fit(tiny_cnn, tiny_data, resumed, epochs=2, initial_epoch=1)
    records = _manifest(tmp_path / "frames.jsonl")
    assert [(r["epoch"], r["batch"], r["step"]) for r in records] == [
        (1, 0, 1), (1, 5, 6), (1, 9, 10), (2, 0, 11), (2, 5, 16), (2, 9, 20)]
    assert len(list(tmp_path.glob("*.png"))) == 6


def test_an_exception_in_fit_leaves_every_frame_and_its_line(tiny_cnn, tiny_data, tmp_path, keras):
    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 7:
                raise RuntimeError("boom")

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=3)
    with pytest.raises(RuntimeError, match="boom"):
        with callback:
            _fit(tiny_cnn, tiny_data, callback, extra=[Boom()])
    records = _manifest(tmp_path / "frames.jsonl")
    assert [r["batch"] for r in records] == [0, 3, 6]
    for r in records:
        Image.open(tmp_path / r["file"]).load()


class RecordingSink(Sink):
    """Records what the pipeline asks of it; with `frames_dir`, checks that the callback's
    own sinks have written each frame and its manifest line before it is called."""

    def __init__(self, frames_dir=None):
        self.frames_dir, self.events = frames_dir, []

    def open(self, *, earlier=()):
        self.events.append(("open", len(earlier)))

    def send(self, frame, record):
        if self.frames_dir is not None:
            assert (self.frames_dir / record.file_name()).is_file()
            assert read_manifest(self.frames_dir / "frames.jsonl")[-1][1]["batch"] == record.batch
        self.events.append(("send", record.batch, frame.shape))

    def finish(self):
        self.events.append(("finish",))


@pytest.mark.parametrize("options, message", [
    ({"every_n_batches": 0}, "every_n_batches must be a positive integer. Received: every_n_batches=0"),
    ({"every_n_batches": 2.5}, "every_n_batches must be a positive integer"),
    ({"labels": [0, 1]}, r"labels must have one entry per image: 80 images, received 2 labels"),
    ({"on_error": "ignore"}, r"on_error must be one of 'warn', 'raise'.*Received: on_error='ignore'"),
    ({"frames_dir": None}, r"frames_dir=None and no movie_path or sinks: the frames would go nowhere"),
    ({"frames_dir": None, "manifest_path": "m.jsonl", "sinks": [RecordingSink()]},
     r"manifest_path lists the PNG frames of frames_dir, which is None"),
])
def test_bad_arguments_fail_in_init(tiny_data, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        PlotConvCallback(tiny_data[0], **{"frames_dir": tmp_path, **options})


def test_the_spelling_before_still_works_with_one_warning_naming_the_new_one(tiny_cnn, tiny_data, tmp_path):
    with pytest.warns(DeprecationWarning) as caught:
        old = PlotConvCallback(tiny_data[0], indices=[0, 1], labels=tiny_data[1], frames_dir=tmp_path / "old",
                               every_n_batches=5, channels=(0, 2), cmap="viridis", keep_frames=True, background=False)
    assert len(caught) == 1
    said = str(caught[0].message)
    assert "style=FrameStyle(channels=..., cmap=...)" in said and "images=images[indices]" in said
    assert "callback.background = ... after construction" in said
    assert old.style == FrameStyle(channels=(0, 2), cmap="viridis") and old.background is False
    new = PlotConvCallback(tiny_data[0][:2], labels=tiny_data[1][:2], frames_dir=tmp_path / "new",
                           every_n_batches=5, style=FrameStyle(channels=(0, 2), cmap="viridis"))
    for callback in (old, new):
        _fit(tiny_cnn, tiny_data, callback)
    old_frames, new_frames = sorted((tmp_path / "old").glob("*.png")), sorted((tmp_path / "new").glob("*.png"))
    assert [p.name for p in old_frames] == [p.name for p in new_frames] and len(old_frames) == 3
    assert Image.open(old_frames[0]).size == Image.open(new_frames[0]).size
    with pytest.warns(DeprecationWarning, match=r"style=FrameStyle\(normalization=\.\.\.\)"), \
            pytest.raises(ValueError, match="normalization must be one of"):
        PlotConvCallback(tiny_data[0], frames_dir=tmp_path, normalization="zscore")
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=r"indices: \[99\] out of range"):
        PlotConvCallback(tiny_data[0], frames_dir=tmp_path, indices=[0, 99])


def test_an_unknown_keyword_is_refused_with_the_valid_ones(tiny_data, tmp_path):
    with pytest.raises(TypeError, match=r"PlotConvCallback got unexpected keyword arguments every_n, moviepath\. "
                                        r"Valid: images, labels, frames_dir, every_n_batches, style, movie_path, sinks, "
                                        r"batch_size, overwrite, on_error, manifest_path; the drawing options go in "
                                        r"style=FrameStyle\(layers, channels"):
        PlotConvCallback(tiny_data[0], frames_dir=tmp_path, every_n=5, moviepath="m.gif")
    with pytest.raises(TypeError, match=r"give the drawing options in style= only; received style= and cmap="):
        PlotConvCallback(tiny_data[0], frames_dir=tmp_path, style=FrameStyle(), cmap="viridis")


def test_bad_layer_fails_before_the_first_batch(tiny_cnn, tiny_data, tmp_path, keras):
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            batches.append(batch)

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, style=FrameStyle(layers=["conv2"]))
    with pytest.raises(ValueError, match="Layers that exist"):
        _fit(tiny_cnn, tiny_data, callback, extra=[Count()])
    assert batches == []


def test_an_added_sink_gets_every_frame_after_the_callbacks_own(tiny_cnn, tiny_data, tmp_path):
    sink = RecordingSink(tmp_path)
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, every_n_batches=5,
                                               sinks=[sink]))
    assert [event[0] for event in sink.events] == ["open", "send", "send", "send", "finish"]
    assert [event[1] for event in sink.events if event[0] == "send"] == [0, 5, 9]
    assert len({event[2] for event in sink.events if event[0] == "send"}) == 1

    alone = RecordingSink()  # without PNGs or movies, the added sink is where frames go
    _fit(tiny_cnn, tiny_data, PlotConvCallback(tiny_data[0][:2], every_n_batches=5, sinks=[alone]))
    assert [event[0] for event in alone.events] == ["open", "send", "send", "send", "finish"]
    # the run without frames_dir wrote nothing: only the first run's 3 frames and manifest
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".png")) == ["frames.jsonl", "store"]
    assert len(list(tmp_path.glob("*.png"))) == 3 and len(list((tmp_path / "store").glob("step-*.npz"))) == 3
    with pytest.raises(TypeError, match=r"sinks must be a list of vizcallbacks\.sinks\.Sink instances.*"
                                        r"Received: sinks=\[<object"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, sinks=[object()])


@pytest.mark.parametrize("group, trained", [(1, 20), (4, 20), (3, 20)])
def test_stop_after_steps_stops_at_the_group_that_reaches_max_steps_in_each_fit(keras, tiny_data, group, trained):
    # 10 batches an epoch; in groups of 4 an epoch runs 4 + 4 + 2: the short last group
    # counts 2, so the fit stops after batch 20, not 18. Groups of 3 reach 20 at batch 20.
    if group > 1 and keras.backend.backend() == "torch":
        pytest.skip("Keras refuses steps_per_execution > 1 on PyTorch")
    model = build_tiny_cnn(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=group)
    stop = StopAfterSteps(20)
    images, labels = tiny_data
    for _ in range(2):  # the same instance, reused: each fit trains max_steps batches
        before = int(model.optimizer.iterations.numpy())
        model.fit(images, labels, batch_size=8, epochs=5, verbose=0, callbacks=[stop], shuffle=False)
        assert int(model.optimizer.iterations.numpy()) - before == trained
