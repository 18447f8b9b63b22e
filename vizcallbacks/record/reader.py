"""`open_run`: a run's activation store read back as data, with NumPy alone (no Keras, no
backend), one layer at a time.

>>> run = vizcallbacks.open_run("output/fashion_mnist")
>>> run.steps[:3], run.layers
([50, 100, 150], ['conv1', 'pool1', 'conv2', 'pool2', 'flatten', 'dense', 'output'])
>>> mean = run.activations("conv1").mean(axis=(1, 2, 3, 4))    # one number per frame
>>> plt.plot(run.steps, mean)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import check_path, is_int
from ..framefiles import FRAMES_DIR, RUNS_DIR
from .format import (META_NAME, STORE_DIR, decode_member, frame_figures, frame_files, layer_member,
                    read_index, read_meta)

__all__ = ["open_run", "RecordedRun", "RecordedFrame"]


def open_run(path) -> RecordedRun:
    """Open the activation store of a run, to read what its frames were drawn from.

    Nothing but the store's description and index is read here; each `activations(layer)`
    reads that layer only. The frames are those whole when the run is opened: a run still
    recording is read as far as it had come (open it again for more).

    >>> run = open_run("output/fashion_mnist")
    >>> run.activations("conv1").shape          # (frames, inputs, height, width, channels)
    (95, 7, 26, 26, 64)

    Args:
        path: the run folder (a `train` output folder, a callback's `frames_dir`, a compare
            run's folder), or its `store/` folder itself.

    Returns:
        The `RecordedRun`.

    Raises:
        FileNotFoundError: no activation store is there.
        ValueError: the store was written by a newer vizcallbacks (upgrade to read it), or
            is not a store.
    """
    folder = check_path(path, "path")
    for candidate in (folder, folder / STORE_DIR, folder / FRAMES_DIR / STORE_DIR):
        if (candidate / META_NAME).is_file():
            return RecordedRun(candidate)
    raise FileNotFoundError(f"path: no activation store in '{folder}' (no {STORE_DIR}/{META_NAME}). "
                            f"{_hint(folder)}")


def _hint(folder: Path) -> str:
    """What to open instead: a comparison's runs, or why a folder has no store."""
    if not folder.exists():
        return "The folder does not exist."
    runs = sorted(path.parent.parent.name for path in folder.glob(f"{RUNS_DIR}/*/{STORE_DIR}/{META_NAME}"))
    if runs:
        return (f"It holds a comparison's runs: open one of them, open_run('{folder / RUNS_DIR}/NAME') "
                f"with NAME one of {', '.join(runs)}.")
    return "Give the folder of a run recorded with its activation store, or that store's folder."


@dataclass(frozen=True)
class RecordedFrame:
    """One frame of a recorded run, all of it.

    Args:
        step: the frame's training step.
        activations: {layer name: float32 array (inputs, ...)}, in model order.
        output: the model's output, float32 (inputs, ...); None when the run recorded none.
        figures: the frame's figures.
    """

    step: int
    activations: dict[str, np.ndarray]
    output: np.ndarray | None
    figures: dict


class RecordedRun:
    """A run's activation store, read lazily (see `open_run`, which makes one).

    Attributes: `steps` (one per frame, in order), `layers` (recorded layer names, model
    order), `shapes` (each layer's output shape for one input), `figures` (one dict per
    frame), `images` and `labels` (the inputs shown; None when not recorded), `style` (the
    drawing options as `FrameStyle.to_dict()` gave them, or None), `precision` (how layer
    outputs are kept: see `vizcallbacks.record.store`) and `path` (the store's folder).

    Args:
        store_dir: the store's folder (holding `meta.json`).
    """

    def __init__(self, store_dir):
        self.path = Path(store_dir)
        self._meta = read_meta(self.path)
        self._layers = {layer["name"]: position for position, layer in enumerate(self._meta["layers"] or ())}
        self.shapes = {layer["name"]: tuple(layer["shape"]) for layer in self._meta["layers"] or ()}
        self.precision = self._meta["precision"]
        self.style = self._meta.get("style")
        #: What a redraw needs beyond the style (see `StoreWriter`'s `drawing`), or {}.
        self.drawing = self._meta.get("drawing") or {}
        files = frame_files(self.path)
        self.steps = list(files)
        self._files = list(files.values())
        self.figures = self._figures()
        self.images, self.labels = self._inputs()

    @property
    def layers(self) -> list[str]:
        """The recorded layers' names, in model order."""
        return list(self._layers)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<RecordedRun '{self.path}': {len(self)} frames, layers {self.layers}>"

    def _figures(self) -> list[dict]:
        """Each frame's figures from the index; from the frame's own file where the index
        lacks its line (a run killed between the two writes)."""
        entries = read_index(self.path)
        figures = []
        for step, path in zip(self.steps, self._files):
            entry = entries.get(step)
            figures.append(entry["figures"] if entry is not None and entry["file"] == path.name
                           and isinstance(entry.get("figures"), dict) else frame_figures(path))
        return figures

    def _inputs(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        name = self._meta.get("inputs")
        if name is None:
            return None, None
        with np.load(self.path / name) as inputs:
            return (inputs["images"] if "images" in inputs.files else None,
                    inputs["labels"] if "labels" in inputs.files else None)

    def activations(self, layer: str, *, frames=None) -> np.ndarray:
        """One layer's outputs over the run: only that layer is read from each frame.

        >>> run.activations("dense", frames=slice(-10, None)).shape    # the last ten frames
        (10, 7, 128)

        Args:
            layer: a recorded layer's name (see `layers`).
            frames: which frames, by position: None for all, a slice, or a sequence of
                positions (negative ones count from the end).

        Returns:
            A float32 array (frames, inputs, ...).

        Raises:
            KeyError: the layer was not recorded; the message lists those that were.
        """
        if layer not in self._layers:
            raise KeyError(f"layer {layer!r} was not recorded in '{self.path}'. Recorded layers: "
                           f"{', '.join(self.layers) or 'none (the run recorded no frame)'}.")
        return self._stack(layer_member(self._layers[layer]), self.shapes[layer], frames)

    def output(self, *, frames=None) -> np.ndarray:
        """The model's outputs over the run, read as `activations` reads a layer.

        Args:
            frames: which frames, by position (see `activations`).

        Returns:
            A float32 array (frames, inputs, ...).

        Raises:
            KeyError: the run recorded no model output.
        """
        if self._meta.get("output") is None:
            raise KeyError(f"the run in '{self.path}' recorded no model output.")
        return self._stack("output", tuple(self._meta["output"]["shape"]), frames)

    def frame(self, position: int) -> RecordedFrame:
        """Everything one frame was drawn from (what a redraw needs, a frame at a time).

        Args:
            position: the frame's position in `steps` (negative counts from the end).

        Returns:
            The `RecordedFrame`.
        """
        (index,) = self._positions([position] if is_int(position) else position, "position")
        with np.load(self._files[index]) as archive:
            activations = {name: decode_member(archive, layer_member(member))
                           for name, member in self._layers.items()}
            output = decode_member(archive, "output") if "output" in archive.files else None
        return RecordedFrame(step=self.steps[index], activations=activations, output=output,
                             figures=self.figures[index])

    def _stack(self, member: str, shape: tuple, frames) -> np.ndarray:
        positions = self._positions(frames, "frames")
        inputs = len(self.images) if self.images is not None else None
        stacked = None
        for row, index in enumerate(positions):
            with np.load(self._files[index]) as archive:
                values = decode_member(archive, member)
            if stacked is None:
                inputs = len(values) if inputs is None else inputs
                stacked = np.empty((len(positions), inputs, *shape), dtype=np.float32)
            stacked[row] = values
        return stacked if stacked is not None else np.empty((0, inputs or 0, *shape), dtype=np.float32)

    def _positions(self, frames, argument: str) -> list[int]:
        """Frame positions from None, a slice or a sequence of ints, checked."""
        count = len(self.steps)
        if frames is None:
            return list(range(count))
        if isinstance(frames, slice):
            return list(range(count))[frames]
        if isinstance(frames, (str, bytes)) or not isinstance(frames, (Sequence, np.ndarray)) \
                or not all(is_int(item) for item in frames):
            raise TypeError(f"{argument} must be None, a slice, or a sequence of frame positions (ints). "
                            f"Received: {argument}={frames!r:.200}.")
        outside = [int(item) for item in frames if not -count <= item < count]
        if outside:
            raise IndexError(f"{argument}: frame positions must lie in -{count}..{count - 1} ({count} frames "
                             f"recorded). Received: {outside[:10]}.")
        return [int(item) % count for item in frames]
