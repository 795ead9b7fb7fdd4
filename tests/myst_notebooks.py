"""pytest plugin: run every chapter of ``_toc.yml`` through nbval.

The chapters are MyST markdown notebooks. When nbval is switched on (``--nbval-lax``), this
plugin converts each ``.md`` file that the table of contents lists into ``_build/nbval/`` with
jupytext and hands the notebook to nbval, which executes it cell by cell in a fresh kernel and
reports every cell as a test. Adding a chapter to ``_toc.yml`` adds it to the tests; a file in
``book/`` that the toc does not list is not executed (tests/test_toc.py fails on it instead).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from nbval.plugin import IPyNbFile

from tests.book_toc import ROOT, toc_sources

_CONVERTED = ROOT / "_build" / "nbval"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md":
        return None
    if file_path.resolve() not in {p.resolve() for p in toc_sources()}:
        return None
    notebook = jupytext.read(file_path)
    target = _CONVERTED / file_path.resolve().relative_to(ROOT).with_suffix(".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    node = IPyNbFile.from_parent(parent, path=target)
    node.add_marker(pytest.mark.notebook)
    return node
