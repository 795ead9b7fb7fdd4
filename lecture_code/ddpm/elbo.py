r"""The variational bound of a diffusion model, its terms, and the noise-prediction loss.

The reverse model is a Markov chain run from noise to data,

.. math::

    \begin{aligned}
    p_\theta(\mathbf{x}_{0:T}) &= p(\mathbf{x}_T) \prod_{t=1}^T
    p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t), \\
    p(\mathbf{x}_T) &= \mathcal{N}(\mathbf{0}, \mathbf{I}), \\
    p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t)
    &= \mathcal{N}\big(\boldsymbol{\mu}_\theta(\mathbf{x}_t, t), \gamma_t^2\mathbf{I}\big),
    \end{aligned}

with reverse-step variances :math:`\gamma_t^2` fixed in advance (:func:`reverse_variance`). For
one data point the bound is (eq. (elbo-bound))

.. math::

    \begin{aligned}
    -\log p_\theta(\mathbf{x}_0) &\le
    \mathbb{E}_{q(\mathbf{x}_{1:T} \mid \mathbf{x}_0)}\big[\log q(\mathbf{x}_{1:T} \mid
    \mathbf{x}_0) - \log p_\theta(\mathbf{x}_{0:T})\big] \\
    &= \mathcal{L}_T + \sum_{t=2}^T \mathcal{L}_{t-1} + \mathcal{L}_0,
    \end{aligned}

with the prior term :math:`\mathcal{L}_T = D_{\mathrm{KL}}(q(\mathbf{x}_T \mid \mathbf{x}_0)
\Vert p(\mathbf{x}_T))`, the denoising terms :math:`\mathcal{L}_{t-1} =
\mathbb{E}_{q(\mathbf{x}_t \mid \mathbf{x}_0)} D_{\mathrm{KL}}(q(\mathbf{x}_{t-1} \mid
\mathbf{x}_t, \mathbf{x}_0) \Vert p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t))` and the
reconstruction term :math:`\mathcal{L}_0 = -\mathbb{E}\log p_\theta(\mathbf{x}_0 \mid
\mathbf{x}_1)` (eq. (elbo-decomposition)). The decomposition holds trajectory by trajectory,
before any expectation (eq. (elbo-per-sample)): :func:`trajectory_log_ratio` and
:func:`bound_terms_per_sample` compute the two sides on the same samples; one random step
per data point is an unbiased estimate without the chain (:func:`bound_estimate_random_step`).

With the noise parameterisation (eq. (elbo-mu-eps))

.. math::

    \boldsymbol{\mu}_\theta(\mathbf{x}_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(\mathbf{x}_t -
    \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, t)\Big)

each denoising term is a weighted mean squared error of the noise (eq. (elbo-weight)),
:math:`\mathcal{L}_{t-1} = \zeta_t\,\mathbb{E}\lVert\boldsymbol{\epsilon} -
\boldsymbol{\epsilon}_\theta\rVert^2 + \text{const}` with :math:`\zeta_t = \beta_t^2 /
(2\gamma_t^2\alpha_t(1 - \bar\alpha_t))`, and dropping the weights gives
:math:`\mathcal{L}_{\text{simple}}` (eq. (elbo-simple)) of

    J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
    arXiv:2006.11239.

The density of an isotropic Gaussian, :func:`lecture_code.ddpm.forward.log_normal`, is that of
chapter 2; the solved form :math:`\hat{\mathbf{x}}_0(\boldsymbol{\epsilon})` of eq.
(elbo-x0-eps) is :func:`lecture_code.ddpm.conversions.x_0_from_eps`.

Book: chapter 3, "The reverse process and the ELBO"
(:doc:`/book/part1/03_reverse_process_elbo`), sections "The variational bound", "KL divergence
between Gaussians" and "Predicting the noise", algorithm (alg-elbo-monte-carlo), eqs.
(elbo-bound), (elbo-decomposition), (elbo-per-sample), (elbo-mu-eps), (elbo-weight),
(elbo-simple).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lecture_code.ddpm.forward import log_normal
from lecture_code.ddpm.gaussian_kl import gaussian_kl
from lecture_code.ddpm.posterior import (
    check_posterior_steps,
    posterior_coefficients,
    posterior_mean,
)
from lecture_code.ddpm.schedules import NoiseSchedule
from lecture_code.validation import check_choice, check_tensor, per_sample

__all__ = [
    "BoundTerms",
    "MeanFn",
    "bound_estimate_random_step",
    "bound_terms",
    "bound_terms_per_sample",
    "elbo_weight",
    "loss_simple",
    "mu_from_eps",
    "reverse_variance",
    "trajectory_log_ratio",
]

#: The type of a reverse mean ``mu_theta(x_t, t)``, with ``x_t`` of shape ``(B, D)`` and ``t``
#: of shape ``(B,)``, returning shape ``(B, D)``.
MeanFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- the reverse model's variances ---------------------------------------------------------
def reverse_variance(schedule: NoiseSchedule, kind: str = "beta") -> torch.Tensor:
    r"""The fixed reverse-step variances :math:`\gamma_t^2` of Ho et al. (2020), ``(T+1,)``
    float64.

    ``"beta"``: :math:`\gamma_t^2 = \beta_t` (also Bishop and Bishop's Algorithm 20.2).
    ``"beta_tilde"``: :math:`\gamma_t^2 = \tilde\beta_t` for :math:`t \ge 2`; since
    :math:`\tilde\beta_1 = 0` would make :math:`p_\theta(\mathbf{x}_0 \mid \mathbf{x}_1)` a point
    mass, the entry :math:`t = 1` is :math:`\beta_1`. Entry 0 is unused and set to 0.

    Args:
        schedule: the noise schedule.
        kind: ``"beta"`` or ``"beta_tilde"``.
    """
    check_choice("kind", kind, ("beta", "beta_tilde"))
    gamma2 = schedule.beta.clone()
    if kind == "beta_tilde" and schedule.T >= 2:
        t = torch.arange(2, schedule.T + 1)
        gamma2[2:] = posterior_coefficients(schedule, t)[2]
    return gamma2


def _check_gamma2(gamma2: torch.Tensor, schedule: NoiseSchedule) -> None:
    check_tensor("gamma2", gamma2, (schedule.T + 1,))
    bad = (gamma2[1:] <= 0).nonzero()
    if bad.numel() > 0:
        t = int(bad[0, 0]) + 1
        raise ValueError(
            f"gamma2[t] must be positive for t = 1..T, got gamma2[{t}] = {gamma2[t].item()}"
        )


def _check_trajectory(x: torch.Tensor, schedule: NoiseSchedule) -> None:
    check_tensor("x", x, (schedule.T + 1, "B", "D"))


def _steps(t: int, B: int) -> torch.Tensor:
    return torch.full((B,), t, dtype=torch.long)


# --- the bound, directly and term by term --------------------------------------------------
def trajectory_log_ratio(
    mu_theta: MeanFn, schedule: NoiseSchedule, x: torch.Tensor, gamma2: torch.Tensor
) -> torch.Tensor:
    r""":math:`\log q(\mathbf{x}_{1:T} \mid \mathbf{x}_0) - \log p_\theta(\mathbf{x}_{0:T})`
    for each trajectory, straight from the two products of Gaussians (eq. (elbo-bound)):

    .. math::

        \sum_{t=1}^T \log q(\mathbf{x}_t \mid \mathbf{x}_{t-1}) - \log p(\mathbf{x}_T)
        - \sum_{t=1}^T \log p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t).

    Its mean over trajectories from :math:`q(\mathbf{x}_{1:T} \mid \mathbf{x}_0)` is the bound.

    Args:
        mu_theta: the reverse mean, ``mu_theta(x_t, t)`` with ``x_t: (B, D)``, ``t: (B,)``.
        schedule: the noise schedule of the forward process.
        x: ``(T+1, B, D)`` trajectories :math:`\mathbf{x}_0, \dots, \mathbf{x}_T` (the output of
            :func:`lecture_code.ddpm.forward.forward_chain`).
        gamma2: ``(T+1,)`` reverse-step variances :math:`\gamma_t^2`, ``gamma2[t]`` for
            ``t = 1..T``.

    Returns:
        ``(B,)``.
    """
    _check_trajectory(x, schedule)
    _check_gamma2(gamma2, schedule)
    B = x.shape[1]
    ones = x.new_ones(B, dtype=torch.float64)
    x_T = x[-1]
    total = -log_normal(x_T, torch.zeros_like(x_T), ones)
    for t in range(1, schedule.T + 1):
        steps = _steps(t, B)
        forward_mean = math.sqrt(schedule.alpha[t]) * x[t - 1]
        total = total + log_normal(x[t], forward_mean, schedule.beta[t] * ones)
        total = total - log_normal(x[t - 1], mu_theta(x[t], steps), gamma2[t] * ones)
    return total


@dataclass(frozen=True)
class BoundTerms:
    r"""The terms of the bound for a batch of data points (eq. (elbo-decomposition)).

    Attributes:
        L_T: ``(B,)`` the prior term :math:`\mathcal{L}_T`.
        L_mid: ``(B, T-1)`` the denoising terms; column ``t - 2`` holds
            :math:`\mathcal{L}_{t-1}` for ``t = 2..T``.
        L_0: ``(B,)`` the reconstruction term :math:`\mathcal{L}_0`.
    """

    L_T: torch.Tensor
    L_mid: torch.Tensor
    L_0: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        r"""``(B,)``: :math:`\mathcal{L}_T + \sum_{t=2}^T \mathcal{L}_{t-1} + \mathcal{L}_0`."""
        return self.L_T + self.L_mid.sum(dim=1) + self.L_0


def bound_terms_per_sample(
    mu_theta: MeanFn, schedule: NoiseSchedule, x: torch.Tensor, gamma2: torch.Tensor
) -> BoundTerms:
    r"""The decomposition of :func:`trajectory_log_ratio`, trajectory by trajectory
    (eq. (elbo-per-sample)):

    .. math::

        \log\frac{q(\mathbf{x}_T \mid \mathbf{x}_0)}{p(\mathbf{x}_T)}
        + \sum_{t=2}^T \log\frac{q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0)}
        {p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t)}
        - \log p_\theta(\mathbf{x}_0 \mid \mathbf{x}_1).

    Each bracket is a single-sample estimate of the matching term of :class:`BoundTerms`; their
    sum equals :func:`trajectory_log_ratio` on the same trajectory up to rounding.

    Args:
        mu_theta: the reverse mean, ``mu_theta(x_t, t)``.
        schedule: the noise schedule of the forward process.
        x: ``(T+1, B, D)`` trajectories.
        gamma2: ``(T+1,)`` reverse-step variances.
    """
    return _bound_terms(mu_theta, schedule, x, gamma2, closed_form=False)


def bound_terms(
    mu_theta: MeanFn, schedule: NoiseSchedule, x: torch.Tensor, gamma2: torch.Tensor
) -> BoundTerms:
    r"""The terms of the bound with the KL divergences in closed form
    (eq. (elbo-decomposition)).

    :math:`\mathcal{L}_T` is exact (it depends on :math:`\mathbf{x}_0` alone). For
    :math:`\mathcal{L}_{t-1}` the KL divergence between the Gaussians
    :math:`q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0)` and
    :math:`p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t)` is computed exactly at the sampled
    :math:`\mathbf{x}_t` (:func:`lecture_code.ddpm.gaussian_kl.gaussian_kl`), which removes the
    noise of :math:`\mathbf{x}_{t-1}`; :math:`\mathcal{L}_0` uses the sampled :math:`\mathbf{x}_1`.
    Averaged over trajectories each term has the same mean as in :func:`bound_terms_per_sample`
    and a smaller variance (the noise of :math:`\mathbf{x}_{t-1}` is integrated out). Their sum
    need not be less noisy: the single-path terms share noise that partly cancels along a path.

    Args:
        mu_theta: the reverse mean, ``mu_theta(x_t, t)``.
        schedule: the noise schedule of the forward process.
        x: ``(T+1, B, D)`` trajectories (only ``x[0]`` and each ``x[t]`` are used, so the
            ``x[t]`` may also be independent draws of :math:`q(\mathbf{x}_t \mid \mathbf{x}_0)`).
        gamma2: ``(T+1,)`` reverse-step variances.
    """
    return _bound_terms(mu_theta, schedule, x, gamma2, closed_form=True)


def _bound_terms(
    mu_theta: MeanFn,
    schedule: NoiseSchedule,
    x: torch.Tensor,
    gamma2: torch.Tensor,
    closed_form: bool,
) -> BoundTerms:
    """The two decompositions share everything but how L_T and each L_(t-1) are evaluated:
    as a single-sample log-ratio, or as the closed-form KL divergence at the sampled x_t."""
    _check_trajectory(x, schedule)
    _check_gamma2(gamma2, schedule)
    T, B = schedule.T, x.shape[1]
    ones = x.new_ones(B, dtype=torch.float64)
    x_0, x_T = x[0], x[-1]
    if closed_form:
        L_T = gaussian_kl(schedule.scale[T] * x_0, schedule.sigma[T] ** 2 * ones, 0 * x_0, ones)
    else:
        L_T = log_normal(x_T, schedule.scale[T] * x_0, schedule.sigma[T] ** 2 * ones)
        L_T = L_T - log_normal(x_T, torch.zeros_like(x_T), ones)
    L_mid = x.new_zeros(B, max(T - 1, 0), dtype=torch.float64)
    for t in range(2, T + 1):
        steps = _steps(t, B)
        mu_tilde = posterior_mean(schedule, x[t], x_0, steps)
        beta_tilde = posterior_coefficients(schedule, steps)[2]
        mu = mu_theta(x[t], steps)
        if closed_form:
            L_mid[:, t - 2] = gaussian_kl(mu_tilde, beta_tilde, mu, gamma2[t] * ones)
        else:
            log_q = log_normal(x[t - 1], mu_tilde, beta_tilde)
            L_mid[:, t - 2] = log_q - log_normal(x[t - 1], mu, gamma2[t] * ones)
    L_0 = -log_normal(x_0, mu_theta(x[1], _steps(1, B)), gamma2[1] * ones)
    return BoundTerms(L_T=L_T, L_mid=L_mid, L_0=L_0)


def bound_estimate_random_step(
    mu_theta: MeanFn,
    schedule: NoiseSchedule,
    x_0: torch.Tensor,
    gamma2: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""An unbiased estimate of the bound :math:`\mathcal{L}(\mathbf{x}_0)` from one random
    step per data point, without simulating the chain (the way training uses the bound).

    Draw :math:`t \sim \mathcal{U}\{1, \dots, T\}` and :math:`\mathbf{x}_t \sim
    q(\mathbf{x}_t \mid \mathbf{x}_0)` in one step (eq. (fwd-reparam)); return
    :math:`\mathcal{L}_T + T\,\ell_t`, with :math:`\ell_t` the closed-form KL divergence of
    :math:`\mathcal{L}_{t-1}` at that :math:`\mathbf{x}_t` for :math:`t \ge 2` and
    :math:`-\log p_\theta(\mathbf{x}_0 \mid \mathbf{x}_1)` for :math:`t = 1`. Its mean is
    the sum of eq. (elbo-decomposition).

    Args:
        mu_theta: the reverse mean, ``mu_theta(x_t, t)``.
        schedule: the noise schedule.
        x_0: ``(B, D)`` data points.
        gamma2: ``(T+1,)`` reverse-step variances.
        generator: the source of the steps and the noise.

    Returns:
        ``(B,)`` float64.
    """
    check_tensor("x_0", x_0, ("B", "D"))
    _check_gamma2(gamma2, schedule)
    x_0 = x_0.to(torch.float64)
    T, ones = schedule.T, x_0.new_ones(x_0.shape[0])
    L_T = gaussian_kl(schedule.scale[T] * x_0, schedule.sigma[T] ** 2 * ones, 0 * x_0, ones)
    t = torch.randint(1, T + 1, (x_0.shape[0],), generator=generator)
    eps = torch.randn(x_0.shape, generator=generator, dtype=torch.float64)
    x_t = per_sample(schedule.scale[t], x_0) * x_0 + per_sample(schedule.sigma[t], eps) * eps
    mu = mu_theta(x_t, t)
    term = -log_normal(x_0, mu, gamma2[t] * ones)  # t = 1: the posterior is a point mass
    late = t >= 2
    if bool(late.any()):
        s = t[late]
        mu_tilde = posterior_mean(schedule, x_t[late], x_0[late], s)
        beta_tilde = posterior_coefficients(schedule, s)[2]
        term[late] = gaussian_kl(mu_tilde, beta_tilde, mu[late], gamma2[s])
    return L_T + T * term


# --- predicting the noise ------------------------------------------------------------------
def mu_from_eps(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    r""":math:`\frac{1}{\sqrt{\alpha_t}}\big(\mathbf{x}_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}
    \boldsymbol{\epsilon}\big)` (eq. (elbo-mu-eps)): the posterior mean
    :math:`\tilde{\boldsymbol{\mu}}_t(\mathbf{x}_t, \hat{\mathbf{x}}_0)` with
    :math:`\hat{\mathbf{x}}_0` from :func:`lecture_code.ddpm.conversions.x_0_from_eps`.

    With ``eps`` the true noise that produced ``x_t`` it equals
    :func:`lecture_code.ddpm.posterior.posterior_mean`; with a network's prediction it is
    :math:`\boldsymbol{\mu}_\theta`.

    Args:
        schedule: the noise schedule.
        x_t: ``(B, D)``.
        t: ``(B,)`` integer steps in :math:`[1, T]`.
        eps: ``(B, D)``, a noise (true or predicted).

    Returns:
        ``(B, D)``, in the dtype of ``x_t``.
    """
    dims: dict[str, int] = {}
    check_tensor("x_t", x_t, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    check_posterior_steps(t, schedule, dims)
    coef_eps = (schedule.beta[t] / schedule.sigma[t]).to(x_t.dtype)
    inv_sqrt_alpha = torch.rsqrt(schedule.alpha[t]).to(x_t.dtype)
    return per_sample(inv_sqrt_alpha, x_t) * (x_t - per_sample(coef_eps, eps) * eps)


def elbo_weight(schedule: NoiseSchedule, t: torch.Tensor, gamma2: torch.Tensor) -> torch.Tensor:
    r""":math:`\zeta_t = \frac{\beta_t^2}{2\gamma_t^2\alpha_t(1-\bar\alpha_t)}`
    (eq. (elbo-weight)), the weight of :math:`\lVert\boldsymbol{\epsilon} -
    \boldsymbol{\epsilon}_\theta\rVert^2` in :math:`\mathcal{L}_{t-1}` (and in
    :math:`\mathcal{L}_0` at :math:`t = 1`).

    Args:
        schedule: the noise schedule.
        t: ``(B,)`` integer steps in :math:`[1, T]`.
        gamma2: ``(T+1,)`` reverse-step variances :math:`\gamma_t^2`.

    Returns:
        ``(B,)`` float64.
    """
    dims: dict[str, int] = {}
    check_posterior_steps(t, schedule, dims)
    _check_gamma2(gamma2, schedule)
    beta, alpha = schedule.beta[t], schedule.alpha[t]
    return beta**2 / (2 * gamma2[t] * alpha * schedule.sigma[t] ** 2)


def loss_simple(eps_theta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathcal{L}_{\text{simple}}`, the batch mean of
    :math:`\lVert\boldsymbol{\epsilon} - \boldsymbol{\epsilon}_\theta\rVert^2`
    (eq. (elbo-simple)).

    Args:
        eps_theta: ``(B, D)`` predicted noise.
        eps: ``(B, D)`` the noise that was added.

    Returns:
        A scalar tensor (differentiable in ``eps_theta``).
    """
    dims: dict[str, int] = {}
    check_tensor("eps_theta", eps_theta, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    return ((eps - eps_theta) ** 2).sum(dim=1).mean()
