# Sourced by the scripts: a virtual environment in .venv with this package installed
# (editable) and a Keras backend: TensorFlow's CPU build, unless .venv has a tensorflow
# already. With "test", also the test and docs extras and the other two backends, JAX and PyTorch,
# so that the suite runs under each. Re-running is quick once installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extra="${1:-}"  # "" (the demo) or "test" (the suite, every backend)
if [ ! -x .venv/bin/python ]; then
    echo "setting up .venv (first run: downloads the Keras backends, a few minutes)..." >&2
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.vizcallbacks-installed${extra:+-$extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    extras="$extra"
    # A GPU build of tensorflow installed by hand stays alone: tensorflow-cpu beside it
    # would be a second distribution of the same module.
    if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('tensorflow') is None)"; then
        extras="${extras:+$extras,}tensorflow-cpu"
    fi
    pins=()
    if [ "$extra" = test ]; then
        extras="$extras,jax,torch,docs"
        # A pinned torch: pip then takes a local CPU wheel of that release where one is on
        # its find-links (2.13.0+cpu sorts above 2.13.0); left free, it would fetch the
        # newest CUDA build from PyPI, several GB. VIZCALLBACKS_TORCH names another pin.
        pins+=("${VIZCALLBACKS_TORCH:-torch==2.13.0}")
    fi
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}" ${pins[@]+"${pins[@]}"}
    touch "$stamp"
fi

# Fashion-MNIST comes from Debian's package where keras.datasets cannot download.
fashion=/usr/share/datasets/fashion-mnist
if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's dataset-fashion-mnist..." >&2
    (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq dataset-fashion-mnist >/dev/null; }) \
        || echo "could not install dataset-fashion-mnist; keras.datasets will try to download" >&2
fi
# MNIST: the IDX files shipped beside this checkout, when they are there.
if [ -z "${VIZCALLBACKS_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
    export VIZCALLBACKS_DATA="$(cd ../shared/data && pwd)"
fi
# The page's browser tests (and the README's screenshots) drive Debian's chromium through its
# chromium-driver; with "test", install them as root where they are missing.
if [ "$extra" = test ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } \
        && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium and chromium-driver..." >&2
    (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; }) \
        || echo "could not install chromium and chromium-driver; the browser tests will fail in CI" >&2
fi
