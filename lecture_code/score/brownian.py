r"""Brownian motion and the Euler–Maruyama scheme for an Itô SDE, with measured orders.

A Brownian motion :math:`W` has independent Gaussian increments,
:math:`W_{t+h} - W_t \sim \mathcal{N}(0, h)` (eq. (sde-brownian)). The Itô SDE
:math:`dX = f(X, t)\,dt + g(X, t)\,dW` (eq. (sde-ito)) is discretised by Euler–Maruyama
(eq. (sde-em)),

.. math::
    X_{k+1} = X_k + f(X_k, t_k)\,h + g(X_k, t_k)\,\Delta W_k,

with the *same* increments :math:`\Delta W_k` that drive the exact solution when the strong
error :math:`\mathbb{E}|X_T - X_T^h|` is measured (:func:`coarsen` sums fine increments into
coarse ones, so every step size sees one Brownian path). Geometric Brownian motion
:math:`dX = \mu X\,dt + b X\,dW` has the closed form (eq. (sde-gbm))
:math:`X_T = X_0\exp\big((\mu - \tfrac12 b^2)T + bW_T\big)`, and
:math:`\mathbb{E}X_T = X_0 e^{\mu T}`, while the Euler–Maruyama mean is exactly
:math:`X_0(1 + \mu h)^{T/h}`. Euler–Maruyama has strong order 1/2 for multiplicative noise
(order 1 when :math:`g` does not depend on :math:`X`) and weak order 1 (Kloeden and Platen 1992).

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`), sections
"Brownian motion and Itô's lemma" and "Euler–Maruyama and its two orders", eqs. (sde-brownian),
(sde-ito), (sde-em), (sde-gbm).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "OrderMeasurement",
    "brownian_increments",
    "coarsen",
    "euler_maruyama",
    "fit_slope",
    "gbm_exact",
    "gbm_orders",
]

#: ``f(x, t)`` or ``g(x, t)``: ``x`` of shape ``(B, ...)``, ``t`` a float; returns ``(B, ...)``.
Coefficient = Callable[[torch.Tensor, float], torch.Tensor]


def brownian_increments(
    n_paths: int, n_steps: int, T: float, generator: torch.Generator
) -> torch.Tensor:
    r"""``(n_steps, n_paths)`` float64 increments :math:`\Delta W_k \sim \mathcal{N}(0, h)`,
    :math:`h = T/n_{\text{steps}}`, independent (eq. (sde-brownian))."""
    n_paths = check_int("n_paths", n_paths, low=1)
    n_steps = check_int("n_steps", n_steps, low=1)
    T = check_real("T", T, low=0.0, low_open=True)
    z = torch.randn(n_steps, n_paths, generator=generator, dtype=torch.float64)
    return math.sqrt(T / n_steps) * z


def coarsen(increments: torch.Tensor, factor: int) -> torch.Tensor:
    r"""Sums of ``factor`` consecutive increments: the same Brownian path seen with a step
    ``factor`` times longer.

    Args:
        increments: ``(K, ...)`` with ``K`` divisible by ``factor``.
        factor: ``>= 1``.

    Returns:
        ``(K // factor, ...)``.
    """
    check_tensor("increments", increments)
    factor = check_int("factor", factor, low=1)
    K = increments.shape[0]
    if K % factor:
        raise ValueError(f"the number of increments {K} is not divisible by factor {factor}")
    return increments.reshape(K // factor, factor, *increments.shape[1:]).sum(dim=1)


def euler_maruyama(
    drift: Coefficient,
    diffusion: Coefficient,
    x_0: torch.Tensor,
    increments: torch.Tensor,
    T: float,
    *,
    t_0: float = 0.0,
    keep_path: bool = False,
) -> torch.Tensor:
    r"""Euler–Maruyama for :math:`dX = f\,dt + g\,dW` on :math:`[t_0, t_0 + T]`, eq. (sde-em).

    Args:
        drift: :math:`f(x, t)`.
        diffusion: :math:`g(x, t)`, multiplying the increment elementwise.
        x_0: ``(B, ...)`` the start.
        increments: ``(K, B, ...)`` Brownian increments of variance ``T / K`` each.
        T: the length of the time interval, ``> 0``.
        t_0: the start time.
        keep_path: return the whole path ``(K + 1, B, ...)`` instead of the end ``(B, ...)``.
    """
    check_tensor("x_0", x_0)
    check_tensor("increments", increments, (None, *x_0.shape))
    T = check_real("T", T, low=0.0, low_open=True)
    K = increments.shape[0]
    h = T / K
    x = x_0
    path = [x]
    for k in range(K):
        t = t_0 + k * h
        x = x + drift(x, t) * h + diffusion(x, t) * increments[k]
        if keep_path:
            path.append(x)
    return torch.stack(path) if keep_path else x


def gbm_exact(x_0: float, mu: float, b: float, T: float, w_T: torch.Tensor) -> torch.Tensor:
    r"""Geometric Brownian motion at time ``T`` given :math:`W_T` (eq. (sde-gbm)):
    :math:`X_0\exp((\mu - b^2/2)T + bW_T)`; ``w_T`` of any shape."""
    check_tensor("w_T", w_T)
    return x_0 * torch.exp((mu - 0.5 * b**2) * T + b * w_T)


def fit_slope(h: torch.Tensor, error: torch.Tensor) -> float:
    r"""Least-squares slope of :math:`\log(\text{error})` against :math:`\log h`: the measured
    order. ``h`` and ``error``: ``(L,)`` positive, ``L >= 2``."""
    dims: dict[str, int] = {}
    h = check_tensor("h", h, ("L",), dims=dims).to(torch.float64)
    error = check_tensor("error", error, ("L",), dims=dims).to(torch.float64)
    if h.numel() < 2 or bool((h <= 0).any()) or bool((error <= 0).any()):
        raise ValueError(f"need >= 2 positive steps and errors, got h={h}, error={error}")
    x, y = torch.log(h), torch.log(error)
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


@dataclass(frozen=True)
class OrderMeasurement:
    """Errors of Euler–Maruyama on geometric Brownian motion, one entry per step size.

    Attributes:
        h: ``(L,)`` step sizes, largest first.
        strong: ``(L,)`` :math:`\\mathbb{E}|X_T - X_T^h|` over the paths.
        strong_se: ``(L,)`` its standard error.
        weak: ``(L,)`` :math:`\\mathbb{E}X_T - \\mathbb{E}X_T^h`, estimated on the same paths.
        weak_se: ``(L,)`` its standard error.
        weak_exact: ``(L,)`` the exact :math:`X_0(e^{\\mu T} - (1 + \\mu h)^{T/h})`.
        strong_slope_se: standard error of the strong slope, from independent batches.
        weak_slope_se: standard error of the slope of :attr:`weak`, from the same batches.
    """

    h: torch.Tensor
    strong: torch.Tensor
    strong_se: torch.Tensor
    weak: torch.Tensor
    weak_se: torch.Tensor
    weak_exact: torch.Tensor
    strong_slope_se: float
    weak_slope_se: float


def gbm_orders(
    mu: float,
    b: float,
    n_paths: int,
    levels: tuple[int, ...],
    generator: torch.Generator,
    *,
    x_0: float = 1.0,
    T: float = 1.0,
    n_batches: int = 20,
) -> OrderMeasurement:
    r"""Strong and weak errors of Euler–Maruyama on GBM at ``n_steps`` in ``levels``.

    All step sizes are driven by one fine Brownian path per sample (:func:`coarsen`), so the
    strong error compares each approximation with the exact :math:`X_T` of its own path.

    Args:
        mu, b: drift rate and volatility of :math:`dX = \mu X dt + b X dW`.
        n_paths: number of paths, divisible by ``n_batches``.
        levels: numbers of steps, increasing, each dividing the last.
        generator: the source of the Brownian paths.
        x_0, T: the start and the horizon.
        n_batches: independent batches whose strong slopes give the slope's standard error.
    """
    n_paths = check_int("n_paths", n_paths, low=2)
    n_batches = check_int("n_batches", n_batches, low=2)
    if n_paths % n_batches:
        raise ValueError(f"n_paths {n_paths} must be divisible by n_batches {n_batches}")
    if not levels or any(check_int("levels", n, low=1) <= 0 or levels[-1] % n for n in levels):
        raise ValueError(f"levels must be step counts that divide the last one, got {levels}")
    fine = levels[-1]
    dw = brownian_increments(n_paths, fine, T, generator)
    x_T = gbm_exact(x_0, mu, b, T, dw.sum(dim=0))
    start = torch.full((n_paths,), x_0, dtype=torch.float64)
    errors, diffs, hs = [], [], []
    for n in levels:
        x_h = euler_maruyama(
            lambda x, t: mu * x, lambda x, t: b * x, start, coarsen(dw, fine // n), T
        )
        errors.append((x_T - x_h).abs())
        diffs.append(x_T - x_h)
        hs.append(T / n)
    err = torch.stack(errors)  # (L, n_paths)
    diff = torch.stack(diffs)
    h = torch.tensor(hs, dtype=torch.float64)
    root_n = math.sqrt(n_paths)

    def batch_slope_se(values: torch.Tensor) -> float:
        batches = values.reshape(len(levels), n_batches, -1).mean(dim=2).abs()  # (L, n_batches)
        slopes = torch.tensor([fit_slope(h, b) for b in batches.unbind(1)])
        return float(slopes.std() / math.sqrt(n_batches))

    steps = torch.tensor(levels, dtype=torch.float64)
    return OrderMeasurement(
        h=h,
        strong=err.mean(dim=1),
        strong_se=err.std(dim=1) / root_n,
        weak=diff.mean(dim=1),
        weak_se=diff.std(dim=1) / root_n,
        weak_exact=x_0 * (math.exp(mu * T) - (1 + mu * h) ** steps),
        strong_slope_se=batch_slope_se(err),
        weak_slope_se=batch_slope_se(diff),
    )
