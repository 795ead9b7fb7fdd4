"""The figure registry and its command."""

from __future__ import annotations

import re

import pytest
from matplotlib.figure import Figure

from lecture_code import figures
from lecture_code.figures.__main__ import main
from tests.book_toc import ROOT, toc_documents, toc_sources


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


def test_unknown_figure_is_named():
    with pytest.raises(KeyError, match="no figure is registered as 'nope'"):
        figures.make_figure("nope")


def test_every_registered_figure_names_a_page_of_the_book():
    docs = set(toc_documents())
    for name, spec in figures.load_catalogue().items():
        assert spec.chapter in docs, f"figure {name!r} names {spec.chapter!r}, not in _toc.yml"


_SHOWN = re.compile(r"""make_figure\(\s*["']([A-Za-z0-9_]+)["']""")


def test_every_registered_figure_appears_in_its_chapter():
    shown: dict[str, set[str]] = {}
    for path in toc_sources():
        doc = path.relative_to(ROOT).with_suffix("").as_posix()
        for name in _SHOWN.findall(path.read_text()):
            shown.setdefault(name, set()).add(doc)
    registry = figures.load_catalogue()
    for name, spec in registry.items():
        assert spec.chapter in shown.get(name, set()), (
            f"figure {name!r} is registered for {spec.chapter} but that page never shows it"
        )
    unknown = sorted(set(shown) - set(registry))
    assert not unknown, f"chapters show figures that are not registered: {unknown}"
