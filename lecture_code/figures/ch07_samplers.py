"""Figures of chapter 7, "Samplers", and the measurements behind them.

The measurements run the samplers of :mod:`lecture_code.score.samplers` with the exact
denoisers of :mod:`lecture_code.score.denoisers` (Gaussian data and the toy mixture) and with
chapter 4's trained network, and measure them with :mod:`lecture_code.score.sampler_error`; the
chapter imports them, and the builders hand their numbers to :mod:`lecture_code.plots.samplers`.
Each measurement is kept in memory per seed, so the chapter and its figures compute it once.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`).
"""

from __future__ import annotations

import functools
import math

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import experiments
from lecture_code.ddpm.conversions import x_0_from_eps
from lecture_code.ddpm.experiments import ToyConfig
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.figures import register
from lecture_code.plots import samplers as plots
from lecture_code.plots.style import figsize
from lecture_code.score import grids, samplers
from lecture_code.score.denoisers import Denoiser, gaussian_denoiser, mixture_denoiser
from lecture_code.score.sampler_error import (
    affine_pushforward,
    convergence_order,
    gaussian_start,
    gaussian_target,
    strong_error,
    w2_diagonal,
)
from lecture_code.score.sde import VPSDE, prior_sample
from lecture_code.seeding import generator_for

CHAPTER = "book/part2/07_samplers"

#: The Gaussian data of the exact measurement: one broad and one narrow coordinate.
GAUSS_MEAN = (1.0, -0.5)
GAUSS_VAR = (1.0, 0.04)
#: The deterministic samplers, and the theoretical order of each sampler (in the NFE).
ODE_SAMPLERS = ("ddim", "heun", "dpm_solver_2s", "dpm_solver_2m")
SDE_SAMPLERS = ("ancestral", "euler_maruyama", "predictor_corrector")
THEORY_ORDER = {
    "ancestral": 1,
    "euler_maruyama": 1,
    "predictor_corrector": 1,  # down to the corrector's own bias, see the chapter
    "ddim": 1,
    "heun": 2,
    "dpm_solver_2s": 2,
    "dpm_solver_2m": 2,
}
#: Samplers that cost two evaluations per step run half as many steps, so the NFE compare.
TWO_EVALUATIONS = ("heun", "dpm_solver_2s", "predictor_corrector")
#: Grid sizes of the exact Gaussian measurement (one-evaluation samplers; halved for the others).
GAUSS_STEPS = (16, 32, 64, 128, 256)
#: The mixture: starting points, grid sizes, and the fine reference.
N_MIX = 1000
MIX_STEPS = (4, 8, 16, 32, 64, 128)
REFERENCE_STEPS = 1000
#: The weak error of the stochastic samplers: 1-D Gaussian data, draws, grid sizes.
WEAK_MEAN, WEAK_VAR = 1.0, 0.25
N_WEAK = 200_000
WEAK_STEPS = (16, 32, 64)
#: EDM's churn at a fixed grid of Heun's method.
CHURN_STEPS = 16
CHURNS = (0.0, 1.0, 2.0, 4.0, 6.0)
#: Sample clouds: the samplers and evaluation counts shown.
CLOUD_SAMPLERS = ("ddim", "dpm_solver_2m")
CLOUD_STEPS = (4, 8, 32)


def steps_for(name: str, n_steps: int) -> int:
    """The grid size that gives ``name`` about the NFE of a one-evaluation sampler with
    ``n_steps`` levels (half as many, plus one, for two-evaluation samplers)."""
    return n_steps // 2 + 1 if name in TWO_EVALUATIONS else n_steps


def gaussian_data(sde: VPSDE) -> tuple[torch.Tensor, torch.Tensor, Denoiser]:
    """``(mean, var, exact denoiser)`` of the Gaussian data of :data:`GAUSS_MEAN`."""
    mean = torch.tensor(GAUSS_MEAN, dtype=torch.float64)
    var = torch.tensor(GAUSS_VAR, dtype=torch.float64)
    return mean, var, gaussian_denoiser(mean, var, sde)


@functools.cache
def gaussian_ode_errors() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """name -> ``(nfe, W2)``: the exact Wasserstein-2 error of each deterministic sampler on
    its default grid, for the Gaussian data, started from the exact law at the first level."""
    sde = VPSDE()
    mean, var, denoiser = gaussian_data(sde)
    target = gaussian_target(mean, var, sde)
    out = {}
    for name in ODE_SAMPLERS:
        nfes, errors = [], []
        for n_steps in GAUSS_STEPS:
            grid = samplers.DEFAULT_GRIDS[name](sde, steps_for(name, n_steps))
            start = gaussian_start(mean, var, sde, float(grid[0]))
            m, v, nfe = affine_pushforward(samplers.SAMPLERS[name], denoiser, sde, grid, *start)
            nfes.append(nfe)
            errors.append(w2_diagonal(m, v, *target))
        out[name] = (torch.tensor(nfes), torch.tensor(errors, dtype=torch.float64))
    return out


def learned_denoiser(seed: int, sde: VPSDE) -> Denoiser:
    r"""Chapter 4's noise predictor on the mixture as a denoiser of the VP-SDE:
    :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t - \sigma\hat{\boldsymbol{\epsilon}})/a` with the
    network conditioned on :math:`\lambda(t)` (its linear schedule is this SDE discretised)."""
    network, _ = experiments.trained_denoiser(ToyConfig(data="mixture", seed=seed), verbose=False)

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            eps = network(x_t.float(), sde.log_snr(t).float()).double()
        return x_0_from_eps(x_t.double(), eps, sde.scale(t), sde.sigma(t))

    return denoiser


@functools.cache
def mixture_errors(seed: int) -> dict[str, object]:
    """The strong error of each deterministic sampler on the toy mixture against a fine solve
    from the same starting points, with the exact denoiser and with chapter 4's network.

    Returns:
        ``{"exact": {name: (nfe, error)}, "learned": {...}, "learned_self": {...}, "floor": float,
        "reference_gap": float, "x_T": (N_MIX, 2), "reference": (N_MIX, 2)}``: ``floor`` is
        the distance of the learned model's own fine solve from the exact one, and
        ``reference_gap`` that of a second fine solve (Heun) from the reference;
        ``"learned_self"`` holds the network's solves against its own fine solve.
    """
    sde = VPSDE()
    exact = mixture_denoiser(toy_mixture(), sde)
    learned = learned_denoiser(seed, sde)
    x_T = prior_sample(sde, (N_MIX, 2), generator_for(seed, "ch07", "mixture")).double()
    reference, _ = samplers.sample("dpm_solver_2m", exact, sde, x_T, REFERENCE_STEPS, None)
    check, _ = samplers.sample("heun", exact, sde, x_T, REFERENCE_STEPS // 2, None)
    learned_reference, _ = samplers.sample(
        "dpm_solver_2m", learned, sde, x_T, REFERENCE_STEPS, None
    )
    curves: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {
        "exact": {},
        "learned": {},
        "learned_self": {},
    }
    for name in ODE_SAMPLERS:
        for label, denoiser in (("exact", exact), ("learned", learned)):
            nfes, errors, to_own = [], [], []
            for n_steps in MIX_STEPS:
                x_0, nfe = samplers.sample(name, denoiser, sde, x_T, steps_for(name, n_steps), None)
                nfes.append(nfe)
                errors.append(strong_error(x_0, reference))
                to_own.append(strong_error(x_0, learned_reference))
            curves[label][name] = (torch.tensor(nfes), torch.tensor(errors, dtype=torch.float64))
            if label == "learned":
                # The distance to the network's own fine solve: its discretisation error alone.
                own = torch.tensor(to_own, dtype=torch.float64)
                curves["learned_self"][name] = (torch.tensor(nfes), own)
    return {
        **curves,
        "floor": strong_error(learned_reference, reference),
        "reference_gap": strong_error(check, reference),
        "x_T": x_T,
        "reference": reference,
    }


def _weak_run(name: str, n_steps: int, seed: int, **options: float) -> tuple[float, float, int]:
    """``(relative variance error, its standard error, nfe)`` of one stochastic run on the 1-D
    Gaussian data, from the exact law at the grid's first level."""
    sde = VPSDE()
    mean = torch.tensor([WEAK_MEAN], dtype=torch.float64)
    var = torch.tensor([WEAK_VAR], dtype=torch.float64)
    denoiser = gaussian_denoiser(mean, var, sde)
    grid = samplers.DEFAULT_GRIDS[name](sde, n_steps)
    m_T, v_T = gaussian_start(mean, var, sde, float(grid[0]))
    g = generator_for(seed, "ch07", "weak", name, str(n_steps), *map(str, options.values()))
    x_T = m_T + v_T.sqrt() * torch.randn(N_WEAK, 1, generator=g, dtype=torch.float64)
    x_0, nfe = samplers.SAMPLERS[name](denoiser, sde, grid, x_T, g, **options)
    _, target_var = gaussian_target(mean, var, sde)
    ratio = float(x_0.var() / target_var)
    # A Gaussian sample variance has the relative standard error sqrt(2 / (n - 1)).
    return ratio - 1.0, ratio * math.sqrt(2.0 / (N_WEAK - 1)), nfe


@functools.cache
def weak_errors(seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """name -> ``(nfe, relative variance error, standard error)`` of each stochastic sampler
    on its default grid (Monte Carlo, :data:`N_WEAK` draws per point)."""
    out = {}
    for name in SDE_SAMPLERS:
        rows = [_weak_run(name, steps_for(name, n), seed) for n in WEAK_STEPS]
        out[name] = (
            torch.tensor([r[2] for r in rows]),
            torch.tensor([r[0] for r in rows], dtype=torch.float64),
            torch.tensor([r[1] for r in rows], dtype=torch.float64),
        )
    return out


@functools.cache
def churn_errors(seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(relative variance error, standard error, nfe)`` of Heun's method on a fixed grid of
    :data:`CHURN_STEPS` levels, for each :math:`S_{\\text{churn}}` of :data:`CHURNS`."""
    rows = [_weak_run("heun", CHURN_STEPS, seed, s_churn=c) for c in CHURNS]
    return (
        torch.tensor([r[0] for r in rows], dtype=torch.float64),
        torch.tensor([r[1] for r in rows], dtype=torch.float64),
        rows[0][2],
    )


def fitted_orders(curves: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """name -> the fitted order of its ``(nfe, error)`` curve."""
    return {name: convergence_order(nfe, err.abs()) for name, (nfe, err, *_) in curves.items()}


@register(
    "ch07_grids",
    chapter=CHAPTER,
    caption="The positive noise levels of three grids with 12 levels: uniform in time, "
    "Karras et al.'s with rho = 7, and uniform in the log-SNR.",
)
def build_grids(seed: int, style: str) -> Figure:
    del seed  # nothing random
    sde = VPSDE()
    fig = Figure(figsize=figsize(style, 0.6, aspect=0.75), layout="constrained")
    ax = fig.subplots()
    plots.plot_grid_levels(
        ax,
        {
            "uniform time": grids.time_grid(sde, 12),
            r"Karras, $\rho = 7$": grids.karras_grid(sde, 12),
            "uniform log-SNR": grids.log_snr_grid(sde, 12),
        },
    )
    return fig


@register(
    "ch07_gaussian_orders",
    chapter=CHAPTER,
    caption="Exact Wasserstein-2 error of the deterministic samplers against the number of "
    "network evaluations, for Gaussian data with the exact denoiser, with fitted orders.",
)
def build_gaussian_orders(seed: int, style: str) -> Figure:
    del seed  # nothing random
    fig = Figure(figsize=figsize(style, 0.7, aspect=0.75), layout="constrained")
    ax = fig.subplots()
    curves = gaussian_ode_errors()
    plots.plot_error_vs_nfe(ax, curves, orders=fitted_orders(curves))
    ax.set_ylabel("$W_2$ to the target")
    return fig


@register(
    "ch07_mixture_errors",
    chapter=CHAPTER,
    caption="Strong error on the toy mixture against a fine reference from the same starting "
    "points: exact denoiser (solid) and chapter 4's network (dashed), whose own floor is dotted.",
)
def build_mixture_errors(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.7, aspect=0.75), layout="constrained")
    ax = fig.subplots()
    result = mixture_errors(seed)
    plots.plot_error_vs_nfe(ax, result["exact"], legend=False)
    plots.plot_error_vs_nfe(ax, result["learned"], floor=result["floor"], dashed=True)
    ax.set_ylabel("RMS distance to the reference")
    return fig


@register(
    "ch07_clouds",
    chapter=CHAPTER,
    caption="Samples of the toy mixture from the same starting points by DDIM (top) and "
    "DPM-Solver++(2M) (bottom) at 4, 8 and 32 network evaluations, with the exact denoiser.",
)
def build_clouds(seed: int, style: str) -> Figure:
    sde = VPSDE()
    exact = mixture_denoiser(toy_mixture(), sde)
    x_T = mixture_errors(seed)["x_T"]
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.66), layout="constrained")
    axes = fig.subplots(len(CLOUD_SAMPLERS), len(CLOUD_STEPS), sharex=True, sharey=True)
    for row, name in zip(axes, CLOUD_SAMPLERS, strict=True):
        for ax, n_steps in zip(row, CLOUD_STEPS, strict=True):
            x_0, nfe = samplers.sample(name, exact, sde, x_T, n_steps, None)
            plots.plot_cloud(ax, x_0, title=f"{plots.SAMPLER_LOOKS[name][0]}, NFE {nfe}")
    return fig


@register(
    "ch07_weak_errors",
    chapter=CHAPTER,
    caption="Relative error of the sampled variance for Gaussian data (exact denoiser) against "
    "the number of evaluations, for the stochastic samplers, with one standard error.",
)
def build_weak_errors(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.7, aspect=0.75), layout="constrained")
    ax = fig.subplots()
    curves = weak_errors(seed)
    plots.plot_error_vs_nfe(
        ax,
        {name: (nfe, err.abs()) for name, (nfe, err, _) in curves.items()},
        orders=fitted_orders(curves),
    )
    ax.set_ylabel("|relative variance error|")
    return fig


# --- measurements the chapter makes (kept here so that no chapter cell defines a function) ---
def recording(denoiser: Denoiser, calls: list[tuple[int, ...]]) -> Denoiser:
    """``denoiser``, appending the shape of the times of every call to ``calls``."""

    def recorded(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape))
        return denoiser(x_t, t)

    return recorded


def karras_gap(sde: VPSDE, n_steps: int, rho: float) -> torch.Tensor:
    """``(n_steps,)`` the relative distance of the positive levels of Karras et al.'s grid with
    exponent ``rho`` from those of the log-SNR grid."""
    log_grid = grids.log_snr_grid(sde, n_steps)[:-1]
    return ((grids.karras_grid(sde, n_steps, rho)[:-1] / log_grid) - 1).abs()
