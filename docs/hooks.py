"""Hooks of the documentation build (mkdocs.yml, `hooks:`).

- A page's `<!-- vizcallbacks-help: COMMAND -->` becomes that command's `--help`, read from
  the parser the command line uses, so the commands page cannot drift from the flags.
- The API reference must name every public name of `vizcallbacks` (`__all__`), and each must
  have a docstring of its own: otherwise the build fails, like a broken link under `--strict`.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re

from mkdocs.exceptions import PluginError

API_PAGE = "api.md"
# Wide enough for the flags and their help on one line each, narrow enough for a page.
HELP_COLUMNS = 100
_HELP_MARKER = re.compile(r"<!-- vizcallbacks-help: ([\w-]+) -->")
_REFERENCE = re.compile(r"^::: *(vizcallbacks[\w.]*)", re.MULTILINE)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """MkDocs' hook for each page's Markdown: checks the API page, expands help markers.

    Args:
        markdown: the page's Markdown.
        page: the page (its source path is `page.file.src_uri`).
        config: the site's configuration (unused).
        files: the site's files (unused).

    Returns:
        The Markdown with every help marker replaced by the command's help.
    """
    if page.file.src_uri == API_PAGE:
        problems = undocumented_names(set(_REFERENCE.findall(markdown)))
        if problems:
            raise PluginError(f"{API_PAGE}: " + "; ".join(problems))
    return _HELP_MARKER.sub(lambda found: command_help(found[1]), markdown)


def command_help(command: str) -> str:
    """`vizcallbacks COMMAND --help`, as a fenced block of Markdown.

    Args:
        command: a command's name, e.g. "train".

    Returns:
        The help text in a ```text block.
    """
    from vizcallbacks.apps.cli import build_parser

    parsers = build_parser().command_parsers
    if command not in parsers:
        raise PluginError(f"no command {command!r} for a help marker; the commands: {', '.join(parsers)}")
    # argparse wraps at the terminal's width, read from COLUMNS: fixed, so the page is the
    # same on every machine.
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_COLUMNS)
    try:
        text = parsers[command].format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return f"```text\n{text.rstrip()}\n```"


def undocumented_names(referenced: set[str]) -> list[str]:
    """What the API reference lacks: each public name must be referenced (`::: path`, by
    `vizcallbacks.NAME` or where it is defined) and have a docstring of its own.

    Args:
        referenced: the dotted paths the API page's `:::` lines name.

    Returns:
        One line per problem; empty when every public name is documented.
    """
    import vizcallbacks

    problems = []
    for name in vizcallbacks.__all__:
        value = getattr(vizcallbacks, name)
        defined_at = f"{value.__module__}.{value.__qualname__}"
        if not {f"vizcallbacks.{name}", defined_at} & referenced:
            problems.append(f"{name} is missing (add '::: {defined_at}')")
        if not _own_docstring(value):
            problems.append(f"{name} ({defined_at}) has no docstring")
    return problems


def _own_docstring(value) -> bool:
    doc = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
    # A dataclass without a docstring is given its signature as one: not documentation.
    if dataclasses.is_dataclass(value) and doc and doc.startswith(f"{value.__name__}("):
        return False
    return bool(doc and doc.strip())


def fence_doctests(text: str) -> str:
    """Doctest blocks (`>>>` lines and their output, up to a blank line) of a docstring, fenced
    as Python console code at their own indentation (an `Example:` admonition indents them):
    Markdown would read `>>>` as nested quotes.

    Args:
        text: a docstring, dedented.

    Returns:
        The docstring with each such block between ```pycon fences.
    """
    lines, indent = [], None  # indent: the open block's, None outside one
    for line in text.splitlines():
        if indent is None and line.lstrip().startswith(">>>"):
            indent = line[:len(line) - len(line.lstrip())]
            lines.append(f"{indent}```pycon")
        elif indent is not None and not line.strip():
            lines.append(f"{indent}```")
            indent = None
        lines.append(line)
    if indent is not None:
        lines.append(f"{indent}```")
    return "\n".join(lines)


class DoctestBlocks:
    """A griffe extension (mkdocs.yml: the python handler's `extensions`) that fences each
    docstring's doctest blocks as it is loaded (see `fence_doctests`)."""

    def on_instance(self, *, obj, **kwargs) -> None:
        """Griffe calls this for every object it loads.

        Args:
            obj: the object; its docstring, if any, is changed in place.
            **kwargs: what else griffe passes (unused).
        """
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
