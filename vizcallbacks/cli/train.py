"""`vizcallbacks train`: the default CNN on MNIST or Fashion-MNIST, as a movie."""

from __future__ import annotations

import argparse
import os
import sys

from . import arguments

EXAMPLE = """example:
  vizcallbacks train --dataset fashion_mnist --epochs 1 --every 20 --out output/fashion_mnist
  vizcallbacks train --dataset mnist --max-steps 300 --images 0,1,2,3 --format gif
"""


def add_parser(commands) -> None:
    """Add the `train` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ..datasets import DATASET_NAMES
    from ..framefiles import FRAMES_DIR, MANIFEST_NAME

    parser = commands.add_parser(
        "train", help="train the default CNN and write its training movie",
        description=f"Train the default CNN with PlotConvCallback; write DIR/{FRAMES_DIR}/, "
                    f"DIR/{MANIFEST_NAME} and DIR/movie.gif / DIR/movie.mp4.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASET_NAMES), default="fashion_mnist")
    parser.add_argument("--epochs", type=arguments.positive, default=1, help="epochs to train (default 1)")
    parser.add_argument("--batch-size", type=arguments.positive, default=64, help="default 64")
    parser.add_argument("--every", type=arguments.positive, default=20, metavar="N",
                        help="a frame every N batches (default 20)")
    parser.add_argument("--max-steps", type=arguments.positive, default=None, metavar="N",
                        help="stop after N batches in all")
    parser.add_argument("--images", type=arguments.index_list, default=None, metavar="I,J,...",
                        help="test-set indices of the images shown (default: the notes' 0,23,28,900,1500,5000,7000)")
    parser.add_argument("--channels", type=arguments.index_list, default=None, metavar="C,D,...",
                        help="feature-map channels shown for the first image (default 1,5,10,20)")
    parser.add_argument("--out", default="output/fashion_mnist", metavar="DIR",
                        help="output folder (default output/fashion_mnist)")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=10, help="movie frames per second (default 10)")
    parser.add_argument("--data-dir", type=arguments.data_folder, default=None, metavar="DIR",
                        help="folder with the four IDX .gz files or the .npz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace frames and movies already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bar")
    parser.set_defaults(run=run)


def import_keras_quietly() -> None:
    """Import Keras with file descriptor 2 sent to a temporary file. TensorFlow's C++
    start-up lines ignore TF_CPP_MIN_LOG_LEVEL (seen with TF 2.21) and would bury the
    one-line errors; they are shown only when the import fails."""
    if "keras" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run(args) -> int:
    """Train as the flags say; print where the frames and movies are, and the accuracy
    on the test set.

    Args:
        args: the parsed flags of `vizcallbacks train`.

    Returns:
        0 when training ended (Ctrl-C ends with 130 in `main`).
    """
    from ..train import NOTES_IMAGE_INDICES, train_movie

    import_keras_quietly()

    result = train_movie(
        dataset=args.dataset, out_dir=args.out, epochs=args.epochs, batch_size=args.batch_size,
        every_n_batches=args.every, max_steps=args.max_steps,
        image_indices=args.images or NOTES_IMAGE_INDICES, channels=args.channels,
        formats=args.format, fps=args.fps, data_dir=args.data_dir, seed=args.seed,
        overwrite=args.overwrite, verbose=0 if args.quiet else 2)
    print(f"{result.frame_count} frames over {result.steps} batches in {result.frames_dir}")
    for movie in result.movies:
        print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
              f"{movie.size[0]}x{movie.size[1]})")
    print(f"test accuracy {result.test_accuracy:.3f}")
    return 0
