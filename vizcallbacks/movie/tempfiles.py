"""The hidden files a movie writer works in beside its movie, and what a killed one leaves of
them.

A writer encodes into ``.{name}.partial-{token}{suffix}`` (and a GIF's palette into
``.{name}.palette-{token}.png``) in the movie's folder, so that the final rename onto the movie
is atomic; the token is the writer's pid and 6 hex digits. A process killed with SIGKILL cannot
remove them, nor can its ffmpeg: the next writer of that movie does (`remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import warnings
from pathlib import Path

__all__ = ["new_token", "temp_path", "remove_leftovers"]

_TEMP_TOKEN = re.compile(r"\.(?:partial|palette)-(?P<token>(?P<pid>\d+)-[0-9a-f]{6})\.(?:png|[a-z0-9]+)\Z")
# The tokens of this process's writers: a leftover whose pid is this process's own (a container
# restarted, its pids counted from 1 again) is known by a token not among them.
_TOKENS_HERE: set[str] = set()


def new_token() -> str:
    """A token for one writer's hidden files: this process's id and 6 random hex digits,
    remembered as this process's own.

    Returns:
        The token, e.g. "4242-a1b2c3".
    """
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    _TOKENS_HERE.add(token)
    return token


def temp_path(out_path: Path, kind: str, token: str, suffix: str) -> Path:
    """The hidden file of kind `kind` that the writer with `token` uses for `out_path`.

    Args:
        out_path: the movie being written.
        kind: "partial" (the movie being encoded) or "palette" (a GIF's palette).
        token: the writer's token (`new_token`).
        suffix: the hidden file's extension, with the dot.

    Returns:
        The path, in `out_path`'s folder.
    """
    return out_path.with_name(f".{out_path.name}.{kind}-{token}{suffix}")


def _writer_running(token: str, pid: int) -> bool:
    if pid == os.getpid():
        return token in _TOKENS_HERE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_leftovers(out_path: Path) -> list[Path]:
    """Remove the hidden files that a killed writer of `out_path` left, once their process is
    gone: no one can finish them, and a new movie of that path is about to be written. Files
    of other movies, and of writers still running (here or elsewhere), are left alone; the
    latter are named in a warning.

    Args:
        out_path: the movie about to be written.

    Returns:
        The files removed.
    """
    if not out_path.parent.is_dir():
        return []
    removed, running = [], []
    for path in sorted(out_path.parent.glob(f".{glob.escape(out_path.name)}.*-*")):
        found = _TEMP_TOKEN.search(path.name)
        ours = found is not None and path.name in (
            temp_path(out_path, "partial", found["token"], out_path.suffix.lower()).name,
            temp_path(out_path, "palette", found["token"], ".png").name)
        if not ours or not path.is_file():
            continue
        if _writer_running(found["token"], int(found["pid"])):
            running.append(path)
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    _warn(out_path, removed, running)
    return removed


def _warn(out_path: Path, removed: list[Path], running: list[Path]) -> None:
    # stacklevel 3: the line that called remove_leftovers.
    if removed:
        warnings.warn(
            f"movie_path '{out_path}': removed {len(removed)} hidden file(s) that a run killed while "
            f"writing this movie left ({', '.join(path.name for path in removed)}); the new movie "
            "replaces them.", stacklevel=3)
    if running:
        warnings.warn(
            f"movie_path '{out_path}': {', '.join(str(path) for path in running)}: hidden file(s) of "
            "another writer of this movie whose process is still running; left alone. If both finish, "
            "the movie that finishes last is the one kept.", stacklevel=3)
