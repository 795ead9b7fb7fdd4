r"""Noise schedules of the discrete forward process.

The forward process adds Gaussian noise in :math:`T` steps,

.. math::

    q(\mathbf{x}_t \mid \mathbf{x}_{t-1})
    = \mathcal{N}\big(\mathbf{x}_t; \sqrt{1 - \beta_t}\,\mathbf{x}_{t-1}, \beta_t \mathbf{I}\big),
    \qquad t = 1, \dots, T,

and a *schedule* is the list of variances :math:`\beta_1, \dots, \beta_T`, each in
:math:`(0, 1)`. Everything else follows from it (:class:`NoiseSchedule`):

- :math:`\alpha_t = 1 - \beta_t`, the fraction of the variance kept in step :math:`t`;
- :math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s`, the signal fraction after :math:`t` steps, so that
  :math:`q(\mathbf{x}_t \mid \mathbf{x}_0) = \mathcal{N}(a_t\mathbf{x}_0, \sigma_t^2\mathbf{I})`
  with the *scale* :math:`a_t = \sqrt{\bar\alpha_t}` and the *noise standard deviation*
  :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}` (eq. (fwd-marginal));
- :math:`\mathrm{SNR}(t) = a_t^2 / \sigma_t^2 = \bar\alpha_t / (1 - \bar\alpha_t)`, the
  signal-to-noise ratio, and :math:`\lambda_t = \log\mathrm{SNR}(t)`, the log-SNR.

Arrays are indexed by the step itself: ``beta[t]`` is :math:`\beta_t` for ``t = 1..T``, and the
entry ``t = 0`` describes the clean data (:math:`\beta_0 = 0`, :math:`\bar\alpha_0 = 1`,
:math:`\mathrm{SNR}(0) = \infty`). This costs one unused entry and saves every ``t - 1`` in the
code that uses the schedule.

Two schedules from the literature are provided: the linear schedule of

    J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
    arXiv:2006.11239,

and the cosine schedule of

    A. Nichol, P. Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021,
    arXiv:2102.09672.

Book: chapter 2, "The forward process" (:doc:`/book/part1/02_forward_process`), sections "The
forward Markov chain" and "Noise schedules", eqs. (fwd-step), (fwd-alpha-bar), (fwd-linear),
(fwd-cosine), (fwd-snr).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "HO_BETA_1",
    "HO_BETA_T",
    "HO_T",
    "MAX_BETA",
    "NoiseSchedule",
    "check_steps",
    "constant_schedule",
    "cosine_alpha_bar",
    "cosine_schedule",
    "linear_schedule",
    "schedule_from_beta",
]

#: Ho et al.'s linear schedule at T = 1000 runs from this beta_1 ...
HO_BETA_1 = 1e-4
#: ... to this beta_T.
HO_BETA_T = 0.02
#: The number of steps at which Ho et al.'s end points hold; other T rescale them by HO_T / T.
HO_T = 1000
#: The largest beta a default end point may take (a step may not destroy all the signal at once).
MAX_BETA = 0.999


@dataclass(frozen=True, eq=False, repr=False)
class NoiseSchedule:
    r"""A discrete noise schedule :math:`\beta_1, \dots, \beta_T` and the quantities it fixes.

    Attributes:
        beta: ``(T+1,)`` float64; ``beta[0] = 0`` and ``beta[t]`` is :math:`\beta_t \in (0, 1)`
            for ``t = 1..T``. Build it with :func:`schedule_from_beta`, :func:`linear_schedule`
            or :func:`cosine_schedule` rather than by hand.

    The ``repr`` states ``T``, the end points and a digest of every value, so two schedules that
    differ anywhere have different ``repr`` (which :func:`lecture_code.cache.cached` keys on).
    """

    beta: torch.Tensor

    def __post_init__(self) -> None:
        beta = check_tensor("beta", self.beta, (None,))
        if beta.numel() < 2:
            raise ValueError(
                f"beta must hold beta_0 = 0 and at least one step (shape (T+1,) with T >= 1), "
                f"got shape {tuple(beta.shape)}"
            )
        beta = beta.detach().to(torch.float64).clone()
        if beta[0] != 0:
            raise ValueError(f"beta[0] must be 0 (the clean data), got {beta[0].item()}")
        _check_betas_in_unit_interval(beta[1:], first_step=1)
        # frozen: the validated float64 copy replaces the argument once, here.
        object.__setattr__(self, "beta", beta)

    @property
    def T(self) -> int:
        """Number of diffusion steps."""
        return self.beta.numel() - 1

    @property
    def alpha(self) -> torch.Tensor:
        r""":math:`\alpha_t = 1 - \beta_t`, ``(T+1,)``, with ``alpha[0] = 1``."""
        return 1.0 - self.beta

    @property
    def alpha_bar(self) -> torch.Tensor:
        r""":math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s`, ``(T+1,)``, with ``alpha_bar[0] = 1``
        (eq. (fwd-alpha-bar)). Strictly decreasing, because every :math:`\alpha_t < 1`."""
        # cumprod includes alpha[0] = 1, so entry t is the product over s = 1..t.
        return torch.cumprod(self.alpha, dim=0)

    @property
    def snr(self) -> torch.Tensor:
        r""":math:`\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)`, ``(T+1,)``;
        ``snr[0] = inf`` (eq. (fwd-snr))."""
        alpha_bar = self.alpha_bar
        return alpha_bar / (1.0 - alpha_bar)

    @property
    def log_snr(self) -> torch.Tensor:
        r""":math:`\log \mathrm{SNR}(t)`, ``(T+1,)``; ``log_snr[0] = inf``.

        Computed as :math:`\log\bar\alpha_t - \log(1 - \bar\alpha_t)` with
        :math:`1 - \bar\alpha_t = -\mathrm{expm1}(\sum_s \log\alpha_s)`, which keeps full
        precision when :math:`\bar\alpha_t` is close to 1 (the first steps)."""
        log_alpha_bar = torch.cumsum(torch.log1p(-self.beta), dim=0)
        return log_alpha_bar - torch.log(-torch.expm1(log_alpha_bar))

    @property
    def scale(self) -> torch.Tensor:
        r"""The scale :math:`a_t = \sqrt{\bar\alpha_t}`, ``(T+1,)``: the factor that multiplies
        :math:`\mathbf{x}_0` in :math:`\mathbf{x}_t = a_t\mathbf{x}_0 +
        \sigma_t\boldsymbol{\epsilon}` (eq. (fwd-reparam))."""
        return torch.sqrt(self.alpha_bar)

    @property
    def sigma(self) -> torch.Tensor:
        r"""The noise standard deviation :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`, ``(T+1,)``:
        the standard deviation of the noise in :math:`\mathbf{x}_t` (eq. (fwd-reparam)).

        Computed as :math:`\sqrt{-\mathrm{expm1}(\sum_s \log\alpha_s)}`, accurate when
        :math:`\bar\alpha_t` is close to 1 (the first steps)."""
        log_alpha_bar = torch.cumsum(torch.log1p(-self.beta), dim=0)
        return torch.sqrt(-torch.expm1(log_alpha_bar))

    def __repr__(self) -> str:
        digest = hashlib.sha256(self.beta.numpy().tobytes()).hexdigest()[:16]
        return (
            f"NoiseSchedule(T={self.T}, beta_1={self.beta[1].item():.6g}, "
            f"beta_T={self.beta[-1].item():.6g}, digest={digest!r})"
        )


def _check_betas_in_unit_interval(beta: torch.Tensor, first_step: int) -> None:
    """Raise naming the first step whose beta is outside the open interval (0, 1)."""
    bad = ((beta <= 0) | (beta >= 1)).nonzero()
    if bad.numel() > 0:
        i = int(bad[0, 0])
        raise ValueError(
            f"beta_t must lie in (0, 1) for every step t = 1..T, "
            f"got beta_{i + first_step} = {beta[i].item()!r}"
        )


def schedule_from_beta(beta: torch.Tensor) -> NoiseSchedule:
    r"""The schedule with variances :math:`\beta_1, \dots, \beta_T`.

    Args:
        beta: ``(T,)``, the values :math:`\beta_1, \dots, \beta_T`, each in :math:`(0, 1)`.

    Returns:
        A :class:`NoiseSchedule` whose ``beta`` is ``(T+1,)`` with ``beta[0] = 0`` prepended.
    """
    beta = check_tensor("beta", beta, ("T",))
    if beta.numel() < 1:
        raise ValueError("beta must hold at least one step, got an empty tensor")
    beta = beta.detach().to(torch.float64)
    _check_betas_in_unit_interval(beta, first_step=1)
    return NoiseSchedule(torch.cat([beta.new_zeros(1), beta]))


def constant_schedule(T: int, beta: float) -> NoiseSchedule:
    r"""The schedule :math:`\beta_t = \beta` for every step, so that
    :math:`\bar\alpha_t = (1 - \beta)^t` falls exponentially in :math:`t`.

    Args:
        T: number of steps, ``>= 1``.
        beta: the variance of every step, in :math:`(0, 1)`.
    """
    T = check_int("T", T, low=1)
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True, high_open=True)
    return schedule_from_beta(torch.full((T,), beta, dtype=torch.float64))


def linear_schedule(
    T: int, beta_1: float | None = None, beta_T: float | None = None
) -> NoiseSchedule:
    r"""The linear schedule :math:`\beta_t = \beta_1 + (\beta_T - \beta_1)(t - 1)/(T - 1)`
    (eq. (fwd-linear); Ho et al. 2020).

    Ho et al. use :math:`\beta_1 = 10^{-4}` and :math:`\beta_T = 0.02` at :math:`T = 1000`. With
    the defaults, other :math:`T` rescale both end points by :math:`1000/T`, which keeps the sum
    :math:`\sum_t \beta_t` near 10 but *not* the end point: that is set by
    :math:`\log\bar\alpha_T = \sum_t \log(1 - \beta_t)`, and the neglected
    :math:`\sum_t\beta_t^2/2 + \dots` grows as :math:`T` shrinks, so small :math:`T` end
    closer to :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})` than large :math:`T`. A rescaled
    default end point is capped at :data:`MAX_BETA`, which for :math:`T \le 20` also breaks the
    fixed sum.

    Args:
        T: number of steps, ``>= 1``.
        beta_1: first variance, in :math:`(0, 1)`; default ``1e-4 * 1000 / T``.
        beta_T: last variance, in :math:`(0, 1)`; default ``min(0.02 * 1000 / T, 0.999)``.

    Returns:
        The :class:`NoiseSchedule`.
    """
    T = check_int("T", T, low=1)
    if beta_1 is None:
        beta_1 = min(HO_BETA_1 * HO_T / T, MAX_BETA)
    if beta_T is None:
        beta_T = min(HO_BETA_T * HO_T / T, MAX_BETA)
    beta_1 = check_real("beta_1", beta_1, low=0.0, high=1.0, low_open=True, high_open=True)
    beta_T = check_real("beta_T", beta_T, low=0.0, high=1.0, low_open=True, high_open=True)
    beta = torch.linspace(beta_1, beta_T, T, dtype=torch.float64)
    return schedule_from_beta(beta)


def cosine_alpha_bar(u: torch.Tensor, s: float = 0.008) -> torch.Tensor:
    r"""Nichol and Dhariwal's continuous :math:`\bar\alpha(u) = f(u)/f(0)` with
    :math:`f(u) = \cos^2\!\big(\tfrac{\pi}{2}\,\tfrac{u + s}{1 + s}\big)`, :math:`u = t/T`
    (eq. (fwd-cosine)).

    Args:
        u: ``(N,)`` fractions of the way through the process, in :math:`[0, 1]`.
        s: the offset that keeps :math:`\beta_t` from vanishing near :math:`t = 0`, ``>= 0``.

    Returns:
        ``(N,)``, decreasing from 1 at :math:`u = 0` to 0 at :math:`u = 1`.
    """
    u = check_tensor("u", u, (None,))
    s = check_real("s", s, low=0.0)
    if bool(((u < 0) | (u > 1)).any()):
        raise ValueError(
            f"u must lie in [0, 1], got values from {u.min().item()} to {u.max().item()}"
        )

    u = u.to(torch.float64)
    f_u = torch.cos((u + s) / (1 + s) * (math.pi / 2)) ** 2
    f_0 = math.cos(s / (1 + s) * (math.pi / 2)) ** 2
    return f_u / f_0


def cosine_schedule(T: int, s: float = 0.008, max_beta: float = MAX_BETA) -> NoiseSchedule:
    r"""The cosine schedule of Nichol and Dhariwal (2021) (eq. (fwd-cosine)).

    It fixes :math:`\bar\alpha_t = f(t/T)/f(0)` (see :func:`cosine_alpha_bar`) and recovers the
    variances from :math:`\beta_t = 1 - \bar\alpha_t / \bar\alpha_{t-1}`, capped at ``max_beta``
    because :math:`\bar\alpha_T = 0` would make the last step :math:`\beta_T = 1`.

    Args:
        T: number of steps, ``>= 1``.
        s: small offset, ``>= 0`` (0.008 in the paper).
        max_beta: the cap on every :math:`\beta_t`, in :math:`(0, 1)`.

    Returns:
        The :class:`NoiseSchedule`.
    """
    T = check_int("T", T, low=1)
    max_beta = check_real("max_beta", max_beta, low=0.0, high=1.0, low_open=True, high_open=True)
    alpha_bar = cosine_alpha_bar(torch.arange(T + 1, dtype=torch.float64) / T, s)
    beta = (1.0 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)
    return schedule_from_beta(beta)


def check_steps(
    t: torch.Tensor, T: int, name: str = "t", dims: dict[str, int] | None = None
) -> torch.Tensor:
    """``t`` if it is a ``(B,)`` integer tensor of steps in ``[0, T]``.

    Args:
        t: ``(B,)``, integer dtype (``torch.long``).
        T: the number of steps of the schedule.
        name: the argument's name, used in the message.
        dims: shared symbol sizes (binds ``B``), as in :func:`lecture_code.validation.check_tensor`.
    """
    t = check_tensor(name, t, ("B",), dims=dims, floating=False)
    if t.is_floating_point() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of steps, got dtype {t.dtype}")
    bad = ((t < 0) | (t > T)).nonzero()
    if bad.numel() > 0:
        i = int(bad[0, 0])
        raise ValueError(f"{name} must lie in [0, T] = [0, {T}], got {name}[{i}] = {int(t[i])}")
    return t
