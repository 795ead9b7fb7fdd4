"""The table of contents, for every test that needs it.

The package reads ``_toc.yml`` for the figure gallery
(:func:`lecture_code.figures.gallery.toc_documents`);
the tests use the same reader, so the two can never disagree about what the book contains.
"""

from __future__ import annotations

from pathlib import Path

from lecture_code.figures import gallery

ROOT = Path(__file__).resolve().parents[2]


def toc_documents(root: Path = ROOT) -> list[str]:
    """Document names in ``_toc.yml`` (relative, without suffix), root first."""
    return gallery.toc_documents(root)


def toc_sources(root: Path = ROOT) -> list[Path]:
    """The MyST file behind each toc entry (a missing file raises)."""
    paths = []
    for doc in toc_documents(root):
        path = root / f"{doc}.md"
        if not path.is_file():
            raise FileNotFoundError(f"_toc.yml lists {doc!r} but {path} does not exist")
        paths.append(path)
    return paths
