"""The run's page as one more sink: written when the frames are final, so that the sinks
listed after it (an experiment tracker) find it and keep it with the movies."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...framefiles import MANIFEST_NAME
from ...sinks.base import Sink
from . import write_page_at_end

__all__ = ["PageSink"]


class PageSink(Sink):
    """Writes `run_dir/index.html` (see `write_page_at_end`) when it finishes, if it was
    sent a frame and the manifest is whole; an aborted run, or one whose manifest a fault
    (a full disk) cut, gets no page: `vizcallbacks view` writes it later.

    List it after the sinks that write the frames and the manifest, before the trackers:

    >>> page = PageSink("output/mnist")
    >>> callback = PlotConvCallback(x[:4], frames_dir="output/mnist/frames", sinks=[page, MLflowSink()])

    Args:
        run_dir: the run's folder, holding its frames' manifest.
    """

    follows_others = True  # the page is of the frames the other sinks keep

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        #: The page written, once finished; None before, or when another file is there.
        self.path: Path | None = None
        self._frames = 0

    def describe(self) -> str:
        """The sink in words, for the fault messages."""
        return f"writing the page '{self.run_dir / 'index.html'}'"

    def send(self, frame: np.ndarray, record) -> None:
        """Count the frame: the page is written from the manifest when the run ends.

        Args:
            frame: the frame (not read).
            record: its record (not read).
        """
        self._frames += 1

    def finish(self) -> None:
        """Write the page, when a frame was sent and the manifest is whole."""
        if self._frames and _whole(self.run_dir / MANIFEST_NAME):
            self.path = write_page_at_end(self.run_dir)

    def abort(self) -> None:
        """No page for a run whose frames were not made final."""


def _whole(manifest: Path) -> bool:
    """Whether the manifest ends with a whole line: a fault that cut its last line has
    been said already, and a page of it would say it again."""
    if not manifest.is_file():
        return False
    with manifest.open("rb") as file:
        file.seek(0, 2)
        if file.tell() == 0:
            return False
        file.seek(-1, 2)
        return file.read(1) == b"\n"
