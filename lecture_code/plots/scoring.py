"""Plotting functions for chapter 10, "Scoring probabilistic forecasts".

Each function takes data (tensors or arrays already computed by
:mod:`lecture_code.forecasting.metrics` and :mod:`lecture_code.forecasting.calibration`) and a
``matplotlib`` ``Axes``, draws on it and returns it; none computes a score. The figure
builders in :mod:`lecture_code.figures.ch10_scoring` wire the two together.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = [
    "plot_brier_integrand",
    "plot_cdf_and_step",
    "plot_estimator_bias",
    "plot_expected_score",
    "plot_members",
    "plot_rank_histogram",
    "plot_sensitivity",
    "plot_spread_error",
    "plot_ssr_against_members",
]


def _log_axis_at(ax: Axes, M: ArrayLike) -> None:
    """A logarithmic x axis labelled at the ensemble sizes themselves."""
    ax.set_xscale("log")
    ax.set_xticks(as_array(M), [f"{m:g}" for m in as_array(M)])
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_cdf_and_step(ax: Axes, z: ArrayLike, cdf: ArrayLike, y: float, *, label: str) -> Axes:
    """Forecast CDF ``P(z)`` and the observation's step ``1{y <= z}``, the gap between shaded.

    Args:
        ax: where to draw.
        z: ``(Z,)`` grid.
        cdf: ``(Z,)`` values of the forecast CDF on the grid.
        y: the observation.
        label: legend entry of the forecast CDF.
    """
    z, cdf = as_array(z), as_array(cdf)
    step = (z >= y).astype(float)
    ax.fill_between(z, cdf, step, color=COLORS["model"], alpha=0.2, linewidth=0)
    ax.plot(z, cdf, color=COLORS["model"], label=label)
    ax.plot(z, step, color=COLORS["data"], label=r"step $\mathbf{1}\{y \leq z\}$")
    ax.axvline(y, color=COLORS["data"], linestyle=":", linewidth=1)
    ax.set_xlabel("threshold $z$")
    ax.set_ylabel("probability of $\\{Y \\leq z\\}$")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_brier_integrand(ax: Axes, z: ArrayLike, integrand: ArrayLike, crps: float) -> Axes:
    """The Brier score at each threshold, ``(P(z) - 1{y <= z})^2``; its area is the CRPS.

    Args:
        ax: where to draw.
        z: ``(Z,)`` grid.
        integrand: ``(Z,)`` values of the squared difference.
        crps: the area, written in the legend.
    """
    z, integrand = as_array(z), as_array(integrand)
    ax.fill_between(
        z, 0.0, integrand, color=COLORS["reference"], alpha=0.35, linewidth=0, step=None
    )
    ax.plot(z, integrand, color=COLORS["reference"], label=f"area = CRPS = {crps:.3f}")
    ax.set_xlabel("threshold $z$")
    ax.set_ylabel(r"$(P(z) - \mathbf{1}\{y \leq z\})^2$")
    ax.set_ylim(-0.03, 1.05)
    ax.legend(loc="upper left")
    return ax


def plot_estimator_bias(
    ax: Axes,
    M: ArrayLike,
    bias: Mapping[str, tuple[ArrayLike, ArrayLike]],
    theory: tuple[ArrayLike, ArrayLike],
) -> Axes:
    """Mean score minus the exact CRPS against ensemble size, with 2-standard-error bars.

    Args:
        ax: where to draw.
        M: ``(n_M,)`` ensemble sizes.
        bias: estimator name -> (mean bias ``(n_M,)``, standard error ``(n_M,)``).
        theory: (fine grid of ``M``, predicted bias of the standard estimator on it).
    """
    colors = [COLORS["mc_dropout"], COLORS["model"]]
    markers = ["o", "s"]
    for (name, (mean, se)), color, marker in zip(bias.items(), colors, markers, strict=False):
        ax.errorbar(
            as_array(M), as_array(mean), yerr=2 * as_array(se), color=color, marker=marker,
            linestyle="none", capsize=3, label=name,
        )  # fmt: skip
    ax.plot(as_array(theory[0]), as_array(theory[1]), color=COLORS["mc_dropout"], linestyle="--",
            label=r"theory $\mathbb{E}|X - X'| / (2M)$")  # fmt: skip
    ax.axhline(0.0, color=COLORS["data"], linewidth=0.8)
    _log_axis_at(ax, M)
    ax.set_xlabel("ensemble size $M$")
    ax.set_ylabel("mean score $-$ exact CRPS")
    ax.legend()
    return ax


def plot_expected_score(
    ax: Axes,
    x: ArrayLike,
    curves: Mapping[str, ArrayLike],
    truth: float,
    *,
    xlabel: str,
    points: tuple[ArrayLike, ArrayLike] | None = None,
) -> Axes:
    """Expected scores against one forecast parameter, the true value marked.

    Args:
        ax: where to draw.
        x: ``(n,)`` values of the parameter (forecast mean or standard deviation).
        curves: label -> ``(n,)`` expected scores; the first is drawn solid, the rest dashed.
        truth: the parameter of the true distribution (vertical line).
        xlabel: axis label.
        points: optional Monte Carlo estimates (x values, scores) drawn as dots.
    """
    x = as_array(x)
    styles = ["-", "--", ":"]
    for (label, values), style in zip(curves.items(), styles, strict=False):
        values = as_array(values)
        line = ax.plot(x, values, linestyle=style, label=label)[0]
        best = int(np.argmin(values))
        ax.plot(x[best], values[best], marker="v", color=line.get_color())
    if points is not None:
        ax.plot(as_array(points[0]), as_array(points[1]), "o", color=COLORS["data"], markersize=3,
                label="Monte Carlo")  # fmt: skip
    ax.axvline(truth, color=COLORS["oracle"], linestyle=":", label="truth")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("expected score")
    # A filled frame keeps the curves and the truth line from running through the text.
    ax.legend(fontsize="small", loc="upper center", frameon=True, framealpha=0.9)
    return ax


def plot_rank_histogram(
    ax: Axes,
    counts: ArrayLike,
    *,
    title: str,
    color: str = COLORS["ensemble"],
    band: float = 2.0,
) -> Axes:
    """Rank histogram as relative frequencies, with the flat line ``1 / (M + 1)`` and its
    binomial band: the one rank-histogram plot of the book (chapters 10 and 13).

    The band shows how far a bin of a calibrated ensemble strays by chance alone
    (``n`` independent ranks give a bin frequency with standard deviation
    ``sqrt(p (1 - p) / n)``, ``p = 1 / (M + 1)``), so a shape is read against the noise.

    Args:
        ax: where to draw.
        counts: ``(M + 1,)`` counts of the observation's rank.
        title: panel title.
        color: bar colour (a forecaster's colour, :func:`lecture_code.plots.style.look`).
        band: half-width of the shaded band around the flat line, in binomial standard
            deviations of one bin's frequency.
    """
    counts = as_array(counts)
    n, bins = counts.sum(), len(counts)
    p = 1.0 / bins
    half = band * np.sqrt(p * (1 - p) / n)
    ax.bar(np.arange(bins), counts / n, width=0.85, color=color)
    ax.axhspan(p - half, p + half, color=COLORS["data"], alpha=0.12, linewidth=0)
    ax.axhline(p, color=COLORS["data"], linewidth=1)
    ax.set_title(title)
    ax.set_xlabel("rank of $y$ among the members")
    ax.set_ylabel("relative frequency")
    return ax


def plot_ssr_against_members(
    ax: Axes, M: ArrayLike, ratios: Mapping[str, ArrayLike], theory: tuple[ArrayLike, ArrayLike]
) -> Axes:
    """Spread–skill ratio of calibrated ensembles against ``M``, with and without correction.

    Args:
        ax: where to draw.
        M: ``(n_M,)`` ensemble sizes.
        ratios: label -> ``(n_M,)`` measured ratios.
        theory: (fine grid of ``M``, ``sqrt(M / (M + 1))``), the uncorrected ratio's limit.
    """
    markers = ["o", "s"]
    colors = [COLORS["mc_dropout"], COLORS["model"]]
    for (label, values), marker, color in zip(ratios.items(), markers, colors, strict=False):
        ax.plot(
            as_array(M), as_array(values), marker=marker, linestyle="none", color=color, label=label
        )
    ax.plot(as_array(theory[0]), as_array(theory[1]), linestyle="--", color=COLORS["mc_dropout"],
            label=r"$\sqrt{M / (M + 1)}$")  # fmt: skip
    ax.axhline(1.0, color=COLORS["data"], linewidth=0.8)
    _log_axis_at(ax, M)
    ax.set_xlabel("ensemble size $M$")
    ax.set_ylabel("spread / RMSE of the mean")
    ax.legend(fontsize="small")
    return ax


def plot_spread_error(ax: Axes, curves: Mapping[str, tuple[ArrayLike, ArrayLike]]) -> Axes:
    """Binned RMSE of the ensemble mean against binned corrected spread; calibrated lies on y = x.

    Args:
        ax: where to draw.
        curves: label -> (spread ``(n_bins,)``, RMSE ``(n_bins,)``).
    """
    top = 0.0
    for label, (spread, rmse) in curves.items():
        spread, rmse = as_array(spread), as_array(rmse)
        ax.plot(spread, rmse, marker="o", markersize=3, label=label)
        top = max(top, spread.max(), rmse.max())
    ax.plot([0, top], [0, top], color=COLORS["data"], linewidth=0.8, linestyle=":",
            label="spread = error")  # fmt: skip
    ax.set_xlabel(r"corrected spread $\sqrt{(M+1)/M}\,s$ (bin mean)")
    ax.set_ylabel("RMSE of the ensemble mean (bin)")
    ax.legend(fontsize="small")
    return ax


def plot_members(ax: Axes, members: ArrayLike) -> Axes:
    """Ensemble members as ticks on the horizontal axis.

    Args:
        ax: where to draw.
        members: ``(M,)`` member values.
    """
    members = as_array(members)
    ax.plot(members, np.zeros_like(members), "|", color=COLORS["model"], markersize=12,
            markeredgewidth=2, label="members")  # fmt: skip
    return ax


def plot_sensitivity(ax: Axes, s: ArrayLike, curves: Mapping[str, ArrayLike]) -> Axes:
    r"""Standardised excess expected score of each curve against the spread factor ``s``
    (:math:`\kappa` in the book).

    Args:
        ax: the axes.
        s: ``(S,)`` spread factors of the forecast.
        curves: label -> ``(S,)`` excess expected score over the optimum, in units of the
            per-case standard deviation of the optimal forecast's score.
    """
    s = as_array(s)
    styles = ("-", "--", ":", "-.")
    colors = ("model", "reference", "oracle", "deterministic")
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(
            s,
            as_array(values),
            styles[i % len(styles)],
            color=COLORS[colors[i % len(colors)]],
            label=label,
        )
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel(r"spread factor $\kappa$ of the forecast $\mathcal{N}(0, \kappa^2)$")
    ax.set_ylabel(r"standardised excess $\Lambda_S$")
    ax.legend(frameon=False)
    return ax
