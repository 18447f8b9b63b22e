"""Keras's three backends: nothing needs TensorFlow where it is not the backend, and a real
fit makes the same frames under JAX and PyTorch as under TensorFlow.

Each check runs in fresh processes: the backend is read when Keras is first imported, and
"no TensorFlow" is a process whose `import tensorflow` fails, as on a machine without it
(a `sitecustomize` that refuses the module: this test's machine has it installed).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import MNIST_DIR, REPO, require
from vizcallbacks import PlotConvCallback
from vizcallbacks.framefiles import FRAMES_DIR, MANIFEST_NAME, read_manifest, read_png
from vizcallbacks.movie import inspect_movie

TIMEOUT_S = 300

NO_TENSORFLOW = '''
import importlib.abc
import sys


class NoTensorFlow(importlib.abc.MetaPathFinder):
    """`import tensorflow` fails, as where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoTensorFlow())
'''


def _run(args, tmp_path, *, backend, block_tensorflow=False, **kwargs):
    """Runs `python args...` in the repository under `backend` and returns its stdout;
    fails with its output when it fails."""
    paths = [str(REPO)]
    if block_tensorflow:
        site = tmp_path / "no-tensorflow"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(NO_TENSORFLOW)
        paths.insert(0, str(site))
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=os.pathsep.join(paths),
               TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S, **kwargs)
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


def _last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def real_frames(tiny_cnn, tiny_data, tmp_path):
    """A folder of frames and manifest made by the callback in a real (tiny) fit."""
    frames_dir = tmp_path / "made" / FRAMES_DIR
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=frames_dir, every_n_batches=2)
    tiny_cnn.fit(*tiny_data, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    records = [record for _, record in read_manifest(frames_dir / MANIFEST_NAME)]
    assert len(records) == 3  # 5 batches: 0, 2 and 4, the last
    return frames_dir, records


@pytest.mark.backend("jax")
def test_package_datasets_and_stitch_need_no_tensorflow(real_frames, tmp_path):
    require(MNIST_DIR, "MNIST")
    frames_dir, records = real_frames
    code = f"""
import json, sys
import vizcallbacks
from vizcallbacks import load_dataset, stitch
try:
    import tensorflow
except ModuleNotFoundError:
    pass
else:
    sys.exit("tensorflow was importable: the test proves nothing")
(x_train, y_train), (x_test, y_test), names = load_dataset("mnist", data_dir={str(MNIST_DIR)!r}, download=False)
movie = stitch({str(frames_dir)!r}, {str(tmp_path / "library.gif")!r}, fps=5)
print(json.dumps({{"train": list(x_train.shape), "test": list(x_test.shape), "labels": int(y_train.max()) + 1,
                  "frames": movie.frame_count, "tensorflow": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}}))
"""
    found = _last_json(_run(["-c", code], tmp_path, backend="jax", block_tensorflow=True))
    assert found == {"train": [60000, 28, 28], "test": [10000, 28, 28], "labels": 10,
                     "frames": len(records), "tensorflow": False}
    assert inspect_movie(tmp_path / "library.gif").frame_count == len(records)

    _run(["-m", "vizcallbacks", "stitch", str(frames_dir / MANIFEST_NAME), str(tmp_path / "cli.mp4"), "--fps", "5"],
         tmp_path, backend="jax", block_tensorflow=True)
    movie = inspect_movie(tmp_path / "cli.mp4")
    first = read_png(frames_dir / records[0]["file"])
    assert movie.frame_count == len(records)
    assert movie.size == (first.shape[1] + first.shape[1] % 2, first.shape[0] + first.shape[0] % 2)


@pytest.mark.backend("jax")
def test_a_jax_fit_with_the_callback_needs_no_tensorflow(tmp_path):
    require(MNIST_DIR, "MNIST")
    out = tmp_path / "run"
    code = f"""
import json, sys
import keras
from vizcallbacks import FrameStyle, PlotConvCallback, load_dataset, plot_conv
from vizcallbacks.demos.models import default_cnn

assert keras.backend.backend() == "jax"
(x_train, y_train), (x_test, y_test), names = load_dataset("mnist", data_dir={str(MNIST_DIR)!r})
x_train, x_test = x_train[:640, ..., None] / 255.0, x_test[..., None] / 255.0
model = default_cnn(seed=0)
callback = PlotConvCallback(x_test[:3], labels=y_test[:3], style=FrameStyle(class_names=names),
                            frames_dir={str(out / FRAMES_DIR)!r}, every_n_batches=3, batch_size=64,
                            movie_path={str(out / "movie.gif")!r})
with callback:
    model.fit(x_train, y_train[:640], batch_size=64, epochs=1, verbose=0, callbacks=[callback])
frame = plot_conv(model, x_test[:2])
print(json.dumps({{"plot_conv": list(frame.shape),
                  "tensorflow": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}}))
"""
    found = _last_json(_run(["-c", code], tmp_path, backend="jax", block_tensorflow=True))
    assert found["tensorflow"] is False and len(found["plot_conv"]) == 3
    records = [record for _, record in read_manifest(out / FRAMES_DIR / MANIFEST_NAME)]
    assert [r["batch"] for r in records] == [0, 3, 6, 9]  # 10 batches: every 3, then the last
    sizes = {read_png(out / FRAMES_DIR / r["file"]).shape for r in records}
    assert len(sizes) == 1
    assert inspect_movie(out / "movie.gif").frame_count == len(records)


def _train(backend, out, tmp_path):
    """`vizcallbacks train` on real MNIST under `backend`: 60 batches of 64, a frame every
    10. Returns the manifest's records and the frames' shapes."""
    _run(["-m", "vizcallbacks", "train", "--dataset", "mnist", "--data-dir", str(MNIST_DIR),
          "--max-steps", "60", "--every", "10", "--batch-size", "64", "--format", "gif",
          "--out", str(out), "--quiet"], tmp_path, backend=backend)
    records = [record for _, record in read_manifest(out / MANIFEST_NAME)]
    shapes = [read_png(out / record["file"]).shape for record in records]
    assert inspect_movie(out / "movie.gif").frame_count == len(records)
    return records, shapes


@pytest.mark.e2e
@pytest.mark.parametrize("backend", [
    pytest.param("jax", marks=pytest.mark.backend("jax")),
    pytest.param("torch", marks=pytest.mark.backend("torch")),
])
def test_a_real_fit_makes_the_frames_it_makes_under_tensorflow(backend, tmp_path):
    require(MNIST_DIR, "MNIST")
    runs = {name: _train(name, tmp_path / name, tmp_path) for name in ("tensorflow", backend)}
    (reference, reference_shapes), (records, shapes) = runs["tensorflow"], runs[backend]
    assert [(r["epoch"], r["batch"]) for r in records] == [(r["epoch"], r["batch"]) for r in reference]
    assert [r["batch"] for r in records] == [0, 10, 20, 30, 40, 50, 59]
    assert shapes == reference_shapes and len(set(shapes)) == 1
    for run in (reference, records):  # learning, as the stamps say
        accuracy = [r["accuracy"] for r in run]
        assert accuracy[0] < 0.4 and accuracy[-1] > 0.6, accuracy
        assert np.all(np.diff(accuracy[1:]) > 0), accuracy


@pytest.mark.e2e
@pytest.mark.once
def test_the_backend_benchmark_prints_its_table(tmp_path, capsys, monkeypatch):
    """scripts/benchmark_backends.py --quick, in this process's backend: the table and its
    figures are there (the timings of a quick run mean nothing)."""
    require(MNIST_DIR, "MNIST")
    spec = importlib.util.spec_from_file_location("benchmark_backends", REPO / "scripts" / "benchmark_backends.py")
    benchmark = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, benchmark)  # its dataclasses look it up
    spec.loader.exec_module(benchmark)
    markdown = tmp_path / "table.md"
    assert benchmark.main(["--quick", "--data", str(MNIST_DIR), "--markdown", str(markdown)]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == markdown.read_text().strip()
    rows = {line.split("|")[1].strip(): line for line in printed.splitlines() if line.startswith("| ")}
    assert "plain fit (60 batches)" in rows
    for every, frames in ((10, 7), (50, 3)):  # 60 batches: 0, 10, ..., 50 and 59; 0, 50 and 59
        cells = [cell.strip() for cell in rows[f"frame every {every}"].split("|")[1:-1]]
        assert cells[4] == str(frames) and cells[5].endswith(("ms", "ms (target < 1 ms)")), cells
    import keras

    assert f"- backend: {keras.backend.backend()}" in printed


def test_a_missing_backend_is_named_with_the_extra_that_installs_it(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="tensorflow",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    (tmp_path / "sitecustomize.py").write_text(NO_TENSORFLOW)
    done = subprocess.run([sys.executable, "-m", "vizcallbacks", "train", "--max-steps", "2",
                           "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "vizcallbacks: error: Keras's backend 'tensorflow' is not installed (KERAS_BACKEND=tensorflow). "
        "Install it with pip install 'vizcallbacks[tensorflow]', or set KERAS_BACKEND to one that is "
        "installed (tensorflow, jax, torch)."]
    assert not (tmp_path / "out").exists()
