"""What `PlotConvCallback` takes, read and checked before any model is known: the images
and their labels, the movies and sinks, the manifest's place, and the keywords of the
release before (`Legacy`), each with the spelling that replaced it."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checks import check_bool, check_fps, check_path
from .render.style import STYLE_FIELDS, FrameStyle
from .sinks import MovieSink, NotebookSink, Sink
from .sinks.tensorboard import check_tensorboard_dir

__all__ = ["select_images", "input_parts", "check_sinks", "Legacy", "check_manifest_path", "check_listed_movies", "name_digits",
           "movie_paths"]


def _several(value) -> bool:
    """Whether `value` is one batch per input (or per output): a dict, or a list or tuple
    of arrays of different shapes (same-shaped arrays stack into one batch, as before)."""
    if isinstance(value, Mapping):
        return True
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return False
    if not all(isinstance(part, np.ndarray) and part.ndim >= 1 for part in value):
        return False
    return len({part.shape for part in value}) > 1


def _several_labels(labels, count: int) -> bool:
    """Whether `labels` is one truth per output head: a dict, or a list or tuple of arrays
    (or None) each holding one entry per input, where there are not `count` of them."""
    if isinstance(labels, Mapping):
        return True
    if not isinstance(labels, (list, tuple)) or not labels:
        return False
    parts = [part for part in labels if part is not None]
    return (len(parts) < len(labels) or len(labels) != count) and all(
        isinstance(part, np.ndarray) and part.ndim >= 1 and len(part) == count for part in parts)


def _pick(value, indices):
    """`value[indices]` for an array, a list of arrays or a dict of them (None stays)."""
    if value is None or indices is None:
        return value
    if isinstance(value, Mapping):
        return {name: None if part is None else np.asarray(part)[indices] for name, part in value.items()}
    if isinstance(value, (list, tuple)):
        return [None if part is None else np.asarray(part)[indices] for part in value]
    return np.asarray(value)[indices]


def input_parts(images) -> list:
    """The batches of what `select_images` returned: one, or one per input.

    Args:
        images: an array, a list of arrays or a dict of them.
    """
    if isinstance(images, Mapping):
        return list(images.values())
    return list(images) if isinstance(images, list) else [images]


def select_images(images, indices, labels):
    """The images and labels to show: `images[indices]` (all without `indices`), checked.

    Args:
        images: the inputs: one batch, or one per input of a model with several (a dict
            by input name, or a list of batches of different shapes).
        indices: which of them (the keyword of the release before), or None.
        labels: one label per image, or None; for several outputs, a list or dict of them.
    """
    several = _several(images)
    parts = list(images.values() if isinstance(images, Mapping) else images) if several else [images]
    arrays = [np.asarray(part) for part in parts]
    for array in arrays:
        if array.ndim == 0 or len(array) == 0:
            raise ValueError(f"images is empty: received shape {array.shape}. Give at least one image.")
    count = len(arrays[0])
    if len({len(array) for array in arrays}) > 1:
        raise ValueError(f"images: every input must hold the same number of examples. Received lengths "
                         f"{[len(array) for array in arrays]}.")
    if several:
        images = dict(zip(images, arrays)) if isinstance(images, Mapping) else arrays
    else:
        images = arrays[0]
    if labels is not None and not _several_labels(labels, count):
        labels = np.asarray(labels)
        if len(labels) != count:
            raise ValueError(
                f"labels must have one entry per image: {count} images, received "
                f"{len(labels)} labels."
            )
    if indices is None:
        return images, labels
    received = indices
    indices = np.asarray(indices)
    if indices.ndim != 1 or len(indices) == 0:
        raise ValueError(
            f"indices must be a non-empty list of image indices (valid: 0..{count - 1}). "
            f"Received: indices={received!r}."
        )
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be integers. Received dtype {indices.dtype}: indices={received!r}.")
    bad = indices[(indices < 0) | (indices >= count)]
    if bad.size:
        raise ValueError(
            f"indices: {bad.tolist()} out of range for {count} images (valid: 0..{count - 1})."
        )
    return _pick(images, indices), _pick(labels, indices)


def check_sinks(sinks) -> tuple[Sink, ...]:
    """`sinks` as a tuple of `Sink` instances (empty for None).

    Args:
        sinks: what the caller received: None, one `Sink`, or a list of them.

    Raises:
        TypeError: anything else; the message says what is valid.
    """
    if sinks is None:
        return ()
    items = [sinks] if isinstance(sinks, Sink) else sinks
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or not all(isinstance(sink, Sink) for sink in items):
        raise TypeError(
            "sinks must be a list of vizcallbacks.sinks.Sink instances (subclass Sink and implement "
            f"send). Received: sinks={sinks!r}."
        )
    return items


# The keywords of the release before, each with the spelling that replaces it.
_LEGACY = {
    "indices": "images=images[indices], labels=labels[indices]",
    "fps": "sinks=[MovieSink(path, fps=...)]",
    "keep_frames": "frames_dir=None",
    "live": "sinks=[NotebookSink()]",
    "tensorboard_dir": "sinks=[TensorBoardSink(log_dir)]",
    "background": "callback.background = ... after construction",
    "clock": "callback.clock = ... after construction",
    "renderer_factory": "callback.renderer_factory = ... after construction",
}


_ARGUMENTS = ("images", "labels", "frames_dir", "every_n_batches", "style", "movie_path", "sinks", "batch_size",
              "overwrite", "on_error", "manifest_path")


_ATTRIBUTES = ("background", "clock", "renderer_factory")


@dataclass
class Legacy:
    """What the keywords of the release before ask for, read once, with one DeprecationWarning.

    Args:
        indices: which images to show.
        style: the drawing options given one by one, as a `FrameStyle`.
        fps: the movies' frames per second.
        keep_frames: False for no PNGs.
        tensorboard_dir: TensorBoard's folder.
        sinks: the sinks the keywords ask for (the notebook's).
        attributes: background, clock, renderer_factory given as keywords.
    """

    indices: Sequence[int] | None = None
    style: FrameStyle | None = None
    fps: float = 10
    keep_frames: bool = True
    tensorboard_dir: Path | None = None
    sinks: tuple[Sink, ...] = ()
    attributes: dict | None = None

    @classmethod
    def read(cls, legacy: dict, *, style) -> Legacy:
        """`legacy` checked: a TypeError for a keyword that was never valid or a drawing
        option given twice; one DeprecationWarning naming the new spellings.

Args:
            legacy: the keywords received beyond the arguments.
            style: the `style` argument.
        """
        unknown = sorted(set(legacy) - set(_LEGACY) - set(STYLE_FIELDS))
        if unknown:
            raise TypeError(f"PlotConvCallback got unexpected keyword arguments {', '.join(unknown)}. Valid: "
                            f"{', '.join(_ARGUMENTS)}; the drawing options go in "
                            f"style=FrameStyle({', '.join(STYLE_FIELDS)}).")
        drawing = {name: value for name, value in legacy.items() if name in STYLE_FIELDS}
        if drawing and style is not None:
            raise TypeError(f"PlotConvCallback: give the drawing options in style= only; received style= and "
                            f"{', '.join(sorted(drawing))}=.")
        if not legacy:
            return cls()
        new = [f"style=FrameStyle({', '.join(f'{name}=...' for name in drawing)})"] if drawing else []
        new += [_LEGACY[name] for name in legacy if name in _LEGACY]
        warnings.warn(f"PlotConvCallback({', '.join(f'{name}=...' for name in legacy)}): these keywords will be "
                      f"removed in the next release; write {'; '.join(new)}.", DeprecationWarning, stacklevel=3)
        return cls._from(legacy, drawing)

    @classmethod
    def _from(cls, legacy: dict, drawing: dict) -> Legacy:
        live = check_bool(legacy.get("live", False), "live")
        return cls(indices=legacy.get("indices"), style=FrameStyle(**drawing) if drawing else None,
                   fps=check_fps(legacy.get("fps", 10)),
                   keep_frames=check_bool(legacy.get("keep_frames", True), "keep_frames"),
                   tensorboard_dir=check_tensorboard_dir(legacy.get("tensorboard_dir")),
                   sinks=(NotebookSink(),) if live else (),
                   attributes={name: legacy[name] for name in _ATTRIBUTES if name in legacy})

    def set_attributes(self, callback) -> None:
        """`background`, `clock` and `renderer_factory` given as keywords, set as attributes.

Args:
            callback: the callback being made.
        """
        for name, value in (self.attributes or {}).items():
            setattr(callback, name, check_bool(value, name) if name == "background" else value)


def check_manifest_path(manifest_path, frames_dir: Path | None) -> Path | None:
    """`manifest_path` checked: it needs `frames_dir`.

    Args:
        manifest_path: what the caller received, or None.
        frames_dir: the checked frames_dir, or None.
    """
    if manifest_path is None:
        return None
    if frames_dir is None:
        raise ValueError("manifest_path lists the PNG frames of frames_dir, which is None: give frames_dir too, "
                         f"or leave manifest_path out. Received: manifest_path={str(manifest_path)!r}.")
    return check_path(manifest_path, "manifest_path")


def check_listed_movies(movie_sinks: Sequence[MovieSink], *, overwrite: bool) -> None:
    """Each movie once, and none that would replace a file unless `overwrite`.

Args:
        movie_sinks: every movie sink, own and listed.
        overwrite: whether an existing movie may be replaced.
    """
    from .movie import check_movie_path

    paths = [sink.path for sink in movie_sinks]
    duplicates = sorted({str(p) for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"movie_path and sinks name the same movie twice: {duplicates}. Give each movie its "
                         "own path.")
    for path in paths:
        try:
            check_movie_path(path, overwrite=overwrite)
        except (TypeError, ValueError, OSError) as error:
            raise type(error)(f"movie_path: {error}") from None


def name_digits(*, epochs: int, steps: int | None) -> tuple[int, int]:
    """Zero-padding of epoch and batch in frame names, wide enough for this run, at
    least the notes' 2 and 4 (6 for batches when the epoch length is unknown).

Args:
        epochs: the epochs of the fit.
        steps: the batches of an epoch, or None when unknown.
    """
    batch_digits = max(4, len(str(steps - 1))) if steps else 6
    return max(2, len(str(epochs))), batch_digits


def movie_paths(movie_path, *, overwrite: bool) -> tuple[Path, ...]:
    """`movie_path` as a tuple of paths, each checked now: a known extension, not a
    folder, not an existing movie unless overwrite (its folder is made at train begin).

Args:
        movie_path: None, a path, or a list of paths.
        overwrite: whether an existing movie may be replaced.
    """
    from .movie import check_movie_path

    if movie_path is None:
        return ()
    if isinstance(movie_path, (str, os.PathLike)):
        movie_path = [movie_path]
    try:
        paths = list(movie_path)
    except TypeError:
        raise TypeError(
            "movie_path must be a path or a list of paths (.gif, .mp4, .webm). "
            f"Received: movie_path={movie_path!r}."
        ) from None
    checked = []
    for path in paths:
        try:
            checked.append(check_movie_path(path, overwrite=overwrite))
        except (TypeError, ValueError, OSError) as error:
            raise type(error)(f"movie_path: {error}") from None
    duplicates = sorted({str(p) for p in checked if checked.count(p) > 1})
    if duplicates:
        raise ValueError(f"movie_path names the same file twice: {duplicates}. Give each movie its own path.")
    return tuple(checked)
