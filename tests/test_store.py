"""The activation store (`vizcallbacks.record`): written and read back within the precision
it states, resumed, killed with SIGKILL in mid-append, refused when a newer version wrote
it, read one layer at a time, and read with NumPy alone. One test measures a real frame of
the demo's default CNN against the 0.5 MB budget."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import vizcallbacks
from conftest import REPO
from vizcallbacks.record import FORMAT_VERSION, StoreWriter, open_run
from vizcallbacks.record.format import INDEX_NAME, META_NAME, frame_file_name

INPUTS = 3
_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def fake_frame(step: int) -> dict[str, np.ndarray]:
    """Layer outputs that depend on `step` only: a ReLU map, a signed sequence, a vector."""
    rng = np.random.default_rng(step)
    return {"conv": np.maximum(rng.normal(size=(INPUTS, 6, 6, 4)), 0).astype(np.float32) * (1 + step % 7),
            "seq": rng.normal(size=(INPUTS, 5, 3)).astype(np.float32) * 100,
            "dense": rng.normal(size=(INPUTS, 8)).astype(np.float32)}


def fake_output(step: int) -> np.ndarray:
    return np.random.default_rng(10_000 + step).dirichlet(np.ones(4), size=INPUTS).astype(np.float32)


def images() -> np.ndarray:
    return np.random.default_rng(99).random((INPUTS, 8, 8, 1), dtype=np.float32)


def write(run_dir, steps, **options) -> None:
    with StoreWriter(run_dir, images=images(), labels=[0, 2, 1], **options) as store:
        for step in steps:
            store.append(step, fake_frame(step), fake_output(step), figures={"step": step, "loss": 1 / (step + 1)})


def quantisation_bound(values: np.ndarray) -> np.ndarray:
    """uint8's promise: within 1/510 of the channel's range (per input over positions for
    maps and sequences, per unit over the inputs for vectors), plus float32 rounding."""
    axes = tuple(range(1, values.ndim - 1)) if values.ndim >= 3 else (0,)
    spread = values.max(axis=axes, keepdims=True) - values.min(axis=axes, keepdims=True)
    return spread / 510 + 1e-6 * (np.abs(values).max() + 1)


@pytest.mark.once
@pytest.mark.parametrize("precision", ["uint8", "float16", "float32"])
def test_round_trip_within_the_stated_precision(tmp_path, precision):
    write(tmp_path, [50, 100, 150], precision=precision, style={"cmap": "viridis", "cell_px": 24})
    run = vizcallbacks.open_run(tmp_path)
    assert run.steps == [50, 100, 150] and len(run) == 3 and run.precision == precision
    assert run.layers == ["conv", "seq", "dense"]
    assert run.shapes == {"conv": (6, 6, 4), "seq": (5, 3), "dense": (8,)}
    assert run.figures == [{"step": step, "loss": 1 / (step + 1)} for step in (50, 100, 150)]
    np.testing.assert_array_equal(run.images, images())
    assert run.labels.tolist() == [0, 2, 1] and run.style == {"cmap": "viridis", "cell_px": 24}
    for layer in run.layers:
        read = run.activations(layer)
        assert read.dtype == np.float32 and read.shape == (3, INPUTS, *run.shapes[layer])
        for row, step in enumerate(run.steps):
            exact = fake_frame(step)[layer]
            error = np.abs(read[row] - exact)
            if precision == "uint8":
                assert (error <= quantisation_bound(exact)).all(), layer
                assert (read[row][exact == 0] == 0).all()  # ReLU's zeros stay zeros
                np.testing.assert_allclose(read[row].max(), exact.max(), rtol=1e-6)
            elif precision == "float16":
                assert (error <= np.abs(exact) / 2048 + 1e-7).all(), layer
            else:
                np.testing.assert_array_equal(read[row], exact)
    np.testing.assert_array_equal(run.output(), np.stack([fake_output(step) for step in (50, 100, 150)]))
    frame = run.frame(-1)
    assert frame.step == 150 and list(frame.activations) == run.layers and frame.figures["step"] == 150
    np.testing.assert_array_equal(frame.activations["dense"], run.activations("dense")[-1])
    assert run.activations("conv", frames=[2, 0]).shape == (2, INPUTS, 6, 6, 4)
    np.testing.assert_array_equal(run.activations("conv", frames=slice(1, None)), run.activations("conv")[1:])


@pytest.mark.once
def test_what_uint8_cannot_hold_is_kept_exactly(tmp_path):
    """A diverged frame's NaN and infinities, and integer outputs, come back as they were."""
    diverged = np.array([[np.nan, 1.0], [np.inf, -2.0], [3.0, 4.0]], dtype=np.float32)
    tokens = np.arange(INPUTS * 5).reshape(INPUTS, 5)
    with StoreWriter(tmp_path) as store:
        store.append(0, {"dense": diverged, "ids": tokens, "big": np.full((INPUTS, 2), 1e6, np.float32)})
    with StoreWriter(tmp_path / "f16", precision="float16") as store:
        store.append(0, {"big": np.full((INPUTS, 2), 1e6, np.float32)})
    run = open_run(tmp_path)
    np.testing.assert_array_equal(run.activations("dense")[0], diverged)
    np.testing.assert_array_equal(run.activations("ids")[0], tokens)
    assert run.images is None and run.labels is None and run.style is None and run.figures == [{}]
    np.testing.assert_array_equal(open_run(tmp_path / "f16").activations("big"), 1e6)  # not float16's inf
    with pytest.raises(KeyError, match="recorded no model output"):
        run.output()


@pytest.mark.once
def test_the_drawing_options_come_back_as_a_frame_style(tmp_path):
    from vizcallbacks import FrameStyle

    style = FrameStyle(channels=(0, 3), cmap="viridis", cell_px=24, class_names=("a", "b"), vocabulary=["<pad>", "hi"])
    write(tmp_path, [1], style=style)
    assert FrameStyle.from_dict(open_run(tmp_path).style) == style


@pytest.mark.once
def test_open_run_finds_the_store_from_the_run_folder_or_itself(tmp_path):
    write(tmp_path / "frames", [1])
    assert open_run(tmp_path / "frames").steps == [1]
    assert open_run(tmp_path / "frames" / "store").steps == [1]
    assert open_run(str(tmp_path)).steps == [1]  # a train folder whose frames_dir is frames/
    write(tmp_path / "compare" / "runs" / "batch_32", [1])
    with pytest.raises(FileNotFoundError, match=r"comparison's runs.*batch_32"):
        open_run(tmp_path / "compare")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_run(tmp_path / "missing")


@pytest.mark.once
def test_resume_appends_and_overwrite_starts_afresh(tmp_path):
    write(tmp_path, [10, 20, 30])
    resumed = StoreWriter(tmp_path, images=images(), labels=[0, 2, 1])
    assert resumed.last_step == 30 and resumed.steps == [10, 20, 30]
    with pytest.raises(FileExistsError, match="holds step 30 already"):
        resumed.append(30, fake_frame(30), fake_output(30))
    resumed.append(40, fake_frame(40), fake_output(40), figures={"step": 40})
    resumed.close()
    run = open_run(tmp_path)
    assert run.steps == [10, 20, 30, 40] and run.figures[-1] == {"step": 40}
    np.testing.assert_array_equal(run.activations("dense")[0], open_run(tmp_path).activations("dense")[0])
    assert (tmp_path / "store" / INDEX_NAME).read_text().count("\n") == 4

    with StoreWriter(tmp_path, overwrite=True) as fresh:  # starts afresh; a step written again is replaced
        fresh.append(5, fake_frame(5), fake_output(5), figures={"take": 1})
        fresh.append(5, fake_frame(6), fake_output(6), figures={"take": 2})
    run = open_run(tmp_path)
    assert run.steps == [5] and run.figures == [{"take": 2}] and run.images is None
    np.testing.assert_array_equal(run.output()[0], fake_output(6))


@pytest.mark.once
def test_a_resumed_run_that_redraws_later_frames_discards_them(tmp_path):
    write(tmp_path, [10, 20, 30, 40])
    with StoreWriter(tmp_path) as store:
        assert store.discard_after(20) == [30, 40]
        store.append(30, fake_frame(31), fake_output(31), figures={"again": True})
    run = open_run(tmp_path)
    assert run.steps == [10, 20, 30] and run.figures[-1] == {"again": True}
    assert [json.loads(line)["step"] for line in (tmp_path / "store" / INDEX_NAME).read_text().splitlines()] \
        == [10, 20, 30]


@pytest.mark.once
def test_a_resumed_store_must_match(tmp_path):
    write(tmp_path, [10])
    with pytest.raises(ValueError, match=r"records the layers conv \(6, 6, 4\).*Received: conv"):
        StoreWriter(tmp_path).append(20, {"conv": fake_frame(20)["conv"]}, fake_output(20))
    with pytest.raises(ValueError, match="output.*Received: none"):
        StoreWriter(tmp_path).append(20, fake_frame(20))
    with pytest.raises(ValueError, match="images: .* other images"):
        StoreWriter(tmp_path, images=images() + 1).open()
    with pytest.raises(ValueError, match="keeps precision 'uint8'.*precision='float16'"):
        StoreWriter(tmp_path, precision="float16").open()
    assert open_run(tmp_path).steps == [10]


@pytest.mark.once
def test_a_torn_index_is_read_around_and_repaired(tmp_path):
    """A run killed after a frame's file and before (or during) its index line: the reader
    takes the figures from the file, the next writer rewrites the index."""
    write(tmp_path, [1, 2, 3])
    index = tmp_path / "store" / INDEX_NAME
    lines = index.read_text().splitlines(keepends=True)
    index.write_text(lines[0] + lines[1][:9])  # the second line torn, the third never written
    (tmp_path / "store" / f".{frame_file_name(4)}.partial").write_bytes(b"PK\x03\x04 half a frame")
    run = open_run(tmp_path)
    assert run.steps == [1, 2, 3] and [figures["step"] for figures in run.figures] == [1, 2, 3]
    StoreWriter(tmp_path).open().close()
    assert [json.loads(line)["step"] for line in index.read_text().splitlines()] == [1, 2, 3]
    assert not list((tmp_path / "store").glob(".*.partial"))


@pytest.mark.once
def test_a_store_of_a_newer_format_is_refused(tmp_path):
    write(tmp_path, [1])
    meta_path = tmp_path / "store" / META_NAME
    meta = json.loads(meta_path.read_text())
    meta.update(format_version=FORMAT_VERSION + 1, written_by="vizcallbacks 9.0")
    meta_path.write_text(json.dumps(meta))
    expected = (rf"store format version {FORMAT_VERSION + 1}, written by a newer vizcallbacks \(vizcallbacks 9.0\)"
                rf".*reads store format versions up to {FORMAT_VERSION}. Upgrade vizcallbacks")
    with pytest.raises(ValueError, match=expected):
        open_run(tmp_path)
    with pytest.raises(ValueError, match=expected):
        StoreWriter(tmp_path).append(2, fake_frame(2), fake_output(2))
    meta_path.write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="does not describe a vizcallbacks activation store"):
        open_run(tmp_path)


@pytest.mark.once
def test_one_layer_is_read_without_the_others(tmp_path, monkeypatch):
    write(tmp_path, [1, 2, 3, 4])
    run = open_run(tmp_path)
    opened = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened.append(name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    assert run.activations("seq").shape == (4, INPUTS, 5, 3)  # "seq" is the second layer: layer1
    assert sorted(set(opened)) == ["layer1.npy", "layer1.offset.npy", "layer1.scale.npy"]
    assert len(opened) == 3 * 4
    opened.clear()
    run.output(frames=[-1])
    assert opened == ["output.npy"]


@pytest.mark.once
def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of 'uint8', 'float16', 'float32'.*'int4'"):
        StoreWriter(tmp_path, precision="int4")
    with pytest.raises(TypeError, match="run_dir must be a path"):
        StoreWriter(3)
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        StoreWriter(tmp_path, overwrite="yes")
    with pytest.raises(TypeError, match="style must be a vizcallbacks.FrameStyle"):
        StoreWriter(tmp_path, style="viridis")
    with pytest.raises(ValueError, match="labels must have one entry per image: 3 images.*length 2"):
        StoreWriter(tmp_path, images=images(), labels=[1, 2])
    store = StoreWriter(tmp_path, images=images())
    with pytest.raises(ValueError, match="step must be an integer, 0 or more. Received: step=-1"):
        store.append(-1, fake_frame(0))
    with pytest.raises(ValueError, match="step must be an integer.*step='3'"):
        store.append("3", fake_frame(0))
    with pytest.raises(TypeError, match="activations must be a non-empty dict"):
        store.append(0, {})
    with pytest.raises(TypeError, match=r"activations\['conv'\] must be a numeric array"):
        store.append(0, {"conv": np.array(["a", "b", "c"])})
    with pytest.raises(ValueError, match=r"one entry per input shown \(3\).*'dense': 2"):
        store.append(0, {"dense": np.zeros((2, 4))})
    store.append(0, fake_frame(0))
    store.close()
    run = open_run(tmp_path)
    with pytest.raises(KeyError, match="layer 'conv9' was not recorded.*Recorded layers: conv, seq, dense"):
        run.activations("conv9")
    with pytest.raises(TypeError, match="frames must be None, a slice, or a sequence"):
        run.activations("conv", frames="all")
    with pytest.raises(IndexError, match=r"frames: frame positions must lie in -1..0 \(1 frames recorded\)"):
        run.activations("conv", frames=[1])
    with pytest.raises(TypeError, match="path must be a path"):
        open_run(None)


_APPEND_FOREVER = textwrap.dedent("""
    import sys
    from test_store import fake_frame, fake_output, images
    from vizcallbacks.record import StoreWriter

    store = StoreWriter(sys.argv[1], images=images(), labels=[0, 2, 1]).open()
    step = (store.last_step or 0) + 1
    while True:
        store.append(step, fake_frame(step), fake_output(step), figures={"step": step})
        step += 1
""")


def _frames_on_disk(run_dir) -> int:
    return len(list((run_dir / "store").glob("step-*.npz")))


@pytest.mark.once
@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL as on Linux")
def test_sigkill_while_appending_leaves_every_frame_whole(tmp_path):
    """A process appending frames in a loop is killed at an unplanned moment, three times,
    each run resuming the store the last one left: every frame is whole, its figures and
    values are those written, and each resumed run went on after the last whole frame."""
    script = tmp_path / "append_forever.py"
    script.write_text(_APPEND_FOREVER)
    env = {**_ENV, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    rng = np.random.default_rng(0)
    for attempt in range(3):
        before = _frames_on_disk(tmp_path)
        child = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env)
        try:
            deadline = time.monotonic() + 60
            while _frames_on_disk(tmp_path) < before + 5 and time.monotonic() < deadline:
                assert child.poll() is None, "the appending process died on its own"
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.05))  # somewhere in the middle of a frame, or between two
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        run = open_run(tmp_path)
        assert len(run) >= before + 5 and run.steps == list(range(1, len(run) + 1)), attempt
        assert [figures["step"] for figures in run.figures] == run.steps
        for layer in run.layers:
            read = run.activations(layer)
            for row, step in enumerate(run.steps):
                exact = fake_frame(step)[layer]
                assert (np.abs(read[row] - exact) <= quantisation_bound(exact)).all()
        np.testing.assert_array_equal(run.output(), np.stack([fake_output(step) for step in run.steps]))


_KILLED_AT_FRAME_4 = textwrap.dedent("""
    import os, pathlib, signal, sys
    from test_store import fake_frame, fake_output, images
    from vizcallbacks.record import StoreWriter

    where, real_write_bytes, real_replace = sys.argv[2], pathlib.Path.write_bytes, os.replace

    def write_half_then_die(self, data):  # in the middle of frame 4's temporary file
        if "0000000004" in self.name:
            real_write_bytes(self, data[:len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write_bytes(self, data)

    def replace_then_die(source, target):  # frame 4 in place, its index line not yet written
        real_replace(source, target)
        if "0000000004" in str(target):
            os.kill(os.getpid(), signal.SIGKILL)

    if where == "file":
        pathlib.Path.write_bytes = write_half_then_die
    else:
        os.replace = replace_then_die
    with StoreWriter(sys.argv[1], images=images()) as store:
        for step in range(1, 10):
            store.append(step, fake_frame(step), fake_output(step), figures={"step": step})
""")


@pytest.mark.once
@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL as on Linux")
@pytest.mark.parametrize("where, whole", [("file", [1, 2, 3]), ("index", [1, 2, 3, 4])])
def test_sigkill_at_the_worst_moments(tmp_path, where, whole):
    """Killed with half of frame 4's file written: frames 1-3 are read, the half file is
    never listed and the next writer removes it. Killed after frame 4's file is in place
    and before its index line: frame 4 is read, its figures from its own file."""
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_AT_FRAME_4)
    env = {**_ENV, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), where], env=env, timeout=120)
    assert result.returncode == -signal.SIGKILL
    store_dir = tmp_path / "run" / "store"
    assert len(list(store_dir.glob(".*.partial"))) == (where == "file")
    assert (store_dir / INDEX_NAME).read_text().count("\n") == 3
    run = open_run(tmp_path / "run")
    assert run.steps == whole and [figures["step"] for figures in run.figures] == whole
    np.testing.assert_allclose(run.activations("dense")[-1], fake_frame(whole[-1])["dense"], atol=0.05)
    with StoreWriter(tmp_path / "run") as store:  # resumed: after the last whole frame
        assert store.last_step == whole[-1]
        store.append(whole[-1] + 1, fake_frame(5), fake_output(5), figures={"step": whole[-1] + 1})
    assert open_run(tmp_path / "run").steps == whole + [whole[-1] + 1]
    assert not list(store_dir.glob(".*.partial"))


@pytest.mark.once
def test_the_reader_needs_neither_keras_nor_a_backend(tmp_path):
    """Written and read in a process where Keras, TensorFlow, JAX, PyTorch, matplotlib and
    Pillow cannot be imported: NumPy is all the store needs."""
    code = textwrap.dedent(f"""
        import sys
        for name in ("keras", "tensorflow", "jax", "torch", "matplotlib", "PIL"):
            sys.modules[name] = None
        import numpy as np
        import vizcallbacks
        from vizcallbacks.record import StoreWriter

        with StoreWriter({str(tmp_path)!r}, images=np.zeros((2, 4, 4, 1)), labels=[0, 1]) as store:
            store.append(7, {{"conv": np.ones((2, 3, 3, 5)), "dense": np.arange(8.0).reshape(2, 4)}},
                         np.full((2, 3), 1 / 3), figures={{"epoch": 1}})
        run = vizcallbacks.open_run({str(tmp_path)!r})
        assert run.steps == [7] and run.layers == ["conv", "dense"], run
        assert run.activations("conv").shape == (1, 2, 3, 3, 5)
        np.testing.assert_allclose(run.activations("dense")[0], np.arange(8.0).reshape(2, 4), atol=4 / 510)
        print("read", run.figures)
    """)
    result = subprocess.run([sys.executable, "-c", code], env=_ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "read [{'epoch': 1}]" in result.stdout


def test_a_frame_of_the_demo_cnn_fits_in_half_a_megabyte(tmp_path, keras):
    """The default CNN (every one of its seven layers recorded) on 7 random 28x28x1 images,
    at the default precision: a frame takes at most 0.5 MB, and reads back within it."""
    from vizcallbacks.demos.models import default_cnn

    model = default_cnn(seed=0)
    shown = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    outputs = dict(zip([layer.name for layer in model.layers], probe.predict(shown, verbose=0)))
    with StoreWriter(tmp_path, images=shown) as store:
        path = store.append(1, outputs, outputs["output"], figures={"epoch": 1})
    size = path.stat().st_size
    print(f"\nstore: {size} bytes for one frame of the default CNN, 7 random 28x28x1 images, uint8")
    assert size <= 500_000
    run = open_run(tmp_path)
    assert run.layers == ["conv1", "pool1", "conv2", "pool2", "flatten", "dense", "output"]
    for layer in run.layers:
        exact = np.asarray(outputs[layer], dtype=np.float32)
        assert (np.abs(run.activations(layer)[0] - exact) <= quantisation_bound(exact)).all(), layer
    np.testing.assert_allclose(run.output()[0], outputs["output"], rtol=1e-6)
