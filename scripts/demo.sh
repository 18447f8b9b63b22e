#!/usr/bin/env bash
# The main job: train the default CNN on Fashion-MNIST and write its training movie
# (frames, GIF and MP4) under output/fashion_mnist/. Extra arguments go to
# `vizcallbacks train`, e.g. scripts/demo.sh --dataset mnist --out output/mnist
source "$(dirname "$0")/_setup.sh" ""
exec .venv/bin/vizcallbacks train --dataset fashion_mnist --epochs 2 --every 20 \
    --out output/fashion_mnist --overwrite "$@"
