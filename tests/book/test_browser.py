"""The built book in a real browser, page by page, as a reader meets it.

Headless Chromium (selenium and ``chromedriver``) loads every page of ``_toc.yml`` from a local
web server (see ``tests/book/browser.py``) and we check what a reader would notice:

- the browser's console shows no error (level SEVERE), so every script ran;
- every equation is typeset by MathJax, one typeset formula per math source of the page and
  no TeX error among them, and every displayed equation fits the text column (a wider one is
  cut off or runs into its number);
- every code line and printed report fits its box (none is cut off at the page edge);
- every image loaded and decoded (``naturalWidth > 0``), and every registered figure is drawn
  as an image on its chapter and in the gallery (not printed as ``<Figure size ...>``);
- every link within the book leads to a file of the book, and every ``#anchor`` to an ``id`` on
  the page it names: cross-references, the table of contents, the equation and figure numbers;
- the rocket menu offers the chapter on Binder and the download menu the chapter as a notebook,
  which is the chapter (its code cells are the MyST source's).

Each page is visited once (the report is kept for all the checks of that page), and a
full-page screenshot of it is written to ``_build/screenshots/<page>.png`` for a person to
look at. The book is ``_build/html``, or the folder named by ``BOOK_HTML``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import jupytext
import nbformat
import pytest
import yaml

from lecture_code.figures import load_catalogue
from tests.book.book_toc import ROOT, toc_documents
from tests.book.browser import (
    BOOK_HTML,
    SCREENSHOTS,
    WINDOW,
    BookServer,
    PageReport,
    inspect_page,
    start_chromium,
    static_page,
)

pytestmark = pytest.mark.built_book

DOCS = toc_documents()


def _ignored_console_entry(entry: dict, page_html: str) -> str | None:
    """Why a console entry does not count as the book's error, or ``None`` when it does.

    Each rule names its reason; nothing else is ignored.
    """
    message = entry.get("message", "")
    if "/favicon.ico" in message and 'rel="icon"' not in page_html:
        # Chromium asks every site for /favicon.ico when a page names no icon of its own; the
        # request is the browser's guess, not something the book loads, and a reader never sees
        # its failure.
        return "browser's own favicon request"
    return None


class Reader:
    """Visits pages through the local server, once each, and keeps what it saw."""

    def __init__(self, server: BookServer, driver: object) -> None:
        self.server = server
        self.driver = driver
        self.reports: dict[str, PageReport] = {}

    def visit(self, doc: str) -> PageReport:
        if doc not in self.reports:
            self.reports[doc] = inspect_page(
                self.driver, self.server.url + f"{doc}.html", SCREENSHOTS / f"{doc}.png"
            )
        return self.reports[doc]

    def local_path(self, url: str) -> Path | None:
        """The file of the book that ``url`` names, or ``None`` for an address elsewhere."""
        if not url.startswith(self.server.url):
            return None
        path = unquote(urlsplit(url).path).lstrip("/")
        target = BOOK_HTML / path
        return target / "index.html" if (not path or path.endswith("/")) else target


@pytest.fixture(scope="module")
def reader():
    if not (BOOK_HTML / "index.html").is_file():
        pytest.fail(f"no built book at {BOOK_HTML}: run `make book` first (or set BOOK_HTML)")
    with BookServer(BOOK_HTML) as server, start_chromium() as driver:
        yield Reader(server, driver)


def _page_file(doc: str) -> Path:
    return BOOK_HTML / f"{doc}.html"


@pytest.mark.parametrize("doc", DOCS)
def test_no_javascript_error(reader, doc):
    report = reader.visit(doc)
    html = _page_file(doc).read_text(encoding="utf-8")
    errors = [
        entry["message"]
        for entry in report.console
        if entry.get("level") == "SEVERE" and _ignored_console_entry(entry, html) is None
    ]
    assert not errors, f"{doc}: the browser console shows errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("doc", DOCS)
def test_every_equation_is_typeset(reader, doc):
    report = reader.visit(doc)
    sources = static_page(_page_file(doc)).math
    mathjax = report.mathjax
    if not sources:
        assert not mathjax.get("items"), f"{doc}: MathJax typeset text that is not marked as math"
        return
    assert mathjax.get("present"), (
        f"{doc} has {len(sources)} formulas but MathJax did not load "
        f"(configuration present: {mathjax.get('config_only')})"
    )
    items = mathjax["items"]
    stray = [item["tex"] for item in items if not item["in_source"]]
    assert not stray, f"{doc}: MathJax typeset text outside the page's math elements: {stray}"
    assert mathjax["sources"] == len(sources), (
        f"{doc}: {len(sources)} math elements in the HTML file, {mathjax['sources']} in the browser"
    )
    assert not mathjax["untypeset"], f"{doc}: formulas left as TeX: {mathjax['untypeset']}"
    assert mathjax["containers"] == len(items) >= len(sources), (
        f"{doc}: {len(sources)} math sources, {len(items)} formulas found by MathJax, "
        f"{mathjax['containers']} typeset"
    )
    errors = [(item["tex"], item["error"]) for item in items if item["error"]]
    assert not errors and mathjax["errors"] == 0, f"{doc}: MathJax errors {errors}"


@pytest.mark.parametrize("doc", DOCS)
def test_displayed_equations_fit_the_text_column(reader, doc):
    too_wide = reader.visit(doc).mathjax.get("too_wide", [])
    described = [
        f"{item['label'] or 'an unlabelled equation'}: {item['width']} px in {item['column']} px"
        for item in too_wide
    ]
    assert not described, (
        f"{doc}: displayed equations wider than the text column of a {WINDOW[0]} px window "
        "(split them with aligned or multline):\n" + "\n".join(described)
    )


@pytest.mark.parametrize("doc", DOCS)
def test_code_and_printed_checks_fit_their_box(reader, doc):
    """No code line or printed ``checked ...`` report is cut off at the page edge."""
    too_wide = reader.visit(doc).too_wide_code
    described = [f"{item['width']} px in {item['box']} px: {item['text']!r}" for item in too_wide]
    assert not described, (
        f"{doc}: code or output wider than its box in a {WINDOW[0]} px window:\n"
        + "\n".join(described)
    )


@pytest.mark.parametrize("doc", DOCS)
def test_every_image_loads(reader, doc):
    report = reader.visit(doc)
    broken = [
        image["src"]
        for image in report.images
        if not image["complete"] or image["naturalWidth"] < 1
    ]
    assert not broken, f"{doc}: images that did not load: {broken}"


def _figures_of(doc: str) -> list[str]:
    registry = load_catalogue()
    if doc == "book/slides/gallery":
        return sorted(registry)
    return sorted(name for name, spec in registry.items() if spec.chapter == doc)


@pytest.mark.parametrize("doc", DOCS)
def test_figures_are_drawn_as_images(reader, doc):
    report = reader.visit(doc)
    printed = [line for line in report.text.splitlines() if "<Figure size" in line]
    assert not printed, f"{doc}: figures printed as text instead of drawn: {printed}"
    expected = _figures_of(doc)
    assert report.article_images >= len(expected), (
        f"{doc}: {len(expected)} registered figures {expected} but "
        f"{report.article_images} images on the page"
    )


@pytest.mark.parametrize("doc", DOCS)
def test_every_link_within_the_book_resolves(reader, doc):
    report = reader.visit(doc)
    broken = []
    for url in report.links:
        scheme = urlsplit(url).scheme
        if scheme == "file":
            broken.append(f"{url} (a file on the machine that built the book)")
            continue
        target = reader.local_path(url)
        if target is None:
            continue  # outside the book (papers, the repository, Binder: checked below)
        if not target.is_file():
            broken.append(f"{url} (no file {target.relative_to(BOOK_HTML)})")
            continue
        fragment = unquote(urlsplit(url).fragment)
        if fragment and target.suffix == ".html" and fragment not in static_page(target).ids:
            broken.append(f"{url} (no id {fragment!r} on {target.relative_to(BOOK_HTML)})")
    assert not broken, f"{doc}: {len(broken)} broken links:\n" + "\n".join(broken)


def _binder_url(doc: str) -> str:
    """The launch address that ``_config.yml`` asks for (JupyterLab on the book's repository)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    hub = config["launch_buttons"]["binderhub_url"].rstrip("/")
    repo = config["repository"]["url"].removeprefix("https://github.com/").strip("/")
    branch = config["repository"].get("branch", "main")
    folder = config["repository"].get("path_to_book", "").strip("/")
    path = f"{folder}/{doc}.md" if folder else f"{doc}.md"
    return f"{hub}/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"


@pytest.mark.parametrize("doc", DOCS)
def test_launch_menu_opens_the_chapter_on_binder(reader, doc):
    report = reader.visit(doc)
    expected = _binder_url(doc)
    assert expected in report.menus["launch"], (
        f"{doc}: the rocket menu shows {report.menus['launch']}, not {expected}"
    )
    assert (ROOT / f"{doc}.md").is_file(), f"Binder would open {doc}.md, which does not exist"


@pytest.mark.parametrize("doc", DOCS)
def test_download_menu_gives_the_chapter_as_a_notebook(reader, doc):
    report = reader.visit(doc)
    notebooks = [url for url in report.menus["download"] if urlsplit(url).path.endswith(".ipynb")]
    assert len(notebooks) == 1, f"{doc}: the download menu offers {report.menus['download']}"
    target = reader.local_path(notebooks[0])
    assert target is not None and target.is_file(), f"{doc}: {notebooks[0]} is not in the book"
    notebook = nbformat.read(target, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    source = jupytext.read(ROOT / f"{doc}.md")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert code == [c.source for c in source.cells if c.cell_type == "code"], (
        f"{doc}: the downloadable notebook's code cells differ from {doc}.md"
    )


def test_every_page_has_a_screenshot(reader):
    for doc in DOCS:
        shot = reader.visit(doc).screenshot
        assert shot is not None and shot.is_file(), f"no screenshot of {doc}"
        with shot.open("rb") as file:
            header = file.read(24)
        assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG"
        width = int.from_bytes(header[16:20], "big")
        height = int.from_bytes(header[20:24], "big")
        assert width > 0 and height > 0, f"{shot} is empty"
