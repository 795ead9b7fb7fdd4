"""The table of contents, read once for every test that needs it."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _entries(node: object) -> list[str]:
    """Every ``file:`` in a (nested) toc node, in reading order."""
    found: list[str] = []
    if isinstance(node, dict):
        if "file" in node:
            found.append(node["file"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                found += _entries(child)
    return found


def toc_documents(root: Path = ROOT) -> list[str]:
    """Document names in ``_toc.yml`` (relative, without suffix), root first."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [toc["root"], *_entries(toc)]


def toc_sources(root: Path = ROOT) -> list[Path]:
    """The MyST file behind each toc entry (``None``-free: a missing file raises)."""
    paths = []
    for doc in toc_documents(root):
        path = root / f"{doc}.md"
        if not path.is_file():
            raise FileNotFoundError(f"_toc.yml lists {doc!r} but {path} does not exist")
        paths.append(path)
    return paths
