"""The registry of every figure in the book, and the functions that render and save them.

Each figure is a function ``build(seed, style) -> matplotlib.figure.Figure`` registered with
:func:`register` under a unique name, the chapter that shows it and a caption. The function
wires computation (the mathematical modules of :mod:`lecture_code`) to plotting (functions that
take data and an ``Axes``); it contains neither. Figures are ``matplotlib.figure.Figure``
objects made without ``pyplot``, so no global figure state leaks between them.

The catalogue lives in the modules ``chNN_*`` of this package, one per chapter, and is imported by
:func:`load_catalogue`. A chapter shows a figure with :func:`make_figure`; the command
``python -m lecture_code.figures`` renders all of them (see :mod:`lecture_code.figures.__main__`).
The same name, seed and style always give the same pixels.

Book: preface, section "Regenerating the figures"; back matter, "Figure gallery".
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from lecture_code.plots.style import STYLES, use_style
from lecture_code.seeding import DEFAULT_SEED
from lecture_code.validation import check_choice, check_int, check_real

FigureBuilder = Callable[[int, str], Figure]

#: The formats the figure command can write.
FORMATS = ("png", "pdf", "svg")

# Metadata that would otherwise carry a time stamp; without it the bytes depend only on the
# picture.
_METADATA = {"png": {}, "pdf": {"CreationDate": None, "ModDate": None}, "svg": {"Date": None}}


@dataclass(frozen=True)
class FigureSpec:
    """One registered figure.

    Attributes:
        name: unique name, used on the command line and in the book (``--only NAME``).
        chapter: the book page that shows it, as in ``_toc.yml`` (``"book/part1/02_forward"``).
        caption: one sentence saying what the figure shows.
        build: ``build(seed, style)`` returns the figure.
    """

    name: str
    chapter: str
    caption: str
    build: FigureBuilder


REGISTRY: dict[str, FigureSpec] = {}


def register(name: str, *, chapter: str, caption: str) -> Callable[[FigureBuilder], FigureBuilder]:
    """Decorator that adds ``build(seed, style)`` to the registry under ``name``."""

    def decorator(build: FigureBuilder) -> FigureBuilder:
        if name in REGISTRY and REGISTRY[name].build.__qualname__ != build.__qualname__:
            raise ValueError(f"figure name {name!r} is registered twice")
        REGISTRY[name] = FigureSpec(name=name, chapter=chapter, caption=caption, build=build)
        return build

    return decorator


def load_catalogue() -> dict[str, FigureSpec]:
    """Import every catalogue module of this package and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


def get_spec(name: str) -> FigureSpec:
    """The registered figure called ``name``."""
    registry = load_catalogue()
    if name not in registry:
        raise KeyError(f"no figure is registered as {name!r}; known figures: {sorted(registry)}")
    return registry[name]


def make_figure(name: str, seed: int = DEFAULT_SEED, style: str = "book") -> Figure:
    """Build the registered figure ``name`` with ``seed`` in ``style`` ("book" or "slide")."""
    spec = get_spec(name)
    check_int("seed", seed, low=0)
    check_choice("style", style, STYLES)
    with use_style(style):
        try:
            fig = spec.build(seed, style)
        except Exception as error:
            # Say which figure failed: in a chapter or the gallery the traceback alone does not.
            error.add_note(f"while building figure {name!r} of {spec.chapter} (seed {seed})")
            raise
    if not isinstance(fig, Figure):
        raise TypeError(f"figure {name!r} must build a matplotlib Figure, got {type(fig).__name__}")
    return fig


def save_figure(
    fig: Figure,
    stem: str | Path,
    formats: Iterable[str] = ("png",),
    style: str = "book",
    dpi: float | None = None,
) -> list[Path]:
    """Write ``fig`` to ``stem.<format>`` for each format, in ``style``, without time stamps.

    Args:
        fig: the figure.
        stem: the path without suffix; its folder is created.
        formats: some of :data:`FORMATS`.
        style: ``"book"`` or ``"slide"``, for the resolution and the bounding box.
        dpi: dots per inch of the PNG (> 0); the style's own when ``None``.

    Returns:
        The paths written.
    """
    stem = Path(stem)
    formats = list(formats)
    for fmt in formats:
        check_choice("format", fmt, FORMATS)
    if dpi is not None:
        check_real("dpi", dpi, low=0.0, low_open=True)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    # savefig reads the resolution and the bounding-box rule from the style at save time.
    with use_style(style):
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(path, format=fmt, metadata=_METADATA[fmt], dpi=dpi)
            paths.append(path)
    return paths
