"""`vizcallbacks compare`: the default CNN trained once per batch size on the same data,
side by side in one movie, aligned by examples seen."""

from __future__ import annotations

import argparse

from . import arguments

EXAMPLE = """example:
  vizcallbacks compare --dataset fashion_mnist --batch-sizes 32,128,512 --examples 30000 --out output/compare
  vizcallbacks compare --batch-sizes 16,256 --examples 8192 --align steps --optimizer adam --learning-rate 0.001
"""


def add_parser(commands) -> None:
    """Add the `compare` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ..compare import ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, OPTIMIZERS
    from ..datasets import DATASET_NAMES
    from ..framefiles import MANIFEST_NAME

    parser = commands.add_parser(
        "compare", help="train one model per batch size and compare them side by side in one movie",
        description="Train the default CNN once per batch size, from the same initial weights on the "
                    f"same examples in the same order; write DIR/runs/bs<N>/ (panels, {MANIFEST_NAME}), "
                    "DIR/movie.gif / DIR/movie.mp4, DIR/summary.png and DIR/summary.json, and say "
                    "whether the smaller batch was ahead at equal examples seen.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASET_NAMES), default="fashion_mnist")
    parser.add_argument("--batch-sizes", type=arguments.positive_list, default=[32, 128, 512], metavar="B,C,...",
                        help="batch sizes to compare (default 32,128,512)")
    parser.add_argument("--examples", type=arguments.positive, default=30000, metavar="N",
                        help="training examples every run reads, rounded down to a multiple of every "
                             "batch size (default 30000)")
    parser.add_argument("--align", choices=ALIGNS, default="examples",
                        help="what each frame holds equal across runs (default examples)")
    parser.add_argument("--every", type=arguments.positive, default=None, metavar="N",
                        help="a capture every N examples (align examples, time) or N updates (align "
                             "steps); default: about 40 points, exact multiples of every batch size")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default sgd")
    parser.add_argument("--learning-rate", type=arguments.positive_float, default=0.05, metavar="LR",
                        help="the same for every run (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, example order, held-out sample")
    parser.add_argument("--heldout", type=arguments.positive, default=1000, metavar="N",
                        help="test images every point is evaluated on (default 1000)")
    parser.add_argument("--images", type=arguments.index_list, default=list(DEFAULT_IMAGE_INDICES), metavar="I,J,...",
                        help="test-set indices of the images each panel shows (default 0,1,2)")
    parser.add_argument("--layers", type=arguments.names, default=list(DEFAULT_LAYERS), metavar="NAME,...",
                        help=f"layers each panel shows (default {','.join(DEFAULT_LAYERS)})")
    parser.add_argument("--channel", type=arguments.non_negative, default=1,
                        help="feature-map channel shown (default 1)")
    parser.add_argument("--cell-px", type=arguments.positive, default=48, metavar="PX", help="grid cell size (default 48)")
    parser.add_argument("--out", default="output/compare", metavar="DIR", help="output folder (default output/compare)")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=6, help="movie frames per second (default 6)")
    parser.add_argument("--jobs", type=arguments.positive, default=None, metavar="N",
                        help="runs trained at once, each in its own process (default: CPUs, at most one per run)")
    parser.add_argument("--threads-per-run", type=arguments.positive, default=1, metavar="N",
                        help="TensorFlow threads per run; results depend on it, not on --jobs (default 1)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder with the four IDX .gz files or the .npz")
    parser.add_argument("--tensorboard", type=arguments.tensorboard_folder, default=None, metavar="LOGDIR",
                        help="also write each run's panels and figures to TensorBoard, in LOGDIR/bs<N>/ "
                             "(then: tensorboard --logdir LOGDIR)")
    parser.add_argument("--overwrite", action="store_true", help="replace a comparison already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Run the comparison the flags describe; print each run's figures, the movies, the
    summary's files and the verdict.

    Args:
        args: the parsed flags of `vizcallbacks compare`.

    Returns:
        0; a mistake raises, and `main` answers it with one line and status 2.
    """
    from ..compare import compare_batch_sizes

    every = {"every_steps": args.every} if args.align == "steps" else {"every_examples": args.every}
    result = compare_batch_sizes(
        batch_sizes=args.batch_sizes, examples=args.examples, out_dir=args.out, dataset=args.dataset,
        data_dir=args.data_dir, align=args.align, **every, optimizer=args.optimizer,
        learning_rate=args.learning_rate, seed=args.seed, heldout_size=args.heldout,
        image_indices=args.images, layers=args.layers, channel=args.channel, cell_px=args.cell_px,
        formats=args.format, fps=args.fps, jobs=args.jobs, threads_per_run=args.threads_per_run,
        overwrite=args.overwrite, progress=not args.quiet, tensorboard_dir=args.tensorboard)
    for run_result in result.runs:
        final = run_result.records[-1]
        print(f"{run_result.name}: {run_result.steps:,} updates, {run_result.examples_seen:,} examples, "
              f"held-out accuracy {_number(final['heldout_accuracy'])}, loss {_number(final['heldout_loss'])}, "
              f"{run_result.train_seconds:.1f} s training -> {run_result.manifest_path}")
    for movie in result.movies:
        print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
              f"{movie.size[0]}x{movie.size[1]})")
    print(f"wrote {result.summary_png} and {result.summary_path}")
    if result.page_path is not None:
        print(f"wrote {result.page_path} (open it in a browser to play the runs together)")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    print(result.verdict.text)
    return 0


def _number(value) -> str:
    return "NaN" if value is None else f"{value:.3f}"
