"""Old home of the frame file format and the sinks, kept so that earlier imports still work.

The format (names, `FrameRecord`, the manifest, PNG reading and writing) is in
`vizcallbacks.framefiles`; the sinks are in `vizcallbacks.sinks`, one a file.
"""

from .framefiles import MANIFEST_NAME, FrameRecord, frame_name, read_manifest
from .sinks.movie import MovieSink

__all__ = ["FrameRecord", "MovieSink", "frame_name", "read_manifest", "MANIFEST_NAME"]
