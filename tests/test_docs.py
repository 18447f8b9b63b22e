"""The documentation site (mkdocs.yml, docs/) builds with warnings as errors: a broken link or
anchor, a public name missing from the API reference or without a docstring, each fails it."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from needs import need

pytestmark = pytest.mark.once  # the site does not change with the backend

INSTALL = "pip install -e '.[docs]'"
COMMANDS = ("train", "compare", "lr-find", "render", "stitch", "view")


def _hooks():
    """docs/hooks.py, the build's hooks, imported from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with `mkdocs build --strict` into a temporary folder."""
    need("mkdocs", INSTALL)
    need("material", INSTALL)
    need("mkdocstrings_handlers.python", INSTALL)
    out = tmp_path_factory.mktemp("site")
    paths = [str(REPO)] + [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(REPO / "mkdocs.yml"), "--site-dir", str(out)],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _page(site, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def test_the_api_reference_names_every_public_name_with_its_docstring(site):
    import vizcallbacks

    page = _page(site, "api")
    for name in vizcallbacks.__all__:
        assert f'id="{_anchor_of(name)}"' in page, name
    # A docstring's own words, rendered: the reference comes from the code.
    assert "One destination for frames." in page  # Sink's
    assert "Open the activation store of a run" in page  # open_run's


def _anchor_of(name: str) -> str:
    """mkdocstrings' heading id for a public name: its path where it is defined."""
    import vizcallbacks

    value = getattr(vizcallbacks, name)
    return f"{value.__module__}.{value.__qualname__}"


def test_the_gallery_shows_real_frames_that_are_in_the_site(site):
    page = _page(site, "gallery")
    pictures = re.findall(r'<img alt="[^"]*" src="\.\./([^"]+)"', page)
    assert {"frame.png", "demo.gif", "series-frame.png", "compare-frame.png", "lr-find.png",
            "live-page.png"} <= set(pictures)
    assert all((site / picture).stat().st_size > 10_000 for picture in pictures)


def test_the_commands_page_holds_every_commands_help(site):
    page = _page(site, "commands")
    for command in COMMANDS:
        assert f"usage: vizcallbacks {command}" in page
    assert "--max-steps" in page and "--cmap" in page and "--batch-sizes" in page


def test_a_public_name_left_out_of_the_api_reference_is_named():
    need("mkdocs", INSTALL)
    problems = _hooks().undocumented_names({"vizcallbacks.PlotConvCallback"})
    assert "load_dataset is missing (add '::: vizcallbacks.demos.datasets.load_dataset')" in problems
    assert not any(problem.startswith("PlotConvCallback") for problem in problems)


def test_doctest_blocks_are_fenced_as_code_at_their_own_indentation():
    need("mkdocs", INSTALL)
    text = "Makes a frame.\n\n>>> frame = plot_conv(model, x)\n>>> frame.shape\n(120, 400, 3)\n\nExample:\n" \
           "    >>> sink.open()\n    ...     more\n"
    assert _hooks().fence_doctests(text) == (
        "Makes a frame.\n\n```pycon\n>>> frame = plot_conv(model, x)\n>>> frame.shape\n(120, 400, 3)\n```\n\n"
        "Example:\n    ```pycon\n    >>> sink.open()\n    ...     more\n    ```")
