"""Record, then draw: what every frame is drawn from, kept as data beside the frames.

- ``store.py``: the activation store's format (one compressed NumPy archive per frame,
  written atomically, with a description and an index) and `StoreWriter`, which writes it;
- ``reader.py``: `open_run`, which reads a run's store back, one layer at a time.

Both need NumPy only: a store recorded on a GPU box is read on a laptop without Keras.
"""

from .reader import RecordedFrame, RecordedRun, open_run
from .format import FORMAT_VERSION, PRECISIONS, STORE_DIR
from .recorder import ActivationRecorder, check_record, recordable
from .store import StoreWriter

__all__ = ["open_run", "RecordedRun", "RecordedFrame", "StoreWriter", "ActivationRecorder", "check_record", "recordable", "STORE_DIR", "FORMAT_VERSION", "PRECISIONS"]
