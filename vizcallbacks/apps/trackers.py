"""The experiment trackers a run is also logged to, as one value: `Trackers` (an MLflow
tracking URI, a W&B project). The commands make it from `--mlflow` and `--wandb`; it makes
each run's sinks (`MLflowSink`, `WandbSink`), named after the run's folder, with the run's
finished files (`RUN_FILES`) as artifacts. `comparison_trackers` gives compare's runs one
parent: an MLflow run they are nested under, a W&B group.

A plain value of strings, so that it travels to compare's run processes.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..checks import check_optional_name
from ..pipeline import FrameFaultWarning
from ..sinks import MLflowSink, Sink, WandbSink

__all__ = ["Trackers", "RUN_FILES", "comparison_trackers"]

#: The files of a run's folder a tracker keeps when the run's sinks finish, where they exist
#: then: the movies, the page, the learning dynamics, compare's and lr-find's summaries.
RUN_FILES = ("movie.gif", "movie.mp4", "movie.webm", "index.html", "dynamics.json", "dynamics.png",
             "summary.json", "summary.png")

_SQLITE = "sqlite:///"


@dataclass(frozen=True)
class Trackers:
    """Where a run is also logged, besides its folder.

    >>> Trackers(mlflow="sqlite:///mlflow.db").sinks("output/mnist")   # [MLflowSink(run "mnist")]

    Args:
        mlflow: an MLflow tracking URI ("sqlite:///mlflow.db", "http://host:5000"); None for
            none. A relative SQLite path is made absolute here, where it was given.
        wandb: a W&B project; None for none.
        mlflow_parent_run_id: the MLflow run each run is nested under (compare's); None for none.
        wandb_group: the W&B group of each run (compare's); None for none.

    Raises:
        ValueError: a field is not a non-empty string or None.
    """

    mlflow: str | None = None
    wandb: str | None = None
    mlflow_parent_run_id: str | None = None
    wandb_group: str | None = None

    def __post_init__(self):
        for name in ("mlflow", "wandb", "mlflow_parent_run_id", "wandb_group"):
            check_optional_name(getattr(self, name), name)
        if self.mlflow is not None and self.mlflow.startswith(_SQLITE) and not self.mlflow.startswith(_SQLITE + "/"):
            # Relative to the folder it was given in, not to a compare run's process's (a Dask
            # worker's is a temporary folder).
            object.__setattr__(self, "mlflow", _SQLITE + str(Path(self.mlflow[len(_SQLITE):]).resolve()))

    def __bool__(self) -> bool:
        return self.mlflow is not None or self.wandb is not None

    def sinks(self, run_dir, *, run_name: str | None = None) -> list[Sink]:
        """A sink per tracker for the run written in `run_dir`, its `RUN_FILES` as artifacts.

        Args:
            run_dir: the run's folder.
            run_name: the runs' name in the trackers; None for the folder's name.

        Returns:
            A list of `Sink`s (empty without trackers), for a pipeline's `sinks`.
        """
        run_dir = Path(run_dir)
        name = run_name or run_dir.resolve().name
        files = [run_dir / file_name for file_name in RUN_FILES]
        sinks: list[Sink] = []
        if self.mlflow is not None:
            sinks.append(MLflowSink(self.mlflow, run_name=name, parent_run_id=self.mlflow_parent_run_id, files=files))
        if self.wandb is not None:
            sinks.append(WandbSink(self.wandb, run_name=name, group=self.wandb_group, files=files))
        return sinks


@contextlib.contextmanager
def comparison_trackers(trackers: Trackers | None, out_dir) -> Iterator[Trackers | None]:
    """The trackers of compare's runs: in MLflow, nested under one parent run (the active
    run, else a new one named after `out_dir`) that keeps the comparison's files
    (`RUN_FILES`: its movies, page, summary) when the block ends; in W&B, one group named
    after `out_dir`. An MLflow parent that cannot start is said once (`FrameFaultWarning`),
    and the runs are then not logged to MLflow.

    >>> with comparison_trackers(Trackers(mlflow="sqlite:///mlflow.db"), "output/lr") as for_runs:
    ...     compare(..., trackers=for_runs)

    Args:
        trackers: the comparison's trackers; None for none.
        out_dir: the comparison's folder.

    Yields:
        The `Trackers` each run's sinks are made from.

    Raises:
        TypeError: `trackers` is not a `Trackers`.
    """
    if trackers is not None and not isinstance(trackers, Trackers):
        raise TypeError(f"trackers must be a vizcallbacks.apps.trackers.Trackers, such as "
                        f"Trackers(mlflow='sqlite:///mlflow.db'), or None. Received: trackers={trackers!r}.")
    if not trackers:
        yield trackers
        return
    out_dir = Path(out_dir)
    for_runs = replace(trackers, wandb_group=trackers.wandb and out_dir.resolve().name)
    parent = None
    if trackers.mlflow is not None:
        parent = Trackers(mlflow=trackers.mlflow).sinks(out_dir)[0]
        parent.open()
        if parent.run_id is None:
            warnings.warn(FrameFaultWarning(f"compare_runs: {parent.describe()} failed: {parent.open_error}; "
                                            "the runs are not logged to MLflow. Training goes on."), stacklevel=3)
            for_runs, parent = replace(for_runs, mlflow=None), None
        else:
            for_runs = replace(for_runs, mlflow_parent_run_id=parent.run_id)
    try:
        yield for_runs
    except BaseException:
        if parent is not None:
            parent.abort()
        raise
    if parent is not None:
        parent.finish()
