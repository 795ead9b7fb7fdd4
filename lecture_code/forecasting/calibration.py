r"""Calibration of ensemble forecasts: spread and skill, rank histograms, the PIT.

A forecast is *calibrated* when the truth behaves like one more draw of it. Three consequences
can be checked on a sample of forecasts and outcomes (book chapter 10):

- **spread and skill.** If the ``M`` members and the observation are exchangeable, the error of
  the ensemble mean satisfies :math:`\mathbb{E}(\bar x - y)^2 = \frac{M+1}{M}\,\mathbb{E}\,s^2`
  (Fortin et al. 2014), so the spread–skill ratio with the :math:`\sqrt{(M+1)/M}` correction is
  near 1 (book eq. (ssr)), on average and in every bin of forecasts of similar spread;
- **rank histograms.** The rank of the observation among the members is uniform on
  :math:`\{0, \dots, M\}` (book eq. (rank-uniform); Hamill 2001): flat for a calibrated
  ensemble, U-shaped for an under-dispersed one, dome-shaped for an over-dispersed one, sloped
  for a biased one;
- **the PIT.** For a forecast with a CDF, :math:`P(y)` is uniform on :math:`[0, 1]` (book
  eq. (pit-uniform)); for an ensemble, the randomised rank (:func:`pit_ensemble`);
- **flatness, tested.** :func:`rank_flatness_test` turns a rank histogram into a chi-square
  statistic and its p-value (:func:`chi2_sf`, book eq. (chi2-flatness)).

:func:`synthetic_ensemble` makes forecasts whose calibration is known by construction, to test
these diagnostics. Conventions as in :mod:`lecture_code.forecasting.metrics`: ensembles
``(B, M, K)``, observations ``(B, K)``, float64.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).

References:
    V. Fortin et al., "Why should ensemble spread match the RMSE of the ensemble mean?",
    J. Hydrometeorology 2014. T. M. Hamill, "Interpretation of rank histograms for verifying
    ensemble forecasts", MWR 2001. M. Leutbecher and T. N. Palmer, "Ensemble forecasting",
    J. Comput. Phys. 2008.
"""

from __future__ import annotations

import math

import torch

# One check of ensembles and Gaussian arguments for every score of Part III.
from lecture_code.forecasting.metrics import _check_ensemble, _check_gaussian, _normal_cdf
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "chi2_sf",
    "ensemble_mean_rmse",
    "ensemble_spread",
    "pit_ensemble",
    "pit_gaussian",
    "rank_flatness_test",
    "rank_histogram",
    "rank_of_observation",
    "spread_error_bins",
    "spread_skill_ratio",
    "synthetic_ensemble",
]


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


# --- the probability integral transform -------------------------------------------------------
def pit_gaussian(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Probability integral transform :math:`P(y) = \Phi((y - \mu)/\sigma)`.

    Book eq. (pit-uniform).

    For a calibrated forecast the PIT values are uniform on :math:`[0, 1]`.

    Args:
        mu, sigma, y: tensors of one shape ``(...)``, ``sigma > 0``.

    Returns:
        ``(...)`` float64 values in ``[0, 1]``.
    """
    mu, sigma, y = _check_gaussian(("mu", mu), ("sigma", sigma), ("y", y))
    return _normal_cdf((y - mu) / sigma)


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


# --- ranks, PIT and the flatness test ----------------------------------------------------------
def pit_ensemble(
    ensemble: torch.Tensor, y: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    r"""Randomised PIT value of the observation in its ensemble (book eq. (rank-uniform)).

    .. math::
        u = \frac{r + v}{M + 1}, \qquad v \sim \mathcal{U}(0, 1),

    with :math:`r \in \{0, \dots, M\}` the rank of
    :func:`lecture_code.forecasting.calibration.rank_of_observation` (ties broken at random by
    ``generator``). For exchangeable members and observation :math:`r` is uniform on
    :math:`\{0, \dots, M\}`, so :math:`u` is uniform on :math:`(0, 1)`.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        generator: breaks ties and draws :math:`v`.

    Returns:
        ``(B, K)`` float64 values in (0, 1).
    """
    ranks = rank_of_observation(ensemble, y, generator)
    v = torch.rand(ranks.shape, generator=generator, dtype=torch.float64)
    return (ranks.to(torch.float64) + v) / (ensemble.shape[1] + 1)


def chi2_sf(x: torch.Tensor, df: int) -> torch.Tensor:
    r"""Survival function :math:`\Pr(\chi^2_\nu > x) = \Gamma(\nu/2, x/2)/\Gamma(\nu/2)` of the
    chi-square law with :math:`\nu` degrees of freedom (the regularised upper incomplete gamma
    function, ``torch.special.gammaincc``).

    Args:
        x: values >= 0, any shape ``(...)``.
        df: degrees of freedom >= 1.

    Returns:
        ``(...)`` float64 probabilities.
    """
    check_tensor("x", x)
    df = check_int("df", df, low=1)
    if not bool((x >= 0).all()):
        raise ValueError(f"x must be >= 0, got smallest value {float(x.min())}")
    x = x.to(torch.float64)
    return torch.special.gammaincc(torch.full_like(x, df / 2.0), x / 2.0)


def rank_flatness_test(
    ranks: torch.Tensor, M: int, n_bins: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pearson's chi-square test that ranks are uniform on :math:`\{0, \dots, M\}`, book eq.
    (chi2-flatness).

    The :math:`M + 1` ranks are pooled into ``n_bins`` groups of :math:`(M + 1)/n_\text{bins}`
    consecutive ranks (default: one bin per rank, :math:`n_\text{bins} = M + 1`). With counts
    :math:`c_j` of :math:`n` ranks and expected count :math:`e = n/n_\text{bins}`,

    .. math::
        \chi^2 = \sum_{j=1}^{n_\text{bins}} \frac{(c_j - e)^2}{e}
        \;\overset{\text{approx.}}{\sim}\; \chi^2_{n_\text{bins} - 1}

    for independent uniform ranks (one constraint: the counts sum to :math:`n`); the p-value is
    :math:`\Pr(\chi^2_{n_\text{bins}-1} > \chi^2)` by :func:`chi2_sf`. The approximation wants
    :math:`e \gtrsim 5`. Ranks of correlated cases (neighbouring sites, consecutive days) make
    the test too eager to reject (Hamill 2001).

    Args:
        ranks: ``(..., N)`` int64 ranks in ``[0, M]``; one test per leading index.
        M: ensemble size >= 1.
        n_bins: number of bins, >= 2, dividing ``M + 1``.

    Returns:
        ``(chi2, p_value)``, each ``(...)`` float64.
    """
    M = check_int("M", M, low=1)
    n_bins = M + 1 if n_bins is None else check_int("n_bins", n_bins, low=2)
    if (M + 1) % n_bins != 0:
        raise ValueError(f"n_bins must divide M + 1 = {M + 1}, got n_bins = {n_bins}")
    check_tensor("ranks", ranks, floating=False)
    if ranks.is_floating_point() or ranks.ndim < 1:
        raise TypeError(f"ranks must be an integer tensor of shape (..., N), got {ranks.dtype}")
    if ranks.numel() and (int(ranks.min()) < 0 or int(ranks.max()) > M):
        raise ValueError(
            f"ranks must lie in [0, M] = [0, {M}], got values in "
            f"[{int(ranks.min())}, {int(ranks.max())}]"
        )
    n = ranks.shape[-1]
    if n < 1:
        raise ValueError(f"ranks must hold N >= 1 ranks per test, got N = {n}")
    bins = ranks // ((M + 1) // n_bins)
    counts = torch.nn.functional.one_hot(bins, n_bins).sum(dim=-2).to(torch.float64)
    expected = n / n_bins
    chi2 = ((counts - expected) ** 2 / expected).sum(dim=-1)
    return chi2, chi2_sf(chi2, n_bins - 1)
