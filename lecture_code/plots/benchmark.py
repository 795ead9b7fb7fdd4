"""Plots of the Lorenz-96 benchmark: scores against lead time and the scorecard.

Each ``plot_*`` function takes numbers (as they are stored in ``results.json``) and a matplotlib
``Axes``, draws on it and returns it. Every forecaster is drawn with its own label, colour and
line from :data:`lecture_code.plots.style.FORECASTERS`, the same in every figure; rank
histograms are drawn by :func:`lecture_code.plots.scoring.plot_rank_histogram`, the one of
chapter 10. The figure builders of :mod:`lecture_code.figures.ch13_benchmark` wire them to a
results file.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm

from lecture_code.plots.style import look

__all__ = ["line_style", "plot_crps", "plot_crps_ratio", "plot_scorecard", "plot_spread_skill"]


def line_style(name: str) -> dict[str, Any]:
    """Keyword arguments of ``Axes.plot`` for forecaster ``name``: colour, label, line, marker."""
    entry = look(name)
    return {
        "color": entry.color,
        "label": entry.label,
        "linestyle": entry.linestyle,
        "marker": entry.marker,
        "markersize": 3,
    }


def plot_crps(
    ax: Axes,
    lead_time: Sequence[float],
    crps: Mapping[str, Sequence[float]],
    crps_ci: Mapping[str, Sequence[Sequence[float]]] | None = None,
) -> Axes:
    """Fair CRPS against lead time, one line per forecaster, with shaded intervals.

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        crps: name -> (L,) mean fair CRPS.
        crps_ci: name -> (L, 2) bootstrap intervals (optional).
    """
    for name, values in crps.items():
        ax.plot(lead_time[: len(values)], values, **line_style(name))
        if crps_ci is not None and name in crps_ci:
            ci = np.asarray(crps_ci[name])
            ax.fill_between(
                lead_time[: len(ci)], ci[:, 0], ci[:, 1], color=look(name).color, alpha=0.2, lw=0
            )
    ax.set_yscale("log")
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel("fair CRPS")
    return ax


def plot_crps_ratio(
    ax: Axes,
    lead_time: Sequence[float],
    ratio: Mapping[str, Sequence[float]],
    target: float | None = None,
    score: str = "CRPS",
) -> Axes:
    """A score divided by the oracle's against lead time; 1 is the oracle's level (the best
    possible for a proper score of the law, such as the CRPS).

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        ratio: name -> (L,) score / oracle's score.
        target: draw this level as a dotted line (the benchmark's target), or ``None``.
        score: the score's name on the axis.
    """
    for name, values in ratio.items():
        ax.plot(lead_time[: len(values)], values, **line_style(name))
    ax.axhline(1.0, color=look("oracle").color, lw=1)
    if target is not None:
        ax.axhline(target, color="k", lw=0.8, ls=":", label=f"target {target:g}")
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel(f"{score} / oracle {score}")
    return ax


def plot_spread_skill(
    ax: Axes, lead_time: Sequence[float], ssr: Mapping[str, Sequence[float]]
) -> Axes:
    """Spread–skill ratio against lead time, with the band [0.9, 1.1] of the targets.

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        ssr: name -> (L,) spread–skill ratios.
    """
    oracle = look("oracle").color
    ax.axhspan(0.9, 1.1, color=oracle, alpha=0.12, lw=0, label="[0.9, 1.1]")
    ax.axhline(1.0, color=oracle, lw=1)
    for name, values in ssr.items():
        ax.plot(lead_time[: len(values)], values, **line_style(name))
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel("spread–skill ratio")
    return ax


def plot_scorecard(
    ax: Axes,
    lead_time: Sequence[float],
    scorecard: Mapping[str, Sequence[Mapping[str, Any]]],
    challenger: str,
    limit: float = 20.0,
    score: str = "CRPS",
) -> Axes:
    """The scorecard: relative CRPS difference of the challenger against each baseline, lead by
    lead, in percent; blue where the challenger is better, red where it is worse, saturated
    beyond ``limit`` percent. A dot marks a difference that is significant after the card's
    correction for multiple tests (its ``verdict`` is not a tie).

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        scorecard: baseline -> (L,) rows with ``relative`` and ``verdict``.
        challenger: the forecaster on trial (named in the colour bar).
        limit: the colour scale's range, ± percent.
        score: the score's name, for the colour bar.
    """
    names = list(scorecard)
    values = np.array(
        [
            [np.nan if r["relative"] is None else 100 * r["relative"] for r in scorecard[n]]
            for n in names
        ]
    )
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", norm=norm, interpolation="nearest")
    for i, name in enumerate(names):
        for j, row in enumerate(scorecard[name]):
            if row["verdict"] != "tie":
                ax.plot(j, i, "k.", markersize=2.5)
    ticks = [j for j, tau in enumerate(lead_time) if abs(tau / 0.25 - round(tau / 0.25)) < 1e-6]
    ticks = ticks or list(range(len(lead_time)))
    ax.set_xticks(ticks, [f"{lead_time[j]:g}" for j in ticks])
    ax.set_yticks(range(len(names)), [look(n).label for n in names])
    ax.set_xlabel("lead time τ (time units)")
    ax.grid(False)
    cbar = ax.figure.colorbar(image, ax=ax, shrink=0.9, extend="both")
    cbar.set_label(f"{score} change of {look(challenger).label} vs baseline (%)")
    return ax
