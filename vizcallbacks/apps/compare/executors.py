"""Where a comparison's runs go: local 'spawn' processes (`LocalExecutor`, the default) or
an existing Dask cluster (`DaskExecutor`). Each executor is one class behind `Executor`,
listed in `EXECUTORS`; whichever runs them, every run's files end up in its folder,
``DIR/runs/<name>/``, the same, so that the figures and the movie are the same too.

A Dask worker may not share the caller's filesystem: it runs each run in a fresh
subprocess of its own (the backend set up before import, as locally), reads back the run's
panels (PNG bytes), manifest lines and ``run.json`` into a `RunOutput`, and the caller
sends them through the run's own frame pipeline and sinks (`write_run_output`).
"""

from __future__ import annotations

import abc
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...checks import available_cpus, check_choice, check_positive_int
from ...framefiles import MANIFEST_NAME, read_manifest, write_atomically
from .backends import run_environment
from .run import RUN_JSON, RunSpec, panel_record, run_one, run_pipeline

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "EXECUTORS", "make_executor", "RunOutput",
           "run_isolated", "write_run_output"]


class Executor(abc.ABC):
    """Runs a comparison's runs and leaves each one's files in its `run_dir`."""

    @abc.abstractmethod
    def run(self, specs: Sequence[RunSpec], *, progress: bool) -> list[dict]:
        """Run every spec.

        Args:
            specs: the runs.
            progress: show progress on stderr.

        Returns:
            What each run returned (its run.json), in the order of `specs`.
        """

    @abc.abstractmethod
    def describe(self) -> dict:
        """The executor as JSON, for summary.json."""


def _init_worker(lock) -> None:
    from tqdm import tqdm

    tqdm.set_lock(lock)  # the bars of all runs share one terminal


class LocalExecutor(Executor):
    """Each run in a fresh 'spawn' process of this machine, `jobs` at once (TensorFlow is
    not fork-safe; a fresh process per run makes a run's result the same whatever ran
    before it, and lets the backend be set up before it is imported).

    Args:
        jobs: runs at once; default as many as there are CPUs.
    """

    def __init__(self, jobs: int | None = None):
        self.jobs = available_cpus() if jobs is None else check_positive_int(jobs, "jobs")

    def run(self, specs: Sequence[RunSpec], *, progress: bool) -> list[dict]:
        """Run every spec in the pool; see `Executor.run`.

        Args:
            specs: the runs.
            progress: unused: each run shows its own bar (see `RunOptions.progress`).
        """
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        pool = context.Pool(processes=min(self.jobs, len(specs)), maxtasksperchild=1, initializer=_init_worker,
                            initargs=(context.RLock(),))
        try:
            pending = [pool.apply_async(run_one, (spec,)) for spec in specs]
            results = [task.get() for task in pending]
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        return results

    def describe(self) -> dict:
        """See `Executor.describe`."""
        return {"executor": "local", "jobs": self.jobs}


@dataclass(frozen=True)
class RunOutput:
    """A run's files, carried back from where it ran.

    Args:
        summary: its run.json.
        records: its manifest's lines, in order.
        panels: each panel's PNG bytes, by its manifest "file" (relative to the run's folder).
    """

    summary: dict
    records: tuple
    panels: dict

    @classmethod
    def read(cls, run_dir: Path) -> RunOutput:
        """A finished run's folder, read.

        Args:
            run_dir: the folder `run_one` wrote.
        """
        records = tuple(record for _, record in read_manifest(run_dir / MANIFEST_NAME))
        return cls(summary=json.loads((run_dir / RUN_JSON).read_text()), records=records,
                   panels={record["file"]: (run_dir / record["file"]).read_bytes() for record in records})


def write_run_output(output: RunOutput, spec: RunSpec) -> dict:
    """Write a run's files where a local run would have, through the run's own frame
    pipeline (`run.run_pipeline`): each panel (atomically), then its manifest line (and
    TensorBoard's log, when asked for, here rather than where the run ran); then run.json.
    The same bytes and lines as the run wrote.

    Args:
        output: what the run sent back.
        spec: the run, with its folder here.

    Returns:
        The run's summary (its run.json).
    """
    pipeline = run_pipeline(spec, _replayed)
    try:
        for record in output.records:
            fields = {key: value for key, value in record.items() if key != "file"}
            pipeline.submit((output.panels[record["file"]], panel_record(fields, align=spec.options.schedule.align)))
    finally:
        pipeline.close()
    write_atomically(Path(spec.run_dir) / RUN_JSON, (json.dumps(output.summary, indent=2) + "\n").encode())
    return output.summary


def _replayed(job) -> tuple:
    """A panel sent back as PNG bytes, decoded (PNG is lossless: written again, the same bytes)."""
    import io

    from PIL import Image

    data, record = job
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB")), record


def _package_root() -> str:
    """The folder this `vizcallbacks` was imported from, so that the subprocess runs the
    same code as the worker."""
    return str(Path(__file__).resolve().parents[2])


def run_isolated(spec: RunSpec) -> RunOutput:
    """Run `spec` in a fresh subprocess, in a temporary folder, and bring back its files.
    What a Dask worker runs: its own process is long-lived and may have imported a
    backend already, and its daemon processes may not start process pools.

    Args:
        spec: the run; its `run_dir` is replaced by a temporary folder.

    Returns:
        The run's files (`RunOutput`).

    Raises:
        RuntimeError: the run failed; the message ends with its error output.
    """
    options = spec.options
    with tempfile.TemporaryDirectory(prefix="vizcallbacks-run-") as folder:
        here = replace(spec, run_dir=str(Path(folder) / spec.name), position=0,
                       # TensorBoard's log is written here, by write_run_output, not on the worker
                       options=replace(options, progress=False, tensorboard_dir=None))
        env = {**os.environ, **run_environment(options.backend, options.threads_per_run)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
        done = subprocess.run(
            [sys.executable, "-c", "from vizcallbacks.apps.compare.run import run_from_stdin; run_from_stdin()"],
            input=pickle.dumps(here), env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(f"run {spec.name} failed on {os.uname().nodename} (exit status "
                               f"{done.returncode}):\n" + "\n".join(tail))
        return RunOutput.read(Path(here.run_dir))


class DaskExecutor(Executor):
    """Each run on a worker of an existing Dask cluster, in a fresh subprocess there; its
    files come back to this process (`RunOutput`), which writes them. Workers need
    `vizcallbacks`, the backend, and the dataset where `data_dir` (or `load_dataset`) finds
    it; they need not share a filesystem with the caller.

    >>> executor = DaskExecutor("tcp://scheduler:8786")
    >>> compare_runs(Comparison(vary={"learning_rate": [0.01, 0.1]}), executor=executor)

    Args:
        scheduler: the scheduler's address ("tcp://host:8786"), or a
            `distributed.Client` already connected.
        jobs: runs at once at most; default as many as the cluster takes.
    """

    def __init__(self, scheduler, jobs: int | None = None):
        if scheduler is None or (isinstance(scheduler, str) and not scheduler.strip()):
            raise ValueError("scheduler: the Dask executor needs a scheduler's address, e.g. "
                             f"'tcp://127.0.0.1:8786' (--scheduler). Received: scheduler={scheduler!r}.")
        if importlib.util.find_spec("distributed") is None:
            raise ValueError("executor 'dask' needs Dask's distributed package: "
                             "pip install 'vizcallbacks[dask]'.")
        self.scheduler = scheduler
        self.jobs = None if jobs is None else check_positive_int(jobs, "jobs")

    def _client(self):
        from distributed import Client

        if isinstance(self.scheduler, Client):
            return self.scheduler, False
        try:
            return Client(self.scheduler, timeout="20s"), True
        except OSError as error:
            raise ValueError(f"scheduler: no Dask scheduler answers at {self.scheduler!r} ({error}).") from None

    def run(self, specs: Sequence[RunSpec], *, progress: bool) -> list[dict]:
        """Run every spec on the cluster, `jobs` at once at most; see `Executor.run`.

        Args:
            specs: the runs.
            progress: show a bar of the runs done on stderr.
        """
        from distributed import as_completed
        from tqdm import tqdm

        client, owned = self._client()
        window = len(specs) if self.jobs is None else self.jobs
        summaries: dict[int, dict] = {}
        try:
            queue = list(enumerate(specs))
            futures = {}

            def submit():
                index, spec = queue.pop(0)
                future = client.submit(run_isolated, spec, key=f"vizcallbacks-{spec.name}-{uuid.uuid4().hex}",
                                       pure=False)
                futures[future] = index
                return future

            running = as_completed([submit() for _ in range(min(window, len(queue)))])
            with tqdm(total=len(specs), desc="runs", unit="run", file=sys.stderr, disable=not progress) as bar:
                for future in running:
                    index = futures.pop(future)
                    summaries[index] = write_run_output(future.result(), specs[index])
                    bar.update()
                    if queue:
                        running.add(submit())
        finally:
            if futures:  # a run failed, or the caller was interrupted: the others stop too
                client.cancel(list(futures))
            if owned:
                client.close()
        return [summaries[index] for index in range(len(specs))]

    def describe(self) -> dict:
        """See `Executor.describe`."""
        address = self.scheduler if isinstance(self.scheduler, str) else getattr(self.scheduler, "scheduler", None)
        return {"executor": "dask", "scheduler": str(getattr(address, "address", address)), "jobs": self.jobs}


#: The executors by name, as `--executor` takes them.
EXECUTORS = {"local": LocalExecutor, "dask": DaskExecutor}


def make_executor(executor, *, jobs: int | None = None, scheduler=None) -> Executor:
    """An `Executor` from a name of `EXECUTORS` and its options, or `executor` itself.

    Args:
        executor: "local", "dask" or an `Executor`.
        jobs: runs at once (local: default the CPUs; dask: default all).
        scheduler: the Dask scheduler's address or client (executor "dask" only).

    Returns:
        The executor.

    Raises:
        ValueError: an unknown name, or options that do not go with it.
    """
    if isinstance(executor, Executor):
        if scheduler is not None:
            raise ValueError("scheduler goes with executor='dask'; this executor was made already. "
                             f"Received: scheduler={scheduler!r}.")
        return executor
    check_choice(executor, "executor", EXECUTORS)
    if executor == "local":
        if scheduler is not None:
            raise ValueError(f"scheduler applies to executor='dask' only. Received: scheduler={scheduler!r} "
                             "with executor='local'.")
        return LocalExecutor(jobs)
    return DaskExecutor(scheduler, jobs)
