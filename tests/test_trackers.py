"""The experiment trackers (`MLflowSink`, `WandbSink`, `--mlflow`, `--wandb`), offline, read
back with the trackers' own readers: MLflow's `MlflowClient` on a SQLite store, a W&B offline
run's files and its log. A tracker that is down, or a package that is missing, is said once
and the frames on disk are kept."""

import json
import socket
import struct
import sys
import warnings

import numpy as np
import pytest

from conftest import MNIST_DIR, require
from needs import need
from vizcallbacks import MLflowSink, PlotConvCallback, WandbSink
from vizcallbacks.apps.cli import main
from vizcallbacks.framefiles import MANIFEST_NAME, read_manifest, read_png
from vizcallbacks.movie import inspect_movie
from vizcallbacks.pipeline import FrameFaultWarning

pytestmark = pytest.mark.once  # the trackers do not change with the Keras backend

_MLFLOW = "pip install 'vizcallbacks[mlflow]'"
_WANDB = "pip install 'vizcallbacks[wandb]'"


def _frames_by_step(run_dir):
    """step -> (the frame's pixels, its manifest line), from the run's folder."""
    records = [record for _, record in read_manifest(run_dir / MANIFEST_NAME)]
    return {record["step"]: (read_png(run_dir / record["file"]), record) for record in records}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`vizcallbacks train` on MNIST, 120 batches, logged to MLflow (a SQLite store) and to an
    offline W&B run at once: (the folder it ran in, the run's folder, the MLflow URI)."""
    require(MNIST_DIR, "MNIST")
    need("mlflow", _MLFLOW)
    need("wandb", _WANDB)
    here = tmp_path_factory.mktemp("trained")
    uri = f"sqlite:///{here / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(here)  # MLflow's artifacts go to ./mlruns
        for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(here)}.items():
            patch.setenv(name, value)
        assert main(["train", "--dataset", "mnist", "--data-dir", str(MNIST_DIR), "--max-steps", "120",
                     "--out", str(here / "run"), "--format", "gif", "--quiet", "--mlflow", uri,
                     "--wandb", "vizcallbacks-tests"]) == 0
    return here, here / "run", uri


# ---- MLflow ---------------------------------------------------------------------------------

def _mlflow_images(client, run_id, tmp_path) -> dict[int, np.ndarray]:
    """step -> image, from the run's time-stepped images (`images/<key>+step+<n>+...png`)."""
    from PIL import Image

    found = {}
    for item in client.list_artifacts(run_id, "images"):
        name = item.path.rsplit("/", 1)[-1]
        if name.startswith("frames+step+") and name.endswith(".png"):
            local = client.download_artifacts(run_id, item.path, str(tmp_path))
            found[int(name.split("+")[2])] = np.asarray(Image.open(local).convert("RGB"))
    return found


@pytest.mark.e2e
def test_train_with_mlflow_leaves_one_run_with_the_frames_the_loss_and_the_movie(trained, tmp_path):
    from mlflow import MlflowClient

    _, out, uri = trained
    frames = _frames_by_step(out)
    client = MlflowClient(uri)
    (run,) = client.search_runs(["0"])
    assert run.info.run_name == "run" and run.info.status == "FINISHED"  # named after the output folder
    images = _mlflow_images(client, run.info.run_id, tmp_path / "back")
    assert sorted(images) == sorted(frames) and len(frames) == 7  # batches 0, 20, ..., 100 and the last
    for step, (pixels, _) in frames.items():
        assert np.array_equal(images[step], pixels), step
    losses = {metric.step: metric.value for metric in client.get_metric_history(run.info.run_id, "loss")}
    assert losses == pytest.approx({step: record["loss"] for step, (_, record) in frames.items()})
    assert [item.path for item in client.list_artifacts(run.info.run_id) if item.path.startswith("movie")] == \
        ["movie.gif"]
    movie = client.download_artifacts(run.info.run_id, "movie.gif", str(tmp_path / "back"))
    assert open(movie, "rb").read() == (out / "movie.gif").read_bytes()
    # The page is written before the trackers finish, so the run keeps it beside the movie.
    page = client.download_artifacts(run.info.run_id, "index.html", str(tmp_path / "back"))
    assert open(page, "rb").read() == (out / "index.html").read_bytes()


@pytest.mark.e2e
def test_render_with_mlflow_keeps_the_redrawn_frames_the_movie_and_the_page(trained, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    _, out, _ = trained
    monkeypatch.chdir(tmp_path)  # MLflow's artifacts go to ./mlruns
    uri = f"sqlite:///{tmp_path / 'render.db'}"
    assert main(["render", str(out), "--out", str(tmp_path / "viridis"), "--cmap", "viridis",
                 "--format", "gif", "--mlflow", uri]) == 0
    redrawn = _frames_by_step(tmp_path / "viridis")
    client = MlflowClient(uri)
    (run,) = client.search_runs(["0"])
    assert run.info.run_name == "viridis" and run.info.status == "FINISHED"
    images = _mlflow_images(client, run.info.run_id, tmp_path / "back")
    assert sorted(images) == sorted(redrawn) == sorted(_frames_by_step(out))
    for step, (pixels, _) in redrawn.items():
        assert np.array_equal(images[step], pixels), step
    # The page is a sink listed before the tracker: the run keeps it beside the movie.
    for name in ("movie.gif", "index.html"):
        kept = client.download_artifacts(run.info.run_id, name, str(tmp_path / "back"))
        assert open(kept, "rb").read() == (tmp_path / "viridis" / name).read_bytes(), name


def test_mlflow_logs_into_the_active_run_and_leaves_it_open(tmp_path, monkeypatch, tiny_cnn, tiny_data):
    mlflow = need("mlflow", _MLFLOW)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run(run_name="mine") as mine:
            callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=5,
                                        sinks=[MLflowSink()])
            tiny_cnn.fit(*tiny_data, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
            assert mlflow.active_run().info.run_id == mine.info.run_id  # still open
        client = mlflow.MlflowClient()
        assert len(client.search_runs(["0"])) == 1
        steps = [metric.step for metric in client.get_metric_history(mine.info.run_id, "loss")]
        assert steps == [1, 6, 10]
    finally:
        mlflow.set_tracking_uri(None)


# ---- W&B ------------------------------------------------------------------------------------

def _wandb_records(path):
    """The records of a W&B run's log (`run-<id>.wandb`): a 7-byte header, then LevelDB's log
    format, 32 KiB blocks of chunks (checksum, length, kind: 1 whole, 2 first, 3 middle, 4 last)."""
    from wandb.proto import wandb_internal_pb2

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B", data[:8]
    position, pending = 7, b""
    while position + 7 <= len(data):
        room = block - position % block
        _, length, kind = struct.unpack("<IHB", data[position:position + 7]) if room >= 7 else (0, 0, 0)
        if room < 7 or (kind == 0 and length == 0):  # the rest of a block is padding
            position += room
            continue
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def _wandb_history(run_dir) -> list[dict]:
    """The run's history rows, nested keys joined with "/" ("frames/path")."""
    (log,) = run_dir.glob("run-*.wandb")
    return [{"/".join(item.nested_key) or item.key: json.loads(item.value_json) for item in record.history.item}
            for record in _wandb_records(log) if record.WhichOneof("record_type") == "history"]


@pytest.mark.e2e
def test_train_with_wandb_offline_leaves_one_run_with_the_frames_the_loss_and_the_movie(trained):
    from PIL import Image

    here, out, _ = trained
    frames = _frames_by_step(out)
    (run_dir,) = (here / "wandb").glob("offline-run-*")
    # An image's file name does not carry its step: the history row it was logged in does.
    rows = {row["_step"]: row for row in _wandb_history(run_dir)}
    assert sorted(rows) == sorted(frames) and len(frames) == 7
    for step, (pixels, record) in frames.items():
        image = Image.open(run_dir / "files" / rows[step]["frames/path"]).convert("RGB")
        assert np.array_equal(np.asarray(image), pixels), step
        assert rows[step]["loss"] == pytest.approx(record["loss"])
    assert len(list((run_dir / "files" / "media" / "images").glob("*.png"))) == len(frames)
    assert (run_dir / "files" / "movie.gif").read_bytes() == (out / "movie.gif").read_bytes()


# ---- which sinks a command makes ------------------------------------------------------------

def test_the_trackers_make_one_sink_each_named_after_the_run_folder(tmp_path, monkeypatch):
    from vizcallbacks.apps.trackers import RUN_FILES, Trackers, comparison_trackers

    monkeypatch.chdir(tmp_path)
    trackers = Trackers(mlflow="sqlite:///mlflow.db", wandb="team")
    assert trackers.mlflow == f"sqlite:///{tmp_path / 'mlflow.db'}"  # what a compare run's process finds too
    mlflow_sink, wandb_sink = trackers.sinks(tmp_path / "output" / "mnist")
    assert isinstance(mlflow_sink, MLflowSink) and isinstance(wandb_sink, WandbSink)
    assert mlflow_sink.run_name == wandb_sink.run_name == "mnist" and wandb_sink.project == "team"
    assert [path.name for path in mlflow_sink.files] == list(RUN_FILES) and "movie.gif" in RUN_FILES
    assert not Trackers() and Trackers().sinks(tmp_path) == []
    with pytest.raises(TypeError, match="trackers must be a vizcallbacks.apps.trackers.Trackers"):
        with comparison_trackers("sqlite:///mlflow.db", tmp_path):
            pass
    with pytest.raises(ValueError, match="wandb must be a non-empty string or None. Received: wandb=''"):
        Trackers(wandb="")
    with pytest.raises(TypeError, match="files must be a list of paths"):
        MLflowSink(files="movie.gif")


# ---- a tracker that is down, a package that is missing ----------------------------------------

def _closed_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fit_with(sink, tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=3,
                                movie_path=tmp_path / "movie.gif", sinks=[sink])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_cnn.fit(*tiny_data, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    return [str(w.message) for w in caught if issubclass(w.category, FrameFaultWarning)]


def _all_frames_kept(tmp_path, count: int) -> None:
    records = [record for _, record in read_manifest(tmp_path / "frames" / MANIFEST_NAME)]
    assert [record["batch"] for record in records] == [0, 3, 6, 9][:count]
    assert all(read_png(tmp_path / "frames" / record["file"]).shape[2] == 3 for record in records)
    assert inspect_movie(tmp_path / "movie.gif").frame_count == count


def test_an_mlflow_server_that_is_down_is_said_once_and_the_frames_are_kept(tmp_path, monkeypatch, tiny_cnn,
                                                                             tiny_data):
    need("mlflow", _MLFLOW)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    url = f"http://127.0.0.1:{_closed_port()}"
    said = _fit_with(MLflowSink(url), tiny_cnn, tiny_data, tmp_path)
    assert len(said) == 1 and f"MLflowSink '{url}' failed at frame 1" in said[0]
    assert "Check that the tracking server runs" in said[0] and "Training goes on" in said[0]
    _all_frames_kept(tmp_path, 4)


@pytest.mark.e2e
def test_train_with_a_tracker_that_is_down_warns_and_finishes_the_run(tmp_path, monkeypatch, capsys):
    """A tracker is a copy of the run elsewhere: when it is down, `train` still writes the
    movie and the page and exits 0, and says once what failed."""
    require(MNIST_DIR, "MNIST")
    need("mlflow", _MLFLOW)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(["train", "--dataset", "mnist", "--data-dir", str(MNIST_DIR), "--max-steps", "20", "--every", "10",
                 "--out", str(tmp_path / "run"), "--format", "gif", "--quiet", "--mlflow", url])
    printed = capsys.readouterr()
    assert code == 0
    assert printed.err.count(f"MLflowSink '{url}' failed") == 1 and "free space" not in printed.err
    assert (tmp_path / "run" / "index.html").is_file() and inspect_movie(tmp_path / "run" / "movie.gif").frame_count == 3


@pytest.mark.parametrize("module, sink, install", [("mlflow", MLflowSink, _MLFLOW), ("wandb", WandbSink, _WANDB)])
def test_a_tracker_package_that_is_missing_is_said_once_with_how_to_install_it(module, sink, install, tmp_path,
                                                                               monkeypatch, tiny_cnn, tiny_data):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    said = _fit_with(sink(), tiny_cnn, tiny_data, tmp_path)
    assert len(said) == 1 and f"{sink.__name__} '" in said[0] and install in said[0]
    _all_frames_kept(tmp_path, 4)


# ---- compare: one run per configuration --------------------------------------------------------

@pytest.mark.e2e
def test_compare_logs_each_configuration_as_a_child_of_one_mlflow_run_and_in_one_wandb_group(tmp_path,
                                                                                              monkeypatch):
    require(MNIST_DIR, "MNIST")
    need("mlflow", _MLFLOW)
    need("wandb", _WANDB)
    from mlflow import MlflowClient

    from vizcallbacks.apps.compare import Comparison, compare_runs
    from vizcallbacks.apps.trackers import Trackers

    monkeypatch.chdir(tmp_path)  # the runs' processes start here: their ./mlruns, their ./wandb
    for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "lr"
    compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}, examples=64, heldout_size=100, dataset="mnist",
                            data_dir=str(MNIST_DIR)),
                 out_dir=out, formats=("gif",), jobs=2, progress=False,
                 trackers=Trackers(mlflow=uri, wandb="vizcallbacks-tests"))
    client = MlflowClient(uri)
    runs = {run.info.run_name: run for run in client.search_runs(["0"])}
    assert sorted(runs) == ["lr", "lr0.1", "lr0.2"]
    parent = runs["lr"].info.run_id
    for name in ("lr0.1", "lr0.2"):
        child = runs[name]
        assert child.data.tags["mlflow.parentRunId"] == parent
        panels = _frames_by_step_of_panels(out / "runs" / name)
        images = _mlflow_images(client, child.info.run_id, tmp_path / "back" / name)
        assert sorted(images) == sorted(panels)
        assert all(np.array_equal(images[step], pixels) for step, pixels in panels.items())
        steps = [metric.step for metric in client.get_metric_history(child.info.run_id, "heldout_accuracy")]
        assert steps == sorted(panels)
    kept = {item.path for item in client.list_artifacts(parent)}
    assert {"movie.gif", "index.html", "summary.json", "summary.png"} <= kept
    wandb_runs = {}
    for run_dir in (tmp_path / "wandb").glob("offline-run-*"):
        (log,) = run_dir.glob("run-*.wandb")
        run = next(record.run for record in _wandb_records(log) if record.WhichOneof("record_type") == "run")
        wandb_runs[run.display_name] = run.run_group
    assert wandb_runs == {"lr0.1": "lr", "lr0.2": "lr"}


def _frames_by_step_of_panels(run_dir) -> dict[int, np.ndarray]:
    """step (examples seen, compare's alignment) -> the panel's pixels, from a compare run's folder."""
    records = [record for _, record in read_manifest(run_dir / MANIFEST_NAME)]
    return {record["examples_seen"]: read_png(run_dir / record["file"]) for record in records}
