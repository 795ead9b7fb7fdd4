"""Binder installs what the book is tested with."""

from __future__ import annotations

import re

from tests.book.book_toc import ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            name, version = match.groups()
            # A local version label (+cpu) names the build, not the release.
            pins[name.lower()] = version.split("+")[0]
    return pins


def test_binder_pins_agree_with_requirements():
    book = _pins(ROOT / "requirements.txt")
    binder = _pins(ROOT / "binder" / "requirements.txt")
    assert book, "requirements.txt pins nothing"
    assert binder == book, (
        f"binder/requirements.txt and requirements.txt differ: "
        f"only in Binder {sorted(binder.items() - book.items())}, "
        f"only in requirements.txt {sorted(book.items() - binder.items())}"
    )


def test_binder_torch_is_the_cpu_build():
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "torch==2.13.0+cpu" in text
    assert re.search(r"^--extra-index-url \S+/whl/cpu$", text, re.MULTILINE)


def test_binder_installs_the_package_and_opens_markdown_as_notebooks():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    assert '"markdown": "Jupytext Notebook"' in post_build
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_jupyter_book_is_pinned_below_2():
    pins = _pins(ROOT / "requirements.txt")
    assert pins["jupyter-book"].split(".")[0] == "1"
    assert pins["torch"] == "2.13.0"
