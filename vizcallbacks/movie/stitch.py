"""`stitch`: frames on disk (a folder of PNGs or their manifest) or in memory
(an iterable of arrays) into a movie, one frame at a time."""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..framefiles import MANIFEST_NAME, decoded, read_manifest
from .display import Movie
from .writers import writer_for

__all__ = ["stitch"]


def _natural_key(path: Path) -> list:
    # frame_2.png before frame_10.png, for frames saved without zero padding.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_manifest(manifest: Path) -> list[tuple[Path, int]]:
    """(frame file, line number) for each entry of a manifest. A last line
    that a killed run left half-written is skipped with a warning (see read_manifest)."""
    entries = []
    for line_number, entry in read_manifest(manifest, argument="frames"):
        if not isinstance(entry.get("file"), str):
            raise ValueError(
                f"frames: manifest '{manifest}' line {line_number} needs a \"file\" string, "
                f"the frame's path relative to the manifest. Received: {json.dumps(entry)[:200]}"
            )
        entries.append((manifest.parent / entry["file"], line_number))
    return entries


def _frames_from_manifest(manifest: Path, entries: list[tuple[Path, int]]) -> list[Path]:
    if not entries:
        raise ValueError(f"frames: manifest '{manifest}' lists no frames")
    for path, line_number in entries:
        if not path.is_file():
            raise FileNotFoundError(
                f"frames: '{path}' listed on line {line_number} of manifest '{manifest}' "
                "does not exist"
            )
    files = [path for path, _ in entries]
    _warn_unlisted(manifest, files)
    return files


def _warn_unlisted(manifest: Path, files: list[Path]) -> None:
    """Name the PNGs beside the listed frames that the manifest does not list: a run killed
    after writing a frame and before its line leaves one. They stay out of the movie, which
    shows what the manifest says, but not silently."""
    listed = {path.resolve() for path in files}
    unlisted = sorted(path for folder in {path.parent for path in files} if folder.is_dir()
                      for path in folder.glob("*.png")
                      if not path.name.startswith(".") and path.resolve() not in listed)
    if unlisted:
        shown = ", ".join(f"'{path}'" for path in unlisted[:3]) + (", ..." if len(unlisted) > 3 else "")
        warnings.warn(
            f"frames: {len(unlisted)} PNG file(s) beside the frames have no line in manifest "
            f"'{manifest}' ({shown}), so they are left out of the movie. A run killed after writing "
            "a frame and before its manifest line leaves one; delete it, or add its line, to "
            "silence this.", stacklevel=4)


def _frame_files(frames: Path) -> list[Path]:
    """The PNG files to stitch, in order, from a folder or a manifest."""
    if not frames.exists():
        raise FileNotFoundError(f"frames: no such folder or manifest: '{frames}'")
    if frames.is_file():
        if frames.suffix.lower() != ".jsonl":
            raise ValueError(
                f"frames must be a folder of PNG frames, a {MANIFEST_NAME} manifest or an iterable "
                f"of arrays. Received: frames='{frames}'"
            )
        return _frames_from_manifest(frames, _read_manifest(frames))
    inside = frames / MANIFEST_NAME
    if inside.is_file():
        return _frames_from_manifest(inside, _read_manifest(inside))
    beside = frames.parent / MANIFEST_NAME
    if beside.is_file():
        # A run folder holding frames/ and its manifest: keep the manifest's order for the
        # entries that live in this folder.
        folder = frames.resolve()
        entries = [(p, n) for p, n in _read_manifest(beside) if p.resolve().parent == folder]
        if entries:
            return _frames_from_manifest(beside, entries)
    files = sorted(
        (path for path in frames.iterdir() if path.suffix.lower() == ".png" and path.is_file()),
        key=_natural_key,
    )
    if not files:
        raise FileNotFoundError(f"frames: no *.png files found in folder '{frames}'")
    return files


def _from_iterable(frames: Iterable[np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    for index, frame in enumerate(frames):
        yield f"frames[{index}]", frame


def stitch(
    frames: str | os.PathLike | Iterable[np.ndarray],
    out_path: str | os.PathLike,
    *,
    fps: float = 10,
    scale: int = 1,
    last_frame_hold_ms: float | None = None,
    palette: np.ndarray | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Movie:
    """Encode frames into a movie whose format follows ``out_path``'s extension.

    Frames are decoded and encoded one at a time, so memory does not grow with the movie.
    On any error nothing is written to ``out_path`` and a file already there is untouched.

    >>> movie = stitch("run/frames", "run/activations.mp4", fps=12, scale=4)  # doctest: +SKIP
    >>> movie.frame_count, movie.size                                          # doctest: +SKIP
    (120, (112, 112))

    Args:
        frames: a folder of PNG files (in the order of the manifest inside or
            beside it, else by file name), a path to such a manifest (JSON lines with a
            ``"file"`` relative to the manifest), or an iterable of (height, width, 3) uint8
            arrays.
        out_path: the movie to write: .gif, .mp4 or .webm.
        fps: frames per second.
        scale: each pixel becomes a scale x scale block (nearest neighbour).
        last_frame_hold_ms: how much longer the last frame shows; None keeps the writer's
            default (1000 ms for GIF, 0 for video).
        palette: for GIF only, the colours of every frame (see :class:`GifWriter`).
        overwrite: replace a file at ``out_path``.
        progress: show a progress bar on stderr.

    Returns:
        The :class:`Movie` written.

    Raises:
        TypeError, ValueError: a bad option, frames of another kind, of different sizes,
            or none; a manifest line or a PNG that cannot be read (named).
        FileNotFoundError: no such folder or manifest, or a listed frame is missing.
        FileExistsError: a file is at ``out_path`` and ``overwrite`` is False.
    """
    writer = _writer(out_path, fps=fps, scale=scale, last_frame_hold_ms=last_frame_hold_ms, palette=palette,
                     overwrite=overwrite)
    source, total = _source(frames)
    try:
        _encode(source, writer, total=total, progress=progress)
        if writer.frame_count == 0:
            raise ValueError(
                f"frames is empty: there is nothing to encode. Received: an empty "
                f"{type(frames).__name__}"
            )
        return writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        source.close()


def _writer(out_path, *, fps, scale, last_frame_hold_ms, palette, overwrite):
    options: dict[str, Any] = {"fps": fps, "scale": scale, "overwrite": overwrite}
    if last_frame_hold_ms is not None:
        options["last_frame_hold_ms"] = last_frame_hold_ms
    if palette is not None:
        if Path(out_path).suffix.lower() != ".gif":
            raise ValueError(
                f"palette applies to GIF output only. Received: palette with out_path='{out_path}'"
            )
        options["palette"] = palette
    return writer_for(out_path, **options)


def _source(frames) -> tuple[Iterator[tuple[str, np.ndarray]], int | None]:
    """(label, frame) for each frame, and how many there are when that is known."""
    if isinstance(frames, (str, os.PathLike)):
        files = _frame_files(Path(frames))
        return decoded(files), len(files)
    if isinstance(frames, Iterable):
        return _from_iterable(frames), len(frames) if hasattr(frames, "__len__") else None
    raise TypeError(
        f"frames must be a folder of PNG frames, a {MANIFEST_NAME} manifest or an iterable of "
        f"(height, width, 3) uint8 arrays. Received: {type(frames).__name__}"
    )


def _encode(source, writer, *, total: int | None, progress: bool) -> None:
    """Every frame of `source` into `writer`, checking that all have the first one's size."""
    from tqdm import tqdm

    first_label = first_hw = None
    with tqdm(total=total, unit="frame", desc=writer.out_path.name, file=sys.stderr,
              disable=not progress) as bar:
        try:
            for label, frame in source:
                if first_hw is None and isinstance(frame, np.ndarray):
                    first_label, first_hw = label, frame.shape[:2]
                elif isinstance(frame, np.ndarray) and frame.shape[:2] != first_hw:
                    raise ValueError(
                        f"frames: {label} has (height, width)={frame.shape[:2]} but the "
                        f"first frame {first_label} has {first_hw}; all frames must have the "
                        "same size"
                    )
                writer.grab_frame(frame)
                bar.update()
        except BaseException:
            bar.leave = False  # the bar is erased: the error stands alone on its line
            raise
