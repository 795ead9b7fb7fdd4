"""Figures of chapter 12, "A diffusion forecaster": preconditioning, the one-step law, paths.

The numbers come from :func:`lecture_code.benchmark.diffusion_study.diffusion_study` (the study
the chapter's checks read, computed once per process) and draws from
:func:`lecture_code.benchmark.diffusion_study.track_diffusion`; the drawing is
:mod:`lecture_code.plots.diffusion` and :mod:`lecture_code.plots.baselines`.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from lecture_code.benchmark.diffusion_study import diffusion_study, track_diffusion
from lecture_code.figures import register
from lecture_code.forecasting.forecasters import rollout
from lecture_code.forecasting.preconditioning import preconditioning
from lecture_code.plots import baselines as law_plots
from lecture_code.plots import diffusion as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part3/12_diffusion_forecaster"
TRACKS = ("gaussian", "bursty")
#: Draws of each forecaster at the one-step-law figure's state and site.
LAW_DRAWS = 6_000
#: The test state and site of the one-step-law and paths figures.
STATE, SITE = 0, 0
#: Members drawn in the paths figure.
PATH_MEMBERS = 12


@register(
    "ch12_preconditioning",
    chapter=CHAPTER,
    caption="Left: the preconditioning coefficients c_skip, c_out and c_in against the noise "
    "level, for the bursty track's sigma_data. Right: the trained denoiser's loss weighted by "
    "1/c_out^2 at each noise level on test pairs, with two standard errors; 1 is the best "
    "possible loss for a Gaussian law.",
)
def build_preconditioning(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.3, 0.45))
    left, right = fig.subplots(1, 2)
    studies = {track: diffusion_study(track, seed) for track in TRACKS}
    nu = np.logspace(-2.5, 2, 200)
    c = preconditioning(torch.as_tensor(nu), studies["bursty"]["precond"]["sigma_data"])
    plots.plot_coefficients(
        left, nu, {rf"$c_{{\rm {k[2:]}}}$": c[k].numpy() for k in ("c_skip", "c_out", "c_in")}
    )
    left.legend(fontsize="x-small")
    curves = {f"{track} track": studies[track]["loss"] for track in TRACKS}
    plots.plot_loss_by_level(right, curves, [COLORS["oracle"], COLORS["diffusion"]])
    right.legend(fontsize="x-small")
    return fig


def one_step_draws(track: str, seed: int) -> dict[str, np.ndarray]:
    """(LAW_DRAWS,) one-step draws at site SITE of test state STATE: oracle, diffusion and the
    Gaussian network."""
    study = track_diffusion(track)
    u = study.data.u_test[STATE : STATE + 1]
    forecasters = {"oracle": study.oracle, "diffusion": study.diffusion, "gaussian": study.gaussian}
    out = {}
    for name, forecaster in forecasters.items():
        g = generator_for(seed, "ch12", track, "law", name)
        out[name] = forecaster.sample_next(u, LAW_DRAWS, g)[0, :, SITE].numpy()
    return out


@register(
    "ch12_one_step_laws",
    chapter=CHAPTER,
    caption="The one-step law of one site from one test state (log density): the truth's "
    "(filled), the diffusion forecaster and the Gaussian network, 6,000 draws each; left the "
    "Gaussian track, right the bursty one.",
)
def build_one_step_laws(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.4, 0.42))
    draws = {track: one_step_draws(track, seed) for track in TRACKS}
    law_plots.plot_one_step_law_panels(fig.subplots(1, 2), draws)
    return fig


@register(
    "ch12_paths",
    chapter=CHAPTER,
    caption="Paths of one site of the bursty track from one test state: 12 members of the "
    "oracle (left) and of the diffusion forecaster (middle) beside one truth path (black); "
    "right, the RMS spread of both ensembles at every lead over the test states.",
)
def build_paths(seed: int, style: str) -> Figure:
    study = track_diffusion("bursty")
    profile = study.profile
    u_0 = study.data.u_test[STATE : STATE + 1]
    n_leads = profile.n_leads
    lead = profile.system.dt * profile.system.substeps
    time = lead * np.arange(1, n_leads + 1)
    truth = rollout(study.oracle, u_0, 1, n_leads, generator_for(seed, "ch12", "paths", "truth"))
    fig = Figure(figsize=figsize(style, 1.5, 0.4))
    axes = fig.subplots(1, 3, sharey=False)
    ensembles = {}
    for ax, (name, f) in zip(
        axes[:2], (("oracle", study.oracle), ("diffusion", study.diffusion)), strict=True
    ):
        g = generator_for(seed, "ch12", "paths", name)
        ens = rollout(f, u_0, PATH_MEMBERS, n_leads, g)[0, :, :, SITE].numpy()
        ensembles[name] = ens
        plots.plot_paths(ax, time, ens, truth[0, :, 0, SITE].numpy(), name)
    low = min(float(e.min()) for e in ensembles.values())
    high = max(float(e.max()) for e in ensembles.values())
    for ax in axes[:2]:
        ax.set_ylim(low - 0.5, high + 0.5)
    axes[0].set_ylabel("state at the site")
    spreads = diffusion_study("bursty", seed)["paths"]
    for name in ("oracle", "diffusion"):
        axes[2].plot(time, spreads[name]["spread"], color=COLORS[name], label=name)
    axes[2].set_xlabel("lead time")
    axes[2].set_ylabel("RMS spread")
    axes[2].legend(fontsize="x-small")
    return fig
