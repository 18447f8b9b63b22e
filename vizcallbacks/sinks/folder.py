"""`FramesFolder`: what a folder of frames and its manifest already hold, and the rules that
keep it: nothing is lost unless `overwrite=True`, a resumed run adds after the frames it keeps,
a last manifest line torn by a killed run is repaired. Not a sink: the callback asks it
before the PNG and manifest sinks open."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..checks import check_writable_dir
from ..framefiles import (FRAME_GLOB, FRAME_NAME_PATTERN, MANIFEST_NAME, parse_manifest_line, partial_path,
                          read_manifest, torn_tail, write_atomically)

__all__ = ["FramesFolder"]


class FramesFolder:
    """A folder of PNG frames with its manifest, as a run finds them before it writes.

    >>> folder = FramesFolder("run/frames", manifest_path="run/manifest.jsonl")
    >>> folder.check()                          # before training: usable, nothing to lose
    >>> folder.prepare(resume=True, first_epoch=3)
    >>> folder.listed_frames()                  # the frames the resumed run keeps

    Args:
        frames_dir: the folder of the PNG frames.
        manifest_path: the manifest; default `MANIFEST_NAME` in `frames_dir`.
        overwrite: replace frames and manifest lines that are there instead of refusing.
    """

    def __init__(self, frames_dir, *, manifest_path=None, overwrite: bool = False):
        self.frames_dir = Path(frames_dir)
        self.manifest_path = (Path(manifest_path) if manifest_path is not None
                              else self.frames_dir / MANIFEST_NAME)
        self.overwrite = overwrite

    def existing_frames(self) -> list[Path]:
        """The frame files in the folder, in name (so time) order.

        Returns:
            A list of paths; empty when the folder does not exist.
        """
        return sorted(self.frames_dir.glob(FRAME_GLOB)) if self.frames_dir.is_dir() else []

    def listed_frames(self) -> list[Path]:
        """The frame files the manifest lists, in its order.

        Returns:
            A list of paths; empty when there is no manifest.
        """
        if not self.manifest_path.is_file():
            return []
        return [self.manifest_path.parent / record["file"]
                for _, record in read_manifest(self.manifest_path)
                if isinstance(record.get("file"), str)]

    def last_step(self) -> int | None:
        """The highest training step the manifest records, None without one: where a
        resumed fit whose epoch length Keras does not know goes on counting.

        Returns:
            An int, or None when there is no manifest or no step in it.
        """
        if not self.manifest_path.is_file():
            return None
        steps = [record["step"] for _, record in read_manifest(self.manifest_path)
                 if isinstance(record.get("step"), int)]
        return max(steps, default=None)

    def check(self, *, resume: bool = False) -> None:
        """Raise before training if the folders are unusable or would lose frames.

        Args:
            resume: a resumed run may add to frames that are there.

        Raises:
            ValueError: a folder cannot be made or written.
            FileExistsError: frames or a manifest are there, and neither `overwrite` nor
                `resume` allows adding to them.
        """
        check_writable_dir(self.frames_dir, "frames_dir")
        check_writable_dir(self.manifest_path.parent, "manifest_path")
        existing = self.existing_frames()
        if (existing or self.manifest_path.exists()) and not (self.overwrite or resume):
            raise FileExistsError(
                f"frames_dir {str(self.frames_dir)!r} already holds {len(existing)} frames "
                f"(manifest {str(self.manifest_path)!r}). They are kept: pass overwrite=True "
                "(--overwrite) to replace them, choose another folder, or resume with "
                "model.fit(..., initial_epoch=k) to add to them."
            )

    def prepare(self, *, resume: bool = False, first_epoch: int = 0) -> None:
        """Make the folder ready for a run's frames: checked (see `check`), cleared of what
        a killed run left half-written, and then, for a resumed run, rewound to the frames
        it keeps; for a new run with `overwrite`, emptied of earlier frames and manifest.

        Args:
            resume: keep the frames of epochs up to `first_epoch` and add after them;
                frames of later epochs, which this run draws again, are refused unless
                `overwrite`.
            first_epoch: the 0-based epoch the run starts at (fit's `initial_epoch`).

        Raises:
            FileExistsError: frames would be lost (see `check`), or a resumed run would draw
                again frames that are kept.
        """
        self.check(resume=resume)
        for stale in self.frames_dir.glob(partial_path(FRAME_GLOB).name):
            stale.unlink()  # half a PNG that a killed run was writing
        if resume:
            self._repair_manifest()
            self._rewind(first_epoch)
        elif self.overwrite:
            for path in self.existing_frames():
                path.unlink()
            self.manifest_path.unlink(missing_ok=True)

    def _repair_manifest(self) -> None:
        """A run killed while writing a line leaves it without its newline: remove it if
        it is incomplete, end it if it is whole, so that the next line does not stick to it."""
        if not self.manifest_path.is_file():
            return
        data = self.manifest_path.read_bytes()
        start, tail = torn_tail(data)
        if not tail:
            return
        try:
            parse_manifest_line(self.manifest_path, 0, tail)
            complete = True
        except ValueError:
            complete = False
        with open(self.manifest_path, "r+b") as manifest:
            if complete:
                manifest.seek(0, os.SEEK_END)
                manifest.write(b"\n")
            else:
                manifest.truncate(start)
        if not complete:
            warnings.warn(
                f"manifest '{self.manifest_path}': its last line was incomplete (no newline, not "
                "valid JSON), as a run killed while writing it leaves it; it was removed before "
                "this run appends its own lines.", stacklevel=3)

    def _rewind(self, first_epoch: int) -> None:
        """Frames of epoch `first_epoch + 1` and later would be drawn again by a run that
        resumes at `initial_epoch=first_epoch`: refuse them, or with overwrite remove them
        and their manifest lines, so that the manifest never lists a frame twice."""
        entries = read_manifest(self.manifest_path) if self.manifest_path.is_file() else []

        def later(epoch) -> bool:
            return isinstance(epoch, int) and epoch > first_epoch

        stale_lines = {number for number, record in entries if later(record.get("epoch"))}
        stale_files = [path for path in self.existing_frames()
                       if (match := FRAME_NAME_PATTERN.fullmatch(path.name)) and later(int(match[1]))]
        if not stale_lines and not stale_files:
            return
        if not self.overwrite:
            names = [path.name for path in stale_files] or [
                record.get("file") for number, record in entries if number in stale_lines]
            raise FileExistsError(
                f"frames_dir {str(self.frames_dir)!r} already holds frames of epoch "
                f"{first_epoch + 1} and later ({names[0]}{', ...' if len(names) > 1 else ''}; "
                f"{len(names)} in all), which this run, resuming with initial_epoch={first_epoch}, "
                "would draw again. They are kept: resume from a later epoch, choose another "
                "folder, or pass overwrite=True (--overwrite) to replace them."
            )
        if stale_lines:
            # Numbered as read_manifest numbers them; _repair_manifest left a final newline.
            lines = self.manifest_path.read_bytes().split(b"\n")[:-1]
            write_atomically(self.manifest_path, b"".join(
                line + b"\n" for number, line in enumerate(lines, start=1) if number not in stale_lines))
        for path in stale_files:
            path.unlink()
