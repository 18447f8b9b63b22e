"""The wheel holds what the package reads at run time: built from a copy of the sources,
installed into a new virtual environment, and used from there by a Python that cannot see
the source tree."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)

PAGE_FILES = ("page.html", "page.css", "page.js")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The project's wheel, built without network from a copy of its sources (a build in
    the tree would leave build/ and *.egg-info there)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "vizcallbacks", source / "vizcallbacks",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(work / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = (work / "dist").glob("vizcallbacks-*.whl")
    return built


def test_the_wheel_holds_the_pages_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"vizcallbacks/apps/page/{name}" for name in PAGE_FILES} <= names


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
