#!/usr/bin/env bash
# The whole test suite, end-to-end tests on real MNIST and Fashion-MNIST included, once
# under each Keras backend: TensorFlow, JAX, PyTorch (all three installed on first run).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not e2e" for the fast ones;
# VIZCALLBACKS_BACKENDS="jax" runs under fewer backends. Every backend runs even when one
# fails; the exit status is that of the first that failed. Tests marked `once` (their
# subject does not change with the backend) run in the first pass only.
source "$(dirname "$0")/_setup.sh" test
status=0
repeat=0
for backend in ${VIZCALLBACKS_BACKENDS:-tensorflow jax torch}; do
    echo "=== the suite under KERAS_BACKEND=$backend" >&2
    started=$SECONDS
    code=0
    KERAS_BACKEND="$backend" VIZCALLBACKS_REPEAT_PASS="$repeat" .venv/bin/python -m pytest -q "$@" || code=$?
    repeat=1
    echo "=== KERAS_BACKEND=$backend: exit status $code in $((SECONDS - started)) s" >&2
    if [ "$status" = 0 ]; then status=$code; fi
done
exit "$status"
