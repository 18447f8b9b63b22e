"""`vizcallbacks stitch`: frames (a folder or a manifest) into a GIF or an MP4."""

from __future__ import annotations

import argparse

from ...framefiles import MANIFEST_NAME
from . import arguments

EXAMPLE = f"""example:
  vizcallbacks stitch output/fashion_mnist/frames output/fashion_mnist/again.mp4 --fps 12
  vizcallbacks stitch output/fashion_mnist/{MANIFEST_NAME} slides.gif --scale 2 --hold-ms 2000
"""


def add_parser(commands) -> None:
    """Add the `stitch` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    parser = commands.add_parser(
        "stitch", help="turn a folder of frames into a GIF or an MP4",
        description=f"Encode the PNG frames of FRAMES (a folder, or a {MANIFEST_NAME} manifest) into "
                    "OUT; the format follows OUT's extension (.gif, .mp4, .webm).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", metavar="FRAMES", help=f"frames folder or {MANIFEST_NAME}")
    parser.add_argument("out", metavar="OUT", help="movie to write: .gif, .mp4 or .webm")
    parser.add_argument("--fps", type=arguments.positive_float, default=10, help="frames per second (default 10)")
    parser.add_argument("--scale", type=arguments.positive, default=1, help="integer upscaling, nearest neighbour (default 1)")
    parser.add_argument("--hold-ms", type=arguments.non_negative, default=None, metavar="MS",
                        help="extra time on the last frame in milliseconds (GIF default 1000)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Encode FRAMES into OUT as the flags say; print the movie's frames, length and size.

    Args:
        args: the parsed flags of `vizcallbacks stitch`.

    Returns:
        0, once the movie is written.
    """
    from ...movie import stitch

    movie = stitch(args.frames, args.out, fps=args.fps, scale=args.scale,
                   last_frame_hold_ms=args.hold_ms, overwrite=args.overwrite,
                   progress=not args.no_progress)
    print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
          f"{movie.size[0]}x{movie.size[1]})")
    return 0
