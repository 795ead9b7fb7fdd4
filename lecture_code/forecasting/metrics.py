r"""Scores of probabilistic forecasts: CRPS, energy score, spread–skill, rank histograms.

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
broadcasts silently, NaN inputs raise, and estimators that need two members say so.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).

References:
    T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation",
    JASA 2007. C. A. T. Ferro, "Fair scores for ensemble forecasts", QJRMS 2014.
    H. Hersbach, "Decomposition of the continuous ranked probability score for ensemble
    prediction systems", Weather and Forecasting 2000. V. Fortin et al., "Why should ensemble
    spread match the RMSE of the ensemble mean?", J. Hydrometeorology 2014. T. M. Hamill,
    "Interpretation of rank histograms for verifying ensemble forecasts", MWR 2001.
"""

from __future__ import annotations

import math

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "bootstrap_ci",
    "crps_ensemble",
    "crps_ensemble_pairwise",
    "crps_ensemble_threshold",
    "crps_gaussian",
    "crps_threshold",
    "energy_score",
    "ensemble_mean_rmse",
    "ensemble_spread",
    "expected_crps_gaussian",
    "pit_gaussian",
    "rank_histogram",
    "rank_of_observation",
    "sorted_weights",
    "spread_error_bins",
    "spread_skill_ratio",
    "synthetic_ensemble",
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
    dims: dict[str, int] = {}
    shape = tuple(f"d{i}" for i in range(mu.ndim)) if isinstance(mu, torch.Tensor) else None
    check_tensor("mu", mu, shape, dims=dims)
    check_tensor("sigma", sigma, shape, dims=dims)
    check_tensor("y", y, shape, dims=dims)
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigma must be > 0 everywhere, got smallest value {float(sigma.min())}")
    mu, sigma, y = mu.to(torch.float64), sigma.to(torch.float64), y.to(torch.float64)
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
    dims: dict[str, int] = {}
    shape = tuple(f"d{i}" for i in range(mu.ndim)) if isinstance(mu, torch.Tensor) else None
    check_tensor("mu", mu, shape, dims=dims)
    check_tensor("sigma", sigma, shape, dims=dims)
    mu_true = check_real("mu_true", mu_true)
    sigma_true = check_real("sigma_true", sigma_true, low=0.0, low_open=True)
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigma must be > 0 everywhere, got smallest value {float(sigma.min())}")
    mu, sigma = mu.to(torch.float64), sigma.to(torch.float64)
    spread = torch.sqrt(sigma**2 + sigma_true**2)
    return _mean_abs_normal(mu - mu_true, spread) - sigma / _SQRT_PI


def pit_gaussian(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Probability integral transform :math:`P(y) = \Phi((y - \mu)/\sigma)`.

    Book eq. (pit-uniform).

    For a calibrated forecast the PIT values are uniform on :math:`[0, 1]`.

    Args:
        mu, sigma, y: tensors of one shape ``(...)``, ``sigma > 0``.

    Returns:
        ``(...)`` float64 values in ``[0, 1]``.
    """
    dims: dict[str, int] = {}
    shape = tuple(f"d{i}" for i in range(mu.ndim)) if isinstance(mu, torch.Tensor) else None
    check_tensor("mu", mu, shape, dims=dims)
    check_tensor("sigma", sigma, shape, dims=dims)
    check_tensor("y", y, shape, dims=dims)
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigma must be > 0 everywhere, got smallest value {float(sigma.min())}")
    return _normal_cdf((y.to(torch.float64) - mu.to(torch.float64)) / sigma.to(torch.float64))


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


# --- spread and skill ------------------------------------------------------------------------
def ensemble_mean_rmse(ensemble: torch.Tensor, y: torch.Tensor) -> float:
    r"""Root-mean-square error of the ensemble mean over all ``B`` forecasts and ``K`` variables.

    .. math:: \mathrm{RMSE} = \Big(\frac{1}{BK} \sum_{b, k} (\bar x_{bk} - y_{bk})^2\Big)^{1/2}

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
    """
    ensemble, y = _check_ensemble(ensemble, y)
    return float(((ensemble.mean(dim=1) - y) ** 2).mean().sqrt())


def ensemble_spread(ensemble: torch.Tensor) -> float:
    r"""Square root of the mean unbiased ensemble variance, :math:`(\frac{1}{BK}\sum_{b,k}
    s^2_{bk})^{1/2}` with :math:`s^2 = \frac{1}{M-1}\sum_m (x_m - \bar x)^2`.

    Args:
        ensemble: ``(B, M, K)`` members, ``M >= 2``.
    """
    check_tensor("ensemble", ensemble, ("B", "M", "K"))
    M = ensemble.shape[1]
    if M < 2:
        raise ValueError(
            f"the ensemble spread needs an ensemble of M >= 2 members, got M = {M} "
            f"(ensemble of shape {tuple(ensemble.shape)})"
        )
    return float(ensemble.to(torch.float64).var(dim=1, correction=1).mean().sqrt())


def spread_skill_ratio(ensemble: torch.Tensor, y: torch.Tensor) -> float:
    r"""Spread–skill ratio with the finite-ensemble correction, book eq. (ssr).

    .. math::
        \mathrm{SSR} = \sqrt{\frac{M + 1}{M}}\;
        \frac{\big(\frac{1}{BK}\sum_{b,k} s^2_{bk}\big)^{1/2}}{\mathrm{RMSE}}.

    For members and observation exchangeable,
    :math:`\mathbb{E}(\bar x - y)^2 = \frac{M+1}{M}\,\mathbb{E}\,s^2` (Fortin et al. 2014), so a
    calibrated ensemble has SSR near 1; below 1 is under-dispersed, above 1 over-dispersed.

    Args:
        ensemble: ``(B, M, K)`` members, ``M >= 2``.
        y: ``(B, K)`` observations.
    """
    ensemble, y = _check_ensemble(ensemble, y, min_members=2, what="the spread-skill ratio")
    M = ensemble.shape[1]
    rmse = ensemble_mean_rmse(ensemble, y)
    if rmse == 0.0:
        raise ValueError("the spread-skill ratio is undefined: the ensemble-mean RMSE is 0")
    return math.sqrt((M + 1) / M) * ensemble_spread(ensemble) / rmse


def spread_error_bins(
    ensemble: torch.Tensor, y: torch.Tensor, n_bins: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Spread against error of the ensemble mean, case by case, in bins of equal count.

    The ``B * K`` cases are sorted by their ensemble variance :math:`s^2` and split into
    ``n_bins`` groups of (nearly) equal size. In each group the corrected spread
    :math:`(\frac{M+1}{M}\,\overline{s^2})^{1/2}` and the RMSE of the ensemble mean are returned;
    for a calibrated ensemble they agree in every bin, not only on average (book eq. (ssr);
    Leutbecher and Palmer 2008).

    Args:
        ensemble: ``(B, M, K)`` members, ``M >= 2``.
        y: ``(B, K)`` observations.
        n_bins: number of groups, between 1 and ``B * K``.

    Returns:
        ``(spread, rmse)``, each ``(n_bins,)`` float64, in increasing order of spread.
    """
    ensemble, y = _check_ensemble(ensemble, y, min_members=2, what="the spread-error diagram")
    M = ensemble.shape[1]
    n_bins = check_int("n_bins", n_bins, low=1, high=y.numel())
    variance = ensemble.var(dim=1, correction=1).flatten()
    squared_error = ((ensemble.mean(dim=1) - y) ** 2).flatten()
    order = torch.argsort(variance)
    spread = torch.stack([v.mean() for v in variance[order].tensor_split(n_bins)])
    rmse = torch.stack([e.mean() for e in squared_error[order].tensor_split(n_bins)])
    return torch.sqrt((M + 1) / M * spread), torch.sqrt(rmse)


# --- rank histograms -------------------------------------------------------------------------
def rank_of_observation(
    ensemble: torch.Tensor, y: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    r"""Rank of each observation among its ensemble, in :math:`\{0, \dots, M\}`.

    Book eq. (rank-uniform).

    The rank is the number of members below :math:`y`; members equal to :math:`y` are counted
    below with probability 1/2 each in effect: a tie with :math:`t` members adds a uniform
    integer in :math:`\{0, \dots, t\}`, so exchangeable draws give uniform ranks even with ties.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        generator: breaks ties.

    Returns:
        ``(B, K)`` int64 ranks.
    """
    ensemble, y = _check_ensemble(ensemble, y)
    below = (ensemble < y[:, None, :]).sum(dim=1)
    ties = (ensemble == y[:, None, :]).sum(dim=1)
    u = torch.rand(y.shape, generator=generator, dtype=torch.float64)
    return below + torch.floor(u * (ties + 1)).to(torch.int64)


def rank_histogram(
    ensemble: torch.Tensor, y: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    r"""Counts of the observation's rank among the members (Hamill 2001), ties broken at random.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        generator: breaks ties (see :func:`rank_of_observation`).

    Returns:
        ``(M + 1,)`` int64 counts summing to ``B * K``; flat for a calibrated ensemble,
        U-shaped for an under-dispersed one, dome-shaped for an over-dispersed one, sloped for a
        biased one.
    """
    M = ensemble.shape[1] if isinstance(ensemble, torch.Tensor) and ensemble.ndim == 3 else 0
    ranks = rank_of_observation(ensemble, y, generator)
    return torch.bincount(ranks.flatten(), minlength=M + 1)


# --- uncertainty of an average score ---------------------------------------------------------
def bootstrap_ci(
    values: torch.Tensor, generator: torch.Generator, n_boot: int = 1000, level: float = 0.95
) -> tuple[float, float]:
    r"""Percentile bootstrap interval for the mean of ``values``, book eq. (bootstrap-ci).

    Resamples the ``N`` entries (one per initial state) with replacement ``n_boot`` times, takes
    the mean of each resample, and returns the :math:`(1 - \text{level})/2` and
    :math:`(1 + \text{level})/2` quantiles of those means. Its width shrinks like
    :math:`1/\sqrt{N}`.

    Args:
        values: ``(N,)`` per-case scores, ``N >= 2``.
        generator: draws the resamples.
        n_boot: number of resamples, >= 1.
        level: coverage, in (0, 1).

    Returns:
        ``(low, high)``.
    """
    check_tensor("values", values, ("N",))
    N = values.shape[0]
    if N < 2:
        raise ValueError(f"values must hold N >= 2 entries to bootstrap, got N = {N}")
    n_boot = check_int("n_boot", n_boot, low=1)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    values = values.to(torch.float64)
    means = torch.empty(n_boot, dtype=torch.float64)
    # Resample in chunks so that memory stays near 8 MB whatever N is.
    chunk = max(1, 1_000_000 // N)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        index = torch.randint(N, (stop - start, N), generator=generator)
        means[start:stop] = values[index].mean(dim=1)
    q = torch.tensor([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=torch.float64)
    low, high = torch.quantile(means, q).tolist()
    return low, high


# --- synthetic forecasts of known quality ------------------------------------------------------
def synthetic_ensemble(
    B: int,
    M: int,
    K: int,
    generator: torch.Generator,
    *,
    dispersion: float = 1.0,
    bias: float = 0.0,
    log_sigma_std: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Ensembles and observations whose calibration is known by construction.

    Each case :math:`(b, k)` has its own forecast distribution
    :math:`\mathcal{N}(\mu, \sigma^2)` with :math:`\mu \sim \mathcal{N}(0, 1)` and
    :math:`\log\sigma \sim \mathcal{N}(0, \text{log_sigma_std}^2)`, so that some cases are more
    predictable than others. The observation is a draw of it,
    :math:`y = \mu + \sigma\epsilon_0`, and the members are
    :math:`x_m = \mu + \text{bias} + \text{dispersion}\cdot\sigma\epsilon_m`. With
    ``dispersion = 1`` and ``bias = 0`` members and observation are exchangeable (calibrated);
    ``dispersion < 1`` is under-dispersed, ``> 1`` over-dispersed. Book: chapter 10, the checks
    of sections on spread–skill and rank histograms.

    Args:
        B, M, K: number of forecasts, members and variables.
        generator: the source of randomness.
        dispersion: factor on the members' spread, > 0.
        bias: shift of every member.
        log_sigma_std: standard deviation of :math:`\log\sigma` across cases, >= 0.

    Returns:
        ``(ensemble, y)``: ``(B, M, K)`` and ``(B, K)``, float64.
    """
    B = check_int("B", B, low=1)
    M = check_int("M", M, low=1)
    K = check_int("K", K, low=1)
    dispersion = check_real("dispersion", dispersion, low=0.0, low_open=True)
    bias = check_real("bias", bias)
    log_sigma_std = check_real("log_sigma_std", log_sigma_std, low=0.0)
    mu = torch.randn(B, 1, K, generator=generator, dtype=torch.float64)
    log_sigma = log_sigma_std * torch.randn(B, 1, K, generator=generator, dtype=torch.float64)
    sigma = torch.exp(log_sigma)
    eps = torch.randn(B, M + 1, K, generator=generator, dtype=torch.float64)
    y = (mu + sigma * eps[:, :1, :])[:, 0, :]
    ensemble = mu + bias + dispersion * sigma * eps[:, 1:, :]
    return ensemble, y
