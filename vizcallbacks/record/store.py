"""`StoreWriter`: writes a run's activation store (its format: `format.py`), one frame at a
time, atomically, resuming after the last whole frame.

>>> with StoreWriter("run", images=x_test[:7], labels=y_test[:7]) as store:
...     store.append(250, {"conv1": conv1_out, "dense": dense_out}, output=probabilities,
...                  figures={"epoch": 1, "batch": 249, "loss": 0.41})
>>> vizcallbacks.open_run("run").activations("conv1").shape
(1, 7, 26, 26, 64)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..checks import check_bool, check_choice, check_path, check_writable_dir, is_int
from ..framefiles import PARTIAL_GLOB, write_atomically
from .format import (DEFAULT_PRECISION, FORMAT_NAME, FORMAT_VERSION, INDEX_NAME, INPUTS_NAME, META_NAME,
                     PRECISIONS, STORE_DIR, archive_bytes, encode_member, frame_file_name, frame_files,
                     frame_figures, json_value, layer_member, package_version, read_index, read_meta,
                     same_array)

__all__ = ["StoreWriter"]


class StoreWriter:
    """Writes a run's activation store, `run_dir/store/`, one frame at a time: each frame's
    archive atomically, then its index line, flushed. Not thread-safe: one thread appends.

    Opening a store that is there continues it after its last whole frame (what a killed
    run was writing is removed), unless `overwrite` starts it afresh.

    >>> store = StoreWriter("run", images=x_test[:7], labels=y_test[:7], style=FrameStyle())
    >>> store.open()                 # optional: fails early (a newer store, other inputs)
    >>> store.append(50, {"conv1": conv1_out, "dense": dense_out}, output=probabilities,
    ...              figures={"epoch": 1, "batch": 49, "loss": 0.9})
    >>> store.close()

    Args:
        run_dir: the run folder (a callback's frames_dir, a `train` output folder, a compare
            run's folder); the store is its `store/` folder, made when the writer opens.
        images: the inputs shown, one entry per input (the activations' first axis); kept
            once, exactly. None when there are none to keep.
        labels: their labels, one per input; None for none.
        style: the drawing options, a `FrameStyle` (kept as its `to_dict()`) or a mapping of
            its fields; None for none.
        precision: how layer outputs are kept: "uint8" (per-channel levels), "float16" or
            "float32" (see the module's docstring); None for the existing store's, or
            "uint8" for a new one.
        overwrite: start afresh, removing the store that is there, and let a step appended
            again replace its frame; otherwise an existing store is continued and a step it
            holds is refused.
        drawing: what a redraw needs beyond the style, JSON-ready: each layer's class
            (`layer_classes`), how the model's output reads (`output_kind`), the layers
            drawn as columns (`shown`), the frame names' digits; None for none.
    """

    def __init__(self, run_dir, *, images=None, labels=None, style=None, precision: str | None = None,
                 overwrite: bool = False, drawing: dict | None = None):
        self.store_dir = check_path(run_dir, "run_dir") / STORE_DIR
        self.images = _optional_array(images, "images")
        self.labels = _optional_array(labels, "labels")
        if self.images is not None and self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"labels must have one entry per image: {len(self.images)} images. "
                             f"Received: labels of length {len(self.labels)}.")
        self.style = _style_dict(style)
        self.precision = None if precision is None else check_choice(precision, "precision", PRECISIONS)
        self.overwrite = check_bool(overwrite, "overwrite")
        self.drawing = None if drawing is None else json_value(dict(drawing))
        self._meta: dict | None = None
        self._steps: set[int] = set()
        self._index = None

    @property
    def steps(self) -> list[int]:
        """The steps the store holds, in order (opens the store)."""
        self.open()
        return sorted(self._steps)

    @property
    def last_step(self) -> int | None:
        """The last step the store holds, None when it holds no frame (opens the store)."""
        return max(self.steps, default=None)

    def open(self) -> StoreWriter:
        """Make the store ready: start it, or continue the one there; called by the first
        `append` when not before. Calling it again does nothing.

        Returns:
            The writer.

        Raises:
            ValueError: the folder cannot be written; the store there was written by a
                newer vizcallbacks, at another precision, or for other inputs.
        """
        if self._meta is not None:
            return self
        check_writable_dir(self.store_dir, "run_dir")
        if self.overwrite:
            self._clear()
        for stale in self.store_dir.glob(PARTIAL_GLOB):
            stale.unlink()  # what a killed run was writing
        if (self.store_dir / META_NAME).exists():
            meta = self._continued(read_meta(self.store_dir, argument="run_dir"))
        else:
            meta = self._begun()
        self._steps = set(frame_files(self.store_dir))
        self._repair_index()
        self._index = open(self.store_dir / INDEX_NAME, "a", encoding="utf-8")
        self._meta = meta
        return self

    def _clear(self) -> None:
        for path in [*frame_files(self.store_dir).values(), *self.store_dir.glob(PARTIAL_GLOB)]:
            path.unlink()
        for name in (INDEX_NAME, INPUTS_NAME, META_NAME):
            (self.store_dir / name).unlink(missing_ok=True)

    def _begun(self) -> dict:
        """A new store's description, written with its inputs."""
        meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "written_by": f"vizcallbacks {package_version()}",
                "precision": self.precision or DEFAULT_PRECISION, "layers": None, "output": None,
                "inputs": None, "style": self.style, "drawing": self.drawing}
        self._write_inputs(meta)
        self._write_meta(meta)
        return meta

    def _write_meta(self, meta: dict) -> None:
        write_atomically(self.store_dir / META_NAME, json.dumps(meta, indent=1).encode("utf-8"))

    def _write_inputs(self, meta: dict) -> None:
        inputs = {name: array for name, array in (("images", self.images), ("labels", self.labels))
                  if array is not None}
        if inputs:
            write_atomically(self.store_dir / INPUTS_NAME, archive_bytes(inputs))
            meta["inputs"] = INPUTS_NAME

    def _continued(self, meta: dict) -> dict:
        """The description of the store there, checked against this writer's arguments;
        inputs or a style it lacks are added."""
        kept = meta.get("precision")
        if self.precision is not None and self.precision != kept:
            raise ValueError(
                f"run_dir: the activation store at '{self.store_dir}' keeps precision {kept!r}, and this "
                f"run continues it. Received: precision={self.precision!r}; pass precision=None (or "
                f"{kept!r}) to continue it, or overwrite=True to start afresh.")
        changed = self._check_inputs(meta)
        if self.style is not None and self.style != meta.get("style"):
            meta["style"], changed = self.style, True
        if self.drawing is not None and self.drawing != meta.get("drawing"):
            meta["drawing"], changed = self.drawing, True
        if changed:
            self._write_meta(meta)
        return meta

    def _check_inputs(self, meta: dict) -> bool:
        """Whether the inputs were written now (the store had none); a ValueError when the
        store's inputs differ from this writer's."""
        if self.images is None and self.labels is None:
            return False
        if meta.get("inputs") is None:
            self._write_inputs(meta)
            return True
        with np.load(self.store_dir / meta["inputs"]) as stored:
            for name, array in (("images", self.images), ("labels", self.labels)):
                if array is not None and (name not in stored.files or not same_array(stored[name], array)):
                    raise ValueError(
                        f"{name}: the activation store at '{self.store_dir}' was recorded with other {name} "
                        "than these; a run that continues it must show the same inputs. Pass "
                        "overwrite=True to start afresh, or choose another folder.")
        return False

    def _repair_index(self) -> None:
        """Rewrite the index from the frame files when it does not list exactly them (a
        torn last line, a frame whose line was never written, a step written twice)."""
        entries = read_index(self.store_dir)
        lines = []
        for step, path in frame_files(self.store_dir).items():
            entry = entries.get(step)
            if entry is None or entry["file"] != path.name:
                entry = {"step": step, "file": path.name, "figures": frame_figures(path)}
            lines.append(json.dumps(entry) + "\n")
        wanted = "".join(lines).encode("utf-8")
        index = self.store_dir / INDEX_NAME
        if not index.exists() or index.read_bytes() != wanted:
            write_atomically(index, wanted)

    def append(self, step: int, activations: Mapping[str, np.ndarray], output=None, figures=None) -> Path:
        """Record one frame: its file is written whole or not at all, then its index line.

        Args:
            step: the frame's training step (0 or more): its key in the store.
            activations: {layer name: its output for the shown inputs, (inputs, ...)}, in
                model order; every frame records the same layers, the first fixes them.
            output: the model's output for the inputs (inputs, ...); given for every frame or
                for none.
            figures: the frame's figures ({"epoch": 1, "loss": 0.4, ...}), JSON-ready values;
                non-finite numbers are kept as null.

        Returns:
            The frame's file.

        Raises:
            FileExistsError: the store holds `step` already, and `overwrite` is False.
            TypeError, ValueError: an argument is not what is described above.
        """
        self.open()
        if not is_int(step) or step < 0:
            raise ValueError(f"step must be an integer, 0 or more. Received: step={step!r}.")
        step = int(step)
        if step in self._steps and not self.overwrite:
            raise FileExistsError(
                f"the activation store at '{self.store_dir}' holds step {step} already, and it is kept. "
                "Pass overwrite=True to replace it.")
        arrays = self._checked(activations)
        output = None if output is None else np.asarray(output)
        if self._meta["layers"] is None:
            self._fix_layers(arrays, output)
        self._check_layers(arrays, output)
        figures = json_value(dict(figures or {}))
        path = self.store_dir / frame_file_name(step)
        write_atomically(path, archive_bytes(self._members(step, arrays, output, figures)))
        self._index.write(json.dumps({"step": step, "file": path.name, "figures": figures}) + "\n")
        self._index.flush()
        self._steps.add(step)
        return path

    def _members(self, step: int, arrays: dict, output, figures: dict) -> dict[str, np.ndarray]:
        members = {"step": np.int64(step),
                   "figures": np.frombuffer(json.dumps(figures).encode("utf-8"), dtype=np.uint8)}
        for position, layer in enumerate(self._meta["layers"]):
            members.update(encode_member(arrays[layer["name"]], layer_member(position), self._meta["precision"]))
        if output is not None:
            members["output"] = output if not np.issubdtype(output.dtype, np.floating) \
                else output.astype(np.float32)
        return members

    def _checked(self, activations) -> dict[str, np.ndarray]:
        """The layer outputs as arrays, all for the same inputs."""
        if not isinstance(activations, Mapping) or not activations:
            raise TypeError("activations must be a non-empty dict of {layer name: output array (inputs, ...)}. "
                            f"Received: {type(activations).__name__} {activations!r:.200}.")
        arrays = {}
        for name, values in activations.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"activations: layer names must be non-empty strings. Received: {name!r}.")
            arrays[name] = np.asarray(values)
            if arrays[name].ndim == 0 or arrays[name].dtype.kind not in "biuf":
                raise TypeError(f"activations[{name!r}] must be a numeric array (inputs, ...). Received: "
                                f"dtype {arrays[name].dtype}, shape {arrays[name].shape}.")
        counts = {name: len(values) for name, values in arrays.items()}
        expected = len(self.images) if self.images is not None else next(iter(counts.values()))
        wrong = {name: count for name, count in counts.items() if count != expected}
        if wrong:
            raise ValueError(f"activations: every layer's output must have one entry per input shown "
                             f"({expected}) on its first axis. Received: {wrong}.")
        return arrays

    def _fix_layers(self, arrays: dict, output) -> None:
        """The first frame fixes the store's layers (in its order) and output."""
        self._meta["layers"] = [{"name": name, "shape": list(values.shape[1:]), "dtype": str(values.dtype)}
                                for name, values in arrays.items()]
        self._meta["output"] = None if output is None else {"shape": list(output.shape[1:]),
                                                             "dtype": str(output.dtype)}
        self._write_meta(self._meta)

    def _check_layers(self, arrays: dict, output) -> None:
        layers = {layer["name"]: tuple(layer["shape"]) for layer in self._meta["layers"]}
        received = {name: values.shape[1:] for name, values in arrays.items()}
        if received != layers:
            raise ValueError(
                f"activations: the activation store at '{self.store_dir}' records the layers "
                f"{_shapes_text(layers)}; every frame must record the same. Received: {_shapes_text(received)}. "
                "Pass overwrite=True to start afresh, or choose another folder.")
        expected = self._meta["output"]
        if (output is None) != (expected is None) or (
                output is not None and list(output.shape[1:]) != expected["shape"]):
            want = "no output" if expected is None else f"an output of shape (inputs, *{tuple(expected['shape'])})"
            got = "none" if output is None else f"shape {output.shape}"
            raise ValueError(f"output: the activation store at '{self.store_dir}' records {want} for every "
                             f"frame. Received: {got}.")

    def discard_after(self, step: int) -> list[int]:
        """Remove the frames after `step`: a resumed run that draws them again, with
        overwrite, makes them anew (as `FramesFolder.prepare` does for the PNGs).

        Args:
            step: the last step kept.

        Returns:
            The steps removed, in order.
        """
        self.open()
        if not is_int(step):
            raise TypeError(f"step must be an integer. Received: step={step!r} ({type(step).__name__}).")
        removed = [kept for kept in sorted(self._steps) if kept > step]
        for kept in removed:
            (self.store_dir / frame_file_name(kept)).unlink(missing_ok=True)
            self._steps.discard(kept)
        if removed:
            self._index.close()
            self._repair_index()
            self._index = open(self.store_dir / INDEX_NAME, "a", encoding="utf-8")
        return removed

    def close(self) -> None:
        """Close the index; calling it again does nothing. Every frame appended is kept."""
        if self._index is not None:
            self._index.close()
            self._index = None
        self._meta = None

    def __enter__(self) -> StoreWriter:
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()


def _shapes_text(layers: Mapping[str, tuple]) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in layers.items()) or "none"


def _style_dict(style) -> dict | None:
    if style is None:
        return None
    if hasattr(style, "to_dict"):
        return json_value(style.to_dict())
    if isinstance(style, Mapping):
        return json_value(dict(style))
    raise TypeError("style must be a vizcallbacks.FrameStyle, a mapping of its fields, or None. "
                    f"Received: style={style!r} ({type(style).__name__}).")


def _optional_array(value, argument: str) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype == object or array.ndim == 0:
        raise TypeError(f"{argument} must be an array with one entry per input shown, or None. "
                        f"Received: {argument} of type {type(value).__name__}"
                        f"{'' if array.dtype == object else ' with no axes'}.")
    return array
