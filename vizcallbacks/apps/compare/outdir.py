"""A comparison's folder: what an earlier comparison left there, set aside while a new one
with `overwrite` runs (in a hidden folder `.earlier-comparison-<pid>-<ns>`), put back when
the new one fails, dropped when it succeeds, and, when a comparison was killed (SIGKILL)
before it could do either, put back or named by the next comparison into that folder."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

from ...checks import check_writable_dir
from ...framefiles import FRAMES_DIR, MANIFEST_NAME, PARTIAL_GLOB, RUNS_DIR
from ..train import MOVIE_FORMATS

__all__ = ["EARLIER_PREFIX", "earlier_outputs", "set_earlier_aside", "put_earlier_back", "recover_leftovers"]

#: The hidden folder an earlier comparison waits in while a new one runs.
EARLIER_PREFIX = ".earlier-comparison-"
# Written last by a comparison (before the page): its presence means the comparison finished.
_COMPLETE = "summary.json"


def earlier_outputs(out_dir: Path) -> list[Path]:
    """What an earlier comparison wrote in `out_dir` (a user's other files are not ours).

    Args:
        out_dir: the comparison's folder.

    Returns:
        The paths there, files and folders.
    """
    names = [RUNS_DIR, FRAMES_DIR, MANIFEST_NAME, "summary.json", "summary.png",
             *(f"movie.{fmt}" for fmt in MOVIE_FORMATS)]
    return [out_dir / name for name in names if (out_dir / name).exists()]


def set_earlier_aside(out_dir: Path, overwrite: bool) -> tuple[Path, Path | None]:
    """`out_dir`, made and writable, first recovered from a killed comparison (see
    `recover_leftovers`), then cleared of an earlier comparison: refused without
    `overwrite`; with it, moved into a hidden folder there (returned), so that a comparison
    that fails can put it back (`put_earlier_back`) and only one that succeeds replaces it.

    Args:
        out_dir: the comparison's folder.
        overwrite: whether an earlier comparison there may be replaced.

    Returns:
        (out_dir, the hidden folder or None when there was nothing to set aside).

    Raises:
        ValueError: `out_dir` cannot be made or written.
        FileExistsError: an earlier comparison is there and `overwrite` is False.
    """
    check_writable_dir(out_dir, "out_dir")
    recover_leftovers(out_dir)
    existing = earlier_outputs(out_dir)
    if not existing:
        return out_dir, None
    if not overwrite:
        raise FileExistsError(
            f"out_dir {str(out_dir)!r} already holds a comparison ({existing[0].name}). It is kept: pass "
            "overwrite=True (--overwrite) to replace it, or choose another folder.")
    earlier = out_dir / f"{EARLIER_PREFIX}{os.getpid()}-{time.time_ns()}"
    earlier.mkdir()
    for path in existing:
        path.rename(earlier / path.name)
    return out_dir, earlier


def put_earlier_back(out_dir: Path, earlier: Path | None) -> None:
    """After a failed comparison: what it wrote removed, the earlier one where it was.

    Args:
        out_dir: the comparison's folder.
        earlier: the hidden folder `set_earlier_aside` returned, or None.
    """
    if earlier is None:
        return
    for path in [*earlier_outputs(out_dir), *out_dir.glob(PARTIAL_GLOB)]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in earlier.iterdir():
        path.rename(out_dir / path.name)
    earlier.rmdir()


def recover_leftovers(out_dir: Path) -> list[Path]:
    """Deal with the hidden folders of comparisons killed while their earlier comparison
    was set aside (the process that made the folder is gone): when `out_dir` holds no
    finished comparison, the newest is put back where it was, in place of what the killed
    comparison left half-done; any other is left where it is and named in a warning.

    Args:
        out_dir: the comparison's folder.

    Returns:
        The hidden folders left in place (each named in a warning).
    """
    leftovers = sorted((path for path in out_dir.glob(f"{EARLIER_PREFIX}*")
                        if path.is_dir() and not _maker_running(path)), key=_made_at)
    if not leftovers:
        return []
    if not (out_dir / _COMPLETE).is_file():
        newest = leftovers.pop()
        put_earlier_back(out_dir, newest)
        warnings.warn(
            f"out_dir {str(out_dir)!r}: a comparison run with overwrite was killed before it finished; the "
            f"comparison it was replacing was waiting in {str(newest)!r} and is put back in {str(out_dir)!r}, "
            "in place of the unfinished one.", stacklevel=3)
    for path in leftovers:
        warnings.warn(
            f"out_dir {str(out_dir)!r}: an earlier comparison, set aside by a comparison run with overwrite that "
            f"was killed, is still in {str(path)!r} (the comparison in {str(out_dir)!r} is the newer one). It is "
            f"kept: move its files back into {str(out_dir)!r} to restore it, or delete that folder.", stacklevel=3)
    return leftovers


def _maker_running(path: Path) -> bool:
    """Whether the process named in a hidden folder's name still runs (a comparison at work)."""
    pid = path.name.removeprefix(EARLIER_PREFIX).partition("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: not ours to judge
    return True


def _made_at(path: Path) -> int:
    stamp = path.name.removeprefix(EARLIER_PREFIX).partition("-")[2]
    return int(stamp) if stamp.isdigit() else 0
