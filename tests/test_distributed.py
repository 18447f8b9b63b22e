"""Distributed training with the real callback: each frame drawn and written once, with
the content one device gives, and in a multi-worker fit only the chief writes.

Every scenario runs in fresh processes (scripts in tests/distributed/), because the
backend and the devices must be set before the framework starts: two logical CPUs for
TensorFlow's MirroredStrategy, two host devices (XLA_FLAGS) for JAX's DataParallel, and
two real local processes talking over 127.0.0.1 for the multi-worker fits. The scripts
check what needs the framework (activations against a one-device model holding the same
weights) and write a report; the tests here read the files back.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from vizcallbacks.framefiles import MANIFEST_NAME, read_manifest, read_png
from vizcallbacks.movie import inspect_movie

pytestmark = pytest.mark.distributed

SCRIPTS = Path(__file__).parent / "distributed"
# A scenario takes 15-50 s on two shared cores; past this its processes are killed.
TIMEOUT_S = 180
# 2 epochs of 8 batches, a frame every 3: batches 0, 3, 6 of each epoch, then the last one.
EXPECTED = [(1, 0), (1, 3), (1, 6), (2, 0), (2, 3), (2, 6), (2, 7)]


def _environment(**settings):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **settings)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.pop("XLA_FLAGS", None)
    return env


def _free_port():
    # Bound and released: another process could take it first (rare); _run retries once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(script, names_and_envs, out):
    processes = {}
    for name, env in names_and_envs:
        log = open(out / f"{name}.log", "w")
        processes[name] = (subprocess.Popen(
            [sys.executable, str(SCRIPTS / script), "--out", str(out)], env=env, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True), log)
    return processes


def _wait(processes):
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while any(process.poll() is None for process, _ in processes.values()):
            if time.monotonic() > deadline:
                return f"still running after {TIMEOUT_S} s: killed"
            time.sleep(0.2)
        return ""
    finally:
        for process, log in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
                process.wait()
            log.close()


def _run(script, make_envs, tmp_path):
    """Runs `script` in one process per (name, environment) of `make_envs()` and waits;
    on failure, fails with every process's log. Returns the output folder."""
    for attempt in (1, 2):
        out = tmp_path / f"attempt-{attempt}"
        out.mkdir()
        processes = _start(script, make_envs(), out)
        trouble = _wait(processes)
        codes = {name: process.returncode for name, (process, _) in processes.items()}
        if not trouble and all(code == 0 for code in codes.values()):
            return out
        logs = {name: (out / f"{name}.log").read_text() for name in processes}
        if attempt == 1 and any("already in use" in text.lower() for text in logs.values()):
            continue  # the free port was taken in the meantime
        tails = "\n".join(f"--- {name} (exit status {codes[name]})\n{text[-4000:]}" for name, text in logs.items())
        pytest.fail(f"{script}: {trouble or 'a process failed'}\n{tails}")


def _report(path):
    return json.loads(path.read_text())


def _frames(run_dir):
    """The frames a scenario's callback wrote in `run_dir`, read back: each expected frame
    once in the manifest, the folder holding exactly those PNGs, of one size, and the GIF
    as long."""
    frames_dir = run_dir / "frames"
    records = [record for _, record in read_manifest(frames_dir / MANIFEST_NAME)]
    assert [(r["epoch"], r["batch"]) for r in records] == EXPECTED, records
    assert sorted(p.name for p in frames_dir.glob("*.png")) == [r["file"] for r in records]
    frames = [read_png(frames_dir / r["file"]) for r in records]
    assert len({frame.shape for frame in frames}) == 1
    assert inspect_movie(run_dir / "movie.gif").frame_count == len(records)
    assert all(r["loss"] is not None and r["accuracy"] is not None for r in records), records
    return frames


def _same_frames(first, second):
    differing = [i for i, (a, b) in enumerate(zip(first, second)) if not np.array_equal(a, b)]
    assert len(first) == len(second) and not differing, f"frames {differing} differ"


@pytest.mark.backend("tensorflow")
def test_mirrored_strategy_draws_each_frame_once_as_one_device_would(tmp_path):
    out = _run("mirrored.py", lambda: [("mirrored", _environment())], tmp_path)
    report = _report(out / "mirrored.json")
    for where in ("outside", "inside"):  # fit called outside and inside strategy.scope()
        _frames(out / where)
        assert report[f"fit {where} strategy.scope(): largest difference from one device"] <= 1e-5
    _same_frames(_frames(out / "whole-two-replicas"), _frames(out / "whole-one-device"))


@pytest.mark.backend("jax")
def test_jax_data_parallel_draws_each_frame_once_as_one_device_would(tmp_path):
    out = _run("jax_data_parallel.py", lambda: [("data_parallel", _environment())], tmp_path)
    report = _report(out / "jax_data_parallel.json")
    _frames(out / "data-parallel")
    assert report["largest difference from one device"] <= 1e-5
    _same_frames(_frames(out / "whole-two-devices"), _frames(out / "whole-one-device"))


def _check_chief_only(out, chief, worker):
    """The chief wrote every frame, its manifest and its movie; the worker's callback did
    nothing: no folder, no frame, no pass, a fraction of a millisecond in its hooks."""
    reports = {name: _report(out / "reports" / f"{name}.json") for name in (chief, worker)}
    _frames(out / chief)
    assert reports[chief]["frames_written"] == len(EXPECTED)
    assert reports[chief]["largest difference from one device"] <= 1e-5
    assert not (out / worker).exists(), sorted(p.name for p in (out / worker).rglob("*"))
    assert reports[worker]["frames_written"] == 0 and reports[worker]["frames_drawn"] == []
    # Idle hooks over 16 batches take well under a millisecond; a worker that set up a
    # probe would spend 100 ms or more. The bound leaves room for a busy machine.
    assert reports[worker]["hook_ms"] < 100, reports[worker]["hook_ms"]
    # Training itself was one synchronous fit: the same loss and weights in both.
    assert np.allclose(reports[chief]["loss"], reports[worker]["loss"])
    weights = [np.load(out / "reports" / f"{name}_weights.npz") for name in (chief, worker)]
    assert all(np.array_equal(weights[0][key], weights[1][key]) for key in weights[0].files)
    return reports


# cluster layout -> (tasks in start order, the one that must be chief)
TF_LAYOUTS = {
    "worker+worker": ([("worker", 0), ("worker", 1)], "worker0"),
    "chief+worker": ([("chief", 0), ("worker", 0)], "chief0"),
}


@pytest.mark.backend("tensorflow")
@pytest.mark.parametrize("layout", TF_LAYOUTS)
def test_multi_worker_mirrored_only_the_chief_writes(layout, tmp_path):
    tasks, chief = TF_LAYOUTS[layout]

    def environments():
        addresses = [f"127.0.0.1:{_free_port()}" for _ in tasks]
        cluster = {}
        for (kind, _), address in zip(tasks, addresses):
            cluster.setdefault(kind, []).append(address)
        return [(f"{kind}{index}", _environment(
            KERAS_BACKEND="tensorflow",
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})))
            for kind, index in tasks]

    out = _run("multiworker_tf.py", environments, tmp_path)
    (worker,) = [f"{kind}{index}" for kind, index in tasks if f"{kind}{index}" != chief]
    reports = _check_chief_only(out, chief, worker)
    assert reports[chief]["should_checkpoint"] and not reports[worker]["should_checkpoint"]
    assert reports[chief]["num_replicas_in_sync"] == 2


@pytest.mark.backend("jax")
def test_jax_multi_process_only_process_0_writes(tmp_path):
    def environments():
        address = f"127.0.0.1:{_free_port()}"
        return [(f"process{index}", _environment(
            KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", KERAS_DISTRIBUTION_JOB_ADDRESSES=address,
            KERAS_DISTRIBUTION_NUM_PROCESSES="2", KERAS_DISTRIBUTION_PROCESS_ID=str(index)))
            for index in range(2)]

    out = _run("multiworker_jax.py", environments, tmp_path)
    reports = _check_chief_only(out, "process0", "process1")
    assert reports["process0"]["process_count"] == 2 and reports["process0"]["global_devices"] == 2
    assert reports["process0"]["weights_fully_addressable"] is False  # one global array over both
