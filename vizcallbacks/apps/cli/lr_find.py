"""`vizcallbacks lr-find`: a learning-rate range test on the default CNN, with the movie
of the activations as the learning rate rises, and the suggested range."""

from __future__ import annotations

import argparse

from . import arguments
from .train import import_keras_quietly

EXAMPLE = """example:
  vizcallbacks lr-find --dataset fashion_mnist --out output/lr_find
  vizcallbacks lr-find --optimizer adam --min-lr 1e-6 --max-lr 1 --batches 300 --batch-size 128
"""


def add_parser(commands) -> None:
    """Add the `lr-find` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ..compare import DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, OPTIMIZERS
    from ...demos.datasets import DATASET_NAMES
    from ...framefiles import FRAMES_DIR, MANIFEST_NAME
    from ..lr_find import RULE
    from ..lr_find.rule import DIVERGENCE_FACTOR, FRACTION, SMOOTHING

    parser = commands.add_parser(
        "lr-find", help="learning-rate range test: raise the learning rate batch after batch, movie and range",
        description="Train the default CNN one batch per epoch while LearningRateScheduler raises the learning "
                    "rate exponentially from --min-lr to --max-lr; record each batch's loss, stop where training "
                    f"diverges, and write DIR/{FRAMES_DIR}/, DIR/{MANIFEST_NAME}, DIR/movie.gif / DIR/movie.mp4 "
                    "(the activations with the loss against the learning rate), DIR/suggestion.png, "
                    "DIR/summary.png and DIR/summary.json. The " + RULE.format(
                        smoothing=SMOOTHING, fraction=FRACTION, factor=DIVERGENCE_FACTOR) + ".",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASET_NAMES), default="fashion_mnist")
    parser.add_argument("--min-lr", type=arguments.positive_float, default=1e-4, metavar="LR",
                        help="the first batch's learning rate (default 1e-4)")
    parser.add_argument("--max-lr", type=arguments.positive_float, default=10.0, metavar="LR",
                        help="the last batch's, unless training diverges first (default 10)")
    parser.add_argument("--batches", type=arguments.positive, default=200, metavar="N",
                        help="batches at most, a frame each (default 200)")
    parser.add_argument("--batch-size", type=arguments.positive, default=64, help="default 64")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default sgd")
    parser.add_argument("--divergence-factor", type=arguments.positive_float, default=DIVERGENCE_FACTOR,
                        metavar="K", help=f"diverged when the smoothed loss passes K x its lowest (default "
                                          f"{DIVERGENCE_FACTOR:g})")
    parser.add_argument("--fraction", type=arguments.positive_float, default=FRACTION, metavar="F",
                        help=f"the range ends at most at F x the divergence point (default {FRACTION:g})")
    parser.add_argument("--images", type=arguments.index_list, default=list(DEFAULT_IMAGE_INDICES),
                        metavar="I,J,...", help="test-set indices of the images shown (default 0,1,2)")
    parser.add_argument("--layers", type=arguments.names, default=list(DEFAULT_LAYERS), metavar="NAME,...",
                        help=f"layers shown (default {','.join(DEFAULT_LAYERS)})")
    parser.add_argument("--out", default="output/lr_find", metavar="DIR", help="output folder (default output/lr_find)")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=15, help="movie frames per second (default 15)")
    parser.add_argument("--data-dir", type=arguments.data_folder, default=None, metavar="DIR",
                        help="folder with the four IDX .gz files or the .npz")
    parser.add_argument("--seed", type=arguments.non_negative, default=0, help="initial weights and example order (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a test already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    arguments.add_tracker_flags(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    """Run the range test the flags describe; print the suggestion, where training
    diverged, and the files written.

    Args:
        args: the parsed flags of `vizcallbacks lr-find`.

    Returns:
        0; a mistake raises, and `main` answers it with one line and status 2.
    """
    from ..lr_find import LR_FIND_STYLE, LearningRateRange, RangeTestSpec, lr_find

    LearningRateRange(args.min_lr, args.max_lr, args.batches)  # a wrong range fails before Keras loads
    import_keras_quietly()
    spec = RangeTestSpec(dataset=args.dataset, data_dir=args.data_dir, min_lr=args.min_lr, max_lr=args.max_lr,
                         batches=args.batches, batch_size=args.batch_size, optimizer=args.optimizer, seed=args.seed,
                         divergence_factor=args.divergence_factor, fraction=args.fraction,
                         image_indices=args.images)
    result = lr_find(spec, out_dir=args.out, style=LR_FIND_STYLE.replace(layers=tuple(args.layers)),
                     formats=args.format, fps=args.fps, overwrite=args.overwrite, progress=not args.quiet,
                     sinks=arguments.tracker_sinks(args, args.out))
    print(f"{len(result.losses)} batches, lr {result.learning_rates[0]:.3g} to {result.learning_rates[-1]:.3g}; "
          f"{result.frame_count} frames in {result.manifest_path}")
    for movie in result.movies:
        print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
              f"{movie.size[0]}x{movie.size[1]})")
    print(f"wrote {result.suggestion_png}, {result.summary_png} and {result.summary_path}")
    print(result.suggestion.text)
    return 0
