"""What a written movie is: its file, frame count, rate, duration and size, and how Jupyter
shows it inline."""

from __future__ import annotations

import base64
import dataclasses
import html
import os
from pathlib import Path

__all__ = ["Movie", "MAX_INLINE_BYTES"]

#: Movies up to this size are embedded in ``Movie._repr_html_`` as data URIs; larger ones are
#: linked, because notebooks that carry tens of megabytes of base64 become slow to open.
MAX_INLINE_BYTES = 10 * 1024 * 1024

_MIME_TYPES = {"gif": "image/gif", "mp4": "video/mp4", "webm": "video/webm"}


@dataclasses.dataclass(frozen=True)
class Movie:
    """A movie file on disk, as written by a writer or :func:`stitch`.

    Args:
        path: the movie file.
        frame_count: frames in the file.
        fps: the rate the file plays at (a GIF stores whole centiseconds, so ``fps=30``
            plays at 100/3).
        duration_s: playing time in seconds, the hold on the last frame included.
        size: (width, height) of the movie in pixels, after scaling and padding.
    """

    path: Path
    frame_count: int
    fps: float
    duration_s: float
    size: tuple[int, int]

    @property
    def format(self) -> str:
        """The file format from the suffix: ``"gif"``, ``"mp4"`` or ``"webm"``."""
        return self.path.suffix.lower().lstrip(".")

    def _repr_html_(self) -> str:
        mime = _MIME_TYPES.get(self.format, "application/octet-stream")
        try:
            inline = self.path.stat().st_size <= MAX_INLINE_BYTES
        except OSError:
            inline = False
        if inline:
            encoded = base64.b64encode(self.path.read_bytes()).decode("ascii")
            src = f"data:{mime};base64,{encoded}"
        else:
            # Jupyter serves files relative to the notebook, usually the working folder.
            try:
                src = Path(os.path.relpath(self.path)).as_posix()
            except ValueError:  # another drive on Windows
                src = self.path.as_posix()
        width, height = self.size
        attributes = f'src="{html.escape(src)}" width="{width}" height="{height}"'
        if self.format == "gif":
            return f'<img {attributes} alt="{html.escape(self.path.name)}">'
        return f"<video {attributes} controls loop autoplay muted playsinline></video>"

