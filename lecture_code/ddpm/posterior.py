r"""The forward posterior :math:`q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0)`, and the
true reverse step it stands in for.

The reverse step :math:`q(\mathbf{x}_{t-1} \mid \mathbf{x}_t)` needs the data distribution:
by Bayes' rule it is :math:`q(\mathbf{x}_t \mid \mathbf{x}_{t-1})\,q(\mathbf{x}_{t-1}) /
q(\mathbf{x}_t)`, and :math:`q(\mathbf{x}_{t-1})` is the data distribution blurred by noise.
Conditioning on the clean point :math:`\mathbf{x}_0` as well removes that dependence. Both
factors of

.. math::

    q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0) \propto
    q(\mathbf{x}_t \mid \mathbf{x}_{t-1})\, q(\mathbf{x}_{t-1} \mid \mathbf{x}_0)

are Gaussian in :math:`\mathbf{x}_{t-1}`, and completing the square gives (eqs.
(rev-beta-tilde) and (rev-mu-tilde))

.. math::

    q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0)
    = \mathcal{N}\big(\mathbf{x}_{t-1}; \tilde{\boldsymbol{\mu}}_t, \tilde\beta_t \mathbf{I}\big),
    \qquad
    \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t,

.. math::

    \tilde{\boldsymbol{\mu}}_t(\mathbf{x}_t, \mathbf{x}_0)
    = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\,\mathbf{x}_0
    + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\,\mathbf{x}_t .

At :math:`t = 1` (:math:`\bar\alpha_0 = 1`) the posterior collapses onto
:math:`\mathbf{x}_0`: :math:`\tilde\beta_1 = 0` and :math:`\tilde{\boldsymbol{\mu}}_1 =
\mathbf{x}_0`.

For data whose noised marginals are known, the Gaussian mixtures of
:mod:`lecture_code.ddpm.mixture`, the true reverse step can be evaluated on a grid
(:func:`reverse_step_log_density`) and compared with its small-step Gaussian approximation
(:func:`reverse_step_gaussian`, eq. (rev-small-step)),

.. math::

    q(\mathbf{y} \mid \mathbf{x}) \approx \mathcal{N}\Big(\mathbf{y};
    \mathbf{y}_\star + \tfrac{\beta}{\alpha}\nabla\log p(\mathbf{y}_\star),
    \tfrac{\beta}{\alpha}\mathbf{I}\Big), \qquad \mathbf{y}_\star = \mathbf{x}/\sqrt{\alpha},

for one forward step :math:`\mathbf{x} = \sqrt{\alpha}\,\mathbf{y} +
\sqrt{\beta}\,\boldsymbol{\epsilon}` from :math:`\mathbf{y} \sim p` (first-order Taylor
expansion of :math:`\log p` around :math:`\mathbf{y}_\star`).

Book: chapter 3, "The reverse process and the ELBO"
(:doc:`/book/part1/03_reverse_process_elbo`), sections "Why the reverse step is hard" and "The
forward posterior", eqs. (rev-small-step), (rev-beta-tilde), (rev-mu-tilde).
"""

from __future__ import annotations

import math

import torch

from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.schedules import NoiseSchedule, check_steps
from lecture_code.validation import check_int, check_real, check_tensor, per_sample

__all__ = [
    "bimodal_line",
    "check_posterior_steps",
    "posterior_coefficients",
    "posterior_mean",
    "posterior_sample",
    "posterior_variance",
    "reverse_step_gaussian",
    "reverse_step_gaussian_kl",
    "reverse_step_log_density",
]


def check_posterior_steps(t: torch.Tensor, schedule: NoiseSchedule, dims: dict[str, int]) -> None:
    """Raise unless ``t: (B,)`` holds integer steps in ``[1, T]`` (the posterior needs
    :math:`t \\ge 1`: there is no :math:`\\mathbf{x}_{-1}`)."""
    check_steps(t, schedule.T, dims=dims)
    bad = (t < 1).nonzero()
    if bad.numel() > 0:
        i = int(bad[0, 0])
        raise ValueError(
            f"t must lie in [1, T] = [1, {schedule.T}] for the posterior, got t[{i}] = {int(t[i])}"
        )


def posterior_coefficients(
    schedule: NoiseSchedule, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The coefficients of :math:`\tilde{\boldsymbol{\mu}}_t` and the variance
    :math:`\tilde\beta_t` (eqs. (rev-beta-tilde), (rev-mu-tilde)).

    Args:
        schedule: the noise schedule.
        t: ``(B,)`` integer steps in :math:`[1, T]`.

    Returns:
        ``(coef_x_0, coef_x_t, beta_tilde)``, each ``(B,)`` float64, with
        :math:`\tilde{\boldsymbol{\mu}}_t = \texttt{coef\_x\_0}\,\mathbf{x}_0 +
        \texttt{coef\_x\_t}\,\mathbf{x}_t`.
    """
    check_posterior_steps(t, schedule, {})
    beta = schedule.beta[t]
    alpha = schedule.alpha[t]
    alpha_bar = schedule.alpha_bar[t]
    alpha_bar_prev = schedule.alpha_bar[t - 1]
    # 1 - alpha_bar_t from the schedule's expm1 form, accurate when alpha_bar_t is close to 1.
    one_minus_alpha_bar = schedule.sigma[t] ** 2
    one_minus_alpha_bar_prev = schedule.sigma[t - 1] ** 2
    coef_x_0 = torch.sqrt(alpha_bar_prev) * beta / one_minus_alpha_bar
    coef_x_t = torch.sqrt(alpha) * one_minus_alpha_bar_prev / one_minus_alpha_bar
    beta_tilde = one_minus_alpha_bar_prev / one_minus_alpha_bar * beta
    del alpha_bar  # enters only through 1 - alpha_bar_t above
    return coef_x_0, coef_x_t, beta_tilde


def posterior_variance(schedule: NoiseSchedule, t: torch.Tensor) -> torch.Tensor:
    r""":math:`\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\beta_t`
    (eq. (rev-beta-tilde)).

    Args:
        schedule: the noise schedule.
        t: ``(B,)`` integer steps in :math:`[1, T]`.

    Returns:
        ``(B,)`` float64; zero at :math:`t = 1`, and :math:`0 \le \tilde\beta_t < \beta_t`.
    """
    return posterior_coefficients(schedule, t)[2]


def posterior_mean(
    schedule: NoiseSchedule, x_t: torch.Tensor, x_0: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    r""":math:`\tilde{\boldsymbol{\mu}}_t(\mathbf{x}_t, \mathbf{x}_0)`, the mean of
    :math:`q(\mathbf{x}_{t-1} \mid \mathbf{x}_t, \mathbf{x}_0)` (eq. (rev-mu-tilde)).

    Args:
        schedule: the noise schedule.
        x_t: ``(B, D)`` noised points.
        x_0: ``(B, D)`` clean points.
        t: ``(B,)`` integer steps in :math:`[1, T]`.

    Returns:
        ``(B, D)``, in the dtype of ``x_t``.
    """
    dims: dict[str, int] = {}
    check_tensor("x_t", x_t, ("B", "D"), dims=dims)
    check_tensor("x_0", x_0, ("B", "D"), dims=dims)
    check_posterior_steps(t, schedule, dims)
    coef_x_0, coef_x_t, _ = posterior_coefficients(schedule, t)
    mu_tilde = per_sample(coef_x_0, x_0) * x_0 + per_sample(coef_x_t, x_t) * x_t
    return mu_tilde.to(x_t.dtype)


def posterior_sample(
    schedule: NoiseSchedule,
    x_t: torch.Tensor,
    x_0: torch.Tensor,
    t: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""One draw of :math:`\mathbf{x}_{t-1} \sim q(\mathbf{x}_{t-1} \mid \mathbf{x}_t,
    \mathbf{x}_0)`: :math:`\tilde{\boldsymbol{\mu}}_t + \sqrt{\tilde\beta_t}\,\mathbf{z}`.

    Args:
        schedule: the noise schedule.
        x_t: ``(B, D)``.
        x_0: ``(B, D)``.
        t: ``(B,)`` integer steps in :math:`[1, T]`.
        generator: the source of randomness.

    Returns:
        ``(B, D)``, in the dtype of ``x_t``.
    """
    mu_tilde = posterior_mean(schedule, x_t, x_0, t)
    z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype)
    beta_tilde = posterior_variance(schedule, t).to(x_t.dtype)
    return mu_tilde + per_sample(torch.sqrt(beta_tilde), z) * z


# --- the true reverse step, for data with a known density ----------------------------------
def bimodal_line() -> GaussianMixture:
    r"""The one-dimensional example of chapter 3: :math:`\tfrac12\mathcal{N}(-1, 0.1) +
    \tfrac12\mathcal{N}(1, 0.1)`, two well separated modes."""
    return GaussianMixture(
        weights=torch.tensor([0.5, 0.5], dtype=torch.float64),
        means=torch.tensor([[-1.0], [1.0]], dtype=torch.float64),
        covs=torch.tensor([[[0.1]], [[0.1]]], dtype=torch.float64),
    )


def reverse_step_log_density(
    data: GaussianMixture, x: torch.Tensor, beta: float, grid: torch.Tensor
) -> torch.Tensor:
    r"""The true reverse step :math:`\log q(y \mid x)` of one forward step
    :math:`x = \sqrt{1-\beta}\,y + \sqrt{\beta}\,\epsilon`, :math:`y \sim` ``data``, on the
    points of a one-dimensional grid.

    Bayes' rule gives :math:`q(y \mid x) \propto \mathcal{N}(x; \sqrt{1-\beta}\,y, \beta)\,
    p(y)`. The normalising constant, :math:`p_{\text{next}}(x)`, is computed by the trapezoidal
    rule on the grid, so the grid must cover the bulk of the posterior.

    Args:
        data: the law :math:`p` of :math:`y`, a one-dimensional mixture (``D = 1``).
        x: a scalar tensor, the observed next state.
        beta: the step variance, in :math:`(0, 1)`.
        grid: ``(G,)`` increasing values of :math:`y`, at least 3.

    Returns:
        ``(G,)`` float64 log-density values; their exponential integrates to 1 on the grid.
    """
    if data.D != 1:
        raise ValueError(f"data must be one-dimensional (D = 1) on a grid, got D = {data.D}")
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True, high_open=True)
    x = check_tensor("x", x, ()).to(torch.float64)
    grid = check_tensor("grid", grid, ("G",)).to(torch.float64)
    if grid.numel() < 3 or not bool((grid.diff() > 0).all()):
        raise ValueError(f"grid must hold at least 3 increasing points, got {grid.tolist()[:5]}")
    alpha = 1.0 - beta
    log_joint = -((x - math.sqrt(alpha) * grid) ** 2) / (2 * beta) + data.log_prob(grid[:, None])
    shift = log_joint.max()
    log_norm = torch.log(torch.trapezoid(torch.exp(log_joint - shift), grid)) + shift
    return log_joint - log_norm


def reverse_step_gaussian(
    data: GaussianMixture, x: torch.Tensor, beta: float
) -> tuple[torch.Tensor, float]:
    r"""The small-step Gaussian approximation of :math:`q(\mathbf{y} \mid \mathbf{x})`
    (eq. (rev-small-step)): mean :math:`\mathbf{y}_\star + (\beta/\alpha)\nabla\log
    p(\mathbf{y}_\star)` with :math:`\mathbf{y}_\star = \mathbf{x}/\sqrt{\alpha}`, variance
    :math:`\beta/\alpha`.

    Args:
        data: the law :math:`p` of :math:`\mathbf{y}`, any dimension ``D``.
        x: ``(B, D)`` observed next states.
        beta: the step variance, in :math:`(0, 1)`.

    Returns:
        ``(mean, var)``: ``(B, D)`` float64 and a float.
    """
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True, high_open=True)
    x = check_tensor("x", x, ("B", data.D)).to(torch.float64)
    alpha = 1.0 - beta
    y_star = x / math.sqrt(alpha)
    # The quadratic -alpha |y - y_star|^2 / (2 beta) plus the linear term of log p around
    # y_star: completing the square shifts the mean by (beta / alpha) grad log p(y_star).
    mean = y_star + beta / alpha * data.score(y_star)
    return mean, beta / alpha


def reverse_step_gaussian_kl(
    data: GaussianMixture, x: float, beta: float, n_grid: int = 20_001, width: float = 12.0
) -> float:
    r""":math:`D_{\mathrm{KL}}\big(q(y \mid x) \,\Vert\, \text{its small-step Gaussian}\big)`
    for one-dimensional ``data``, by the trapezoidal rule (eq. (rev-small-step)).

    The grid spans ``width`` standard deviations of the Gaussian on each side of its mean, plus
    the range of the data's component means, so that it covers both densities.

    Args:
        data: the law :math:`p` of :math:`y`, one-dimensional.
        x: the observed next state.
        beta: the step variance, in :math:`(0, 1)`.
        n_grid: number of grid points, ``>= 101``.
        width: half-width of the grid in Gaussian standard deviations, ``> 0``.
    """
    n_grid = check_int("n_grid", n_grid, low=101)
    width = check_real("width", width, low=0.0, low_open=True)
    x_t = torch.tensor([[check_real("x", x)]], dtype=torch.float64)
    mean, var = reverse_step_gaussian(data, x_t, beta)
    mean, sd = mean.item(), math.sqrt(var)
    low = min(mean - width * sd, data.means.min().item() - width * sd)
    high = max(mean + width * sd, data.means.max().item() + width * sd)
    grid = torch.linspace(low, high, n_grid, dtype=torch.float64)
    log_q = reverse_step_log_density(data, x_t[0, 0], beta, grid)
    log_g = -((grid - mean) ** 2) / (2 * var) - 0.5 * math.log(2 * math.pi * var)
    return float(torch.trapezoid(torch.exp(log_q) * (log_q - log_g), grid))
