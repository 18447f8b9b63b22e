"""`FrameStyle`: how a frame looks, as one immutable value.

The callback, `plot_conv`, `ConvPlotter`, `compare`, `lr-find` and the command line all take
one; the renderer reads it; a run saves it beside its frames (`to_dict`), so that a frame can
be drawn again with one field changed (`replace`). Every field is checked once, here, when
the style is made; what needs the model (a layer name, a channel index) is checked when
training begins.

>>> style = FrameStyle(channels=(0, 3), cmap="viridis", cell_px=40)
>>> smaller = style.replace(cell_px=24)
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Mapping, Sequence

from ..capture.layers import check_layer_choice
from ..checks import check_bool, check_choice, check_cmap, check_int_in_range, is_int
from .inputs import check_vocabulary
from .normalize import NORMALIZATIONS
from .options import CELL_PX_RANGE, check_channels

__all__ = ["FrameStyle", "check_style", "style_with_legacy", "STYLE_FIELDS"]


@dataclasses.dataclass(frozen=True, eq=True)
class FrameStyle:
    """How a frame looks: which layers and channels, which colours, how big.

    Args:
        layers: names or indices of the layers to show, or "all"; default (None) every
            layer that can be drawn, and for a deep model the last layer of each stage
            and the output, at most 12.
        channels: feature-map channels shown for the first image; default (None)
            (1, 5, 10, 20), clipped to what each layer has.
        channels_per_image: rows per image: one count for all, or one per image;
            default (None) every channel for the first image and one for the others.
        normalization: "stable" (a per-channel range that follows training smoothly, so
            that colours mean the same from frame to frame), "minmax" or "standardize"
            (each cell on its own).
        cmap: a matplotlib colormap name.
        cell_px: the side of one grid cell in pixels, 8..512.
        class_names: names of the classes, for the labels and predictions.
        vocabulary: for a model that takes token ids, the words to show them as: a list
            (index = id, as `TextVectorization.get_vocabulary()` gives), or a mapping
            from id to word or from word to id; without it the ids are shown.
        show_dynamics: room in every frame for the learning dynamics passed with each frame
            (`render(..., dynamics=FrameDynamics(...))`): a right/wrong timeline under each
            input's label and a row of dead fractions above the columns. The room is kept
            from the first frame, so every frame of a run has the same size.

    Raises:
        TypeError, ValueError: a field is not valid; the message names it, says what was
            received and what is valid.
    """

    layers: tuple[str | int, ...] | str | None = None
    channels: tuple[int, ...] | None = None
    channels_per_image: int | tuple[int, ...] | None = None
    normalization: str = "stable"
    cmap: str = "inferno"
    cell_px: int = 56
    class_names: tuple[str, ...] | None = None
    vocabulary: Mapping[int, str] | None = None
    show_dynamics: bool = False

    def __post_init__(self):
        layers = check_layer_choice(self.layers)
        self._set("layers", tuple(layers) if isinstance(layers, list) else layers)
        self._set("channels", check_channels(self.channels))
        self._set("channels_per_image", _check_channels_per_image(self.channels_per_image))
        check_choice(self.normalization, "normalization", NORMALIZATIONS)
        check_cmap(self.cmap)
        self._set("cell_px", check_int_in_range(self.cell_px, "cell_px", *CELL_PX_RANGE))
        self._set("class_names", _check_class_names(self.class_names))
        vocabulary = check_vocabulary(self.vocabulary)
        self._set("vocabulary", None if vocabulary is None else types.MappingProxyType(vocabulary))
        check_bool(self.show_dynamics, "show_dynamics")

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    __hash__ = None  # the vocabulary is a mapping: compare styles, do not hash them

    def replace(self, **changes) -> FrameStyle:
        """A copy with `changes` applied and checked again.

        Args:
            **changes: field=value for each field to change.
        """
        unknown = sorted(set(changes) - {field.name for field in dataclasses.fields(self)})
        if unknown:
            raise TypeError(f"FrameStyle has no field {', '.join(unknown)}. Valid: "
                            f"{', '.join(field.name for field in dataclasses.fields(self))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The style as JSON-ready values (lists for tuples, string keys for the vocabulary)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = {str(key): word for key, word in value.items()}
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, values: Mapping) -> FrameStyle:
        """The style `to_dict` wrote (unknown keys are refused, so a typo is not lost).

        Args:
            values: a mapping of field names to values, as `to_dict` returns.
        """
        values = dict(values)
        if isinstance(values.get("vocabulary"), Mapping):
            values["vocabulary"] = {int(key): word for key, word in values["vocabulary"].items()}
        try:
            return cls(**values)
        except TypeError as error:
            if "unexpected keyword" not in str(error):
                raise
            known = {field.name for field in dataclasses.fields(cls)}
            raise ValueError(f"FrameStyle: unknown fields {sorted(set(values) - known)}; "
                             f"valid: {sorted(known)}.") from None

    def key(self) -> str:
        """A string equal for equal styles (for caches)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _check_channels_per_image(value):
    if value is None:
        return None
    if is_int(value):
        if value < 1:
            raise ValueError(f"channels_per_image must be at least 1. Received: channels_per_image={value!r}.")
        return int(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError("channels_per_image must be None, a count, or one count per image. "
                        f"Received: channels_per_image={value!r} ({type(value).__name__}).")
    if not value or not all(is_int(count) and count >= 1 for count in value):
        raise ValueError("channels_per_image must hold counts of at least 1, one per image. "
                         f"Received: channels_per_image={value!r}.")
    return tuple(int(count) for count in value)


def _check_class_names(names):
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) and not hasattr(names, "tolist"):
        raise TypeError("class_names must be a list of names, one per class. "
                        f"Received: class_names={names!r} ({type(names).__name__}).")
    names = tuple(str(name) for name in (names.tolist() if hasattr(names, "tolist") else names))
    if not names:
        raise ValueError("class_names is empty: give one name per class, or None to show class indices.")
    return names


#: The fields of `FrameStyle`, in order.
STYLE_FIELDS = tuple(field.name for field in dataclasses.fields(FrameStyle))


def check_style(style) -> FrameStyle:
    """`style`, or the default `FrameStyle()` for None; a TypeError for anything else.

    Args:
        style: what the caller received.
    """
    if style is None:
        return FrameStyle()
    if not isinstance(style, FrameStyle):
        raise TypeError("style must be a vizcallbacks.FrameStyle, e.g. style=FrameStyle(cmap='viridis'). "
                        f"Received: style={style!r} ({type(style).__name__}).")
    return style


def style_with_legacy(style, legacy: dict, owner: str, valid: Sequence[str] = ()) -> FrameStyle:
    """The style to use when a caller still passes the drawing options one by one (the
    spelling before `FrameStyle`, kept for one release): those keywords become the
    style's fields, with one DeprecationWarning; any other keyword is refused.

    Args:
        style: the `style` argument (None or a `FrameStyle`).
        legacy: the other keywords the caller received.
        owner: the caller's name, for the messages.
        valid: the caller's own arguments, listed when a keyword is unknown.

    Returns:
        The checked style.

    Raises:
        TypeError: a keyword that is neither a style field nor known; a style field given
            both ways.
    """
    if not legacy:
        return check_style(style)
    unknown = sorted(set(legacy) - set(STYLE_FIELDS))
    if unknown:
        raise TypeError(f"{owner} got unexpected keyword arguments {', '.join(unknown)}. Valid: "
                        f"{', '.join(list(valid) + ['style'])}; the drawing options go in "
                        f"style=FrameStyle({', '.join(STYLE_FIELDS)}).")
    if style is not None:
        raise TypeError(f"{owner}: give the drawing options in style= only; received style= and "
                        f"{', '.join(sorted(legacy))}=.")
    import warnings
    fields = ", ".join(f"{name}=..." for name in legacy)
    warnings.warn(f"{owner}({fields}): pass these as style=FrameStyle({fields}); the separate keywords "
                  "will be removed in the next release.", DeprecationWarning, stacklevel=3)
    return FrameStyle(**legacy)
