r"""Preconditioning of the forecaster's denoiser, derived: the coefficients of book eq.
(edm-precond) and the identity that makes its loss weight natural.

The denoiser must return :math:`\mathbf{x}_0` from :math:`\hat{\mathbf{x}} = \mathbf{x}_0 +
\nu\boldsymbol\epsilon` at noise levels :math:`\nu` from about 0.01 to 100. Write the target
about a centre :math:`m` (the encoder's guess of the conditional mean) as
:math:`\mathbf{x}_0 = m + \mathbf{d}`, :math:`\mathbf{d}` of spread :math:`\sigma_{\text{data}}`
per site, and the denoiser as

.. math::
    D = m + c_{\text{skip}}(\nu)\,(\hat{\mathbf{x}} - m)
        + c_{\text{out}}(\nu)\,F\big(c_{\text{in}}(\nu)\,(\hat{\mathbf{x}} - m); \nu\big).

Karras et al. (2022) choose the coefficients so that the network :math:`F` sees inputs of unit
variance and is asked for outputs of unit variance at every level:

- :math:`c_{\text{in}} = 1/\sqrt{\nu^2 + \sigma_{\text{data}}^2}`, since
  :math:`\hat{\mathbf{x}} - m = \mathbf{d} + \nu\boldsymbol\epsilon` has variance
  :math:`\sigma_{\text{data}}^2 + \nu^2`;
- :math:`c_{\text{skip}} = \sigma_{\text{data}}^2/(\nu^2 + \sigma_{\text{data}}^2)`, which
  minimises the variance :math:`(1 - c)^2\sigma_{\text{data}}^2 + c^2\nu^2` of what is left for
  :math:`F`, :math:`\mathbf{d} - c(\mathbf{d} + \nu\boldsymbol\epsilon)`;
- :math:`c_{\text{out}} = \nu\,\sigma_{\text{data}}/\sqrt{\nu^2 + \sigma_{\text{data}}^2}`, the
  square root of that minimum, so that :math:`F`'s target has unit variance.

The minimum is also the posterior variance :math:`\operatorname{Var}(d \mid \hat x)` when
:math:`d` is Gaussian: :func:`gaussian_posterior_variance` equals :math:`c_{\text{out}}^2`, so the
weight :math:`1/c_{\text{out}}^2` of eq. (dsm-edm) makes the best possible loss exactly 1 at
every level for a Gaussian law, and below 1 only where the law's shape lets a denoiser do better
than a linear one.

:class:`lecture_code.forecasting.networks.RingDenoiser` implements the same coefficients in its
inner loop; chapter 12 checks the two against each other through the network itself.

References:
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_real, check_tensor

__all__ = ["gaussian_posterior_variance", "preconditioning", "target_variance"]


def _levels(nu: torch.Tensor | float) -> torch.Tensor:
    nu = torch.as_tensor(nu, dtype=torch.float64)
    if bool(torch.isnan(nu).any()) or bool((nu <= 0).any()):
        raise ValueError(f"noise levels nu must be > 0, got minimum {float(nu.min()):.3g}")
    return nu


def preconditioning(nu: torch.Tensor | float, sigma_data: float) -> dict[str, torch.Tensor]:
    r"""The coefficients of eq. (edm-precond) at noise levels ``nu``.

    Args:
        nu: noise levels :math:`\nu > 0`, any shape.
        sigma_data: :math:`\sigma_{\text{data}} > 0`, the spread of the target about its centre.

    Returns:
        ``c_skip``, ``c_out``, ``c_in``, each shaped like ``nu``, float64.
    """
    nu = _levels(nu)
    sd = check_real("sigma_data", sigma_data, low=0.0, low_open=True)
    total = nu**2 + sd**2
    return {
        "c_skip": sd**2 / total,
        "c_out": nu * sd / total.sqrt(),
        "c_in": 1.0 / total.sqrt(),
    }


def target_variance(
    d: torch.Tensor, noise: torch.Tensor, nu: float, c_skip: torch.Tensor | float
) -> torch.Tensor:
    r"""The variance of what the network is left to predict, estimated from samples:
    :math:`\operatorname{Var}\big(d - c_{\text{skip}}(d + \nu\epsilon)\big)` for each value of
    ``c_skip`` (the brute-force side of the derivation of :math:`c_{\text{skip}}`).

    Args:
        d: (N,) deviations of the target from its centre.
        noise: (N,) standard normal draws :math:`\epsilon`.
        nu: the noise level, > 0.
        c_skip: (C,) or a number: candidate skip coefficients.

    Returns:
        (C,) the mean square of the residual target for each candidate.
    """
    dims: dict[str, int] = {}
    d = check_tensor("d", d, ("N",), dims=dims).to(torch.float64)
    noise = check_tensor("noise", noise, ("N",), dims=dims).to(torch.float64)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    c = torch.as_tensor(c_skip, dtype=torch.float64).reshape(-1)
    noisy = d + nu * noise
    # a few candidates at a time: all at once would hold C * N values
    parts = [
        (d[None, :] - block[:, None] * noisy[None, :]).pow(2).mean(dim=1) for block in c.split(16)
    ]
    return torch.cat(parts)


def gaussian_posterior_variance(nu: torch.Tensor | float, sigma_data: float) -> torch.Tensor:
    r""":math:`\operatorname{Var}(d \mid d + \nu\epsilon)` for :math:`d \sim \mathcal{N}(0,
    \sigma_{\text{data}}^2)`: :math:`(1/\sigma_{\text{data}}^2 + 1/\nu^2)^{-1}`, the precisions
    of prior and likelihood added (book chapter 3).

    Args:
        nu: noise levels > 0.
        sigma_data: the prior's standard deviation > 0.
    """
    nu = _levels(nu)
    sd = check_real("sigma_data", sigma_data, low=0.0, low_open=True)
    return 1.0 / (1.0 / sd**2 + 1.0 / nu**2)
