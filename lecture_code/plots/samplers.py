"""Plotting functions for chapter 7: noise-level grids, error against the number of network
evaluations, and sample clouds.

Each function takes numbers computed by :mod:`lecture_code.score.sampler_error` and the samplers,
and a ``matplotlib`` ``Axes``, draws on it and returns it. The figure builders in
``lecture_code.figures.ch07_samplers`` wire the two together.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = ["SAMPLER_LOOKS", "plot_cloud", "plot_error_vs_nfe", "plot_grid_levels"]

#: One colour and marker per sampler, the same in every figure of the chapter (Okabe-Ito).
SAMPLER_LOOKS: dict[str, tuple[str, str, str]] = {
    # name: (label, colour, marker)
    "ancestral": ("ancestral", "#999999", "v"),
    "euler_maruyama": ("Euler-Maruyama", "#D55E00", "o"),
    "predictor_corrector": ("predictor-corrector", "#CC79A7", "^"),
    "ddim": ("DDIM", "#E69F00", "s"),
    "heun": ("Heun (EDM)", "#0072B2", "D"),
    "dpm_solver_2s": ("DPM-Solver++(2S)", "#56B4E9", "P"),
    "dpm_solver_2m": ("DPM-Solver++(2M)", "#009E73", "X"),
}


def _look(name: str) -> tuple[str, str, str]:
    if name not in SAMPLER_LOOKS:
        raise ValueError(f"unknown sampler {name!r}; expected one of {sorted(SAMPLER_LOOKS)}")
    return SAMPLER_LOOKS[name]


def plot_grid_levels(ax: Axes, grids: Mapping[str, ArrayLike]) -> Axes:
    r"""The positive levels :math:`\nu_i` of several grids against the step index, on a log
    axis (the final 0 is not drawn).

    Args:
        ax: where to draw.
        grids: label -> ``(N + 1,)`` levels ending with 0.
    """
    colors = ["#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7"]
    for (label, grid), color in zip(grids.items(), colors, strict=False):
        nus = as_array(grid)
        if nus.ndim != 1 or nus.size < 2 or nus[-1] != 0:
            raise ValueError(f"grid {label!r} must be 1-D and end with 0, got {nus}")
        ax.plot(
            np.arange(nus.size - 1), nus[:-1], marker="o", markersize=3, color=color, label=label
        )
    ax.set_yscale("log")
    ax.set_xlabel("step $i$")
    ax.set_ylabel(r"noise-to-signal ratio $\nu_i$")
    ax.legend()
    return ax


def plot_error_vs_nfe(
    ax: Axes,
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    *,
    orders: Mapping[str, float] | None = None,
    floor: float | None = None,
    dashed: bool = False,
    legend: bool = True,
) -> Axes:
    """Error against the number of network evaluations, log-log, one line per sampler.

    Args:
        ax: where to draw.
        curves: sampler name -> ``(nfe, error)``, each ``(L,)``.
        orders: sampler name -> fitted order, written into the legend.
        floor: a horizontal line at this error (a learned model's floor).
        dashed: draw the lines dashed (a second family on the same axes).
        legend: draw the legend.
    """
    for name, (nfe, error) in curves.items():
        label, color, marker = _look(name)
        n, e = as_array(nfe), as_array(error)
        if n.shape != e.shape or n.ndim != 1:
            raise ValueError(
                f"nfe and error of {name!r} must be one 1-D shape, got {n.shape}, {e.shape}"
            )
        if orders is not None and name in orders:
            label = f"{label}, order {orders[name]:.2f}"
        ax.plot(
            n,
            e,
            color=color,
            marker=marker,
            markersize=4,
            linestyle="--" if dashed else "-",
            label=None if dashed else label,
        )
    if floor is not None:
        ax.axhline(floor, color=COLORS["data"], linestyle=":", label="learned score's floor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Plain labels at 1, 2 and 5 times the powers of ten: the NFE ranges span one or two
    # decades, where the default minor labels (2 x 10^1, 3 x 10^1, ...) overlap.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("network evaluations (NFE)")
    if legend:
        ax.legend(fontsize="small")
    return ax


def plot_cloud(ax: Axes, x: ArrayLike, *, title: str, limit: float = 2.5) -> Axes:
    """A cloud of 2-D samples as small dots on a square window.

    Args:
        ax: where to draw.
        x: ``(B, 2)`` samples.
        title: the panel's title.
        limit: half-width of the window.
    """
    points = as_array(x)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"x must have shape (B, 2), got {points.shape}")
    ax.scatter(points[:, 0], points[:, 1], s=1.0, color=COLORS["model"], alpha=0.5, linewidths=0)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize="small")
    return ax
