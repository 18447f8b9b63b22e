"""`compare_batch_sizes`, `compare_runs` and `vizcallbacks compare`: schedules, grids of
configurations, seeds, figures over seeds and frame plans alone (fast), then real runs on
Fashion-MNIST read back (e2e): one frame per point, panels that show their run's manifest,
the same figures for the same seed and any --jobs, seeds paired across configurations,
the spread over seeds in summary.json, learning rates scaled and other hyper-parameters
compared."""

import inspect
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import browser, open_page, page_state, press  # noqa: F401 (browser: a fixture)
from conftest import FASHION_DIR, require
from needs import need
from vizcallbacks import compare_batch_sizes, compare_runs
from vizcallbacks.apps.cli import main
from vizcallbacks.apps.compare import (BACKENDS, Comparison, DaskExecutor, Executor, check_seeds, frame_plan, heldout_indices, parse_vary,
                                  plan_configs, plan_schedule, training_order)
from vizcallbacks.apps.compare.backends import configured_backend, run_environment
from vizcallbacks.apps.compare.stats import Runs, make_verdict, point_stats
from vizcallbacks.movie import inspect_movie
from vizcallbacks.render.run_colours import run_colour, run_rgb

# Two runs that read 512 examples: 32 and 8 updates, a point every 128 examples.
SMALL = dict(batch_sizes=[16, 64], examples=512, every_examples=128, heldout_size=200,
             data_dir=FASHION_DIR, progress=False)
POINTS = [0, 128, 256, 384, 512]
# What a run computes; time_s is measured, so it is left out of comparisons.
FIGURES = ("point", "step", "examples_seen", "epoch", "heldout_accuracy", "heldout_loss",
           "train_accuracy", "train_loss", "final")


def _tensorboard_panels(log_dir):
    """(step, image bytes) of every panel, and (step, value) of every scalar, in a run's log."""
    event_accumulator = need("tensorboard.backend.event_processing.event_accumulator", "pip install tensorboard")
    logs = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0})
    logs.Reload()
    return ([(event.step, event.encoded_image_string) for event in logs.Images("panel")],
            {tag: [(event.step, event.value) for event in logs.Scalars(tag)] for tag in logs.Tags()["scalars"]})


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

@pytest.mark.once
def test_default_points_are_exact_multiples_of_every_batch_size():
    schedule = plan_schedule([32, 128, 512], 30000)
    assert schedule.budget_examples == 29696 == 58 * 512  # rounded down to a multiple of 512
    assert schedule.every_examples == 512 and schedule.exact
    assert schedule.points[:3] == (0, 512, 1024) and schedule.points[-1] == 29696
    assert 30 <= len(schedule.points) <= 60
    assert [schedule.steps_for(size) for size in (32, 128, 512)] == [928, 232, 58]


@pytest.mark.once
def test_a_point_that_is_not_a_multiple_is_reached_at_the_first_step_past_it():
    schedule = plan_schedule([32, 128], 1024, every_examples=200)
    assert schedule.points == (0, 200, 400, 600, 800, 1000, 1024) and not schedule.exact


@pytest.mark.once
def test_steps_schedule_ends_each_run_at_its_own_last_update():
    schedule = plan_schedule([16, 64], 512, align="steps", every_steps=5)
    assert schedule.points == (0, 5, 10, 15, 20, 25, 30, 32)
    assert schedule.run_points(64) == (0, 5, 8)
    assert schedule.run_points(16) == schedule.points


@pytest.mark.once
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


@pytest.mark.once
def test_frames_show_each_runs_last_capture_at_or_before_the_point():
    records = {"bs16": _records("step", [0, 2, 4, 6, 8]), "bs64": _records("step", [0, 2, 3])}
    plan = frame_plan(records, align="steps", points=[0, 2, 4, 6, 8])
    assert [shown for _, shown in plan] == [
        {"bs16": 0, "bs64": 0}, {"bs16": 1, "bs64": 1}, {"bs16": 2, "bs64": 2},
        {"bs16": 3, "bs64": 2}, {"bs16": 4, "bs64": 2}]  # bs64 ended at step 3: it holds


@pytest.mark.once
def test_time_frames_spread_over_the_longest_run():
    records = {"bs16": _records("time_s", [0.0, 0.0, 1.0, 2.0, 4.0]), "bs64": _records("time_s", [0.0, 1.5, 3.0])}
    plan = frame_plan(records, align="time", frame_count=5)
    assert [point for point, _ in plan] == [0.0, 1.0, 2.0, 3.0, 4.0]
    # At 0 s each run shows its initial state (the untimed first update ties at 0).
    assert [shown for _, shown in plan] == [
        {"bs16": 0, "bs64": 0}, {"bs16": 2, "bs64": 0}, {"bs16": 3, "bs64": 1},
        {"bs16": 3, "bs64": 2}, {"bs16": 4, "bs64": 2}]


# ---- configurations, seeds and figures over seeds, without training ----------------------------

@pytest.mark.once
def test_a_grid_names_and_orders_its_configurations():
    configs = plan_configs({"batch_size": [128, 32], "optimizer": ["sgd", "adam"]}, learning_rate=0.01)
    assert [c.name for c in configs] == ["bs32-sgd", "bs32-adam", "bs128-sgd", "bs128-adam"]
    assert [c.label for c in configs][:2] == ["batch 32 · sgd", "batch 32 · adam"]
    assert {c.learning_rate for c in configs} == {0.01}
    by_lr = plan_configs({"learning_rate": [0.2, 0.01, 0.05]}, batch_size=64, optimizer="Adam")
    assert [(c.name, c.label, c.batch_size, c.optimizer) for c in by_lr] == [
        ("lr0.01", "lr 0.01", 64, "adam"), ("lr0.05", "lr 0.05", 64, "adam"), ("lr0.2", "lr 0.2", 64, "adam")]


@pytest.mark.once
def test_linear_scaling_multiplies_the_learning_rate_by_the_batch_over_the_reference():
    configs = plan_configs({"batch_size": [32, 128, 512]}, learning_rate=0.05, scale_lr="linear")
    assert [(c.name, c.learning_rate) for c in configs] == [("bs32", 0.05), ("bs128", 0.2), ("bs512", 0.8)]
    assert configs[-1].label == "batch 512 · lr 0.8"
    against_128 = plan_configs({"batch_size": [32, 512]}, learning_rate=0.1, scale_lr="linear", reference_batch=128)
    assert [c.learning_rate for c in against_128] == [0.025, 0.4]
    grid = plan_configs({"batch_size": [32, 64], "learning_rate": [0.01, 0.1]}, scale_lr="linear")
    assert [round(c.learning_rate, 6) for c in grid] == [0.01, 0.1, 0.02, 0.2]


@pytest.mark.once
def test_seeds_are_a_count_from_the_first_seed_or_a_list():
    assert check_seeds(None, seed=7) == (7,)
    assert check_seeds(3) == (0, 1, 2) and check_seeds(2, seed=5) == (5, 6)
    assert check_seeds([4, 0, 9]) == (4, 0, 9)
    assert parse_vary("learning_rate=0.01, 0.2") == ("learning_rate", (0.01, 0.2))
    assert parse_vary("batch-size=16,64") == ("batch_size", (16, 64))
    assert parse_vary("optimizer=SGD,adam") == ("optimizer", ("sgd", "adam"))


@pytest.mark.once
@pytest.mark.parametrize("call, argument", [
    (lambda: plan_configs({"momentum": [0.9, 0.99]}), "vary"),
    (lambda: plan_configs({}), "vary"),
    (lambda: plan_configs({"learning_rate": [0.1]}), "at least two configurations"),
    (lambda: plan_configs({"learning_rate": [0.1, 0.1]}), "learning_rate"),
    (lambda: plan_configs({"learning_rate": [0.1, -1]}), "learning_rate"),
    (lambda: plan_configs({"learning_rate": "0.1,0.2"}), "learning_rate"),
    (lambda: plan_configs({"optimizer": ["sgd", "newton"]}), "optimizer"),
    (lambda: plan_configs({"batch_size": [32, 0]}), "batch_size"),
    (lambda: plan_configs({"batch_size": [32, 64]}, scale_lr="square"), "scale_lr"),
    (lambda: plan_configs({"batch_size": [32, 64]}, reference_batch=32), "reference_batch"),
    (lambda: plan_configs({"batch_size": [32, 64]}, scale_lr="linear", reference_batch=0), "reference_batch"),
    (lambda: check_seeds(0), "seeds"),
    (lambda: check_seeds([1, 1]), "seeds"),
    (lambda: check_seeds([1, 2.5]), "seeds"),
    (lambda: check_seeds(2, seed=1.5), "seed"),
    (lambda: parse_vary("learning_rate"), "NAME=V1,V2"),
    (lambda: parse_vary("learning_rate=fast"), "number"),
    (lambda: parse_vary("batch_size=1.5"), "integer"),
])
def test_bad_configurations_and_seeds_raise_value_error_naming_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def _run_records(accuracies, step_every=2):
    return [{"heldout_accuracy": a, "heldout_loss": None if a is None else 1 - a, "examples_seen": i * 64,
             "step": i * step_every, "point": i * 64, "time_s": float(i), "final": i == len(accuracies) - 1}
            for i, a in enumerate(accuracies)]


def _two_configs_three_seeds():
    """bs16 is ahead of bs64 in seeds 0 and 1 at every point after the first; in seed 2 it
    falls behind at the end; one run of bs64 diverged at its last point (null)."""
    accuracies = {("bs16", 0): [0.1, 0.5, 0.7], ("bs16", 1): [0.1, 0.4, 0.6], ("bs16", 2): [0.2, 0.45, 0.5],
                  ("bs64", 0): [0.1, 0.3, 0.5], ("bs64", 1): [0.1, 0.2, None], ("bs64", 2): [0.2, 0.3, 0.55]}
    names = {key: f"{key[0]}-seed{key[1]}" for key in accuracies}
    records = {names[key]: _run_records(values) for key, values in accuracies.items()}
    return Runs(configs=("bs16", "bs64"), labels={"bs16": "batch 16", "bs64": "batch 64"}, seeds=(0, 1, 2),
                names=names, records=records, align="examples", batch_sizes_only=True)


@pytest.mark.once
def test_figures_over_seeds_give_mean_spread_and_how_many_seeds_kept_the_order():
    runs = _two_configs_three_seeds()
    plan = frame_plan(runs.records, align="examples", points=[0, 64, 128])
    points = point_stats(runs, plan)
    assert [p["point"] for p in points] == [0, 64, 128]
    at_end = points[-1]
    assert at_end["heldout_accuracy"]["bs16"] == {"mean": 0.6, "min": 0.5, "max": 0.7,
                                                   "std": round(np.std([0.7, 0.6, 0.5]), 6), "seeds": 3}
    assert at_end["heldout_accuracy"]["bs64"]["seeds"] == 2  # the diverged run is left out of the mean
    assert at_end["heldout_accuracy"]["bs64"]["mean"] == pytest.approx(0.525)
    assert at_end["order"] == ["bs16", "bs64"]
    assert at_end["ahead"] == {"bs16>bs64": 2} and at_end["seeds_in_order"] == 2  # seed 2: bs64 ahead
    assert points[1]["ahead"] == {"bs16>bs64": 3} and points[1]["seeds_in_order"] == 3
    assert points[0]["ahead"] == {"bs16>bs64": 0} and points[0]["seeds_in_order"] == 0  # equal: no order
    verdict = make_verdict(runs, plan)
    assert verdict.smaller_batch_ahead and verdict.first_ahead and verdict.seeds == 3
    assert (verdict.seeds_ahead, verdict.seeds_ahead_everywhere) == (2, 2)
    assert (verdict.points_ahead, verdict.points_compared) == (2, 2)
    assert verdict.accuracy_ranges == {"bs16": [0.5, 0.7], "bs64": [0.5, 0.55]}
    assert "over 3 seeds" in verdict.text and "in 2 of 3 seeds" in verdict.text


@pytest.mark.once
def test_the_verdict_of_one_seed_reads_as_before():
    runs = _two_configs_three_seeds()
    one = Runs(configs=runs.configs, labels=runs.labels, seeds=(0,), names=runs.names, records=runs.records,
               align="examples", batch_sizes_only=True)
    verdict = make_verdict(one, frame_plan({n: runs.records[n] for n in ("bs16-seed0", "bs64-seed0")},
                                           align="examples", points=[0, 64, 128]))
    assert verdict.text == ("At 128 examples seen, held-out accuracy: batch 16 0.700 (4 updates), batch 64 0.500 "
                            "(4 updates). The smaller batch (16) was ahead of the larger (64); ahead at 2 of 2 "
                            "points of equal examples seen.")
    other = Runs(configs=runs.configs, labels={"bs16": "lr 0.01", "bs64": "lr 0.1"}, seeds=(0,), names=runs.names,
                 records=runs.records, align="examples", batch_sizes_only=False)
    verdict = make_verdict(other, frame_plan({n: runs.records[n] for n in ("bs16-seed0", "bs64-seed0")},
                                             align="examples", points=[0, 64, 128]))
    assert verdict.smaller_batch_ahead is None and verdict.first_ahead
    assert "The first (lr 0.01) was ahead of the last (lr 0.1)" in verdict.text
    assert verdict.text.endswith("Best at the end: lr 0.01 (0.700).")


@pytest.mark.once
def test_each_backend_is_set_up_before_import_and_says_what_holds(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    one = run_environment("jax", 1)
    assert one["KERAS_BACKEND"] == "jax"
    assert one["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", "--xla_gpu_deterministic_ops=true",
                                        "--xla_cpu_multi_thread_eigen=false"]
    # XLA has no flag for another thread count: with more than one, its pool follows the
    # machine's CPUs, and the backend says so.
    assert "--xla_cpu_multi_thread_eigen=false" not in run_environment("jax", 2)["XLA_FLAGS"]
    assert "machine" in BACKENDS["jax"].determinism
    assert run_environment("torch", 3)["OMP_NUM_THREADS"] == "3"
    assert run_environment("tensorflow", 1)["KERAS_BACKEND"] == "tensorflow"
    for backend in BACKENDS:
        assert "whatever jobs is" in BACKENDS[backend].determinism
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    monkeypatch.delitem(__import__("sys").modules, "keras", raising=False)
    with pytest.raises(ValueError, match="theano"):
        configured_backend()


# ---- bad arguments ----------------------------------------------------------------------------

@pytest.mark.once
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


@pytest.mark.once
@pytest.mark.parametrize("options, argument", [
    (dict(vary={"learning_rate": [0.1]}), "at least two configurations"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, seeds=0), "seeds"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, batch_size=0), "batch_size"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, executor="ray"), "executor"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, executor="dask"), "scheduler"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, scheduler="tcp://127.0.0.1:1"), "scheduler"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, threads_per_run=0), "threads_per_run"),
    (dict(vary={"optimizer": ["sgd", "adam"]}, examples=16), "examples"),  # below the batch size, 32
    (dict(vary={"learning_rate": [0.1, 0.2]}, seed=-1), r"seed must be an integer in 0\.\.4294967295"),
    (dict(vary={"learning_rate": [0.1, 0.2]}, seeds=[0, -5]), r"seeds must be .* in 0\.\.2\*\*32 - 1"),
    (dict(vary={"learning_rate": [0.1, 0.1000001]}), r"too close to tell apart.*lr0\.1"),
])
def test_compare_runs_checks_everything_before_a_run_starts(tmp_path, options, argument):
    fields = {name: value for name, value in options.items() if name not in ("executor", "scheduler")}
    rest = {name: value for name, value in options.items() if name not in fields}
    with pytest.raises(ValueError, match=argument), warnings.catch_warnings():
        # The new spelling warns of nothing; scheduler= is the old spelling of DaskExecutor(scheduler).
        warnings.simplefilter("ignore" if "scheduler" in rest else "error", DeprecationWarning)
        compare_runs(Comparison(**{"data_dir": FASHION_DIR, **fields}), out_dir=tmp_path, progress=False, **rest)
    assert not (tmp_path / "runs").exists()


@pytest.mark.once
def test_the_old_keywords_work_for_one_release_and_name_the_new_spelling(tmp_path):
    with pytest.warns(DeprecationWarning, match=r"write compare_runs\(Comparison\(vary=\.\.\., threads_per_run=\.\.\."), \
            pytest.raises(ValueError, match="threads_per_run"):
        compare_runs(vary={"learning_rate": [0.1, 0.2]}, threads_per_run=0, out_dir=tmp_path)
    with pytest.warns(DeprecationWarning, match=r"style=COMPARE_STYLE\.replace\(cmap=\.\.\.\)"), \
            pytest.raises(ValueError, match="cmap"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}), cmap="no-such-map", out_dir=tmp_path)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['colour'\]"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}), colour="red")
    with pytest.raises(TypeError, match="not both"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}), seeds=2)
    assert not (tmp_path / "runs").exists()


@pytest.mark.once
def test_entry_points_take_at_most_twelve_arguments_and_the_comparison_is_one_checked_value():
    assert len(inspect.signature(compare_runs).parameters) <= 12
    comparison = Comparison(vary={"batch_size": [64, 16]}, seeds=2, examples=512, every_examples=128)
    assert [c.name for c in comparison.configs] == ["bs16", "bs64"] and comparison.seed_list == (0, 1)
    assert list(comparison.schedule.points) == POINTS
    assert comparison.replace(seeds=None).seed_list == (0,)
    with pytest.raises(ValueError, match="examples"):
        comparison.replace(examples=0)
    with pytest.raises(TypeError, match="no field colour"):
        comparison.replace(colour="red")
    with pytest.raises(Exception):
        comparison.examples = 10  # immutable


@pytest.mark.once
@pytest.mark.parametrize("argv, message", [
    (["--batch-sizes", "0,32"], "--batch-sizes"),
    (["--batch-sizes", "32,x"], "--batch-sizes"),
    (["--batch-sizes", "32"], "batch_sizes"),
    (["--examples", "0"], "--examples"),
    (["--examples", "1e4"], "--examples"),
    (["--align", "epochs"], "--align"),
    (["--jobs", "0"], "--jobs"),
    (["--vary", "momentum=0.9,0.99"], "--vary"),
    (["--vary", "learning_rate=fast"], "--vary"),
    (["--vary", "learning_rate=0.1"], "at least two configurations"),
    (["--vary", "optimizer=sgd,adam", "--vary", "optimizer=sgd"], "given twice"),
    (["--batch-sizes", "16,32", "--vary", "batch_size=16,64"], "--batch-sizes"),
    (["--seeds", "0"], "--seeds"),
    (["--seeds", "1,1"], "--seeds"),
    (["--scale-lr", "square"], "--scale-lr"),
    (["--reference-batch", "64"], "reference_batch"),
    (["--executor", "ray"], "--executor"),
    (["--executor", "dask"], "scheduler"),
    (["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
    (["--seed", "-1"], "--seed"),
])
def test_cli_bad_arguments_end_with_status_2_and_one_line(tmp_path, capsys, argv, message):
    assert main(["compare", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


@pytest.mark.once
def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


@pytest.mark.once
def test_overwrite_puts_the_earlier_comparison_back_when_the_new_one_fails(tmp_path):
    class Unreachable(Executor):
        def run(self, specs, *, progress):
            (Path(specs[0].run_dir) / "half.png").parent.mkdir(parents=True, exist_ok=True)
            (Path(specs[0].run_dir) / "half.png").write_bytes(b"a run that got this far")
            raise ConnectionError("the cluster went away")

        def describe(self):
            return {"executor": "unreachable"}

    earlier = {"runs/bs32/run.json": b"{}", "frames/frame-0000.png": b"png", "frames.jsonl": b"{}\n",
               "summary.json": b"{}", "movie.gif": b"GIF89a", "movie.mp4": b"mp4", "notes.txt": b"mine"}
    for name, data in earlier.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with pytest.raises(ConnectionError, match="went away"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}, examples=64, data_dir=FASHION_DIR),
                     out_dir=tmp_path, executor=Unreachable(), overwrite=True, progress=False)
    now = {str(path.relative_to(tmp_path)): path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert now == earlier  # every earlier file back, nothing of the failed one, no hidden folder left


# A comparison with overwrite, killed (SIGKILL) once it has set the earlier comparison aside and its
# runs have begun: it never gets to put it back. It runs in a session of its own.
_KILLED_COMPARISON = """
import sys, time
from pathlib import Path
from vizcallbacks.apps.compare import Comparison, Executor, compare_runs

class Hang(Executor):
    def run(self, specs, *, progress):
        Path(specs[0].run_dir).mkdir(parents=True)
        (Path(specs[0].run_dir) / "half.png").write_bytes(b"a run that got this far")
        Path(sys.argv[2]).write_text("running")
        time.sleep(600)

    def describe(self):
        return {"executor": "hang"}

compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}, examples=64, data_dir=sys.argv[3]),
             out_dir=sys.argv[1], executor=Hang(), overwrite=True, progress=False)
"""
_EARLIER_COMPARISON = {"runs/bs32/run.json": b"{}", "frames/frame-0000.png": b"png", "frames.jsonl": b"{}\n",
                       "summary.json": b"{}", "movie.gif": b"GIF89a", "notes.txt": b"mine"}


def _files(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _kill_while_replacing(tmp_path) -> Path:
    """A folder that held `_EARLIER_COMPARISON`, after a comparison replacing it was killed."""
    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path / "out"
    for name, data in _EARLIER_COMPARISON.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", _KILLED_COMPARISON, str(out), str(ready), str(FASHION_DIR)],
                               start_new_session=True, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), process.stderr.read().decode() if process.poll() is not None else "no run began"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
        process.wait()
    assert process.returncode == -signal.SIGKILL
    return out


@pytest.mark.once
def test_a_comparison_killed_while_replacing_another_is_undone_by_the_next_one(tmp_path):
    out = _kill_while_replacing(tmp_path)
    aside = list(out.glob(".earlier-comparison-*"))
    assert len(aside) == 1 and (out / "runs" / "lr0.1" / "half.png").exists()  # what the kill left
    with pytest.warns(UserWarning, match=f"was waiting in '{aside[0]}' and is put back"), \
            pytest.raises(FileExistsError, match="already holds a comparison"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}, examples=64, data_dir=FASHION_DIR),
                     out_dir=out, progress=False)
    assert _files(out) == _EARLIER_COMPARISON  # every earlier file back, nothing of the killed one, no hidden folder


@pytest.mark.once
def test_a_killed_comparison_that_had_finished_leaves_the_earlier_one_named_where_it_is(tmp_path):
    out = _kill_while_replacing(tmp_path)
    (out / "summary.json").write_text('{"finished": true}')  # killed after its summary, before the clean-up
    aside = list(out.glob(".earlier-comparison-*"))[0]
    with pytest.warns(UserWarning, match=f"still in '{aside}'.*delete that folder"), \
            pytest.raises(FileExistsError, match="already holds a comparison"):
        compare_runs(Comparison(vary={"learning_rate": [0.1, 0.2]}, examples=64, data_dir=FASHION_DIR),
                     out_dir=out, progress=False)
    assert _files(aside) == {name: data for name, data in _EARLIER_COMPARISON.items() if name != "notes.txt"}
    assert json.loads((out / "summary.json").read_text()) == {"finished": True}


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


@pytest.mark.once
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


@pytest.mark.once
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


@pytest.mark.once
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


@pytest.mark.once
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


@pytest.mark.once
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
def test_each_run_reports_the_backend_settings_it_ran_with(serial, parallel):
    # What the run's own process read back from its backend, after setting it up before import.
    expected = {"tensorflow": {"intra_op_threads": 1, "inter_op_threads": 1, "op_determinism": True},
                "torch": {"threads": 1, "interop_threads": 1, "deterministic_algorithms": True}}
    for result in (serial, parallel):
        summary = json.loads(result.summary_path.read_text())
        assert summary["determinism"] == BACKENDS[summary["backend"]].determinism
        for run in summary["runs"].values():
            assert run["backend"] == summary["backend"] == configured_backend()
            settings = run["backend_settings"]
            if run["backend"] == "jax":
                assert "--xla_cpu_multi_thread_eigen=false" in settings["XLA_FLAGS"].split()
            else:
                assert settings == expected[run["backend"]]


@pytest.mark.once
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


@pytest.mark.once
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


# ---- seeds, scaled learning rates and other hyper-parameters, for real ------------------------

@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """SMALL over two seeds with the learning rate scaled with the batch: bs16 at 0.05 as
    in `serial`, bs64 at 0.2."""
    require(FASHION_DIR, "Fashion-MNIST")
    return compare_batch_sizes(**SMALL, out_dir=tmp_path_factory.mktemp("seeded"), seeds=2, scale_lr="linear",
                               jobs=2, formats=["gif"])


@pytest.mark.once
@pytest.mark.e2e
def test_seeds_repeat_every_configuration_with_paired_weights_and_order(seeded, serial):
    out = seeded.out_dir
    assert [(r.name, r.config, r.seed, r.learning_rate) for r in seeded.runs] == [
        ("bs16-seed0", "bs16", 0, 0.05), ("bs16-seed1", "bs16", 1, 0.05),
        ("bs64-seed0", "bs64", 0, 0.2), ("bs64-seed1", "bs64", 1, 0.2)]
    summary = json.loads((out / "summary.json").read_text())
    runs = summary["runs"]
    for seed in (0, 1):  # the runs of a seed start alike and read alike
        pair = [runs[f"bs16-seed{seed}"], runs[f"bs64-seed{seed}"]]
        assert pair[0]["initial_weights_sha1"] == pair[1]["initial_weights_sha1"]
        assert pair[0]["data_order_sha1"] == pair[1]["data_order_sha1"]
    assert runs["bs16-seed0"]["initial_weights_sha1"] != runs["bs16-seed1"]["initial_weights_sha1"]
    assert runs["bs16-seed0"]["data_order_sha1"] != runs["bs16-seed1"]["data_order_sha1"]
    assert len({run["heldout_sha1"] for run in runs.values()}) == 1
    # Seed 0 at lr 0.05 is the single-seed run again, to the last figure and pixel.
    assert _figures(out, "bs16-seed0") == _figures(serial.out_dir, "bs16")
    assert _figures(out, "bs64-seed0") != _figures(serial.out_dir, "bs64")  # lr 0.2, not 0.05
    assert summary["scale_lr"] == "linear" and summary["reference_batch"] == 16 and summary["seeds"] == [0, 1]
    assert [c["learning_rate"] for c in summary["configurations"]] == [0.05, 0.2]


@pytest.mark.once
@pytest.mark.e2e
def test_summary_gives_mean_spread_and_order_per_point_over_seeds(seeded):
    out = seeded.out_dir
    summary = json.loads((out / "summary.json").read_text())
    points = summary["points"]
    assert [p["point"] for p in points] == POINTS
    for index, point in enumerate(points):
        for config in ("bs16", "bs64"):
            values = [_lines(out / "runs" / f"{config}-seed{s}" / "frames.jsonl")[index]["heldout_accuracy"]
                      for s in (0, 1)]
            figure = point["heldout_accuracy"][config]
            assert figure["mean"] == pytest.approx(np.mean(values), abs=1e-6)
            assert (figure["min"], figure["max"], figure["seeds"]) == (pytest.approx(min(values)),
                                                                       pytest.approx(max(values)), 2)
        ahead = [_lines(out / "runs" / f"bs16-seed{s}" / "frames.jsonl")[index]["heldout_accuracy"]
                 > _lines(out / "runs" / f"bs64-seed{s}" / "frames.jsonl")[index]["heldout_accuracy"] for s in (0, 1)]
        assert point["ahead"] == {"bs16>bs64": sum(ahead)}
    verdict = summary["verdict"]
    assert verdict["seeds"] == 2
    assert verdict["accuracies"]["bs16"] == pytest.approx(points[-1]["heldout_accuracy"]["bs16"]["mean"], abs=1e-6)
    assert "over 2 seeds" in verdict["text"]
    with Image.open(out / "summary.png") as png:
        assert png.size == (2100, 480)  # four plots: the fourth, seeds in which the order held


@pytest.mark.once
@pytest.mark.e2e
def test_the_movie_shows_the_first_seeds_panels_and_every_seeds_spread(seeded):
    out = seeded.out_dir
    layout = json.loads((out / "summary.json").read_text())["layout"]
    assert set(layout["panels"]) == {"bs16-seed0", "bs64-seed0"}
    frames = _lines(out / "frames.jsonl")
    gif_frames = _gif_frames(out / "movie.gif")
    assert len(frames) == len(gif_frames) == len(POINTS)
    for frame, gif_frame in zip(frames, gif_frames):
        png = np.asarray(Image.open(out / frame["file"]).convert("RGB"))
        assert np.array_equal(gif_frame, png)  # bands and all, still on the palette
        assert set(frame["runs"]) == set(frame["seeds"]) == {"bs16-seed0", "bs64-seed0"}
        for name, shown in frame["runs"].items():
            top, left, height, width = layout["panels"][name]
            panel = np.asarray(Image.open(out / "runs" / name / shown["file"]).convert("RGB"))
            assert np.array_equal(png[top:top + height, left:left + width], panel[layout["panel_crop_top"]:])


@pytest.mark.once
@pytest.mark.e2e
def test_the_page_shows_what_the_movie_shows_over_seeds_the_mean_and_the_band(seeded, browser):
    out = seeded.out_dir
    points = json.loads((out / "summary.json").read_text())["points"]
    open_page(browser, seeded.page_path)
    drawn = browser.execute_script("""
        const chart = document.getElementById('chart-heldout_accuracy');
        const values = [...chart.parentNode.querySelectorAll('h2 .value span')].map(s => s.textContent);
        return {bands: [...chart.querySelectorAll('path.band')].map(p => p.getAttribute('fill')),
                means: [...chart.querySelectorAll('path.curve.mean')].map(p => p.getAttribute('stroke')),
                values: values};""")
    colours = [run_colour(0), run_colour(1)]
    assert drawn["bands"] == drawn["means"] == colours  # each configuration's band and mean, in its colour
    first = points[0]["heldout_accuracy"]
    assert drawn["values"] == [f"{first[config]['mean']:.4f}" for config in ("bs16", "bs64")]


@pytest.mark.once
@pytest.mark.e2e
def test_each_configuration_has_one_colour_in_the_movie_the_summary_and_the_page(serial):
    out = serial.out_dir
    summary = json.loads((out / "summary.json").read_text())
    frame = np.asarray(Image.open(out / _lines(out / "frames.jsonl")[-1]["file"]).convert("RGB"))
    for position, name in enumerate(("bs16", "bs64")):
        top, left = summary["layout"]["panels"][name][:2]
        swatch = frame[top - 40 + 4:top - 40 + 15, left + 1:left + 15].reshape(-1, 3)  # beside the panel's title
        assert {tuple(pixel) for pixel in swatch} == {run_rgb(position)}
    with Image.open(out / "summary.png") as png:
        pixels = {tuple(pixel) for pixel in np.asarray(png.convert("RGB")).reshape(-1, 3)}
    assert {run_rgb(0), run_rgb(1)} <= pixels  # the curves, in the same colours
    page = (out / "index.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S)[1])
    assert [(run["name"], run["colour"]) for run in data["runs"]] == [("bs16", run_colour(0)), ("bs64", run_colour(1))]


@pytest.mark.once
@pytest.mark.e2e
def test_cli_compares_optimizers_at_one_batch_size(tmp_path, capsys):
    require(FASHION_DIR, "Fashion-MNIST")
    out = tmp_path / "optimizers"
    assert main(["compare", "--vary", "optimizer=sgd,adam", "--batch-sizes", "16", "--learning-rate", "0.01",
                 "--examples", "256", "--every", "128", "--heldout", "100", "--data-dir", str(FASHION_DIR),
                 "--out", str(out), "--jobs", "2", "--format", "gif", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [c["name"] for c in summary["configurations"]] == ["sgd", "adam"]
    assert {(r["optimizer"], r["batch_size"], r["learning_rate"]) for r in summary["runs"].values()} == {
        ("sgd", 16, 0.01), ("adam", 16, 0.01)}
    assert summary["vary"] == {"optimizer": ["sgd", "adam"]} and summary["batch_sizes"] == [16]
    runs = summary["runs"]
    assert runs["sgd"]["initial_weights_sha1"] == runs["adam"]["initial_weights_sha1"]
    assert _figures(out, "sgd")[0] == _figures(out, "adam")[0]  # the same model before the first update
    assert _figures(out, "sgd")[-1] != _figures(out, "adam")[-1]
    printed = capsys.readouterr().out
    assert "The first (sgd) was" in printed and "Best at the end:" in printed
    assert inspect_movie(out / "movie.gif").frame_count == 3


# ---- on a Dask cluster -----------------------------------------------------------------------

@pytest.mark.once
@pytest.mark.e2e
def test_runs_on_a_dask_cluster_give_the_same_records_panels_and_movie_as_local_runs(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    # Two worker processes, as two machines would be; the runs' files come back through Dask.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = compare_batch_sizes(**SMALL, out_dir=out, executor=DaskExecutor(cluster.scheduler_address),
                                     tensorboard_dir=tmp_path / "tb")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["executor"] == "dask" and summary["scheduler"] == cluster.scheduler_address
    for name in ("bs16", "bs64"):
        assert _figures(out, name) == _figures(serial.out_dir, name)
        local = _lines(serial.out_dir / "runs" / name / "frames.jsonl")
        assert [r["file"] for r in _lines(out / "runs" / name / "frames.jsonl")] == [r["file"] for r in local]
        for record in local:  # the same panel, byte for byte
            assert (out / "runs" / name / record["file"]).read_bytes() == \
                (serial.out_dir / "runs" / name / record["file"]).read_bytes()
        assert json.loads((out / "runs" / name / "run.json").read_text())["initial_weights_sha1"] == \
            summary["runs"][name]["initial_weights_sha1"]
    assert result.verdict == serial.verdict
    for ours, theirs in zip(_gif_frames(out / "movie.gif"), _gif_frames(serial.out_dir / "movie.gif")):
        assert np.array_equal(ours, theirs)
    assert not list(out.rglob(".*partial*"))
    # TensorBoard's logs are written here, from the panels that came back, as a local run writes them.
    for run in result.runs:
        assert _tensorboard_panels(tmp_path / "tb" / run.name) == _tensorboard_panels(serial.tensorboard_dir / run.name)
