#!/usr/bin/env bash
# The GPU measurement of BENCHMARKS.md, as ONE command on the lent device machine (Python 3.12
# with JAX and PyTorch, no TensorFlow, no Keras, no network): scripts/benchmark_backends.py
# under JAX and then under PyTorch, everything teed into $OUT.
#
# 1. Here, once: scripts/device_check.sh --prepare
#    (downloads keras, namex, optree and imageio-ffmpeg 0.4.9 as cp312 wheels into .whl/, about
#    30 MB, and copies MNIST's IDX files into .device-data/mnist/; both folders are ignored by
#    git and travel when carried)
# 2. On the device, one call: command "bash scripts/device_check.sh",
#    carry [".whl", ".device-data"], timeout about 560 s (each backend takes 1 to 3 minutes
#    on an H100; the script stops a backend that runs past VIZCALLBACKS_BENCH_TIMEOUT_S).
# Other arguments go to the benchmark (--quick: a smoke test of this script). Its exit status
# is 1 when a target is missed (--check) or a run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
wheels=.whl
data=.device-data/mnist

if [ "${1:-}" = "--prepare" ]; then
    set -e
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 -d "$wheels" \
        keras==3.15.1 namex==0.1.0 optree==0.20.0 imageio-ffmpeg==0.4.9
    source_data="${VIZCALLBACKS_DATA:-../shared/data}/mnist"
    [ -d "$source_data" ] || source_data=../shared/data/mnist
    mkdir -p "$data"
    cp "$source_data"/*-ubyte.gz "$data"/
    ls -la "$wheels" "$data"
    du -sh "$wheels" "$data"
    exit 0
fi

out="${OUT:-output/device}"
mkdir -p "$out"
exec > >(tee "$out/device_check.log") 2>&1
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
python="${PYTHON:-python3}"
site=/tmp/vizcallbacks-site
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$wheels"/*.whl || { echo "could not install the carried wheels from $wheels/"; exit 1; }
export PYTHONPATH="$site:$PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
nproc
status=0
for backend in jax torch; do
    echo "=== KERAS_BACKEND=$backend"
    KERAS_BACKEND=$backend timeout "${VIZCALLBACKS_BENCH_TIMEOUT_S:-270}" "$python" scripts/benchmark_backends.py \
        --data "$data" --check --markdown "$out/benchmark-$backend.md" "$@" || status=1
done
exit "$status"
