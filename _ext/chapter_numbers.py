"""Sphinx extension: equations, figures, results and exercises numbered within their chapter.

A lecturer cites "Fig. 9.3" and "eq. (5.12)". Sphinx numbers an enumerable item (a figure, a
displayed equation, a ``prf:`` result, an exercise) by its section number when the toctree is
numbered, and otherwise with one counter through the whole book. The book's toctree cannot be
numbered by Sphinx, because the preface, the notation table and the Part overviews sit between
the chapters and would take chapter numbers. The chapters carry their number in their title
instead ("3. The reverse process and the ELBO").

So this extension lets Sphinx assign its book-wide numbers, then rewrites them: in a page whose
title starts with ``N.``, the k-th item of each kind becomes ``(N, k)``, printed ``N.k``. Pages
without a chapter number (preface, overviews, back matter) count their items from 1. Every
reference and caption reads the numbers from the one table rewritten here
(``env.toc_fignumbers``), so the text, the references and the captions agree.
"""

from __future__ import annotations

import re
from typing import Any

_CHAPTER_TITLE = re.compile(r"^\s*(\d+)\.\s")


def chapter_number(title: str) -> int | None:
    """The chapter number at the start of a page title ("9. Lorenz-96 and chaos" -> 9)."""
    match = _CHAPTER_TITLE.match(title)
    return int(match.group(1)) if match else None


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple]]], titles: dict[str, str]) -> None:
    """Rewrite ``{doc: {kind: {id: number}}}`` in place to numbers within each chapter.

    Within one page and kind the order of Sphinx's numbers (the reading order) is kept.
    """
    for docname, kinds in fignumbers.items():
        chapter = chapter_number(titles.get(docname, ""))
        prefix = () if chapter is None else (chapter,)
        for numbers in kinds.values():
            in_order = sorted(numbers, key=lambda node_id: numbers[node_id])
            for k, node_id in enumerate(in_order, start=1):
                numbers[node_id] = (*prefix, k)


def _renumber_after_sphinx(app: Any, env: Any) -> list[str]:
    titles = {doc: title.astext() for doc, title in env.titles.items()}
    renumber(env.toc_fignumbers, titles)
    # Every page may show a number from another page (a cross-reference): write them all again.
    return sorted(env.toc_fignumbers)


def setup(app: Any) -> dict[str, Any]:
    # After Sphinx's own TocTreeCollector (priority 500) has assigned the book-wide numbers.
    app.connect("env-get-updated", _renumber_after_sphinx, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
