"""Argument types the commands share: each turns one flag's text into a value, or
raises `argparse.ArgumentTypeError` saying what was received and what is valid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the flags' module stays light
    from ..trackers import Trackers


def _number(text: str, convert, *, valid, what: str):
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}")
    return value


def positive(text: str) -> int:
    """A positive integer (`--every 20`).

    Args:
        text: the flag's text.
    """
    return _number(text, int, valid=lambda v: v >= 1, what="a positive integer")


def non_negative(text: str) -> int:
    """An integer, 0 or more (`--channel 0`).

    Args:
        text: the flag's text.
    """
    return _number(text, int, valid=lambda v: v >= 0, what="a non-negative integer")


def positive_float(text: str) -> float:
    """A positive number (`--fps 12.5`).

    Args:
        text: the flag's text.
    """
    return _number(text, float, valid=lambda v: v > 0, what="a positive number")


def int_list(text: str) -> list[int]:
    """Integers separated by commas (`1,5,10`).

    Args:
        text: the flag's text.
    """
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, received {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one integer, received {text!r}")
    return values


def index_list(text: str) -> list[int]:
    """Indices 0, 1, 2, ... separated by commas (`--images 0,23,28`).

    Args:
        text: the flag's text.
    """
    values = int_list(text)
    if any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected indices 0, 1, 2, ... separated by commas, received {text!r}")
    return values


def positive_list(text: str) -> list[int]:
    """Positive integers separated by commas (`--batch-sizes 32,128`).

    Args:
        text: the flag's text.
    """
    values = int_list(text)
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, received {text!r}")
    return values


def names(text: str) -> list[str]:
    """Names separated by commas (`--layers conv1,dense`).

    Args:
        text: the flag's text.
    """
    found = [part.strip() for part in text.split(",") if part.strip()]
    if not found:
        raise argparse.ArgumentTypeError(f"expected names separated by commas, received {text!r}")
    return found


def formats(text: str) -> list[str]:
    """Movie formats separated by commas (`--format gif,mp4`), lower case, without dots.

    Args:
        text: the flag's text.
    """
    from ..train import MOVIE_FORMATS

    found = [part.strip().lower().lstrip(".") for part in text.split(",") if part.strip()]
    for fmt in found:
        if fmt not in MOVIE_FORMATS:
            raise argparse.ArgumentTypeError(
                f"unknown format {fmt!r}; valid: {', '.join(MOVIE_FORMATS)} (comma-separated)")
    return found


def data_folder(text: str) -> str:
    """A folder that exists (`--data-dir ~/data`).

    Args:
        text: the flag's text.
    """
    if not Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(
            f"no such folder: {text!r}; give the folder that holds the four IDX files "
            "(train-images-idx3-ubyte.gz, ...) or the .npz")
    return text


def tensorboard_folder(text: str) -> str:
    """A folder for TensorBoard's event files (`--tensorboard logs/run1`), once tensorboardX
    is known to be installed, so that a missing package is said before training.

    Args:
        text: the flag's text.
    """
    from ...sinks.tensorboard import check_tensorboard_dir

    try:
        check_tensorboard_dir(text, "--tensorboard")
    except ImportError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def seeds(text: str) -> int | list[int]:
    """A count of seeds (`--seeds 3`) or seeds separated by commas (`--seeds 0,5,7`).

    Args:
        text: the flag's text.
    """
    if "," not in text:
        return positive(text)
    values = int_list(text)
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected different seeds, received {text!r}")
    return values


def vary(text: str) -> tuple[str, tuple]:
    """A hyper-parameter and its values (`--vary learning_rate=0.01,0.05,0.2`).

    Args:
        text: the flag's text.
    """
    from ..compare import parse_vary

    try:
        return parse_vary(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def style_fields(args) -> dict:
    """The `FrameStyle` fields the drawing flags a command has ask for (`--layers`,
    `--channels` or `--channel`, `--cmap`, `--cell-px`, `--normalization`): only those
    given. `--layers all` is "all"; a layer given as a number is its index.

    Args:
        args: the parsed flags.

    Returns:
        field name -> value.
    """
    fields = {}
    layers = getattr(args, "layers", None)
    if layers is not None:
        fields["layers"] = "all" if list(layers) == ["all"] else tuple(
            int(name) if isinstance(name, str) and name.isdigit() else name for name in layers)
    if getattr(args, "channels", None) is not None:
        fields["channels"] = tuple(args.channels)
    elif getattr(args, "channel", None) is not None:
        fields["channels"] = (args.channel,)
    for name in ("cmap", "cell_px", "normalization"):
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    return fields


def style_from_flags(args, **fixed):
    """The `FrameStyle` the drawing flags a command has ask for (`style_fields`); flags a
    command lacks, or leaves unset, keep the style's defaults. The one way each command turns
    flags into a style.

    >>> style_from_flags(args, channels_per_image=1)

    Args:
        args: the parsed flags.
        **fixed: fields the command sets itself, whatever the flags.

    Returns:
        The checked `FrameStyle`.

    Raises:
        TypeError, ValueError: a field is not valid (the message names it).
    """
    from ...render.style import FrameStyle

    return FrameStyle(**{**style_fields(args), **fixed})


def add_tracker_flags(parser) -> None:
    """`--mlflow URI` and `--wandb PROJECT`, the same on every command that makes frames.

    Args:
        parser: the command's parser.
    """
    group = parser.add_argument_group("experiment trackers")
    group.add_argument("--mlflow", default=None, metavar="URI",
                       help="also log the frames (images at their steps), the figures (metrics) and the movie "
                            "(artifact) to MLflow at URI: sqlite:///mlflow.db, http://host:5000 "
                            "(pip install 'vizcallbacks[mlflow]')")
    group.add_argument("--wandb", default=None, metavar="PROJECT",
                       help="the same into Weights & Biases project PROJECT; WANDB_MODE=offline keeps the run "
                            "on disk (pip install 'vizcallbacks[wandb]')")


def trackers(args) -> Trackers | None:
    """The `Trackers` that `--mlflow` and `--wandb` ask for; None without either.

    Args:
        args: the parsed flags.
    """
    from ..trackers import Trackers

    found = Trackers(mlflow=getattr(args, "mlflow", None), wandb=getattr(args, "wandb", None))
    return found or None


def tracker_sinks(args, out_dir) -> list:
    """The sinks of `--mlflow` and `--wandb` for a run written in `out_dir`, named after it.

    Args:
        args: the parsed flags.
        out_dir: the run's folder.
    """
    found = trackers(args)
    return [] if found is None else found.sinks(out_dir)
