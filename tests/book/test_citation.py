"""How to cite and reuse the book: one entry, stated alike everywhere a reader may look.

The preface gives the citation in words and in BibTeX, ``CITATION.cff`` gives it to the
repository's page, ``pyproject.toml`` and ``lecture_code.__version__`` carry the version, and
the footer of every page and the README state the licences. These tests read each of them and
check that they say the same thing.
"""

from __future__ import annotations

import re
import tomllib

import yaml

import lecture_code
from tests.book.book_toc import ROOT

CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())
PREFACE = (ROOT / "book" / "preface.md").read_text()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
README = (ROOT / "README.md").read_text()


def _bibtex() -> dict[str, str]:
    block = re.search(r"```bibtex\n(.*?)```", PREFACE, re.S)
    assert block, "the preface has no BibTeX entry"
    return dict(re.findall(r"(\w+)\s*=\s*\{(.*?)\},?\n", block.group(1)))


def test_one_version_everywhere():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert CFF["version"] == version == lecture_code.__version__ == _bibtex()["version"]
    assert f"Version {version}" in PREFACE


def test_one_title_and_address_everywhere():
    bib = _bibtex()
    assert bib["title"].replace("---", "—") == CFF["title"] == CFF["preferred-citation"]["title"]
    assert bib["url"] == CFF["url"] == CFF["repository-code"] == CONFIG["repository"]["url"]
    assert CFF["title"].startswith(CONFIG["title"])


def test_the_licences_are_stated_in_the_footer_the_readme_and_the_preface():
    footer = CONFIG["html"]["extra_footer"]
    for text in (footer, README, PREFACE):
        assert "CC BY 4.0" in text and "MIT" in text
    assert CFF["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
