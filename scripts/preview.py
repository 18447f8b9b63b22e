"""Make the README's pictures from a training run: docs/frame.png (the last frame) and
docs/demo.gif (a preview under 1 MB: frames picked evenly, the first and last kept).

    .venv/bin/python scripts/preview.py output/fashion_mnist
"""

import argparse
import shutil
from pathlib import Path

import numpy as np

from vizcallbacks import stitch
from vizcallbacks.framefiles import MANIFEST_NAME, read_png, read_manifest

MAX_BYTES = 1_000_000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a `vizcallbacks train` output folder")
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    args = parser.parse_args()
    records = [record for _, record in read_manifest(args.run / MANIFEST_NAME)]
    files = [args.run / r["file"] for r in records]
    args.docs.mkdir(exist_ok=True)
    shutil.copyfile(files[-1], args.docs / "frame.png")
    for count in (40, 30, 24, 18, 12):
        picked = sorted(set(np.linspace(0, len(files) - 1, min(count, len(files))).round().astype(int)))
        frames = (read_png(files[i]) for i in picked)
        movie = stitch(frames, args.docs / "demo.gif", fps=4, last_frame_hold_ms=2000, overwrite=True)
        if movie.path.stat().st_size <= MAX_BYTES:
            break
    print(f"{movie.path}: {movie.frame_count} frames, {movie.path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
