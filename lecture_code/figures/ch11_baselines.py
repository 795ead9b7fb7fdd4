"""Figures of chapter 11, "Uncertainty baselines": the baselines on one step against the oracle.

The numbers come from :func:`lecture_code.benchmark.baseline_study.one_step_study` (the same
study the chapter's checks read, computed once per process) and the draws of one state from
:func:`lecture_code.benchmark.baseline_study.track_baselines`; the drawing is
:mod:`lecture_code.plots.baselines`.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from lecture_code.benchmark.baseline_study import BASELINE_NAMES, one_step_study, track_baselines
from lecture_code.figures import register
from lecture_code.plots import baselines as plots
from lecture_code.plots.style import figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part3/11_baselines"
TRACKS = ("gaussian", "bursty")
#: Forecasters of the one-step-law figure, and the draws of each at the chosen state.
LAW_NAMES = ("oracle", "physics_gaussian", "mc_dropout", "gaussian")
LAW_DRAWS = 20_000
#: The test state and site of the one-step-law figure.
LAW_STATE, LAW_SITE = 0, 0
#: Forecasters whose variance is split (mixtures and the Gaussian network).
SPLIT_NAMES = ("mc_dropout", "mc_dropout_het", "gaussian", "deep_ensemble")


def one_step_draws(track: str, seed: int) -> dict[str, np.ndarray]:
    """(LAW_DRAWS,) one-step draws at site LAW_SITE of test state LAW_STATE, per forecaster."""
    baselines = track_baselines(track)
    u = baselines.data.u_test[LAW_STATE : LAW_STATE + 1]
    forecasters = {"oracle": baselines.oracle, **baselines.forecasters}
    out = {}
    for name in LAW_NAMES:
        g = generator_for(seed, "ch11", track, "law", name)
        out[name] = forecasters[name].sample_next(u, LAW_DRAWS, g)[0, :, LAW_SITE].numpy()
    return out


@register(
    "ch11_one_step_laws",
    chapter=CHAPTER,
    caption="The one-step law of one site from one test state (log density): the truth's "
    "(filled), the control physics + Gaussian, MC dropout and the Gaussian network, "
    "20,000 draws each; left the Gaussian track, right the bursty one.",
)
def build_one_step_laws(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.4, 0.42))
    draws = {track: one_step_draws(track, seed) for track in TRACKS}
    plots.plot_one_step_law_panels(fig.subplots(1, 2), draws)
    return fig


@register(
    "ch11_diagnostics",
    chapter=CHAPTER,
    caption="One step against the oracle, on the test states of both tracks (plain: Gaussian, "
    "hatched: bursty): the spread over the truth's exact spread, and the fair CRPS and the fair "
    "upper-tail CRPS over the oracle's, with 95 % bootstrap intervals over states.",
)
def build_diagnostics(seed: int, style: str) -> Figure:
    studies = {track: one_step_study(track, seed) for track in TRACKS}
    fig = Figure(figsize=figsize(style, 1.4, 0.45))
    axes = fig.subplots(1, 3)
    panels = (
        ("spread ratio", lambda r: [r["spread_ratio"]] * 3),
        ("CRPS / oracle", lambda r: r["crps_ratio"]),
        ("upper-tail CRPS / oracle", lambda r: r["tail_99_ratio"]),
    )
    for ax, (title, read) in zip(axes, panels, strict=True):
        names = [
            n for n in BASELINE_NAMES if not (title == "spread ratio" and n == "deterministic")
        ]
        values = {t: [read(s["reports"][n]) for n in names] for t, s in studies.items()}
        plots.plot_bar_ratios(ax, names, values)
        ax.set_title(title, fontsize="small")
    axes[0].legend(fontsize="x-small")
    for ax in axes[1:]:
        ax.set_ylim(bottom=0.9)
    return fig


@register(
    "ch11_variance_split",
    chapter=CHAPTER,
    caption="The one-step variance of each learned forecaster split by the law of total "
    "variance: aleatoric, the mean of the variances its passes predict, and epistemic, the "
    "variance of their means (hatched); the line is the truth's exact one-step variance.",
)
def build_variance_split(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.3, 0.45))
    axes = fig.subplots(1, 2)
    for ax, track in zip(axes, TRACKS, strict=True):
        study = one_step_study(track, seed)
        exact = study["reports"]["gaussian"]["oracle_spread"] ** 2
        plots.plot_variance_split(ax, SPLIT_NAMES, study["variance"], exact)
        ax.set_title(f"{track} track", fontsize="small")
        ax.set_ylim(
            0, 1.45 * max(v["total"] for n, v in study["variance"].items() if n != "oracle")
        )
    axes[0].legend(fontsize="x-small", loc="upper right")
    return fig
