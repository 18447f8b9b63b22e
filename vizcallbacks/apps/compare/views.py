"""What a comparison leaves for people to watch, once its runs and movie are written: the
page that plays every run's panel together (``index.html``). Each run's panels and held-out
figures reach TensorBoard while it trains, through its frame pipeline (see `run.py`), one
subfolder per run, which TensorBoard shows side by side."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..page import write_page_at_end

__all__ = ["write_views"]


def write_views(result, *, tensorboard_dir: Path | None):
    """The page in `result.out_dir`; the result says where the TensorBoard logs are.

    Args:
        result: the finished comparison (a `CompareResult`).
        tensorboard_dir: the folder of the runs' TensorBoard logs, a subfolder per run;
            None for none.

    Returns:
        `result` with `page_path` (and `tensorboard_dir`) set.
    """
    return replace(result, page_path=write_page_at_end(result.out_dir), tensorboard_dir=tensorboard_dir)
