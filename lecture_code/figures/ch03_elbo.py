"""Figures of chapter 3, "The reverse process and the ELBO".

The builders evaluate the true reverse step of :mod:`lecture_code.ddpm.posterior`, the exact bound
of Gaussian data of :mod:`lecture_code.ddpm.gaussian_reverse` and the weights of
:mod:`lecture_code.ddpm.elbo`, and hand the numbers to :mod:`lecture_code.plots.reverse`.

Book: chapter 3, "The reverse process and the ELBO" (:doc:`/book/part1/03_reverse_process_elbo`).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import elbo, gaussian_reverse, posterior, schedules
from lecture_code.figures import register
from lecture_code.plots import reverse as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part1/03_reverse_process_elbo"

#: The observed x_t of the reverse-step panels and the step variances shown.
REVERSE_X = 0.7
REVERSE_BETAS = (0.2, 0.05, 0.01)
#: Step variances of the KL panel, and the observed points it follows.
KL_BETAS = (0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
KL_POINTS = (0.3, 0.7, 1.0)
#: Gaussian data of the bound figure: mean, variance, numbers of steps, points averaged.
GAUSS_M = (1.0, -0.5)
GAUSS_V_0 = 0.25
GAP_T_VALUES = (10, 30, 100, 300, 1000)
N_GAP_POINTS = 500
#: Number of steps of the weights panel.
WEIGHTS_T = 1000


@register(
    "ch03_reverse_step",
    chapter=CHAPTER,
    caption="The true reverse step q(x_{t-1} | x_t) of one-dimensional two-mode data, for one "
    "observed x_t and a large, a medium and a small step variance beta, against its "
    "small-step Gaussian approximation; bottom right: the KL divergence between the two "
    "falls like beta squared.",
)
def build_reverse_step(seed: int, style: str) -> Figure:
    del seed  # nothing random
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.62))
    axes = fig.subplots(2, 2)
    data = posterior.bimodal_line()
    grid = torch.linspace(-2.5, 2.5, 2001, dtype=torch.float64)
    for i, (ax, beta) in enumerate(zip(axes.flat, REVERSE_BETAS, strict=False)):
        log_q = posterior.reverse_step_log_density(data, torch.tensor(REVERSE_X), beta, grid)
        mean, var = posterior.reverse_step_gaussian(data, torch.tensor([[REVERSE_X]]), beta)
        gaussian = torch.exp(-((grid - mean[0, 0]) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)
        title = rf"$\beta = {beta}$, $x_t = {REVERSE_X}$"
        plots.plot_reverse_step(ax, grid, torch.exp(log_q), gaussian, title=title, legend=i == 0)
    ax = axes[1, 1]
    for x, color in zip(
        KL_POINTS, (COLORS["model"], COLORS["reference"], COLORS["oracle"]), strict=True
    ):
        kl = [posterior.reverse_step_gaussian_kl(data, x, beta) for beta in KL_BETAS]
        plots.plot_loglog_rate(
            ax,
            KL_BETAS,
            kl,
            slope=2.0,
            xlabel=r"step variance $\beta$",
            ylabel="KL(true || Gaussian)",
            label=f"$x_t = {x}$",
            reference_label=r"$\propto \beta^2$" if x == KL_POINTS[-1] else "_",
            color=color,
        )
    return fig


@register(
    "ch03_bound",
    chapter=CHAPTER,
    caption="Gaussian data, exactly. Left: the gap between the bound and -log p(x_0) of the "
    "optimal reverse model with gamma_t^2 = beta_t falls like 1/T. Right: the weights zeta_t "
    "of the noise-prediction error in the bound for the two usual choices of "
    "the reverse-step variance gamma_t^2; L_simple replaces them by 1.",
)
def build_bound(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.42))
    left, right = fig.subplots(1, 2)
    m = torch.tensor(GAUSS_M, dtype=torch.float64)
    z = torch.randn(N_GAP_POINTS, 2, generator=generator_for(seed, "ch03", "gap"))
    x_0 = m + math.sqrt(GAUSS_V_0) * z.double()
    gaps = []
    for T in GAP_T_VALUES:
        schedule = schedules.linear_schedule(T)
        gamma2 = elbo.reverse_variance(schedule)
        gaps.append(gaussian_reverse.mean_gap(schedule, m, GAUSS_V_0, gamma2, x_0))
    plots.plot_loglog_rate(
        left,
        GAP_T_VALUES,
        gaps,
        slope=-1.0,
        xlabel="number of steps $T$",
        ylabel=r"mean gap $\mathcal{L} + \log p_\theta(\mathbf{x}_0)$ (nats)",
        label=r"$\gamma_t^2 = \beta_t$",
        reference_label=r"$\propto 1/T$",
    )
    schedule = schedules.linear_schedule(WEIGHTS_T)
    t = torch.arange(1, WEIGHTS_T + 1)
    weights = {
        rf"$\gamma_t^2 = {name}$": elbo.elbo_weight(
            schedule, t, elbo.reverse_variance(schedule, kind)
        )
        for name, kind in ((r"\beta_t", "beta"), (r"\tilde\beta_t", "beta_tilde"))
    }
    plots.plot_step_curves(right, t, weights, ylabel=r"weight $\zeta_t$")
    right.set_xscale("log")
    return fig
