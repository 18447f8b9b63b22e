"""Frames, figures and the finished files into a Weights & Biases run.

Each frame is a `wandb.Image` logged at its step with the record's figures
(`figures.FIGURES`: loss, accuracy, ...) in the same row of the run's history, and at the
end the run's files (the movies, the page, ...) are saved with the run (`run.save`), where
the UI and `wandb sync` of an offline run find them. The movie is logged as the finished
file, not as a `wandb.Video` made from arrays (which needs moviepy).

W&B is imported only here, when the sink opens: ``pip install 'vizcallbacks[wandb]'``.
``WANDB_MODE=offline`` keeps the run on disk (``wandb/offline-run-*/``) for a later
``wandb sync``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..checks import check_optional_name, check_path, check_rgb_frame
from ..figures import figures_of
from .base import Sink

__all__ = ["WandbSink"]

_INSTALL = "pip install 'vizcallbacks[wandb]'"



class WandbSink(Sink):
    """Logs every frame as an image at its step (`record.step`) with the record's finite
    figures beside it, and, when it finishes, saves each of `files` that exists with the
    run, into one W&B run.

    The run is the active one (`wandb.init()` in the training script) when there is one,
    and is left open; else a new run in `project`, named `run_name`, in `group`, finished
    when the sink finishes. W&B wants steps that only grow: a run resumed into an active
    run that is further on has its earlier steps dropped by W&B, with its warning.

    A tracker that cannot be reached (no API key, no network), or W&B not installed, is not
    a reason to stop training: the error is kept when the sink opens and raised at its
    first frame, where the pipeline's fault policy says it once (`FrameFaultWarning`) and
    sends it no more frames; the other sinks (the PNG frames on disk) go on.

    Args:
        project: the new run's W&B project; None for `WANDB_PROJECT`, else W&B's default.
        run_name: the new run's name (`train` gives its output folder's); None: W&B's.
        group: the new run's group (compare's runs share one); None for none.
        files: files saved with the run when the sink finishes, where they exist then
            (the movies; the page, `dynamics.json` where written by then).
        tag: the images' key in the run's history. Default: "frames".

    Example:

    >>> sink = WandbSink("my-project", run_name="mnist", files=["output/mnist/movie.gif"])
    >>> callback = PlotConvCallback(x_test[:4], frames_dir="output/mnist/frames", sinks=[sink])
    """

    copies_elsewhere = True  # the run's folder keeps the frames when this fails

    def __init__(self, project: str | None = None, *, run_name: str | None = None, group: str | None = None,
                 files: Sequence = (), tag: str = "frames"):
        self.project = check_optional_name(project, "project")
        self.run_name = check_optional_name(run_name, "run_name")
        self.group = check_optional_name(group, "group")
        if isinstance(files, (str, os.PathLike)):
            raise TypeError(f"files must be a list of paths. Received: files={files!r}; write files=[...].")
        self.files = tuple(check_path(path, "files") for path in files)
        self.tag = check_optional_name(tag, "tag") or "frames"
        self.run = None  # once open: the run logged into
        self._wandb = None
        self._owned = False  # whether this sink started the run (and finishes it)
        self.open_error: Exception | None = None  # why the run could not start; raised at the first frame
        self._broken = False  # a call to W&B failed: do not call it again

    def describe(self) -> str:
        """The sink in words, for the fault messages."""
        return f"WandbSink '{self.project or 'default project'}'"

    def describe_kept(self, frames: int, *, failed: bool) -> str:
        """What the tracker holds, for the fault messages.

        Args:
            frames: the frames it took.
            failed: whether it failed.
        """
        run = f"W&B run {self.run.id}" if self.run is not None else "no W&B run"
        return f"{frames} frames in {run}" + (" (it failed)" if failed else "")

    def open(self, *, earlier: Sequence[Path] = ()) -> None:
        """Find the active run or start one; a failure is kept for the first frame."""
        self.open_error, self._broken = None, False  # a sink reused for another fit starts afresh
        try:
            self._wandb, self.run, self._owned = self._start()
        except Exception as error:
            self.open_error = error

    def _start(self):
        try:
            import wandb
        except ImportError as error:
            raise ImportError(f"WandbSink logs with the wandb package, which is not installed ({error}). "
                              f"Install it: {_INSTALL}") from error
        if wandb.run is not None:
            return wandb, wandb.run, False
        try:
            run = wandb.init(project=self.project, name=self.run_name, group=self.group)
        except Exception as error:
            raise RuntimeError(f"could not start a W&B run in project {self.project or 'default'!r}: "
                               f"{type(error).__name__}: {error}. Log in (`wandb login`), or set "
                               "WANDB_MODE=offline to keep the run on disk") from error
        return wandb, run, True

    def send(self, frame: np.ndarray, record) -> None:
        """Log `frame` as an image with the record's finite figures, at `record.step`.

        Args:
            frame: the frame, a (height, width, 3) uint8 RGB array.
            record: its record: `step` and the figures by name.

        Raises:
            Exception: the run could not start (W&B missing, no login), or W&B refused the
                frame: the pipeline then sends this sink no more frames.
        """
        if self.open_error is not None:
            raise self.open_error
        frame = check_rgb_frame(frame, "WandbSink.send: frame")
        self._broken = True  # until W&B has taken the row
        self.run.log({self.tag: self._wandb.Image(frame), **figures_of(record, finite=True)}, step=int(record.step))
        self._broken = False

    def finish(self) -> None:
        """Save the files that exist with the run; finish the run if this sink started it."""
        if self.run is None or self._broken:
            return
        for path in self.files:
            if path.is_file():
                self.run.save(str(path), base_path=str(path.parent), policy="now")
        self._end(exit_code=0)

    def abort(self) -> None:
        """Finish a run this sink started as failed, unless W&B is what failed."""
        if self.run is not None and not self._broken:
            self._end(exit_code=1)

    def _end(self, *, exit_code: int) -> None:
        if self._owned:
            self._owned = False
            self.run.finish(exit_code=exit_code)
