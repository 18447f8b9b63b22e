#!/usr/bin/env bash
# The main job: train the default CNN on Fashion-MNIST and write its training movie
# (frames, GIF and MP4) under output/fashion_mnist/. Extra arguments go to
# `vizcallbacks train`, e.g. scripts/demo.sh --dataset mnist --out output/mnist
# The demo's own folder, output/fashion_mnist/, is replaced on every run; a folder given
# with --out is the user's: an earlier run there is kept unless --overwrite is given too.
source "$(dirname "$0")/_setup.sh" ""
replace=(--overwrite)
for argument in "$@"; do
    case "$argument" in --out|--out=*) replace=() ;; esac
done
exec .venv/bin/vizcallbacks train --dataset fashion_mnist --epochs 2 --every 20 \
    --out output/fashion_mnist "${replace[@]}" "$@"
