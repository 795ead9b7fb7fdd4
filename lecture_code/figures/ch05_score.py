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
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.sample_quality import energy_distance
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


# --- measurements the chapter makes (kept here so that no chapter cell defines a function) ---
def relative_frobenius_error(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """``|estimate - reference| / |reference|``, Frobenius norms over all points."""
    return float((estimate - reference).norm() / reference.norm())


def left_share(mixture: GaussianMixture, sigma: float) -> float:
    r"""The mass of the mixture noised with :math:`a = 1` and ``sigma`` in the half-plane
    :math:`x < 0`: component :math:`c` puts :math:`\Phi(-\mu_{c,x}/\sqrt{\Sigma_{c,xx} +
    \sigma^2})` of its mass there."""
    normal = torch.distributions.Normal(0.0, 1.0)
    sd = torch.sqrt(mixture.covs[:, 0, 0] + sigma**2)
    return float((mixture.weights * normal.cdf(-mixture.means[:, 0] / sd)).sum())


def has_barrier(mixture: GaussianMixture, sigma: float, half_distance: float) -> bool:
    """Whether the noised mixture has a dip between its modes at :math:`x = \\pm` ``half_distance``:
    its score along the x-axis changes sign more than once between them."""
    line = torch.linspace(-half_distance, half_distance, 4001, dtype=torch.float64)
    s_x = mixture.noised(1.0, sigma).score(torch.stack([line, 0 * line], dim=1))[:, 0]
    return int((torch.sign(s_x[1:]) != torch.sign(s_x[:-1])).sum()) > 1


def toy_levels(n_levels: int) -> list[float]:
    """``n_levels`` noise levels, geometric from 3 down to 0.01."""
    return torch.logspace(math.log10(3.0), math.log10(0.01), n_levels, dtype=torch.float64).tolist()


def toy_annealed(
    noise_levels: list[float], steps_per_level: int, n: int, step_scale: float, seed: int
) -> float:
    """Annealed Langevin on the toy mixture from ``n`` standard Gaussian points, with the exact
    score; the energy distance of the result to ``n`` fresh data points."""
    mixture = toy_mixture()
    g = generator_for(seed, "ch05", "toy-annealed")
    x_init = torch.randn(n, 2, generator=g, dtype=torch.float64)

    def score(y: torch.Tensor, sigma: float) -> torch.Tensor:
        return mixture.noised(1.0, sigma).score(y)

    x_end = langevin.annealed_langevin(score, x_init, noise_levels, steps_per_level, step_scale, g)
    return float(energy_distance(x_end, mixture.sample(n, g)))


def level_score(network: torch.nn.Module, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """The score network's score of :math:`q_\\sigma` at the points ``y``, ``(B, 2)`` float64."""
    return network(y, torch.full((y.shape[0],), sigma)).double()


def error_gap(worse: torch.Tensor, better: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """How far apart two measured errors ``(value, se)`` are, and five standard errors of the
    difference."""
    return worse[0] - better[0], 5 * torch.sqrt(worse[1] ** 2 + better[1] ** 2)
