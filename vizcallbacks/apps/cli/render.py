"""`vizcallbacks render`: draw a recorded run again, other colours, layers, inputs or size,
without training and without Keras."""

from __future__ import annotations

import argparse

from . import arguments

EXAMPLE = """example:
  vizcallbacks render output/fashion_mnist --out output/viridis --cmap viridis
  vizcallbacks render output/fashion_mnist --out output/slide --layers conv2d,dense --images 0,2 --cell-px 40
  vizcallbacks render output/fashion_mnist --out output/talk --format mp4 --fps 24 --tensorboard logs/talk
"""


def add_parser(commands) -> None:
    """Add the `render` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    parser = commands.add_parser(
        "render", help="draw a recorded run again (other colours, layers, inputs, size), without training",
        description="Read the activations a run recorded (DIR/store: a `train` output folder, a callback's "
                    "frames_dir, or a compare run's folder) and draw every frame again into NEW: frames, "
                    "frames.jsonl, movies and the page, as training wrote them. Options not given keep "
                    "the run's own. Needs no model, no Keras and no backend.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="DIR", help="the recorded run's folder")
    parser.add_argument("--out", required=True, metavar="NEW", help="the folder to draw into (not DIR)")
    parser.add_argument("--layers", type=arguments.names, default=None, metavar="NAME,...",
                        help="recorded layers to draw as columns, or 'all' (default: the run's columns)")
    parser.add_argument("--images", type=arguments.index_list, default=None, metavar="I,J,...",
                        help="positions of the recorded inputs to show (default all)")
    parser.add_argument("--channels", type=arguments.index_list, default=None, metavar="C,D,...",
                        help="feature-map channels shown for the first image")
    parser.add_argument("--cmap", default=None, metavar="NAME", help="a matplotlib colormap")
    parser.add_argument("--normalization", default=None, choices=("stable", "minmax", "standardize"))
    parser.add_argument("--cell-px", type=arguments.positive, default=None, metavar="PX",
                        help="the side of one grid cell in pixels, 8..512")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=10.0, help="movie frames per second")
    parser.add_argument("--tensorboard", type=arguments.tensorboard_folder, default=None, metavar="DIR",
                        help="also write the frames and figures to TensorBoard's event files in DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace frames and movies already in NEW")
    arguments.add_tracker_flags(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    """Redraw the run; print where it went.

    Args:
        args: the parsed flags of `vizcallbacks render`.

    Returns:
        0, once frames, movies and page are written.
    """
    from ..render import render_run

    sinks = []
    if args.tensorboard is not None:
        from ...sinks import TensorBoardSink

        sinks.append(TensorBoardSink(args.tensorboard))
    sinks += arguments.tracker_sinks(args, args.out)
    result = render_run(args.run_dir, args.out, style_changes=arguments.style_fields(args), images=args.images,
                        formats=args.format, fps=args.fps, sinks=sinks, overwrite=args.overwrite)
    for movie in result.movies:
        print(f"{movie.path}: {movie.frame_count} frames, {movie.size[0]}x{movie.size[1]}")
    print(f"{result.frame_count} frames redrawn into {result.out_dir}"
          + (f"; page: {result.page_path}" if result.page_path else ""))
    return 0
