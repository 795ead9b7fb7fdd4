"""Plots of chapter 12: the preconditioning coefficients, the loss level by level, and paths.

Each ``plot_*`` function takes numbers and a matplotlib ``Axes``, draws on it and returns it;
forecasters are drawn with their colours and labels of :data:`lecture_code.plots.style.FORECASTERS`.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.style import look

__all__ = ["plot_coefficients", "plot_loss_by_level", "plot_paths"]


def plot_coefficients(ax: Axes, nu: np.ndarray, coefficients: Mapping[str, np.ndarray]) -> Axes:
    """The preconditioning coefficients against the noise level (log axes).

    Args:
        ax: where to draw.
        nu: (n,) noise levels.
        coefficients: label -> (n,) values.
    """
    for (label, values), style in zip(coefficients.items(), ("-", "--", ":"), strict=False):
        ax.plot(nu, values, linestyle=style, color="#333333", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"noise level $\nu$")
    return ax


def plot_loss_by_level(
    ax: Axes, curves: Mapping[str, Mapping[str, Sequence[float]]], colors: Sequence[str]
) -> Axes:
    """The weighted denoising loss at each noise level, with two standard errors.

    Args:
        ax: where to draw.
        curves: label -> ``{"levels", "loss", "se"}``.
        colors: one colour per curve.
    """
    for (label, c), color in zip(curves.items(), colors, strict=True):
        levels, loss, se = (np.asarray(c[k]) for k in ("levels", "loss", "se"))
        ax.errorbar(levels, loss, yerr=2 * se, marker="o", markersize=3, color=color, label=label)
    ax.axhline(1.0, color="#777777", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"noise level $\nu$")
    ax.set_ylabel("weighted loss")
    return ax


def plot_paths(
    ax: Axes, time: np.ndarray, members: np.ndarray, truth: np.ndarray, name: str
) -> Axes:
    """Ensemble paths of one site beside the truth's path.

    Args:
        ax: where to draw.
        time: (L,) lead times.
        members: (L, M) the members' values at the site.
        truth: (L,) the truth's path.
        name: the forecaster (its colour).
    """
    entry = look(name)
    ax.plot(time, members, color=entry.color, alpha=0.35, linewidth=0.8)
    ax.plot(time, truth, color="black", linewidth=1.5, label="truth")
    ax.set_xlabel("lead time")
    ax.set_title(entry.label, fontsize="small")
    return ax
