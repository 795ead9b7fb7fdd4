"""Figures of chapter 2, "The forward process".

The builders run the forward chain of :mod:`lecture_code.ddpm.forward` with the schedules of
:mod:`lecture_code.ddpm.schedules` and hand the results to :mod:`lecture_code.plots.forward`.

Book: chapter 2, "The forward process" (:doc:`/book/part1/02_forward_process`).
"""

from __future__ import annotations

from functools import partial

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import forward, schedules, toy_data
from lecture_code.figures import register
from lecture_code.plots import forward as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part1/02_forward_process"

#: Number of steps of the schedules shown (Ho et al.'s T).
T = 1000
#: Steps shown in the swiss-roll and mixture panels.
ROLL_STEPS = (0, 50, 100, 200, 400, 1000)
MIXTURE_STEPS = (0, 100, 250, 500)
#: Points per panel; the panels show [-LIMIT, LIMIT]^2.
N_POINTS = 2_000
LIMIT = 3.2
N_GRID = 160
#: Numbers of steps of the prior-KL figure, and the constant beta of its third schedule.
KL_T_VALUES = (25, 50, 100, 200, 500, 1000, 2000)
CONSTANT_BETA = 0.01


@register(
    "ch02_swiss_roll_forward",
    chapter=CHAPTER,
    caption="The swiss roll dissolving into noise: the forward chain with the linear schedule "
    f"(T = {T}) simulated step by step from {N_POINTS:,} points, shown at {len(ROLL_STEPS)} "
    "steps t.",
)
def build_swiss_roll_forward(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.62))
    axes = fig.subplots(2, 3, sharex=True, sharey=True)
    schedule = schedules.linear_schedule(T)
    x_0 = toy_data.swiss_roll(N_POINTS, generator_for(seed, "ch02", "swiss_roll"))
    kept = forward.forward_chain_at(
        schedule, x_0, list(ROLL_STEPS), generator_for(seed, "ch02", "chain")
    )
    for ax, t, x_t in zip(axes.flat, ROLL_STEPS, kept, strict=True):
        title = rf"$t = {t}$, $\bar\alpha_t = {schedule.alpha_bar[t].item():.2g}$"
        plots.plot_points(ax, x_t, size=2, alpha=0.5, limit=LIMIT, title=title)
    for ax in axes[0]:
        ax.set_xlabel("")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    return fig


@register(
    "ch02_schedules",
    chapter=CHAPTER,
    caption=f"The linear (Ho et al.) and cosine (Nichol and Dhariwal) schedules at T = {T}. "
    "Left: the signal fraction alpha-bar; right: the log signal-to-noise ratio. The linear "
    "schedule reaches almost pure noise long before t = T.",
)
def build_schedules(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.42))
    left, right = fig.subplots(1, 2)
    named = {"linear": schedules.linear_schedule(T), "cosine": schedules.cosine_schedule(T)}
    u = torch.arange(1, T + 1, dtype=torch.float64) / T  # t = 0 has log-SNR = inf
    plots.plot_schedule_curves(
        left, u, {k: s.alpha_bar[1:] for k, s in named.items()}, ylabel=r"$\bar\alpha_t$"
    )
    plots.plot_schedule_curves(
        right,
        u,
        {k: s.log_snr[1:] for k, s in named.items()},
        ylabel=r"$\log \mathrm{SNR}(t)$",
        ylim=(-15, 12),
    )
    right.axhline(0.0, color=COLORS["climatology"], linewidth=0.8)
    return fig


@register(
    "ch02_prior_kl",
    chapter=CHAPTER,
    caption="How far the end of the forward process is from the prior N(0, I): the KL "
    f"divergence of eq. (fwd-kl-prior), averaged over {N_POINTS:,} swiss-roll points, against "
    "the number of steps T. With a constant beta it falls exponentially in T. The linear "
    "schedule rescaled with T keeps the sum of the betas fixed, yet its KL grows with T: the "
    "end point is set by the sum of -log(1 - beta_t), which exceeds the sum of the betas most "
    "when T is small and the steps are large. The cosine schedule's KL, left by the cap on its "
    "last step, falls with T.",
)
def build_prior_kl(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.62))
    ax = fig.subplots()
    x_0 = toy_data.swiss_roll(N_POINTS, generator_for(seed, "ch02", "kl"))
    makers = {
        rf"constant $\beta_t = {CONSTANT_BETA}$": (
            "constant",
            partial(schedules.constant_schedule, beta=CONSTANT_BETA),
        ),
        "linear, rescaled with $T$": ("linear", schedules.linear_schedule),
        "cosine": ("cosine", schedules.cosine_schedule),
    }
    curves = {}
    for label, (kind, make) in makers.items():
        kl = [
            forward.kl_to_standard_normal(x_0, make(T_).alpha_bar[-1].item()).mean().item()
            for T_ in KL_T_VALUES
        ]
        curves[label] = (kind, kl)
    plots.plot_prior_kl(ax, KL_T_VALUES, curves)
    return fig


@register(
    "ch02_mixture_marginals",
    chapter=CHAPTER,
    caption="The marginal q(x_t) of the Gaussian mixture under the linear schedule: contours "
    f"of the closed form (a mixture again) over {N_POINTS:,} points of the simulated chain, at "
    f"{len(MIXTURE_STEPS)} steps t.",
)
def build_mixture_marginals(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.3))
    axes = fig.subplots(1, len(MIXTURE_STEPS), sharex=True, sharey=True)
    schedule = schedules.linear_schedule(T)
    mixture = toy_data.toy_mixture()
    x_0 = mixture.sample(N_POINTS, generator_for(seed, "ch02", "mixture"))
    kept = forward.forward_chain_at(
        schedule, x_0, list(MIXTURE_STEPS), generator_for(seed, "ch02", "mixture_chain")
    )
    axis, grid = toy_data.square_grid(LIMIT, N_GRID)
    for ax, t, x_t in zip(axes, MIXTURE_STEPS, kept, strict=True):
        marginal = forward.noised_mixture(schedule, mixture, t)
        log_q = marginal.log_prob(grid).reshape(N_GRID, N_GRID)
        plots.plot_points(ax, x_t, size=2, alpha=0.35, limit=LIMIT, title=f"$t = {t}$")
        plots.plot_density_contours(ax, axis, log_q, levels=6, limit=LIMIT)
    for ax in axes[1:]:
        ax.set_ylabel("")
    return fig
