"""Burst forcing: the intermittent, skewed, spatially coherent noise of the bursty truth.

The control truth of the benchmark kicks every site after every RK4 substep by
``sigma_xi * sqrt(dt) * xi`` with ``xi ~ N(0, I)``. Its one-step law is almost Gaussian. The
*bursty* truth (benchmark version 2, track 2) adds, after the same kick, a burst field ``b``. At
each site ``k`` independently, with probability ``p`` per substep, a burst of amplitude

    A_k = J * E_k * H_k,     E_k ~ Exp(1),  H_k ~ Bernoulli(p),

fires and is spread over the sites ``k - 1, k, k + 1`` with weights ``1/2, 1, 1/2`` (periodic).
The field is centred by its expectation, so the mean forcing stays ``F`` (book eq. (l96-burst)):

    b_k = A_k + (A_{k-1} + A_{k+1}) / 2 - 2 p J.

Moments (eq. (l96-burst-moments)). With ``E[E] = 1`` and ``E[E^2] = 2``:
``E[A] = p J``, ``E[A^2] = 2 p J^2`` and ``Var A = p J^2 (2 - p)``. The ``A_k`` are independent,
so with ``w = (1/2, 1, 1/2)``

    E[b_k] = 0,
    Var b_k = (1 + 1/4 + 1/4) Var A = (3/2) p J^2 (2 - p),
    Cov(b_k, b_{k+1}) = (1 * 1/2 + 1/2 * 1) Var A = p J^2 (2 - p)     (correlation 2/3),
    Cov(b_k, b_{k+2}) = (1/2 * 1/2) Var A = p J^2 (2 - p) / 4         (correlation 1/6),

and zero beyond. Unlike the Gaussian kick the burst does not shrink with the substep: it is a
compound Poisson forcing with rate ``p / dt`` per time unit. The defaults ``p = 0.002``,
``J = 2`` give rare, large, one-sided bursts.

The chapter compares the tails of the oracle and of the best Gaussian with the quantile
(pinball) score :func:`lecture_code.forecasting.shape_scores.pinball_loss`.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`), section "A truth where
shape matters", eqs. (l96-burst), (l96-burst-moments), (l96-bursty-energy).
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_real

__all__ = [
    "burst_covariance",
    "burst_field",
    "burst_variance",
    "check_burst",
]


def check_burst(p: object, J: object) -> tuple[float, float]:
    """``(p, J)`` as floats after checking ``0 <= p <= 1`` and ``J >= 0`` (finite)."""
    return check_real("p_burst", p, low=0.0, high=1.0), check_real("J_burst", J, low=0.0)


def burst_variance(p: float, J: float) -> float:
    """``Var b_k = (3/2) p J^2 (2 - p)``, eq. (l96-burst-moments)."""
    p, J = check_burst(p, J)
    return 1.5 * p * J**2 * (2.0 - p)


def burst_covariance(p: float, J: float, lag: int) -> float:
    """``Cov(b_k, b_{k+lag})`` of eq. (l96-burst-moments): weights ``3/2, 1, 1/4, 0, ...``.

    Args:
        p: burst probability per site and substep, in [0, 1].
        J: mean burst amplitude, >= 0.
        lag: site distance, any integer (a ring of at least 5 sites is assumed, so that the
            lags do not wrap onto each other).
    """
    p, J = check_burst(p, J)
    weight = {0: 1.5, 1: 1.0, 2: 0.25}.get(abs(int(lag)), 0.0)
    return weight * p * J**2 * (2.0 - p)


def burst_field(
    shape: tuple[int, int],
    p: float,
    J: float,
    generator: torch.Generator,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """One centred burst field ``b`` of eq. (l96-burst), for a batch of rings.

    Draws, in this order, ``U ~ Uniform(0, 1)`` (the burst fires where ``U < p``) and
    ``E ~ Exp(1)``, both of ``shape``, from ``generator``.

    Args:
        shape: ``(B, K)``, K >= 3 sites on the ring.
        p: burst probability per site and substep, in [0, 1].
        J: mean burst amplitude, >= 0.
        generator: the source of the randomness.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``(B, K)``: ``A_k + (A_{k-1} + A_{k+1}) / 2 - 2 p J``.
    """
    p, J = check_burst(p, J)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if len(shape) != 2 or shape[-1] < 3:
        raise ValueError(f"shape must be (B, K) with K >= 3, got {tuple(shape)}")
    fires = torch.rand(shape, generator=generator, dtype=dtype, device=device) < p
    size = torch.empty(shape, dtype=dtype, device=device).exponential_(generator=generator)
    A = size.mul_(fires).mul_(J)
    return A + 0.5 * (A.roll(1, -1) + A.roll(-1, -1)) - 2.0 * p * J
