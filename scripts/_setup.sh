# Sourced by the scripts: a virtual environment in .venv with this package installed
# (editable) and, with "test", its test extra. Re-running is quick once installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extra="${1:-}"  # "" or "test": which extra to install
if [ ! -x .venv/bin/python ]; then
    echo "setting up .venv (first run: downloads TensorFlow, a few minutes)..." >&2
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.vizcallbacks-installed${extra:+-$extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet -e ".${extra:+[$extra]}"
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
