#!/usr/bin/env bash
# The whole test suite, end-to-end tests on real MNIST and Fashion-MNIST included.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not e2e" for the fast ones.
source "$(dirname "$0")/_setup.sh" test
exec .venv/bin/python -m pytest -q "$@"
