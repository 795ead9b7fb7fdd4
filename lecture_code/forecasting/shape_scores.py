r"""Scores that see the shape of a forecast law: quantile, threshold, log and variogram scores,
and a flatness test of the rank histogram.

The CRPS (:mod:`lecture_code.forecasting.metrics`) averages over all levels and thresholds, and is
nearly flat near its optimum (book eqs. (crps-spread-expansion), (crps-mean-expansion)). The scores
here look at one part of the law at a time, or at the dependence between sites:

* the quantile (pinball) score at level :math:`\alpha` sees one quantile, e.g. a 1 % tail;
  :math:`\mathrm{CRPS} = 2\int_0^1 \mathrm{QS}_\alpha\,d\alpha` (book eq. (crps-quantile));
* the threshold Brier score at :math:`z` sees one event :math:`\{Y \le z\}`;
  :math:`\mathrm{CRPS} = \int \mathrm{BS}_z\,dz` (book eq. (crps-threshold));
* the tail CRPS integrates those Brier scores over one tail only, beyond a fixed threshold; in
  its fair form an ensemble drawn from the truth's law is optimal in expectation for any number
  of members, which the quantile score of a small ensemble's extreme member is not;
* the Gaussian log score sees the density, and punishes spread errors harder;
* the variogram score (Scheuerer & Hamill 2015) sees the differences between nearby sites,
  which the energy score barely does;
* (the chi-square test of a rank histogram, which turns its flatness into a p-value, is in
  :mod:`~lecture_code.forecasting.calibration`, with the rank histogram itself).

Conventions (those of :mod:`~lecture_code.forecasting.metrics`): ensembles ``(B, M, K)``,
observations ``(B, K)``; float64 in and out; no silent broadcasting; NaN raises; estimators that
need two members say so.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).

References:
    T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation", JASA
    2007. L. Laio and S. Tamea, "Verification tools for probabilistic forecasts of continuous
    hydrological variables", HESS 2007. C. A. T. Ferro, "Fair scores for ensemble forecasts", QJRMS
    2014. M. Scheuerer and T. M. Hamill, "Variogram-based proper scoring rules for probabilistic
    forecasts of multivariate quantities", MWR 2015. T. M. Hamill, "Interpretation of rank
    histograms", MWR 2001.
"""

from __future__ import annotations

import math

import torch

from lecture_code.forecasting.metrics import (
    _check_ensemble,
    _check_gaussian,
    _normal_cdf,
    crps_ensemble,
)
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "expected_log_score_gaussian",
    "expected_quantile_score_gaussian",
    "log_score_gaussian",
    "pinball_loss",
    "quantile_score",
    "quantile_score_gaussian",
    "tail_crps",
    "threshold_brier_score",
    "variogram_score",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_alpha(alpha: float) -> float:
    return check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)


def pinball_loss(quantile: torch.Tensor, y: torch.Tensor, level: float) -> torch.Tensor:
    r"""The quantile (pinball) score :math:`\rho_\alpha(y - q) = (\mathbf{1}\{y < q\} -
    \alpha)(q - y)` of a forecast quantile :math:`q` at the level :math:`\alpha`, book eq.
    (quantile-score). Its expectation over :math:`y` is smallest at the true quantile.

    Args:
        quantile: forecast quantiles, the shape of ``y`` or one that broadcasts to it (e.g. a
            size-1 member axis: one quantile for all members).
        y: observations.
        level: :math:`\alpha` in (0, 1).

    Returns:
        The scores, the shape of ``y``.
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    quantile = check_tensor("quantile", quantile, None)
    y = check_tensor("y", y, None)
    if torch.broadcast_shapes(quantile.shape, y.shape) != y.shape:
        raise ValueError(
            f"quantile of shape {tuple(quantile.shape)} must have the shape of y, "
            f"{tuple(y.shape)}, or broadcast to it"
        )
    return ((y < quantile).to(y.dtype) - level) * (quantile - y)


def _pinball(alpha: float, q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return pinball_loss(q, y, alpha)


# --- the quantile score ----------------------------------------------------------------------
def quantile_score(ensemble: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    r"""Quantile (pinball) score of the ensemble's empirical :math:`\alpha`-quantile, book eq.
    (quantile-score).

    .. math::
        \mathrm{QS}_\alpha(q, y) = \big(\mathbf{1}\{y < q\} - \alpha\big)(q - y),
        \qquad q = x_{(\lceil M\alpha \rceil)},

    the lower quantile :math:`\inf\{x: P_M(x) \ge \alpha\}` of the empirical CDF :math:`P_M`
    (the :math:`\lceil M\alpha\rceil`-th smallest member). The expected score
    :math:`\mathbb{E}_Y\,\mathrm{QS}_\alpha(q, Y)` has derivative :math:`Q(q) - \alpha` in
    :math:`q`, so it is smallest at the true :math:`\alpha`-quantile: the score is proper for
    quantiles (Gneiting & Raftery 2007, sec. 6). With this quantile, integrating over levels
    gives the standard CRPS exactly (book eq. (crps-quantile), Laio & Tamea 2007):
    :math:`\mathrm{CRPS}(P_M, y) = 2\int_0^1 \mathrm{QS}_\alpha\,d\alpha`.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        alpha: level in (0, 1).

    Returns:
        ``(B, K)`` float64 scores.
    """
    ensemble, y = _check_ensemble(ensemble, y)
    alpha = _check_alpha(alpha)
    M = ensemble.shape[1]
    # ceil(M alpha) without the rounding of M * alpha landing just above an integer.
    rank = min(max(math.ceil(M * alpha - 1e-12), 1), M)
    # the rank-th smallest member, selected without a full sort (the extremes directly)
    if rank == 1:
        q = ensemble.amin(dim=1)
    elif rank == M:
        q = ensemble.amax(dim=1)
    else:
        q = torch.kthvalue(ensemble, rank, dim=1).values
    return _pinball(alpha, q, y)


def quantile_score_gaussian(
    mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor, alpha: float
) -> torch.Tensor:
    r"""Quantile score of the :math:`\alpha`-quantile :math:`q = \mu + \sigma\Phi^{-1}(\alpha)`
    of :math:`\mathcal{N}(\mu, \sigma^2)`, book eq. (quantile-score).

    Args:
        mu, sigma, y: tensors of one shape ``(...)``, ``sigma > 0``.
        alpha: level in (0, 1).

    Returns:
        ``(...)`` float64 scores.
    """
    mu, sigma, y = _check_gaussian(("mu", mu), ("sigma", sigma), ("y", y))
    alpha = _check_alpha(alpha)
    q = mu + sigma * math.sqrt(2.0) * torch.special.erfinv(torch.tensor(2.0 * alpha - 1.0))
    return _pinball(alpha, q, y)


def expected_quantile_score_gaussian(
    mu: torch.Tensor, sigma: torch.Tensor, mu_true: float, sigma_true: float, alpha: float
) -> torch.Tensor:
    r"""Expected quantile score of the Gaussian :math:`\alpha`-quantile when
    :math:`Y \sim \mathcal{N}(\mu_\star, \sigma_\star^2)`, book eq. (quantile-expected).

    With :math:`Y = \mu_\star + \sigma_\star Z` and :math:`\omega = (q - \mu_\star)/\sigma_\star`,
    :math:`\mathbb{E}[(\mathbf{1}\{Z < \omega\} - \alpha)(\omega - Z)]
    = \omega(\Phi(\omega) - \alpha) + \varphi(\omega)`, because
    :math:`\mathbb{E}[Z\,\mathbf{1}\{Z < \omega\}] = -\varphi(\omega)`; so

    .. math::
        \mathbb{E}_Y\,\mathrm{QS}_\alpha = \sigma_\star\big[\omega(\Phi(\omega) - \alpha)
        + \varphi(\omega)\big], \qquad q = \mu + \sigma\Phi^{-1}(\alpha).

    Args:
        mu, sigma: forecast means and standard deviations > 0, one shape ``(...)``.
        mu_true, sigma_true: the truth's mean and standard deviation (> 0).
        alpha: level in (0, 1).

    Returns:
        ``(...)`` float64 expected scores.
    """
    mu, sigma = _check_gaussian(("mu", mu), ("sigma", sigma))
    mu_true = check_real("mu_true", mu_true)
    sigma_true = check_real("sigma_true", sigma_true, low=0.0, low_open=True)
    alpha = _check_alpha(alpha)
    q = mu + sigma * math.sqrt(2.0) * torch.special.erfinv(torch.tensor(2.0 * alpha - 1.0))
    w = (q - mu_true) / sigma_true
    pdf = torch.exp(-0.5 * w**2) / math.sqrt(2.0 * math.pi)
    return sigma_true * (w * (_normal_cdf(w) - alpha) + pdf)


# --- the threshold Brier score ---------------------------------------------------------------
def threshold_brier_score(
    ensemble: torch.Tensor, y: torch.Tensor, z: float | torch.Tensor, fair: bool = True
) -> torch.Tensor:
    r"""Brier score of the event :math:`\{Y \le z\}`, book eqs. (crps-threshold), (brier-fair).

    .. math::
        \mathrm{BS}_z = \big(P_M(z) - o\big)^2 - \frac{P_M(z)\,(1 - P_M(z))}{M - 1}
        \quad(\text{fair}), \qquad o = \mathbf{1}\{y \le z\},

    with :math:`P_M(z) = \frac1M\#\{m: x_m \le z\}`; the standard score drops the last term.
    Derivation of the fair term (Ferro 2014): if the members are draws of :math:`P`,
    :math:`M P_M(z)` is binomial, :math:`\mathbb{E}P_M^2 = P^2 + P(1 - P)/M` and
    :math:`\mathbb{E}[P_M(1 - P_M)] = P(1 - P)(M - 1)/M`, so the correction removes the bias
    :math:`P(1-P)/M` of the squared term. Because
    :math:`\int P_M(1 - P_M)\,dz = \frac{1}{2M^2}\sum_{m,m'}|x_m - x_{m'}|`, integrating over
    :math:`z` gives the fair CRPS (fair) or the standard CRPS (standard), book eq.
    (crps-threshold).

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        z: one threshold, or a ``(K,)`` tensor of one threshold per variable.
        fair: use the fair estimator; it needs ``M >= 2``.

    Returns:
        ``(B, K)`` float64 scores.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair Brier score (fair=True)"
    )
    M, K = ensemble.shape[1], ensemble.shape[2]
    if isinstance(z, torch.Tensor) and z.numel() != 1:
        check_tensor("z", z, (K,))
        z = z.to(torch.float64)
    else:
        z = torch.tensor(check_real("z", z), dtype=torch.float64)
    cdf = (ensemble <= z).to(torch.float64).mean(dim=1)
    score = (cdf - (y <= z).to(torch.float64)) ** 2
    if fair:
        score = score - cdf * (1.0 - cdf) / (M - 1)
    return score


def tail_crps(
    ensemble: torch.Tensor, y: torch.Tensor, threshold: float, upper: bool, fair: bool = True
) -> torch.Tensor:
    r"""Threshold-weighted CRPS of one tail (Gneiting & Ranjan 2011), in its fair form.

    .. math::
        \mathrm{twCRPS}^{+}_t = \int_t^{\infty} \mathrm{BS}_z\,dz
        = \mathrm{CRPS}\big(v_\#P_M,\ v(y)\big), \qquad v(x) = \max(x, t),

    and for the lower tail :math:`\int_{-\infty}^t \mathrm{BS}_z\,dz` with
    :math:`v(x) = \min(x, t)`. Derivation: for :math:`z \ge t`,
    :math:`\{\max(X, t) \le z\} = \{X \le z\}`, so the Brier score of the clamped members
    and observation at :math:`z` is that of the original ones; for :math:`z < t` no clamped value
    lies at or below :math:`z`, so the forecast probability, the outcome and the fair correction
    of :func:`threshold_brier_score` are all zero. Integrating the threshold form (book eq.
    (crps-threshold)) of the clamped ensemble therefore integrates the original Brier scores over
    the tail alone, and the fair CRPS of the clamped ensemble is the integral of the fair Brier
    scores. Each fair Brier score is unbiased for the Brier score of the law the members are
    drawn from, so the fair tail CRPS is too: an ensemble drawn from the truth's law scores best
    in expectation whatever ``M``. The quantile score of :func:`quantile_score` at
    :math:`\alpha < 1/M` scores the smallest member instead, and is not.

    Args:
        ensemble: ``(B, M, K)`` members.
        y: ``(B, K)`` observations.
        threshold: the fixed threshold :math:`t`, e.g. a climatological quantile (a threshold
            that depended on the forecast would make the score improper).
        upper: score the upper tail (above ``threshold``); else the lower one.
        fair: use the fair estimator; it needs ``M >= 2``.

    Returns:
        ``(B, K)`` float64 scores.

    References:
        T. Gneiting and R. Ranjan, "Comparing density forecasts using threshold- and
        quantile-weighted scoring rules", J. Bus. Econ. Stat. 29, 2011. S. Allen et al.,
        "Weighted verification tools to evaluate univariate and multivariate probabilistic
        forecasts for high-impact weather events", Weather Forecast. 38, 2023.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair tail CRPS (fair=True)"
    )
    t = check_real("threshold", threshold)
    if not isinstance(upper, bool):
        raise TypeError(f"upper must be a bool, got {upper!r}")
    if upper:
        return crps_ensemble(ensemble.clamp(min=t), y.clamp(min=t), fair=fair)
    return crps_ensemble(ensemble.clamp(max=t), y.clamp(max=t), fair=fair)


# --- the log score -----------------------------------------------------------------------------
def log_score_gaussian(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Log score (negative log density, in nats) of :math:`\mathcal{N}(\mu, \sigma^2)` at
    :math:`y`, book eq. (log-score).

    .. math::
        \mathrm{LS} = \log\sigma + \tfrac12\log(2\pi) + \frac{(y - \mu)^2}{2\sigma^2}.

    Strictly proper (Gneiting & Raftery 2007, sec. 4); its expected excess over the truth is the
    Kullback-Leibler divergence.

    Args:
        mu, sigma, y: tensors of one shape ``(...)``, ``sigma > 0``.

    Returns:
        ``(...)`` float64 scores.
    """
    mu, sigma, y = _check_gaussian(("mu", mu), ("sigma", sigma), ("y", y))
    return torch.log(sigma) + 0.5 * _LOG_2PI + (y - mu) ** 2 / (2.0 * sigma**2)


def expected_log_score_gaussian(
    mu: torch.Tensor, sigma: torch.Tensor, mu_true: float, sigma_true: float
) -> torch.Tensor:
    r"""Expected log score of :math:`\mathcal{N}(\mu, \sigma^2)` when
    :math:`Y \sim \mathcal{N}(\mu_\star, \sigma_\star^2)`, book eq. (log-expected).

    :math:`\mathbb{E}(Y - \mu)^2 = \sigma_\star^2 + (\mu - \mu_\star)^2`, so

    .. math::
        \mathbb{E}_Y\,\mathrm{LS} = \log\sigma + \tfrac12\log(2\pi)
        + \frac{\sigma_\star^2 + (\mu - \mu_\star)^2}{2\sigma^2},

    smallest at :math:`\mu = \mu_\star`, :math:`\sigma = \sigma_\star`, where it is the entropy
    :math:`\log\sigma_\star + \frac12(1 + \log 2\pi)`.

    Args:
        mu, sigma: forecast means and standard deviations > 0, one shape ``(...)``.
        mu_true, sigma_true: the truth's mean and standard deviation (> 0).

    Returns:
        ``(...)`` float64 expected scores.
    """
    mu, sigma = _check_gaussian(("mu", mu), ("sigma", sigma))
    mu_true = check_real("mu_true", mu_true)
    sigma_true = check_real("sigma_true", sigma_true, low=0.0, low_open=True)
    return (
        torch.log(sigma) + 0.5 * _LOG_2PI + (sigma_true**2 + (mu - mu_true) ** 2) / (2.0 * sigma**2)
    )


# --- the variogram score -----------------------------------------------------------------------
def variogram_score(
    ensemble: torch.Tensor,
    y: torch.Tensor,
    p: float = 0.5,
    d_max: int = 3,
    weights: torch.Tensor | None = None,
    fair: bool = True,
) -> torch.Tensor:
    r"""Variogram score of order :math:`p` on a periodic ring of :math:`K` sites, book eq.
    (variogram-score) (Scheuerer & Hamill 2015).

    .. math::
        \mathrm{VS}_p = \sum_{d=1}^{d_{\max}} w_d \sum_{i=0}^{K-1}
        \Big(|y_i - y_{i+d}|^p - \mathbb{E}|X_i - X_{i+d}|^p\Big)^2,

    indices modulo :math:`K`: every pair of sites at ring distance
    :math:`d = \min(|i - j|, K - |i - j|) \le d_{\max}` once, with weight :math:`w_d`. The
    requirement :math:`d_{\max} < K/2` makes the pairs :math:`(i, i + d)` distinct. The
    expectation is the member average :math:`\bar v = \frac1M\sum_m v_m`,
    :math:`v_m = |x_{m,i} - x_{m,i+d}|^p`. Since :math:`\mathbb{E}(a - \bar v)^2 =
    (a - \mathbb{E}v)^2 + \mathrm{Var}\,v / M`, the fair estimator subtracts :math:`s_v^2/M`,
    with :math:`s_v^2` the unbiased member variance of :math:`v_m` (needs ``M >= 2``); the
    standard one (Scheuerer & Hamill's) keeps the bias. The score is proper, not strictly: it
    depends on the forecast only through the expected :math:`|X_i - X_j|^p`.

    Args:
        ensemble: ``(B, M, K)`` members, sites on a ring.
        y: ``(B, K)`` observations.
        p: order > 0 (0.5 in the benchmark).
        d_max: largest ring distance, ``1 <= d_max < K / 2`` (3 in the benchmark).
        weights: ``(d_max,)`` weights :math:`w_d \ge 0` per distance; ones by default.
        fair: use the fair estimator.

    Returns:
        ``(B,)`` float64 scores.
    """
    ensemble, y = _check_ensemble(
        ensemble, y, min_members=2 if fair else 1, what="the fair variogram score (fair=True)"
    )
    p = check_real("p", p, low=0.0, low_open=True)
    M, K = ensemble.shape[1], ensemble.shape[2]
    d_max = check_int("d_max", d_max, low=1)
    if not 2 * d_max < K:
        raise ValueError(f"d_max must be < K / 2 = {K / 2}, got d_max = {d_max} (K = {K})")
    if weights is None:
        weights = torch.ones(d_max, dtype=torch.float64)
    else:
        check_tensor("weights", weights, (d_max,))
        if not bool((weights >= 0).all()):
            raise ValueError(f"weights must be >= 0, got {weights.tolist()}")
        weights = weights.to(torch.float64)
    score = torch.zeros(ensemble.shape[0], dtype=torch.float64)
    # |x| ** 0.5 as a square root: the benchmark's order, and several times faster than pow
    power = torch.sqrt if p == 0.5 else (lambda x: x**p)
    for d in range(1, d_max + 1):
        v_obs = power((y - torch.roll(y, -d, dims=1)).abs())  # (B, K): pairs (i, i + d)
        v = power((ensemble - torch.roll(ensemble, -d, dims=2)).abs())  # (B, M, K)
        term = (v_obs - v.mean(dim=1)) ** 2
        if fair:
            term = term - v.var(dim=1) / M
        score = score + weights[d - 1] * term.sum(dim=1)
    return score
