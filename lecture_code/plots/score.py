"""Plotting functions for chapter 5: Langevin paths, mode weights and score errors.

Each function takes numbers computed by :mod:`lecture_code.score.langevin` or
:mod:`lecture_code.score.score_matching` and a ``matplotlib`` ``Axes``, draws on it and returns
it. The score field itself is drawn by :func:`lecture_code.plots.forward.plot_score_field`. The
figure builders in ``lecture_code.figures.ch05_score`` wire the two together.

Book: chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = ["plot_mode_weights", "plot_paths", "plot_score_error"]


def plot_paths(ax: Axes, paths: ArrayLike, *, color: str = COLORS["model"]) -> Axes:
    """Paths of a few particles, each a thin line with a dot at its end.

    Args:
        ax: where to draw.
        paths: ``(K + 1, P, 2)`` the positions of ``P`` particles after each of ``K`` steps.
        color: the colour of the lines.
    """
    p = as_array(paths)
    if p.ndim != 3 or p.shape[2] != 2:
        raise ValueError(f"paths must have shape (K + 1, P, 2), got {p.shape}")
    for j in range(p.shape[1]):
        ax.plot(p[:, j, 0], p[:, j, 1], color=color, linewidth=0.6, alpha=0.7)
    ax.scatter(p[-1, :, 0], p[-1, :, 1], s=10, color=color, zorder=3)
    ax.scatter(p[0, :, 0], p[0, :, 1], s=10, facecolors="none", edgecolors=color, zorder=3)
    return ax


def plot_mode_weights(
    ax: Axes, fractions: Mapping[str, tuple[float, float]], true_weight: float
) -> Axes:
    """One bar per sampler: the fraction of its particles in the first mode, with an error bar
    of one standard error, and the true weight as a dashed line.

    Args:
        ax: where to draw.
        fractions: sampler name -> ``(fraction, standard error)``.
        true_weight: the weight of the first mode.
    """
    names = list(fractions)
    if not names:
        raise ValueError("fractions must name at least one sampler, got none")
    values = np.array([fractions[k][0] for k in names])
    errors = np.array([fractions[k][1] for k in names])
    position = np.arange(len(names))
    ax.bar(position, values, yerr=errors, color=COLORS["model"], alpha=0.8, capsize=4)
    ax.axhline(true_weight, color=COLORS["oracle"], linestyle="--", label="true weight")
    ax.set_xticks(position, names)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("fraction in the heavier mode")
    ax.legend(loc="lower right")
    return ax


def plot_score_error(
    ax: Axes,
    nu: ArrayLike,
    error: ArrayLike,
    se: ArrayLike,
    *,
    label: str | None = None,
    color: str = COLORS["model"],
    marker: str = "o",
) -> Axes:
    r"""The relative score error against the noise-to-signal ratio, both on log axes, with error
    bars of one standard error. Call it once per model to compare several.

    Args:
        ax: where to draw.
        nu: ``(L,)`` noise-to-signal ratios :math:`\nu = \sigma/a`.
        error: ``(L,)`` relative errors.
        se: ``(L,)`` their standard errors.
        label: the model's name in the legend (no legend when ``None``).
        color: its colour.
        marker: its marker.
    """
    s, e, d = as_array(nu), as_array(error), as_array(se)
    if not s.shape == e.shape == d.shape:
        raise ValueError(f"nu, error, se must have one shape, got {s.shape}, {e.shape}, {d.shape}")
    ax.errorbar(s, e, yerr=d, color=color, marker=marker, markersize=3, capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"noise-to-signal ratio $\nu = \sigma/a$")
    ax.set_ylabel("relative score error")
    if label is not None:
        ax.legend(loc="upper right", fontsize="small")
    return ax
