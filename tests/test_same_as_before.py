"""The same commands make the same runs as the code before the narrow-doors change.

`tests/golden/before-tensorflow.json` was written by `tests/golden/make_golden.py` from the
commit before the change (a2e181e): a short `train`, `lr-find` and `compare` on Fashion-MNIST,
reduced to their manifests (every field but the times), coarse pictures of some frames,
compare's summary and lr-find's suggestion. This test runs the same commands with today's code
and compares. Figures may differ by float noise only; pictures by a few grey levels of a
16x16 block mean (a changed layout, colour or stamp moves them by far more).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from conftest import FASHION_DIR, require

GOLDEN = Path(__file__).parent / "golden"

pytestmark = [pytest.mark.e2e, pytest.mark.once]

#: Keys whose values are times, measured anew by every run.
_VOLATILE = ("seconds", "wall", "time_s", "_ms", "elapsed")
#: The largest difference allowed between two 16x16 block means of a frame, in grey levels.
_COARSE_TOLERANCE = 3


def _close(before, after, where: str, problems: list) -> None:
    if isinstance(before, dict):
        if not isinstance(after, dict):
            problems.append(f"{where}: was a mapping, now {after!r}")
            return
        for key, value in before.items():
            if any(mark in key for mark in _VOLATILE):
                continue
            if key not in after:
                problems.append(f"{where}.{key}: missing now")
                continue
            if key == "_coarse":
                _coarse_close(value, after[key], f"{where}.{key}", problems)
            else:
                _close(value, after[key], f"{where}.{key}", problems)
    elif isinstance(before, list):
        if not isinstance(after, list) or len(after) != len(before):
            problems.append(f"{where}: {len(before)} items before, now {after!r:.80}")
            return
        for index, (old, new) in enumerate(zip(before, after)):
            _close(old, new, f"{where}[{index}]", problems)
    elif isinstance(before, float) and isinstance(after, (int, float)):
        if not math.isclose(before, after, rel_tol=1e-3, abs_tol=1e-4):
            problems.append(f"{where}: {before!r} before, {after!r} now")
    elif before != after:
        problems.append(f"{where}: {before!r:.80} before, {after!r:.80} now")


def _coarse_close(before, after, where: str, problems: list) -> None:
    import numpy as np

    old, new = np.asarray(before), np.asarray(after)
    if old.shape != new.shape:
        problems.append(f"{where}: picture of {old.shape} blocks before, {new.shape} now")
    elif (worst := int(np.abs(old - new).max())) > _COARSE_TOLERANCE:
        problems.append(f"{where}: a block's grey level moved by {worst}")


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the golden runs were made under TensorFlow")
def test_train_lr_find_and_compare_make_the_runs_they_made_before(tmp_path):
    import importlib.util

    require(FASHION_DIR, "Fashion-MNIST")
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    make_golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_golden)
    make_golden.main(tmp_path / "golden", tmp_path / "work")
    after = json.loads((tmp_path / "golden" / "before-tensorflow.json").read_text())
    before = json.loads((GOLDEN / "before-tensorflow.json").read_text())
    problems: list[str] = []
    _close(before, after, "run", problems)
    assert not problems, "\n".join(problems[:20])
    # The comparison above saw real runs: frames with pictures, and a compare of two runs.
    assert len(after["train"]["manifest"]) == 4 and "_coarse" in after["train"]["manifest"][0]
    assert {"run:bs16", "run:bs64"} <= set(after["compare"])
