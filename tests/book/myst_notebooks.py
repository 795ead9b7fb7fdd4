"""pytest plugin: run every chapter of ``_toc.yml`` through nbval.

The chapters are MyST markdown notebooks. When nbval is switched on (``--nbval-lax``), this
plugin converts each ``.md`` file that the table of contents lists into ``_build/nbval/`` with
jupytext and hands the notebook to nbval, which executes it cell by cell in a fresh kernel and
reports every cell as a test. Adding a chapter to ``_toc.yml`` adds it to the tests; a file in
``book/`` that the toc does not list is not executed (tests/book/test_toc.py fails on it instead).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from _pytest.compat import legacy_path
from nbval.plugin import IPyNbFile

from tests.book.book_toc import ROOT, toc_sources

_CONVERTED = ROOT / "_build" / "nbval"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md":
        return None
    if file_path.resolve() not in {p.resolve() for p in toc_sources()}:
        return None
    node = MystNotebook.from_parent(parent, path=file_path)
    node.add_marker(pytest.mark.notebook)
    return node


class MystNotebook(IPyNbFile):
    """nbval's notebook collector for a MyST file.

    The node keeps the ``.md`` path, so ``pytest book/part1/02_forward_process.md`` selects it
    and reports name the chapter. nbval reads the notebook and starts the kernel from
    ``fspath``, which points at a jupytext conversion written to ``_build/nbval/``.
    """

    @property
    def fspath(self):
        target = _CONVERTED / self.path.resolve().relative_to(ROOT).with_suffix(".ipynb")
        if not target.is_file() or target.stat().st_mtime < self.path.stat().st_mtime:
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(jupytext.read(self.path), target)
        return legacy_path(target)
