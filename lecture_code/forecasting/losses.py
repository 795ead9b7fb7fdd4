r"""The training objectives of Part III: mean-square error, Gaussian likelihood, denoising
score matching.

Every learned forecaster regresses the normalised one-step residual :math:`\mathbf{r}` on the
normalised current state :math:`\mathbf{u}` (:class:`lecture_code.forecasting.fit.Scaling`); they
differ only in what the network outputs and how it is scored:

- :func:`mse_loss`, eq. (mse-loss): the conditional mean, :math:`\lVert \hat{\mathbf{r}} -
  \mathbf{r}\rVert^2`;
- :func:`gaussian_nll_loss`, eq. (gaussian-nll): a mean and a variance per site, the Gaussian
  negative log-likelihood;
- :func:`dsm_loss`, eq. (dsm-edm): a conditional denoiser of noised residuals, denoising score
  matching with the weighting and noise distribution of Karras et al. (2022)
  (:class:`DSMConfig`).

References:
    P. Vincent, "A connection between score matching and denoising autoencoders", Neural
    Computation 23, 2011.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`), section "Training";
chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`), eq.
(dsm-edm).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lecture_code.forecasting.networks import RingDenoiser
from lecture_code.validation import check_int, check_real

__all__ = ["DSMConfig", "dsm_loss", "gaussian_nll_loss", "mse_loss"]


# --- the losses ---------------------------------------------------------------------------------
def mse_loss(network: nn.Module, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Mean-square error of the predicted normalised residual, eq. (mse-loss).

    Args:
        network: maps (B, K) states to (B, K, >= 1); channel 0 is the mean.
        u: (B, K) normalised states.
        r: (B, K) normalised residuals.
    """
    return ((network(u)[..., 0] - r) ** 2).mean()


def gaussian_nll_loss(network: nn.Module, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    r"""Gaussian negative log-likelihood per site (without the constant
    :math:`\frac12\log 2\pi`), eq. (gaussian-nll):
    :math:`\frac12\big(\log v + (r - \mu)^2 / v\big)`.

    Args:
        network: maps (B, K) states to (B, K, 2): mean and log-variance.
        u: (B, K) normalised states.
        r: (B, K) normalised residuals.
    """
    out = network(u)
    mean, log_var = out[..., 0], out[..., 1]
    return 0.5 * (log_var + (r - mean) ** 2 * torch.exp(-log_var)).mean()


def dsm_loss(
    network: RingDenoiser,
    u: torch.Tensor,
    x_0: torch.Tensor,
    generator: torch.Generator,
    *,
    log_nu_mean: float,
    log_nu_std: float,
    nu_min: float,
    nu_max: float,
    n_noise: int = 1,
) -> torch.Tensor:
    r"""Denoising score matching with Karras et al.'s weighting, eq. (dsm-edm).

    The noise level is the noise-to-signal ratio :math:`\nu = \sigma/a` of the sampler's
    process (:meth:`lecture_code.score.sde.VPSDE.nu`; Karras et al. write it :math:`\sigma`):
    the denoiser sees :math:`\mathbf{x}_t/a = \mathbf{x}_0 + \nu\boldsymbol{\epsilon}`. Draw
    :math:`\log\nu \sim \mathcal{N}(P_{\text{mean}}, P_{\text{std}}^2)` (clipped to
    the sampler's range) and :math:`\boldsymbol{\epsilon} \sim \mathcal{N}(\mathbf{0},
    \mathbf{I})`, noise the target :math:`\hat{\mathbf{x}} = \mathbf{x}_0 + \nu
    \boldsymbol{\epsilon}` and regress the denoiser on the clean target,

    .. math::
        w(\nu)\,\lVert D(\hat{\mathbf{x}}; \nu, \mathbf{u}) - \mathbf{x}_0
        \rVert^2, \qquad w(\nu) = 1/c_{\text{out}}(\nu)^2 =
        \frac{\nu^2 + \sigma_{\text{data}}^2}{(\nu\,\sigma_{\text{data}})^2}.

    By Tweedie's formula this is denoising score matching (Vincent 2011) with the weight
    :math:`w\nu^4` on :math:`\lVert \mathbf{s}_\theta - \nabla\log
    p(\hat{\mathbf{x}}\mid\mathbf{x}_0)\rVert^2`; the weight makes every noise level
    contribute about equally. The encoder runs once per state and its output is reused for the
    ``n_noise`` noisy copies, which halves the gradient noise at little cost.

    Args:
        network: the conditional denoiser.
        u: (B, K) normalised current states (the condition).
        x_0: (B, K) normalised residuals (the clean target).
        generator: draws :math:`\nu` and :math:`\boldsymbol{\epsilon}`.
        log_nu_mean, log_nu_std: :math:`P_{\text{mean}}`, :math:`P_{\text{std}}`.
        nu_min, nu_max: the range of noise levels the sampler visits,
            :math:`(\nu_{\min}, \nu_{\max})` of its SDE.
        n_noise: noisy copies per state.
    """
    m_hat, features = network.condition(u)
    if n_noise > 1:
        m_hat = m_hat.repeat(n_noise, 1)
        features = features.repeat(n_noise, 1, 1)
        x_0 = x_0.repeat(n_noise, 1)
    z = torch.randn(x_0.shape[0], generator=generator)
    nu = torch.exp(log_nu_mean + log_nu_std * z).clamp(nu_min, nu_max)
    x_hat = x_0 + nu[:, None] * torch.randn(x_0.shape, generator=generator)
    denoised = network.denoise(x_hat, nu, (m_hat, features))
    sd = network.sigma_data
    weight = (nu**2 + sd**2) / (nu * sd) ** 2
    return (weight[:, None] * (denoised - x_0) ** 2).mean()


@dataclass(frozen=True)
class DSMConfig:
    r"""Settings of :func:`dsm_loss`.

    Attributes:
        log_nu_mean: :math:`P_{\text{mean}}`, the mean of :math:`\log\nu` (the log
            noise-to-signal ratio) during training. :math:`e^{-1.5} \approx 0.22` sits at the
            conditional spread, where the denoiser has most to learn. ``None``: centred on
            the denoiser's :math:`\log\sigma_{\text{data}}`, which the benchmark estimates
            from the training data.
        log_nu_std: :math:`P_{\text{std}}`; 1.5 reaches :math:`\nu \approx 0.01` and
            :math:`\nu \approx 20` within about two standard deviations.
        n_noise: noisy copies of each training state per step.
    """

    log_nu_mean: float | None = -1.5
    log_nu_std: float = 1.5
    n_noise: int = 2

    def __post_init__(self) -> None:
        if self.log_nu_mean is not None:
            check_real("log_nu_mean", self.log_nu_mean)
        check_real("log_nu_std", self.log_nu_std, low=0.0, low_open=True)
        check_int("n_noise", self.n_noise, low=1)
