"""The figures a frame can carry, defined once (`vizcallbacks.figures`): read from Keras's
logs, printed on the stamp, written in the manifest, sent to TensorBoard and drawn on the
page, all from the one table."""

import json
import math
import pickle
import re
import types

import numpy as np
import pytest

from vizcallbacks.figures import FIGURE_KEYS, FIGURES, figure, figures_from_logs, figures_of
from vizcallbacks.framefiles import MANIFEST_NAME, FrameRecord, read_manifest
from vizcallbacks.render import Stamp

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)


def test_the_table_names_each_figure_once_with_what_every_consumer_needs():
    assert len(set(FIGURE_KEYS)) == len(FIGURES)
    assert {"loss", "accuracy", "mae", "heldout_accuracy", "heldout_loss", "learning_rate"} <= set(FIGURE_KEYS)
    for row in FIGURES:
        assert row.key.isidentifier() and row.label and row.higher_is_better in (True, False, None)
        assert row.text(0.5)  # its format spec formats a number
    assert figure("accuracy").higher_is_better and not figure("loss").higher_is_better
    assert figure("heldout_accuracy").fraction and not figure("mae").fraction
    with pytest.raises(KeyError, match=r"no figure is called 'acc'; the figures are heldout_accuracy, .*loss"):
        figure("acc")


@pytest.mark.parametrize("logs, expected", [
    ({"loss": 0.5, "accuracy": 0.75}, {"accuracy": 0.75, "mae": None, "loss": 0.5}),
    ({"loss": 0.5, "acc": 0.5}, {"accuracy": 0.5, "mae": None, "loss": 0.5}),
    ({"loss": 0.5, "sparse_categorical_accuracy": 0.25}, {"accuracy": 0.25, "mae": None, "loss": 0.5}),
    ({"loss": 0.5, "binary_accuracy": 0.25}, {"accuracy": 0.25, "mae": None, "loss": 0.5}),
    # a metric the user named counts; a top-k or validation accuracy does not
    ({"loss": 0.5, "my_accuracy": 0.125, "val_accuracy": 0.9}, {"accuracy": 0.125, "mae": None, "loss": 0.5}),
    ({"loss": 0.5, "top_k_categorical_accuracy": 0.9}, {"accuracy": None, "mae": None, "loss": 0.5}),
    ({"loss": 0.5, "mean_absolute_error": 2.0}, {"accuracy": None, "mae": 2.0, "loss": 0.5}),
    ({"loss": 0.5, "mae": 2.0, "val_mae": 9.0}, {"accuracy": None, "mae": 2.0, "loss": 0.5}),
    # numpy numbers and one-element arrays are numbers; a metric that returns an array is not
    ({"loss": np.float32(0.5), "accuracy": np.array([0.25])}, {"accuracy": 0.25, "mae": None, "loss": 0.5}),
    ({"loss": np.array([0.5, 0.1]), "accuracy": "high"}, {"accuracy": None, "mae": None, "loss": None}),
    ({}, {"accuracy": None, "mae": None, "loss": None}),
])
def test_figures_are_read_from_keras_logs_by_the_tables_names(logs, expected):
    assert figures_from_logs(logs) == expected


def test_the_stamp_prints_any_figure_in_table_order_and_keeps_its_old_text():
    assert Stamp(1, 250, 0.7321, 0.5123).text() == "Epoch: 01, batch: 0250, accuracy: 0.732, loss: 0.512"
    assert Stamp(1, 250, 0.7321, 0.5123, 0.25).text() == \
        "Epoch: 01, batch: 0250, accuracy: 0.732, mae: 0.250, loss: 0.512"
    assert Stamp(epoch=2, mae=0.1, loss=math.nan).text() == "Epoch: 02, mae: 0.100, loss: NaN"
    stamp = Stamp(batch=3, loss=0.5, learning_rate=0.00125)
    assert stamp.text() == "batch: 0003, loss: 0.500, learning rate: 0.00125"
    assert (stamp.loss, stamp.accuracy, stamp.learning_rate) == (0.5, None, 0.00125)
    assert Stamp.of(1, 0, figures_from_logs({"loss": 0.5, "mae": 2.0})) == Stamp(1, 0, loss=0.5, mae=2.0)
    assert pickle.loads(pickle.dumps(stamp)) == stamp and hash(stamp) == hash(Stamp(batch=3, loss=0.5,
                                                                                   learning_rate=0.00125))
    with pytest.raises(TypeError, match=r"Stamp: 'lr' is not a figure. Valid: .*learning_rate"):
        Stamp(1, lr=0.1)
    with pytest.raises(TypeError, match=r"Stamp: loss must be a number or None. Received: loss='low'"):
        Stamp(1, loss="low")
    with pytest.raises(AttributeError, match="cannot be changed"):
        stamp.epoch = 4


def test_a_record_carries_figures_as_attributes_and_writes_them_flat_under_the_old_names(tmp_path):
    from vizcallbacks.sinks import ManifestSink

    record = FrameRecord(epoch=1, batch=0, step=1, examples_seen=8, accuracy=0.5, loss=0.25, mae=None,
                         time_s=0.5, wall_time=1e9, due_batch=0)
    assert (record.accuracy, record.loss, record.mae, record.heldout_loss) == (0.5, 0.25, None, None)
    assert record.manifest_fields() == {
        "epoch": 1, "batch": 0, "step": 1, "examples_seen": 8, "accuracy": 0.5, "mae": None, "loss": 0.25,
        "time_s": 0.5, "wall_time": 1e9, "final": False, "due_batch": 0}
    again = pickle.loads(pickle.dumps(record))
    assert again == record and hash(again) == hash(record)
    with pytest.raises(TypeError, match=r"FrameRecord: 'acc' is not a figure"):
        FrameRecord(1, 0, 1, time_s=0.0, wall_time=0.0, acc=0.5)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        record.nope

    sink = ManifestSink(tmp_path / MANIFEST_NAME)
    sink.open()
    sink.send(np.zeros((2, 2, 3), np.uint8), record)
    sink.finish()
    [(_, line)] = read_manifest(tmp_path / MANIFEST_NAME)
    assert line == record.manifest_fields()  # flat: an old manifest's reader finds "accuracy", "loss", "mae"
    assert FrameRecord(**line) == record
    assert FrameRecord.from_fields({"file": "frames/plot-01-0000.png", **line}) == record  # other keys left out


def test_a_figure_no_consumer_names_reaches_the_stamp_manifest_page_and_tensorboard(tmp_path):
    """learning_rate is named only in the table: every consumer takes it from there."""
    from needs import need
    from vizcallbacks import write_page
    from vizcallbacks.framefiles import write_png
    from vizcallbacks.sinks import ManifestSink

    need("tensorboardX", "pip install tensorboardX")
    event_accumulator = need("tensorboard.backend.event_processing.event_accumulator", "pip install tensorboard")
    from vizcallbacks.sinks.tensorboard import TensorBoardSink

    frames = tmp_path / "frames"
    frames.mkdir()
    sinks = [ManifestSink(tmp_path / MANIFEST_NAME, frames_dir=frames), TensorBoardSink(tmp_path / "logs")]
    for sink in sinks:
        sink.open()
    records = [FrameRecord(1, batch, batch + 1, time_s=batch, wall_time=1e9 + batch, loss=1 / (batch + 1),
                           learning_rate=1e-3 * 10 ** batch) for batch in range(3)]
    for record in records:
        frame = np.full((4, 4, 3), 40 * record.batch, np.uint8)
        write_png(frame, frames / record.file_name())
        for sink in sinks:
            sink.send(frame, record)
    for sink in sinks:
        sink.finish()

    assert "learning rate: 0.01" in Stamp.of(1, 2, records[1].figures).text()
    lines = [line for _, line in read_manifest(tmp_path / MANIFEST_NAME)]
    assert [line["learning_rate"] for line in lines] == pytest.approx([1e-3, 1e-2, 1e-1])
    logs = event_accumulator.EventAccumulator(str(tmp_path / "logs"))
    logs.Reload()
    assert sorted(logs.Tags()["scalars"]) == ["learning_rate", "loss"]
    assert [event.value for event in logs.Scalars("learning_rate")] == pytest.approx([1e-3, 1e-2, 1e-1])
    page = write_page(tmp_path).read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S)[1])
    assert data["metrics"] == [{"key": "loss", "label": "loss", "fraction": False},
                               {"key": "learning_rate", "label": "learning rate", "fraction": False}]


def test_tensorboards_scalars_are_the_figures_a_record_holds():
    line = {"epoch": 1, "step": 4, "accuracy": None, "loss": 0.5, "mae": 2, "heldout_accuracy": 0.75,
            "time_s": 3.0, "final": True}
    assert figures_of(line) == {"heldout_accuracy": 0.75, "mae": 2.0, "loss": 0.5}
    assert figures_of(types.SimpleNamespace(**line)) == figures_of(line)
    assert figures_of(FrameRecord(1, 0, 1, time_s=0, wall_time=0, loss=math.inf)) == {"loss": math.inf}
