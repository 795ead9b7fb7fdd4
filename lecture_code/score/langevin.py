r"""Langevin dynamics: sampling with nothing but the score.

The unadjusted Langevin algorithm (eq. (score-langevin)) takes steps

.. math::

    \mathbf{x}_{k+1} = \mathbf{x}_k + \frac{\eta}{2}\nabla\log p(\mathbf{x}_k)
    + \sqrt{\eta}\,\mathbf{z}_k, \qquad \mathbf{z}_k \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

the Euler–Maruyama discretisation of the Langevin diffusion
:math:`d\mathbf{x} = \tfrac12\nabla\log p\,dt + d\mathbf{w}`, whose stationary law is
:math:`p` (:func:`langevin`). For a Lipschitz and dissipative score (a Gaussian mixture's is
both), the chain's own stationary law differs from :math:`p` by :math:`O(\eta)` and tends to
:math:`p` as :math:`\eta \to 0` (Talay and Tubaro 1990; Durmus and Moulines 2017); for a score
that grows faster than linearly the chain can be transient (Roberts and Tweedie 1996). Between
well-separated modes the chain almost never crosses, so the mode weights stay those of the
initial law; annealed Langevin (Song and Ermon 2019, eq. (score-annealed)) runs the chain on the
noised laws :math:`q_{\sigma_1}, \dots, q_{\sigma_L}` for decreasing :math:`\sigma_i`, where the
broad early laws let the particles move between modes, with step
:math:`\eta_i = \texttt{step\_scale}\cdot\sigma_i^2` (:func:`annealed_langevin`).

References: D. Talay, L. Tubaro, "Expansion of the global error for numerical schemes solving
stochastic differential equations", Stoch. Anal. Appl. 8 (1990); A. Durmus, É. Moulines,
"Nonasymptotic convergence analysis for the unadjusted Langevin algorithm", Ann. Appl. Probab.
27 (2017); G. O. Roberts, R. L. Tweedie, "Exponential convergence of Langevin distributions and
their discrete approximations", Bernoulli 2 (1996); Y. Song, S. Ermon, "Generative modeling by
estimating gradients of the data distribution", NeurIPS 2019, arXiv:1907.05600.

Book: chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`), section "Sampling
with the score: Langevin dynamics", eqs. (score-langevin), (score-annealed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from lecture_code import cache
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.seeding import generator_for
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "ModeWeightStudy",
    "annealed_langevin",
    "langevin",
    "mode_fraction",
    "mode_weight_study",
    "mode_weight_study_cached",
]


def langevin(
    score_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    step: float,
    n_steps: int,
    generator: torch.Generator,
    *,
    keep: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n_steps`` steps of the unadjusted Langevin algorithm (eq. (score-langevin)).

    Args:
        score_fn: ``score_fn(x) -> (B, D)``, the score :math:`\nabla\log p` at ``x: (B, D)``.
        x: ``(B, D)`` the initial points.
        step: the step size :math:`\eta > 0`.
        n_steps: number of steps, ``>= 0``.
        generator: the source of the noise :math:`\mathbf{z}_k`.
        keep: how many of the particles to record along the way (``0``: none).

    Returns:
        ``(x, path)``: ``(B, D)`` the final points and ``(n_steps + 1, keep, D)`` the paths
        of the first ``keep`` particles.
    """
    x = check_tensor("x", x, (None, None))
    step = check_real("step", step, low=0.0, low_open=True)
    n_steps = check_int("n_steps", n_steps, low=0)
    keep = check_int("keep", keep, low=0, high=x.shape[0])
    path = [x[:keep].clone()]
    root = math.sqrt(step)
    for _ in range(n_steps):
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + 0.5 * step * score_fn(x) + root * z
        path.append(x[:keep].clone())
    return x, torch.stack(path)


def annealed_langevin(
    score_fn_at_level: Callable[[torch.Tensor, float], torch.Tensor],
    x: torch.Tensor,
    noise_levels: Sequence[float],
    steps_per_level: int,
    step_scale: float,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Annealed Langevin dynamics (Song and Ermon 2019, Algorithm 1; eq. (score-annealed)):
    ``steps_per_level`` Langevin steps on each noised law :math:`q_{\sigma_i}`, from the largest
    noise level to the smallest, with step :math:`\eta_i = \texttt{step\_scale}\cdot
    \sigma_i^2`.

    (Song and Ermon write :math:`\alpha_i = \epsilon\,\sigma_i^2/\sigma_L^2`; this is the same
    rule with :math:`\epsilon = \texttt{step\_scale}\cdot\sigma_L^2`.)

    Args:
        score_fn_at_level: ``score_fn_at_level(x, sigma) -> (B, D)``, the score of the data
            noised with standard deviation ``sigma``.
        x: ``(B, D)`` the initial points.
        noise_levels: :math:`\sigma_1 > \dots > \sigma_L > 0`, strictly decreasing.
        steps_per_level: Langevin steps per level, ``>= 1``.
        step_scale: :math:`\eta_i/\sigma_i^2 > 0`.
        generator: the source of the noise.

    Returns:
        ``(B, D)`` the points after the last level.
    """
    x = check_tensor("x", x, (None, None))
    levels = [check_real("noise level", s, low=0.0, low_open=True) for s in noise_levels]
    if not levels:
        raise ValueError("noise_levels must hold at least one level, got none")
    for i in range(1, len(levels)):
        if not levels[i] < levels[i - 1]:
            raise ValueError(
                f"noise_levels must decrease strictly, got {levels[i - 1]} then {levels[i]} "
                f"at position {i}"
            )
    steps_per_level = check_int("steps_per_level", steps_per_level, low=1)
    step_scale = check_real("step_scale", step_scale, low=0.0, low_open=True)
    for sigma in levels:
        x, _ = langevin(
            lambda y, sigma=sigma: score_fn_at_level(y, sigma),
            x,
            step_scale * sigma**2,
            steps_per_level,
            generator,
        )
    return x


@dataclass(frozen=True)
class ModeWeightStudy:
    r"""Settings of the mode-weight experiment of chapter 5: a mixture of two well-separated
    round Gaussians with unequal weights, sampled by plain and by annealed Langevin dynamics
    from a broad uniform initial law.

    Attributes:
        weight: :math:`w_1`, the weight of the left mode (the right one has :math:`1 - w_1`).
        half_distance: the modes sit at :math:`(\mp d, 0)`.
        std: the standard deviation of each mode, per axis.
        half_width: :math:`R`, the initial law is uniform on :math:`[-R, R]^2`.
        n: number of particles.
        step: :math:`\eta` of the plain chain.
        n_steps: steps of the plain chain.
        sigma_max: :math:`\sigma_1`, the largest noise level of the annealed chain.
        sigma_min: :math:`\sigma_L`, the smallest.
        n_levels: :math:`L`, the number of levels (a geometric grid).
        steps_per_level: Langevin steps per level.
        step_scale: :math:`\eta_i/\sigma_i^2`.
    """

    weight: float = 0.8
    half_distance: float = 4.0
    std: float = 0.5
    half_width: float = 8.0
    n: int = 2000
    step: float = 0.01
    n_steps: int = 1000
    sigma_max: float = 10.0
    sigma_min: float = 0.05
    n_levels: int = 10
    steps_per_level: int = 200
    step_scale: float = 0.1

    def __post_init__(self) -> None:
        check_real("weight", self.weight, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("n", self.n, low=2)
        check_real("sigma_min", self.sigma_min, low=0.0, low_open=True)
        check_real("sigma_max", self.sigma_max, low=self.sigma_min, low_open=True)
        check_int("n_levels", self.n_levels, low=2)

    def mixture(self) -> GaussianMixture:
        """The two-mode mixture."""
        w, d = self.weight, self.half_distance
        return GaussianMixture(
            weights=torch.tensor([w, 1.0 - w], dtype=torch.float64),
            means=torch.tensor([[-d, 0.0], [d, 0.0]], dtype=torch.float64),
            covs=self.std**2 * torch.eye(2, dtype=torch.float64).repeat(2, 1, 1),
        )

    def noise_levels(self) -> list[float]:
        r""":math:`\sigma_1 > \dots > \sigma_L`, geometric from ``sigma_max`` to ``sigma_min``."""
        ratio = math.log(self.sigma_min / self.sigma_max) / (self.n_levels - 1)
        return [self.sigma_max * math.exp(ratio * i) for i in range(self.n_levels)]


def mode_fraction(x: torch.Tensor) -> tuple[float, float]:
    """The fraction of the points ``x: (n, 2)`` in the left half-plane (the left mode of
    :class:`ModeWeightStudy`), with its binomial standard error."""
    x = check_tensor("x", x, (None, 2))
    left = (x[:, 0] < 0).double()
    p = float(left.mean())
    return p, math.sqrt(p * (1 - p) / left.numel())


def mode_weight_study(
    study: ModeWeightStudy, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Plain and annealed Langevin on the two-mode mixture of ``study``, from the same
    initial points.

    Returns:
        ``{"initial", "plain", "annealed", "data"}``: ``(n, 2)`` points each (``"data"``:
        fresh draws of the mixture).
    """
    mixture = study.mixture()
    x_init = study.half_width * (
        2 * torch.rand(study.n, 2, generator=generator, dtype=torch.float64) - 1
    )
    plain, _ = langevin(mixture.score, x_init, study.step, study.n_steps, generator)
    annealed = annealed_langevin(
        lambda y, sigma: mixture.noised(1.0, sigma).score(y),
        x_init,
        study.noise_levels(),
        study.steps_per_level,
        study.step_scale,
        generator,
    )
    data = mixture.sample(study.n, generator)
    return {"initial": x_init, "plain": plain, "annealed": annealed, "data": data}


def mode_weight_study_cached(
    study: ModeWeightStudy, seed: int, verbose: bool = True
) -> dict[str, torch.Tensor]:
    """:func:`mode_weight_study` with the generator ``generator_for(seed, "ch05", "modes")``,
    computed once per settings, seed and code (:func:`lecture_code.cache.cached`), so that the
    chapter and its figure share one run."""
    seed = check_int("seed", seed, low=0)
    return cache.cached(
        "ch05_modes",
        (study, seed),
        lambda: mode_weight_study(study, generator_for(seed, "ch05", "modes")),
        layer="score",
        verbose=verbose,
    )
