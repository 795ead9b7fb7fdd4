r"""Diffusion of Gaussian data, solved exactly: the optimal reverse model, its likelihood and
its bound.

For data :math:`\mathbf{x}_0 \sim \mathcal{N}(\mathbf{m}, v_0\mathbf{I})` every distribution of
the forward process is Gaussian. The marginals are :math:`q(\mathbf{x}_t) =
\mathcal{N}(\sqrt{\bar\alpha_t}\,\mathbf{m}, v_t\mathbf{I})` with :math:`v_t = \bar\alpha_t v_0
+ 1 - \bar\alpha_t`, and since :math:`(\mathbf{x}_{t-1}, \mathbf{x}_t)` is jointly Gaussian with
covariance :math:`\sqrt{\alpha_t}\,v_{t-1}\mathbf{I}`, the true reverse step is Gaussian with a
mean linear in :math:`\mathbf{x}_t` (eq. (elbo-gauss-reverse)):

.. math::

    q(\mathbf{x}_{t-1} \mid \mathbf{x}_t) = \mathcal{N}\Big(\sqrt{\bar\alpha_{t-1}}\,\mathbf{m}
    + \frac{\sqrt{\alpha_t}\,v_{t-1}}{v_t}\big(\mathbf{x}_t - \sqrt{\bar\alpha_t}\,\mathbf{m}\big),
    \; \frac{\beta_t v_{t-1}}{v_t}\mathbf{I}\Big).

Written as ``slope * x_t + offset``, the slope is :math:`\sqrt{\alpha_t}\,v_{t-1}/v_t` and the
offset :math:`\sqrt{\bar\alpha_{t-1}}\,\beta_t\mathbf{m}/v_t`. For reverse variances
:math:`\gamma_t^2` fixed in advance, the mean that minimises the bound is this conditional mean
:math:`\mathbb{E}_q[\mathbf{x}_{t-1} \mid \mathbf{x}_t]`. The reverse chain
:math:`p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t) = \mathcal{N}(\text{slope}_t\,\mathbf{x}_t +
\text{offset}_t, \gamma_t^2\mathbf{I})` from :math:`p(\mathbf{x}_T) = \mathcal{N}(\mathbf{0},
\mathbf{I})` is linear and Gaussian, so :math:`\log p_\theta(\mathbf{x}_0)`, every term of the
bound and the gap :math:`D_{\mathrm{KL}}(q(\mathbf{x}_{1:T} \mid \mathbf{x}_0) \Vert
p_\theta(\mathbf{x}_{1:T} \mid \mathbf{x}_0))` have closed forms. Each coordinate is an
independent copy of the same one-dimensional problem with its own mean.

Averages over the data are exact too. Every quantity here (the bound, :math:`\log
p_\theta(\mathbf{x}_0)`, the gap) is a sum over coordinates of quadratics in one coordinate of
:math:`\mathbf{x}_0`, and for such a function the average over the two points
:math:`\mathbf{m} \pm \sqrt{v_0}\,\mathbf{1}` (:func:`gaussian_nodes`) equals its
expectation under :math:`\mathcal{N}(\mathbf{m}, v_0\mathbf{I})`: per coordinate,
:math:`\tfrac12[g(m + \sqrt{v_0}) + g(m - \sqrt{v_0})] = g(m) + \tfrac12 g'' v_0 =
\mathbb{E}\,g` for a quadratic :math:`g`. So :func:`expected_bound_gradient` is the exact
gradient of the data-averaged bound, and :func:`reverse_step_kl` gives the exact terms of the
chain rule of the gap (section "Gaussian data", exercise "Why the gap falls like 1/T").

Book: chapter 3, "The reverse process and the ELBO"
(:doc:`/book/part1/03_reverse_process_elbo`), sections "Gaussian data: the bound in closed form" and
"Learning the variances", eqs. (elbo-gauss-reverse), (elbo-gap), (elbo-learned-kl).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lecture_code.ddpm.elbo import BoundTerms
from lecture_code.ddpm.gaussian_kl import gaussian_kl
from lecture_code.ddpm.posterior import check_posterior_steps, posterior_coefficients
from lecture_code.ddpm.schedules import NoiseSchedule, check_steps
from lecture_code.validation import check_real, check_tensor, per_sample

__all__ = [
    "LinearReverse",
    "exact_bound",
    "expected_bound_gradient",
    "gaussian_nodes",
    "marginal_variance",
    "mean_gap",
    "optimal_reverse",
    "path_kl",
    "reverse_step_kl",
]


def marginal_variance(schedule: NoiseSchedule, v_0: float) -> torch.Tensor:
    r""":math:`v_t = \bar\alpha_t v_0 + 1 - \bar\alpha_t`, ``(T+1,)`` float64: the variance per
    coordinate of :math:`q(\mathbf{x}_t)` for data of variance :math:`v_0 > 0`."""
    v_0 = check_real("v_0", v_0, low=0.0, low_open=True)
    return schedule.alpha_bar * v_0 + schedule.sigma**2


@dataclass(frozen=True, eq=False)
class LinearReverse:
    r"""A linear-Gaussian reverse chain :math:`p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t) =
    \mathcal{N}(\text{slope}_t\,\mathbf{x}_t + \text{offset}_t, \gamma_t^2\mathbf{I})`,
    :math:`p(\mathbf{x}_T) = \mathcal{N}(\mathbf{0}, \mathbf{I})`.

    Attributes:
        slope: ``(T+1,)`` (entry 0 unused).
        offset: ``(T+1, D)`` (row 0 unused).
        gamma2: ``(T+1,)`` reverse-step variances :math:`\gamma_t^2` (entry 0 unused).
    """

    slope: torch.Tensor
    offset: torch.Tensor
    gamma2: torch.Tensor

    @property
    def T(self) -> int:
        """Number of steps."""
        return self.slope.numel() - 1

    def mu_theta(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        r""":math:`\text{slope}_t\,\mathbf{x}_t + \text{offset}_t` for ``x_t: (B, D)`` and
        ``t: (B,)`` in :math:`[1, T]`; returns ``(B, D)``. A
        :data:`lecture_code.ddpm.elbo.MeanFn`."""
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", self.offset.shape[1]), dims=dims)
        check_steps(t, self.T, dims=dims)
        return per_sample(self.slope[t], x_t) * x_t + self.offset[t]

    def marginals(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Means ``(T+1, D)`` and variances per coordinate ``(T+1,)`` of
        :math:`p_\theta(\mathbf{x}_t)`, from :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})` at
        :math:`t = T` backwards: a mean maps to slope times mean plus offset, a variance to
        slope squared times variance plus :math:`\gamma_t^2`."""
        T, D = self.T, self.offset.shape[1]
        mean = torch.zeros(T + 1, D, dtype=torch.float64)
        var = torch.ones(T + 1, dtype=torch.float64)
        for t in range(T, 0, -1):
            mean[t - 1] = self.slope[t] * mean[t] + self.offset[t]
            var[t - 1] = self.slope[t] ** 2 * var[t] + self.gamma2[t]
        return mean, var

    def log_likelihood(self, x_0: torch.Tensor) -> torch.Tensor:
        r"""The exact :math:`\log p_\theta(\mathbf{x}_0)` for ``x_0: (B, D)``; returns ``(B,)``."""
        x_0 = check_tensor("x_0", x_0, ("B", self.offset.shape[1])).to(torch.float64)
        mean, var = self.marginals()
        D = x_0.shape[1]
        return -0.5 * D * torch.log(2 * math.pi * var[0]) - ((x_0 - mean[0]) ** 2).sum(1) / (
            2 * var[0]
        )


def optimal_reverse(
    schedule: NoiseSchedule, m: torch.Tensor, v_0: float, gamma2: torch.Tensor | None = None
) -> LinearReverse:
    r"""The reverse chain with the true conditional means :math:`\mathbb{E}_q[\mathbf{x}_{t-1}
    \mid \mathbf{x}_t]` of data :math:`\mathcal{N}(\mathbf{m}, v_0\mathbf{I})`
    (eq. (elbo-gauss-reverse)).

    Args:
        schedule: the noise schedule.
        m: ``(D,)`` the data mean :math:`\mathbf{m}`.
        v_0: the data variance per coordinate, ``> 0``.
        gamma2: ``(T+1,)`` fixed reverse-step variances :math:`\gamma_t^2` (e.g.
            :func:`lecture_code.ddpm.elbo.reverse_variance`); ``None`` takes the true conditional
            variances :math:`\beta_t v_{t-1}/v_t`, which makes every reverse step exact.

    Returns:
        The :class:`LinearReverse`.
    """
    m = check_tensor("m", m, ("D",)).to(torch.float64)
    v = marginal_variance(schedule, v_0)
    T = schedule.T
    slope = torch.zeros(T + 1, dtype=torch.float64)
    offset = torch.zeros(T + 1, m.numel(), dtype=torch.float64)
    t = torch.arange(1, T + 1)
    beta = schedule.beta[t]
    slope[1:] = torch.sqrt(schedule.alpha[t]) * v[t - 1] / v[t]
    # sqrt(ab_{t-1}) m - slope sqrt(ab_t) m = sqrt(ab_{t-1}) m (1 - alpha v_{t-1} / v_t), and
    # v_t - alpha_t v_{t-1} = beta_t.
    offset[1:] = (torch.sqrt(schedule.alpha_bar[t - 1]) * beta / v[t])[:, None] * m
    if gamma2 is None:
        gamma2 = torch.zeros(T + 1, dtype=torch.float64)
        gamma2[1:] = beta * v[t - 1] / v[t]
    else:
        gamma2 = check_tensor("gamma2", gamma2, (T + 1,)).to(torch.float64)
    return LinearReverse(slope=slope, offset=offset, gamma2=gamma2)


def exact_bound(model: LinearReverse, schedule: NoiseSchedule, x_0: torch.Tensor) -> BoundTerms:
    r"""The terms of the bound for each ``x_0: (B, D)``, with the expectations over
    :math:`q(\mathbf{x}_t \mid \mathbf{x}_0)` done in closed form.

    :math:`\tilde{\boldsymbol{\mu}}_t - \boldsymbol{\mu}_\theta(\mathbf{x}_t, t)` is linear in
    :math:`\mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0 + \sqrt{1-\bar\alpha_t}\,
    \boldsymbol{\epsilon}`, so its expected squared norm is its squared mean plus
    :math:`D\,(\text{coefficient of } \mathbf{x}_t)^2 (1 - \bar\alpha_t)`; the same holds for
    :math:`\mathbf{x}_0 - \boldsymbol{\mu}_\theta(\mathbf{x}_1, 1)` in :math:`\mathcal{L}_0`.

    Returns:
        :class:`lecture_code.ddpm.elbo.BoundTerms` with exact values.
    """
    x_0 = check_tensor("x_0", x_0, ("B", model.offset.shape[1])).to(torch.float64)
    if model.T != schedule.T:
        raise ValueError(f"model has T = {model.T} steps but the schedule has T = {schedule.T}")
    T, (B, D) = schedule.T, x_0.shape
    ones = torch.ones(B, dtype=torch.float64)
    L_T = gaussian_kl(schedule.scale[T] * x_0, schedule.sigma[T] ** 2 * ones, 0 * x_0, ones)
    L_mid = torch.zeros(B, max(T - 1, 0), dtype=torch.float64)
    for t in range(2, T + 1):
        steps = torch.full((B,), t, dtype=torch.long)
        check_posterior_steps(steps, schedule, {})
        coef_x_0, coef_x_t, beta_tilde = (c[0] for c in posterior_coefficients(schedule, steps))
        slope = coef_x_t - model.slope[t]  # coefficient of x_t in mu_tilde - mu_theta
        mean_diff = (slope * schedule.scale[t] + coef_x_0) * x_0 - model.offset[t]
        expected_sq = (mean_diff**2).sum(1) + D * slope**2 * schedule.sigma[t] ** 2
        ratio = beta_tilde / model.gamma2[t]
        L_mid[:, t - 2] = 0.5 * D * (ratio - 1 - torch.log(ratio)) + expected_sq / (
            2 * model.gamma2[t]
        )
    slope_1, gamma2_1 = model.slope[1], model.gamma2[1]
    mean_res = (1 - slope_1 * schedule.scale[1]) * x_0 - model.offset[1]
    expected_sq = (mean_res**2).sum(1) + D * slope_1**2 * schedule.sigma[1] ** 2
    # torch.log, not math.log, so that the bound stays differentiable in gamma2_1.
    L_0 = 0.5 * D * torch.log(2 * math.pi * gamma2_1) + expected_sq / (2 * gamma2_1)
    return BoundTerms(L_T=L_T, L_mid=L_mid, L_0=L_0)


def path_kl(model: LinearReverse, schedule: NoiseSchedule, x_0: torch.Tensor) -> torch.Tensor:
    r""":math:`D_{\mathrm{KL}}\big(q(\mathbf{x}_{1:T} \mid \mathbf{x}_0) \,\Vert\,
    p_\theta(\mathbf{x}_{1:T} \mid \mathbf{x}_0)\big)` for each ``x_0: (B, D)``, from the joint
    Gaussians of whole paths (``T x T`` covariance matrices, so keep ``T`` moderate).

    Per coordinate, :math:`q(\mathbf{x}_{1:T} \mid \mathbf{x}_0)` has means
    :math:`\sqrt{\bar\alpha_t}x_0` and covariances :math:`\sqrt{\bar\alpha_t/\bar\alpha_s}
    (1-\bar\alpha_s)` for :math:`s \le t`; :math:`p_\theta(\mathbf{x}_{0:T})` is built backwards
    from :math:`\mathbf{x}_T` and conditioned on :math:`\mathbf{x}_0` with the Schur complement.
    This is the gap between the bound and :math:`-\log p_\theta(\mathbf{x}_0)`, computed without
    either of them.

    Returns:
        ``(B,)`` float64.
    """
    x_0 = check_tensor("x_0", x_0, ("B", model.offset.shape[1])).to(torch.float64)
    T = schedule.T
    ab = schedule.alpha_bar
    # q: covariance of (x_1..x_T) given x_0, per coordinate.
    idx = torch.arange(1, T + 1)
    s, t = torch.meshgrid(idx, idx, indexing="ij")
    lo, hi = torch.minimum(s, t), torch.maximum(s, t)
    cov_q = torch.sqrt(ab[hi] / ab[lo]) * schedule.sigma[lo] ** 2
    mean_q = schedule.scale[1:][None, :, None] * x_0[:, None, :]  # (B, T, D)
    # p: joint covariance of (x_0..x_T) per coordinate; Cov(x_{t-1}, x_u) = slope_t Cov(x_t, x_u)
    # for u >= t, because the noise of step t is independent of x_t, ..., x_T.
    mean, _ = model.marginals()
    cov_p = torch.zeros(T + 1, T + 1, dtype=torch.float64)
    cov_p[T, T] = 1.0
    for k in range(T, 0, -1):
        cov_p[k - 1, k:] = model.slope[k] * cov_p[k, k:]
        cov_p[k:, k - 1] = cov_p[k - 1, k:]
        cov_p[k - 1, k - 1] = model.slope[k] ** 2 * cov_p[k, k] + model.gamma2[k]
    gain = cov_p[1:, 0] / cov_p[0, 0]  # (T,)
    cond_cov = cov_p[1:, 1:] - torch.outer(gain, cov_p[0, 1:])
    mean_p = mean[1:][None] + gain[None, :, None] * (x_0 - mean[0])[:, None, :]  # (B, T, D)
    L_p = torch.linalg.cholesky(cond_cov)
    L_q = torch.linalg.cholesky(cov_q)
    trace = (torch.cholesky_solve(cov_q, L_p).diagonal()).sum()
    log_det_ratio = 2 * (torch.log(L_p.diagonal()).sum() - torch.log(L_q.diagonal()).sum())
    diff = (mean_p - mean_q).permute(0, 2, 1).reshape(-1, T)  # (B * D, T)
    white = torch.linalg.solve_triangular(L_p, diff.T, upper=False)  # (T, B * D)
    mahalanobis = (white**2).sum(0).reshape(x_0.shape).sum(1)  # (B,)
    D = x_0.shape[1]
    return 0.5 * (D * (trace - T + log_det_ratio) + mahalanobis)


def mean_gap(
    schedule: NoiseSchedule, m: torch.Tensor, v_0: float, gamma2: torch.Tensor, x_0: torch.Tensor
) -> float:
    r"""The gap :math:`\mathcal{L}(\mathbf{x}_0) + \log p_\theta(\mathbf{x}_0)` of the optimal
    reverse model with reverse-step variances ``gamma2``, averaged over the rows of
    ``x_0: (B, D)`` (eq. (elbo-gap))."""
    model = optimal_reverse(schedule, m, v_0, gamma2)
    gap = exact_bound(model, schedule, x_0).total + model.log_likelihood(x_0)
    return float(gap.mean())


def gaussian_nodes(m: torch.Tensor, v_0: float) -> torch.Tensor:
    r"""The two points :math:`\mathbf{m} \pm \sqrt{v_0}\,\mathbf{1}`, ``(2, D)`` float64.

    For any :math:`f(\mathbf{x}) = \sum_d g_d(x_d)` with quadratic :math:`g_d`, the mean of
    :math:`f` over these two points is exactly :math:`\mathbb{E}f(\mathbf{x}_0)` under
    :math:`\mathcal{N}(\mathbf{m}, v_0\mathbf{I})` (the two-point Gauss-Hermite rule, applied
    to all coordinates at once). The bound, the log-likelihood and the gap of a
    :class:`LinearReverse` are such functions.

    Args:
        m: ``(D,)`` the data mean.
        v_0: the data variance per coordinate, ``> 0``.
    """
    m = check_tensor("m", m, ("D",)).to(torch.float64)
    v_0 = check_real("v_0", v_0, low=0.0, low_open=True)
    signs = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    return m + math.sqrt(v_0) * signs


def expected_bound_gradient(
    model: LinearReverse, schedule: NoiseSchedule, m: torch.Tensor, v_0: float
) -> LinearReverse:
    r"""The gradient of the data-averaged bound :math:`\mathbb{E}_{q(\mathbf{x}_0)}
    \mathcal{L}(\mathbf{x}_0)`, data :math:`\mathcal{N}(\mathbf{m}, v_0\mathbf{I})`, with
    respect to every slope, offset and variance of ``model``, by automatic differentiation of
    :func:`exact_bound` at :func:`gaussian_nodes`.

    At the model of :func:`optimal_reverse` all slope and offset entries vanish (the best mean
    is the conditional mean, prop. (prop-gauss-reverse)); with ``gamma2=None`` the variance
    entries vanish too (the bound-optimal variance is the true reverse variance, section
    "Learning the variances").

    Returns:
        A :class:`LinearReverse` whose fields hold the partial derivatives, ``slope: (T+1,)``,
        ``offset: (T+1, D)``, ``gamma2: (T+1,)`` (entries 0 are zero).
    """
    params = [
        model.slope.detach().clone().requires_grad_(True),
        model.offset.detach().clone().requires_grad_(True),
        model.gamma2.detach().clone().requires_grad_(True),
    ]
    with torch.enable_grad():
        live = LinearReverse(slope=params[0], offset=params[1], gamma2=params[2])
        mean_bound = exact_bound(live, schedule, gaussian_nodes(m, v_0)).total.mean()
        grads = torch.autograd.grad(mean_bound, params)
    return LinearReverse(slope=grads[0], offset=grads[1], gamma2=grads[2])


def reverse_step_kl(
    model: LinearReverse, schedule: NoiseSchedule, m: torch.Tensor, v_0: float
) -> torch.Tensor:
    r""":math:`\mathbb{E}_{q(\mathbf{x}_t)} D_{\mathrm{KL}}\big(q(\mathbf{x}_{t-1} \mid
    \mathbf{x}_t) \,\Vert\, p_\theta(\mathbf{x}_{t-1} \mid \mathbf{x}_t)\big)` for
    :math:`t = 1..T`: the KL divergence of the model's step from the *true* reverse step of data
    :math:`\mathcal{N}(\mathbf{m}, v_0\mathbf{I})` (eq. (elbo-gauss-reverse)), averaged over
    :math:`\mathbf{x}_t \sim \mathcal{N}(\sqrt{\bar\alpha_t}\,\mathbf{m},
    v_t\mathbf{I})`.

    The two means differ by :math:`(a_t - \text{slope}_t)\mathbf{x}_t + \mathbf{b}_t -
    \text{offset}_t`, with :math:`a_t, \mathbf{b}_t` those of the true step; its expected
    square is its squared mean plus :math:`D (a_t - \text{slope}_t)^2 v_t`. This uses the true
    reverse step, not the forward posterior, so it is independent of :func:`exact_bound`.

    Returns:
        ``(T,)`` float64, entry ``t - 1`` for step ``t``.
    """
    if model.T != schedule.T:
        raise ValueError(f"model has T = {model.T} steps but the schedule has T = {schedule.T}")
    m = check_tensor("m", m, (model.offset.shape[1],)).to(torch.float64)
    true = optimal_reverse(schedule, m, v_0)
    v = marginal_variance(schedule, v_0)
    D = model.offset.shape[1]
    t = torch.arange(1, schedule.T + 1)
    d_slope = true.slope[t] - model.slope[t]
    mean_x_t = schedule.scale[t][:, None] * m  # E x_t, (T, D)
    mean_diff = d_slope[:, None] * mean_x_t + true.offset[t] - model.offset[t]  # (T, D)
    expected_sq = (mean_diff**2).sum(1) + D * d_slope**2 * v[t]
    ratio = true.gamma2[t] / model.gamma2[t]
    return 0.5 * D * (ratio - 1 - torch.log(ratio)) + expected_sq / (2 * model.gamma2[t])
