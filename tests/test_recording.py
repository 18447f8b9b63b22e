"""Record once, draw any time: a real fit records its activations; they are read back as
data (`open_run`) and drawn again (`render_run`, the `render` command) without Keras."""

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vizcallbacks import FrameStyle, PlotConvCallback, open_run
from vizcallbacks.apps.render import render_run
from vizcallbacks.render import make_palette

REPO = Path(__file__).resolve().parents[1]
#: Imports that fail in a process meant to run without Keras or any backend.
_NO_BACKEND = ("import sys\nfor name in ('keras', 'tensorflow', 'jax', 'torch'):\n"
               "    sys.modules[name] = None\n")


def _fit(model, data, frames_dir, *, epochs=2, initial_epoch=0, **options):
    images, labels = data
    callback = PlotConvCallback(images[:3], labels=labels[:3], frames_dir=frames_dir, every_n_batches=3,
                                style=FrameStyle(class_names=list("abcde")), batch_size=16, **options)
    model.fit(images, labels, batch_size=16, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
              callbacks=[callback])
    return callback


def _frames(folder) -> list[np.ndarray]:
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(glob.glob(f"{folder}/*.png"))]


def _palette_levels(frame: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's index in the palette (frames are drawn from it alone)."""
    codes = palette.astype(np.int64) @ np.array([65536, 256, 1])
    lookup = dict(zip(codes.tolist(), range(len(palette))))
    pixels = frame.reshape(-1, 3).astype(np.int64) @ np.array([65536, 256, 1])
    return np.array([lookup[code] for code in pixels.tolist()])


@pytest.fixture
def recorded(tiny_cnn, tiny_data, tmp_path):
    frames_dir = tmp_path / "run"
    _fit(tiny_cnn, tiny_data, frames_dir)
    return frames_dir


def test_a_fit_records_every_frame_and_reads_back_as_data(recorded):
    run = open_run(recorded)
    manifest = [json.loads(line) for line in (recorded / "frames.jsonl").read_text().splitlines()]
    assert run.steps == [line["step"] for line in manifest]
    assert run.layers == ["conv", "pool", "flat", "out"]  # every drawable layer, in model order
    assert [figures["loss"] for figures in run.figures] == pytest.approx([line["loss"] for line in manifest])
    conv = run.activations("conv")
    assert conv.shape == (len(manifest), 3, 10, 10, 6) and conv.dtype == np.float32
    assert (conv >= 0).all() and conv.max() > 0  # ReLU outputs, kept
    assert np.allclose(run.output().sum(axis=-1), 1, atol=1e-3)  # the softmax, as the model gave it
    with pytest.raises(KeyError, match="conv, pool, flat, out"):
        run.activations("dense")


def test_a_redraw_with_the_runs_own_style_gives_trainings_frames_within_one_level(recorded, tmp_path):
    result = render_run(recorded, tmp_path / "again", formats=["gif"])
    original, again = _frames(recorded), _frames(tmp_path / "again" / "frames")
    assert result.frame_count == len(original) == len(again) > 3
    palette = make_palette("inferno")
    for before, after in zip(original, again):
        assert before.shape == after.shape
        levels = np.abs(_palette_levels(before, palette) - _palette_levels(after, palette))
        assert levels.max() <= 1  # "stable" colours replayed in order; the store keeps 256 levels a channel
    def manifest(folder):  # the same lines, but for times and where the frames are
        lines = [json.loads(line) for line in (folder / "frames.jsonl").read_text().splitlines()]
        return [{**{k: v for k, v in line.items() if k not in ("time_s", "wall_time")},
                 "file": Path(line["file"]).name} for line in lines]

    assert manifest(tmp_path / "again") == manifest(recorded)
    assert result.movies[0].frame_count == len(original)


def test_a_redraw_changes_colours_columns_inputs_and_size(recorded, tmp_path):
    original = _frames(recorded)[-1]
    viridis = render_run(recorded, tmp_path / "viridis", style_changes={"cmap": "viridis"}, formats=())
    assert viridis.style.cmap == "viridis" and _frames(tmp_path / "viridis" / "frames")[-1].shape == original.shape
    assert not np.array_equal(_frames(tmp_path / "viridis" / "frames")[-1], original)
    narrow = render_run(recorded, tmp_path / "narrow", style_changes={"layers": ["conv", "out"], "cell_px": 32},
                        images=[0, 2], formats=())
    frame = _frames(tmp_path / "narrow" / "frames")[-1]
    assert frame.shape[1] < original.shape[1] and frame.shape[0] < original.shape[0]
    with pytest.raises(ValueError, match="layers: 'dense' is not a recorded layer. Recorded: conv, pool"):
        render_run(recorded, tmp_path / "bad", style_changes={"layers": ["dense"]})
    with pytest.raises(ValueError, match="out_dir must be another folder"):
        render_run(recorded, recorded)
    with pytest.raises(FileExistsError):
        render_run(recorded, tmp_path / "viridis", formats=())


def test_the_render_command_runs_where_no_keras_backend_can_be_imported(recorded, tmp_path):
    script = _NO_BACKEND + textwrap.dedent(f"""
        from vizcallbacks.apps.cli import main
        status = main(["render", {str(recorded)!r}, "--out", {str(tmp_path / "cli")!r}, "--cmap", "viridis",
                       "--layers", "conv,out", "--format", "gif,mp4", "--tensorboard", {str(tmp_path / "tb")!r}])
        assert "keras" not in [m for m in sys.modules if sys.modules[m] is not None]
        sys.exit(status)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from vizcallbacks.movie import inspect_movie

    frames = len(open_run(recorded).steps)
    assert "frames redrawn" in done.stdout
    for name in ("movie.gif", "movie.mp4"):
        assert inspect_movie(tmp_path / "cli" / name).frame_count == frames
    from tensorboard.backend.event_processing import event_accumulator  # the same sinks as training's

    logs = event_accumulator.EventAccumulator(str(tmp_path / "tb"), size_guidance={event_accumulator.IMAGES: 0})
    logs.Reload()
    steps = [json.loads(line)["step"] for line in (recorded / "frames.jsonl").read_text().splitlines()]
    assert [event.step for event in logs.Images("activations")] == steps
    assert [event.step for event in logs.Scalars("loss")] == steps


def test_a_resumed_fit_appends_to_the_store(tiny_cnn, tiny_data, tmp_path):
    frames_dir = tmp_path / "run"
    _fit(tiny_cnn, tiny_data, frames_dir, epochs=1)
    first = open_run(frames_dir).steps
    _fit(tiny_cnn, tiny_data, frames_dir, epochs=2, initial_epoch=1)
    run = open_run(frames_dir)
    assert run.steps[:len(first)] == first and len(run.steps) > len(first)
    assert run.steps == sorted(set(run.steps))
    manifest = [json.loads(line)["step"] for line in (frames_dir / "frames.jsonl").read_text().splitlines()]
    assert run.steps == manifest


def test_record_false_keeps_no_store_and_a_fresh_run_refuses_a_store_it_would_replace(tiny_cnn, tiny_data,
                                                                                       tmp_path):
    _fit(tiny_cnn, tiny_data, tmp_path / "off", epochs=1, record=False)
    assert not (tmp_path / "off" / "store").exists()
    with pytest.raises(FileNotFoundError):
        open_run(tmp_path / "off")
    with pytest.raises(TypeError, match="record must be True"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "x", record="everything")


def test_a_fit_killed_at_any_moment_leaves_a_store_open_run_reads(tmp_path):
    frames_dir = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os, sys, keras, numpy as np
        sys.path.insert(0, {str(REPO / "tests")!r})
        from conftest import build_tiny_cnn
        from vizcallbacks import PlotConvCallback
        model = build_tiny_cnn(keras)
        rng = np.random.default_rng(0)
        x = rng.random((64, 12, 12, 1), dtype=np.float32); y = rng.integers(0, 5, 64)
        callback = PlotConvCallback(x[:3], labels=y[:3], frames_dir={str(frames_dir)!r}, every_n_batches=1)
        print("ready", flush=True)
        model.fit(x, y, batch_size=4, epochs=500, verbose=0, callbacks=[callback])
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout.readline().strip() == "ready"
    store = frames_dir / "store"
    deadline = 120
    import time

    started = time.monotonic()
    while len(glob.glob(f"{store}/step-*.npz")) < 12 and time.monotonic() - started < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    run = open_run(frames_dir)
    assert len(run.steps) >= 12
    conv = run.activations("conv")  # every frame whole: each one decodes
    assert conv.shape[:2] == (len(run.steps), 3) and np.isfinite(conv).all()


@pytest.mark.e2e
@pytest.mark.once
def test_compare_runs_and_lr_find_record_too_and_draw_again(tmp_path):
    from conftest import FASHION_DIR, require

    from vizcallbacks.apps.cli import main

    require(FASHION_DIR, "Fashion-MNIST")
    compare, lr_find = tmp_path / "compare", tmp_path / "lr"
    assert main(["compare", "--dataset", "fashion_mnist", "--batch-sizes", "16,64", "--examples", "512",
                 "--every", "128", "--heldout", "100", "--format", "gif", "--quiet", "--out", str(compare)]) == 0
    assert main(["lr-find", "--dataset", "fashion_mnist", "--batches", "12", "--format", "gif", "--quiet",
                 "--out", str(lr_find)]) == 0
    for run_dir in (compare / "runs" / "bs16", compare / "runs" / "bs64", lr_find):
        run = open_run(run_dir)
        manifest = [json.loads(line) for line in (run_dir / "frames.jsonl").read_text().splitlines()]
        # keyed by the record's step: updates, or for compare's runs the examples seen they are aligned by
        key = "step" if run_dir == lr_find else "examples_seen"
        assert run.steps == [line[key] for line in manifest] and len(run.steps) > 2
        assert run.layers[0].startswith("conv") and run.activations(run.layers[0]).shape[0] == len(run.steps)
    panels = render_run(compare / "runs" / "bs16", tmp_path / "bs16-viridis", style_changes={"cmap": "viridis"},
                        formats=["gif"])
    names = sorted(path.name for path in (tmp_path / "bs16-viridis" / "frames").glob("*.png"))
    assert names == sorted(path.name for path in (compare / "runs" / "bs16" / "panels").glob("*.png"))
    assert panels.movies[0].frame_count == len(names)


def test_a_store_that_cannot_be_written_stops_alone_and_the_frames_go_on(tiny_cnn, tiny_data, tmp_path,
                                                                         monkeypatch):
    import errno
    import warnings

    from vizcallbacks.record.store import StoreWriter

    append = StoreWriter.append
    written = []

    def fill_up(self, step, *args, **kwargs):  # the disk fills after two frames' activations
        if len(written) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(step)
        return append(self, step, *args, **kwargs)

    monkeypatch.setattr(StoreWriter, "append", fill_up)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        callback = _fit(tiny_cnn, tiny_data, tmp_path / "run")
    said = [str(w.message) for w in caught if type(w.message).__name__ == "FrameFaultWarning"]
    assert len(said) == 1 and "activation store" in said[0] and "No space left" in said[0], said
    manifest = (tmp_path / "run" / "frames.jsonl").read_text().splitlines()
    assert len(manifest) == len(list((tmp_path / "run").glob("*.png"))) > 4  # every frame drawn and kept
    assert open_run(tmp_path / "run").steps == written and len(callback.faults) == 1
