"""`vizcallbacks analyze`: the learning dynamics of a run already recorded, from its store."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  vizcallbacks analyze output/fashion_mnist      # writes dynamics.json and dynamics.png there
"""


def add_parser(commands) -> None:
    """Add the `analyze` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    parser = commands.add_parser(
        "analyze", help="compute a recorded run's learning dynamics (forgetting, CKA, dead units)",
        description="Read the activation store of the run in DIR and write DIR/dynamics.json, "
                    "DIR/dynamics_raster.png and DIR/dynamics.png: the shown inputs' forgetting, each "
                    "recorded layer's linear CKA to its final and previous state, and its dead units. "
                    "Needs NumPy only. A run trained with --dynamics has these already, for hundreds "
                    "of tracked training examples.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="DIR", help="the run's folder (or its store/)")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Analyse the run; print what it found in one line per layer.

    Args:
        args: the parsed flags of `vizcallbacks analyze`.

    Returns:
        0, once the files are written.
    """
    from ...analysis.offline import analyze_run

    summary = analyze_run(args.run_dir)
    fraction = summary["unforgettable_fraction"]
    print(f"{len(summary['steps'])} frames, {len(summary['examples'])} examples, unforgettable "
          f"{'n/a' if fraction is None else f'{fraction:.1%}'}")
    for name, layer in summary["layers"].items():
        settled = next((step for step, value in zip(summary["steps"], layer["cka_to_final"])
                        if value is not None and value >= 0.9), None)
        dead = layer["dead_fraction"][-1]
        print(f"  {name}: CKA to final >= 0.9 from step {settled}"
              + ("" if dead is None else f", dead {dead:.1%} at the end"))
    return 0
