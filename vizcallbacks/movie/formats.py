"""The movie formats: each a `MovieWriter` with its own options and its ffmpeg arguments.

A format adds its options as keyword-only dataclass fields (the arguments every writer takes
are declared once, on `MovieWriter`), checks them in `__post_init__`, and overrides
`_output_args`. A new format is a new class here and a row of `WRITERS` (``writers.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..checks import check_choice, check_fps, check_int_in_range
from .base import MovieWriter, check_hold_ms
from .ffmpeg import BT709_ARGS
from .tempfiles import temp_path

__all__ = ["Mp4Writer", "WebmWriter", "GifWriter"]

# Browsers raise GIF delays below 2 centiseconds to 10 cs, so faster GIFs would play slower.
_MIN_GIF_DELAY_CS = 2


def _gif_delay_cs(fps: float) -> int:
    """Per-frame GIF delay in centiseconds, the unit the format stores."""
    return max(_MIN_GIF_DELAY_CS, round(100 / fps))


def _check_palette(palette: Any) -> np.ndarray | None:
    if palette is None:
        return None
    array = np.asarray(palette)
    valid = "an array of shape (K, 3) with 1 <= K <= 256 and values 0..255"
    if array.ndim != 2 or array.shape[1] != 3 or not 1 <= array.shape[0] <= 256:
        raise ValueError(f"palette must be {valid}. Received: palette of shape {array.shape}")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
            raise ValueError(
                f"palette must be {valid}. Received: palette of dtype {array.dtype} with values "
                f"{array.min()}..{array.max()}"
            )
        array = array.astype(np.uint8)
    return array


@dataclass(kw_only=True, eq=False, repr=False)
class Mp4Writer(MovieWriter):
    """H.264 MP4 that plays in browsers, notebooks and slides.

    ``crf`` trades size for quality (0 lossless .. 51 worst, 18 looks lossless); ``preset`` trades
    encoding time for size. ``last_frame_hold_ms`` repeats the last frame to show it longer.
    Odd sizes are padded with white on the right and bottom, because yuv420p needs even sizes.

    >>> Mp4Writer("run/movie.mp4", fps=24, crf=23)   # doctest: +SKIP

    Takes the arguments of `MovieWriter` (out_path, fps, scale, last_frame_hold_ms, overwrite),
    and:

    Args:
        crf: quality, 0 (lossless) to 51 (worst); 18 looks lossless.
        preset: x264's speed preset, "ultrafast" to "placebo".
    """

    suffix = ".mp4"
    _needs_even_size = True

    _PRESETS = (
        "ultrafast", "superfast", "veryfast", "faster", "fast",
        "medium", "slow", "slower", "veryslow", "placebo",
    )

    crf: int = 18
    preset: str = "medium"

    def __post_init__(self) -> None:
        self.crf = check_int_in_range(self.crf, "crf", 0, 51)
        self.preset = check_choice(self.preset, "preset", self._PRESETS)
        super().__post_init__()

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libx264",
            "-preset", self.preset,
            "-crf", str(self.crf),
            *BT709_ARGS,
            # The index goes at the front so browsers start playing before the download ends.
            "-movflags", "+faststart",
            "-f", "mp4",
        ]


@dataclass(kw_only=True, eq=False, repr=False)
class WebmWriter(MovieWriter):
    """VP9 WebM, smaller than MP4 at the same quality, slower to encode.

    Takes the arguments of `MovieWriter` (out_path, fps, scale, last_frame_hold_ms, overwrite),
    and:

    Args:
        crf: quality, 0 (best) to 63; 31 is libvpx's suggestion for 1080p.
    """

    suffix = ".webm"
    _needs_even_size = True

    crf: int = 31

    def __post_init__(self) -> None:
        self.crf = check_int_in_range(self.crf, "crf", 0, 63)
        super().__post_init__()

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        return [
            "-c:v", "libvpx-vp9",
            # -b:v 0 makes -crf a constant quality instead of a cap under libvpx's default bitrate.
            "-crf", str(self.crf),
            "-b:v", "0",
            "-deadline", "good",
            "-cpu-used", "4",
            "-row-mt", "1",
            *BT709_ARGS,
            "-f", "webm",
        ]


@dataclass(kw_only=True, eq=False, repr=False)
class GifWriter(MovieWriter):
    """Animated GIF that loops forever, with one fixed palette of up to 256 colours.

    GIF stores delays in centiseconds, so every frame shows for ``max(2, round(100 / fps))`` cs
    (browsers slow down anything shorter than 2 cs); :attr:`playback_fps` is the resulting rate.
    The last frame shows ``last_frame_hold_ms`` longer, so a looping GIF pauses on the result.

    Pass ``palette`` (K <= 256 RGB colours) when the frames only use those colours, as frames
    from a colormap renderer do: every pixel is then reproduced exactly. Without it the palette
    comes from the first frame (its own colours when it has at most 256, else median cut).
    Pixels are mapped to the nearest palette colour without dithering, which keeps flat areas
    flat and the file small.

    Takes the arguments of `MovieWriter` (out_path, fps, scale, last_frame_hold_ms, overwrite),
    and:

    Args:
        palette: the colours of every frame, a (K, 3) array, K <= 256; None takes them
            from the first frame.
        last_frame_hold_ms: as for `MovieWriter`, but 1000 by default (a looping GIF pauses
            on the result), and below 655 s.
    """

    suffix = ".gif"

    palette: np.ndarray | None = None
    last_frame_hold_ms: float = 1000

    def __post_init__(self) -> None:
        self.palette = _check_palette(self.palette)
        # The GIF format stores delays as 16-bit centiseconds.
        if _gif_delay_cs(check_fps(self.fps)) > 0xFFFF:
            raise ValueError(f"fps must be at least 1/655.35 for a GIF. Received: fps={self.fps!r}")
        if round(check_hold_ms(self.last_frame_hold_ms) / 10) + _gif_delay_cs(self.fps) > 0xFFFF:
            raise ValueError(
                "last_frame_hold_ms must be below 655 seconds for a GIF. "
                f"Received: last_frame_hold_ms={self.last_frame_hold_ms!r}"
            )
        super().__post_init__()
        self._palette_path = temp_path(self.out_path, "palette", self._token, ".png")
        self._temp_paths.append(self._palette_path)

    @property
    def delay_cs(self) -> int:
        """How long each frame shows, in centiseconds."""
        return _gif_delay_cs(self.fps)

    @property
    def final_delay_cs(self) -> int:
        """How long the last frame shows, in centiseconds: one frame plus the hold."""
        return self.delay_cs + round(self.last_frame_hold_ms / 10)

    @property
    def duration_s(self) -> float:
        if self.frame_count == 0:
            return 0.0
        return ((self.frame_count - 1) * self.delay_cs + self.final_delay_cs) / 100

    @property
    def _hold_frame_count(self) -> int:
        return 0  # the gif muxer's -final_delay holds the last frame without repeating it

    def _input_rate(self) -> Fraction:
        # Reading frames at exactly 100/delay_cs gives timestamps on whole centiseconds, so
        # every delay is equal instead of alternating 3 and 4 cs for 30 fps.
        return Fraction(100, self.delay_cs)

    def _output_args(self, first_frame: np.ndarray) -> list[str]:
        from PIL import Image

        palette = self.palette if self.palette is not None else _palette_from_frame(first_frame)
        opaque = np.column_stack([palette, np.full(len(palette), 255, np.uint8)])
        # paletteuse wants exactly 256 entries; repeats of the last colour are never picked.
        # When there is room, the last entry is left fully transparent: the gif encoder
        # then marks the pixels that did not change since the previous frame with it
        # (transdiff), which is what keeps a GIF of slowly changing frames small. Frames
        # are opaque, so no pixel is ever mapped to it.
        transparent = [[0, 0, 0, 0]] if len(palette) < 256 else []
        padding = np.repeat(opaque[-1:], 256 - len(palette) - len(transparent), axis=0)
        tile = np.concatenate([opaque, padding, np.array(transparent, np.uint8).reshape(-1, 4)])
        Image.fromarray(tile.astype(np.uint8).reshape(16, 16, 4)).save(self._palette_path)
        return [
            "-i", str(self._palette_path),
            # A fixed palette maps frames in one streaming pass (palettegen would need all
            # frames first). No dithering: colours in the palette come out exact, flat areas
            # stay flat and compress well; diff_mode only remaps what changed.
            "-filter_complex", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle",
            "-c:v", "gif",
            # Default gifflags (offsetting+transdiff) store only the changed rectangle and make
            # unchanged pixels transparent, which keeps slowly changing activations small.
            "-loop", "0",
            "-final_delay", str(self.final_delay_cs),
            "-f", "gif",
        ]


def _palette_from_frame(frame: np.ndarray) -> np.ndarray:
    """Up to 256 colours for a GIF: the frame's own when it has that few, else median cut."""
    pixels = frame.reshape(-1, 3)
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8)
    packed |= pixels[:, 2]
    colours = np.unique(packed)
    if len(colours) <= 256:
        exact = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
        # A first frame of few colours (a blank canvas) would leave later frames nothing to
        # map to, so spare slots get an even spread of the RGB cube.
        levels = np.array([0, 51, 102, 153, 204, 255], dtype=np.uint32)
        cube = np.array(list(itertools.product(levels, repeat=3)), dtype=np.uint32)
        cube_packed = (cube[:, 0] << 16) | (cube[:, 1] << 8) | cube[:, 2]
        spare = cube[~np.isin(cube_packed, colours)][: 256 - len(colours)]
        return np.concatenate([exact, spare]).astype(np.uint8)
    from PIL import Image

    quantized = Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT)
    palette = np.array(quantized.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)
    return palette
