"""Plots of the Lorenz-96 benchmark: scores against lead time, rank histograms, the scorecard.

Each ``plot_*`` function takes numbers (as they are stored in ``results.json``) and a matplotlib
``Axes``, draws on it and returns it; :func:`write_figures` wires them into the benchmark's
figures. Colours follow :data:`lecture_code.plots.style.COLORS`, one per forecaster everywhere.

Book: chapter 13, "The benchmark".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from lecture_code.plots.style import COLORS, figsize, use_style

__all__ = [
    "LABELS",
    "plot_crps",
    "plot_crps_ratio",
    "plot_rank_histogram",
    "plot_scorecard",
    "plot_spread_skill",
    "write_figures",
]

#: Display names of the forecasters.
LABELS = {
    "oracle": "oracle",
    "climatology": "climatology",
    "deterministic": "deterministic (MSE)",
    "mc_dropout": "MC dropout",
    "gaussian": "Gaussian NLL",
    "deep_ensemble": "deep ensemble",
    "diffusion": "diffusion",
    "diffusion_reference": "diffusion, 1000-step EM",
}
_COLOR_KEYS = {"deep_ensemble": "ensemble", "diffusion_reference": "diffusion"}


def _color(name: str) -> str:
    return COLORS.get(_COLOR_KEYS.get(name, name), "#333333")


def _style(name: str) -> dict[str, Any]:
    dashed = name in ("climatology", "deterministic", "diffusion_reference")
    return {
        "color": _color(name),
        "label": LABELS.get(name, name),
        "linestyle": "--" if dashed else "-",
        "marker": "o" if name == "diffusion_reference" else None,
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
        ax.plot(lead_time[: len(values)], values, **_style(name))
        if crps_ci is not None and name in crps_ci:
            ci = np.asarray(crps_ci[name])
            ax.fill_between(
                lead_time[: len(ci)], ci[:, 0], ci[:, 1], color=_color(name), alpha=0.2, lw=0
            )
    ax.set_yscale("log")
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel("fair CRPS")
    return ax


def plot_crps_ratio(
    ax: Axes,
    lead_time: Sequence[float],
    ratio: Mapping[str, Sequence[float]],
    target: float | None = 1.10,
) -> Axes:
    """CRPS divided by the oracle's against lead time; 1 is the best possible.

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        ratio: name -> (L,) CRPS / oracle CRPS.
        target: draw this level as a dotted line (the benchmark's target), or ``None``.
    """
    for name, values in ratio.items():
        ax.plot(lead_time[: len(values)], values, **_style(name))
    ax.axhline(1.0, color=_color("oracle"), lw=1)
    if target is not None:
        ax.axhline(target, color="k", lw=0.8, ls=":", label=f"target {target:g}")
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel("CRPS / oracle CRPS")
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
    ax.axhspan(0.9, 1.1, color=_color("oracle"), alpha=0.12, lw=0, label="[0.9, 1.1]")
    ax.axhline(1.0, color=_color("oracle"), lw=1)
    for name, values in ssr.items():
        ax.plot(lead_time[: len(values)], values, **_style(name))
    ax.set_xlabel("lead time τ (time units)")
    ax.set_ylabel("spread–skill ratio")
    return ax


def plot_rank_histogram(ax: Axes, counts: Sequence[int], color: str, title: str) -> Axes:
    """A rank histogram as relative frequency times the number of bins (1 is flat).

    Args:
        ax: where to draw.
        counts: (M + 1,) counts of the observation's rank.
        color: bar colour.
        title: the panel's title.
    """
    counts = np.asarray(counts, dtype=float)
    bins = len(counts)
    ax.bar(np.arange(bins), counts / counts.sum() * bins, width=0.85, color=color)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_title(title, fontsize="small")
    ax.set_xticks([0, bins - 1])
    return ax


def plot_scorecard(
    ax: Axes,
    lead_time: Sequence[float],
    scorecard: Mapping[str, Sequence[Mapping[str, Any]]],
    limit: float = 20.0,
) -> Axes:
    """The scorecard: relative CRPS difference of the diffusion model against each baseline,
    lead by lead, in percent; blue where the diffusion model is better, red where it is worse,
    saturated beyond ``limit`` percent. A dot marks a difference whose 95% paired-bootstrap
    interval excludes zero.

    Args:
        ax: where to draw.
        lead_time: (L,) lead times.
        scorecard: baseline -> (L,) rows with ``relative`` and ``verdict``.
        limit: the colour scale's range, ± percent.
    """
    names = list(scorecard)
    values = np.array([[100 * row["relative"] for row in scorecard[n]] for n in names])
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", norm=norm, interpolation="nearest")
    for i, name in enumerate(names):
        for j, row in enumerate(scorecard[name]):
            if row["verdict"] != "tie":
                ax.plot(j, i, "k.", markersize=2.5)
    ticks = [j for j, tau in enumerate(lead_time) if abs(tau / 0.25 - round(tau / 0.25)) < 1e-6]
    ticks = ticks or list(range(len(lead_time)))
    ax.set_xticks(ticks, [f"{lead_time[j]:g}" for j in ticks])
    ax.set_yticks(range(len(names)), [LABELS.get(n, n) for n in names])
    ax.set_xlabel("lead time τ (time units)")
    ax.grid(False)
    cbar = ax.figure.colorbar(image, ax=ax, shrink=0.9, extend="both")
    cbar.set_label("CRPS change vs baseline (%)")
    return ax


def write_figures(results: Mapping[str, Any], out: str | Path, style: str = "book") -> list[Path]:
    """Draw the benchmark's figures from ``results`` into ``out`` as PNG files.

    Returns:
        The paths written: ``crps.png``, ``spread_skill.png``, ``rank_histograms.png``,
        ``scorecard.png``.
    """
    out = Path(out)
    lead_time = results["lead_time"]
    models = results["models"]
    paths = []
    with use_style(style):
        fig = Figure(figsize=figsize(style, 1.4, 0.45))
        left, right = fig.subplots(1, 2)
        plot_crps(
            left,
            lead_time,
            {n: m["crps"] for n, m in models.items()},
            {n: m["crps_ci"] for n, m in models.items()},
        )
        shown = {n: m["crps_ratio"] for n, m in models.items() if n != "climatology"}
        plot_crps_ratio(right, lead_time, shown)
        right.set_ylim(0.95, min(2.0, max(1.3, max(max(v) for v in shown.values()) + 0.05)))
        left.legend(fontsize="x-small", ncols=2)
        paths.append(out / "crps.png")
        fig.savefig(paths[-1])

        fig = Figure(figsize=figsize(style, 1.0, 0.6))
        ax = fig.subplots()
        plot_spread_skill(
            ax,
            lead_time,
            {n: m["ssr"] for n, m in models.items() if n not in ("deterministic", "climatology")},
        )
        ax.legend(fontsize="x-small", ncols=2)
        paths.append(out / "spread_skill.png")
        fig.savefig(paths[-1])

        names = [
            n
            for n in ("oracle", "mc_dropout", "gaussian", "deep_ensemble", "diffusion")
            if n in models
        ]
        leads = list(models["oracle"]["rank_histogram"])
        fig = Figure(figsize=figsize(style, 1.4, 0.18 * len(leads) + 0.12))
        axes = np.atleast_2d(fig.subplots(len(leads), len(names), sharey="row", squeeze=False))
        for i, lead in enumerate(leads):
            for j, name in enumerate(names):
                tau = lead_time[int(lead) - 1]
                title = f"{LABELS.get(name, name)}, τ = {tau:g}"
                plot_rank_histogram(
                    axes[i, j], models[name]["rank_histogram"][lead], _color(name), title
                )
        paths.append(out / "rank_histograms.png")
        fig.savefig(paths[-1])

        fig = Figure(figsize=figsize(style, 1.4, 0.4))
        plot_scorecard(fig.subplots(), lead_time, results["scorecard"])
        paths.append(out / "scorecard.png")
        fig.savefig(paths[-1])
    return paths
