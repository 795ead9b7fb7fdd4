"""The table of contents, the chapter files and the chapter contract agree.

These checks read the MyST sources only; they run in a second and catch, before any
execution, a chapter that the build or nbval would silently leave out.
"""

from __future__ import annotations

import re

import jupytext
import pytest

from tests.book.book_toc import ROOT, toc_documents, toc_sources

BOOK = ROOT / "book"
SOURCES = toc_sources()
IDS = [p.relative_to(ROOT).as_posix() for p in SOURCES]


def test_every_toc_entry_exists_once():
    docs = toc_documents()
    assert len(docs) == len(set(docs)), f"_toc.yml lists a page twice: {docs}"
    for path in SOURCES:  # toc_sources raises on a missing file
        assert path.is_file()


def test_every_page_in_book_is_in_the_toc():
    listed = {p.resolve() for p in SOURCES}
    orphans = [p.relative_to(ROOT) for p in BOOK.rglob("*.md") if p.resolve() not in listed]
    assert not orphans, f"pages under book/ missing from _toc.yml: {orphans}"


def test_toc_has_the_three_parts_as_captions():
    text = (ROOT / "_toc.yml").read_text()
    for part in ("Part I", "Part II", "Part III"):
        assert re.search(rf"caption: {part} ", text), f"_toc.yml has no caption for {part}"


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_page_is_a_myst_notebook(path):
    notebook = jupytext.read(path)
    kernel = notebook.metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3", f"{path.name} has no python3 kernelspec header"
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "myst"


def _code_cells(path):
    return [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_chapter_defines_no_function_and_draws_through_the_registry(path):
    for source in _code_cells(path):
        assert not re.search(r"^\s*(def|class) ", source, re.MULTILINE), (
            f"{path.name} defines a function or class inline; it belongs in lecture_code:\n{source}"
        )
        assert not re.search(r"import matplotlib|plt\.", source), (
            f"{path.name} plots directly; figures come from lecture_code.figures:\n{source}"
        )


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_solutions_are_collapsed(path):
    text = path.read_text()
    for match in re.finditer(r"[`:]{3,}\{solution\}[^\n]*\n((?::[^\n]*\n)*)", text):
        assert ":class: dropdown" in match.group(1), (
            f"{path.name}: a solution is not collapsed (add ':class: dropdown'):\n{match.group(0)}"
        )


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_no_cell_is_exempt_from_checking(path):
    text = path.read_text()
    for hatch in ("NBVAL_SKIP", "nbval-skip", "raises-exception", "allow_errors"):
        assert hatch not in text, f"{path.name} exempts a cell from checking with {hatch}"


def test_every_module_of_the_package_is_in_the_api_reference():
    api = (ROOT / "book" / "back" / "api.md").read_text()
    package = ROOT / "lecture_code"
    missing = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if not re.search(rf"^\.\. automodule:: {re.escape(module)}$", api, re.MULTILINE):
            missing.append(module)
    assert not missing, f"modules missing from book/back/api.md: {missing}"
