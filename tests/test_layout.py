"""The shape of the package is a contract: it mirrors the book, and imports run one way.

A student who opens ``lecture_code/`` sees the book's parts (``ddpm`` for Part I, ``score`` for
Part II, ``forecasting`` for Part III, ``benchmark`` for chapter 13); a maintainer sees where a
new chapter's code goes. These tests read the source, not the behaviour: the import graph (with
:mod:`ast`, so nothing is executed), the size of each module, and the folders of the tests.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lecture_code"

#: The layers in import order: a module may import from its own layer and the ones before it.
LAYERS = ("support", "ddpm", "score", "forecasting", "benchmark")
#: Drawing code: ``plots`` may import only support modules, ``figures`` anything.
DRAWING = ("plots", "figures")
#: The longest a module may grow (style.md: "no module over about 400 lines").
MAX_LINES = 400
#: Modules allowed past MAX_LINES, each with the reason.
LONG_MODULES: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return "support" if len(parts) == 1 else parts[0]


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    """The (layer, line) of every ``lecture_code`` import in ``path``, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "lecture_code" or len(parts) < 2:
                continue
            target = PACKAGE / parts[1]
            layer = parts[1] if target.is_dir() else "support"
            found.add((layer, node.lineno))
    return found


def test_the_package_has_one_folder_per_part_and_no_plots_prefix_at_the_top():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"ddpm", "score", "forecasting", "benchmark", "plots", "figures"}
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert not [n for n in top if n.startswith("plots_")], top
    assert "utils.py" not in top
    # no third level of folders
    assert not [p for p in PACKAGE.glob("*/*/") if p.name != "__pycache__"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    layer = _layer(path)
    for imported, line in _imported_layers(path):
        where = f"{path.relative_to(ROOT)}:{line} imports from lecture_code.{imported}"
        if layer == "figures":
            continue  # the figure catalogue wires everything together
        if layer == "plots":
            assert imported in ("support", "plots"), f"{where}: plots import no mathematics"
            continue
        assert imported not in DRAWING, f"{where}: mathematics never imports drawing code"
        assert LAYERS.index(imported) <= LAYERS.index(layer), (
            f"{where}: {layer} may import only {LAYERS[: LAYERS.index(layer) + 1]}"
        )


def test_the_layer_checker_catches_a_backward_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from lecture_code.forecasting.lorenz96 import Lorenz96\nimport torch\n")
    assert _imported_layers(probe) == {("forecasting", 1)}
    probe.write_text("def f():\n    from lecture_code import seeding\n")
    assert _imported_layers(probe) == {("support", 2)}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_short_enough_to_read_in_one_sitting(path):
    name = str(path.relative_to(PACKAGE))
    lines = len(path.read_text().splitlines())
    if name in LONG_MODULES:
        return
    assert lines <= MAX_LINES, f"lecture_code/{name} has {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_is_and_what_it_exports(path):
    tree = ast.parse(path.read_text())
    docstring = ast.get_docstring(tree)
    assert docstring, f"{path.relative_to(ROOT)} has no module docstring"
    if path.name.startswith("__") or _layer(path) == "figures":
        return  # package maps, commands and the figure catalogue export nothing by name
    exported = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "__all__" for t in node.targets)
    ]
    assert exported, f"{path.relative_to(ROOT)} has no __all__"


def test_the_tests_mirror_the_package():
    tests = ROOT / "tests"
    for package in ("ddpm", "score", "forecasting", "benchmark", "plots", "figures"):
        assert list((tests / package).glob("test_*.py")), f"tests/{package}/ has no tests"
    # the book's own checks (build, browser, budget, Binder, toc) live apart
    assert {p.name for p in (tests / "book").glob("test_*.py")} >= {
        "test_binder.py",
        "test_browser.py",
        "test_budget.py",
        "test_built_book.py",
        "test_toc.py",
    }


def test_the_package_map_names_every_chapter_module():
    """``lecture_code/__init__.py`` is the chapter -> module map: every module is on it."""
    text = (PACKAGE / "__init__.py").read_text()
    missing = []
    for path in _modules():
        if path.name.startswith("__") or (_layer(path) == "figures" and path.stem != "gallery"):
            continue
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if dotted not in text:
            missing.append(dotted)
    assert not missing, f"lecture_code/__init__.py does not map {missing}"


def _chapter_pages() -> dict[int, str]:
    """Chapter number -> its page (``/book/part3/09_lorenz96``), for the chapters written."""
    pages = {}
    for path in sorted((ROOT / "book").glob("part*/[0-9][0-9]_*.md")):
        number = int(path.name[:2])
        if number > 0:
            pages[number] = "/" + str(path.relative_to(ROOT).with_suffix(""))
    return pages


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_links_the_chapter_that_derives_it_one_way(path):
    """House style: a paragraph ``Book: chapter N, "Title" (:doc:`/book/...`), section ...``
    closes the module docstring; a chapter that is written is linked, by its page."""
    if path.name == "__init__.py":
        return  # a package's docstring is its part of the map
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    match = re.search(r"^Book: .*?(?=\n\n|\Z)", docstring, re.S | re.M)
    assert match, f"{path.relative_to(ROOT)}: no 'Book: ...' paragraph in the module docstring"
    book = " ".join(match.group(0).split())
    for number, page in _chapter_pages().items():
        if re.search(rf"\bchapters? {number}\b", book):
            assert re.search(rf'chapters? {number}, "[^"]+" \(:doc:`{page}`\)', book), (
                f"{path.relative_to(ROOT)}: chapter {number} is written; cite it as "
                f'chapter {number}, "Title" (:doc:`{page}`): {book}'
            )
