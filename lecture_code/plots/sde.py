"""Plotting functions for chapter 6: densities against histograms, SDE and ODE paths,
likelihoods against their exact values.

Each function takes numbers already computed by :mod:`lecture_code.score.fokker_planck`,
:mod:`lecture_code.score.processes` or :mod:`lecture_code.score.likelihood` and a ``matplotlib``
``Axes``, draws on it and returns it. The builders of ``lecture_code.figures.ch06_sde`` wire the
two together.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = ["plot_density_vs_histogram", "plot_identity", "plot_paths"]


def plot_density_vs_histogram(
    ax: Axes,
    x: ArrayLike,
    density: ArrayLike,
    edges: ArrayLike,
    hist: ArrayLike,
    hist_se: ArrayLike,
    *,
    label: str,
    hist_label: str,
    extra: dict[str, tuple[ArrayLike, ArrayLike]] | None = None,
    title: str | None = None,
) -> Axes:
    """A density curve on a grid against a histogram (as a density) with one-SE error bars.

    Args:
        ax: where to draw.
        x, density: ``(M,)`` the grid and the density on it.
        edges: ``(K + 1,)`` bin edges; hist, hist_se: ``(K,)`` the histogram as a density and
            its standard error.
        label, hist_label: legend entries.
        extra: more curves, ``{label: (x, y)}``, drawn dashed.
        title: the panel's title.
    """
    e, h, s = as_array(edges), as_array(hist), as_array(hist_se)
    if len(e) != len(h) + 1 or len(h) != len(s):
        raise ValueError(f"edges must have one entry more than hist, got {len(e)} and {len(h)}")
    centres = 0.5 * (e[1:] + e[:-1])
    ax.stairs(h, e, color=COLORS["model"], label=hist_label)
    ax.errorbar(centres, h, yerr=s, fmt="none", color=COLORS["model"], lw=0.8)
    ax.plot(as_array(x), as_array(density), color=COLORS["data"], label=label)
    for i, (name, (xe, ye)) in enumerate((extra or {}).items()):
        colour = (COLORS["oracle"], COLORS["reference"], COLORS["climatology"])[i % 3]
        ax.plot(as_array(xe), as_array(ye), "--", color=colour, label=name)
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.legend()
    if title:
        ax.set_title(title, loc="left")
    return ax


def plot_paths(
    ax: Axes,
    t: ArrayLike,
    paths: ArrayLike,
    *,
    color: str = COLORS["model"],
    title: str | None = None,
    ylabel: str = "$x_1$",
) -> Axes:
    """Paths of one coordinate against time.

    Args:
        ax: where to draw.
        t: ``(K,)`` times.
        paths: ``(K, P)`` one column per path.
        color: the colour of the paths.
        title: the panel's title.
        ylabel: the label of the coordinate.
    """
    ts, ps = as_array(t), as_array(paths)
    if ps.ndim != 2 or ps.shape[0] != ts.shape[0]:
        raise ValueError(f"paths must have shape ({ts.shape[0]}, P), got {ps.shape}")
    ax.plot(ts, ps, color=color, lw=0.6, alpha=0.7)
    ax.set_xlabel("$t$")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    return ax


def plot_identity(
    ax: Axes,
    reference: ArrayLike,
    estimate: ArrayLike,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
) -> Axes:
    """``estimate`` against ``reference`` as points, with the diagonal ``y = x``."""
    r, e = as_array(reference), as_array(estimate)
    if r.shape != e.shape:
        raise ValueError(f"reference and estimate differ in shape: {r.shape} and {e.shape}")
    lo, hi = float(np.min([r.min(), e.min()])), float(np.max([r.max(), e.max()]))
    ax.plot([lo, hi], [lo, hi], ":", color=COLORS["climatology"], label="$y = x$")
    ax.plot(r, e, "o", color=COLORS["model"], ms=4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title, loc="left")
    return ax
