"""The latest frame, live in the notebook cell that runs `fit`.

One output that changes (IPython's `display(..., display_id=...)`, then updates of it),
at most `max_updates_per_s` times a second whatever the frame rate: frames that arrive
sooner are skipped without being encoded, and the last frame is always shown at the end.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..checks import check_bool, check_positive_number, check_rgb_frame
from ..framefiles import encode_png
from .base import Sink

__all__ = ["NotebookSink", "in_notebook"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab),
    where a display shows in the output of the running cell.

    A kernel's IPython shell has a `kernel`; a terminal IPython or plain Python has none.
    IPython is not imported here: a kernel has imported it long before.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class NotebookSink(Sink):
    """Shows the latest frame in the output of the notebook cell that trains, updated
    in place while `fit` runs.

    At most `max_updates_per_s` updates a second: a frame that comes sooner after the
    last one shown is kept back (not encoded) and shown only if no later frame replaces
    it before the next update or `finish`, so the view costs one PNG encoding per update,
    however often frames are drawn. The last frame is always shown by `finish`.

    Outside a Jupyter kernel it shows nothing and says so once, in a warning (unless `quiet`).

    Args:
        max_updates_per_s: Most updates of the shown frame per second, a number > 0.
            Default: 4.
        clock: Seconds, monotonic. Default: `time.monotonic`.
        quiet: Outside a kernel, show nothing without saying so. Either way a sink says
            it once, at its first fit, not at every fit.

    Example:

    >>> sink = NotebookSink(max_updates_per_s=4)
    >>> sink.open()                 # in the cell that runs fit
    >>> sink.send(frame, record)    # for each frame, from any one thread
    >>> sink.finish()               # shows the last frame if it was held back
    """

    copies_elsewhere = True  # the run's folder keeps the frames when this fails

    def __init__(self, *, max_updates_per_s: float = 4,
                 clock: Callable[[], float] = time.monotonic, quiet: bool = False):
        self.max_updates_per_s = check_positive_number(max_updates_per_s, "max_updates_per_s",
                                                       unit="updates per second")
        self.clock = clock
        self.quiet = check_bool(quiet, "quiet")
        self.frames_shown = 0  # frames displayed: the first, its updates, and the last
        self._min_interval_s = 1.0 / self.max_updates_per_s
        self._opened = False
        self._warned = False
        self._live = False
        self._handle = None
        self._displayed = False  # this fit's output exists: later frames update it
        self._shown_at: float | None = None
        self._held: np.ndarray | None = None

    def open(self, *, earlier: Sequence[Path] = ()) -> None:
        """Find the kernel, or warn that nothing will be shown. Earlier frames of a
        resumed run are not shown: the view starts with this run's first frame. Each
        fit (each open) shows its frames in the output of the cell that runs it."""
        if self._opened:
            return
        self._opened, self._displayed, self._shown_at = True, False, None
        self._live = in_notebook()
        if not self._live and not self.quiet and not self._warned:
            self._warned = True
            warnings.warn(
                "NotebookSink: no Jupyter kernel is running here (IPython.get_ipython() finds none), "
                "so frames are not shown live; the other sinks still get them. Run the training in a "
                "notebook cell (Jupyter, JupyterLab, VS Code, Colab) to watch it, or leave the live "
                "view off.", stacklevel=2)
        if not self._live:
            return
        from IPython.display import DisplayHandle

        # Displayed with the first frame, so a run that fails before it leaves no empty output.
        self._handle = DisplayHandle()

    def send(self, frame: np.ndarray, record=None) -> None:
        if not self._opened:
            self.open()
        if not self._live:
            return
        frame = check_rgb_frame(frame, "NotebookSink.send: frame")
        now = self.clock()
        if self._shown_at is not None and now - self._shown_at < self._min_interval_s:
            self._held = frame
            return
        self._show(frame)
        self._shown_at = now

    def finish(self) -> None:
        """Show the last frame, if it was held back; the next fit opens a new output."""
        if self._held is not None:
            self._show(self._held)
        self._opened = False

    def _show(self, frame: np.ndarray) -> None:
        from IPython.display import Image

        self._held = None
        image = Image(data=encode_png(frame), format="png")
        # Sent from the pipeline's thread: ipykernel addresses it to the cell that runs
        # (the kernel's current request), where the output was first displayed.
        if not self._displayed:
            self._handle.display(image)
            self._displayed = True
        else:
            self._handle.update(image)
        self.frames_shown += 1
