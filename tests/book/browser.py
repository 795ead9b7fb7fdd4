"""The built book in a real browser: a local web server and headless Chromium.

:class:`BookServer` serves the HTML book on the loopback interface, from a thread running
``http.server``. :func:`start_chromium` starts Debian's headless Chromium under ``chromedriver``
(selenium), and :func:`inspect_page` loads one page and reports what a reader would meet there:
the console's errors, the equations as MathJax typeset them, the images as the browser decoded
them, every link, and a full-page screenshot. ``tests/book/test_browser.py`` turns the report into
assertions; :func:`static_page` reads a page's HTML file for what the browser's report is
compared with (its ids, its math sources).

The test machine has no network beyond the package registries. The book loads one thing from
outside, MathJax 3 from the jsDelivr CDN; the server hands the browser the same release,
MathJax 3.2.2, from the pinned test dependency ``django-static-mathjax`` (a wheel that holds the
unmodified MathJax distribution) by rewriting that one address in the pages it serves. Anything
else a page loads from outside fails to load, and the console check reports it.

The book's location is ``_build/html`` or the folder named by the environment variable
``BOOK_HTML`` (to check a build made elsewhere with ``jupyter-book build --path-output``).
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.metadata
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.book.book_toc import ROOT

#: The built book; ``BOOK_HTML`` overrides it.
BOOK_HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
#: Full-page screenshots of every page, next to the HTML folder: ``_build/screenshots``.
SCREENSHOTS = BOOK_HTML.parent / "screenshots"

#: Where Sphinx's MathJax extension loads MathJax 3 from (Sphinx's default ``mathjax_path``).
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
#: Where the local server offers the same files instead.
MATHJAX_LOCAL = "/_test_mathjax3/"

#: The browser's window; the book theme shows both sidebars from 1200 CSS pixels on.
WINDOW = (1280, 900)

# Switches for a headless Chromium in a closed network. Without the background-networking
# switches Chromium keeps trying to reach update, sync and safe-browsing servers.
CHROMIUM_FLAGS = (
    "--headless",
    # The root user cannot run Chromium's sandbox; the browser only ever sees our own pages.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def mathjax_folder() -> Path:
    """The local copy of MathJax 3 (the folder that holds ``es5/tex-mml-chtml.js``)."""
    try:
        dist = importlib.metadata.distribution("django-static-mathjax")
    except importlib.metadata.PackageNotFoundError as error:
        raise FileNotFoundError(
            "the test dependency django-static-mathjax is not installed: run `make setup`"
        ) from error
    folder = Path(str(dist.locate_file("mathjax/static/mathjax")))
    if not (folder / "es5" / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(f"no es5/tex-mml-chtml.js under {folder}")
    return folder


# --- the server ---------------------------------------------------------------------------
class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book folder, with MathJax 3 from the local copy instead of the CDN."""

    mathjax: Path

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith(MATHJAX_LOCAL):
            target = (self.mathjax / path[len(MATHJAX_LOCAL) :]).resolve()
            if self.mathjax in target.parents and target.is_file():
                self._send(target.read_bytes(), self.guess_type(str(target)))
            else:
                self.send_error(404, f"no such MathJax file: {path}")
            return
        if path.endswith(".html") or path.endswith("/"):
            local = Path(self.translate_path(path))
            if local.is_dir():
                local = local / "index.html"
            if local.is_file():
                html = local.read_text(encoding="utf-8")
                html = html.replace(MATHJAX_CDN, MATHJAX_LOCAL)
                self._send(html.encode("utf-8"), "text/html; charset=utf-8")
                return
        super().do_GET()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown pytest's output


class BookServer:
    """``http.server`` on ``127.0.0.1`` and a free port, in a thread; a context manager.

    Args:
        html_dir: the folder to serve (the built book).
    """

    def __init__(self, html_dir: Path) -> None:
        handler = type("Handler", (_BookHandler,), {"mathjax": mathjax_folder().resolve()})
        factory = functools.partial(handler, directory=str(html_dir))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
        self.httpd.daemon_threads = True
        host, port = self.httpd.server_address[:2]
        self.url = f"http://{host}:{port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> BookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)


# --- the browser --------------------------------------------------------------------------
def _executable(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if not found:
        raise FileNotFoundError(
            f"{name} is not installed: run `make chromium` (Debian packages chromium, "
            "chromium-driver)"
        )
    return found


@contextmanager
def start_chromium() -> Iterator[Any]:
    """Headless Chromium driven by ``chromedriver``, with a new empty profile; quit after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="book-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=_executable("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- what a page holds --------------------------------------------------------------------
class _StaticParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.math: list[str] = []
        self._math_depth = 0  # > 0 inside an element of class "math"
        self._stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        if tag in {"br", "img", "meta", "link", "input", "hr", "source", "wbr"}:
            return  # void elements have no end tag
        is_math = "math" in (values.get("class") or "").split()
        if is_math and self._math_depth == 0:
            self.math.append("")
        self._math_depth += is_math
        self._stack.append(is_math)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._math_depth -= self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._math_depth:
            self.math[-1] += data


@dataclass(frozen=True)
class StaticPage:
    """What a page's HTML file holds before any script runs.

    Attributes:
        ids: every ``id`` (and ``<a name>``) on the page: the targets of ``#anchors``.
        math: the TeX source of each element of class ``math``, in page order.
    """

    ids: frozenset[str]
    math: tuple[str, ...]


@functools.cache
def static_page(path: Path) -> StaticPage:
    """Parse the HTML file ``path`` (cached: link targets are read once per run)."""
    parser = _StaticParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return StaticPage(ids=frozenset(parser.ids), math=tuple(s.strip() for s in parser.math))


@dataclass
class PageReport:
    """What the browser met on one page (see :func:`inspect_page`)."""

    url: str
    console: list[dict[str, Any]] = field(default_factory=list)
    mathjax: dict[str, Any] = field(default_factory=dict)
    too_wide_code: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    menus: dict[str, list[str]] = field(default_factory=dict)
    article_images: int = 0
    text: str = ""
    screenshot: Path | None = None


# Runs in the page after it has loaded: waits for MathJax to finish typesetting and for every
# image to load or fail, then reports both, the page's links and its text.
_INSPECT = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const report = {mathjax: {present: false}};
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) {
    await MJ.startup.promise;
    const items = [];
    const tex = new Map();  // typeset container -> its TeX source
    for (const item of MJ.startup.document.math) {
      const root = item.typesetRoot;
      if (root) tex.set(root, String(item.math).replace(/\s+/g, ' ').trim().slice(0, 60));
      const error = root ? root.querySelector('mjx-merror, merror, [data-mjx-error]') : null;
      const message = error && (error.getAttribute('data-mjx-error') || error.textContent);
      items.push({tex: String(item.math).slice(0, 120), typeset: !!root,
                  in_source: !!(root && root.closest('.math')), error: message || null});
    }
    const sources = [...document.querySelectorAll('.math')].filter(
      el => !el.parentElement.closest('.math'));
    report.mathjax = {
      present: true, version: MJ.version, items: items,
      containers: document.querySelectorAll('mjx-container').length,
      errors: document.querySelectorAll('mjx-merror, merror, [data-mjx-error]').length,
      sources: sources.length,
      untypeset: sources.filter(el => !el.querySelector('mjx-container'))
                        .map(el => el.textContent.trim().slice(0, 120)),
      // Display equations wider than the text column by more than an em (16 px): they are cut
      // off and scroll sideways, and their number covers the cut. A smaller excess only
      // scrolls a little.
      too_wide: [...document.querySelectorAll('mjx-container[display="true"]')]
        .filter(c => c.scrollWidth > c.clientWidth + 16)
        .map(c => ({label: (c.closest('.math') || c.parentElement).id || tex.get(c) || '',
                    width: c.scrollWidth, column: c.clientWidth})),
    };
  } else {
    report.mathjax.config_only = !!MJ;  // the configuration is there but MathJax never loaded
  }
  // Code and printed output wider than their box: a reader would have to scroll to see the end
  // of the line (the book's CSS wraps them, so none should be).
  report.too_wide_code = [...document.querySelectorAll('div.cell pre, div.output pre')]
    .filter(pre => pre.scrollWidth > pre.clientWidth + 2)
    .map(pre => ({text: pre.textContent.split('\n').reduce(
                    (a, b) => (b.length > a.length ? b : a), '').slice(0, 100),
                  width: pre.scrollWidth, box: pre.clientWidth}));
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve);
    img.addEventListener('error', resolve);
    setTimeout(resolve, 20000);
  })));
  report.images = images.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                                       naturalWidth: img.naturalWidth}));
  report.links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  report.article_images = document.querySelectorAll('article.bd-article img').length;
  report.text = document.body.innerText;
  done(report);
})().catch(error => done({failure: String(error && error.stack || error)}));
"""


#: The header's drop-down menus that a reader opens, by the class of their ``div``.
MENUS = {"launch": "dropdown-launch-buttons", "download": "dropdown-download-buttons"}


def open_menu(driver: Any, css_class: str) -> list[str]:
    """Click the header button of the menu ``div.css_class``, and return the addresses of the
    links that the open menu shows (an empty list when the page has no such menu)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    menus = driver.find_elements(By.CSS_SELECTOR, f"div.{css_class}")
    if not menus:
        return []
    menus[0].find_element(By.CSS_SELECTOR, "button.dropdown-toggle").click()
    menu = menus[0].find_element(By.CSS_SELECTOR, ".dropdown-menu")
    WebDriverWait(driver, 5).until(lambda _: menu.is_displayed())
    hrefs = [
        str(a.get_attribute("href"))
        for a in menu.find_elements(By.CSS_SELECTOR, "a[href]")
        if a.is_displayed()
    ]
    menus[0].find_element(By.CSS_SELECTOR, "button.dropdown-toggle").click()  # close it again
    return hrefs


def inspect_page(driver: Any, url: str, screenshot: Path | None = None) -> PageReport:
    """Load ``url`` in ``driver`` and report what a reader meets there.

    Waits for MathJax and the images, saves the whole page (not just the window) as PNG to
    ``screenshot`` when given, opens the launch and download menus, and reads the console log
    last, so that it holds every message the page produced.
    """
    driver.get_log("browser")  # drop what earlier pages left in the log
    driver.get(url)
    result = driver.execute_async_script(_INSPECT)
    if "failure" in result:
        raise RuntimeError(f"inspecting {url} failed in the page: {result['failure']}")
    report = PageReport(
        url=url,
        mathjax=result["mathjax"],
        too_wide_code=result["too_wide_code"],
        images=result["images"],
        links=result["links"],
        article_images=result["article_images"],
        text=result["text"],
    )
    if screenshot is not None:
        report.screenshot = save_full_page_screenshot(driver, screenshot)
    report.menus = {name: open_menu(driver, css) for name, css in MENUS.items()}
    report.console = driver.get_log("browser")
    return report


#: The tallest strip captured at once; taller pages are captured in strips and joined.
STRIP_HEIGHT = 8_192


def save_full_page_screenshot(driver: Any, path: Path) -> Path:
    """Capture the whole page, however tall, as one PNG of the window's width."""
    import io

    from PIL import Image  # a dependency of matplotlib

    width = WINDOW[0]
    height = int(driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"])
    # A window as tall as the page shows all of it; capturing strips of it is three times faster
    # than asking Chromium to capture beyond the window, and no strip exceeds the 16,384 pixels
    # that Chromium captures at most.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    strips = []
    try:
        for top in range(0, height, STRIP_HEIGHT):
            clip = {"x": 0, "y": top, "width": width, "height": min(STRIP_HEIGHT, height - top)}
            shot = driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "clip": {**clip, "scale": 1}}
            )
            strips.append(Image.open(io.BytesIO(base64.b64decode(shot["data"]))))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    page = Image.new("RGB", (width, sum(strip.height for strip in strips)), "white")
    top = 0
    for strip in strips:
        page.paste(strip, (0, top))
        top += strip.height
    path.parent.mkdir(parents=True, exist_ok=True)
    page.save(path)
    return path
