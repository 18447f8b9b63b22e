"""The page's file: `page.html`, with `page.css`, `page.js`, `page_dynamics.js` and the run's data put in.

The three are package files beside this module (in the wheel as package data), read with
`importlib.resources`, so the page can be edited as HTML, CSS and JavaScript.
"""

from __future__ import annotations

import functools
import html
import json
import re
from importlib import resources

__all__ = ["GENERATOR", "render_page"]

#: Marks a page `write_page` wrote (its `<meta name="generator">`), which it may replace.
GENERATOR = "vizcallbacks write_page"
# The blanks of page.html; what is put in is not searched again.
_BLANK = re.compile(r"__(GENERATOR|TITLE|STYLE|SCRIPT|DYNAMICS_SCRIPT|DATA)__")


@functools.cache
def _package_file(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render_page(data: dict) -> str:
    """The page's HTML for `data` (see `data.page_data`): self-contained, its style, script
    and data inline, its frames referred to by `data`'s paths.

    Args:
        data: the page's data: "title", "x", "metrics", "runs", "timeline", and
            "dynamics" (`dynamics.dynamics_data`, or None).

    Returns:
        The HTML text.
    """
    # In a <script> element only "</" can end it early; \u003c is the same string to JSON.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    values = {"GENERATOR": GENERATOR, "TITLE": html.escape(data["title"]), "STYLE": _package_file("page.css"),
              "SCRIPT": _package_file("page.js"), "DYNAMICS_SCRIPT": _package_file("page_dynamics.js"),
              "DATA": payload}
    return _BLANK.sub(lambda blank: values[blank[1]], _package_file("page.html"))
