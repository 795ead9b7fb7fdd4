r"""Proper scores of probabilistic forecasts: the CRPS and the energy score.

A probabilistic forecast is a distribution :math:`P` for a quantity that is later observed as
:math:`y`. A *scoring rule* :math:`S(P, y)` turns the pair into a number, smaller is better, and
it is *proper* when the expected score :math:`\mathbb{E}_{Y \sim Q} S(P, Y)` is smallest at
:math:`P = Q`: a forecaster who believes :math:`Q` cannot gain by reporting anything else.

The continuous ranked probability score (CRPS) of a scalar forecast has three equivalent forms
(book eqs. (crps-threshold), (crps-energy), (crps-gaussian)):

.. math::
    \mathrm{CRPS}(P, y) = \int_{-\infty}^{\infty} \big(P(z) - \mathbf{1}\{y \le z\}\big)^2\,dz
    = \mathbb{E}|X - y| - \tfrac12 \mathbb{E}|X - X'|,

with :math:`X, X'` independent draws of :math:`P`; for :math:`P = \mathcal{N}(\mu, \sigma^2)` and
:math:`\omega = (y - \mu)/\sigma` it is
:math:`\sigma\,[\omega(2\Phi(\omega) - 1) + 2\varphi(\omega) - 1/\sqrt{\pi}]`.

An ensemble :math:`x_1, \dots, x_M` replaces the expectations by averages. The *standard*
estimator (the CRPS of the ensemble's empirical distribution) divides the pairwise sum by
:math:`M^2` and is biased upward by :math:`\mathbb{E}|X - X'| / (2M)`; the *fair* estimator
(Ferro 2014) divides it by :math:`M(M - 1)` and is unbiased for the CRPS of the distribution the
members are drawn from (book eq. (crps-fair)). With the members sorted,
:math:`\sum_{m, m'} |x_m - x_{m'}| = 2 \sum_{i=1}^{M} (2i - M - 1)\, x_{(i)}`
(book eq. (crps-sorted)), so the CRPS costs :math:`O(M \log M)` instead of :math:`O(M^2)`.

Conventions: ensembles are ``(B, M, K)`` (``B`` forecasts, ``M`` members, ``K`` variables),
observations ``(B, K)``. Every function computes in float64 and returns float64; nothing
broadcasts silently, NaN inputs raise, and estimators that need two members say so. Whether a
forecast is calibrated (spread–skill, rank histograms, PIT) is measured by
:mod:`lecture_code.forecasting.calibration`; how sure an average score is, by
:mod:`lecture_code.forecasting.bootstrap`.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).

References:
    T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation",
    JASA 2007. C. A. T. Ferro, "Fair scores for ensemble forecasts", QJRMS 2014.
    H. Hersbach, "Decomposition of the continuous ranked probability score for ensemble
    prediction systems", Weather and Forecasting 2000.
"""

from __future__ import annotations

import math

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "crps_ensemble",
    "crps_ensemble_pairwise",
    "crps_ensemble_threshold",
    "crps_gaussian",
    "crps_threshold",
    "energy_score",
    "expected_crps_gaussian",
    "sorted_weights",
]

_SQRT_PI = math.sqrt(math.pi)


# --- input checks ----------------------------------------------------------------------------
def _check_ensemble(
    ensemble: torch.Tensor, y: torch.Tensor, *, min_members: int = 1, what: str = ""
) -> tuple[torch.Tensor, torch.Tensor]:
    """``ensemble`` (B, M, K) and ``y`` (B, K) as float64, after checking shapes and values."""
    check_tensor("ensemble", ensemble, ("B", "M", "K"))
    check_tensor("y", y, ("B", "K"))
    if ensemble.shape[0] != y.shape[0] or ensemble.shape[2] != y.shape[1]:
        raise ValueError(
            "ensemble must have shape (B, M, K) and y shape (B, K) with the same B and K, "
            f"got ensemble of shape {tuple(ensemble.shape)} and y of shape {tuple(y.shape)}"
        )
    M = ensemble.shape[1]
    if M < min_members:
        raise ValueError(
            f"{what} needs an ensemble of M >= {min_members} members, got M = {M} "
            f"(ensemble of shape {tuple(ensemble.shape)})"
        )
    return ensemble.to(torch.float64), y.to(torch.float64)


def _check_gaussian(*tensors: tuple[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The named tensors ``(("mu", mu), ("sigma", sigma), ...)`` of a Gaussian forecast, of one
    shape ``(...)`` and finite, with ``sigma > 0``, as float64 in the order given."""
    dims: dict[str, int] = {}
    first = tensors[0][1]
    shape = tuple(f"d{i}" for i in range(first.ndim)) if isinstance(first, torch.Tensor) else None
    for name, value in tensors:
        check_tensor(name, value, shape, dims=dims)
    sigma = dict(tensors)["sigma"]
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigma must be > 0 everywhere, got smallest value {float(sigma.min())}")
    return tuple(value.to(torch.float64) for _, value in tensors)


def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def _normal_pdf(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)


def _mean_abs_normal(d: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathbb{E}|Z|` for :math:`Z \sim \mathcal{N}(d, s^2)`: :math:`s[2\varphi(d/s) +
    (d/s)(2\Phi(d/s) - 1)]`."""
    w = d / s
    return s * (2.0 * _normal_pdf(w) + w * (2.0 * _normal_cdf(w) - 1.0))


# --- the CRPS of an ensemble -----------------------------------------------------------------
def sorted_weights(M: int) -> torch.Tensor:
    r"""The weights :math:`2i - M - 1`, :math:`i = 1, \dots, M`, of book eq. (crps-sorted).

    For sorted members :math:`x_{(1)} \le \dots \le x_{(M)}`, the member of rank :math:`i` is
    larger than :math:`i - 1` others and smaller than :math:`M - i`, so it enters
    :math:`\sum_{m, m'} |x_m - x_{m'}|` with a plus sign :math:`2(i - 1)` times and with a minus
    sign :math:`2(M - i)` times: its coefficient is :math:`2(2i - M - 1)`.

    Returns:
        ``(M,)`` float64.
    """
    M = check_int("M", M, low=1)
    i = torch.arange(1, M + 1, dtype=torch.float64)
    return 2.0 * i - M - 1.0


def crps_ensemble(ensemble: torch.Tensor, y: torch.Tensor, fair: bool = True) -> torch.Tensor:
    r"""CRPS of an ensemble forecast, by the sorted :math:`O(M \log M)` form.

    .. math::
        \mathrm{CRPS} = \frac1M \sum_{m} |x_m - y|
        - \frac{1}{c_M} \sum_{i=1}^{M} (2i - M - 1)\, x_{(i)},

    with :math:`c_M = M(M - 1)` for the fair estimator (Ferro 2014) and :math:`c_M = M^2` for the
    standard one (the CRPS of the empirical distribution). Book eqs. (crps-ensemble),
    (crps-fair), (crps-sorted).

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        fair: use the fair estimator; it needs ``M >= 2``.

    Returns:
        ``(B, K)`` float64 scores.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair CRPS (fair=True)"
    )
    M = ensemble.shape[1]
    skill = (ensemble - y[:, None, :]).abs().mean(dim=1)
    x_sorted = torch.sort(ensemble, dim=1).values
    # Half the pairwise sum, by eq. (crps-sorted): (1/2) sum_{m,m'} |x_m - x_m'| = sum_i w_i x_(i).
    half_pairs = torch.einsum("bmk,m->bk", x_sorted, sorted_weights(M))
    c_M = M * (M - 1) if fair else M * M
    return skill - half_pairs / c_M


def crps_ensemble_pairwise(
    ensemble: torch.Tensor, y: torch.Tensor, fair: bool = True
) -> torch.Tensor:
    r"""CRPS of an ensemble by the :math:`O(M^2)` double sum, for teaching and tests.

    .. math::
        \mathrm{CRPS} = \frac1M \sum_m |x_m - y| - \frac{1}{2 c_M} \sum_{m, m'} |x_m - x_{m'}|,

    :math:`c_M = M(M - 1)` (fair) or :math:`M^2` (standard). Book eq. (crps-ensemble).

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        fair: use the fair estimator; it needs ``M >= 2``.

    Returns:
        ``(B, K)`` float64 scores.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair CRPS (fair=True)"
    )
    M = ensemble.shape[1]
    skill = (ensemble - y[:, None, :]).abs().mean(dim=1)
    pairs = (ensemble[:, :, None, :] - ensemble[:, None, :, :]).abs().sum(dim=(1, 2))
    c_M = M * (M - 1) if fair else M * M
    return skill - pairs / (2.0 * c_M)


def crps_ensemble_threshold(ensemble: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Standard ensemble CRPS as the exact integral of Brier scores, book eq. (crps-threshold).

    The empirical CDF :math:`P_M(z) = \frac1M \#\{m: x_m \le z\}` and the step
    :math:`\mathbf{1}\{y \le z\}` are both constant between consecutive points of the sorted set
    :math:`\{x_1, \dots, x_M, y\}`, so the integral of their squared difference is a finite sum of
    rectangle areas. This route shares no algebra with the energy form and checks it.
    Only the standard estimator is an integral of this kind (the fair one is not the CRPS of any
    distribution).

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.

    Returns:
        ``(B, K)`` float64 scores, equal to ``crps_ensemble(ensemble, y, fair=False)``.
    """
    ensemble, y = _check_ensemble(ensemble, y)
    M = ensemble.shape[1]
    points = torch.cat([ensemble, y[:, None, :]], dim=1)  # (B, M + 1, K)
    is_obs = torch.zeros_like(points)
    is_obs[:, M, :] = 1.0
    points, order = torch.sort(points, dim=1)
    is_obs = torch.gather(is_obs, 1, order)
    # Just right of the j-th sorted point: P_M = (members so far) / M, the step = (y seen yet).
    step = torch.cumsum(is_obs, dim=1)
    cdf = torch.cumsum(1.0 - is_obs, dim=1) / M
    widths = points[:, 1:, :] - points[:, :-1, :]
    return (widths * (cdf[:, :-1, :] - step[:, :-1, :]) ** 2).sum(dim=1)


def crps_threshold(cdf: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""CRPS of any scalar forecast from its CDF on a grid, by the trapezoidal rule.

    Integrates :math:`(P(z) - \mathbf{1}\{y \le z\})^2` over the grid, book eq. (crps-threshold):
    the CRPS is the Brier score of the event :math:`\{Y \le z\}` summed over all thresholds
    :math:`z`. The grid must extend to where :math:`P` is 0 and 1; the error is of the order of
    the grid step (the integrand jumps at :math:`y`).

    Args:
        cdf: ``(B, Z)`` values :math:`P(z_j)` of each forecast's CDF on the grid.
        z: ``(Z,)`` increasing grid.
        y: ``(B,)`` observations.

    Returns:
        ``(B,)`` float64 scores.
    """
    dims: dict[str, int] = {}
    check_tensor("cdf", cdf, ("B", "Z"), dims=dims)
    check_tensor("z", z, ("Z",), dims=dims)
    check_tensor("y", y, ("B",), dims=dims)
    if dims["Z"] < 2 or not bool((z[1:] > z[:-1]).all()):
        raise ValueError(f"z must be an increasing grid of at least 2 points, got {z}")
    z, y, cdf = z.to(torch.float64), y.to(torch.float64), cdf.to(torch.float64)
    step = (y[:, None] <= z[None, :]).to(torch.float64)
    return torch.trapezoid((cdf - step) ** 2, z, dim=1)


# --- the Gaussian closed form ----------------------------------------------------------------
def crps_gaussian(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""CRPS of :math:`\mathcal{N}(\mu, \sigma^2)` at :math:`y`, book eq. (crps-gaussian).

    .. math::
        \mathrm{CRPS} = \sigma\Big[\omega\big(2\Phi(\omega) - 1\big) + 2\varphi(\omega)
        - \frac{1}{\sqrt\pi}\Big], \qquad \omega = \frac{y - \mu}{\sigma}.

    Args:
        mu: means, any shape ``(...)``.
        sigma: standard deviations > 0, same shape.
        y: observations, same shape.

    Returns:
        ``(...)`` float64 scores.
    """
    mu, sigma, y = _check_gaussian(("mu", mu), ("sigma", sigma), ("y", y))
    w = (y - mu) / sigma
    return sigma * (w * (2.0 * _normal_cdf(w) - 1.0) + 2.0 * _normal_pdf(w) - 1.0 / _SQRT_PI)


def expected_crps_gaussian(
    mu: torch.Tensor, sigma: torch.Tensor, mu_true: float, sigma_true: float
) -> torch.Tensor:
    r"""Expected CRPS of the forecast :math:`\mathcal{N}(\mu, \sigma^2)` when
    :math:`Y \sim \mathcal{N}(\mu_\star, \sigma_\star^2)`, book eq. (crps-expected).

    With :math:`X \sim \mathcal{N}(\mu, \sigma^2)` independent of :math:`Y`,
    :math:`X - Y \sim \mathcal{N}(\mu - \mu_\star, \sigma^2 + \sigma_\star^2)` and
    :math:`\mathbb{E}|X - X'| = 2\sigma/\sqrt\pi`, so by the energy form

    .. math::
        \mathbb{E}_Y\,\mathrm{CRPS} = \mathbb{E}\,|\mathcal{N}(\mu - \mu_\star,
        \sigma^2 + \sigma_\star^2)| - \frac{\sigma}{\sqrt\pi},

    which is smallest at :math:`\mu = \mu_\star`, :math:`\sigma = \sigma_\star` (propriety).

    Args:
        mu: forecast means, any shape ``(...)``.
        sigma: forecast standard deviations > 0, same shape.
        mu_true: mean of the true distribution.
        sigma_true: standard deviation of the true distribution, > 0.

    Returns:
        ``(...)`` float64 expected scores.
    """
    mu, sigma = _check_gaussian(("mu", mu), ("sigma", sigma))
    mu_true = check_real("mu_true", mu_true)
    sigma_true = check_real("sigma_true", sigma_true, low=0.0, low_open=True)
    spread = torch.sqrt(sigma**2 + sigma_true**2)
    return _mean_abs_normal(mu - mu_true, spread) - sigma / _SQRT_PI


# --- the multivariate score ------------------------------------------------------------------
def energy_score(ensemble: torch.Tensor, y: torch.Tensor, fair: bool = True) -> torch.Tensor:
    r"""Energy score of an ensemble of vectors, book eq. (energy-score).

    .. math::
        \mathrm{ES} = \frac1M \sum_m \lVert \mathbf{x}_m - \mathbf{y} \rVert
        - \frac{1}{2 c_M} \sum_{m, m'} \lVert \mathbf{x}_m - \mathbf{x}_{m'} \rVert,

    :math:`c_M = M(M - 1)` (fair) or :math:`M^2` (standard). For ``K = 1`` it is the CRPS of
    :func:`crps_ensemble` with the same ``fair``. Costs :math:`O(M^2 K)` per forecast.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        fair: use the fair estimator; it needs ``M >= 2``.

    Returns:
        ``(B,)`` float64 scores.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair energy score (fair=True)"
    )
    M = ensemble.shape[1]
    skill = torch.linalg.vector_norm(ensemble - y[:, None, :], dim=2).mean(dim=1)
    # cdist's fast matrix-product path loses digits for close members; the exact path does not.
    pairs = torch.cdist(ensemble, ensemble, compute_mode="donot_use_mm_for_euclid_dist")
    c_M = M * (M - 1) if fair else M * M
    return skill - pairs.sum(dim=(1, 2)) / (2.0 * c_M)
