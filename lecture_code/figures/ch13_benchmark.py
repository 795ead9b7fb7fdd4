"""Figures of chapter 13, "The benchmark", drawn from a benchmark results file.

The benchmark (``python -m lecture_code.benchmark``) computes; these builders only read its
``results.json`` (:func:`lecture_code.benchmark.results.load_results`: the committed
``results/results.json`` of the book profile, every track) and hand the numbers to
:mod:`lecture_code.plots.benchmark` and :func:`lecture_code.plots.scoring.plot_rank_histogram`.
Each figure has one panel (or one row of panels) per track. A missing, malformed or stale
results file, or one made with another seed than the figure's, is an error that names the file
and the command that regenerates it.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lecture_code.benchmark.results import RESULTS_FILE, load_results
from lecture_code.benchmark.run import CHALLENGER
from lecture_code.figures import register
from lecture_code.plots import benchmark as plots
from lecture_code.plots.scoring import plot_rank_histogram
from lecture_code.plots.style import figsize, look

CHAPTER = "book/part3/13_benchmark"
#: The forecasters whose rank histograms are shown (a deterministic forecast has no ranks).
RANKED = ("oracle", "mc_dropout", "gaussian", "deep_ensemble", "diffusion")
#: Forecasters left out of the spread-skill figure (no spread, or no forecast skill).
_NO_SPREAD = ("deterministic", "climatology")
_SOURCE = "From results/results.json (book profile, seed 0)."


def results_for(seed: int) -> dict[str, Any]:
    """The book's results file, checked to be well formed, fresh and made with ``seed``."""
    results = load_results(RESULTS_FILE)
    made_with = results["config"]["seed"]
    if made_with != seed:
        raise ValueError(
            f"{RESULTS_FILE} holds the benchmark with seed {made_with}, not seed {seed}; make "
            f"it with: python -m lecture_code.benchmark --profile book --track all --seed "
            f"{seed} --out {RESULTS_FILE.parent}"
        )
    return results


@register(
    "ch13_crps",
    chapter=CHAPTER,
    caption="Fair CRPS of every forecaster divided by the oracle's, the best possible, against "
    "lead time; left the Gaussian control, right the bursty truth; the dotted line is the "
    "protocol's bound on the diffusion model (its target crps_ratio). " + _SOURCE,
)
def build_crps(seed: int, style: str) -> Figure:
    results = results_for(seed)
    tracks = results["tracks"]
    # the bound each track's target judged, as the run recorded it
    bound = {
        t["track"]: t["threshold"] for t in results["targets"] if t["id"].endswith("crps_ratio")
    }
    fig = Figure(figsize=figsize(style, 1.4, 0.45))
    axes = np.atleast_1d(fig.subplots(1, len(tracks), sharey=True, squeeze=False)[0])
    for ax, (track, entry) in zip(axes, tracks.items(), strict=True):
        shown = {n: m["crps_ratio"] for n, m in entry["models"].items() if n != "climatology"}
        plots.plot_crps_ratio(ax, entry["lead_time"], shown, bound.get(track))
        ax.set_title(f"{track} track", fontsize="small")
        top = max(max(v) for v in shown.values())
        ax.set_ylim(0.95, min(2.0, max(1.3, top + 0.05)))
    axes[0].legend(fontsize="x-small", ncols=2)
    return fig


#: The scores of :func:`build_scores`, with their names on the axes.
_SCORES = {"rmse": "RMSE", "quantile_01": "QS 1 %", "quantile_99": "QS 99 %", "variogram": "VS"}


@register(
    "ch13_scores",
    chapter=CHAPTER,
    caption="The other scores of every forecaster divided by the oracle's against lead time: "
    "the RMSE of the ensemble mean, the quantile scores at 1 % and 99 %, and the variogram "
    "score; top the Gaussian control, bottom the bursty truth. " + _SOURCE,
)
def build_scores(seed: int, style: str) -> Figure:
    results = results_for(seed)
    tracks = results["tracks"]
    fig = Figure(figsize=figsize(style, 1.5, 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(tracks), len(_SCORES), squeeze=False))
    for row, (track, entry) in zip(axes, tracks.items(), strict=True):
        models = entry["models"]
        for ax, (score, label) in zip(row, _SCORES.items(), strict=True):
            oracle = np.asarray(models["oracle"][score], dtype=float)
            shown = {
                n: np.asarray(m[score], dtype=float) / oracle
                for n, m in models.items()
                if n not in ("climatology", "oracle") and m.get(score) is not None
            }
            plots.plot_crps_ratio(ax, entry["lead_time"], shown, score=label)
            ax.set_title(f"{track}: {label}", fontsize="small")
            ax.set_ylim(0.6, 1.6)
    for ax in axes.flat:  # the titles name the scores; one label per row and column is enough
        ax.set_ylabel("score / oracle's" if ax in axes[:, 0] else "")
        ax.set_xlabel("lead time τ" if ax in axes[-1] else "")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize="x-small")
    return fig


@register(
    "ch13_spread_skill",
    chapter=CHAPTER,
    caption="Spread-skill ratio (with the sqrt((M+1)/M) correction) of every probabilistic "
    "forecaster against lead time; the oracle's own ratio is the target, not 1, on a finite "
    "sample. Left the Gaussian control, right the bursty truth. " + _SOURCE,
)
def build_spread_skill(seed: int, style: str) -> Figure:
    results = results_for(seed)
    tracks = results["tracks"]
    fig = Figure(figsize=figsize(style, 1.4, 0.45))
    axes = np.atleast_1d(fig.subplots(1, len(tracks), sharey=True, squeeze=False)[0])
    for ax, (track, entry) in zip(axes, tracks.items(), strict=True):
        shown = {n: m["ssr"] for n, m in entry["models"].items() if n not in _NO_SPREAD}
        plots.plot_spread_skill(ax, entry["lead_time"], shown)
        ax.set_title(f"{track} track", fontsize="small")
    axes[0].legend(fontsize="x-small", ncols=2)
    return fig


@register(
    "ch13_rank_histograms",
    chapter=CHAPTER,
    caption="Rank histograms of the truth among the members on the bursty track, by forecaster "
    "(columns) and lead time (rows): relative frequency, the flat line of a calibrated ensemble "
    "and its band of two binomial standard deviations. " + _SOURCE,
)
def build_rank_histograms(seed: int, style: str) -> Figure:
    results = results_for(seed)
    entry = results["tracks"].get("bursty") or next(iter(results["tracks"].values()))
    lead_time, models = entry["lead_time"], entry["models"]
    names = [n for n in RANKED if n in models]
    leads = list(models["oracle"]["rank_histogram"])
    fig = Figure(figsize=figsize(style, 1.4, 0.18 * len(leads) + 0.12))
    axes = np.atleast_2d(fig.subplots(len(leads), len(names), sharey="row", squeeze=False))
    for i, lead in enumerate(leads):
        for j, name in enumerate(names):
            ax = axes[i, j]
            title = f"{look(name).label}, τ = {lead_time[int(lead) - 1]:g}"
            counts = models[name]["rank_histogram"][lead]
            plot_rank_histogram(ax, counts, title=title, color=look(name).color)
            ax.title.set_fontsize("small")
            ax.set_xticks([0, len(counts) - 1])
            ax.set_xlabel("rank" if i == len(leads) - 1 else "")
            ax.set_ylabel("frequency" if j == 0 else "")
    return fig


@register(
    "ch13_scorecard",
    chapter=CHAPTER,
    caption="Scorecard on the bursty track: the relative CRPS difference of the diffusion model "
    "against each baseline, lead by lead (blue: diffusion better, red: worse); a dot marks a "
    "difference that is significant after the Holm correction over the whole card. " + _SOURCE,
)
def build_scorecard(seed: int, style: str) -> Figure:
    results = results_for(seed)
    entry = results["tracks"].get("bursty") or next(iter(results["tracks"].values()))
    fig = Figure(figsize=figsize(style, 1.4, 0.45), layout="constrained")
    card = entry["scorecard"]["cards"]["crps"]
    plots.plot_scorecard(fig.subplots(), entry["lead_time"], card, CHALLENGER)
    return fig
