"""Figures of chapter 5, "Score matching".

The builders evaluate the exact scores of :mod:`lecture_code.ddpm.mixture`, run the samplers of
:mod:`lecture_code.score.langevin`, measure the learned scores of
:mod:`lecture_code.score.score_network` and of chapter 4's network with
:mod:`lecture_code.score.score_matching`, and hand the numbers to :mod:`lecture_code.plots.score`
and :mod:`lecture_code.plots.forward`.

Book: chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import experiments
from lecture_code.ddpm.experiments import ToyConfig
from lecture_code.ddpm.toy_data import square_grid, toy_mixture
from lecture_code.figures import register
from lecture_code.plots import forward as field_plots
from lecture_code.plots import score as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.score import langevin, score_matching, score_network
from lecture_code.seeding import generator_for

CHAPTER = "book/part2/05_score_matching"

#: Noise standard deviations of the score-field panels (variance preserving: a^2 + sigma^2 = 1).
FIELD_SIGMAS = (0.05, 0.3, 0.7)
#: Noise-to-signal ratios nu = sigma/a at which the learned scores are measured, and draws per
#: level. Both networks were trained on nu from 0.01 up; the first level stays just inside.
ERROR_NU = (0.015, 0.03, 0.06, 0.12, 0.25, 0.5, 1.0, 2.0)
N_ERROR = 20_000
#: Langevin paths: particles drawn, step size and number of steps.
N_PATHS = 8
PATH_STEP = 0.005
PATH_STEPS = 300


def score_errors(seed: int) -> dict[str, torch.Tensor]:
    r"""The relative score errors, with standard errors, of the two learned scores of the toy
    mixture at the noise-to-signal ratios :data:`ERROR_NU`.

    Returns:
        ``{"nu": (L,), "dsm": (L, 2), "ddpm": (L, 2)}``: ``"dsm"`` is the score network of
        :mod:`lecture_code.score.score_network` (variance exploding, :math:`a = 1`,
        :math:`\sigma = \nu`); ``"ddpm"`` is chapter 4's noise predictor on the variance
        preserving levels :math:`a = 1/\sqrt{1 + \nu^2}`, :math:`\sigma = \nu a`. The relative
        error does not change when the data are scaled, so the two compare at equal
        :math:`\nu`.
    """
    nu = torch.tensor(ERROR_NU, dtype=torch.float64)
    mixture = toy_mixture()
    network, _ = score_network.trained_score_network(
        score_network.ScoreNetConfig(seed=seed), verbose=False
    )

    def network_score(x: torch.Tensor, a: float, sigma: float) -> torch.Tensor:
        del a  # the network's levels are variance exploding: a = 1
        return network(x, torch.full((x.shape[0],), sigma))

    dsm = score_matching.score_error_by_level(
        network_score,
        mixture,
        torch.ones_like(nu),
        nu,
        N_ERROR,
        generator_for(seed, "ch05", "score-error", "dsm"),
    )
    eps_net, _ = experiments.trained_denoiser(ToyConfig(data="mixture", seed=seed), verbose=False)
    scale = 1.0 / torch.sqrt(1.0 + nu**2)
    ddpm = score_matching.score_error_by_level(
        score_matching.eps_model_score(eps_net),
        mixture,
        scale,
        nu * scale,
        N_ERROR,
        generator_for(seed, "ch05", "score-error", "ddpm"),
    )
    return {"nu": nu, "dsm": dsm, "ddpm": ddpm}


@register(
    "ch05_score_field",
    chapter=CHAPTER,
    caption="The score of the noised toy mixture at three noise levels: arrows of equal "
    "length along the score, coloured by its magnitude on one scale for all panels, over the "
    "noised density.",
)
def build_score_field(seed: int, style: str) -> Figure:
    del seed  # nothing random
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.36), layout="constrained")
    axes = fig.subplots(1, len(FIELD_SIGMAS), sharey=True)
    mixture = toy_mixture()
    axis, grid = square_grid(2.5, 60)
    _, arrows = square_grid(2.5, 17)
    noised = [mixture.noised(math.sqrt(1 - sigma**2), sigma) for sigma in FIELD_SIGMAS]
    # One colour scale for all panels, so that the colours compare across noise levels.
    magnitudes = torch.cat([q.score(arrows).norm(dim=1) for q in noised])
    shared = (max(float(magnitudes.min()), 1e-2), float(magnitudes.max()))
    for ax, sigma, q in zip(axes, FIELD_SIGMAS, noised, strict=True):
        log_q = q.log_prob(grid).reshape(len(axis), len(axis))
        field_plots.plot_density_contours(ax, axis, log_q, filled=True, limit=2.5)
        field_plots.plot_score_field(
            ax, arrows, q.score(arrows), limit=2.5, magnitude_range=shared, colorbar=False
        )
        ax.set_title(rf"$\sigma = {sigma}$")
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.colorbar(
        axes[-1].collections[-1],
        ax=list(axes),
        shrink=0.85,
        label=r"$\|\nabla_{\mathbf{x}} \log p\|$",
    )
    return fig


@register(
    "ch05_langevin",
    chapter=CHAPTER,
    caption="Paths of unadjusted Langevin dynamics with the exact score of the toy mixture, "
    "from standard Gaussian starting points (open circles) to their end points (dots).",
)
def build_langevin(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.55, aspect=1.0))
    ax = fig.subplots()
    mixture = toy_mixture()
    axis, grid = square_grid(2.5, 60)
    log_p = mixture.log_prob(grid).reshape(len(axis), len(axis))
    field_plots.plot_density_contours(ax, axis, log_p, filled=True, limit=2.5)
    g = generator_for(seed, "ch05", "paths")
    x_init = torch.randn(N_PATHS, 2, generator=g, dtype=torch.float64)
    _, paths = langevin.langevin(mixture.score, x_init, PATH_STEP, PATH_STEPS, g, keep=N_PATHS)
    plots.plot_paths(ax, paths)
    return fig


@register(
    "ch05_mode_weights",
    chapter=CHAPTER,
    caption="The fraction of particles in the heavier mode of a two-mode mixture after plain "
    "and annealed Langevin dynamics from a broad uniform start, with one standard error; the "
    "dashed line is the true weight.",
)
def build_mode_weights(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.55, aspect=0.8))
    ax = fig.subplots()
    study = langevin.ModeWeightStudy()
    result = langevin.mode_weight_study_cached(study, seed, verbose=False)
    fractions = {k: langevin.mode_fraction(result[k]) for k in ("initial", "plain", "annealed")}
    plots.plot_mode_weights(ax, fractions, study.weight)
    return fig


@register(
    "ch05_score_error",
    chapter=CHAPTER,
    caption="Relative error of two learned scores of the toy mixture against the exact score, "
    "by noise-to-signal ratio, with one standard error: the score network trained by DSM on "
    "log-uniform levels, and chapter 4's noise predictor.",
)
def build_score_error(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.6, aspect=0.75), layout="constrained")
    ax = fig.subplots()
    errors = score_errors(seed)
    plots.plot_score_error(
        ax,
        errors["nu"],
        errors["dsm"][:, 0],
        errors["dsm"][:, 1],
        label="score network",
    )
    plots.plot_score_error(
        ax,
        errors["nu"],
        errors["ddpm"][:, 0],
        errors["ddpm"][:, 1],
        label="chapter 4's noise predictor",
        color=COLORS["reference"],
        marker="s",
    )
    return fig
