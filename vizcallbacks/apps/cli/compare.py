"""`vizcallbacks compare`: the default CNN trained once per configuration (batch size,
learning rate, optimizer, or a grid) and seed on the same data, side by side in one movie,
aligned by examples seen; locally or on a Dask cluster."""

from __future__ import annotations

import argparse

from . import arguments

EXAMPLE = """example:
  vizcallbacks compare --dataset fashion_mnist --batch-sizes 32,128,512 --examples 30000 --seeds 3 --out output/compare
  vizcallbacks compare --batch-sizes 32,512 --scale-lr linear --seeds 3 --out output/scaled
  vizcallbacks compare --vary learning_rate=0.01,0.05,0.2 --batch-sizes 64 --out output/lr
  vizcallbacks compare --vary optimizer=sgd,adam --vary learning_rate=0.001,0.01 --out output/grid
  vizcallbacks compare --batch-sizes 16,256 --examples 8192 --align steps --optimizer adam --learning-rate 0.001
  vizcallbacks compare --batch-sizes 32,512 --executor dask --scheduler tcp://127.0.0.1:8786
"""


def add_parser(commands) -> None:
    """Add the `compare` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ..compare import ALIGNS, DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, OPTIMIZERS
    from ...demos.datasets import DATASET_NAMES
    from ...framefiles import MANIFEST_NAME

    parser = commands.add_parser(
        "compare", help="train one model per batch size (or learning rate, optimizer) and seed, and compare "
                        "them side by side in one movie",
        description="Train the default CNN once per configuration (batch sizes, or what --vary names) and "
                    "seed, the runs of a seed from the same initial weights on the same examples in the same "
                    f"order; write DIR/runs/<name>/ (panels, {MANIFEST_NAME}), DIR/movie.gif / DIR/movie.mp4, "
                    "DIR/summary.png and DIR/summary.json (mean and spread over seeds), and say whether the "
                    "first configuration (the smaller batch) was ahead of the last at equal examples seen.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASET_NAMES), default="fashion_mnist")
    _add_what_varies(parser)
    parser.add_argument("--examples", type=arguments.positive, default=30000, metavar="N",
                        help="training examples every run reads, rounded down to a multiple of every "
                             "batch size when one fits (default 30000)")
    parser.add_argument("--align", choices=ALIGNS, default="examples",
                        help="what each frame holds equal across runs (default examples)")
    parser.add_argument("--every", type=arguments.positive, default=None, metavar="N",
                        help="a capture every N examples (align examples, time) or N updates (align "
                             "steps); default: about 40 points, exact multiples of every batch size")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="unless varied (default sgd)")
    parser.add_argument("--learning-rate", type=arguments.positive_float, default=0.05, metavar="LR",
                        help="the same for every run unless varied or scaled (default 0.05)")
    parser.add_argument("--seed", type=arguments.non_negative, default=0,
                        help="initial weights, example order (the first seed), held-out sample (default 0)")
    parser.add_argument("--heldout", type=arguments.positive, default=1000, metavar="N",
                        help="test images every point is evaluated on (default 1000)")
    parser.add_argument("--images", type=arguments.index_list, default=list(DEFAULT_IMAGE_INDICES), metavar="I,J,...",
                        help="test-set indices of the images each panel shows (default 0,1,2)")
    parser.add_argument("--layers", type=arguments.names, default=list(DEFAULT_LAYERS), metavar="NAME,...",
                        help=f"layers each panel shows (default {','.join(DEFAULT_LAYERS)})")
    parser.add_argument("--channel", type=arguments.non_negative, default=1,
                        help="feature-map channel shown (default 1)")
    parser.add_argument("--cell-px", type=arguments.positive, default=48, metavar="PX",
                        help="grid cell size (default 48)")
    parser.add_argument("--out", default="output/compare", metavar="DIR", help="output folder (default output/compare)")
    parser.add_argument("--format", type=arguments.formats, default=["gif", "mp4"], metavar="gif,mp4",
                        help="movie formats (default gif,mp4)")
    parser.add_argument("--fps", type=arguments.positive_float, default=6, help="movie frames per second (default 6)")
    _add_where_runs(parser)
    parser.add_argument("--threads-per-run", type=arguments.positive, default=1, metavar="N",
                        help="the backend's threads per run; results depend on it, not on --jobs (default 1)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder with the four IDX .gz files or the .npz")
    parser.add_argument("--tensorboard", type=arguments.tensorboard_folder, default=None, metavar="LOGDIR",
                        help="also write each run's panels and figures to TensorBoard, in LOGDIR/<run name>/ (bs32, lr0.05, ...) "
                             "(then: tensorboard --logdir LOGDIR)")
    parser.add_argument("--dynamics", action="store_true",
                        help="measure every run's learning dynamics (DIR/runs/<run>/dynamics.json: forgetting of "
                             "512 tracked training examples, CKA to the final state, dead units) and put the "
                             "configurations side by side in DIR/summary.json")
    parser.add_argument("--overwrite", action="store_true", help="replace a comparison already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    arguments.add_tracker_flags(parser)
    parser.set_defaults(run=run)


def _add_what_varies(parser) -> None:
    """The flags that say which configurations and seeds are compared."""
    from ..compare import HYPERPARAMETERS, SCALE_LR

    parser.add_argument("--batch-sizes", type=arguments.positive_list, default=None, metavar="B,C,...",
                        help="batch sizes to compare (default 32,128,512); one size with --vary: the batch "
                             "size of every run (default then 32)")
    parser.add_argument("--vary", type=arguments.vary, action="append", default=[], metavar="NAME=V1,V2,...",
                        help=f"a hyper-parameter to compare ({', '.join(HYPERPARAMETERS)}); several "
                             "--vary (and --batch-sizes) make a grid")
    parser.add_argument("--seeds", type=arguments.seeds, default=None, metavar="N|S1,S2,...",
                        help="repeat every configuration with N seeds (from --seed) or these seeds: "
                             "other initial weights and example order, the same for every configuration")
    parser.add_argument("--scale-lr", choices=SCALE_LR, default=None,
                        help="scale the learning rate with the batch size (linear: lr x batch / reference)")
    parser.add_argument("--reference-batch", type=arguments.positive, default=None, metavar="B",
                        help="the batch size --learning-rate is for, with --scale-lr (default the smallest)")


def _add_where_runs(parser) -> None:
    """The flags that say where and how many runs go at once."""
    from ..compare import EXECUTORS

    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local",
                        help="where runs go: local processes, or an existing Dask cluster (default local)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="the Dask scheduler, e.g. tcp://127.0.0.1:8786 (with --executor dask)")
    parser.add_argument("--jobs", type=arguments.positive, default=None, metavar="N",
                        help="runs trained at once, each in its own process (default: local, the CPUs; "
                             "dask, all)")


def run(args) -> int:
    """Run the comparison the flags describe; print each run's figures, the movies, the
    summary's files and the verdict.

    Args:
        args: the parsed flags of `vizcallbacks compare`.

    Returns:
        0; a mistake raises, and `main` answers it with one line and status 2.
    """
    from ..compare import COMPARE_STYLE, Comparison, compare_runs
    from ..compare.configs import check_batch_sizes
    from ..compare.executors import make_executor

    vary, batch_size = _vary(args)
    if list(vary) == ["batch_size"]:
        check_batch_sizes(vary["batch_size"])  # named as --batch-sizes says it: at least two, different
    every = {"every_steps": args.every} if args.align == "steps" else {"every_examples": args.every}
    comparison = Comparison(
        vary=vary, batch_size=batch_size, examples=args.examples, dataset=args.dataset, data_dir=args.data_dir,
        align=args.align, **every, optimizer=args.optimizer, learning_rate=args.learning_rate, seed=args.seed,
        seeds=args.seeds, scale_lr=args.scale_lr, reference_batch=args.reference_batch, heldout_size=args.heldout,
        image_indices=args.images, threads_per_run=args.threads_per_run, dynamics=args.dynamics)
    style = COMPARE_STYLE.replace(layers=tuple(args.layers), channels=(args.channel,), cell_px=args.cell_px)
    result = compare_runs(comparison, out_dir=args.out, style=style, formats=args.format, fps=args.fps,
                          executor=make_executor(args.executor, jobs=args.jobs, scheduler=args.scheduler),
                          overwrite=args.overwrite, progress=not args.quiet, tensorboard_dir=args.tensorboard,
                          trackers=arguments.trackers(args))
    for run_result in result.runs:
        final = run_result.records[-1]
        print(f"{run_result.name}: {run_result.steps:,} updates, {run_result.examples_seen:,} examples, "
              f"held-out accuracy {_number(final['heldout_accuracy'])}, loss {_number(final['heldout_loss'])}, "
              f"{run_result.train_seconds:.1f} s training -> {run_result.manifest_path}")
    for movie in result.movies:
        print(f"wrote {movie.path} ({movie.frame_count} frames, {movie.duration_s:.1f} s, "
              f"{movie.size[0]}x{movie.size[1]})")
    print(f"wrote {result.summary_png} and {result.summary_path}")
    _print_dynamics(result.summary_path)
    if result.page_path is not None:
        print(f"wrote {result.page_path} (open it in a browser to play the runs together)")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    print(result.verdict.text)
    return 0


_DEFAULT_BATCH_SIZES = [32, 128, 512]


def _vary(args) -> tuple[dict, int]:
    """What varies, from --vary and --batch-sizes, and the batch size where it does not."""
    vary = {}
    for name, values in args.vary:
        if name in vary:
            raise ValueError(f"--vary {name}=... is given twice; give its values once, e.g. --vary {name}=A,B,C")
        vary[name] = list(values)
    sizes = args.batch_sizes
    if sizes is not None and "batch_size" in vary:
        raise ValueError("--batch-sizes and --vary batch_size=... say the same thing; give one of them")
    if sizes is None and not vary:
        sizes = _DEFAULT_BATCH_SIZES
    if sizes is not None and (len(sizes) > 1 or not vary):
        return {"batch_size": sizes, **vary}, _DEFAULT_BATCH_SIZES[0]
    return vary, sizes[0] if sizes else _DEFAULT_BATCH_SIZES[0]


def _print_dynamics(summary_path) -> None:
    """The configurations' dynamics, one line each, when the runs measured them."""
    import json

    for name, figures in json.loads(summary_path.read_text()).get("dynamics", {}).items():
        dead = ", ".join(f"{layer} {_number(value)}" for layer, value in figures["dead_fraction"].items())
        print(f"{name}: unforgettable {_number(figures['unforgettable_fraction'])}; dead fraction {dead}")


def _number(value) -> str:
    return "NaN" if value is None else f"{value:.3f}"
