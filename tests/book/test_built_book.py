"""Checks of the HTML book that `make book` (and `make test`) writes to _build/html."""

from __future__ import annotations

import re

import pytest

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
