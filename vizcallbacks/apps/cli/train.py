"""`vizcallbacks train`: a demo model trained as a movie: the default CNN on MNIST or
Fashion-MNIST, the notes' time-series or text model on synthetic data."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from . import arguments

EXAMPLE = """example:
  vizcallbacks train --dataset fashion_mnist --epochs 1 --every 20 --out output/fashion_mnist
  vizcallbacks train --dataset mnist --max-steps 300 --images 0,1,2,3 --format gif
  vizcallbacks train --max-steps 300 --tensorboard logs/run1 && tensorboard --logdir logs
  vizcallbacks train --dataset mnist --max-steps 300 --mlflow sqlite:///mlflow.db --wandb my-project
  vizcallbacks train --dataset series --out output/series     # the notes' LSTM, MAE in the stamp
  vizcallbacks train --dataset tokens --out output/tokens     # the notes' Conv1D text model
"""


def add_parser(commands) -> None:
    """Add the `train` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ...demos.catalog import DEMO_NAMES
    from ...framefiles import FRAMES_DIR, MANIFEST_NAME

    parser = commands.add_parser(
        "train", help="train a demo model and write its training movie",
        description=f"Train a demo model with PlotConvCallback; write DIR/{FRAMES_DIR}/, "
                    f"DIR/{MANIFEST_NAME}, DIR/movie.gif / DIR/movie.mp4 and DIR/index.html, a page "
                    "that plays the run. mnist, fashion_mnist: the default CNN; series: the notes' "
                    "time-series model (Conv1D, LSTMs) on their synthetic series; tokens: the notes' "
                    "Conv1D text model on a synthetic sentiment task.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DEMO_NAMES), default="fashion_mnist")
    parser.add_argument("--epochs", type=arguments.positive, default=None,
                        help="epochs to train (default 1; series 20, tokens 3)")
    parser.add_argument("--batch-size", type=arguments.positive, default=None,
                        help="default 64 (series, tokens 32)")
    parser.add_argument("--every", type=arguments.positive, default=None, metavar="N",
                        help="a frame every N batches (default 20; series, tokens 10)")
    parser.add_argument("--max-steps", type=arguments.positive, default=None, metavar="N",
                        help="stop after N batches in all")
    parser.add_argument("--images", type=arguments.index_list, default=None, metavar="I,J,...",
                        help="test-set indices of the inputs shown (default: the notes' 0,23,28,900,1500,5000,7000; "
                             "series 0,100,200,300,400; tokens 0,...,5)")
    parser.add_argument("--channels", type=arguments.index_list, default=None, metavar="C,D,...",
                        help="feature-map channels shown for the first image (default 1,5,10,20)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default output/DATASET)")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=10, help="movie frames per second (default 10)")
    parser.add_argument("--data-dir", type=arguments.data_folder, default=None, metavar="DIR",
                        help="folder with the four IDX .gz files or the .npz")
    parser.add_argument("--seed", type=arguments.non_negative, default=0)
    parser.add_argument("--tensorboard", type=arguments.tensorboard_folder, default=None, metavar="DIR",
                        help="also write frames and metrics to TensorBoard's event files in DIR "
                             "(then: tensorboard --logdir DIR)")
    parser.add_argument("--dynamics", action="store_true",
                        help="measure the learning dynamics into DIR/dynamics.json and DIR/dynamics.png: when each "
                             "of 512 tracked training examples is learned and forgotten, each layer's CKA to its "
                             "final state, dead units")
    parser.add_argument("--label-noise", type=fraction, default=0.0, metavar="P",
                        help="flip a fraction P of the training labels to another class (with --seed) before "
                             "training; with --dynamics the flipped tracked examples are marked noisy")
    parser.add_argument("--overwrite", action="store_true", help="replace frames and movies already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bar")
    arguments.add_tracker_flags(parser)
    parser.set_defaults(run=run)


def fraction(text: str) -> float:
    """A fraction in [0, 1) (`--label-noise 0.2`).

    Args:
        text: the flag's text.
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), received {text!r}")
    return value


# Keras's backends; each is also the name of the package extra that installs it.
_BACKEND_EXTRAS = ("tensorflow", "jax", "torch")


def _no_backend(module: str) -> str:
    chosen = os.environ.get("KERAS_BACKEND")
    why = f"KERAS_BACKEND={chosen}" if chosen else "Keras's default; KERAS_BACKEND chooses another"
    return (f"Keras's backend {module!r} is not installed ({why}). Install it with "
            f"pip install 'vizcallbacks[{module}]', or set KERAS_BACKEND to one that is installed "
            f"({', '.join(_BACKEND_EXTRAS)}).")


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
        except BaseException as error:
            os.dup2(saved, 2)
            missing = getattr(error, "name", None) or ""
            if isinstance(error, ModuleNotFoundError) and missing.split(".")[0] in _BACKEND_EXTRAS:
                raise ValueError(_no_backend(missing.split(".")[0])) from None
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run(args) -> int:
    """Train as the flags say; print where the frames and movies are, and the accuracy
    on the test set (the mean absolute error on the validation windows, for the series).
    A fault in the frames (a full disk) is said in one line at the end, with how to finish.

    Args:
        args: the parsed flags of `vizcallbacks train`.

    Returns:
        0 when training ended with every frame written (a tracker or TensorBoard that
        failed is a warning: the run's folder is whole); 1 after a fault in the run's own
        files (Ctrl-C ends with 130 in `main`).
    """
    from ...sinks import TensorBoardSink
    from ..train import Training, train_movie

    import_keras_quietly()

    from ...pipeline import FrameFaultWarning

    out_dir = args.out or f"output/{args.dataset}"
    with warnings.catch_warnings():
        # A fault is said once, in the line below, with how to finish.
        warnings.simplefilter("ignore", FrameFaultWarning)
        result = train_movie(
            dataset=args.dataset, out_dir=out_dir,
            training=Training(epochs=args.epochs, batch_size=args.batch_size, max_steps=args.max_steps,
                              seed=args.seed, verbose=0 if args.quiet else 2, dynamics=args.dynamics,
                              label_noise=args.label_noise),
            every_n_batches=args.every, image_indices=args.images, style=arguments.style_from_flags(args),
            formats=args.format, fps=args.fps, data_dir=args.data_dir, overwrite=args.overwrite,
            sinks=([TensorBoardSink(args.tensorboard)] if args.tensorboard else [])
            + arguments.tracker_sinks(args, out_dir))
    if any(not fault.elsewhere for fault in result.faults):
        print(fault_line(result, formats=args.format), file=sys.stderr)
        return EXIT_FAULT
    _print_result(result)
    for fault in result.faults:  # a tracker or TensorBoard failed: the run's own folder is whole
        print(f"vizcallbacks: warning: {fault.message('train')}", file=sys.stderr)
    return 0


# A fault in the frames: training ran to the end, but not every frame was kept.
EXIT_FAULT = 1


def _print_result(result) -> None:
    from ...analysis.files import DYNAMICS_NAME

    print(f"{result.frame_count} frames over {result.steps} batches in {result.frames_dir}")
    for movie in result.movies:
        print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
              f"{movie.size[0]}x{movie.size[1]})")
    dynamics = result.out_dir / DYNAMICS_NAME
    if dynamics.is_file():
        print(f"wrote {dynamics} and {dynamics.with_suffix('.png')} (the learning dynamics)")
    if result.page_path is not None:
        print(f"wrote {result.page_path} (open it in a browser to play the run)")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    if result.test_accuracy is not None:
        print(f"test accuracy {result.test_accuracy:.3f}")
    if result.test_mae is not None:
        print(f"validation mean absolute error {result.test_mae:.3f}")


def fault_line(result, *, formats) -> str:
    """One line for a run whose frames met a fault: what failed, how many frames were
    kept and where, and how to finish.

    Args:
        result: the `TrainResult`, with its `faults`.
        formats: the movie formats asked for.
    """
    # The fault that stopped every frame matters most; the others are named after it.
    fault = next((fault for fault in result.faults if fault.stopped_all), result.faults[0])
    error = " ".join(f"{type(fault.error).__name__}: {fault.error}".split())
    at = f" at frame {fault.frame}" + (f" ({fault.position})" if fault.position else "") if fault.frame else \
        " at the end of training"
    made = {movie.path.suffix.lstrip(".") for movie in result.movies}
    missing = [fmt for fmt in formats if fmt not in made]
    if result.frame_count:
        kept = f"{result.frame_count} frames kept in {result.frames_dir} (listed in {result.manifest_path})"
        finish = [f"`vizcallbacks stitch {result.manifest_path} {result.out_dir / f'movie.{fmt}'}`" for fmt in missing]
        finish.append(f"`vizcallbacks view {result.out_dir}`")
        how = f"free space, then {', '.join(finish)}; or run again with --overwrite"
    else:
        kept, how = f"no frames kept in {result.frames_dir}", "free space, then run again with --overwrite"
    others = [other.what for other in result.faults if other is not fault]
    more = f" (also failed: {', '.join(others)})" if others else ""
    return (f"vizcallbacks: error: {fault.what} failed{at}: {error}{more}; training ran to the end; {kept}. "
            f"To finish: {how}.")
