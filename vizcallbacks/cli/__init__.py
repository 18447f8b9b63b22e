"""The `vizcallbacks` command line: each command parses and checks its arguments in
its own module, then calls the library."""

from __future__ import annotations

import argparse
import os
import sys

from . import stitch as stitch_command
from . import train as train_command

__all__ = ["main", "UsageError"]

EXIT_USAGE = 2

COMMANDS = {"train": train_command, "stitch": stitch_command}


class UsageError(Exception):
    """Something the user typed is wrong: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vizcallbacks", description="Turn Keras training into movies of layer activations.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, module in COMMANDS.items():
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status."""
    # TensorFlow's C++ start-up chatter is noise here; users can still set it themselves.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args = build_parser().parse_args(argv)
        return args.run(args) or 0
    except UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, NotADirectoryError,
            PermissionError) as error:
        print(f"vizcallbacks: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vizcallbacks: interrupted; frames written so far are kept.", file=sys.stderr)
        return 130
