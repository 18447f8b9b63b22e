"""The package's shape, read with `ast` (nothing is imported): dependencies run one way, a
name with a leading underscore stays in its file, long functions say why, and every public
function and class documents its arguments the way Keras does (`Args:`, one line each)."""

import ast
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)

PACKAGE = REPO / "vizcallbacks"
SCRIPTS = REPO / "scripts"
MAX_FUNCTION_LINES = 60
DOCSTRINGS_ELSEWHERE: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


def _imports(name: str, tree: ast.Module):
    """(node, module, names) for every import in `tree`, function-level ones included, with
    relative modules resolved (`from ..render import x` in vizcallbacks.apps.compare.compose:
    vizcallbacks.render)."""
    package = name if MODULES.get(name, Path()).name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            yield node, module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, []


def _imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The package's modules that module `name` imports: a submodule when a name is one,
    else the module named."""
    found = set()
    for _, module, names in _imports(name, tree):
        submodules = {f"{module}.{item}" for item in names} & MODULES.keys()
        found |= submodules
        if module in MODULES and len(submodules) < max(len(names), 1):
            found.add(module)
    return found - {name}


def test_no_private_name_is_imported_from_another_file():
    scripts = {path.stem: ast.parse(path.read_text()) for path in sorted(SCRIPTS.glob("*.py"))}
    found = []
    for name, tree in [*TREES.items(), *scripts.items()]:
        for node, module, names in _imports(name, tree):
            if module.split(".")[0] != "vizcallbacks":
                continue
            private = [item for item in names if item.startswith("_") and not item.startswith("__")
                       and f"{module}.{item}" not in MODULES]
            if private:
                found.append(f"{name}:{node.lineno}: from {module} import {', '.join(private)}")
    assert not found, "a name used by another module is public within the package:\n" + "\n".join(found)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other_even_inside_functions():
    graph = {name: _imported_modules(name, tree) for name, tree in TREES.items()}
    assert graph["vizcallbacks.callback"] >= {"vizcallbacks.plotter", "vizcallbacks.sinks"}  # the reader works
    assert _cycles(graph) == []


def test_no_sink_imports_another():
    """Each sink stands alone, found by its file name: adding one touches no other. Only the
    interface (`base`) is shared; the package's __init__ lists them all."""
    sinks = {name for name in MODULES if name.startswith("vizcallbacks.sinks.")}
    assert {"vizcallbacks.sinks.png", "vizcallbacks.sinks.tensorboard", "vizcallbacks.sinks.notebook"} <= sinks
    found = [f"{name} imports {', '.join(sorted(imported))}" for name in sorted(sinks)
             if (imported := (_imported_modules(name, TREES[name]) & sinks) - {"vizcallbacks.sinks.base"})]
    assert not found, "sinks must not import each other (only sinks.base):\n" + "\n".join(found)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _functions():
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node


def _length_without_docstring(node) -> int:
    length = node.end_lineno - node.lineno + 1
    docstring = node.body[0] if node.body else None
    if isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant) \
            and isinstance(docstring.value.value, str):
        length -= docstring.end_lineno - docstring.lineno + 1
    return length


def test_long_functions_say_why():
    """A function of more than 60 lines (its docstring not counted) carries a reason: a
    `# long:` comment on the line above its `def` (or its decorators), or in its docstring."""
    unexplained = []
    for name, node in _functions():
        length = _length_without_docstring(node)
        if length <= MAX_FUNCTION_LINES:
            continue
        first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
        above = MODULES[name].read_text().splitlines()[first - 2].strip() if first > 1 else ""
        if not above.startswith("# long:") and "# long:" not in (ast.get_docstring(node) or ""):
            unexplained.append(f"{name}.{node.name} (line {node.lineno}): {length} lines")
    assert not unexplained, "split these into named steps, or say why not:\n" + "\n".join(unexplained)


def _arguments(node) -> list[str]:
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in ("self", "cls")]


def _documented(docstring: str) -> set[str]:
    """The names the docstring's `Args:` section gives a line to."""
    lines = docstring.splitlines()
    if "Args:" not in [line.strip() for line in lines]:
        return set()
    start = [line.strip() for line in lines].index("Args:") + 1
    indent = None
    names = set()
    for line in lines[start:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break
        if depth == indent and ":" in line:
            names.add(line.strip().split(":")[0].lstrip("*"))
    return names


def _class_arguments(node: ast.ClassDef) -> list[str]:
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return _arguments(item)
    is_dataclass = any("dataclass" in ast.unparse(decorator) for decorator in node.decorator_list)
    return [item.target.id for item in node.body if is_dataclass and isinstance(item, ast.AnnAssign)
            and isinstance(item.target, ast.Name) and not _made_not_given(item)]


def _made_not_given(field: ast.AnnAssign) -> bool:
    """A dataclass field declared `field(init=False)`: an attribute, not an argument."""
    return isinstance(field.value, ast.Call) and any(
        keyword.arg == "init" and ast.unparse(keyword.value) == "False" for keyword in field.value.keywords)


CLASSES = {node.name: node for tree in TREES.values() for node in tree.body if isinstance(node, ast.ClassDef)}


def _inherits_documented(cls: ast.ClassDef, method: str) -> bool:
    """Whether a base class of `cls` in the package documents `method` (help() shows that)."""
    for base in cls.bases:
        parent = CLASSES.get(ast.unparse(base).rpartition(".")[2])
        for item in parent.body if parent else ():
            if isinstance(item, ast.FunctionDef) and item.name == method and ast.get_docstring(item):
                return True
        if parent and _inherits_documented(parent, method):
            return True
    return False


def _public_definitions():
    """Public functions and classes, and the public methods of public classes that take
    arguments (Keras's `on_*` hooks, and methods documented by a base class, aside)."""
    for name, tree in TREES.items():
        if name in DOCSTRINGS_ELSEWHERE:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                yield name, node
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            for item in node.body:
                if (isinstance(item, ast.FunctionDef) and not item.name.startswith(("_", "on_"))
                        and _arguments(item) and not _inherits_documented(node, item.name)):
                    yield f"{name}.{node.name}", item


@pytest.mark.parametrize("name, node", list(_public_definitions()),
                         ids=[f"{name}.{node.name}" for name, node in _public_definitions()])
def test_public_functions_and_classes_document_every_argument(name, node):
    docstring = ast.get_docstring(node)
    assert docstring, f"{name}.{node.name} has no docstring"
    arguments = _class_arguments(node) if isinstance(node, ast.ClassDef) else _arguments(node)
    missing = [argument for argument in arguments if argument not in _documented(docstring)]
    assert not missing, f"{name}.{node.name}: Args: has no line for {missing}"


# ---- size: modules and doors; one route for frames ----------------------------------------
# No module outgrows 450 lines of code, no entry point 12 arguments (these import the entry
# points to count their arguments), and frames reach files and movies by one route, the sinks.

MAX_MODULE_CODE_LINES = 450


def _code_lines(source: str) -> int:
    """Lines that hold code: not blank, not only a comment. Docstrings and other strings
    count, line by line (their blank lines aside): a docstring is read and kept true like
    code, and a template written in a string is code in the wrong place."""
    import io
    import tokenize

    lines = source.splitlines()
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
               tokenize.ENDMARKER, tokenize.ENCODING}
    code = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            code.update(number for number in range(token.start[0], token.end[0] + 1)
                        if lines[number - 1].strip())
    return len(code)


def _modules_over(limit: int, names) -> list[str]:
    sizes = {name: _code_lines(MODULES[name].read_text()) for name in names}
    return [f"{MODULES[name].relative_to(REPO)}: {size} lines of code" for name, size in sorted(sizes.items())
            if size > limit]


def test_the_code_line_counter_skips_blanks_and_comments_and_counts_strings():
    source = '"""A docstring\n\nof three lines."""\n\n# a comment\nx = 1  # and code\nPAGE = """\n#id {}\n"""\n'
    assert _code_lines(source) == 6


def test_no_module_has_more_than_450_lines_of_code():
    """A module of more than 450 lines of code holds more than one job: split it by job (see
    `_code_lines` for what counts)."""
    over = _modules_over(MAX_MODULE_CODE_LINES, MODULES.keys())
    assert not over, "split these by job:\n" + "\n".join(over)


MAX_ENTRY_ARGUMENTS = 12
# The public doors, as (module, attribute path).
ENTRY_POINTS = [("vizcallbacks.plotter", "plot_conv"), ("vizcallbacks.plotter", "ConvPlotter.__init__"),
                ("vizcallbacks.callback", "PlotConvCallback.__init__"),
                ("vizcallbacks.apps.compare", "compare_runs"), ("vizcallbacks.apps.lr_find", "lr_find"),
                ("vizcallbacks.apps.train", "train_movie"), ("vizcallbacks.apps.render", "render_run")]


def _entry_arguments(module: str, path: str) -> list[str]:
    """The parameters of an entry point, counted as a caller sees them: `self` aside, and a
    `**legacy` catch-all aside (it takes only the deprecated spellings of options that now
    travel in an object)."""
    import importlib
    import inspect

    target = importlib.import_module(module)
    for part in path.split("."):
        target = getattr(target, part)
    return [name for name, parameter in inspect.signature(target).parameters.items()
            if name != "self" and not (name == "legacy" and parameter.kind is parameter.VAR_KEYWORD)]


def _check_entry_point(module: str, path: str) -> None:
    arguments = _entry_arguments(module, path)
    assert len(arguments) <= MAX_ENTRY_ARGUMENTS, (
        f"{module}.{path} takes {len(arguments)} arguments (at most {MAX_ENTRY_ARGUMENTS}): {arguments}. "
        "Options that travel together are one object (FrameStyle); outputs are a list of sinks.")


@pytest.mark.parametrize("module, path", ENTRY_POINTS, ids=[path for _, path in ENTRY_POINTS])
def test_an_entry_point_takes_at_most_12_arguments(module, path):
    _check_entry_point(module, path)


# ---- one route for every frame ---------------------------------------------------------

# What writes a frame (a PNG, its manifest line), and what makes a movie. Frames reach them
# through the pipeline's sinks only; `write_atomically` (a summary, a page) writes no frame.
FRAME_WRITING = {"vizcallbacks.framefiles": {"write_png", "encode_png", "write_frame", "ManifestWriter"}}
MOVIE_WRITING = {"writer_for", "writer_class", "writing", "stitch", "MovieWriter", "GifWriter", "Mp4Writer",
                 "WebmWriter"}
# Where they may be used: the sinks, and the modules that define them.
FRAME_ROUTE = ("vizcallbacks.sinks", "vizcallbacks.framefiles", "vizcallbacks.movie")
# `vizcallbacks stitch` is the user's door to `stitch`: frames already on disk into a movie.
STITCH_COMMAND = "vizcallbacks.apps.cli.stitch"


def _writing_names(module: str) -> set[str]:
    """The frame or movie writing names a module defines, where `module` is one that does."""
    if module in FRAME_WRITING:
        return FRAME_WRITING[module]
    if module == "vizcallbacks.movie" or module.startswith("vizcallbacks.movie."):
        return MOVIE_WRITING
    return set()


def _frame_writing_uses(name: str, tree: ast.Module) -> list[str]:
    """Where module `name` imports a frame or movie writer, or reaches one through a module
    it imported (`framefiles.write_png`, `movie.stitch`)."""
    found, aliases = [], {}  # aliases: the name a writing module is bound to here -> the module
    for node, module, _ in _imports(name, tree):
        if isinstance(node, ast.Import):  # `import vizcallbacks.framefiles [as files]`
            alias = next(alias for alias in node.names if alias.name == module)
            if _writing_names(module):
                aliases[alias.asname or module] = module
            continue
        for alias in node.names:
            if alias.name in _writing_names(module):
                found.append(f"{name}:{node.lineno}: imports {alias.name} from {module}")
            elif _writing_names(f"{module}.{alias.name}"):  # `from .. import framefiles`
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if owner in aliases and node.attr in _writing_names(aliases[owner]):
                found.append(f"{name}:{node.lineno}: uses {owner}.{node.attr}")
    return found


def test_the_frame_route_finder_finds_imports_and_module_attributes():
    tree = ast.parse("from ..framefiles import write_png, read_png\nfrom .. import movie\n"
                     "import vizcallbacks.framefiles\nmovie.stitch(x)\nvizcallbacks.framefiles.ManifestWriter(p)\n")
    assert _frame_writing_uses("vizcallbacks.apps.example", tree) == [
        "vizcallbacks.apps.example:1: imports write_png from vizcallbacks.framefiles",
        "vizcallbacks.apps.example:4: uses movie.stitch",
        "vizcallbacks.apps.example:5: uses vizcallbacks.framefiles.ManifestWriter"]


def _outside_the_route(name: str) -> bool:
    return not any(name == place or name.startswith(place + ".") for place in FRAME_ROUTE)


#: Modules that make the movie writer their `MovieSink` is given (and write nothing themselves).
MOVIE_SINK_MAKERS = {"vizcallbacks.callback", "vizcallbacks.apps.render", "vizcallbacks.apps.compare.compose",
                     "vizcallbacks.apps.lr_find"}


def test_frames_and_movies_are_written_only_by_the_sinks():
    """One route for every frame: the callback, compare and lr-find hand their frames to the
    pipeline, whose sinks write PNGs, manifests and movies. A module elsewhere that writes a
    frame or a movie itself is a second route, which a new sink never reaches. (The callback
    may make the movie writer that its movie sink is given.)"""
    found = []
    for name, tree in TREES.items():
        if _outside_the_route(name) and name != STITCH_COMMAND:
            found += [use for use in _frame_writing_uses(name, tree)
                      if not (name in MOVIE_SINK_MAKERS and "writer_for" in use)]
    assert not found, "a second route for frames; hand them to the pipeline's sinks:\n" + "\n".join(found)


def test_no_template_in_python():
    """The page's HTML, CSS and JavaScript are package files (`apps/page/page.html`, `.css`,
    `.js`, read with importlib.resources): no string in the package's Python holds a page,
    a style sheet or a script, nor more than a few lines of markup."""
    import re

    template = re.compile(r"<!DOCTYPE|<html|<head|<body|<style|<script|\bfunction\s*\(|\bvar \w+ = ", re.I)
    found = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            markup_lines = [line for line in node.value.splitlines() if re.search(r"</?[a-z][\w-]*[ >]", line)]
            if template.search(node.value) or len(markup_lines) > 3:
                found.append(f"{name}:{node.lineno}: {node.value.strip()[:60]!r}")
    assert not found, "put HTML, CSS and JavaScript in package files, not Python strings:\n" + "\n".join(found)
