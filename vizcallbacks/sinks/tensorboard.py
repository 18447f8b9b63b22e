"""Frames and the stamp's metrics into a TensorBoard log directory, on any Keras backend.

Written with tensorboardX, which writes TensorBoard's event files with protobuf alone
(no TensorFlow); `tensorboard --logdir LOG_DIR` then shows the frames in its Images tab,
with a step slider, beside the record's figures (loss, accuracy, mae, ...: `figures.FIGURES`)
in its Scalars tab, all at the global step.
"""

from __future__ import annotations

import importlib.util
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..checks import check_bool, check_path, check_rgb_frame, check_writable_dir
from ..figures import figures_of
from ..framefiles import encode_png
from .base import Sink

__all__ = ["TensorBoardSink", "check_tensorboard_dir"]

_INSTALL = "pip install tensorboardX (and pip install tensorboard to view the logs)"
# Often enough that `tensorboard --logdir` follows a run while it trains.
_FLUSH_SECS = 5


def check_tensorboard_dir(tensorboard_dir, argument: str = "tensorboard_dir") -> Path | None:
    """`tensorboard_dir` as a Path (None stays None), once tensorboardX is known to be
    installed: the check that the callback, `train` and `compare` make before training.

    Args:
        tensorboard_dir: a folder for TensorBoard's event files, or None for none.
        argument: what the messages name (`"tensorboard_dir (--tensorboard)"`).

    Returns:
        The folder as a Path, or None.

    Raises:
        TypeError: `tensorboard_dir` is not a path.
        ImportError: tensorboardX is not installed; the message says how to install it.
    """
    if tensorboard_dir is None:
        return None
    path = check_path(tensorboard_dir, argument)
    if importlib.util.find_spec("tensorboardX") is None:
        raise ImportError(f"{argument}: TensorBoard logs are written with the tensorboardX package, which "
                          f"is not installed. Install it: {_INSTALL}; or leave {argument} out.")
    return path


class TensorBoardSink(Sink):
    """Writes every frame as an image summary at its global step (`record.step`), and
    the record's figures (`figures.FIGURES`: loss, accuracy, mae, ...; those known) as
    scalars at the same step, each tagged by its key, into an event file in `log_dir`.

    A resumed run (`resumed=True`, or `open(earlier=[...])`) starts a new event file
    that hides, in TensorBoard, whatever an earlier run of the same `log_dir` wrote from
    this run's first step on, so a run killed and resumed shows each step once. Give each run its
    own `log_dir` (or a subfolder per run, which TensorBoard shows as runs side by side).

    Args:
        log_dir: Folder of the event files; made if missing.
        tag: Name of the image series in TensorBoard. Default: "activations". The
            scalars are tagged by their figures' keys ("accuracy", "loss", "mae").
        resumed: whether this run goes on from an earlier one in `log_dir`; None: when
            `open` is given earlier frames.
        scalars: the record's figures written as scalars, by name (compare's runs:
            "heldout_accuracy", ...); None for the callback's figures.

    Example:

    >>> sink = TensorBoardSink("logs/run1")
    >>> sink.open()
    >>> sink.send(frame, record)   # record: epoch, batch, step, accuracy, loss, wall_time, ...
    >>> sink.finish()
    >>> # then: tensorboard --logdir logs
    """

    copies_elsewhere = True  # the run's folder keeps the frames when this fails

    def __init__(self, log_dir, *, tag: str = "activations", resumed: bool | None = None,
                 scalars: Sequence[str] | None = None):
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError(f"tag must be a non-empty string, such as 'activations'. Received: tag={tag!r}.")
        self.log_dir = check_path(log_dir, "log_dir")
        self.tag = tag
        self._tensorboardX = None
        self._summary = None  # tensorboardX's Summary protocol buffer class, once open
        self._writer = None
        self.resumed = None if resumed is None else check_bool(resumed, "resumed")
        self._resumed = False  # this run's: `resumed`, or whether open was given earlier frames
        if scalars is not None and (isinstance(scalars, str) or not all(isinstance(n, str) for n in scalars)):
            raise TypeError(f"scalars must be a list of figure names, such as ['heldout_accuracy']. "
                            f"Received: scalars={scalars!r}.")
        self.scalars = None if scalars is None else tuple(scalars)

    def open(self, *, earlier: Sequence[Path] = ()) -> None:
        """Check that tensorboardX is installed and `log_dir` is a folder; the event
        file itself is started with the first frame."""
        try:
            import tensorboardX
        except ImportError as error:
            raise ImportError(
                f"TensorBoardSink writes TensorBoard logs with the tensorboardX package, which is not "
                f"installed. Install it: {_INSTALL}."
            ) from error
        check_writable_dir(self.log_dir, "log_dir")
        from tensorboardX.proto.summary_pb2 import Summary

        self._tensorboardX, self._summary = tensorboardX, Summary
        self._resumed = bool(earlier) if self.resumed is None else self.resumed
        if not self._resumed and any(self.log_dir.glob("*tfevents*")):
            warnings.warn(
                f"log_dir {str(self.log_dir)!r} already holds TensorBoard event files; TensorBoard "
                "will show them mixed with this run's, step by step. Give each run a folder of its "
                "own (a subfolder per run shows the runs side by side).", stacklevel=2)

    def send(self, frame: np.ndarray, record) -> None:
        """Write `frame` as an image and the record's figures as scalars, at `record.step`.

        Args:
            frame: the frame, a (height, width, 3) uint8 RGB array.
            record: its record: `step`, `wall_time` (None: now) and the figures by name,
                None where unknown (left out).
        """
        scalars = figures_of(record)
        if self.scalars is not None:
            scalars = {name: getattr(record, name, None) for name in self.scalars}
        wall_time = getattr(record, "wall_time", None)
        frame = check_rgb_frame(frame, "TensorBoardSink.send: frame")
        if self._tensorboardX is None:
            self.open()
        step = int(record.step)
        if self._writer is None:
            self._writer = self._start(first_step=step)
        Summary = self._summary
        height, width = frame.shape[:2]
        image = Summary.Image(height=height, width=width, colorspace=3,
                              encoded_image_string=encode_png(frame))
        # Encoded here rather than by add_image, which copies the frame through a resize and
        # encodes at Pillow's default level: 1.6 times the time on a 640x686 frame.
        self._writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=self.tag, image=image)]),
                                             global_step=step, walltime=wall_time)
        for name, value in scalars.items():
            if value is not None:
                self._writer.add_scalar(name, float(value), global_step=step, walltime=wall_time)

    def finish(self) -> None:
        """Write what is pending and close the event file."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def _start(self, *, first_step: int):
        # The file name has only whole seconds and the host name: two writers started in
        # the same second would share (and clobber) one file without a suffix of their own.
        # Zero-padded nanoseconds keep TensorBoard reading the files in the order written.
        suffix = f".{time.time_ns():020d}.{os.getpid()}"
        return self._tensorboardX.SummaryWriter(
            logdir=str(self.log_dir), flush_secs=_FLUSH_SECS, filename_suffix=suffix,
            # A START event at this step: TensorBoard drops what an earlier, killed run
            # wrote from here on, which this run writes again.
            purge_step=first_step if self._resumed else None)
