"""`ActivationRecorder`: the sink that keeps each frame's activations in the store. The
callback, compare's runs and lr-find list it first among their pipeline's sinks; their
drawer, in the pipeline's worker, hands it the frame's activations (`hold`) before drawing,
and it writes them when the frame is sent. Being a sink, it falls under the pipeline's fault
policy: a store that cannot be written (a full disk) stops, the frames go on.

>>> recorder = ActivationRecorder(frames_dir, plotter, labels=y_test[:7])
>>> recorder.start(overwrite=False)           # in the training thread, before the first frame
>>> recorder.hold(record, activations)        # in the worker: the drawer, before drawing
>>> recorder.send(frame, record)              # the pipeline, as to every sink
>>> recorder.finish()
"""

from __future__ import annotations

from collections.abc import Sequence

from ..sinks.base import Sink
from .store import StoreWriter

__all__ = ["ActivationRecorder", "check_record", "recordable"]


def check_record(record):
    """`record` as the probe takes it: None (nothing recorded), "drawable", or a list of
    layer names and indices.

    Args:
        record: what the caller received: True (every drawable layer), False or None
            (nothing), "drawable", or names / indices of layers.

    Raises:
        TypeError: anything else.
    """
    if record is True or record == "drawable":
        return "drawable"
    if record is False or record is None:
        return None
    if isinstance(record, str) or not isinstance(record, Sequence) or not record:
        raise TypeError("record must be True (every drawable layer), False, or a non-empty list of layer "
                        f"names or indices. Received: record={record!r} ({type(record).__name__}).")
    return list(record)


def recordable(plotter) -> bool:
    """Whether the store can keep what `plotter` draws from: one input batch and one model
    output (several inputs or outputs are drawn, not recorded yet).

    Args:
        plotter: a `ConvPlotter`.
    """
    return not isinstance(plotter.images, dict) and isinstance(plotter.probe.output_kind, str)


class ActivationRecorder(Sink):
    """Keeps every frame's recorded activations, model output and figures in
    `run_dir/store/` (a `StoreWriter`), with what a redraw needs to draw them again.

    Args:
        run_dir: the run's folder (the frames' folder of a callback).
        plotter: the `ConvPlotter` whose passes are recorded (made with `record=`).
        labels: the labels of the inputs shown, or None.
        digits: how the frames' names are padded, for a redraw to name them alike.
    """

    def __init__(self, run_dir, plotter, *, labels=None, digits: tuple[int, int] = (2, 4)):
        probe = plotter.probe
        views = probe.recorded or probe.views
        self.names = [view.name for view in views]
        drawing = {"layer_classes": {view.name: view.layer_class for view in views},
                   "output_kind": probe.output_kind, "shown": [view.name for view in probe.views],
                   "digits": list(digits)}
        self._arguments = dict(images=plotter.images, labels=labels, style=plotter.style, drawing=drawing)
        self.run_dir = run_dir
        self.writer: StoreWriter | None = None
        self._held: dict[int, object] = {}

    def start(self, *, overwrite: bool = False, keep_through: int | None = None) -> None:
        """Start the store, or continue the one there.

        Args:
            overwrite: start afresh (the run replaces what is there).
            keep_through: a resumed run: drop the stored frames after this step, which
                it draws again; None for a fresh run, whose store must be empty unless
                `overwrite`.

        Raises:
            FileExistsError: a fresh run without `overwrite` finds a store holding frames.
        """
        self.writer = StoreWriter(self.run_dir, overwrite=overwrite and keep_through is None, **self._arguments)
        self.writer.open()
        if keep_through is not None:
            self.writer.discard_after(keep_through)
        elif self.writer.steps:
            raise FileExistsError(
                f"frames_dir: {str(self.writer.store_dir)!r} already holds the activations of "
                f"{len(self.writer.steps)} frames. They are kept: pass overwrite=True (--overwrite) to replace "
                "them, resume that run (initial_epoch), or choose another folder.")

    def hold(self, record, activations) -> None:
        """Keep a frame's activations until the frame is sent (the drawer calls it).

        Args:
            record: the frame's record.
            activations: the pass's `Activations`.
        """
        if self.writer is not None:
            self._held[id(record)] = activations

    def send(self, frame, record) -> None:
        """Write the frame's held activations (the pipeline calls it, as for every sink).

        Args:
            frame: the frame (not kept: the store keeps what it is drawn from).
            record: its record.
        """
        activations = self._held.pop(id(record), None)
        if activations is not None:
            self.append(record, activations)

    def append(self, record, activations) -> None:
        """Keep one frame: its recorded layers, the model's output, its manifest fields.

        Args:
            record: the frame's `FrameRecord`, or a `NamedRecord` (its `step` keys the frame).
            activations: the pass's `Activations`.
        """
        arrays = activations.recorded or activations.outputs
        if hasattr(record, "manifest_fields"):  # a FrameRecord
            fields = record.manifest_fields()
        else:  # a named record (compare's panels): its fields, and its name to draw it again as
            fields = {**record.fields, "file_name": record.file_name()}
        self.writer.append(int(record.step), dict(zip(self.names, arrays)), output=activations.output,
                           figures=fields)

    def finish(self) -> None:
        """Close the store's index (what is written is kept)."""
        self._held.clear()
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def describe(self) -> str:
        """This sink, in words, for a fault's message."""
        return f"the activation store '{self.run_dir}/store'"

    def describe_kept(self, frames: int, *, failed: bool) -> str:
        """What the store holds, in words.

        Args:
            frames: the frames this run sent it.
            failed: whether it is the sink that failed.
        """
        return f"{frames} frames' activations in '{self.run_dir}/store'"
