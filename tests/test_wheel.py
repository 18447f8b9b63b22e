"""The wheel holds what the package reads at run time. The sdist and the wheel are built from a
copy of the sources (the wheel from the sdist, as `python -m build` does, so the sdist is
complete too), installed into new virtual environments, and used from there by a Python that
cannot see the source tree: a page from the suite's dependencies, and a training movie in an
environment that pip filled from the wheel's own requirements alone."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import MNIST_DIR, REPO, require

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)

PAGE_FILES = ("page.html", "page.css", "page.js")
# What the package reads from its own folder at run time; fonts come from matplotlib's data and
# ffmpeg from imageio-ffmpeg, both dependencies (checked in the clean environment below).
PACKAGE_FILES = tuple(f"vizcallbacks/apps/page/{name}" for name in PAGE_FILES) + ("vizcallbacks/py.typed",)
# The backend the clean environment gets: the smallest of the three to install.
CLEAN_BACKEND = "jax"


def _version() -> str:
    """`__version__` as the sources say it (one place: vizcallbacks/__init__.py)."""
    import vizcallbacks

    return vizcallbacks.__version__


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The project's sdist and wheel, built without network (`--no-isolation`: the suite's
    setuptools) from a copy of its sources, as a build in the tree would leave build/ and
    *.egg-info there. Returns the folder holding both."""
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "vizcallbacks", source / "vizcallbacks",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"),
                           str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return work / "dist"


@pytest.fixture(scope="module")
def wheel(dist):
    [built] = dist.glob("vizcallbacks-*.whl")
    return built


def test_the_wheel_holds_the_package_files_and_the_version(wheel):
    archive = zipfile.ZipFile(wheel)
    assert set(PACKAGE_FILES) <= set(archive.namelist())
    assert wheel.name.startswith(f"vizcallbacks-{_version()}-py3-none-any")
    metadata = archive.read(f"vizcallbacks-{_version()}.dist-info/METADATA").decode()
    assert f"\nVersion: {_version()}\n" in metadata
    assert "Provides-Extra: docs" in metadata and "Provides-Extra: jax" in metadata


def test_the_sdist_holds_the_sources_the_wheel_is_built_from(dist):
    [sdist] = dist.glob("vizcallbacks-*.tar.gz")
    assert sdist.name == f"vizcallbacks-{_version()}.tar.gz"
    top = f"vizcallbacks-{_version()}"
    names = set(tarfile.open(sdist).getnames())
    assert {f"{top}/{name}" for name in ("pyproject.toml", "README.md", *PACKAGE_FILES)} <= names
    assert f"{top}/vizcallbacks/apps/cli/__init__.py" in names


def _installed(wheel, tmp_path) -> Path:
    """A new virtual environment with the wheel installed in it (pip, offline, no
    dependencies); its dependencies (numpy, ...) are read from the suite's environment,
    whose own vizcallbacks (the source tree, installed editable) it cannot see."""
    import site
    import sysconfig

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # A path line in a .pth file adds the folder without running the .pth files in it (the
    # suite's editable install of vizcallbacks is one of those).
    dependencies = [path for path in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]]
    Path(purelib, "suite-dependencies.pth").write_text("\n".join(dict.fromkeys(dependencies)) + "\n")
    return python


def test_a_page_written_by_the_installed_wheel_holds_the_template(wheel, tmp_path):
    python = _installed(wheel, tmp_path)
    run = tmp_path / "run"
    (run / "frames").mkdir(parents=True)
    (run / "frames" / "plot-01-0000.png").write_bytes(b"")  # the page refers to it, never reads it
    line = {"file": "frames/plot-01-0000.png", "epoch": 1, "batch": 0, "step": 1, "loss": 0.5, "mae": 2.0}
    (run / "frames.jsonl").write_text(json.dumps(line) + "\n")
    # -I: no PYTHONPATH, no current folder on sys.path: the installed wheel only.
    script = ("import vizcallbacks\n"
              f"assert vizcallbacks.__file__.startswith({str(tmp_path / 'env')!r}), vizcallbacks.__file__\n"
              f"print(vizcallbacks.write_page({str(run)!r}))\n")
    done = subprocess.run([str(python), "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    page = (run / "index.html")
    assert done.stdout.strip() == str(page)
    text = page.read_text(encoding="utf-8")
    for name in ("page.css", "page.js"):
        assert (REPO / "vizcallbacks" / "apps" / "page" / name).read_text(encoding="utf-8") in text
    assert '<meta name="generator" content="vizcallbacks write_page">' in text
    assert "<title>run · vizcallbacks</title>" in text
    assert '"key":"mae"' in text and not any(f"__{blank}__" in text for blank in ("STYLE", "SCRIPT", "DATA"))


@pytest.fixture(scope="module")
def clean_env(wheel, tmp_path_factory):
    """A new virtual environment without system site-packages, holding the wheel and what
    pip resolves from its requirements (`vizcallbacks[jax]`) and nothing else: no source
    tree, no test dependency. Removed afterwards (about 1 GB)."""
    env = tmp_path_factory.mktemp("clean") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    done = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q",
                           f"{wheel}[{CLEAN_BACKEND}]"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    yield env
    shutil.rmtree(env, ignore_errors=True)


def _outside_the_tree(tmp_path) -> dict:
    """The environment of a command that must not see the source tree: no PYTHONPATH (the
    commands run from tmp_path, so the current folder does not hold it either)."""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    return {**environment, "KERAS_BACKEND": CLEAN_BACKEND, "MPLBACKEND": "Agg"}


def _run(command, tmp_path, timeout) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=tmp_path, env=_outside_the_tree(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.e2e
def test_the_wheel_in_a_clean_environment_makes_a_movie_and_its_page(clean_env, tmp_path):
    require(MNIST_DIR, "MNIST")
    bin_dir = clean_env / "bin"
    # Where the package and its fonts are read from: the environment, never the source tree.
    where = _run([bin_dir / "python", "-c", "import vizcallbacks, vizcallbacks.render as r; "
                  "print(vizcallbacks.__file__); print(r.font(12).path); print(vizcallbacks.__version__)"],
                 tmp_path, timeout=60).stdout.split()
    assert where[0].startswith(str(clean_env)) and where[1].startswith(str(clean_env))
    assert where[1].endswith("DejaVuSans.ttf") and where[2] == _version()

    out = tmp_path / "run"
    _run([bin_dir / "vizcallbacks", "train", "--dataset", "mnist", "--data-dir", MNIST_DIR, "--max-steps", 60,
          "--every", 20, "--quiet", "--out", out], tmp_path, timeout=300)
    lines = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert [line["batch"] for line in lines] == [0, 20, 40, 59]
    from PIL import Image

    with Image.open(out / "movie.gif") as movie:
        assert movie.n_frames == len(lines)
    assert (out / "movie.mp4").stat().st_size > 0

    # view writes the page and returns: it serves nothing, so it cannot block.
    page = tmp_path / "view.html"
    printed = _run([bin_dir / "vizcallbacks", "view", out, "--out", page], tmp_path, timeout=60).stdout
    assert printed.strip() == str(page)
    text = page.read_text(encoding="utf-8")
    assert (REPO / "vizcallbacks" / "apps" / "page" / "page.js").read_text(encoding="utf-8") in text
    assert Path(lines[-1]["file"]).name in text
