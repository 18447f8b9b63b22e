"""A page that plays a run: one self-contained `index.html` next to the frames.

It opens from the file system (no server, no network): the frame, a scrubber over all
frames, play/pause, the arrow keys, and the curves of the run's figures (the loss, and its
accuracy or mean absolute error, ...: `figures.FIGURES`) with a cursor that follows the
frame; a click (or a drag) on the curves jumps to the nearest frame.

The page holds the manifest as JSON and draws the curves itself; it refers to the frames
by their paths relative to the page, so it stays small (a run of 1,000 frames is a page
of a few hundred kilobytes instead of tens of megabytes) and is written in milliseconds.
Keep the page with its frames: move or copy the run's folder as a whole.

Its data is a list of runs sharing one timeline: a single run is a list of one; the
folder that `compare` writes (a manifest in ``runs/<name>/`` per run and one
saying which record of each run every movie frame shows) is shown as one panel per run,
side by side, all moving together.

Here: `write_page` and its checks. `data.py` reads the manifests into what the page shows;
`template.py` puts that into `page.html` with `page.css` and `page.js` (package files).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ...checks import check_path
from ...framefiles import MANIFEST_NAME, read_manifest, write_atomically
from .data import missing_frames, page_data, page_url
from .dynamics import dynamics_data
from .template import GENERATOR, render_page

__all__ = ["write_page", "write_page_at_end", "PAGE_NAME"]

PAGE_NAME = "index.html"


def write_page(run_dir, *, manifest=None, out_path=None) -> Path:
    """Write a page that plays the run in `run_dir` and return its path.

    The page (`index.html` in `run_dir` unless `out_path` says otherwise) needs nothing
    but the frame files the manifest lists, found by their paths relative to the page:
    open it in any browser, from the file system. It shows the frame with its epoch,
    batch, step and figures; a scrubber; play/pause (Space); Left/Right step one
    frame, Home/End go to the first/last; the curves of the figures (loss, accuracy or
    mae, ...), whose cursor follows the frame, jump to the nearest frame on a click or a drag.

    A folder written by `compare` (a manifest whose lines name a record of each run,
    and a manifest in each ``runs/<name>/``) gives one panel per run, side by side, moving
    together, with every run's curves in each chart.

    A page written before by this function is replaced; any other file at `out_path` is
    kept (FileExistsError).

    Args:
        run_dir: The run's folder: where `vizcallbacks train` or `compare` wrote it, or
            a callback's `frames_dir`.
        manifest: The run's manifest. Default: `run_dir / MANIFEST_NAME`.
        out_path: Where to write the page, ending in `.html`. Default: `run_dir/index.html`.

    Returns:
        The path of the page.

    Example:

    >>> page = write_page("output/fashion_mnist")
    >>> page
    PosixPath('output/fashion_mnist/index.html')
    >>> import webbrowser; webbrowser.open(page.resolve().as_uri())
    """
    run_dir = _check_run_dir(run_dir)
    manifest_path = _check_manifest(run_dir, manifest)
    out_path = _check_out_path(run_dir, out_path)
    entries = read_manifest(manifest_path, argument="manifest")
    if not entries:
        raise ValueError(
            f"manifest: {str(manifest_path)!r} lists no frames, so there is nothing to play. Pass the "
            "manifest of a run that made at least one frame."
        )
    data = page_data(run_dir, manifest_path, entries, out_path.parent)
    data["dynamics"] = dynamics_data(run_dir, lambda path: page_url(path, out_path.parent))
    missing = missing_frames(data, out_path.parent)
    if missing:
        warnings.warn(
            f"write_page: {len(missing)} of the frames the manifest lists are not on disk "
            f"({missing[0]}{', ...' if len(missing) > 1 else ''}); the page shows their curves "
            "but not their images.", stacklevel=2)
    write_atomically(out_path, render_page(data).encode("utf-8"))
    return out_path


def write_page_at_end(run_dir) -> Path | None:
    """`write_page(run_dir)` as `train` and `compare` call it once their files are written:
    a file at `run_dir/index.html` that `write_page` did not write is kept, with a warning,
    rather than failing a run that is done.

    >>> write_page_at_end("output/fashion_mnist")
    PosixPath('output/fashion_mnist/index.html')

    Args:
        run_dir: the finished run's folder (see `write_page`).

    Returns:
        The page's path, or None when another file is where it would go.
    """
    try:
        return write_page(run_dir)
    except FileExistsError as error:
        warnings.warn(f"{error} The run's page was not written; write it elsewhere with "
                      f"`vizcallbacks view {run_dir} --out OTHER.html`.", stacklevel=2)
        return None


# ---- checks -----------------------------------------------------------------------------

def _check_run_dir(run_dir) -> Path:
    path = check_path(run_dir, "run_dir")
    if not path.is_dir():
        raise ValueError(
            f"run_dir must be the folder of a run (its frames and {MANIFEST_NAME}). Received: run_dir="
            f"{str(path)!r}, which {'is not a folder' if path.exists() else 'does not exist'}."
        )
    return path


def _check_manifest(run_dir: Path, manifest) -> Path:
    if manifest is None:
        path = run_dir / MANIFEST_NAME
        if not path.is_file():
            raise ValueError(
                f"run_dir: {str(run_dir)!r} has no {MANIFEST_NAME}. Pass the run's folder (where "
                f"{MANIFEST_NAME} is), or its manifest with manifest=."
            )
        return path
    path = check_path(manifest, "manifest")
    if not path.is_file():
        raise ValueError(
            f"manifest must be a run's {MANIFEST_NAME}. Received: manifest={str(path)!r}, which "
            f"{'is not a file' if path.exists() else 'does not exist'}."
        )
    return path


def _check_out_path(run_dir: Path, out_path) -> Path:
    if out_path is None:
        path = run_dir / PAGE_NAME
    else:
        path = check_path(out_path, "out_path")
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"out_path must end in .html. Received: out_path={str(path)!r}.")
    if not path.parent.is_dir():
        raise ValueError(f"out_path: folder {str(path.parent)!r} does not exist. Received: out_path={str(path)!r}.")
    if path.is_dir() or (path.exists() and not _written_here(path)):
        raise FileExistsError(
            f"out_path {str(path)!r} exists and is not a page that write_page wrote; it is kept. "
            "Choose another out_path, or move that file."
        )
    return path


def _written_here(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as page:
            return GENERATOR in page.read(2048)
    except OSError:
        return False
