"""The figure gallery: every registered figure, grouped by the chapter that shows it.

The back matter's gallery page shows every figure of :mod:`lecture_code.figures` with its
caption and the command that regenerates it. This module only arranges the registry: the
chapters in the order of the book's table of contents (``_toc.yml``), and within a chapter the
figures in the order in which the chapter shows them (its ``make_figure("...")`` calls). A
figure that its chapter does not show (the figure tests fail on it) comes last, by name.

Book: back matter, "Figure gallery"; preface, section "Regenerating the figures".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

import lecture_code
from lecture_code.figures import FigureSpec, load_catalogue, make_figure

#: The command that regenerates the figures, as a reader types it in the project folder.
COMMAND = "python -m lecture_code.figures"

# A figure shown by a chapter: make_figure("name", ...) in a code cell or a glue(...) call.
_SHOWN = re.compile(r"""make_figure\(\s*["']([A-Za-z0-9_]+)["']""")
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)
# The label under which a chapter shows a figure: glue("fig-...", make_figure("name", ...)).
_LABELLED = re.compile(
    r"""glue\(\s*["']([A-Za-z0-9_-]+)["']\s*,\s*make_figure\(\s*["']([A-Za-z0-9_]+)["']"""
)


@dataclass(frozen=True)
class GallerySection:
    """The figures of one chapter.

    Attributes:
        doc: the chapter as named in ``_toc.yml`` (``"book/part1/02_forward_process"``).
        title: the chapter's title, its first level-one heading.
        figures: the chapter's registered figures, in the order the chapter shows them.
        labels: the label under which the chapter shows each figure, by figure name (the
            target of ``{numref}``, so that the gallery names "Fig. 9.3" as the chapter does).
    """

    doc: str
    title: str
    figures: tuple[FigureSpec, ...]
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, name: str) -> str | None:
        """The chapter's label of figure ``name``, or None when the chapter shows it unlabelled."""
        return dict(self.labels).get(name)


def project_root() -> Path:
    """The folder holding ``_toc.yml``: the project that :mod:`lecture_code` belongs to."""
    root = Path(lecture_code.__file__).resolve().parents[1]
    if not (root / "_toc.yml").is_file():
        raise FileNotFoundError(f"no _toc.yml in {root}: the gallery needs the book's sources")
    return root


def _toc_entries(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if "file" in node:
            found.append(str(node["file"]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                found += _toc_entries(child)
    return found


def toc_documents(root: Path) -> list[str]:
    """The pages of ``root/_toc.yml`` in reading order, root page first."""
    import yaml  # installed with Jupyter Book; only the gallery needs it

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [str(toc["root"]), *_toc_entries(toc)]


def chapter_title(path: Path) -> str:
    """The first level-one heading of the MyST file ``path`` (its file name if it has none)."""
    match = _TITLE.search(path.read_text(encoding="utf-8"))
    return match.group(1).strip() if match else path.stem


def figures_shown(path: Path) -> list[str]:
    """Names of the figures that the MyST file ``path`` shows, in order, each once."""
    names = _SHOWN.findall(path.read_text(encoding="utf-8"))
    return list(dict.fromkeys(names))


def figure_labels(path: Path) -> dict[str, str]:
    """``{figure name: label}`` for the figures that the MyST file ``path`` glues under a label."""
    return {name: label for label, name in _LABELLED.findall(path.read_text(encoding="utf-8"))}


def gallery_sections(root: Path | None = None) -> list[GallerySection]:
    """The registered figures grouped by chapter, chapters in the order of ``_toc.yml``.

    Args:
        root: the project folder (default: :func:`project_root`).

    Returns:
        One section per chapter that has registered figures. A figure registered for a page
        that the table of contents does not list gets a section at the end, under its page name.
    """
    root = project_root() if root is None else root
    registry = load_catalogue()
    by_chapter: dict[str, list[FigureSpec]] = {}
    for spec in sorted(registry.values(), key=lambda s: s.name):
        by_chapter.setdefault(spec.chapter, []).append(spec)
    docs = toc_documents(root)
    sections = []
    for doc in [*docs, *sorted(set(by_chapter) - set(docs))]:
        specs = by_chapter.get(doc)
        if not specs:
            continue
        path = root / f"{doc}.md"
        shown = figures_shown(path) if path.is_file() else []
        rank = {name: i for i, name in enumerate(shown)}
        specs.sort(key=lambda s: (rank.get(s.name, len(rank)), s.name))
        title = chapter_title(path) if path.is_file() else doc
        labels = tuple(sorted(figure_labels(path).items())) if path.is_file() else ()
        sections.append(GallerySection(doc=doc, title=title, figures=tuple(specs), labels=labels))
    return sections


def section_markdown(section: GallerySection) -> str:
    """A level-two heading for ``section`` and a cross-reference to its chapter, as MyST.

    The gallery page renders its Markdown outputs as MyST (cell metadata
    ``mystnb: {markdown_format: myst}``), so the ``{doc}`` role resolves, and a chapter that
    is renamed or removed breaks the build instead of leaving a dead link.
    """
    noun = "figure" if len(section.figures) == 1 else "figures"
    return (
        f"## {section.title}\n\n"
        f"The {noun} of {{doc}}`{section.title} </{section.doc}>`, in the order the chapter "
        "shows them."
    )


def figure_heading(spec: FigureSpec) -> str:
    """The heading over one figure: its registered name, as Markdown."""
    return f"### `{spec.name}`"


def figure_notes(spec: FigureSpec, label: str | None = None) -> str:
    """The caption under one figure and the commands that regenerate it, as Markdown.

    Args:
        spec: the registered figure.
        label: the label under which its chapter shows it; the notes then begin with the
            chapter's number of the figure ("Fig. 9.3"), a link to it, for a lecture to cite.
    """
    cited = f"{{numref}}`{label}` in the chapter. " if label else ""
    return (
        f"{cited}{spec.caption}\n\n"
        "```bash\n"
        f"# figures/{spec.name}.png and .pdf, then the 16:9 slide version\n"
        f"{COMMAND} --only {spec.name}\n"
        f"{COMMAND} --only {spec.name} --style slide\n"
        "```"
    )


def gallery_items(sections: Sequence[GallerySection]) -> Iterator[str | Figure]:
    """What the gallery shows for ``sections``, in order: each section's heading (MyST), then
    for each figure its heading, the figure drawn by :func:`lecture_code.figures.make_figure`
    with the book's seed, and its notes. The page shows one group of chapters per cell, so that
    no cell runs longer than the execution timeout even when every model trains from scratch."""
    for section in sections:
        yield section_markdown(section)
        for spec in section.figures:
            yield figure_heading(spec)
            yield make_figure(spec.name)
            yield figure_notes(spec, section.label(spec.name))
