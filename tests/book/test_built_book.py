"""Checks of the HTML book that `make book` (and `make test`) writes to _build/html."""

from __future__ import annotations

import re

import pytest

from _ext.chapter_numbers import chapter_number, renumber
from tests.book.book_toc import ROOT, toc_documents

HTML = ROOT / "_build" / "html"
DOCS = toc_documents()

pytestmark = pytest.mark.built_book


@pytest.fixture(scope="module")
def html_dir():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make book` first")
    return HTML


@pytest.mark.parametrize("doc", DOCS)
def test_every_toc_entry_has_a_page(html_dir, doc):
    assert (html_dir / f"{doc}.html").is_file(), f"{doc} has no page in {html_dir}"


@pytest.mark.parametrize("doc", DOCS)
def test_no_page_shows_an_error(html_dir, doc):
    page = (html_dir / f"{doc}.html").read_text()
    for marker in (
        "Traceback (most recent call last)",
        'class="output traceback"',
        "output error",
        "system-message",
    ):
        assert marker not in page, f"{doc}.html shows an error ({marker!r})"


@pytest.mark.parametrize("doc", DOCS)
def test_page_offers_the_notebook_for_download(html_dir, doc):
    page = (html_dir / f"{doc}.html").read_text()
    assert re.search(r'href="[^"]*\.ipynb"', page), f"{doc}.html has no .ipynb download"


def _chapter_of(doc: str) -> int | None:
    """The chapter number of a page from its source's title line ("# 9. Lorenz-96 ...")."""
    for line in (ROOT / f"{doc}.md").read_text().splitlines():
        if line.startswith("# "):
            return chapter_number(line[2:])
    return None


CHAPTERS = [doc for doc in DOCS if _chapter_of(doc) is not None]


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_numbers_its_equations_figures_results_and_exercises(html_dir, doc):
    """A lecturer cites "eq. (3.7)" and "Fig. 9.3": every number on a chapter page is N.k.

    Cross-references to other chapters carry those chapters' numbers, so only the items the
    page itself defines are held to its own number.
    """
    chapter = _chapter_of(doc)
    page = (html_dir / f"{doc}.html").read_text()
    equations = re.findall(r'<span class="eqno">\(([^)]*)\)', page)
    figures = re.findall(r'<span class="caption-number">Fig\. ([^ <]+) </span>', page)
    results = re.findall(
        r'<p class="admonition-title">(?:<span class="caption-number">)?'
        r"(?:Theorem|Lemma|Proposition|Definition|Corollary|Algorithm|Remark|Example|Exercise)"
        r" ([0-9.]+)",
        page,
    )
    for kind, numbers in (("equation", equations), ("figure", figures), ("result", results)):
        for number in numbers:
            assert re.fullmatch(rf"{chapter}\.\d+", number), (
                f"{doc}.html: {kind} numbered {number!r}, expected {chapter}.k"
            )
    assert equations or figures or results, f"{doc}.html numbers nothing: is numfig on?"


def test_renumbering_counts_within_each_chapter_in_reading_order():
    numbers = {
        "book/part1/03": {"displaymath": {"b": (29,), "a": (28,)}, "figure": {"f": (7,)}},
        "book/preface": {"displaymath": {"p": (1,)}},
    }
    renumber(numbers, {"book/part1/03": "3. The reverse process", "book/preface": "Preface"})
    assert numbers["book/part1/03"] == {
        "displaymath": {"a": (3, 1), "b": (3, 2)},
        "figure": {"f": (3, 1)},
    }
    assert numbers["book/preface"] == {"displaymath": {"p": (1,)}}
    assert chapter_number("10. Scoring probabilistic forecasts") == 10
    assert chapter_number("Part I — Denoising diffusion") is None
