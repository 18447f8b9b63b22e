"""The renderer's options that say which cells a frame has: channels and rows per image."""

from __future__ import annotations

from collections.abc import Sequence

from ..capture.layers import LayerView
from ..checks import is_int

__all__ = ["DEFAULT_CHANNELS", "CELL_PX_RANGE", "check_channels", "resolve_channels", "rows_per_image"]

DEFAULT_CHANNELS = (1, 5, 10, 20)
#: The smallest and largest grid cell, in pixels.
CELL_PX_RANGE = (8, 512)


def check_channels(channels) -> tuple[int, ...] | None:
    """`channels` as a tuple of channel indices, checked as far as is possible without the
    model (the renderer checks each index against each layer's channels).

    Args:
        channels: None (the default channels), one index, or a list of indices.

    Returns:
        A tuple of ints, or None for the default.

    Raises:
        TypeError: `channels` is neither an index nor a list.
        ValueError: the list is empty, or holds something other than indices >= 0.
    """
    if channels is None:
        return None
    try:
        items = (channels,) if is_int(channels) else tuple(channels)
    except TypeError:
        raise TypeError(f"channels must be a list of channel indices. Received: channels={channels!r}.") from None
    if not items:
        raise ValueError(f"channels is empty. Pass None for the default {DEFAULT_CHANNELS} or indices.")
    if not all(is_int(index) and index >= 0 for index in items):
        raise ValueError(
            f"channels must be non-negative integers (channel indices). Received: channels={channels!r}."
        )
    return tuple(int(index) for index in items)


def resolve_channels(channels, views: Sequence[LayerView]) -> tuple[tuple[int, ...], bool]:
    """The channel list, and whether it was the default (clipped per layer) or explicit
    (every index must exist in every feature-map layer). The default keeps only the
    channels that some feature-map layer has, so that no row is drawn empty (8 filters:
    channels 1 and 5); where no layer has any of them (maps of one channel), channel 0.

    Args:
        channels: what the user gave (see `check_channels`).
        views: the layers shown.

    Returns:
        (channels, clipped): the indices, and True for the default.

    Raises:
        ValueError: an explicit index that a feature-map layer does not have.
    """
    channels = check_channels(channels)
    if channels is None:
        most = max((view.channels for view in views if view.kind == "maps"), default=max(DEFAULT_CHANNELS) + 1)
        return tuple(channel for channel in DEFAULT_CHANNELS if channel < most) or (0,), True
    for view in views:
        if view.kind == "maps" and max(channels) >= view.channels:
            raise ValueError(
                f"channels: index {max(channels)} is out of range for layer {view.name!r}, which "
                f"has {view.channels} channels (valid: 0..{view.channels - 1}). Choose smaller "
                "indices, other layers, or channels=None to clip the default to each layer."
            )
    return channels, False


def rows_per_image(channels_per_image, count: int, channel_count: int, *, cap: int | None = None) -> tuple[int, ...]:
    """How many rows each image gets: one per channel shown.

    Args:
        channels_per_image: None (every channel for the first image, one for the
            others), one count for all, or one count per image.
        count: how many images.
        channel_count: how many channels are chosen.
        cap: the most rows an image gets, where fewer channels are shown than were
            chosen (the default channels that no layer has are left out): counts are
            checked against `channel_count`, then lowered to `cap`.

    Returns:
        One count per image.

    Raises:
        ValueError: a count that is not in 1..channel_count, or not one per image.
    """
    if channels_per_image is None:
        return (channel_count if cap is None else cap,) + (1,) * (count - 1)
    if is_int(channels_per_image):
        rows = (int(channels_per_image),) * count
    else:
        try:
            rows = tuple(channels_per_image)
        except TypeError:
            raise ValueError(f"channels_per_image must be None, a count, or one count per image ({count} "
                             f"images). Received: channels_per_image={channels_per_image!r}.") from None
        if len(rows) != count:
            raise ValueError(
                f"channels_per_image must give one count per image ({count} images). "
                f"Received {len(rows)} counts: {rows!r}."
            )
    for value in rows:
        if not is_int(value) or not 1 <= value <= channel_count:
            raise ValueError(
                f"channels_per_image: each count must be an integer in 1..{channel_count} (the number "
                f"of channels chosen). Received: {channels_per_image!r}."
            )
    return tuple(min(int(r), channel_count if cap is None else cap) for r in rows)
