r"""Samplers that integrate the probability-flow ODE: DDIM, Heun (with EDM's optional churn),
DPM-Solver++(2S) and DPM-Solver++(2M).

All share the signature of :mod:`lecture_code.score.samplers`,
``sampler(denoiser, sde, grid, x_T, generator) -> (x_0, nfe)``, and end with Tweedie's jump on
the last interval of the grid (:mod:`lecture_code.score.grids`).

**The ODE in the coordinates of the data.** With :math:`\hat{\mathbf{x}} = \mathbf{x}_t/a(t)`
and :math:`\nu = \sigma/a`, the probability-flow ODE (eq. (pf-ode)) of the VP-SDE becomes
(Karras et al. 2022, eq. (samplers-ode-nu))

.. math::
    \frac{d\hat{\mathbf{x}}}{d\nu} = \frac{\hat{\mathbf{x}} - \hat{\mathbf{x}}_0(\hat{\mathbf{x}},
    \nu)}{\nu},

and in the log-SNR :math:`\lambda = -2\log\nu` its linear part integrates exactly
(Lu et al. 2022): over :math:`[\lambda_i, \lambda_{i+1}]`, :math:`h = \lambda_{i+1} -
\lambda_i`,

.. math::
    \mathbf{x}_{i+1} = \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i + \sigma_{i+1}
    \int_{\lambda_i}^{\lambda_{i+1}} \tfrac12 e^{\lambda/2}\,\hat{\mathbf{x}}_0\,d\lambda .

- :func:`ddim`: :math:`\hat{\mathbf{x}}_0` held constant over the step (Song, Meng and Ermon
  2021, :math:`\eta = 0`); the same step is Euler's method in :math:`\nu` and DPM-Solver++ of
  first order (eq. (samplers-ddim)). First order.
- :func:`heun`: Heun's method in :math:`\nu` (Karras et al. 2022, Algorithms 1 and 2); with
  ``s_churn > 0`` each step first adds noise to raise :math:`\nu_i` to
  :math:`\hat\nu_i = (1 + \chi)\nu_i`, :math:`\chi = \min(S_{\text{churn}}/N, \sqrt2 - 1)`,
  which makes it a stochastic sampler. Second order without churn. ``2N - 1`` evaluations.
- :func:`dpm_solver_2s`: :math:`\hat{\mathbf{x}}_0` at the midpoint in :math:`\lambda` (Lu et
  al. 2022, Algorithm 1, :math:`r = \frac12`). Second order, ``2N - 1`` evaluations.
- :func:`dpm_solver_2m`: the midpoint value replaced by a linear extrapolation from the previous
  step (Lu et al. 2022, Algorithm 2). Second order, ``N`` evaluations.

References:
    J. Song, C. Meng, S. Ermon, "Denoising diffusion implicit models", ICLR 2021,
    arXiv:2010.02502.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.
    C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu, "DPM-Solver++: fast solver for guided
    sampling of diffusion probabilistic models", 2022, arXiv:2211.01095.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`), section "Solving the
probability-flow ODE", eqs. (samplers-ode-nu), (samplers-ddim), (samplers-heun),
(samplers-dpm-2s), (samplers-dpm-2m).
"""

from __future__ import annotations

import itertools
import math

import torch

from lecture_code.score.denoisers import Denoiser, sampler_inputs
from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_real

__all__ = ["ddim", "dpm_solver_2m", "dpm_solver_2s", "heun"]


def _log_snr_step(nu: float, nu_next: float) -> float:
    """h = lambda_{i+1} - lambda_i = 2 log(nu_i / nu_{i+1}), since lambda = -2 log nu."""
    return 2.0 * math.log(nu / nu_next)


def ddim(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, int]:
    r"""DDIM with :math:`\eta = 0`, eq. (samplers-ddim):
    :math:`\mathbf{x}_{i+1} = a_{i+1}\hat{\mathbf{x}}_0 + \sigma_{i+1}
    (\mathbf{x}_i - a_i\hat{\mathbf{x}}_0)/\sigma_i`, with
    :math:`\hat{\mathbf{x}}_0 = \hat{\mathbf{x}}_0(\mathbf{x}_i, t_i)`.

    Args:
        denoiser: ``denoiser(x_t, t)``, see :data:`lecture_code.score.denoisers.Denoiser`.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios, see :mod:`lecture_code.score.grids`.
        x_T: ``(B, ...)`` states at the first level of the grid.
        generator: unused (deterministic); accepted for the shared signature.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of denoiser calls (``N``).
    """
    model, _, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    for t, t_next in itertools.pairwise(times):
        a, s = float(sde.scale(t)), float(sde.sigma(t))
        a_next, s_next = float(sde.scale(t_next)), float(sde.sigma(t_next))
        x_0 = model(x, t)
        x = a_next * x_0 + s_next * (x - a * x_0) / s
    return model(x, times[-1]), model.nfe


def heun(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    s_churn: float = 0.0,
    s_noise: float = 1.0,
) -> tuple[torch.Tensor, int]:
    r"""Heun's method on :math:`d\hat{\mathbf{x}}/d\nu = (\hat{\mathbf{x}} -
    \hat{\mathbf{x}}_0)/\nu` (Karras et al. 2022, Algorithm 2; Algorithm 1 when
    ``s_churn = 0``), eq. (samplers-heun).

    Each interval: optionally raise the level to :math:`\hat\nu = \min((1 + \chi)\nu_i,
    \nu(1))` by adding noise of variance :math:`\hat\nu^2 - \nu_i^2` (times ``s_noise**2``);
    an Euler predictor :math:`\hat{\mathbf{x}}' = \hat{\mathbf{x}} + (\nu_{i+1} -
    \hat\nu)\mathbf{d}`, :math:`\mathbf{d} = (\hat{\mathbf{x}} - \hat{\mathbf{x}}_0)/\hat\nu`;
    then the trapezoidal corrector with :math:`\mathbf{d}'` at :math:`\nu_{i+1}`. The last
    interval, to :math:`\nu = 0`, is the Euler step alone, which is exactly Tweedie's jump.

    Args:
        denoiser: ``denoiser(x_t, t)``.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios.
        x_T: ``(B, ...)`` states at the first level of the grid.
        generator: draws the churn noise; needed only when ``s_churn > 0``.
        s_churn: :math:`S_{\text{churn}} \ge 0`, the total noise injected, spread over the
            :math:`N` intervals (:math:`\chi = \min(S_{\text{churn}}/N, \sqrt 2 - 1)`, Karras et
            al.'s :math:`\gamma_i`, applied at every level).
        s_noise: :math:`S_{\text{noise}} > 0`, the scale of the injected noise.

    Returns:
        ``(x_0, nfe)``: samples and the number of denoiser calls (``2N - 1``).
    """
    model, grid, times, x_T = sampler_inputs(denoiser, sde, grid, x_T)
    s_churn = check_real("s_churn", s_churn, low=0.0)
    s_noise = check_real("s_noise", s_noise, low=0.0, low_open=True)
    if s_churn > 0 and generator is None:
        raise ValueError(f"heun with s_churn = {s_churn} > 0 needs a generator, got None")
    nus = grid.tolist()
    n = len(nus) - 1
    chi = min(s_churn / n, math.sqrt(2.0) - 1.0)
    x = x_T / float(sde.scale(times[0]))
    # The grid's own times, exact at nu(1); a raised level nu_hat gets its time from nu.
    levels = list(zip(nus[:-1], nus[1:], times, [*times[1:], None], strict=True))
    for nu, nu_next, t, t_next in levels:
        if chi > 0:
            nu_hat = min(nu * (1.0 + chi), sde.nu_max)
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            x = x + s_noise * math.sqrt(max(nu_hat**2 - nu**2, 0.0)) * z
            nu, t = nu_hat, None
        d = (x - model.in_nu(x, nu, t)) / nu
        x_pred = x + (nu_next - nu) * d
        if nu_next == 0.0:
            x = x_pred
        else:
            d_next = (x_pred - model.in_nu(x_pred, nu_next, t_next)) / nu_next
            x = x + (nu_next - nu) * 0.5 * (d + d_next)
    return x, model.nfe


def dpm_solver_2s(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, int]:
    r"""DPM-Solver++(2S) (Lu et al. 2022, Algorithm 1, :math:`r = \frac12`),
    eq. (samplers-dpm-2s): with the midpoint :math:`\lambda_m = \lambda_i + h/2`, i.e.
    :math:`\nu_m = \sqrt{\nu_i\nu_{i+1}}`,

    .. math::
        \begin{aligned}
        \mathbf{u} &= \frac{\sigma_m}{\sigma_i}\mathbf{x}_i - a_m(e^{-h/4} - 1)
        \hat{\mathbf{x}}_0(\mathbf{x}_i, t_i), \\
        \mathbf{x}_{i+1} &= \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i
        - a_{i+1}(e^{-h/2} - 1)\,\hat{\mathbf{x}}_0(\mathbf{u}, t_m).
        \end{aligned}

    Args:
        denoiser: ``denoiser(x_t, t)``.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios.
        x_T: ``(B, ...)`` states at the first level of the grid.
        generator: unused (deterministic).

    Returns:
        ``(x_0, nfe)``: samples and the number of denoiser calls (``2N - 1``).
    """
    model, grid, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    nus = grid.tolist()
    for i in range(len(times) - 1):
        t, t_next = times[i], times[i + 1]
        h = _log_snr_step(nus[i], nus[i + 1])
        t_mid = float(sde.t_from_nu(math.sqrt(nus[i] * nus[i + 1])))
        sigma, sigma_mid, sigma_next = (float(sde.sigma(u)) for u in (t, t_mid, t_next))
        scale_mid, scale_next = float(sde.scale(t_mid)), float(sde.scale(t_next))
        u = (sigma_mid / sigma) * x - scale_mid * math.expm1(-0.25 * h) * model(x, t)
        x = (sigma_next / sigma) * x - scale_next * math.expm1(-0.5 * h) * model(u, t_mid)
    return model(x, times[-1]), model.nfe


def dpm_solver_2m(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, int]:
    r"""DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2), eq. (samplers-dpm-2m): with
    :math:`\omega_i = h_{i-1}/h_i` (Lu et al.'s :math:`r_i`),

    .. math::
        \begin{aligned}
        \bar{\mathbf{x}}_{0,i} &= \Big(1 + \frac{1}{2\omega_i}\Big)\hat{\mathbf{x}}_0(\mathbf{x}_i,
        t_i) - \frac{1}{2\omega_i}\hat{\mathbf{x}}_0(\mathbf{x}_{i-1}, t_{i-1}), \\
        \mathbf{x}_{i+1} &= \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i
        - a_{i+1}(e^{-h_i/2} - 1)\,\bar{\mathbf{x}}_{0,i},
        \end{aligned}

    and :math:`\bar{\mathbf{x}}_{0,0} = \hat{\mathbf{x}}_0(\mathbf{x}_0, t_0)` on the first step
    (which is then the DDIM step).

    Args:
        denoiser: ``denoiser(x_t, t)``.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios.
        x_T: ``(B, ...)`` states at the first level of the grid.
        generator: unused (deterministic).

    Returns:
        ``(x_0, nfe)``: samples and the number of denoiser calls (``N``).
    """
    model, grid, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    nus = grid.tolist()
    previous: tuple[torch.Tensor, float] | None = None
    for i in range(len(times) - 1):
        t, t_next = times[i], times[i + 1]
        h = _log_snr_step(nus[i], nus[i + 1])
        x_0 = model(x, t)
        if previous is None:
            d = x_0
        else:
            x_0_prev, h_prev = previous
            half_over_r = 0.5 * h / h_prev  # 1 / (2 omega_i)
            d = (1.0 + half_over_r) * x_0 - half_over_r * x_0_prev
        sigma, sigma_next = float(sde.sigma(t)), float(sde.sigma(t_next))
        x = (sigma_next / sigma) * x - float(sde.scale(t_next)) * math.expm1(-0.5 * h) * d
        previous = (x_0, h)
    return model(x, times[-1]), model.nfe
