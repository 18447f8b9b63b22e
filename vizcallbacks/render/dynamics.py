"""What a frame draws of the learning dynamics (issue 19): a thin right/wrong timeline
under each input's label, and each layer's dead fraction in a row above the columns.

The grid keeps the room for both from the first frame when
`FrameStyle(show_dynamics=True)` (`dynamics_room`), so every frame of a run has the same
size however long its history grows; the drawer passes what the analysis knows with each
frame (`GridRenderer.render(..., dynamics=FrameDynamics(...))`) and `DynamicsPainter`
draws it there. Everything is palette indices, like the rest of the frame.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ..analysis.frame import FrameDynamics
from .palette import GREEN, RED, grey
from .text import LINE, SMALL_FONT, Line, fit_text, font

__all__ = ["DynamicsRoom", "DynamicsPainter", "dynamics_room", "timeline_indices", "dead_label",
           "check_frame_dynamics"]

# The timeline sits under a row's label lines (the truth, then the prediction's two lines).
_TIMELINE_TOP = 3 * LINE + 4
TIMELINE_H = 4
# While a row's history fits, each frame is a tick this wide: 2 pixels of colour, 1 of gap.
_TICK_PX = 3
# The track under the ticks (the frames still to come), and the dead fractions' text.
_TRACK = grey(228)
_DEAD_GREY = 64


@dataclasses.dataclass(frozen=True)
class DynamicsRoom:
    """The room a grid keeps for the dynamics, in pixels.

    Args:
        header_px: added above the column headers, for the row of dead fractions.
        block_px: the least height of each input's block, so that its timeline fits
            under its label however small the cells.
    """

    header_px: int = 0
    block_px: int = 0


def dynamics_room(shown: bool) -> DynamicsRoom:
    """The room to keep: none when the dynamics are not shown (the frame is as before).

    Args:
        shown: `FrameStyle.show_dynamics`.
    """
    return DynamicsRoom(header_px=LINE, block_px=_TIMELINE_TOP + TIMELINE_H) if shown else DynamicsRoom()


def check_frame_dynamics(dynamics, rows: int, *, has_room: bool) -> FrameDynamics:
    """`dynamics`, checked against a frame of `rows` inputs.

    Args:
        dynamics: what the drawer passed.
        rows: the inputs the frame shows.
        has_room: whether the renderer keeps room for them (`FrameStyle.show_dynamics`).

    Raises:
        TypeError: not a `FrameDynamics`.
        ValueError: no room for them; a right/wrong history for another number of inputs.
    """
    if not has_room:
        raise ValueError("dynamics were passed to a renderer without room for them: make it with "
                         "style=FrameStyle(show_dynamics=True), so that every frame of the run keeps that room.")
    if not isinstance(dynamics, FrameDynamics):
        raise TypeError("dynamics must be a vizcallbacks.analysis.frame.FrameDynamics or None. "
                        f"Received: dynamics={dynamics!r} ({type(dynamics).__name__}).")
    if dynamics.row_correct and len(dynamics.row_correct) != rows:
        raise ValueError(f"dynamics.row_correct must hold one history per input shown ({rows}), or none. "
                         f"Received: {len(dynamics.row_correct)} histories.")
    return dynamics


def timeline_indices(history: Sequence[bool], width: int) -> np.ndarray:
    """One row of palette indices, `width` pixels, for a right/wrong history (oldest first).

    While the history fits, each frame is a tick of `_TICK_PX` pixels from the left and the
    rest is the track still to come; a longer history is spread over the whole width, each
    pixel showing its share of frames: green where most of them were right. So the strip
    never grows, and a long run's timeline still reads from left (first frame) to right.

    Args:
        history: whether the input was classified right at each frame so far.
        width: the strip's width in pixels.

    Returns:
        A (width,) uint8 array of palette indices.
    """
    strip = np.full(width, _TRACK, np.uint8)
    right = np.asarray(history, dtype=bool)
    count = len(right)
    if count == 0:
        return strip
    if count * _TICK_PX <= width:
        for frame, was_right in enumerate(right):
            strip[frame * _TICK_PX:frame * _TICK_PX + _TICK_PX - 1] = GREEN if was_right else RED
        return strip
    if count < width:  # each frame a pixel or two: the frame under each pixel
        shown = right[np.arange(width) * count // width]
    else:  # several frames a pixel: the most of them
        edges = np.arange(width + 1) * count // width
        shown = np.add.reduceat(right.astype(np.int64), edges[:-1]) * 2 >= np.diff(edges)
    return np.where(shown, GREEN, RED).astype(np.uint8)


def dead_label(fraction: float, measure, room: int) -> str:
    """A column's dead fraction as words that fit in `room` pixels: "dead 12%", else "12%".

    Args:
        fraction: the layer's fraction of dead (or saturated) units, 0..1.
        measure: a `PIL.ImageDraw.ImageDraw` to measure with.
        room: the column's width in pixels.
    """
    if not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
        percent = "–"
    elif 0 < fraction < 0.005:
        percent = "<1%"  # some units dead: never shown as none
    else:
        percent = f"{round(100 * fraction)}%"
    small = font(SMALL_FONT)
    long = f"dead {percent}"
    return long if measure.textlength(long, font=small) <= room else fit_text(measure, percent, small, room)


class DynamicsPainter:
    """Draws a frame's dynamics where the grid kept room for them.

    Args:
        names: the layer shown in each column after the input (`LayerView.name`), the
            keys of `FrameDynamics.dead_fraction`.
        column_x: the left edge of each of those columns.
        column_widths: the width of each, in pixels.
        block_tops: the top of each input's block.
        label_x: the left edge of the labels beside the rows.
        label_width: the width the timeline takes there.
        row_y: the top of the row of dead fractions.
    """

    def __init__(self, *, names: Sequence[str], column_x: Sequence[int], column_widths: Sequence[int],
                 block_tops: Sequence[int], label_x: int, label_width: int, row_y: int):
        self.columns = tuple(zip(names, column_x, column_widths))
        self.block_tops = tuple(block_tops)
        self.label_x, self.label_width, self.row_y = label_x, label_width, row_y
        from PIL import Image, ImageDraw

        self._measure = ImageDraw.Draw(Image.new("L", (1, 1)))  # only measures text

    def text_groups(self, dynamics: FrameDynamics) -> list[tuple[Line, ...]]:
        """The row of dead fractions, as groups of lines for the frame's text layer: one
        group, or none when no column shown has a dead fraction.

        Args:
            dynamics: this frame's dynamics.
        """
        lines = [((left, self.row_y), dead_label(dynamics.dead_fraction[name], self._measure, width),
                  _DEAD_GREY, SMALL_FONT) for name, left, width in self.columns if name in dynamics.dead_fraction]
        if not lines:
            return []
        return [(((self.label_x, self.row_y), "units dead or saturated", _DEAD_GREY, SMALL_FONT), *lines)]

    def paint(self, indices: np.ndarray, dynamics: FrameDynamics) -> None:
        """Draw each row's right/wrong timeline into the frame.

        Args:
            indices: the frame as palette indices, changed in place.
            dynamics: this frame's dynamics.
        """
        for block_top, history in zip(self.block_tops, dynamics.row_correct):
            if history is None:  # an input without a label: nothing to be right about
                continue
            top = block_top + _TIMELINE_TOP
            strip = timeline_indices(history, self.label_width)
            indices[top:top + TIMELINE_H, self.label_x:self.label_x + self.label_width] = strip
