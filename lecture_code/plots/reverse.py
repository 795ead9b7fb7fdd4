"""Plotting functions for chapters 3 and 4: reverse steps, the bound, training and samples.

Each function takes numbers already computed by :mod:`lecture_code.ddpm.posterior`,
:mod:`lecture_code.ddpm.gaussian_reverse`, :mod:`lecture_code.ddpm.experiments` or
:mod:`lecture_code.ddpm.sample_quality` and a ``matplotlib`` ``Axes``, draws on it and returns it.
Scatter plots of points reuse :func:`lecture_code.plots.forward.plot_points`. The figure builders
in ``lecture_code.figures.ch03_elbo`` and ``lecture_code.figures.ch04_training`` wire the two
together.

Book: chapter 3, "The reverse process and the ELBO"
(:doc:`/book/part1/03_reverse_process_elbo`); chapter 4, "Training and sampling"
(:doc:`/book/part1/04_training_sampling`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = [
    "SAMPLER_COLORS",
    "plot_drift",
    "plot_loglog_rate",
    "plot_loss_curves",
    "plot_quality_vs_steps",
    "plot_reverse_step",
    "plot_step_curves",
]

#: Colours of the samplers compared in chapter 4.
SAMPLER_COLORS = {"network": COLORS["model"], "exact predictor": COLORS["oracle"]}


def plot_reverse_step(
    ax: Axes,
    grid: ArrayLike,
    density: ArrayLike,
    gaussian: ArrayLike,
    *,
    title: str | None = None,
    legend: bool = False,
) -> Axes:
    r"""The true reverse step :math:`q(\mathbf{x}_{t-1} \mid \mathbf{x}_t)` on a grid, next to
    its small-step Gaussian approximation.

    Args:
        ax: where to draw.
        grid: ``(G,)`` values of :math:`x_{t-1}`.
        density: ``(G,)`` the true density.
        gaussian: ``(G,)`` the Gaussian approximation's density.
        title: axes title.
        legend: draw the legend.
    """
    g = as_array(grid)
    ax.plot(g, as_array(density), color=COLORS["data"], label=r"true $q(x_{t-1} \mid x_t)$")
    ax.plot(
        g,
        as_array(gaussian),
        color=COLORS["reference"],
        linestyle="--",
        label="small-step Gaussian",
    )
    ax.set_xlabel("$x_{t-1}$")
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if legend:
        # Small type in the empty upper left, with head room above the peak so that the
        # legend stays clear of both curves.
        ax.set_ylim(top=1.3 * ax.get_ylim()[1])
        ax.legend(loc="upper left", fontsize="small", handlelength=1.5, borderaxespad=0.2)
    return ax


def plot_loglog_rate(
    ax: Axes,
    x: ArrayLike,
    y: ArrayLike,
    *,
    slope: float,
    xlabel: str,
    ylabel: str,
    label: str,
    reference_label: str,
    anchor: int = -1,
    color: str = COLORS["model"],
) -> Axes:
    """``y`` against ``x`` on log-log axes, with a reference power law of the given slope
    through the point ``anchor`` (put it in the asymptotic regime).

    Args:
        ax: where to draw.
        x: ``(N,)`` positive values, increasing or decreasing.
        y: ``(N,)`` positive values.
        slope: the slope of the reference power law.
        xlabel, ylabel: axis labels.
        label: legend entry of the data.
        reference_label: legend entry of the reference line.
        anchor: index of the point the reference line passes through.
        color: colour of the data.
    """
    xs, ys = as_array(x), as_array(y)
    ax.loglog(xs, ys, "o-", color=color, label=label)
    reference = ys[anchor] * (xs / xs[anchor]) ** slope
    ax.loglog(xs, reference, ":", color=COLORS["climatology"], label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_step_curves(
    ax: Axes,
    t: ArrayLike,
    curves: Mapping[str, ArrayLike],
    *,
    ylabel: str,
    logy: bool = True,
) -> Axes:
    """Per-step quantities (weights, terms of the bound) against the step :math:`t`.

    Args:
        ax: where to draw.
        t: ``(N,)`` steps.
        curves: legend label -> ``(N,)`` values.
        ylabel: what is plotted.
        logy: logarithmic vertical axis.
    """
    steps = as_array(t)
    styles = ("-", "--", ":", "-.")
    colors = (COLORS["model"], COLORS["reference"], COLORS["oracle"], COLORS["climatology"])
    for (label, values), style, color in zip(curves.items(), styles, colors, strict=False):
        ax.plot(steps, as_array(values), linestyle=style, color=color, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_drift(
    ax: Axes,
    points: ArrayLike,
    drift: ArrayLike,
    *,
    limit: float,
    log10_range: tuple[float, float],
    title: str | None = None,
    scale: float = 10.0,
) -> Axes:
    r"""The drift :math:`\boldsymbol{\mu}_\theta(\mathbf{x}_t, t) - \mathbf{x}_t` as arrows of
    equal length along its direction, coloured by :math:`\log_{10}` of its size on a scale
    shared by the panels of a row (the size varies by orders of magnitude across the plane and
    across steps, so arrows drawn to scale would show only the largest ones). The arrows are
    the last collection of ``ax`` (``ax.collections[-1]``), for a colour bar.

    Args:
        ax: where to draw.
        points: ``(m, 2)`` arrow tails, on a square grid.
        drift: ``(m, 2)`` drift vectors at the tails.
        limit: the axes show ``[-limit, limit]^2``.
        log10_range: ``(low, high)``, the sizes (in :math:`\log_{10}`) at the two ends of the
            colour map.
        title: axes title.
        scale: arrows per axes width (matplotlib's ``quiver`` scale): smaller is longer.
    """
    p, d = as_array(points), as_array(drift)
    size = np.linalg.norm(d, axis=1)
    direction = d / np.maximum(size, 1e-30)[:, None]
    low, high = log10_range
    ax.quiver(
        p[:, 0],
        p[:, 1],
        direction[:, 0],
        direction[:, 1],
        np.log10(np.maximum(size, 1e-30)),
        cmap="plasma",
        clim=(low, high),
        angles="xy",
        pivot="mid",
        scale=scale,
        width=0.012,
        headwidth=3.5,
        headlength=4.0,
        headaxislength=3.5,
    )
    ax.set_aspect("equal")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_loss_curves(
    ax: Axes,
    losses: Mapping[str, ArrayLike],
    *,
    window: int = 100,
    floors: Mapping[str, float] | None = None,
) -> Axes:
    r"""Training losses (moving averages over ``window`` steps) and, optionally, the loss of the
    exact predictor as a horizontal line.

    Args:
        ax: where to draw.
        losses: legend label -> ``(steps,)`` losses.
        window: length of the moving average.
        floors: legend label -> the smallest achievable loss.
    """
    colors = (COLORS["model"], COLORS["reference"])
    for (label, values), color in zip(losses.items(), colors, strict=False):
        v = as_array(values)
        smooth = np.convolve(v, np.ones(window) / window, mode="valid")
        steps = np.arange(window, len(v) + 1)
        ax.plot(np.arange(1, len(v) + 1), v, color=color, alpha=0.15, linewidth=0.5)
        ax.plot(steps, smooth, color=color, label=f"{label} (mean of {window} steps)")
    for label, value in (floors or {}).items():
        ax.axhline(value, color=COLORS["oracle"], linestyle="--", label=label)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel(r"$\mathcal{L}_{\mathrm{simple}}$ of the batch")
    ax.legend()
    return ax


def plot_quality_vs_steps(
    ax: Axes,
    T_values: ArrayLike,
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    baseline: float,
    *,
    ylabel: str,
    floor: float | None = None,
    threshold: float | None = None,
) -> Axes:
    """A sample-quality metric against the number of sampling steps, with the data-against-data
    baseline as a line.

    Args:
        ax: where to draw.
        T_values: ``(N,)`` numbers of steps.
        curves: sampler name -> (``(N,)`` means, ``(N,)`` standard deviations over repeats).
        baseline: the mean data-against-data value.
        ylabel: the metric's name.
        floor: the expected value for a perfect model, drawn as a line.
        threshold: the largest value accepted in the book's check, drawn as a line.
    """
    T = as_array(T_values)
    for label, (mean, std) in curves.items():
        color = SAMPLER_COLORS.get(label, COLORS["climatology"])
        ax.errorbar(
            T, as_array(mean), yerr=as_array(std), fmt="o-", color=color, capsize=3, label=label
        )
    ax.axhline(baseline, color=COLORS["data"], linestyle=":", label="data vs data")
    if floor is not None:
        ax.axhline(floor, color=COLORS["data"], linestyle="-", linewidth=0.8, label="perfect model")
    if threshold is not None:
        ax.axhline(threshold, color=COLORS["reference"], linestyle="--", label="accepted up to")
    ax.set_xscale("log")
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 6)  # room above the curves for the legend
    ax.set_xlabel("number of sampling steps $T$")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
