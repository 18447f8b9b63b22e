"""Checks that several modules make of their arguments, each written once, with one wording;
and `available_cpus`, the one default for how much to do at once.

Every check raises at once, naming the argument, what was received and what is valid, the
way Keras words its errors (``"... Received: fps=0"``); the value comes back converted
(``check_fps(10)`` is ``10.0``). matplotlib keeps such checks in ``_api``, Keras its file
work in ``file_utils``; here they live in this module, which imports nothing of the package.

>>> every_n_batches = check_positive_int(every_n_batches, "every_n_batches")
>>> fps = check_fps(fps)
>>> frames_dir = check_writable_dir(frames_dir, "frames_dir")
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["is_int", "is_real", "check_bool", "check_optional_name", "check_positive_int", "check_int_in_range", "check_non_negative_int",
           "check_positive_number", "check_fps", "check_choice", "check_cmap", "check_path",
           "check_writable_dir", "check_rgb_frame", "available_cpus"]


def is_int(value) -> bool:
    """Whether `value` is an integer (Python's or numpy's), and not a bool.

    `True` is an `int` to Python, but `every_n_batches=True` is a mistake, not a 1.

    Args:
        value: anything.

    Returns:
        True for `3` or `np.int64(3)`, False for `True`, `3.0` or `"3"`.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """Whether `value` is a real number (int, float or numpy's), and not a bool.

    Args:
        value: anything.

    Returns:
        True for `2`, `2.5` or `np.float32(2.5)`, NaN included; False for `True` or `"2"`.
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(value, argument: str) -> bool:
    """`value`, or a TypeError saying that `argument` must be True or False.

    Args:
        value: what the caller received.
        argument: the argument's name (`"live"`).

    Returns:
        `value`, a bool.

    Raises:
        TypeError: `value` is not a bool (1 and "yes" are not).
    """
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be True or False. Received: {argument}={value!r}.")
    return value


def check_optional_name(value, argument: str) -> str | None:
    """`value`, once known to be a non-empty string or None (a run's name, a project).

    Args:
        value: what the caller received.
        argument: the argument's name (`"run_name"`).

    Raises:
        ValueError: anything else.
    """
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{argument} must be a non-empty string or None. Received: {argument}={value!r}.")
    return value


def check_positive_int(value, argument: str) -> int:
    """`value` as an int, or a ValueError saying that `argument` must be a positive integer.

    Args:
        value: what the caller received.
        argument: the argument's name, as the caller knows it (`"every_n_batches"`).

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not an integer (a bool is not), or is below 1.
    """
    if not is_int(value) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}.")
    return int(value)


def check_non_negative_int(value, argument: str) -> int:
    """`value` as an int, or a ValueError saying that `argument` must be 0 or more.

    Args:
        value: what the caller received.
        argument: the argument's name (`"channel"`).

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not an integer (a bool is not), or is negative.
    """
    if not is_int(value) or value < 0:
        raise ValueError(f"{argument} must be a non-negative integer. Received: {argument}={value!r}.")
    return int(value)


def check_int_in_range(value, argument: str, low: int, high: int) -> int:
    """`value` as an int, or a ValueError saying that `argument` must lie in `low..high`.

    Args:
        value: what the caller received.
        argument: the argument's name (`"cell_px"`).
        low: the smallest valid value.
        high: the largest valid value.

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not an integer (a bool is not), or lies outside `low..high`.
    """
    if not is_int(value) or not low <= value <= high:
        raise ValueError(f"{argument} must be an integer in {low}..{high}. Received: {argument}={value!r}.")
    return int(value)


def check_seed(value, argument: str = "seed") -> int:
    """`value` as an int, or a ValueError: a seed is what numpy's and every backend's
    generators take, an integer in 0..2**32 - 1.

    Args:
        value: what the caller received.
        argument: the argument's name (`"seed"`, `"seeds"`).

    Returns:
        `int(value)`.

    Raises:
        ValueError: not an integer in 0..2**32 - 1.
    """
    return check_int_in_range(value, argument, 0, 2**32 - 1)


def check_positive_number(value, argument: str, *, unit: str = "") -> float:
    """`value` as a float, or a ValueError saying that `argument` must be a positive,
    finite number.

    Args:
        value: what the caller received.
        argument: the argument's name (`"learning_rate"`).
        unit: what the number counts, for the message (`"frames per second"`); optional.

    Returns:
        `float(value)`.

    Raises:
        ValueError: `value` is not a real number (a bool is not), is NaN or infinite, or
            is 0 or below.
    """
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        of = f" of {unit}" if unit else ""
        raise ValueError(f"{argument} must be a positive, finite number{of}. Received: {argument}={value!r}.")
    return float(value)


def check_fps(fps) -> float:
    """`fps` as a float: a movie's frames per second, positive and finite.

    Args:
        fps: what the caller received.

    Returns:
        `float(fps)`.

    Raises:
        ValueError: `fps` is not a positive, finite number.
    """
    return check_positive_number(fps, "fps", unit="frames per second")


def check_choice(value, argument: str, choices: Iterable):
    """`value`, or a ValueError listing the `choices` that `argument` may take.

    Args:
        value: what the caller received.
        argument: the argument's name (`"normalization"`).
        choices: the valid values.

    Returns:
        `value`, unchanged.

    Raises:
        ValueError: `value` is not one of `choices`.
    """
    choices = tuple(choices)
    try:
        found = value in choices
    except TypeError:  # an unhashable value, for choices that are a dict's keys
        found = False
    if not found:
        valid = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{argument} must be one of {valid}. Received: {argument}={value!r}.")
    return value


def check_cmap(cmap) -> str:
    """`cmap`, or a ValueError saying that it must name a matplotlib colormap.

    Args:
        cmap: what the caller received.

    Returns:
        `cmap`, unchanged.

    Raises:
        ValueError: no matplotlib colormap has the name `cmap`.
    """
    import matplotlib

    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(
            f"cmap must be a matplotlib colormap name, e.g. 'inferno', 'viridis', 'gray'. Received: cmap={cmap!r}."
        )
    return cmap


def check_path(value, argument: str) -> Path:
    """`value` as a Path, or a TypeError saying that `argument` must be a path.

    Args:
        value: what the caller received.
        argument: the argument's name (`"frames_dir"`).

    Returns:
        `Path(value)`.

    Raises:
        TypeError: `value` is neither a str nor an os.PathLike.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a path. Received: {argument}={value!r} "
                        f"({type(value).__name__}); give a str or an os.PathLike.")
    return Path(value)


def check_writable_dir(folder, argument: str, *, create: bool = True) -> Path:
    """Make `folder` (with `create`) and prove that a file can be written in it.

    A real file is written and removed: `os.access` answers yes to root everywhere but on
    read-only mounts, while folders such as /proc, a full disk or a network folder refuse.

    Args:
        folder: the folder, a str or os.PathLike.
        argument: what the message names first (`"frames_dir"`, `"out_dir (--out)"`).
        create: make the folder and its parents when missing; if False, a missing folder
            raises FileNotFoundError.

    Returns:
        `Path(folder)`.

    Raises:
        ValueError: the folder cannot be made, or nothing can be written in it.
        FileNotFoundError: with `create=False`, the folder does not exist.
        NotADirectoryError: with `create=False`, `folder` is a file.
    """
    path = Path(folder)
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(
                f"{argument}: cannot create folder {str(path)!r}: {error.strerror or error}. Choose a "
                "folder you can write to."
            ) from None
    elif path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{argument}: {str(path)!r} is a file, not a folder. Choose a folder.")
    elif not path.is_dir():
        raise FileNotFoundError(f"{argument}: folder {str(path)!r} does not exist. Create it first.")
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{argument}: folder {str(path)!r} is not writable. Choose a folder you can write to.")
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ValueError(
            f"{argument}: cannot write in folder {str(path)!r}: {error.strerror or error}. Choose "
            "a folder you can write to."
        ) from None
    return path


def check_rgb_frame(frame, argument: str = "frame"):
    """`frame`, or an error saying that `argument` must be an RGB image: a numpy uint8 array
    of shape (height, width, 3), neither side 0.

    Args:
        frame: what the caller received.
        argument: what the message names (`"frame 3"`, `"TensorBoardSink.send: frame"`).

    Returns:
        `frame`, unchanged.

    Raises:
        TypeError: `frame` is not a numpy array.
        ValueError: its dtype is not uint8, or its shape is not (height, width, 3).
    """
    import numpy as np

    if not isinstance(frame, np.ndarray):
        raise TypeError(f"{argument} must be a numpy array of shape (height, width, 3) and dtype uint8. "
                        f"Received: {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"{argument} must have dtype uint8 (RGB values 0..255). Received: dtype={frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"{argument} must have shape (height, width, 3). Received: shape={frame.shape}")
    return frame


def available_cpus() -> int:
    """How many CPUs this process may use (in a container, fewer than the machine has);
    the default for how many things to do at once.

    Returns:
        A count, at least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
