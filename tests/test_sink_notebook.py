"""NotebookSink: a real notebook, executed by a real Jupyter kernel, trains a tiny model
with a live view; the display messages the kernel sent are counted as they arrive, and
the executed notebook's output is read back."""

import base64
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from needs import need
from vizcallbacks import PlotConvCallback
from vizcallbacks.sinks.notebook import NotebookSink, in_notebook

REPO = Path(__file__).resolve().parents[1]
KERNEL_NAME = "vizcallbacks-test"
NOTEBOOK_INSTALL = "pip install nbclient nbformat ipykernel"

# The cell: the network and data of tests/conftest.py, a frame every batch (far more than
# 4 a second), shown live by the callback (sinks=[NotebookSink()], fed from the pipeline's
# background thread).
CELL = """\
import json, sys, time
import numpy as np
import keras
import vizcallbacks
from vizcallbacks import PlotConvCallback
from vizcallbacks.sinks import NotebookSink

keras.utils.set_random_seed(1)
rng = np.random.default_rng(0)
labels = rng.integers(0, 5, size={examples})
images = rng.random(({examples}, 12, 12, 1), dtype=np.float32) * 0.3
for i, label in enumerate(labels):
    images[i, 2 * label:2 * label + 3, 2:10, 0] += 0.7
layers = keras.layers
model = keras.Sequential([
    keras.Input((12, 12, 1)),
    layers.Conv2D(6, 3, activation="relu", name="conv"),
    layers.MaxPooling2D(name="pool"),
    layers.Flatten(name="flat"),
    layers.Dense(5, activation="softmax", name="out"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

viz = PlotConvCallback(images[:2], labels=labels[:2], frames_dir={frames_dir!r},
                       every_n_batches=1, sinks=[NotebookSink()])
started = time.monotonic()
model.fit(images, labels, batch_size=8, epochs={epochs}, verbose=0, callbacks=[viz], shuffle=False)
print(json.dumps({{"python": sys.executable, "vizcallbacks": vizcallbacks.__file__,
                  "seconds": time.monotonic() - started}}))
"""


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec that runs this very Python (the venv's), with the worktree first on
    its path. The `python3` spec that ipykernel installs runs whichever `python` is on
    PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vizcallbacks tests", "language": "python",
        "env": {"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL_NAME


def _execute(notebook, *, kernel_name, cwd):
    """Run `notebook`; return it executed and the display messages of each kind that the
    kernel addressed to its cells."""
    nbclient = need("nbclient", NOTEBOOK_INSTALL)
    need("ipykernel", NOTEBOOK_INSTALL)

    class CountingClient(nbclient.NotebookClient):
        def process_message(self, msg, cell, cell_index):
            # Counted before the client folds an update into the output it updates.
            kind = msg["msg_type"]
            if kind in ("display_data", "update_display_data"):
                received[kind] = received.get(kind, 0) + 1
            return super().process_message(msg, cell, cell_index)

    received = {}
    client = CountingClient(notebook, kernel_name=kernel_name, timeout=120, startup_timeout=60,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook, received


def _decode_png(encoded: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"))


@pytest.mark.once
def test_live_view_in_a_real_notebook(kernel_name, tmp_path):
    nbformat = need("nbformat", NOTEBOOK_INSTALL)
    frames_dir = tmp_path / "frames"
    rate = 4  # the live view's most updates a second
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        CELL.format(examples=200, epochs=4, frames_dir=str(frames_dir)))]

    notebook, received = _execute(notebook, kernel_name=kernel_name, cwd=tmp_path)

    outputs = notebook.cells[0].outputs
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, "\n".join(errors[0].traceback)
    report = json.loads(next(output.text for output in outputs
                             if output.output_type == "stream" and output.name == "stdout"))
    assert report["python"] == sys.executable
    assert Path(report["vizcallbacks"]).is_relative_to(REPO)  # the worktree's, not an installed copy
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 1 and images[0].output_type == "display_data"  # one output, updated in place

    manifest = [json.loads(line) for line in (frames_dir / "frames.jsonl").read_text().splitlines()]
    frames = len(manifest)
    assert frames == 100  # 25 batches x 4 epochs, a frame each
    updates = received.get("update_display_data", 0)
    assert received.get("display_data") == 1
    assert 3 <= updates < frames
    # At most `rate` a second, plus the first frame and the last one that finish shows.
    assert updates <= report["seconds"] * rate + 2
    last = np.asarray(Image.open(frames_dir / manifest[-1]["file"]).convert("RGB"))
    assert np.array_equal(_decode_png(images[0].data["image/png"]), last)


@pytest.mark.once
def test_outside_a_notebook_it_warns_once_and_shows_nothing():
    need("IPython", NOTEBOOK_INSTALL)  # imported, yet no kernel: still not a notebook

    assert not in_notebook()
    sink = NotebookSink()
    frame = np.zeros((8, 8, 3), np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sink.open()
        for _ in range(5):
            sink.send(frame, None)
        sink.finish()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "no Jupyter kernel" in message and "notebook cell" in message
    assert sink.frames_shown == 0


def test_callback_live_outside_a_notebook_trains_and_says_so_once(tiny_cnn, tiny_data, tmp_path):
    need("IPython", NOTEBOOK_INSTALL)
    images, labels = tiny_data
    callback = PlotConvCallback(images[:2], labels=labels[:2], frames_dir=tmp_path, every_n_batches=4,
                                sinks=[NotebookSink()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(2):  # two fits, as a notebook's cell run twice would
            tiny_cnn.fit(images, labels, batch_size=16, epochs=epoch + 1, initial_epoch=epoch, verbose=0,
                         callbacks=[callback])
    said = [str(warning.message) for warning in caught if "no Jupyter kernel" in str(warning.message)]
    assert len(said) == 1 and said[0].startswith("NotebookSink: no Jupyter kernel")
    assert len((tmp_path / "frames.jsonl").read_text().splitlines()) == 2 * 2  # batches 0 and 4 (the last) of each


@pytest.mark.once
@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), True, "4"])
def test_max_updates_per_s_is_checked(rate):
    with pytest.raises(ValueError, match=r"max_updates_per_s must be a positive, finite number of updates per second. Received: max_updates_per_s="):
        NotebookSink(max_updates_per_s=rate)
