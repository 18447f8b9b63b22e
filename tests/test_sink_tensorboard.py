"""TensorBoardSink: frames of a real training written as event files, read back with
TensorBoard's own reader."""

import io
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import build_tiny_cnn, make_tiny_data
from needs import need
from vizcallbacks import PlotConvCallback

need("tensorboardX", "pip install tensorboardX")
event_accumulator = need("tensorboard.backend.event_processing.event_accumulator", "pip install tensorboard")

from vizcallbacks.sinks.tensorboard import TensorBoardSink  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(keras, tmp_path_factory):
    """One real tiny training for the module, its frames also sent to TensorBoard by the
    callback itself (`tensorboard_dir=`): 2 epochs of 10 batches, a frame every 3."""
    images, labels = make_tiny_data()
    out = tmp_path_factory.mktemp("trained")
    callback = PlotConvCallback(images, indices=[0, 1], labels=labels, frames_dir=out / "run",
                                every_n_batches=3, batch_size=8, tensorboard_dir=out / "logs")
    build_tiny_cnn(keras).fit(images, labels, batch_size=8, epochs=2, verbose=0, shuffle=False,
                              callbacks=[callback])
    return out


@pytest.fixture
def run_dir(trained):
    """The module's run: its frames and manifest (only read)."""
    return trained / "run"


def test_callback_writes_every_frame_and_its_metrics_at_the_global_step(trained):
    pairs = _frames_and_records(trained / "run")
    logs = _read(trained / "logs")
    assert logs.Tags()["images"] == ["activations"]
    images = logs.Images("activations")
    assert [event.step for event in images] == [record.step for _, record in pairs] == [1, 4, 7, 10, 11, 14, 17, 20]
    for event, (frame, record) in zip(images, pairs, strict=True):
        assert np.array_equal(_decode(event.encoded_image_string), frame)
        assert event.wall_time == pytest.approx(record.wall_time)
    for name in ("accuracy", "loss"):
        assert [event.value for event in logs.Scalars(name)] == pytest.approx(
            [getattr(record, name) for _, record in pairs], rel=1e-6)


def test_tensorboard_alone_is_somewhere_for_the_frames_to_go(tiny_cnn, tiny_data, tmp_path):
    images, labels = tiny_data
    callback = PlotConvCallback(images, indices=[0], labels=labels, frames_dir=tmp_path / "frames",
                                every_n_batches=2, keep_frames=False, tensorboard_dir=tmp_path / "logs")
    tiny_cnn.fit(images, labels, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    assert not (tmp_path / "frames").exists()
    assert [event.step for event in _read(tmp_path / "logs").Images("activations")] == [1, 3, 5]


def test_callback_checks_tensorboard_dir_and_live_when_made(tiny_data, monkeypatch, tmp_path):
    images, _ = tiny_data
    with pytest.raises(TypeError, match=r"tensorboard_dir must be a path. Received: tensorboard_dir=3"):
        PlotConvCallback(images, frames_dir=tmp_path, tensorboard_dir=3)
    with pytest.raises(TypeError, match=r"live must be True or False. Received: live='yes'"):
        PlotConvCallback(images, frames_dir=tmp_path, live="yes")
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"tensorboard_dir: .*not installed. Install it: pip install tensorboardX"):
        PlotConvCallback(images, frames_dir=tmp_path, tensorboard_dir=tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


def _frames_and_records(run_dir: Path):
    """(frame, record) per manifest line; the record as the sink sees one: attributes only."""
    lines = [json.loads(line) for line in (run_dir / "frames.jsonl").read_text().splitlines()]
    return [(np.asarray(Image.open(run_dir / line["file"]).convert("RGB")), types.SimpleNamespace(**line))
            for line in lines]


def _read(log_dir: Path):
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0})
    accumulator.Reload()
    return accumulator


def _decode(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))


def test_frames_and_metrics_read_back_at_the_global_step(run_dir, tmp_path):
    pairs = _frames_and_records(run_dir)
    assert len(pairs) == 8  # batches 0, 3, 6, 9 of two epochs; the last is also the end
    sink = TensorBoardSink(tmp_path / "logs", tag="grid")
    sink.open()
    for frame, record in pairs:
        sink.send(frame, record)
    sink.finish()

    logs = _read(tmp_path / "logs")
    assert logs.Tags()["images"] == ["grid"]
    assert sorted(logs.Tags()["scalars"]) == ["accuracy", "loss"]
    images = logs.Images("grid")
    assert [event.step for event in images] == [record.step for _, record in pairs] == [1, 4, 7, 10, 11, 14, 17, 20]
    for event, (frame, record) in zip(images, pairs):
        assert (event.height, event.width) == frame.shape[:2]
        assert np.array_equal(_decode(event.encoded_image_string), frame)
        assert event.wall_time == pytest.approx(record.wall_time)
    for name in ("accuracy", "loss"):
        scalars = logs.Scalars(name)
        assert [event.step for event in scalars] == [record.step for _, record in pairs]
        # simple_value is a float32
        assert [event.value for event in scalars] == pytest.approx(
            [getattr(record, name) for _, record in pairs], rel=1e-6)


def test_missing_metrics_are_left_out(run_dir, tmp_path):
    frame, record = _frames_and_records(run_dir)[0]
    sink = TensorBoardSink(tmp_path / "logs")
    sink.open()
    sink.send(frame, types.SimpleNamespace(**{**vars(record), "accuracy": None}))
    sink.finish()
    logs = _read(tmp_path / "logs")
    assert logs.Tags()["scalars"] == ["loss"]
    assert [event.step for event in logs.Images("activations")] == [record.step]


def test_a_resumed_run_replaces_the_steps_it_draws_again(run_dir, tmp_path):
    pairs = _frames_and_records(run_dir)
    first = TensorBoardSink(tmp_path / "logs")
    first.open()
    for frame, record in pairs:  # the whole run, then killed, say, and resumed at epoch 2
        first.send(frame, record)
    first.finish()
    epoch_two = [(frame, record) for frame, record in pairs if record.epoch == 2]
    again = TensorBoardSink(tmp_path / "logs")
    again.open(earlier=[run_dir / record.file for _, record in pairs if record.epoch == 1])
    for frame, record in epoch_two:
        again.send(frame[::-1].copy(), record)  # told apart by being upside down
    again.finish()

    assert len(list((tmp_path / "logs").glob("*tfevents*"))) == 2
    images = _read(tmp_path / "logs").Images("activations")
    assert [event.step for event in images] == [record.step for _, record in pairs]
    for event, (frame, record) in zip(images, pairs):
        expected = frame[::-1] if record.epoch == 2 else frame
        assert np.array_equal(_decode(event.encoded_image_string), expected)


def test_a_used_log_dir_is_named_in_a_warning(run_dir, tmp_path):
    frame, record = _frames_and_records(run_dir)[0]
    for attempt in range(2):
        sink = TensorBoardSink(tmp_path / "logs")
        if attempt:
            with pytest.warns(UserWarning, match="already holds TensorBoard event files"):
                sink.open()
        else:
            sink.open()
        sink.send(frame, record)
        sink.finish()


def test_writes_without_tensorflow(run_dir, tmp_path):
    # Other Keras backends have no TensorFlow: the sink must not import it.
    script = f"""
import sys, json, types
sys.modules["tensorflow"] = None  # any import of it fails
import numpy as np
from PIL import Image
sys.path.insert(0, {str(REPO)!r})
from vizcallbacks.sinks.tensorboard import TensorBoardSink
sink = TensorBoardSink({str(tmp_path / "logs")!r})
sink.open()
for line in open({str(run_dir / "frames.jsonl")!r}):
    record = types.SimpleNamespace(**json.loads(line))
    sink.send(np.asarray(Image.open({str(run_dir)!r} + "/" + record.file).convert("RGB")), record)
sink.finish()
assert not any(name == "tensorflow" or name.startswith("tensorflow.") for name in sys.modules
               if sys.modules[name] is not None)
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert [event.step for event in _read(tmp_path / "logs").Images("activations")] == [
        record.step for _, record in _frames_and_records(run_dir)]


def test_missing_tensorboardx_is_named_with_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install tensorboardX"):
        TensorBoardSink(tmp_path / "logs").open()


def test_arguments_are_checked(tmp_path):
    with pytest.raises(TypeError, match=r"log_dir must be a path.*Received: log_dir=3"):
        TensorBoardSink(3)
    with pytest.raises(ValueError, match=r"tag must be a non-empty string.*Received: tag=''"):
        TensorBoardSink(tmp_path, tag="")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"log_dir: cannot create folder"):
        TensorBoardSink(tmp_path / "file" / "logs").open()
    sink = TensorBoardSink(tmp_path / "logs")
    sink.open()
    with pytest.raises(ValueError, match=r"TensorBoardSink.send: frame must have shape \(height, width, 3\). Received: shape=\(4, 4\)"):
        sink.send(np.zeros((4, 4), np.uint8), types.SimpleNamespace(step=1))
    sink.finish()


def test_a_regressions_mae_reaches_tensorboard_and_the_page(tmp_path, capsys):
    # `train --dataset series --tensorboard DIR` logged only the loss: the scalars were a
    # list of their own. Now every figure of the table a record holds is a scalar.
    from vizcallbacks.apps.cli import main

    out = tmp_path / "series"
    assert main(["train", "--dataset", "series", "--epochs", "1", "--max-steps", "7", "--every", "3",
                 "--format", "gif", "--out", str(out), "--tensorboard", str(tmp_path / "logs"), "--quiet"]) == 0
    records = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert [record["batch"] for record in records] == [0, 3, 6]
    assert all(record["mae"] is not None and record["accuracy"] is None for record in records)
    logs = _read(tmp_path / "logs")
    assert sorted(logs.Tags()["scalars"]) == ["loss", "mae"]
    for name in ("loss", "mae"):
        assert [(event.step, event.value) for event in logs.Scalars(name)] == [
            (record["step"], pytest.approx(record[name], rel=1e-6)) for record in records]
    page = (out / "index.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S)[1])
    assert [metric["key"] for metric in data["metrics"]] == ["loss", "mae"]
    assert [record["mae"] for record in data["runs"][0]["records"]] == pytest.approx([r["mae"] for r in records])


def test_records_of_another_shape_name_their_figures_and_step(tmp_path):
    from vizcallbacks.sinks import NamedRecord

    assert not hasattr(TensorBoardSink, "write")  # one entry point: open, send, finish
    frame = np.full((6, 8, 3), 40, np.uint8)
    sink = TensorBoardSink(tmp_path / "logs", tag="panel", scalars=["heldout_accuracy", "train_loss"])
    sink.open()
    sink.send(frame, NamedRecord("p0000.png", {"index": 0, "heldout_accuracy": 0.25, "train_loss": None}, step=0))
    sink.send(frame, NamedRecord("p0001.png", {"index": 1, "heldout_accuracy": float("nan"), "train_loss": 1.5},
                                 step=128, wall_time=1234.5))
    sink.finish()
    logs = _read(tmp_path / "logs")
    assert [event.step for event in logs.Images("panel")] == [0, 128]
    assert [(event.step, event.value) for event in logs.Scalars("heldout_accuracy")] == [(0, 0.25)]  # NaN: left out
    assert [(event.step, event.value, event.wall_time) for event in logs.Scalars("train_loss")] == [(128, 1.5, 1234.5)]
    with pytest.raises(TypeError, match="scalars must be a list of figure names"):
        TensorBoardSink(tmp_path / "logs", scalars="heldout_accuracy")

