"""Plots of chapter 11: one-step laws, one-step diagnostics and the split of the variance.

Each ``plot_*`` function takes numbers and a matplotlib ``Axes``, draws on it and returns it;
forecasters are drawn with their colours and labels of :data:`lecture_code.plots.style.FORECASTERS`.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.style import look

__all__ = [
    "plot_bar_ratios",
    "plot_one_step_law_panels",
    "plot_one_step_laws",
    "plot_variance_split",
]


def plot_one_step_laws(
    ax: Axes, samples: Mapping[str, np.ndarray], bins: np.ndarray, truth: str = "oracle"
) -> Axes:
    """Densities of one-step draws at one site, on a log scale so that the tails show.

    Args:
        ax: where to draw.
        samples: name -> (N,) draws; ``truth`` is drawn as a filled histogram, the rest as steps.
        bins: (n + 1,) bin edges shared by all.
        truth: the name of the exact law.
    """
    for name, x in samples.items():
        density, _ = np.histogram(x, bins=bins, density=True)
        entry = look(name)
        if name == truth:
            ax.stairs(density, bins, fill=True, color=entry.color, alpha=0.35, label=entry.label)
        else:
            ax.stairs(
                density,
                bins,
                color=entry.color,
                linestyle=entry.linestyle,
                label=entry.label,
                linewidth=1.2,
            )
    ax.set_yscale("log")
    ax.set_xlabel("next state at the site")
    ax.set_ylabel("density")
    return ax


def plot_one_step_law_panels(
    axes: Sequence[Axes] | np.ndarray, draws: Mapping[str, Mapping[str, np.ndarray]]
) -> None:
    """One panel of :func:`plot_one_step_laws` per track, on 80 bins that span every
    forecaster's draws from their 0.01 % to their 99.99 % quantile, titled by track; the
    legend in the first panel.

    Args:
        axes: one ``Axes`` per track.
        draws: track -> name -> (N,) one-step draws at one site.
    """
    for ax, (track, samples) in zip(axes, draws.items(), strict=True):
        low = min(float(np.quantile(x, 1e-4)) for x in samples.values())
        high = max(float(np.quantile(x, 1 - 1e-4)) for x in samples.values())
        plot_one_step_laws(ax, samples, np.linspace(low, high, 81))
        ax.set_title(f"{track} track", fontsize="small")
    axes[0].legend(fontsize="x-small")


def plot_bar_ratios(
    ax: Axes,
    names: Sequence[str],
    values: Mapping[str, Sequence[Sequence[float]]],
    reference: float = 1.0,
) -> Axes:
    """Grouped bars of ratios to the oracle with their intervals, one group per forecaster.

    Args:
        ax: where to draw.
        names: forecasters, in order.
        values: group label (a track) -> per forecaster ``[value, low, high]``.
        reference: the ratio of a perfect forecaster (drawn as a line).
    """
    width = 0.8 / max(1, len(values))
    x = np.arange(len(names))
    hatches = ("", "//", "..")
    for j, (group, rows) in enumerate(values.items()):
        v = np.array([r[0] for r in rows])
        err = np.abs(np.array([[r[0] - r[1], r[2] - r[0]] for r in rows]).T)
        colors = [look(n).color for n in names]
        ax.bar(
            x + (j - (len(values) - 1) / 2) * width,
            v,
            width,
            yerr=err,
            color=colors,
            alpha=0.8,
            hatch=hatches[j % len(hatches)],
            edgecolor="black",
            linewidth=0.5,
            label=group,
            capsize=2,
        )
    ax.axhline(reference, color="black", linewidth=0.8, linestyle=":")
    ax.set_xticks(x, [look(n).label for n in names], rotation=30, ha="right", fontsize="small")
    return ax


def plot_variance_split(
    ax: Axes, names: Sequence[str], split: Mapping[str, Mapping[str, float]], exact: float
) -> Axes:
    """Stacked bars of the aleatoric and epistemic parts of each forecaster's one-step variance,
    beside the exact one-step variance of the truth (a line).

    Args:
        ax: where to draw.
        names: forecasters, in order.
        split: name -> ``{"aleatoric", "epistemic"}`` mean variances.
        exact: the truth's mean one-step variance.
    """
    x = np.arange(len(names))
    alea = np.array([split[n]["aleatoric"] for n in names])
    epis = np.array([split[n]["epistemic"] for n in names])
    colors = [look(n).color for n in names]
    ax.bar(
        x,
        alea,
        0.6,
        color=colors,
        alpha=0.9,
        edgecolor="black",
        linewidth=0.5,
        label="aleatoric (mean of the variances)",
    )
    ax.bar(
        x,
        epis,
        0.6,
        bottom=alea,
        color=colors,
        alpha=0.35,
        hatch="//",
        edgecolor="black",
        linewidth=0.5,
        label="epistemic (variance of the means)",
    )
    ax.axhline(exact, color=look("oracle").color, linewidth=1.2, label="truth's one-step variance")
    ax.set_xticks(x, [look(n).label for n in names], rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("one-step variance")
    return ax
