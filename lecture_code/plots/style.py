"""One plotting style for the book and for slides.

Figures are drawn by functions that take data and ``matplotlib`` axes; the style is applied
around them by :func:`use_style`, so the same function gives the book's figure (a column of
text wide, small type) and the slide's (16:9, large type, thick lines). Colours carry meaning
and are the same everywhere: the data is always :data:`COLORS` ``["data"]``, a model's samples
always ``["model"]``, the oracle always ``["oracle"]``.

Book: preface, section "Regenerating the figures".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import matplotlib as mpl

from lecture_code.validation import check_choice, check_real

__all__ = [
    "CMAP",
    "CMAP_DIVERGING",
    "COLORS",
    "FORECASTERS",
    "STYLES",
    "Look",
    "figsize",
    "look",
    "use_style",
]

#: One colour per concept, shared by every figure (colour-blind safe, after Okabe and Ito).
COLORS: dict[str, str] = {
    "data": "#000000",
    "model": "#0072B2",
    "diffusion": "#0072B2",
    "oracle": "#009E73",
    "climatology": "#999999",
    "deterministic": "#E69F00",
    "mc_dropout": "#D55E00",
    "gaussian": "#CC79A7",
    "ensemble": "#56B4E9",
    "noise": "#F0E442",
    "reference": "#D55E00",
}


@dataclass(frozen=True)
class Look:
    """How one forecaster is drawn in every figure.

    Attributes:
        label: its name in legends and tables.
        color: its colour.
        linestyle: its line (dashed for references and forecasters without spread).
        marker: its marker, if any.
    """

    label: str
    color: str
    linestyle: str = "-"
    marker: str | None = None


#: The forecasters of Part III, by their names (the ``name`` of each forecaster of
#: :mod:`lecture_code.forecasting` and its key in ``results.json``): the one place where their
#: labels, colours and lines are written.
FORECASTERS: dict[str, Look] = {
    "oracle": Look("oracle", COLORS["oracle"]),
    "climatology": Look("climatology", COLORS["climatology"], "--"),
    "deterministic": Look("deterministic (MSE)", COLORS["deterministic"], "--"),
    "mc_dropout": Look("MC dropout", COLORS["mc_dropout"]),
    "gaussian": Look("Gaussian NLL", COLORS["gaussian"]),
    "mc_dropout_het": Look("MC dropout, heteroscedastic", COLORS["mc_dropout"], ":"),
    "physics_gaussian": Look("physics + Gaussian", COLORS["data"], "-."),
    "deep_ensemble": Look("deep ensemble", COLORS["ensemble"]),
    "diffusion": Look("diffusion", COLORS["diffusion"]),
    "diffusion_reference": Look("diffusion, 1000-step EM", COLORS["diffusion"], "--", "o"),
}


def look(name: str) -> Look:
    """The :class:`Look` of forecaster ``name``; a name without one is drawn as itself in grey."""
    return FORECASTERS.get(name, Look(name, "#333333"))


#: The sequential colour map for fields and densities.
CMAP = "viridis"
#: The diverging colour map for signed fields (Hovmoller diagrams, residuals).
CMAP_DIVERGING = "RdBu_r"

_BASE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "image.cmap": CMAP,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,
    # Fixed hash salt and no timestamps: the same figure gives the same bytes (see figures).
    "svg.hashsalt": "lecture_code",
    "pdf.fonttype": 42,
}

STYLES: dict[str, dict[str, object]] = {
    "book": {
        **_BASE,
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 110,
        "savefig.dpi": 160,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "lines.linewidth": 1.5,
    },
    "slide": {
        **_BASE,
        # 16:9 at 13.33 x 7.5 inches is a full slide of the usual presentation programs.
        "figure.figsize": (13.33, 7.5),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 20,
        "axes.titlesize": 22,
        "axes.labelsize": 20,
        "xtick.labelsize": 17,
        "ytick.labelsize": 17,
        "legend.fontsize": 17,
        "lines.linewidth": 3.0,
        "lines.markersize": 9,
    },
}


@contextlib.contextmanager
def use_style(name: str = "book") -> Iterator[None]:
    """Apply the ``"book"`` or ``"slide"`` style inside a ``with`` block."""
    check_choice("style", name, STYLES)
    with mpl.rc_context(STYLES[name]):
        yield


def figsize(style: str, width: float = 1.0, aspect: float | None = None) -> tuple[float, float]:
    """A figure size in inches for ``style``.

    Args:
        style: ``"book"`` or ``"slide"``.
        width: fraction of the book's text width (> 0); ignored for slides, which are 16:9.
        aspect: height / width; the style's own when ``None``; ignored for slides.
    """
    check_choice("style", style, STYLES)
    default_w, default_h = STYLES[style]["figure.figsize"]  # type: ignore[misc]
    if style == "slide":
        return (default_w, default_h)
    check_real("width", width, low=0.0, low_open=True)
    w = default_w * width
    ratio = (
        default_h / default_w
        if aspect is None
        else check_real("aspect", aspect, low=0.0, low_open=True)
    )
    return (w, w * ratio)
