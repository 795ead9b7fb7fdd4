r"""The variational bound of a trained noise predictor on mixture data, and the entropy it
bounds.

**The bound as a weighted regression.** With the noise parameterisation (eq. (elbo-mu-eps))
every term of the decomposition (eqs. (elbo-decomposition), (elbo-terms)) is a weighted mean
squared error of the noise plus a constant that depends on the schedule alone (eqs.
(elbo-mean-matching), (elbo-weight)); averaged over the data,

.. math::

    \begin{aligned}
    \mathbb{E}_{q(\mathbf{x}_0)}\mathcal{L} ={}& \sum_{t=1}^T \zeta_t\,
    \mathbb{E}\lVert\boldsymbol{\epsilon} - \boldsymbol{\epsilon}_\theta(\mathbf{x}_t, t)
    \rVert^2 + \mathbb{E}\mathcal{L}_T \\
    &+ \sum_{t=2}^T \frac{D}{2}\Big(r_t - 1 - \log r_t\Big)
    + \frac{D}{2}\log(2\pi\gamma_1^2), \qquad r_t = \tilde\beta_t/\gamma_t^2 ,
    \end{aligned}

where the last term is the normalisation of the Gaussian decoder
:math:`p_\theta(\mathbf{x}_0 \mid \mathbf{x}_1) = \mathcal{N}(\boldsymbol{\mu}_\theta(
\mathbf{x}_1, 1), \gamma_1^2\mathbf{I})` of continuous data, and :math:`\mathbb{E}\mathcal{L}_T
= \frac{D}{2}(-\bar\alpha_T - \log(1 - \bar\alpha_T)) + \frac{\bar\alpha_T}{2}
\mathbb{E}\lVert\mathbf{x}_0\rVert^2` is exact.

**Monte Carlo with the noise integrated out.** For mixture data the noise given
:math:`\mathbf{x}_t` has a known law: given the component :math:`c`, :math:`(\boldsymbol{\epsilon},
\mathbf{x}_t)` is Gaussian with :math:`\mathbf{x}_t \sim \mathcal{N}(a_t\boldsymbol{\mu}_c,
\mathbf{S}_c)`, :math:`\mathbf{S}_c = a_t^2\boldsymbol{\Sigma}_c + \sigma_t^2\mathbf{I}` and
:math:`\operatorname{Cov}(\boldsymbol{\epsilon}, \mathbf{x}_t) = \sigma_t\mathbf{I}`, so
:math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t, c] = \sigma_t\mathbf{S}_c^{-1}
(\mathbf{x}_t - a_t\boldsymbol{\mu}_c)` and :math:`\operatorname{Cov}(\boldsymbol{\epsilon} \mid
\mathbf{x}_t, c) = \mathbf{I} - \sigma_t^2\mathbf{S}_c^{-1}`; the component itself has the
posterior weights (responsibilities) :math:`r_c(\mathbf{x}_t)`. Then
:math:`\mathbb{E}[\lVert\boldsymbol{\epsilon} - \mathbf{e}\rVert^2 \mid \mathbf{x}_t] =
\lVert\boldsymbol{\epsilon}^\star - \mathbf{e}\rVert^2 + \operatorname{tr}
\operatorname{Cov}(\boldsymbol{\epsilon} \mid \mathbf{x}_t)` for any prediction
:math:`\mathbf{e}`, which removes the noise of :math:`\boldsymbol{\epsilon}` from the estimate
(:func:`noise_posterior`, :func:`variational_bound`). The steps are stratified: the same number
of draws of :math:`\mathbf{x}_t \sim q(\mathbf{x}_t)` at every :math:`t`.

**The entropy.** For continuous data, :math:`\mathbb{E}_q[-\log p_\theta(\mathbf{x}_0)] =
H(q) + D_{\mathrm{KL}}(q \Vert p_\theta) \ge H(q)`, and eq. (elbo-gap) puts the bound above
:math:`-\log p_\theta(\mathbf{x}_0)` point by point, so :math:`\mathbb{E}_q\mathcal{L} \ge H(q)`
for every model: :func:`mixture_entropy` gives the floor that no bound can cross.

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`), section
"The network's bound", eq. (train-bound-regression).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lecture_code.ddpm.denoiser import EpsModel
from lecture_code.ddpm.elbo import elbo_weight, reverse_variance
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.posterior import posterior_variance
from lecture_code.ddpm.schedules import NoiseSchedule
from lecture_code.runtime import torch_threads
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "BoundEstimate",
    "bound_constants",
    "mixture_entropy",
    "noise_posterior",
    "variational_bound",
]


@dataclass(frozen=True)
class BoundEstimate:
    r"""A Monte Carlo estimate of :math:`\mathbb{E}_{q(\mathbf{x}_0)}\mathcal{L}` in nats.

    Attributes:
        value: the bound.
        se: its standard error (one standard error).
        regression: the estimate of :math:`\sum_t \zeta_t\mathbb{E}\lVert\boldsymbol{\epsilon}
            - \boldsymbol{\epsilon}_\theta\rVert^2`.
        learning_error: the part of it due to the model,
            :math:`\sum_t \zeta_t\mathbb{E}\lVert\boldsymbol{\epsilon}^\star -
            \boldsymbol{\epsilon}_\theta\rVert^2`.
        learning_error_se: its standard error.
        per_step_error: ``(T+1,)`` the terms :math:`\zeta_t\mathbb{E}\lVert
            \boldsymbol{\epsilon}^\star - \boldsymbol{\epsilon}_\theta\rVert^2` (entry 0 is 0).
        prior: :math:`\mathbb{E}\mathcal{L}_T`, exact.
        variance_terms: :math:`\sum_{t=2}^T \frac{D}{2}(r_t - 1 - \log r_t)`, exact.
        decoder_constant: :math:`\frac{D}{2}\log(2\pi\gamma_1^2)`, exact.
    """

    value: float
    se: float
    regression: float
    learning_error: float
    learning_error_se: float
    per_step_error: torch.Tensor
    prior: float
    variance_terms: float
    decoder_constant: float


def noise_posterior(
    mixture: GaussianMixture, x_t: torch.Tensor, scale: torch.Tensor, sigma: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The law of the noise given the noisy point, for data from a Gaussian mixture.

    Args:
        mixture: the data distribution :math:`q(\mathbf{x}_0)`.
        x_t: ``(B, D)`` noisy points :math:`a\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}`.
        scale: ``(B,)`` their :math:`a_t = \sqrt{\bar\alpha_t}`.
        sigma: ``(B,)`` their :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`, positive.

    Returns:
        ``(r, e, trace_cov)``: ``(B, C)`` responsibilities :math:`r_c(\mathbf{x}_t)`,
        ``(B, C, D)`` component means :math:`\mathbb{E}[\boldsymbol{\epsilon} \mid
        \mathbf{x}_t, c]` and ``(B,)`` :math:`\operatorname{tr}\operatorname{Cov}(
        \boldsymbol{\epsilon} \mid \mathbf{x}_t)`. The mean :math:`\boldsymbol{\epsilon}^\star
        = \sum_c r_c\,\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t, c]` is eq.
        (train-oracle), computed here without the score.
    """
    dims: dict[str, int] = {}
    x_t = check_tensor("x_t", x_t, ("B", mixture.D), dims=dims).to(torch.float64)
    a = check_tensor("scale", scale, ("B",), dims=dims).to(torch.float64)
    s = check_tensor("sigma", sigma, ("B",), dims=dims).to(torch.float64)
    if bool((s <= 0).any()):
        raise ValueError(f"sigma must be positive, got minimum {s.min().item()}")
    D = mixture.D
    eye = torch.eye(D, dtype=torch.float64)
    # S_c = a^2 Sigma_c + sigma^2 I for every row and component: (B, C, D, D).
    S = a[:, None, None, None] ** 2 * mixture.covs + s[:, None, None, None] ** 2 * eye
    S_inv = torch.linalg.inv(S)
    diff = x_t[:, None, :] - a[:, None, None] * mixture.means  # (B, C, D)
    solved = torch.einsum("bcij,bcj->bci", S_inv, diff)
    log_w = mixture.weights.log() - 0.5 * (
        torch.logdet(S) + (diff * solved).sum(-1) + D * math.log(2 * math.pi)
    )
    r = torch.softmax(log_w, dim=1)  # (B, C)
    e = s[:, None, None] * solved  # E[eps | x_t, c]
    eps_star = (r[:, :, None] * e).sum(1)
    within = D - s[:, None] ** 2 * torch.einsum("bcii->bc", S_inv)  # tr Cov(eps | x_t, c)
    # Law of total variance: tr Cov = sum_c r_c (within_c + |e_c|^2) - |eps_star|^2.
    trace_cov = (r * (within + (e**2).sum(-1))).sum(1) - (eps_star**2).sum(1)
    return r, e, trace_cov


def bound_constants(
    schedule: NoiseSchedule, mixture: GaussianMixture, gamma2: torch.Tensor
) -> tuple[float, float, float]:
    r"""The parts of the bound that no model changes:
    ``(prior, variance_terms, decoder_constant)`` as in :class:`BoundEstimate`.

    Args:
        schedule: the schedule of the bound.
        mixture: the data (for :math:`\mathbb{E}\lVert\mathbf{x}_0\rVert^2`).
        gamma2: ``(T+1,)`` reverse-step variances.
    """
    T, D = schedule.T, mixture.D
    check_tensor("gamma2", gamma2, (T + 1,))
    alpha_bar_T = float(schedule.alpha_bar[T])
    second_moment = float(torch.trace(mixture.covariance) + (mixture.mean**2).sum())
    prior = 0.5 * D * (-alpha_bar_T - math.log1p(-alpha_bar_T)) + 0.5 * alpha_bar_T * second_moment
    variance_terms = 0.0
    if T >= 2:
        t = torch.arange(2, T + 1)
        ratio = posterior_variance(schedule, t) / gamma2[t]
        variance_terms = float((0.5 * D * (ratio - 1 - ratio.log())).sum())
    decoder_constant = 0.5 * D * math.log(2 * math.pi * float(gamma2[1]))
    return prior, variance_terms, decoder_constant


def variational_bound(
    eps_model: EpsModel,
    schedule: NoiseSchedule,
    mixture: GaussianMixture,
    n_per_step: int,
    generator: torch.Generator,
    gamma2: torch.Tensor | None = None,
) -> BoundEstimate:
    r""":math:`\mathbb{E}_{q(\mathbf{x}_0)}\mathcal{L}` of the model built from ``eps_model``
    (eq. (train-bound-regression)), by stratified Monte Carlo with the noise integrated out.

    At every step :math:`t = 1..T`, ``n_per_step`` fresh :math:`\mathbf{x}_0 \sim q` and
    :math:`\mathbf{x}_t \sim q(\mathbf{x}_t \mid \mathbf{x}_0)`; each contributes
    :math:`\zeta_t(\lVert\boldsymbol{\epsilon}^\star - \boldsymbol{\epsilon}_\theta\rVert^2 +
    \operatorname{tr}\operatorname{Cov}(\boldsymbol{\epsilon} \mid \mathbf{x}_t))`
    (:func:`noise_posterior`).

    Args:
        eps_model: the noise predictor, called with the noise levels of ``schedule``.
        schedule: the schedule of the model (any ``T``).
        mixture: the data distribution.
        n_per_step: draws per step, ``>= 2``.
        generator: the source of the draws.
        gamma2: ``(T+1,)`` reverse-step variances; default :math:`\gamma_t^2 = \beta_t`.
    """
    n = check_int("n_per_step", n_per_step, low=2)
    T = schedule.T
    gamma2 = reverse_variance(schedule, "beta") if gamma2 is None else gamma2
    t = torch.arange(1, T + 1).repeat_interleave(n)  # (T n,), stratified
    x_0 = mixture.sample(t.numel(), generator)
    noise = torch.randn(x_0.shape, generator=generator, dtype=torch.float64)
    a, s = schedule.scale[t], schedule.sigma[t]
    x_t = a[:, None] * x_0 + s[:, None] * noise
    with torch.no_grad(), torch_threads(1):
        eps_theta = eps_model(x_t, schedule.log_snr[t]).to(torch.float64)
    r, e, trace_cov = noise_posterior(mixture, x_t, a, s)
    eps_star = (r[:, :, None] * e).sum(1)
    zeta = elbo_weight(schedule, t, gamma2)
    error = (zeta * ((eps_star - eps_theta) ** 2).sum(1)).reshape(T, n)
    total = error + (zeta * trace_cov).reshape(T, n)
    # Stratified sums: sum over t of per-step means; variances add.
    regression = float(total.mean(1).sum())
    se = math.sqrt(float((total.var(1) / n).sum()))
    learning_error_se = math.sqrt(float((error.var(1) / n).sum()))
    per_step = torch.cat([torch.zeros(1, dtype=torch.float64), error.mean(1)])
    prior, variance_terms, decoder_constant = bound_constants(schedule, mixture, gamma2)
    return BoundEstimate(
        value=regression + prior + variance_terms + decoder_constant,
        se=se,
        regression=regression,
        learning_error=float(per_step.sum()),
        learning_error_se=learning_error_se,
        per_step_error=per_step,
        prior=prior,
        variance_terms=variance_terms,
        decoder_constant=decoder_constant,
    )


def mixture_entropy(
    mixture: GaussianMixture, n: int, generator: torch.Generator
) -> tuple[float, float]:
    r"""The differential entropy :math:`H(q) = \mathbb{E}_q[-\log q(\mathbf{x}_0)]` of a
    mixture by Monte Carlo with its exact density.

    Args:
        mixture: the distribution.
        n: number of draws, ``>= 2``.
        generator: the source of the draws.

    Returns:
        ``(entropy, se)`` in nats, ``se`` one standard error.
    """
    n = check_int("n", n, low=2)
    values = -mixture.log_prob(mixture.sample(n, generator))
    return float(values.mean()), float(values.std()) / math.sqrt(n)
