"""Figures of chapter 6, "Stochastic differential equations".

The builders run Euler–Maruyama (:mod:`lecture_code.score.brownian`), the Fokker–Planck solver
(:mod:`lecture_code.score.fokker_planck`), the forward processes
(:mod:`lecture_code.score.processes`) and the reverse SDE, the probability-flow ODE and its
likelihood (:mod:`lecture_code.score.likelihood`) with the exact score of the toy mixture, and
hand the numbers to :mod:`lecture_code.plots.sde`.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.figures import register
from lecture_code.plots import reverse as rates
from lecture_code.plots import sde as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.score import brownian, fokker_planck, likelihood, processes
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import generator_for

CHAPTER = "book/part2/06_sde"

#: Geometric Brownian motion of the strong-order measurement: (mu, b), steps, paths.
GBM_STRONG = (0.5, 1.0)
STRONG_LEVELS = (32, 64, 128, 256, 512)
N_STRONG = 20000
#: ... and of the weak-order measurement (a larger drift makes the weak error visible).
GBM_WEAK = (2.0, 0.5)
WEAK_LEVELS = (16, 32, 64, 128, 256, 512)
N_WEAK = 40000
#: The double-well Fokker-Planck problem: domain, cells, bins, horizon, start N(m, s^2),
#: particles and Euler-Maruyama steps; g = sqrt(2), so the stationary law is exp(-U).
FP_LOW, FP_HIGH = -2.5, 2.5
FP_CELLS = 500
FP_BINS = 50
FP_T = 0.5
FP_START = (1.0, 0.25)
FP_PARTICLES = 40000
FP_STEPS = 500
FP_G = math.sqrt(2.0)
#: Paths on the mixture: how many are drawn, and the steps of the SDEs and of the ODE.
N_PATHS_SHOWN = 12
SDE_STEPS = 500
ODE_STEPS = 100
#: The likelihood figure: points, and the RK4 step counts of the convergence panel.
N_LIK_POINTS = 12
LIK_STEPS = (10, 20, 40, 80)


def fp_particles(generator: torch.Generator) -> torch.Tensor:
    """``(FP_PARTICLES,)`` Euler-Maruyama particles of the double well at ``FP_T``."""
    m, s = FP_START
    x_0 = m + s * torch.randn(FP_PARTICLES, generator=generator, dtype=torch.float64)
    dw = brownian.brownian_increments(FP_PARTICLES, FP_STEPS, FP_T, generator)
    return brownian.euler_maruyama(
        lambda x, t: fokker_planck.double_well_drift(x), lambda x, t: FP_G, x_0, dw, FP_T
    )


def fp_start_density(x: torch.Tensor) -> torch.Tensor:
    """The starting density N(FP_START) at the points ``x``."""
    m, s = FP_START
    return torch.exp(-((x - m) ** 2) / (2 * s**2)) / math.sqrt(2 * math.pi * s**2)


@register(
    "ch06_fokker_planck",
    chapter=CHAPTER,
    caption="The double-well Fokker-Planck equation solved on a grid against a histogram of "
    "Euler-Maruyama particles at one time (left), and the grid's stationary density against "
    "exp(-U) (right).",
)
def build_fokker_planck(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.4))
    left, right = fig.subplots(1, 2)
    x = fokker_planck.cell_centres(FP_LOW, FP_HIGH, FP_CELLS)
    p_t = fokker_planck.solve_fokker_planck(
        fokker_planck.double_well_drift, FP_G, FP_LOW, FP_HIGH, FP_CELLS, fp_start_density(x), FP_T
    )
    frac, se = fokker_planck.histogram_probabilities(
        fp_particles(generator_for(seed, "ch06_fp")), FP_LOW, FP_HIGH, FP_BINS
    )
    width = (FP_HIGH - FP_LOW) / FP_BINS
    edges = torch.linspace(FP_LOW, FP_HIGH, FP_BINS + 1)
    plots.plot_density_vs_histogram(
        left, x, p_t, edges, frac / width, se / width,
        label="Fokker-Planck (grid)", hist_label="particles",
        extra={"start": (x, fp_start_density(x))}, title=rf"$t = {FP_T}$",
    )  # fmt: skip
    p_inf = fokker_planck.stationary_density(
        fokker_planck.double_well_drift, FP_G, FP_LOW, FP_HIGH, FP_CELLS
    )
    boltzmann = torch.exp(-fokker_planck.double_well_potential(x))
    boltzmann = boltzmann / (boltzmann.sum() * (FP_HIGH - FP_LOW) / FP_CELLS)
    right.plot(x, p_inf, color=COLORS["data"], label="grid, stationary")
    right.plot(x, boltzmann, "--", color=COLORS["oracle"], label=r"$e^{-U}/Z$")
    right.set_xlabel("$x$")
    right.set_title(r"$t \to \infty$", loc="left")
    right.legend()
    return fig


@register(
    "ch06_em_orders",
    chapter=CHAPTER,
    caption="Euler-Maruyama on geometric Brownian motion: the strong error against the step "
    "(left, slope one half) and the weak error of the mean (right, slope one).",
)
def build_em_orders(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.4))
    left, right = fig.subplots(1, 2)
    strong = brownian.gbm_orders(
        *GBM_STRONG, N_STRONG, STRONG_LEVELS, generator_for(seed, "ch06_strong")
    )
    weak = brownian.gbm_orders(*GBM_WEAK, N_WEAK, WEAK_LEVELS, generator_for(seed, "ch06_weak"))
    rates.plot_loglog_rate(
        left, strong.h, strong.strong, slope=0.5, xlabel="step $h$",
        ylabel=r"$\mathbb{E}|X_T - X_T^h|$", label="measured", reference_label=r"$h^{1/2}$",
    )  # fmt: skip
    rates.plot_loglog_rate(
        right, weak.h, weak.weak.abs(), slope=1.0, xlabel="step $h$",
        ylabel=r"$|\mathbb{E}X_T - \mathbb{E}X_T^h|$", label="measured", reference_label="$h$",
    )  # fmt: skip
    right.loglog(weak.h, weak.weak_exact, "x", color=COLORS["oracle"], label="exact")
    right.legend()
    for ax in (left, right):
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def mixture_paths(seed: int) -> dict[str, torch.Tensor]:
    """Forward-SDE, reverse-SDE and probability-flow paths on the toy mixture, each
    ``(K + 1, N_PATHS_SHOWN, 2)``, with their time grids."""
    sde = VPSDE()
    mixture = toy_mixture()
    score = likelihood.mixture_score(mixture, sde)
    gen = generator_for(seed, "ch06_paths")
    x_0 = mixture.sample(N_PATHS_SHOWN, gen)
    x_1 = torch.randn(N_PATHS_SHOWN, 2, generator=gen, dtype=torch.float64)
    return {
        "forward": processes.simulate_forward(sde, x_0, 1.0, SDE_STEPS, gen, keep_path=True),
        "reverse": likelihood.reverse_sde_sample(
            sde, score, x_1, SDE_STEPS, gen, t_end=sde.t_min, keep_path=True
        ),
        "ode": likelihood.pf_ode_solve(sde, score, x_1, 1.0, sde.t_min, ODE_STEPS, keep_path=True),
        "t_sde": torch.linspace(0.0, 1.0, SDE_STEPS + 1),
        "t_rev": torch.linspace(1.0, sde.t_min, SDE_STEPS + 1),
        "t_ode": torch.linspace(1.0, sde.t_min, ODE_STEPS + 1),
    }


@register(
    "ch06_paths",
    chapter=CHAPTER,
    caption="The first coordinate of paths on the toy mixture: the forward VP-SDE from data "
    "(left), the reverse-time SDE from noise (middle) and the probability-flow ODE from the "
    "same noise (right), both with the exact score.",
)
def build_paths(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.36))
    axes = fig.subplots(1, 3, sharey=True)
    p = mixture_paths(seed)
    plots.plot_paths(axes[0], p["t_sde"], p["forward"][..., 0], title="forward SDE")
    plots.plot_paths(axes[1], p["t_rev"], p["reverse"][..., 0], title="reverse SDE")
    plots.plot_paths(
        axes[2], p["t_ode"], p["ode"][..., 0], color=COLORS["oracle"], title="probability flow"
    )
    for ax in axes[1:]:
        ax.invert_xaxis()
        ax.set_ylabel("")
    return fig


@register(
    "ch06_likelihood",
    chapter=CHAPTER,
    caption="The log-likelihood of the probability-flow ODE against the exact log-density of the "
    "mixture (left), and its largest error against the number of RK4 steps (right).",
)
def build_likelihood(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.4))
    left, right = fig.subplots(1, 2)
    sde = VPSDE()
    mixture = toy_mixture()
    score = likelihood.mixture_score(mixture, sde)
    prior = mixture.noised(float(sde.scale(1.0)), float(sde.sigma(1.0)))
    x_0 = mixture.sample(N_LIK_POINTS, generator_for(seed, "ch06_lik"))
    exact = mixture.log_prob(x_0)
    errors = []
    for n in LIK_STEPS:
        ll = likelihood.ode_log_likelihood(sde, score, prior.log_prob, x_0, n)
        errors.append(float((ll - exact).abs().max()))
    plots.plot_identity(
        left, exact, ll, xlabel=r"exact $\log p_0(\mathbf{x})$", ylabel="ODE log-likelihood"
    )
    rates.plot_loglog_rate(
        right, torch.tensor(LIK_STEPS, dtype=torch.float64), torch.tensor(errors), slope=-4.0,
        xlabel="RK4 steps", ylabel="largest |error|", label="measured",
        reference_label="$n^{-4}$",
    )  # fmt: skip
    right.xaxis.set_minor_formatter(NullFormatter())
    return fig


def em_variance(process: processes.NoiseProcess, n_steps: int) -> float:
    r"""The variance Euler–Maruyama adds from :math:`t = 0` to 1 with ``n_steps`` uniform steps:
    :math:`\sum_k g(t_k)^2 h`, :math:`t_k = k h` (a sum, no sampling)."""
    t_k = torch.arange(n_steps, dtype=torch.float64) / n_steps
    return float((process.diffusion(t_k) ** 2).sum() / n_steps)
