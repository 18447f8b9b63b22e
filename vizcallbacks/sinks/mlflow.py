"""Frames, figures and the finished files into an MLflow run.

Each frame is a time-stepped image at its step (`MlflowClient.log_image(key=..., step=...)`,
which MLflow's UI shows with a step slider), the record's figures (`figures.FIGURES`: loss,
accuracy, ...) are metrics at the same step, and at the end the run's files (the movies,
the page, ...) are artifacts. The run is the user's active run, else a new one.

MLflow is imported only here, when the sink opens: ``pip install 'vizcallbacks[mlflow]'``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..checks import check_optional_name, check_path, check_rgb_frame
from ..figures import figures_of
from .base import Sink

__all__ = ["MLflowSink"]

_INSTALL = "pip install 'vizcallbacks[mlflow]' (mlflow-skinny, with SQLAlchemy and Alembic for a sqlite:/// store)"
# MLflow's tag that nests a run under another in its UI.
_PARENT_TAG = "mlflow.parentRunId"



class MLflowSink(Sink):
    """Logs every frame as an image at its step (`record.step`), the record's finite
    figures as metrics at the same step, and, when it finishes, each of `files` that
    exists as an artifact, into one MLflow run.

    The run is the active one (`mlflow.start_run()` in the training script, on the same
    tracking URI) when there is one, and is left open; else a new run named `run_name`,
    in `experiment`, nested under `parent_run_id` when given, ended when the sink finishes.

    A tracker that cannot be reached, or MLflow not installed, is not a reason to stop
    training: the error is kept when the sink opens and raised at its first frame, where
    the pipeline's fault policy says it once (`FrameFaultWarning`) and sends it no more
    frames; the other sinks (the PNG frames on disk) go on.

    The run is started and ended in the training thread (`open`, `finish`); frames are
    sent from the pipeline's worker through an `MlflowClient`, which is not bound to a thread.

    Args:
        tracking_uri: where MLflow keeps runs: "sqlite:///mlflow.db", "http://host:5000";
            None for MLflow's own choice (`MLFLOW_TRACKING_URI`, else its default).
        run_name: the new run's name (`train` gives its output folder's); None: MLflow's.
        experiment: the new run's experiment, by name, made if missing; None for
            `MLFLOW_EXPERIMENT_NAME`, else MLflow's "Default".
        parent_run_id: the run to nest the new run under (compare's runs); None for none.
        files: files logged as artifacts when the sink finishes, where they exist then
            (the movies; the page, `dynamics.json` where written by then).
        tag: the images' key. Default: "frames".

    Example:

    >>> sink = MLflowSink("sqlite:///mlflow.db", run_name="mnist", files=["output/mnist/movie.gif"])
    >>> callback = PlotConvCallback(x_test[:4], frames_dir="output/mnist/frames", sinks=[sink])
    """

    copies_elsewhere = True  # the run's folder keeps the frames when this fails

    def __init__(self, tracking_uri: str | None = None, *, run_name: str | None = None,
                 experiment: str | None = None, parent_run_id: str | None = None, files: Sequence = (),
                 tag: str = "frames"):
        self.tracking_uri = check_optional_name(tracking_uri, "tracking_uri")
        self.run_name = check_optional_name(run_name, "run_name")
        self.experiment = check_optional_name(experiment, "experiment")
        self.parent_run_id = check_optional_name(parent_run_id, "parent_run_id")
        if isinstance(files, (str, os.PathLike)):
            raise TypeError(f"files must be a list of paths. Received: files={files!r}; write files=[...].")
        self.files = tuple(check_path(path, "files") for path in files)
        self.tag = check_optional_name(tag, "tag") or "frames"
        self.run_id: str | None = None  # once open: the run logged into
        self._client = None
        self._owned = False  # whether this sink started the run (and ends it)
        self.open_error: Exception | None = None  # why the run could not start; raised at the first frame
        self._broken = False  # a call to the tracker failed: do not call it again

    def describe(self) -> str:
        """The sink in words, for the fault messages."""
        return f"MLflowSink '{self.tracking_uri or 'default tracking URI'}'"

    def describe_kept(self, frames: int, *, failed: bool) -> str:
        """What the tracker holds, for the fault messages.

        Args:
            frames: the frames it took.
            failed: whether it failed.
        """
        run = f"MLflow run {self.run_id}" if self.run_id else "no MLflow run"
        return f"{frames} frames in {run}" + (" (it failed)" if failed else "")

    def open(self, *, earlier: Sequence[Path] = ()) -> None:
        """Find the active run or start one; a failure is kept for the first frame."""
        self.open_error, self._broken = None, False  # a sink reused for another fit starts afresh
        try:
            self._client, self.run_id, self._owned = self._start()
        except Exception as error:
            self.open_error = error

    def _start(self):
        try:
            import mlflow
            from mlflow import MlflowClient
        except ImportError as error:
            raise ImportError(f"MLflowSink logs with the mlflow package, which is not installed ({error}). "
                              f"Install it: {_INSTALL}") from error
        active = mlflow.active_run()
        if active is not None and self.tracking_uri in (None, mlflow.get_tracking_uri()):
            return MlflowClient(mlflow.get_tracking_uri()), active.info.run_id, False
        try:
            client = MlflowClient(self.tracking_uri)
            experiment_id = self._experiment_id(client)
            tags = {_PARENT_TAG: self.parent_run_id} if self.parent_run_id else None
            run = client.create_run(experiment_id, run_name=self.run_name, tags=tags)
        except Exception as error:
            where = self.tracking_uri or mlflow.get_tracking_uri()
            raise RuntimeError(f"could not start an MLflow run at {where!r}: {type(error).__name__}: {error}. "
                               "Check that the tracking server runs and that the URI is right") from error
        return client, run.info.run_id, True

    def _experiment_id(self, client) -> str:
        name = self.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        if name is None:
            return "0"  # MLflow's Default experiment, in every store
        found = client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else client.create_experiment(name)

    def send(self, frame: np.ndarray, record) -> None:
        """Log `frame` as an image and the record's finite figures as metrics, at `record.step`.

        Args:
            frame: the frame, a (height, width, 3) uint8 RGB array.
            record: its record: `step`, `wall_time` (None: now) and the figures by name.

        Raises:
            Exception: the run could not start (MLflow missing, the tracker down), or the
                tracker refused the frame: the pipeline then sends this sink no more frames.
        """
        if self.open_error is not None:
            raise self.open_error
        frame = check_rgb_frame(frame, "MLflowSink.send: frame")
        from mlflow.entities import Metric

        step = int(record.step)
        wall_time = getattr(record, "wall_time", None)
        timestamp_ms = None if wall_time is None else int(wall_time * 1000)
        self._broken = True  # until the tracker has answered
        self._client.log_image(self.run_id, frame, key=self.tag, step=step, timestamp=timestamp_ms,
                               synchronous=True)
        metrics = [Metric(key, value, timestamp_ms or int(time.time() * 1000), step)
                   for key, value in figures_of(record, finite=True).items()]
        if metrics:
            self._client.log_batch(self.run_id, metrics=metrics, synchronous=True)
        self._broken = False

    def finish(self) -> None:
        """Log the files that exist as artifacts; end the run if this sink started it."""
        if self.run_id is None or self._broken:
            return
        for path in self.files:
            if path.is_file():
                self._client.log_artifact(self.run_id, str(path))
        self._end("FINISHED")

    def abort(self) -> None:
        """End a run this sink started as failed, unless the tracker is what failed."""
        if self.run_id is not None and not self._broken:
            self._end("FAILED")

    def _end(self, status: str) -> None:
        if self._owned:
            self._owned = False
            self._client.set_terminated(self.run_id, status=status)
