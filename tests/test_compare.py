"""`compare_batch_sizes` and `vizcallbacks compare`: schedules and frame plans alone
(fast), then real runs on Fashion-MNIST read back (e2e): one frame per point, panels
that show their run's manifest, the same figures for the same seed and any --jobs."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from browser import browser, open_page, page_state, press  # noqa: F401 (browser: a fixture)
from conftest import FASHION_DIR, require
from needs import need
from vizcallbacks import compare_batch_sizes
from vizcallbacks.cli import main
from vizcallbacks.compare import frame_plan, heldout_indices, plan_schedule, training_order
from vizcallbacks.movie import inspect_movie

# Two runs that read 512 examples: 32 and 8 updates, a point every 128 examples.
SMALL = dict(batch_sizes=[16, 64], examples=512, every_examples=128, heldout_size=200,
             data_dir=FASHION_DIR, progress=False)
POINTS = [0, 128, 256, 384, 512]
# What a run computes; time_s is measured, so it is left out of comparisons.
FIGURES = ("point", "step", "examples_seen", "epoch", "heldout_accuracy", "heldout_loss",
           "train_accuracy", "train_loss", "final")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _figures(out_dir, name):
    return [{key: record[key] for key in FIGURES} for record in _lines(out_dir / "runs" / name / "frames.jsonl")]


def _gif_frames(path):
    with Image.open(path) as gif:
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
    return frames


# ---- the schedule, without training ----------------------------------------------------------

def test_default_points_are_exact_multiples_of_every_batch_size():
    schedule = plan_schedule([32, 128, 512], 30000)
    assert schedule.budget_examples == 29696 == 58 * 512  # rounded down to a multiple of 512
    assert schedule.every_examples == 512 and schedule.exact
    assert schedule.points[:3] == (0, 512, 1024) and schedule.points[-1] == 29696
    assert 30 <= len(schedule.points) <= 60
    assert [schedule.steps_for(size) for size in (32, 128, 512)] == [928, 232, 58]


def test_a_point_that_is_not_a_multiple_is_reached_at_the_first_step_past_it():
    schedule = plan_schedule([32, 128], 1024, every_examples=200)
    assert schedule.points == (0, 200, 400, 600, 800, 1000, 1024) and not schedule.exact


def test_steps_schedule_ends_each_run_at_its_own_last_update():
    schedule = plan_schedule([16, 64], 512, align="steps", every_steps=5)
    assert schedule.points == (0, 5, 10, 15, 20, 25, 30, 32)
    assert schedule.run_points(64) == (0, 5, 8)
    assert schedule.run_points(16) == schedule.points


def test_every_run_reads_the_same_examples_in_the_same_order():
    order = training_order(0, 100, 250)
    assert np.array_equal(order, training_order(0, 100, 250))
    assert sorted(order[:100]) == list(range(100)) and sorted(order[100:200]) == list(range(100))
    assert not np.array_equal(order[:100], order[100:200])  # a new shuffle each epoch
    assert np.array_equal(training_order(0, 100, 64), order[:64])  # a prefix, whatever the length
    held = heldout_indices(0, 10000, 1000)
    assert len(set(held)) == 1000 and np.array_equal(held, heldout_indices(0, 10000, 1000))


def _records(key, values):
    return [{key: value, "final": i == len(values) - 1} for i, value in enumerate(values)]


def test_frames_show_each_runs_last_capture_at_or_before_the_point():
    records = {"bs16": _records("step", [0, 2, 4, 6, 8]), "bs64": _records("step", [0, 2, 3])}
    plan = frame_plan(records, align="steps", points=[0, 2, 4, 6, 8])
    assert [shown for _, shown in plan] == [
        {"bs16": 0, "bs64": 0}, {"bs16": 1, "bs64": 1}, {"bs16": 2, "bs64": 2},
        {"bs16": 3, "bs64": 2}, {"bs16": 4, "bs64": 2}]  # bs64 ended at step 3: it holds


def test_time_frames_spread_over_the_longest_run():
    records = {"bs16": _records("time_s", [0.0, 0.0, 1.0, 2.0, 4.0]), "bs64": _records("time_s", [0.0, 1.5, 3.0])}
    plan = frame_plan(records, align="time", frame_count=5)
    assert [point for point, _ in plan] == [0.0, 1.0, 2.0, 3.0, 4.0]
    # At 0 s each run shows its initial state (the untimed first update ties at 0).
    assert [shown for _, shown in plan] == [
        {"bs16": 0, "bs64": 0}, {"bs16": 2, "bs64": 0}, {"bs16": 3, "bs64": 1},
        {"bs16": 3, "bs64": 2}, {"bs16": 4, "bs64": 2}]


# ---- bad arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("options, argument", [
    (dict(batch_sizes=[0, 32]), "batch_sizes"),
    (dict(batch_sizes=[32, -1]), "batch_sizes"),
    (dict(batch_sizes=[32, 64.0]), "batch_sizes"),
    (dict(batch_sizes=[32, True]), "batch_sizes"),
    (dict(batch_sizes="32,128"), "batch_sizes"),
    (dict(batch_sizes=[32]), "batch_sizes"),
    (dict(batch_sizes=[32, 32]), "batch_sizes"),
    (dict(examples=0), "examples"),
    (dict(examples=-100), "examples"),
    (dict(examples=1000.0), "examples"),
    (dict(examples="1000"), "examples"),
    (dict(examples=100), "examples"),  # below the largest batch size
    (dict(align="epochs"), "align"),
    (dict(every_examples=16), "every_examples"),
    (dict(align="steps", every_examples=512), "every_examples"),
    (dict(every_steps=3), "every_steps"),
    (dict(optimizer="newton"), "optimizer"),
    (dict(learning_rate=0), "learning_rate"),
    (dict(jobs=0), "jobs"),
    (dict(formats=["avi"]), "formats"),
    (dict(image_indices=[0, 10000]), "image_indices"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(tmp_path, options, argument):
    if "image_indices" in options:
        require(FASHION_DIR, "Fashion-MNIST")
    arguments = dict(batch_sizes=[32, 128], examples=1024, out_dir=tmp_path, data_dir=FASHION_DIR,
                     progress=False)
    with pytest.raises(ValueError, match=argument):
        compare_batch_sizes(**{**arguments, **options})
    assert not (tmp_path / "runs").exists()  # nothing started


@pytest.mark.parametrize("argv, message", [
    (["--batch-sizes", "0,32"], "--batch-sizes"),
    (["--batch-sizes", "32,x"], "--batch-sizes"),
    (["--batch-sizes", "32"], "batch_sizes"),
    (["--examples", "0"], "--examples"),
    (["--examples", "1e4"], "--examples"),
    (["--align", "epochs"], "--align"),
    (["--jobs", "0"], "--jobs"),
])
def test_cli_bad_arguments_end_with_status_2_and_one_line(tmp_path, capsys, argv, message):
    assert main(["compare", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


# ---- real runs ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path_factory.mktemp("serial")
    return compare_batch_sizes(**SMALL, out_dir=out / "compare", jobs=1, tensorboard_dir=out / "tensorboard")


@pytest.fixture(scope="module")
def parallel(tmp_path_factory):
    require(FASHION_DIR, "Fashion-MNIST")
    return compare_batch_sizes(**SMALL, out_dir=tmp_path_factory.mktemp("parallel"), jobs=2, formats=["gif"])


@pytest.mark.e2e
def test_one_movie_frame_per_alignment_point(serial):
    out = serial.out_dir
    assert list(serial.schedule.points) == POINTS and serial.frame_count == len(POINTS)
    frames = _lines(out / "frames.jsonl")
    assert [frame["point"] for frame in frames] == POINTS
    for frame in frames:  # every panel after exactly the same number of examples
        assert {run["examples_seen"] for run in frame["runs"].values()} == {frame["point"]}
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == [f"frame-{i:04d}.png" for i in range(5)]
    gif, mp4 = inspect_movie(out / "movie.gif"), inspect_movie(out / "movie.mp4")
    assert gif.frame_count == mp4.frame_count == len(POINTS)
    assert {m.path.name for m in serial.movies} == {"movie.gif", "movie.mp4"}
    assert [(r.name, r.steps, r.examples_seen) for r in serial.runs] == [("bs16", 32, 512), ("bs64", 8, 512)]


@pytest.mark.e2e
def test_each_panel_shows_its_runs_own_manifest(serial):
    out = serial.out_dir
    summary = json.loads((out / "summary.json").read_text())
    layout = summary["layout"]
    gif_frames = _gif_frames(out / "movie.gif")
    for frame, gif_frame in zip(_lines(out / "frames.jsonl"), gif_frames):
        png = np.asarray(Image.open(out / frame["file"]).convert("RGB"))
        assert np.array_equal(gif_frame, png)  # every frame is on the panels' palette
        for name, shown in frame["runs"].items():
            record = _lines(out / "runs" / name / "frames.jsonl")[shown["index"]]
            assert shown == {key: record[key] for key in shown}
            top, left, height, width = layout["panels"][name]
            panel = np.asarray(Image.open(out / "runs" / name / record["file"]).convert("RGB"))
            assert np.array_equal(png[top:top + height, left:left + width], panel[layout["panel_crop_top"]:])
    for name in ("bs16", "bs64"):
        assert summary["runs"][name]["records"] == _lines(out / "runs" / name / "frames.jsonl")


@pytest.mark.e2e
def test_each_run_is_in_tensorboard_at_the_examples_it_has_seen(serial):
    event_accumulator = need("tensorboard.backend.event_processing.event_accumulator", "pip install tensorboard")
    assert serial.tensorboard_dir == serial.out_dir.parent / "tensorboard"
    for run in serial.runs:
        logs = event_accumulator.EventAccumulator(str(serial.tensorboard_dir / run.name), size_guidance={
            event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0})
        logs.Reload()
        assert [event.step for event in logs.Images("panel")] == POINTS  # runs line up on examples seen
        for event, record in zip(logs.Images("panel"), run.records, strict=True):
            decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)).convert("RGB"))
            assert np.array_equal(decoded, np.asarray(Image.open(run.run_dir / record["file"]).convert("RGB")))
        assert [event.value for event in logs.Scalars("heldout_accuracy")] == pytest.approx(
            [record["heldout_accuracy"] for record in run.records], rel=1e-6)
        assert [event.step for event in logs.Scalars("train_loss")] == POINTS[1:]  # none before training


@pytest.mark.e2e
def test_the_page_plays_every_runs_panel_together(serial, browser):
    from selenium.webdriver.common.keys import Keys

    assert serial.page_path == serial.out_dir / "index.html"
    frames = _lines(serial.out_dir / "frames.jsonl")
    runs = {name: _lines(serial.out_dir / "runs" / name / "frames.jsonl") for name in ("bs16", "bs64")}
    state = open_page(browser, serial.page_path)
    assert len(state["loaded"]) == 2 and set(state["cursors"]) == {"cursor-heldout_loss", "cursor-heldout_accuracy"}
    for index, frame in enumerate(frames):
        state = press(browser, Keys.ARROW_RIGHT) if index else page_state(browser)
        assert state["index"] == state["scrubber"] == index
        assert state["srcs"] == [f"runs/{name}/{runs[name][frame['runs'][name]['index']]['file']}" for name in runs]
        assert len(set(state["cursors"].values())) == 1  # both charts' cursors at the same point
    assert state["cursors"]["cursor-heldout_loss"] > open_page(browser, serial.page_path)["cursors"]["cursor-heldout_loss"]


@pytest.mark.e2e
def test_runs_share_initial_weights_data_order_and_heldout_sample(serial):
    summary = json.loads((serial.out_dir / "summary.json").read_text())
    runs = list(summary["runs"].values())
    for key in ("initial_weights_sha1", "data_order_sha1", "heldout_sha1"):
        assert len({run[key] for run in runs}) == 1
    first = [_figures(serial.out_dir, name)[0] for name in summary["runs"]]
    assert first[0] == first[1]  # at 0 examples the runs are the same model
    for run in serial.runs:
        accuracies = [r["heldout_accuracy"] for r in run.records]
        assert all(0 <= a <= 1 for a in accuracies) and accuracies[-1] > accuracies[0]
        assert [r["step"] for r in run.records] == [p // run.batch_size for p in POINTS]


@pytest.mark.e2e
def test_jobs_2_gives_the_same_figures_and_panels_as_jobs_1(serial, parallel):
    for name in ("bs16", "bs64"):
        assert _figures(parallel.out_dir, name) == _figures(serial.out_dir, name)
        for record in _lines(serial.out_dir / "runs" / name / "frames.jsonl"):
            a = np.asarray(Image.open(serial.out_dir / "runs" / name / record["file"]))
            b = np.asarray(Image.open(parallel.out_dir / "runs" / name / record["file"]))
            assert np.array_equal(a, b)
    assert parallel.verdict == serial.verdict


@pytest.mark.e2e
def test_cli_same_seed_gives_the_same_figures_twice_and_prints_the_verdict(parallel, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["compare", "--batch-sizes", "64,16", "--examples", "512", "--every", "128", "--heldout", "200",
                 "--data-dir", str(FASHION_DIR), "--out", str(out), "--jobs", "2", "--format", "gif",
                 "--quiet", "--tensorboard", str(tmp_path / "tb")]) == 0
    for name in ("bs16", "bs64"):
        assert _figures(out, name) == _figures(parallel.out_dir, name)
    verdict = json.loads((out / "summary.json").read_text())["verdict"]
    small, large = (_lines(out / "runs" / name / "frames.jsonl")[-1]["heldout_accuracy"] for name in ("bs16", "bs64"))
    assert verdict["smaller_batch_ahead"] == (small > large)
    assert verdict["examples_seen"] == 512 and verdict["points_compared"] == 4
    printed = capsys.readouterr().out
    assert verdict["text"] in printed and f"{small:.3f}" in printed and f"{large:.3f}" in printed
    assert ("was ahead of" in printed) == verdict["smaller_batch_ahead"]
    assert f"wrote {out / 'index.html'}" in printed and f"tensorboard --logdir {tmp_path / 'tb'}" in printed
    assert sorted(path.name for path in (tmp_path / "tb").iterdir()) == ["bs16", "bs64"]
    assert main(["view", str(out)]) == 0 and capsys.readouterr().out.strip() == str(out / "index.html")
    assert inspect_movie(out / "movie.gif").frame_count == len(POINTS) and not (out / "movie.mp4").exists()
    # A second run into the same folder keeps the first unless told to overwrite.
    assert main(["compare", "--batch-sizes", "16,64", "--examples", "512", "--out", str(out), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.e2e
def test_align_by_steps_holds_the_run_that_has_ended(serial, tmp_path):
    result = compare_batch_sizes(**{**SMALL, "every_examples": None}, align="steps", every_steps=4,
                                 out_dir=tmp_path, jobs=2, formats=["gif"])
    steps = list(range(0, 32, 4)) + [32]
    assert list(result.schedule.points) == steps
    frames = _lines(tmp_path / "frames.jsonl")
    assert [frame["point"] for frame in frames] == steps
    assert inspect_movie(tmp_path / "movie.gif").frame_count == len(steps)
    assert [frame["runs"]["bs16"]["step"] for frame in frames] == steps
    assert [frame["runs"]["bs64"]["step"] for frame in frames] == [0, 4, 8, 8, 8, 8, 8, 8, 8]
    # The same seed, captured at other points: equal figures wherever both runs captured.
    by_examples = {r["examples_seen"]: r for r in _figures(serial.out_dir, "bs16")}
    compared = 0
    for record in _figures(tmp_path, "bs16"):
        if record["examples_seen"] in by_examples:
            expected = by_examples[record["examples_seen"]]
            keys = ("step", "heldout_accuracy", "heldout_loss", "train_accuracy", "train_loss")
            assert {k: record[k] for k in keys} == {k: expected[k] for k in keys}
            compared += 1
    assert compared == len(POINTS)
