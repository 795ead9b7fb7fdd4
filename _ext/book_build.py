"""Sphinx extension with a fix to the book's HTML build: every script of a page appears once.

Sphinx 7.4 registers a script that an extension adds at ``builder-inited`` or later twice when it
has no file (the builder names it ``None``, the registry ``""``, so the two are not recognised as
the same). sphinx-togglebutton and sphinx-thebe add such inline scripts, and the second copy of
sphinx-thebe's ``const THEBE_JS_URL = ...`` is a JavaScript error on every page ("Identifier
'THEBE_JS_URL' has already been declared"), which tests/book/test_browser.py reports. The repeats
are
dropped from each page's list of scripts before the page is written.

(Pages whose code is unchanged but whose lecture_code functions changed are re-executed by the
Makefile, which rebuilds everything when the package's source changes.)
"""

from __future__ import annotations

from typing import Any


def _unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any):
    seen: set[tuple] = set()
    unique = []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def setup(app: Any) -> dict[str, bool]:
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
