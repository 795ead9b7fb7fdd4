r"""The variance-preserving SDE (VP-SDE) of Song et al. (2021).

The forward process noises data :math:`\mathbf{x}_0 \sim p_0` by the Itô SDE (eq. (vp-sde))

.. math::
    d\mathbf{x} = -\tfrac12 \beta(t)\,\mathbf{x}\,dt + \sqrt{\beta(t)}\,d\mathbf{w},
    \qquad \beta(t) = \beta_{\min} + t\,(\beta_{\max} - \beta_{\min}), \quad t \in [0, 1],

the continuous-time limit of DDPM's chain :math:`\mathbf{x}_i = \sqrt{1 - \beta_i}\,
\mathbf{x}_{i-1} + \sqrt{\beta_i}\,\boldsymbol{\epsilon}`, :math:`i = 1, \dots, N`. Part I's
linear schedule (:func:`lecture_code.ddpm.schedules.linear_schedule` with its default end
points, eq. (fwd-linear), for :math:`N > 20`, where they are not capped) is exactly
:math:`\beta_i = \beta\big((i-1)/(N-1)\big)/N`; the limit proposition of the book writes
:math:`\beta(i/N)/N`, which differs from it by :math:`\mathcal{O}(1/N^2)` per step.
The drift is linear, so the marginal given :math:`\mathbf{x}_0` is Gaussian (eq. (vp-marginal)):

.. math::
    \begin{aligned}
    \mathbf{x}_t &= a(t)\,\mathbf{x}_0 + \sigma(t)\,\boldsymbol{\epsilon}, \qquad
    a(t) = e^{-\frac12 \bar\beta(t)}, \quad \sigma(t) = \sqrt{1 - e^{-\bar\beta(t)}}, \\
    \bar\beta(t) &= \int_0^t \beta = \beta_{\min} t + \tfrac12 (\beta_{\max} - \beta_{\min}) t^2 .
    \end{aligned}

The scale :math:`a(t)` and the noise standard deviation :math:`\sigma(t)` are those of Part I,
:math:`a_t = \sqrt{\bar\alpha_t}` and :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`, with
:math:`\bar\alpha(t) = e^{-\bar\beta(t)}`; they satisfy :math:`a^2 + \sigma^2 = 1`, hence
"variance preserving". The log signal-to-noise ratio is :math:`\lambda(t) = \log(a^2/\sigma^2)`.
Dividing by :math:`a(t)` gives the coordinates in which Karras et al. (2022) write their
samplers, :math:`\mathbf{x}_t / a(t) = \mathbf{x}_0 + \nu(t)\,\boldsymbol{\epsilon}` with the
*noise-to-signal ratio*

.. math::
    \nu(t) = \frac{\sigma(t)}{a(t)} = \sqrt{e^{\bar\beta(t)} - 1} = e^{-\lambda(t)/2}

(Karras et al. call it :math:`\sigma`; here :math:`\sigma` is always the standard deviation of
the noise in :math:`\mathbf{x}_t`).

Sampling runs, from :math:`t = 1` back to :math:`t \approx 0`, the reverse-time SDE
(Anderson 1982, eq. (sde-reverse-time)) or the probability-flow ODE (eq. (pf-ode)),

.. math::
    \begin{aligned}
    d\mathbf{x} &= \big[\mathbf{f}(\mathbf{x}, t) - g(t)^2 \nabla_{\mathbf{x}}\log p_t(\mathbf{x})
    \big]\,dt + g(t)\,d\bar{\mathbf{w}}, \\
    \frac{d\mathbf{x}}{dt} &= \mathbf{f}(\mathbf{x}, t) - \tfrac12 g(t)^2
    \nabla_{\mathbf{x}}\log p_t(\mathbf{x}),
    \end{aligned}

with :math:`\mathbf{f} = -\frac12\beta\mathbf{x}` and :math:`g = \sqrt\beta`; both have the
marginals :math:`p_t` of the forward SDE (:func:`reverse_drift`). Tweedie's formula links the
score to the posterior mean :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t) =
\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]` (eq. (tweedie-vp)), :math:`\nabla \log
p_t(\mathbf{x}_t) = (a\,\hat{\mathbf{x}}_0 - \mathbf{x}_t)/\sigma^2`:
:func:`lecture_code.ddpm.conversions.score_from_x_0` and its inverse, with ``sde.scale(t)``
and ``sde.sigma(t)``.

The time is integrated on :math:`[t_{\min}, 1]` with :math:`t_{\min} = 10^{-3}`: at
:math:`t = 0` the score of data concentrated near a low-dimensional set blows up, and at
:math:`t_{\min}` the noise-to-signal ratio :math:`\nu(t_{\min}) \approx 0.01` is already far
below the scales of the data of this book.

The process holds its coefficients, the functions of :math:`t` of the notation table, as
methods (:class:`VPSDE`); drawing from it and running it backwards are functions that take it as
their first argument (:func:`q_sample`, :func:`prior_sample`, :func:`reverse_drift`).

References:
    Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole, "Score-based
    generative modeling through stochastic differential equations", ICLR 2021, arXiv:2011.13456.
    B. D. O. Anderson, "Reverse-time diffusion equation models", Stoch. Proc. Appl. 12, 1982.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`), eqs. (vp-sde),
(vp-marginal), (sde-reverse-time), (pf-ode), (tweedie-vp); used by chapter 7, "Samplers"
(:doc:`/book/part2/07_samplers`), and chapter 12, "A diffusion forecaster"
(:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lecture_code.validation import check_real, check_tensor, per_sample

__all__ = ["VPSDE", "prior_sample", "q_sample", "reverse_drift"]


def _as_time(t: float | torch.Tensor) -> torch.Tensor:
    """``t`` as a float64 tensor (float times become 0-d tensors); rejects times outside [0, 1]."""
    t = torch.as_tensor(t, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError(f"t must lie in [0, 1], got {t if t.numel() < 6 else t.aminmax()}")
    return t


@dataclass(frozen=True)
class VPSDE:
    r"""The VP-SDE with the linear rate :math:`\beta(t) = \beta_{\min} + t(\beta_{\max} -
    \beta_{\min})` on :math:`t \in [0, 1]`.

    Every method takes a time ``t``: a number (then it returns a ``()`` tensor) or ``(B,)`` (one
    per row), and returns float64.

    Attributes:
        beta_min: :math:`\beta_{\min} > 0`, the rate at :math:`t = 0` (Song et al.: 0.1).
        beta_max: :math:`\beta_{\max} \ge \beta_{\min}`, the rate at :math:`t = 1` (20); then
            :math:`a(1) = e^{-5.025} \approx 0.0066`, so :math:`\mathbf{x}_1` is pure noise.
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
        r"""The noise rate :math:`\beta(t)`."""
        t = _as_time(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def beta_bar(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`\bar\beta(t) = \int_0^t \beta(s)\,ds = \beta_{\min} t + \frac12(\beta_{\max} -
        \beta_{\min}) t^2`, so that :math:`\bar\alpha(t) = e^{-\bar\beta(t)}`."""
        t = _as_time(t)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def drift(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        r"""The drift :math:`\mathbf{f}(\mathbf{x}, t) = -\frac12\beta(t)\mathbf{x}`.

        Args:
            x: ``(B, ...)`` states.
            t: a time in [0, 1], or ``(B,)`` one per row.

        Returns:
            ``(B, ...)``, in the dtype of ``x``.
        """
        return -0.5 * per_sample(self.beta(t).to(x.dtype), x, name="t") * x

    def diffusion(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The diffusion coefficient :math:`g(t) = \sqrt{\beta(t)}`."""
        return torch.sqrt(self.beta(t))

    # --- the marginal -------------------------------------------------------------------------
    def scale(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The scale :math:`a(t) = e^{-\bar\beta(t)/2}`, the factor multiplying
        :math:`\mathbf{x}_0` in eq. (vp-marginal)."""
        return torch.exp(-0.5 * self.beta_bar(t))

    def sigma(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The noise standard deviation :math:`\sigma(t) = \sqrt{1 - e^{-\bar\beta(t)}}` of
        :math:`\mathbf{x}_t`, eq. (vp-marginal)."""
        # -expm1(-beta_bar) keeps full precision when beta_bar(t) is tiny (t near 0).
        return torch.sqrt(-torch.expm1(-self.beta_bar(t)))

    def log_snr(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The log signal-to-noise ratio :math:`\lambda(t) = \log(a^2/\sigma^2) =
        -\log(e^{\bar\beta(t)} - 1)`; :math:`+\infty` at :math:`t = 0`."""
        return -torch.log(torch.expm1(self.beta_bar(t)))

    def nu(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The noise-to-signal ratio :math:`\nu(t) = \sigma(t)/a(t) = \sqrt{e^{\bar\beta(t)} - 1}
        = e^{-\lambda(t)/2}`: the noise level of :math:`\mathbf{x}_t / a(t) = \mathbf{x}_0 +
        \nu(t)\boldsymbol{\epsilon}` (Karras et al.'s :math:`\sigma`)."""
        return torch.sqrt(torch.expm1(self.beta_bar(t)))

    def t_from_nu(self, nu: float | torch.Tensor) -> torch.Tensor:
        r"""The time at which the noise-to-signal ratio is ``nu``: the inverse of :meth:`nu`.

        :math:`\bar\beta(t) = \log(1 + \nu^2)` is a quadratic in :math:`t`; its positive root is
        :math:`t = \big(-\beta_{\min} + \sqrt{\beta_{\min}^2 + 2(\beta_{\max} - \beta_{\min})
        \log(1 + \nu^2)}\big) / (\beta_{\max} - \beta_{\min})`.

        Args:
            nu: a number or ``(B,)``, noise-to-signal ratios in :math:`[0, \nu(1)]`.
        """
        nu = torch.as_tensor(nu, dtype=torch.float64)
        if bool((nu < 0).any()) or not bool(torch.isfinite(nu).all()):
            raise ValueError(f"nu must be finite and >= 0, got {nu}")
        b = torch.log1p(nu**2)
        slope = self.beta_max - self.beta_min
        if slope == 0.0:
            t = b / self.beta_min
        else:
            # Written as 2b / (beta_min + sqrt(...)) to avoid cancellation for small nu.
            t = 2.0 * b / (self.beta_min + torch.sqrt(self.beta_min**2 + 2.0 * slope * b))
        if bool((t > 1.0 + 1e-9).any()):
            raise ValueError(f"nu must be at most nu(1) = {self.nu_max:.6g}, got {nu.max():.6g}")
        return t.clamp(max=1.0)

    @property
    def nu_max(self) -> float:
        r"""The noise-to-signal ratio :math:`\nu(1)` at the start of sampling."""
        return float(self.nu(1.0))

    @property
    def nu_min(self) -> float:
        r"""The noise-to-signal ratio :math:`\nu(t_{\min})` at the end of sampling."""
        return float(self.nu(self.t_min))


def q_sample(
    sde: VPSDE, x_0: torch.Tensor, t: float | torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    r""":math:`\mathbf{x}_t = a(t)\mathbf{x}_0 + \sigma(t)\boldsymbol{\epsilon}`, a draw of the
    marginal eq. (vp-marginal) given the noise (the continuous form of
    :func:`lecture_code.ddpm.forward.q_sample`).

    Args:
        sde: the VP-SDE.
        x_0: ``(B, ...)`` clean data.
        t: a time, or ``(B,)`` one per row.
        eps: ``(B, ...)`` standard Gaussian noise, same shape as ``x_0``.

    Returns:
        ``(B, ...)``, in the dtype of ``x_0``.
    """
    check_tensor("eps", eps, tuple(x_0.shape))
    t = _as_time(t)
    return (
        per_sample(sde.scale(t).to(x_0.dtype), x_0, name="t") * x_0
        + per_sample(sde.sigma(t).to(x_0.dtype), x_0, name="t") * eps
    )


def prior_sample(sde: VPSDE, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    r"""Draws of the prior :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})`, which :math:`p_1` equals
    up to :math:`a(1)^2 \approx 4\times 10^{-5}`.

    Args:
        sde: the VP-SDE (whose prior does not depend on its settings).
        shape: ``(B, ...)``, the shape of the draws.
        generator: the source of the draws.

    Returns:
        ``shape``, float32.
    """
    del sde  # the VP prior is N(0, I) whatever the rates
    return torch.randn(shape, generator=generator)


def reverse_drift(
    sde: VPSDE,
    x: torch.Tensor,
    t: float | torch.Tensor,
    score: torch.Tensor,
    probability_flow: bool = False,
) -> torch.Tensor:
    r"""Drift of the reverse-time SDE, :math:`\mathbf{f} - g^2 \nabla\log p_t` (Anderson 1982,
    eq. (sde-reverse-time)), or of the probability-flow ODE, :math:`\mathbf{f} - \frac12 g^2
    \nabla\log p_t`, eq. (pf-ode). Time runs backwards: a step of length :math:`h` moves from
    :math:`t` to :math:`t - h` by :math:`\mathbf{x} - h \cdot` (this drift).

    Args:
        sde: the VP-SDE.
        x: ``(B, ...)`` states at time ``t``.
        t: a time, or ``(B,)``.
        score: ``(B, ...)`` the score :math:`\nabla\log p_t(\mathbf{x})`.
        probability_flow: the ODE's drift instead of the SDE's.

    Returns:
        ``(B, ...)``, in the dtype of ``x``.
    """
    weight = 0.5 if probability_flow else 1.0
    g2 = per_sample(sde.beta(t).to(x.dtype), x, name="t")
    return sde.drift(x, t) - weight * g2 * score
