"""The command line, in-process (fast) and as a subprocess (as users run it)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import FASHION_DIR, require
from needs import need
from vizcallbacks.apps.cli import main
from vizcallbacks.movie import inspect_movie


def _frames(folder, count=6, size=(40, 60)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f"plot-01-{i:04d}.png")
    return folder


@pytest.mark.parametrize("command", ["train", "stitch", "view"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_stitch_in_process_writes_a_movie_with_a_progress_bar(tmp_path, capsys):
    frames = _frames(tmp_path / "frames")
    assert main(["stitch", str(frames), str(tmp_path / "out.mp4"), "--fps", "5"]) == 0
    movie = inspect_movie(tmp_path / "out.mp4")
    assert movie.frame_count == 6 and movie.fps == pytest.approx(5) and movie.size == (60, 40)
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "6 frames" in captured.out
    assert "frame/s" in captured.err or "s/frame" in captured.err  # tqdm: frames and their rate


@pytest.mark.parametrize("argv, message", [
    (["stitch", "{tmp}/missing", "{tmp}/o.gif"], "missing"),
    (["stitch", "{tmp}/frames", "{tmp}/o.avi"], ".avi"),
    (["stitch", "{tmp}/frames", "{tmp}/o.gif", "--fps", "0"], "--fps"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--every", "0"], "--every"),
    (["train", "--format", "gif,avi"], "avi"),
    (["view", "{tmp}/missing"], "does not exist"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_ends_with_status_2_and_one_line(tmp_path, capsys, argv, message):
    _frames(tmp_path / "frames")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_stitch_as_a_subprocess(tmp_path):
    frames = _frames(tmp_path / "frames", count=4)
    done = subprocess.run([sys.executable, "-m", "vizcallbacks", "stitch", str(frames), str(tmp_path / "o.gif"),
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert inspect_movie(tmp_path / "o.gif").frame_count == 4
    bad = subprocess.run([sys.executable, "-m", "vizcallbacks", "stitch", str(tmp_path / "nope"),
                          str(tmp_path / "o2.gif")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


@pytest.mark.e2e
def test_train_in_process_on_fashion_mnist(tmp_path, capsys):
    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path / "run"
    assert main(["train", "--max-steps", "25", "--every", "10", "--out", str(out), "--quiet",
                 "--images", "0,1,2", "--fps", "4", "--tensorboard", str(tmp_path / "tb")]) == 0
    records = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert [r["batch"] for r in records] == [0, 10, 20, 24]
    gif, mp4 = inspect_movie(out / "movie.gif"), inspect_movie(out / "movie.mp4")
    assert gif.frame_count == mp4.frame_count == 4
    printed = capsys.readouterr().out
    assert "wrote" in printed
    # The page that plays the run, and the frames at the global step in TensorBoard.
    assert f"wrote {out / 'index.html'}" in printed and f"tensorboard --logdir {tmp_path / 'tb'}" in printed
    assert all(f'"file":"{record["file"]}"' in (out / "index.html").read_text() for record in records)
    event_accumulator = need("tensorboard.backend.event_processing.event_accumulator", "pip install tensorboard")
    logs = event_accumulator.EventAccumulator(str(tmp_path / "tb"), size_guidance={event_accumulator.IMAGES: 0})
    logs.Reload()
    assert [event.step for event in logs.Images("activations")] == [r["step"] for r in records]


@pytest.mark.e2e
def test_train_as_a_subprocess(tmp_path):
    require(FASHION_DIR, "Fashion-MNIST")
    done = subprocess.run([sys.executable, "-m", "vizcallbacks", "train",
                           "--max-steps", "12", "--every", "5", "--out", str(tmp_path), "--quiet",
                           "--format", "mp4"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert inspect_movie(tmp_path / "movie.mp4").frame_count == 4  # batches 0, 5, 10, 11
    assert not (tmp_path / "movie.gif").exists()


def test_the_drawing_flags_make_one_frame_style():
    import argparse

    from vizcallbacks import FrameStyle
    from vizcallbacks.apps.cli.arguments import style_from_flags

    assert style_from_flags(argparse.Namespace(channels=[1, 5], images=[0])) == FrameStyle(channels=(1, 5))
    assert style_from_flags(argparse.Namespace(channels=None)) == FrameStyle()
    flags = argparse.Namespace(layers=["conv1"], channel=2, cell_px=40)
    assert style_from_flags(flags, channels_per_image=1) == FrameStyle(
        layers=("conv1",), channels=(2,), cell_px=40, channels_per_image=1)
    with pytest.raises(ValueError, match="cell_px must be an integer in 8..512. Received: cell_px=4"):
        style_from_flags(argparse.Namespace(cell_px=4))


def test_an_unexpected_failure_is_one_line_and_its_traceback_is_there_with_debug(tmp_path, monkeypatch, capsys):
    from vizcallbacks.apps.cli import stitch as stitch_command

    def broken(args):
        raise RuntimeError("ffmpeg went away\nwith a second line")

    monkeypatch.setattr(stitch_command, "run", broken)
    frames = _frames(tmp_path / "frames")
    assert main(["stitch", str(frames), str(tmp_path / "o.gif")]) == 1
    assert capsys.readouterr().err == ("vizcallbacks: error: RuntimeError: ffmpeg went away with a second line "
                                       "(the traceback: --debug or VIZCALLBACKS_DEBUG=1)\n")
    with pytest.raises(RuntimeError, match="ffmpeg went away"):
        main(["stitch", str(frames), str(tmp_path / "o.gif"), "--debug"])
    monkeypatch.setenv("VIZCALLBACKS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="ffmpeg went away"):
        main(["stitch", str(frames), str(tmp_path / "o.gif")])
