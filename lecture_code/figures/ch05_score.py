"""Figures of chapter 5, "Score matching".

The builders evaluate the exact scores of :mod:`lecture_code.ddpm.mixture`, run the samplers of
:mod:`lecture_code.score.langevin`, measure the learned score of chapter 4's network with
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
from lecture_code.plots.style import figsize
from lecture_code.score import langevin, score_matching
from lecture_code.seeding import generator_for

CHAPTER = "book/part2/05_score_matching"

#: Noise standard deviations of the score-field panels (variance preserving: a^2 + sigma^2 = 1).
FIELD_SIGMAS = (0.05, 0.3, 0.7)
#: Steps of chapter 4's linear schedule at which the learned score is measured, and draws per step.
ERROR_STEPS = (5, 10, 20, 50, 100, 200, 400)
N_ERROR = 20_000
#: Langevin paths: particles drawn, step size and number of steps.
N_PATHS = 8
PATH_STEP = 0.005
PATH_STEPS = 300


def score_errors(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sigma, errors)``: the noise levels of :data:`ERROR_STEPS` and the ``(L, 2)`` relative
    errors (with standard errors) of the score of chapter 4's mixture network."""
    config = ToyConfig(data="mixture", seed=seed)
    model, _ = experiments.trained_denoiser(config, verbose=False)
    schedule = config.make_schedule()
    steps = torch.tensor(ERROR_STEPS)
    scale, sigma = schedule.scale[steps], schedule.sigma[steps]
    errors = score_matching.score_error_by_level(
        model, toy_mixture(), scale, sigma, N_ERROR, generator_for(seed, "ch05", "score-error")
    )
    return sigma, errors


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
    caption="Relative error of the score of chapter 4's noise-predicting network against "
    "the exact score of the noised toy mixture, by noise level, with one standard error.",
)
def build_score_error(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.6, aspect=0.75))
    ax = fig.subplots()
    sigma, errors = score_errors(seed)
    plots.plot_score_error(ax, sigma, errors[:, 0], errors[:, 1])
    return fig
