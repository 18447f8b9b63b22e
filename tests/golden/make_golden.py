"""Reduce a small train, compare and lr-find run (made with the command line) to what must
stay the same across refactors: manifest fields, figures, frame sizes, a coarse picture of
each frame, compare's records, lr-find's suggestion.

    KERAS_BACKEND=jax python tests/golden/make_golden.py OUT_DIR WORK_DIR

`tests/test_same_as_before.py` runs the same commands and compares with the file this wrote
(`tests/golden/before-<backend>.json`, made by the code before the narrow-doors change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

#: What each command runs (kept small: a few seconds each on 2 cores).
COMMANDS = {
    "train": ["train", "--dataset", "fashion_mnist", "--max-steps", "30", "--every", "10", "--format", "gif",
              "--seed", "3", "--quiet"],
    "lr_find": ["lr-find", "--dataset", "fashion_mnist", "--batches", "60", "--min-lr", "0.001", "--format", "gif", "--seed", "3",
                "--quiet"],
    "compare": ["compare", "--dataset", "fashion_mnist", "--batch-sizes", "16,64", "--examples", "1024",
                "--every", "256", "--heldout", "200", "--format", "gif", "--seed", "3", "--quiet"],
}
#: Manifest fields that change from run to run by nature.
VOLATILE = {"time_s", "wall_time", "render_ms", "capture_ms", "write_ms"}
BLOCK = 16


def coarse(path: Path) -> list:
    """The frame as 16x16 block means of its grey levels: small, and still shows a changed layout."""
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    h, w = grey.shape[0] // BLOCK * BLOCK, grey.shape[1] // BLOCK * BLOCK
    blocks = grey[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))
    return np.round(blocks).astype(int).tolist()


def manifest(path: Path, folder: Path) -> list:
    out = []
    for index, line in enumerate(path.read_text().splitlines()):
        record = {k: v for k, v in json.loads(line).items() if k not in VOLATILE}
        frame = folder / record["file"] if "file" in record else None
        if frame is not None and frame.exists():
            record["_size"] = list(Image.open(frame).size)
            if index % 10 == 0 or record.get("final"):
                record["_coarse"] = coarse(frame)
        out.append(record)
    return out


def run(command: list, out: Path) -> None:
    env = dict(os.environ)
    subprocess.run([sys.executable, "-m", "vizcallbacks", *command, "--out", str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def reduce(name: str, out: Path) -> dict:
    result = {}
    if name in ("train", "lr_find"):
        result["manifest"] = manifest(out / "frames.jsonl", out)
    if name == "lr_find":
        summary = json.loads((out / "summary.json").read_text())
        result["summary"] = {k: summary[k] for k in sorted(summary) if k in ("suggestion", "suggested", "range",
                                                                              "diverged_at", "lowest")}
        result["summary_keys"] = sorted(summary)
    if name == "compare":
        result["summary"] = json.loads((out / "summary.json").read_text())
        for run_dir in sorted((out / "runs").iterdir()):
            if (run_dir / "frames.jsonl").exists():
                result[f"run:{run_dir.name}"] = manifest(run_dir / "frames.jsonl", run_dir)
    return result


def main(golden: Path, work: Path) -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    results = {}
    for name, command in COMMANDS.items():
        out = work / name
        run(command, out)
        results[name] = reduce(name, out)
    golden.mkdir(parents=True, exist_ok=True)
    (golden / f"before-{backend}.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
