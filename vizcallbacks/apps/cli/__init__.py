"""The `vizcallbacks` command line: each command parses and checks its arguments in
its own module, then calls the library."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import warnings

from . import analyze as analyze_command
from . import compare as compare_command
from . import lr_find as lr_find_command
from . import render as render_command
from . import stitch as stitch_command
from . import train as train_command
from . import view as view_command

__all__ = ["main", "UsageError"]

EXIT_USAGE = 2
EXIT_FAILED = 1
# Set (to anything but "" or "0") for the whole traceback of an error, as --debug does.
DEBUG_ENV = "VIZCALLBACKS_DEBUG"

COMMANDS = {"train": train_command, "stitch": stitch_command, "compare": compare_command,
            "lr-find": lr_find_command, "view": view_command, "render": render_command,
            "analyze": analyze_command}


class UsageError(Exception):
    """Something the user typed is wrong: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # Whole flags only: a typo such as --epoch is reported with the flag it resembles
        # instead of being taken silently, and scripts do not change meaning when a flag
        # with the same beginning is added.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {_suggest_choice(message)} (see {self.prog} --help)")


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


def _suggest_choice(message: str) -> str:
    """argparse's "invalid choice" message, with the closest valid choice when one is close."""
    found = _INVALID_CHOICE.search(message)
    if not found:
        return message
    choices = [choice.strip().strip("'") for choice in found[2].split(",")]
    close = difflib.get_close_matches(found[1], choices, n=1, cutoff=0.6)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def _unrecognized(parser: argparse.ArgumentParser, args, extras: list[str]) -> str:
    """One line naming the arguments that no flag takes, each with the flag it resembles."""
    subparser = parser.command_parsers.get(getattr(args, "command", None), parser)
    flags = [flag for flag in subparser._option_string_actions if flag.startswith("--")]
    named = [token.split("=", 1)[0] for token in extras if token.startswith("-")]
    if not named:
        what = f"unrecognized arguments: {' '.join(extras)}"
    else:
        described = []
        for name in named:
            close = difflib.get_close_matches(name, flags, n=1, cutoff=0.6)
            described.append(f"{name} (did you mean {close[0]}?)" if close else name)
        what = f"unrecognized argument{'s' if len(named) > 1 else ''}: {', '.join(described)}"
    return f"{subparser.prog}: {what} (see {subparser.prog} --help)"


def _one_line(text) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"vizcallbacks: warning: {_one_line(message)}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The `vizcallbacks` parser, one subcommand per module of `COMMANDS`.

    Returns:
        The parser; each subcommand sets `run`, the function that carries it out.
    """
    parser = _Parser(prog="vizcallbacks", description="Turn Keras training into movies of layer activations.")
    parser.add_argument("--debug", action="store_true",
                        help=f"on an error, show the whole traceback (anywhere on the line; also {DEBUG_ENV}=1)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, module in COMMANDS.items():
        module.add_parser(commands)
    parser.command_parsers = commands.choices
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line. Every mistake the user can fix ends with exit status 2 and
    one line on stderr.

    Args:
        argv: the arguments after the program's name; default `sys.argv[1:]`.

    Returns:
        The exit status: 0; 1 for a failure (a full disk: one line says what was kept and how
        to finish; `--debug` or VIZCALLBACKS_DEBUG=1 shows the traceback); 2 for a mistake;
        130 when interrupted.
    """
    # TensorFlow's C++ start-up chatter is noise here; users can still set it themselves.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    argv = [arg for arg in argv if arg != "--debug"]
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return _run(argv)
        except UsageError as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
        except (ValueError, TypeError, FileExistsError, FileNotFoundError, NotADirectoryError,
                IsADirectoryError, PermissionError) as error:
            if debug:
                raise
            print(f"vizcallbacks: error: {_one_line(error)}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("vizcallbacks: interrupted; frames written so far are kept.", file=sys.stderr)
            return 130
        except Exception as error:
            if debug:
                raise
            print(f"vizcallbacks: error: {type(error).__name__}: {_one_line(error)} (the traceback: --debug "
                  f"or {DEBUG_ENV}=1)", file=sys.stderr)
            return EXIT_FAILED


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        raise UsageError(_unrecognized(parser, args, extras))
    return args.run(args) or 0
