"""`vizcallbacks view`: the page that plays a run, written for a run already on disk."""

from __future__ import annotations

import argparse

from ...framefiles import MANIFEST_NAME

EXAMPLE = """example:
  vizcallbacks view output/fashion_mnist        # writes output/fashion_mnist/index.html
  vizcallbacks view output/compare              # every run's panel, moving together
  vizcallbacks view output/fashion_mnist --out slides/run.html
"""


def add_parser(commands) -> None:
    """Add the `view` command, its flags, help and example.

    Args:
        commands: the subparsers of the `vizcallbacks` parser.
    """
    from ..page import PAGE_NAME

    parser = commands.add_parser(
        "view", help="write the page that plays a run (frames, scrubber, curves)",
        description=f"Write DIR/{PAGE_NAME}: a self-contained page that plays the run in DIR (a folder "
                    f"that `train` or `compare` wrote, or a callback's frames_dir with its {MANIFEST_NAME}): "
                    "the frame, a scrubber, play/pause, the arrow keys, and the loss and accuracy curves "
                    "with a cursor that follows the frame. It opens from the file system, no server "
                    "needed. Prints the page's path.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="DIR", help=f"the run's folder, holding {MANIFEST_NAME}")
    parser.add_argument("--out", default=None, metavar="FILE.html",
                        help=f"where to write the page (default DIR/{PAGE_NAME})")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Write the page; print its path.

    Args:
        args: the parsed flags of `vizcallbacks view`.

    Returns:
        0, once the page is written.
    """
    from ..page import write_page

    print(write_page(args.run_dir, out_path=args.out))
    return 0
