r"""The variance-preserving SDE (VP-SDE) of Song et al. (2021).

The forward process noises data :math:`\mathbf{x}_0 \sim p_0` by the Itô SDE (book eq. (vp-sde))

.. math::
    d\mathbf{x} = -\tfrac12 \beta(t)\,\mathbf{x}\,dt + \sqrt{\beta(t)}\,d\mathbf{w},
    \qquad \beta(t) = \beta_{\min} + t\,(\beta_{\max} - \beta_{\min}), \quad t \in [0, 1],

the continuous-time limit of DDPM's chain :math:`\mathbf{x}_i = \sqrt{1 - \beta_i}\,
\mathbf{x}_{i-1} + \sqrt{\beta_i}\,\boldsymbol{\epsilon}` with :math:`\beta_i = \beta(i/N)/N`.
The drift is linear, so the marginal given :math:`\mathbf{x}_0` is Gaussian (eq. (vp-marginal)):

.. math::
    \begin{aligned}
    \mathbf{x}_t &= s(t)\,\mathbf{x}_0 + \bar\sigma(t)\,\boldsymbol{\epsilon}, \qquad
    s(t) = e^{-\frac12 B(t)}, \quad \bar\sigma(t) = \sqrt{1 - e^{-B(t)}}, \\
    B(t) &= \int_0^t \beta = \beta_{\min} t + \tfrac12 (\beta_{\max} - \beta_{\min}) t^2 .
    \end{aligned}

Here :math:`s(t)` (``marginal_scale``) plays the role of :math:`\sqrt{\bar\alpha_t}` and
:math:`\bar\sigma(t)` (``marginal_std``) of :math:`\sqrt{1 - \bar\alpha_t}`; they satisfy
:math:`s^2 + \bar\sigma^2 = 1`, hence "variance preserving". Dividing by :math:`s(t)` gives the
noise level of the book, :math:`\sigma(t) = \bar\sigma(t)/s(t) = \sqrt{e^{B(t)} - 1}`
(``sigma``): :math:`\mathbf{x}_t / s(t) = \mathbf{x}_0 + \sigma(t)\,\boldsymbol{\epsilon}`, the
coordinates in which Karras et al. (2022) write their samplers.

Sampling runs, from :math:`t = 1` back to :math:`t \approx 0`, the reverse-time SDE
(Anderson 1982) or the probability-flow ODE (eq. (pf-ode)),

.. math::
    \begin{aligned}
    d\mathbf{x} &= \big[\mathbf{f}(\mathbf{x}, t) - g(t)^2 \nabla_{\mathbf{x}}\log p_t(\mathbf{x})
    \big]\,dt + g(t)\,d\bar{\mathbf{w}}, \\
    \frac{d\mathbf{x}}{dt} &= \mathbf{f}(\mathbf{x}, t) - \tfrac12 g(t)^2
    \nabla_{\mathbf{x}}\log p_t(\mathbf{x}),
    \end{aligned}

with :math:`\mathbf{f} = -\frac12\beta\mathbf{x}` and :math:`g = \sqrt\beta`; both have the
marginals :math:`p_t` of the forward SDE. Tweedie's formula links the score to the denoiser
:math:`D(\mathbf{x}_t, t) = \mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]` (eq. (tweedie-vp)):
:math:`\nabla \log p_t(\mathbf{x}_t) = (s\,D - \mathbf{x}_t)/\bar\sigma^2`.

The time is integrated on :math:`[t_{\min}, 1]` with :math:`t_{\min} = 10^{-3}`: at
:math:`t = 0` the score of data concentrated near a low-dimensional set blows up, and at
:math:`t_{\min}` the noise level :math:`\sigma(t_{\min}) \approx 0.01` is already far below the
scales of the data of this book.

References:
    Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole, "Score-based
    generative modeling through stochastic differential equations", ICLR 2021, arXiv:2011.13456.
    B. D. O. Anderson, "Reverse-time diffusion equation models", Stoch. Proc. Appl. 12, 1982.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 6, "Stochastic differential equations", eqs. (vp-sde), (vp-marginal), (pf-ode),
(tweedie-vp); used by chapter 7 (samplers) and chapter 12 (the diffusion forecaster).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lecture_code.validation import check_real, check_tensor

__all__ = ["VPSDE", "denoiser_from_score", "score_from_denoiser"]


def _as_time(t: float | torch.Tensor) -> torch.Tensor:
    """``t`` as a float64 tensor (float times become 0-d tensors); rejects times outside [0, 1]."""
    t = torch.as_tensor(t, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError(f"t must lie in [0, 1], got {t if t.numel() < 6 else t.aminmax()}")
    return t


def _per_sample(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Scalars ``values``: () or (B,) as (B, 1, ..., 1) (or ()) in ``x``'s dtype, so that they
    multiply ``x: (B, ...)`` row by row whatever the rank of ``x``."""
    if values.ndim == 0:
        return values.to(x.dtype)
    if values.ndim != 1 or values.shape[0] != x.shape[0]:
        raise ValueError(
            f"t must be a number or have shape (B,) with B = {x.shape[0]} (the batch of x), "
            f"got shape {tuple(values.shape)}"
        )
    return values.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


@dataclass(frozen=True)
class VPSDE:
    r"""The VP-SDE with the linear rate :math:`\beta(t) = \beta_{\min} + t(\beta_{\max} -
    \beta_{\min})` on :math:`t \in [0, 1]`.

    Attributes:
        beta_min: :math:`\beta_{\min} > 0`, the rate at :math:`t = 0` (Song et al.: 0.1).
        beta_max: :math:`\beta_{\max} \ge \beta_{\min}`, the rate at :math:`t = 1` (20); then
            :math:`s(1) = e^{-5.025} \approx 0.0066`, so :math:`\mathbf{x}_1` is pure noise.
        t_min: the smallest time :math:`t_{\min}` at which samplers stop and training draws
            times, in (0, 1).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = 1e-3

    def __post_init__(self) -> None:
        check_real("beta_min", self.beta_min, low=0.0, low_open=True)
        check_real("beta_max", self.beta_max, low=self.beta_min)
        check_real("t_min", self.t_min, low=0.0, high=1.0, low_open=True, high_open=True)

    # --- the coefficients ---------------------------------------------------------------------
    def beta(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`\beta(t)`; ``t``: () or (B,) -> same shape, float64."""
        t = _as_time(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def beta_integral(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`B(t) = \int_0^t \beta(s)\,ds = \beta_{\min} t + \frac12(\beta_{\max} -
        \beta_{\min}) t^2`; () or (B,), float64."""
        t = _as_time(t)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def drift(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        r"""The drift :math:`\mathbf{f}(\mathbf{x}, t) = -\frac12\beta(t)\mathbf{x}`.

        Args:
            x: (B, ...) states.
            t: a time in [0, 1], or (B,) one per row.
        """
        return -0.5 * _per_sample(self.beta(t), x) * x

    def diffusion(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The diffusion coefficient :math:`g(t) = \sqrt{\beta(t)}`; () or (B,), float64."""
        return torch.sqrt(self.beta(t))

    # --- the marginal -------------------------------------------------------------------------
    def marginal_scale(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`s(t) = e^{-B(t)/2}`, the factor multiplying :math:`\mathbf{x}_0`,
        eq. (vp-marginal); () or (B,), float64."""
        return torch.exp(-0.5 * self.beta_integral(t))

    def marginal_std(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`\bar\sigma(t) = \sqrt{1 - e^{-B(t)}}`, the standard deviation of the noise in
        :math:`\mathbf{x}_t`, eq. (vp-marginal); () or (B,), float64."""
        # -expm1(-B) keeps full precision when B(t) is tiny (t near 0).
        return torch.sqrt(-torch.expm1(-self.beta_integral(t)))

    def sigma(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The noise level :math:`\sigma(t) = \bar\sigma(t)/s(t) = \sqrt{e^{B(t)} - 1}` of
        :math:`\mathbf{x}_t / s(t) = \mathbf{x}_0 + \sigma(t)\boldsymbol{\epsilon}`; () or (B,)."""
        return torch.sqrt(torch.expm1(self.beta_integral(t)))

    def t_from_sigma(self, sigma: float | torch.Tensor) -> torch.Tensor:
        r"""The time at which the noise level is ``sigma``: the inverse of :meth:`sigma`.

        :math:`B(t) = \log(1 + \sigma^2)` is a quadratic in :math:`t`; its positive root is
        :math:`t = \big(-\beta_{\min} + \sqrt{\beta_{\min}^2 + 2(\beta_{\max} - \beta_{\min})
        \log(1 + \sigma^2)}\big) / (\beta_{\max} - \beta_{\min})`.

        Args:
            sigma: () or (B,) noise levels in :math:`[0, \sigma(1)]`.
        """
        sigma = torch.as_tensor(sigma, dtype=torch.float64)
        if bool((sigma < 0).any()) or not bool(torch.isfinite(sigma).all()):
            raise ValueError(f"sigma must be finite and >= 0, got {sigma}")
        b = torch.log1p(sigma**2)
        slope = self.beta_max - self.beta_min
        if slope == 0.0:
            t = b / self.beta_min
        else:
            # Written as 2b / (beta_min + sqrt(...)) to avoid cancellation for small sigma.
            t = 2.0 * b / (self.beta_min + torch.sqrt(self.beta_min**2 + 2.0 * slope * b))
        if bool((t > 1.0 + 1e-9).any()):
            raise ValueError(
                f"sigma must be at most sigma(1) = {self.sigma_max:.6g}, got {sigma.max():.6g}"
            )
        return t.clamp(max=1.0)

    def perturb(
        self, x_0: torch.Tensor, t: float | torch.Tensor, eps: torch.Tensor
    ) -> torch.Tensor:
        r""":math:`\mathbf{x}_t = s(t)\mathbf{x}_0 + \bar\sigma(t)\boldsymbol{\epsilon}`, a draw
        of the marginal eq. (vp-marginal) given the noise.

        Args:
            x_0: (B, ...) clean data.
            t: a time, or (B,) one per row.
            eps: (B, ...) standard Gaussian noise, same shape as ``x_0``.
        """
        check_tensor("eps", eps, tuple(x_0.shape))
        t = _as_time(t)
        return (
            _per_sample(self.marginal_scale(t), x_0) * x_0
            + _per_sample(self.marginal_std(t), x_0) * eps
        )

    def prior_sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        r"""Draws of the prior :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})`, which
        :math:`p_1` equals up to :math:`s(1)^2 \approx 4\times 10^{-5}`; ``shape`` -> float32."""
        return torch.randn(shape, generator=generator)

    # --- reverse time ---------------------------------------------------------------------------
    def reverse_drift(
        self,
        x: torch.Tensor,
        t: float | torch.Tensor,
        score: torch.Tensor,
        probability_flow: bool = False,
    ) -> torch.Tensor:
        r"""Drift of the reverse-time SDE, :math:`\mathbf{f} - g^2 \nabla\log p_t` (Anderson
        1982), or of the probability-flow ODE, :math:`\mathbf{f} - \frac12 g^2 \nabla\log p_t`,
        eq. (pf-ode). Time runs backwards: a step of length :math:`h` moves from :math:`t` to
        :math:`t - h` by :math:`\mathbf{x} - h \cdot` (this drift).

        Args:
            x: (B, ...) states at time ``t``.
            t: a time, or (B,).
            score: (B, ...) the score :math:`\nabla\log p_t(\mathbf{x})`.
            probability_flow: the ODE's drift instead of the SDE's.
        """
        weight = 0.5 if probability_flow else 1.0
        g2 = _per_sample(self.beta(t), x)
        return self.drift(x, t) - weight * g2 * score

    @property
    def sigma_max(self) -> float:
        """The noise level :math:`\\sigma(1)` at the start of sampling."""
        return float(self.sigma(1.0))

    @property
    def sigma_min(self) -> float:
        """The noise level :math:`\\sigma(t_{\\min})` at the end of sampling."""
        return float(self.sigma(self.t_min))


def denoiser_from_score(
    sde: VPSDE, x_t: torch.Tensor, t: float | torch.Tensor, score: torch.Tensor
) -> torch.Tensor:
    r"""Tweedie's formula, eq. (tweedie-vp): :math:`\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t] =
    (\mathbf{x}_t + \bar\sigma(t)^2 \nabla\log p_t(\mathbf{x}_t)) / s(t)`.

    Args:
        sde: the VP-SDE.
        x_t: (B, ...) noisy states.
        t: a time, or (B,).
        score: (B, ...) the score at ``x_t``.

    Returns:
        (B, ...) the denoised estimate :math:`\hat{\mathbf{x}}_0`.
    """
    var = _per_sample(sde.marginal_std(t) ** 2, x_t)
    return (x_t + var * score) / _per_sample(sde.marginal_scale(t), x_t)


def score_from_denoiser(
    sde: VPSDE, x_t: torch.Tensor, t: float | torch.Tensor, x_0_hat: torch.Tensor
) -> torch.Tensor:
    r"""The inverse of :func:`denoiser_from_score`: :math:`\nabla\log p_t(\mathbf{x}_t) =
    (s(t)\hat{\mathbf{x}}_0 - \mathbf{x}_t) / \bar\sigma(t)^2`, eq. (tweedie-vp).

    Args:
        sde: the VP-SDE.
        x_t: (B, ...) noisy states.
        t: a time in (0, 1], or (B,).
        x_0_hat: (B, ...) the denoiser's output at ``x_t``.
    """
    t = _as_time(t)
    if bool((t <= 0).any()):
        raise ValueError(f"t must be > 0 to turn a denoiser into a score, got {t}")
    var = _per_sample(sde.marginal_std(t) ** 2, x_t)
    return (_per_sample(sde.marginal_scale(t), x_t) * x_0_hat - x_t) / var
