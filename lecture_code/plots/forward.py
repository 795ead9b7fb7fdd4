"""Plotting functions for chapters 1 and 2: toy data, densities, score fields, noise schedules.

Each function takes data already computed by :mod:`lecture_code.ddpm.toy_data`,
:mod:`lecture_code.ddpm.schedules` or :mod:`lecture_code.ddpm.forward` and a ``matplotlib``
``Axes``, draws on it and returns it; none of them computes anything of substance. The figure
builders in ``lecture_code.figures.ch01_generative`` and ``lecture_code.figures.ch02_forward``
wire the two together.

Book: chapter 1, "Generative models and latent spaces" (:doc:`/book/part1/01_generative_models`);
chapter 2, "The forward process" (:doc:`/book/part1/02_forward_process`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import CMAP, COLORS

__all__ = [
    "SCHEDULE_STYLES",
    "plot_curve",
    "plot_density_contours",
    "plot_points",
    "plot_prior_kl",
    "plot_schedule_curves",
    "plot_score_field",
]

#: Line styles that tell schedules apart in black-and-white print as well as in colour.
SCHEDULE_STYLES = {"linear": ("-", COLORS["model"]), "cosine": ("--", COLORS["reference"])}


def _square(ax: Axes, limit: float | None) -> None:
    ax.set_aspect("equal")
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def plot_points(
    ax: Axes,
    x: ArrayLike,
    *,
    values: ArrayLike | None = None,
    color: str = COLORS["data"],
    size: float = 2.0,
    alpha: float = 0.5,
    limit: float | None = 3.0,
    title: str | None = None,
    label: str | None = None,
) -> Axes:
    """Scatter two-dimensional points on equal axes.

    Args:
        ax: where to draw.
        x: ``(n, 2)`` points.
        values: ``(n,)`` optional numbers that colour the points (with the book's colour map);
            a colour bar is added.
        color: the colour when ``values`` is ``None``.
        size: marker area.
        alpha: marker opacity.
        limit: the axes show ``[-limit, limit]^2`` (``None``: matplotlib's choice).
        title: axes title.
        label: legend entry.
    """
    x = as_array(x)
    if values is None:
        ax.scatter(x[:, 0], x[:, 1], s=size, color=color, alpha=alpha, linewidths=0, label=label)
    else:
        points = ax.scatter(
            x[:, 0], x[:, 1], s=size, c=as_array(values), cmap=CMAP, alpha=alpha, linewidths=0
        )
        ax.figure.colorbar(points, ax=ax, shrink=0.8, label="latent $\\tau$")
    _square(ax, limit)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_curve(ax: Axes, x: ArrayLike, *, color: str, label: str | None = None) -> Axes:
    """A line through the points ``x: (n, 2)`` (the swiss roll's decoded spiral)."""
    x = as_array(x)
    ax.plot(x[:, 0], x[:, 1], color=color, linewidth=1.0, label=label)
    return ax


def plot_density_contours(
    ax: Axes,
    axis: ArrayLike,
    log_density: ArrayLike,
    *,
    filled: bool = False,
    levels: int = 8,
    limit: float | None = 3.0,
    title: str | None = None,
) -> Axes:
    """Contours of a density on a square grid.

    Args:
        ax: where to draw.
        axis: ``(m,)`` grid coordinates along each axis.
        log_density: ``(m, m)`` log density, entry ``[i, j]`` at ``(axis[i], axis[j])`` (the
            layout of :func:`lecture_code.ddpm.toy_data.square_grid`).
        filled: filled contours (a light grey shading of the density) instead of lines.
        levels: number of contour levels, equally spaced in density.
        limit: the axes show ``[-limit, limit]^2``.
        title: axes title.
    """
    a = as_array(axis)
    density = np.exp(as_array(log_density)).T  # contour wants [row = y, column = x]
    if filled:
        # Light greys, so that arrows or points drawn on top stay readable.
        ax.contourf(a, a, density, levels=levels, cmap="Greys", alpha=0.55)
    else:
        ax.contour(a, a, density, levels=levels, colors=COLORS["oracle"], linewidths=0.8)
    _square(ax, limit)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_score_field(
    ax: Axes,
    points: ArrayLike,
    score: ArrayLike,
    *,
    limit: float | None = 3.0,
    magnitude_range: tuple[float, float] | None = None,
    colorbar: bool = True,
) -> Axes:
    r"""The score field as arrows of equal length pointing along
    :math:`\nabla_{\mathbf{x}}\log p`, coloured by the magnitude
    :math:`\lVert\nabla_{\mathbf{x}}\log p\rVert` on a logarithmic scale (the magnitude spans
    orders of magnitude, so arrows drawn to scale would be unreadable).

    Args:
        ax: where to draw.
        points: ``(m, 2)`` arrow tails.
        score: ``(m, 2)`` score vectors at the tails.
        limit: the axes show ``[-limit, limit]^2``.
        magnitude_range: ``(low, high)`` of the colour scale; default: this field's own range
            (pass one range to several panels that share one colour bar).
        colorbar: draw this panel's colour bar (off when the figure draws one for all panels
            from ``ax.collections[-1]``).
    """
    p, s = as_array(points), as_array(score)
    norm = np.linalg.norm(s, axis=1)
    low, high = (max(norm.min(), 1e-2), norm.max()) if magnitude_range is None else magnitude_range
    direction = s / np.maximum(norm, 1e-12)[:, None]
    arrows = ax.quiver(
        p[:, 0],
        p[:, 1],
        direction[:, 0],
        direction[:, 1],
        norm,
        cmap="magma_r",
        norm=LogNorm(vmin=low, vmax=high),
        angles="xy",
        pivot="mid",
        scale=28,
        width=0.005,
    )
    if colorbar:
        ax.figure.colorbar(arrows, ax=ax, shrink=0.8, label=r"$\|\nabla_{\mathbf{x}} \log p\|$")
    _square(ax, limit)
    return ax


def plot_schedule_curves(
    ax: Axes,
    u: ArrayLike,
    curves: Mapping[str, ArrayLike],
    *,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
) -> Axes:
    """Quantities of several schedules against the fraction ``u = t / T`` of the process.

    Args:
        ax: where to draw.
        u: ``(N,)`` values of ``t / T``.
        curves: schedule name (``"linear"``, ``"cosine"``, ...) -> ``(N,)`` values.
        ylabel: what is plotted.
        ylim: optional vertical range.
    """
    u = as_array(u)
    for name, values in curves.items():
        style, color = SCHEDULE_STYLES.get(name, (":", COLORS["climatology"]))
        ax.plot(u, as_array(values), linestyle=style, color=color, label=name)
    ax.set_xlabel("$t / T$")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
    return ax


def plot_prior_kl(
    ax: Axes, T_values: ArrayLike, curves: Mapping[str, tuple[str, ArrayLike]]
) -> Axes:
    r"""The data-averaged :math:`D_{\mathrm{KL}}(q(\mathbf{x}_T\mid\mathbf{x}_0)\,\Vert\,
    \mathcal{N}(\mathbf{0},\mathbf{I}))` against the number of steps, on log-log axes.

    Args:
        ax: where to draw.
        T_values: ``(N,)`` numbers of steps.
        curves: legend label -> (schedule kind, ``(N,)`` KL values); the kind (``"linear"``,
            ``"cosine"``, anything else) picks the line style shared with the other figures.
    """
    T_values = as_array(T_values)
    markers = ("o", "s", "^", "D")
    for (label, (kind, values)), marker in zip(curves.items(), markers, strict=False):
        style, color = SCHEDULE_STYLES.get(kind, (":", COLORS["climatology"]))
        ax.plot(
            T_values, as_array(values), linestyle=style, marker=marker, color=color, label=label
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of steps $T$")
    ax.set_ylabel(r"mean KL to $\mathcal{N}(\mathbf{0}, \mathbf{I})$ at $t = T$")
    # Above the axes: every corner inside is crossed by one of the curves.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(curves), frameon=False)
    return ax
