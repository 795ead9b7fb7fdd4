"""The figure registry, its command and its gallery.

Every figure of the book comes from the registry of :mod:`lecture_code.figures`, every registered
figure is shown by the chapter it names, and the same seed gives the same PNG file, byte for
byte, for every registered figure.
"""

from __future__ import annotations

import random
import re
import time
import warnings

import jupytext
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from lecture_code import figures
from lecture_code.figures import gallery
from lecture_code.figures.__main__ import in_book_order, main
from tests.book.book_toc import ROOT, toc_documents, toc_sources

CATALOGUE = sorted(figures.load_catalogue())
#: Seconds beyond which drawing a figure again, with its trained models cached, is slow.
SLOW_REDRAW = 10.0


@pytest.fixture()
def toy_figure(monkeypatch):
    """A throwaway figure in the registry, removed after the test."""
    monkeypatch.setattr(figures, "REGISTRY", dict(figures.load_catalogue()))

    @figures.register("test_toy", chapter="book/preface", caption="A line.")
    def build(seed: int, style: str) -> Figure:
        fig = Figure()
        ax = fig.subplots()
        ax.plot([0, 1], [seed, seed + 1])
        return fig

    return "test_toy"


def test_same_seed_gives_identical_files(toy_figure, tmp_path):
    for folder in ("a", "b"):
        figures.save_figure(
            figures.make_figure(toy_figure, seed=1), tmp_path / folder / "f", ["png", "pdf", "svg"]
        )
    for fmt in ("png", "pdf", "svg"):
        a = (tmp_path / "a" / f"f.{fmt}").read_bytes()
        b = (tmp_path / "b" / f"f.{fmt}").read_bytes()
        assert a == b, f"{fmt} differs between two renders with the same seed"


@pytest.fixture()
def global_random_state():
    """Restores the global random states that the test below moves on purpose."""
    python, numpy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    random.setstate(python)
    np.random.set_state(numpy)


@pytest.mark.slow
@pytest.mark.parametrize("name", CATALOGUE)
def test_every_figure_gives_the_same_png_for_the_same_seed(name, tmp_path, global_random_state):
    import matplotlib.pyplot as plt

    pngs, seconds = [], []
    for run in (1, 2):
        # Each render starts from a different global random state: a builder that drew from it
        # instead of from its seeded generators would give different pixels.
        random.seed(run)
        np.random.seed(run)
        torch.manual_seed(run)
        start = time.perf_counter()
        fig = figures.make_figure(name, seed=0)
        (path,) = figures.save_figure(fig, tmp_path / f"run{run}" / name, ["png"], dpi=40)
        seconds.append(time.perf_counter() - start)
        pngs.append(path.read_bytes())
    assert pngs[0] == pngs[1], f"figure {name!r} gives different PNG files for the same seed"
    assert not plt.get_fignums(), f"figure {name!r} opened a pyplot figure; build it without pyplot"
    if seconds[1] > SLOW_REDRAW:
        # Not a failure (the machine may be busy), but the figure command, the gallery and its
        # chapter all pay this time: a slow computation belongs in lecture_code.cache.cached.
        warnings.warn(
            f"figure {name!r} took {seconds[1]:.0f} s to draw a second time; cache its computation",
            stacklevel=1,
        )


def test_save_figure_resolution_and_formats(toy_figure, tmp_path):
    fig = figures.make_figure(toy_figure)
    (small,) = figures.save_figure(fig, tmp_path / "small", ["png"], dpi=20)
    (large,) = figures.save_figure(fig, tmp_path / "large", ["png"], dpi=80)
    width = [int.from_bytes(p.read_bytes()[16:20], "big") for p in (small, large)]
    assert width[1] == pytest.approx(4 * width[0], rel=0.05)
    with pytest.raises(ValueError, match="format must be one of"):
        figures.save_figure(fig, tmp_path / "x", ["gif"])
    with pytest.raises(ValueError, match="dpi"):
        figures.save_figure(fig, tmp_path / "x", ["png"], dpi=0)
    assert not (tmp_path / "x.png").exists()


def test_command_log_has_a_line_per_figure_and_no_carriage_returns(toy_figure, tmp_path, capsys):
    # captured stderr is not a terminal, as when `make figures > log 2>&1`
    assert main(["--only", toy_figure, "--out", str(tmp_path), "--format", "png"]) == 0
    log = capsys.readouterr().err
    assert "\r" not in log
    assert f"figure 1/1: {toy_figure}" in log


def test_command_writes_book_and_slide_versions(toy_figure, tmp_path, capsys):
    assert main(["--only", toy_figure, "--out", str(tmp_path), "--format", "png,svg"]) == 0
    assert main(["--only", toy_figure, "--out", str(tmp_path), "--style", "slide"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["test_toy-slide.pdf", "test_toy-slide.png", "test_toy.png", "test_toy.svg"]
    assert main(["--list"]) == 0
    assert toy_figure in capsys.readouterr().out
    assert main(["--only", "no_such_figure", "--out", str(tmp_path)]) == 2


def test_command_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        main(["--format", "gif"])
    with pytest.raises(SystemExit):
        main(["--seed", "-3"])
    with pytest.raises(SystemExit):
        main(["--dpi", "0"])


def test_unknown_figure_is_named():
    with pytest.raises(KeyError, match="no figure is registered as 'nope'"):
        figures.make_figure("nope")


def test_every_registered_figure_names_a_page_of_the_book():
    docs = set(toc_documents())
    for name, spec in figures.load_catalogue().items():
        assert spec.chapter in docs, f"figure {name!r} names {spec.chapter!r}, not in _toc.yml"
        assert spec.caption.strip(), f"figure {name!r} has no caption"


_SHOWN = re.compile(r"""make_figure\(\s*["']([A-Za-z0-9_]+)["']""")


def _code(path) -> str:
    return "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "code")


def test_every_registered_figure_appears_in_its_chapter():
    shown: dict[str, set[str]] = {}
    for path in toc_sources():
        doc = path.relative_to(ROOT).with_suffix("").as_posix()
        for name in _SHOWN.findall(_code(path)):
            shown.setdefault(name, set()).add(doc)
    registry = figures.load_catalogue()
    for name, spec in registry.items():
        assert spec.chapter in shown.get(name, set()), (
            f"figure {name!r} is registered for {spec.chapter} but no code cell there shows it"
        )
    unknown = sorted(set(shown) - set(registry))
    assert not unknown, f"chapters show figures that are not registered: {unknown}"


# A picture that does not come from the registry: an image file or a figure directive.
_STATIC_PICTURE = re.compile(r"!\[[^\]]*\]\([^)]+\)|<img\b|^[`:]{3,}\{(figure|image)\}", re.M)


@pytest.mark.parametrize("path", toc_sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_picture_in_the_book_comes_from_the_registry(path):
    text = path.read_text()
    found = [m.group(0) for m in _STATIC_PICTURE.finditer(text)]
    assert not found, (
        f"{path.name} shows pictures that the figure command cannot regenerate: {found}; "
        "register a builder in lecture_code/figures and show it with make_figure or glue:figure"
    )


# --- the gallery ---------------------------------------------------------------------------
def test_gallery_lists_every_figure_once_in_the_order_of_the_book():
    sections = gallery.gallery_sections()
    listed = [spec.name for section in sections for spec in section.figures]
    assert sorted(listed) == CATALOGUE
    docs = toc_documents()
    order = [docs.index(section.doc) for section in sections]
    assert order == sorted(order), "gallery sections are not in the order of _toc.yml"
    for section in sections:
        assert {spec.chapter for spec in section.figures} == {section.doc}
        shown = gallery.figures_shown(ROOT / f"{section.doc}.md")
        names = [spec.name for spec in section.figures]
        # The figures in the order the chapter shows them; any it does not show, by name, last.
        expected = [n for n in shown if n in names] + sorted(set(names) - set(shown))
        assert names == expected, f"{section.doc}: not in page order"
    assert [s.name for s in in_book_order(figures.load_catalogue())] == listed


def test_gallery_markdown_names_the_chapter_and_the_command(toy_figure):
    (section,) = [s for s in gallery.gallery_sections() if s.doc == "book/preface"]
    assert section.title == "Diffusion Models for Probabilistic Forecasting"
    text = gallery.section_markdown(section)
    assert text.startswith(f"## {section.title}\n")
    assert f"{{doc}}`{section.title} </book/preface>`" in text
    spec = section.figures[-1]
    assert gallery.figure_heading(spec) == "### `test_toy`"
    notes = gallery.figure_notes(spec)
    assert notes.startswith("A line.\n")
    assert "\npython -m lecture_code.figures --only test_toy\n" in notes
    assert "\npython -m lecture_code.figures --only test_toy --style slide\n" in notes


def test_gallery_cites_each_figure_by_the_chapter_number_of_its_label():
    """An instructor finds "Fig. 9.3" in the gallery: the notes link the chapter's figure."""
    labelled = 0
    for section in gallery.gallery_sections():
        for spec in section.figures:
            label = section.label(spec.name)
            if label is None:
                continue
            labelled += 1
            source = (ROOT / f"{section.doc}.md").read_text()
            assert f":name: {label}" in source, f"{section.doc} shows {label} without :name:"
            assert gallery.figure_notes(spec, label).startswith(f"{{numref}}`{label}` in the ")
    assert labelled >= 20, f"only {labelled} figures carry a chapter label"


def test_gallery_page_uses_the_gallery_module():
    text = (ROOT / "book" / "slides" / "gallery.md").read_text()
    assert "book/slides/gallery" in toc_documents()
    assert "gallery_sections()" in text and "gallery_items(" in text
    # Figures made without pyplot are shown as images only with the inline backend active.
    assert "%matplotlib inline" in text


def test_gallery_items_are_headings_figures_and_notes_in_order(toy_figure):
    from matplotlib.figure import Figure

    (section,) = [s for s in gallery.gallery_sections() if s.doc == "book/preface"]
    items = list(gallery.gallery_items([section]))
    assert items[0] == gallery.section_markdown(section)
    assert len(items) == 1 + 3 * len(section.figures)
    for k, spec in enumerate(section.figures):
        heading, figure, notes = items[1 + 3 * k : 4 + 3 * k]
        assert heading == gallery.figure_heading(spec)
        assert isinstance(figure, Figure)
        assert notes == gallery.figure_notes(spec, section.label(spec.name))
