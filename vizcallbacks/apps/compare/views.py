"""What a comparison leaves for people to watch, once its runs and movie are written: each
run's panels and held-out figures in TensorBoard (one subfolder per run, which TensorBoard
shows side by side), and the page that plays every run's panel together (``index.html``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ...framefiles import read_png
from ..page import write_page_at_end
from ...sinks.tensorboard import TensorBoardSink

__all__ = ["write_views", "write_tensorboard", "TENSORBOARD_SCALARS"]

#: A run's figures written as TensorBoard scalars, under their manifest names.
TENSORBOARD_SCALARS = ("heldout_accuracy", "heldout_loss", "train_accuracy", "train_loss")
# TensorBoard's step for each alignment: the runs' curves and images line up on it. Seconds
# are no step (an integer), so runs aligned by time keep their own update count.
_STEP_KEYS = {"examples": "examples_seen", "steps": "step", "time": "step"}


def write_views(result, *, tensorboard_dir: Path | None):
    """The page in `result.out_dir`, and the TensorBoard logs when asked for.

    Args:
        result: the finished comparison (a `CompareResult`).
        tensorboard_dir: the folder for TensorBoard's logs, a subfolder per run; None
            for none.

    Returns:
        `result` with `page_path` (and `tensorboard_dir`) set.
    """
    if tensorboard_dir is not None:
        write_tensorboard(result.runs, tensorboard_dir, align=result.schedule.align)
    return replace(result, page_path=write_page_at_end(result.out_dir), tensorboard_dir=tensorboard_dir)


def write_tensorboard(runs: Sequence, log_dir: Path, *, align: str) -> list[Path]:
    """Each run's panels as images and its figures as scalars in `log_dir/<run name>/`,
    at examples seen (align "examples") or updates (align "steps" or "time").

    Args:
        runs: `RunResult`s: name, run_dir and records (manifest lines) of each run.
        log_dir: the folder that `tensorboard --logdir` is given.
        align: the comparison's alignment, which chooses the step.

    Returns:
        The runs' log folders.
    """
    step_key = _STEP_KEYS[align]
    folders = []
    for run in runs:
        sink = TensorBoardSink(Path(log_dir) / run.name, tag="panel")
        sink.open()
        try:
            for record in run.records:
                sink.write(read_png(Path(run.run_dir) / record["file"]), step=record[step_key],
                           scalars={name: record.get(name) for name in TENSORBOARD_SCALARS})
        finally:
            sink.finish()
        folders.append(sink.log_dir)
    return folders
