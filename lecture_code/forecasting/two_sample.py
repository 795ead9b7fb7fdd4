r"""Is a fast sampler distinguishable from the reference? A stratified energy-distance test.

The sampler check of the benchmark draws, from each of :math:`S` initial states (the *strata*),
:math:`m_a` members with the fast sampler (at most 10 network evaluations) and :math:`m_b` with
the 1000-step reference, and asks whether the two one-step forecast laws differ. Samples are
``a: (S, m_a, K)`` and ``b: (S, m_b, K)``, ``K`` sites on a ring.

**Energy distance.** For laws :math:`F, G` on :math:`\mathbb{R}^K`,
:math:`\mathcal{E}(F, G) = 2\,\mathbb{E}|X - Y| - \mathbb{E}|X - X'| - \mathbb{E}|Y - Y'| \ge 0`,
zero only when :math:`F = G` (Székely & Rizzo 2004; Baringhaus & Franz 2004). The V-statistic
replaces each expectation by the average over all pairs of the two samples (pairs of a point
with itself included). In one dimension it equals :math:`2 \int (F_n - G_{n_2})^2\,dz` for the
empirical CDFs (Székely & Rizzo 2013), a sum over the gaps of the sorted pooled sample: exact, in
:math:`O(N \log N)`, and nonnegative term by term (:func:`energy_distance_1d`). For two Gaussians
:math:`N(0, \sigma^2)` and :math:`N(0, s^2\sigma^2)`, :math:`\mathbb{E}|Z| = \tau\sqrt{2/\pi}`
for :math:`Z \sim N(0, \tau^2)` gives

.. math:: \mathcal{E} = \frac{2\sigma}{\sqrt\pi}\,c(s), \qquad
   c(s) = \sqrt 2\,\sqrt{1 + s^2} - 1 - s \approx \tfrac14 (s - 1)^2 .

**The statistic.** Each stratum and site is standardised by the mean and standard deviation of
the pooled :math:`a \cup b` (:func:`standardise_strata`), which removes the differences between
initial states. :math:`T` is the 1-D energy distance between all standardised values of ``a``
and of ``b`` (strata, members and sites pooled), plus that of the neighbour sums
:math:`(z_k + z_{k+1})/\sqrt 2` (:math:`k + 1` mod :math:`K`), whose variance is
:math:`1 + \rho_1`: a sampler with the right marginals but a wrong neighbour correlation
:math:`\rho_1` shifts it.

**The null.** Given the initial state, the members of both samplers are exchangeable under the
null. Permuting the a/b labels of whole members (vectors over ``K``) within each stratum therefore
leaves the joint law unchanged, whatever the dependence between sites, and the permutation
p-value :math:`(1 + \#\{T^* \ge T\})/(1 + n_{\text{perm}})` is exact at every sample size (Good
2005; Lehmann & Romano 2005, sec. 15.2). The standardisation does not break this: pooled
statistics are symmetric in the labels, so they are computed once and are the same for every
permutation.

**Why pool 1-D marginals rather than use the 40-D energy distance.** For a spread ratio
:math:`s = 1.1` the 1-D signal is :math:`(2\sigma/\sqrt\pi)\,[\sqrt 2\sqrt{1 + 1.21} - 2.1]
= (2\sigma/\sqrt\pi) \times 0.00238`, the fraction :math:`c(1.1) = 0.00238` of the scale
:math:`\mathbb{E}|X - X'| = 2\sigma/\sqrt\pi`. In :math:`K` dimensions distances concentrate,
:math:`|X - Y| \approx \sqrt{K(1 + s^2)}\,\sigma`, and the same algebra gives
:math:`\mathcal{E}_K \approx \sqrt{2K}\,\sigma\,c(s)`: again the fraction :math:`c(s)` of its
scale :math:`\mathbb{E}|X - X'| \approx \sqrt{2K}\sigma`. Dimension buys no relative signal. The
null mean of a V-statistic is :math:`\mathbb{E}|X - X'|\,(1/n_a + 1/n_b)`, so the signal stands
at about :math:`c\,n/2` null means for :math:`n` points per sampler: pooling the sites gives
:math:`n = S m K = 80\,000` values at :math:`S = 100, m = 20, K = 40` (about 95 null means,
fewer in effect since sites are correlated) against :math:`n = S m = 2000` vectors (about 2.4)
for the 40-D statistic. The price is blindness to alternatives that keep every marginal and
neighbour-pair law, which is why the neighbour term is there.

:func:`spread_ratio` reports the size of a spread error with a bootstrap interval over strata,
and :func:`inflate_spread` makes the deliberately wrong sampler that shows the test's power.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`), section
"A two-sample test"; chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).

References:
    G. J. Székely and M. L. Rizzo, "Testing for equal distributions in high dimension",
    InterStat 2004; "Energy statistics: a class of statistics based on distances",
    J. Stat. Plan. Inference 143, 2013. L. Baringhaus and C. Franz, "On a new multivariate
    two-sample test", J. Multivariate Anal. 88, 2004. P. Good, "Permutation, parametric and
    bootstrap tests of hypotheses", Springer 2005. E. L. Lehmann and J. P. Romano, "Testing
    statistical hypotheses", 3rd ed., Springer 2005.
"""

from __future__ import annotations

import math

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "energy_distance",
    "energy_distance_1d",
    "inflate_spread",
    "sampler_two_sample_test",
    "spread_ratio",
    "standardise_strata",
]

#: Entries of the (replicates, pooled values) label matrix built at once in the permutation
#: null: replicates are processed in chunks so memory stays near 32 MB whatever S m K is.
_CHUNK_ENTRIES = 4_000_000

#: Relative tolerance for "T* >= T": the observed and permuted statistics are sums computed in
#: different orders, and a permutation that reproduces the observed labels must count as a tie.
_TIE_RTOL = 1e-9


def _check_samples(a: object, b: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Both samples, checked against the layout ``(S, m, K)`` and cast to float64."""
    dims: dict[str, int] = {}
    a = check_tensor("a", a, ("S", "m_a", "K"), dims=dims)
    b = check_tensor("b", b, ("S", "m_b", "K"), dims=dims)
    check_int("a.shape[1] (members m_a)", a.shape[1], low=2)
    check_int("b.shape[1] (members m_b)", b.shape[1], low=2)
    return a.to(torch.float64), b.to(torch.float64)


def _check_members(name: str, x: object) -> torch.Tensor:
    x = check_tensor(name, x, ("S", "m", "K"))
    check_int(f"{name}.shape[1] (members m)", x.shape[1], low=2)
    return x


# --- energy distances ------------------------------------------------------------------------
def energy_distance_1d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""V-statistic energy distance between 1-D samples, exact, by sorting.

    :math:`2\,\overline{|x - y|} - \overline{|x - x'|} - \overline{|y - y'|}
    = 2 \int (F_n - G_{n_2})^2\,dz`, the integrand constant between consecutive points of the
    sorted pooled sample.

    Args:
        x: ``(..., n)`` samples, one sample per leading index.
        y: ``(..., n2)`` samples, the same leading shape as ``x``.

    Returns:
        ``(...)`` the energy distances, in the promoted dtype of ``x`` and ``y``.
    """
    x = check_tensor("x", x)
    y = check_tensor("y", y)
    if x.ndim < 1 or x.shape[:-1] != y.shape[:-1] or x.shape[-1] < 1 or y.shape[-1] < 1:
        raise ValueError(
            "x and y must have shapes (..., n) and (..., n2) with the same leading axes and "
            f"n, n2 >= 1, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    dtype = torch.promote_types(x.dtype, y.dtype)
    n, n2 = x.shape[-1], y.shape[-1]
    pooled = torch.cat([x.to(dtype), y.to(dtype)], dim=-1)
    # Each x raises F_n by 1/n and each y raises G_{n2} by 1/n2 as z sweeps past it.
    steps = torch.cat(
        [
            torch.full(x.shape, 1.0 / n, dtype=dtype),
            torch.full(y.shape, -1.0 / n2, dtype=dtype),
        ],
        dim=-1,
    )
    z, order = pooled.sort(dim=-1)
    difference = steps.gather(-1, order).cumsum(dim=-1)[..., :-1]
    return 2.0 * (difference.square() * z.diff(dim=-1)).sum(dim=-1)


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""V-statistic energy distance between samples in :math:`\mathbb{R}^K`, by all pairs.

    Brute force, :math:`O((n + n_2)^2 K)`: for tests and small samples.

    Args:
        x: ``(n, K)``.
        y: ``(n2, K)``.

    Returns:
        ``()`` the energy distance.
    """
    dims: dict[str, int] = {}
    x = check_tensor("x", x, ("n", "K"), dims=dims)
    y = check_tensor("y", y, ("n2", "K"), dims=dims)
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)

    def mean_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # The matrix-product shortcut of cdist loses digits to cancellation; pairs exactly.
        return torch.cdist(u, v, compute_mode="donot_use_mm_for_euclid_dist").mean()

    return 2.0 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)


# --- the stratified permutation test ---------------------------------------------------------
def standardise_strata(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Standardise each stratum and site by the pooled mean and standard deviation of a ∪ b.

    :math:`z_{sjk} = (x_{sjk} - \mu_{sk}) / \sigma_{sk}`, with :math:`\mu_{sk}` and
    :math:`\sigma_{sk}` the mean and (population) standard deviation over all
    :math:`m_a + m_b` members of stratum ``s`` at site ``k``. They are symmetric functions of the
    pooled members, so relabelling members within a stratum leaves them unchanged and a
    permutation test on the standardised values is as exact as one on the raw values. A site
    with no spread in a stratum (:math:`\sigma_{sk} = 0`) carries no information and gives zeros.

    Args:
        a: ``(S, m_a, K)`` members of the first sampler.
        b: ``(S, m_b, K)`` members of the second sampler.

    Returns:
        ``(za, zb)``, float64 tensors of the shapes of ``a`` and ``b``.
    """
    a, b = _check_samples(a, b)
    pooled = torch.cat([a, b], dim=1)
    mean = pooled.mean(dim=1, keepdim=True)
    sd = pooled.std(dim=1, correction=0, keepdim=True)
    z = (pooled - mean) / torch.where(sd > 0, sd, torch.ones_like(sd))
    return z[:, : a.shape[1]], z[:, a.shape[1] :]


def _neighbour_sums(z: torch.Tensor) -> torch.Tensor:
    """``(z_k + z_{k+1}) / sqrt(2)`` on the ring, for ``z: (..., K)``."""
    return (z + z.roll(-1, dims=-1)) / math.sqrt(2.0)


def _observed_statistic(za: torch.Tensor, zb: torch.Tensor, neighbours: bool) -> float:
    """``T`` for standardised ``za: (S, m_a, K)``, ``zb: (S, m_b, K)``."""
    statistic = energy_distance_1d(za.reshape(-1), zb.reshape(-1))
    if neighbours:
        statistic = statistic + energy_distance_1d(
            _neighbour_sums(za).reshape(-1), _neighbour_sums(zb).reshape(-1)
        )
    return float(statistic)


def _permutation_statistics(z: torch.Tensor, is_a: torch.Tensor, neighbours: bool) -> torch.Tensor:
    r"""``T`` under each labelling of the pooled standardised members.

    The pooled values are sorted once; a labelling only changes which steps the empirical CDF
    difference takes, so each replicate costs one gather and one cumulative sum over the
    :math:`N = S (m_a + m_b) K` sorted values.

    Args:
        z: ``(S, M, K)`` pooled standardised members, ``M = m_a + m_b``.
        is_a: ``(R, S, M)`` boolean labels with ``m_a`` True entries in every row ``(r, s)``.
        neighbours: add the term of the neighbour sums.

    Returns:
        ``(R,)`` the statistics.
    """
    S, M, K = z.shape
    R = is_a.shape[0]
    n_a = int(is_a[0, 0].sum()) * S * K
    n_b = S * M * K - n_a
    # Every pooled value belongs to member (s, j): its flat index s M + j.
    member = torch.arange(S * M).repeat_interleave(K)
    fields = [z.reshape(-1)]
    if neighbours:
        fields.append(_neighbour_sums(z).reshape(-1))
    sorted_fields = []
    for values in fields:
        sorted_values, order = values.sort()
        sorted_fields.append((sorted_values.diff(), member[order]))
    labels = is_a.reshape(R, S * M).to(z.dtype)
    # A value of a raises F_a - F_b by 1/n_a, a value of b lowers it by 1/n_b.
    steps = labels * (1.0 / n_a + 1.0 / n_b) - 1.0 / n_b
    out = torch.zeros(R, dtype=z.dtype)
    chunk = max(1, _CHUNK_ENTRIES // (S * M * K))
    for start in range(0, R, chunk):
        rows = steps[start : start + chunk]
        for gaps, owner in sorted_fields:
            difference = rows[:, owner].cumsum(dim=1)[:, :-1]
            out[start : start + chunk] += 2.0 * (difference.square() * gaps).sum(dim=1)
    return out


def sampler_two_sample_test(
    a: torch.Tensor,
    b: torch.Tensor,
    n_perm: int,
    generator: torch.Generator,
    *,
    neighbours: bool = True,
) -> dict:
    r"""Stratified permutation test of equal one-step laws, on pooled standardised values.

    ``T`` is the 1-D energy distance of the standardised values pooled over strata, members and
    sites, plus (``neighbours=True``) that of the standardised neighbour sums on the ring. The
    null permutes the a/b labels of whole members within each stratum, one random permutation
    per stratum and replicate; p-value :math:`(1 + \#\{T^* \ge T\})/(1 + n_{\text{perm}})`.

    Args:
        a: ``(S, m_a, K)`` members of the first sampler (the fast one).
        b: ``(S, m_b, K)`` members of the second (the reference), from the same ``S`` states.
        n_perm: number of permutations, at least 2.
        generator: the source of the permutations.
        neighbours: add the neighbour-sum term, sensitive to neighbour correlations.

    Returns:
        ``{"statistic", "p_value", "n_perm", "null_mean", "null_sd", "null_q95", "z",
        "n_strata", "members": [m_a, m_b]}``; ``z = (T - null_mean) / null_sd`` (NaN when the
        null has no spread).
    """
    n_perm = check_int("n_perm", n_perm, low=2)
    za, zb = standardise_strata(a, b)
    S, m_a, _ = za.shape
    m_b = zb.shape[1]
    statistic = _observed_statistic(za, zb, neighbours)

    z = torch.cat([za, zb], dim=1)
    # argsort of uniforms is a uniform random permutation; its first m_a entries are labelled a.
    ranks = torch.rand(n_perm, S, m_a + m_b, generator=generator, dtype=torch.float64)
    chosen = ranks.argsort(dim=-1)[..., :m_a]
    is_a = torch.zeros(n_perm, S, m_a + m_b, dtype=torch.bool).scatter_(-1, chosen, True)
    null = _permutation_statistics(z, is_a, neighbours)

    exceed = int((null >= statistic * (1.0 - _TIE_RTOL)).sum())
    null_mean = float(null.mean())
    null_sd = float(null.std())
    return {
        "statistic": statistic,
        "p_value": (1 + exceed) / (1 + n_perm),
        "n_perm": n_perm,
        "null_mean": null_mean,
        "null_sd": null_sd,
        "null_q95": float(torch.quantile(null, 0.95)),
        "z": (statistic - null_mean) / null_sd if null_sd > 0 else math.nan,
        "n_strata": S,
        "members": [m_a, m_b],
    }


# --- the size of a spread error --------------------------------------------------------------
def spread_ratio(
    a: torch.Tensor,
    b: torch.Tensor,
    generator: torch.Generator,
    n_boot: int = 1000,
    *,
    level: float = 0.95,
) -> dict:
    r"""RMS ensemble spread of ``a`` over that of ``b``, with a percentile bootstrap interval.

    The spread of a sample is :math:`\sqrt{\overline{v}}`, :math:`\overline v` the mean over
    strata and sites of the unbiased variance over members. The interval resamples strata with
    replacement, the same indices for ``a`` and ``b``, so that hard and easy states cancel in
    the ratio.

    Args:
        a: ``(S, m_a, K)``.
        b: ``(S, m_b, K)``.
        generator: the source of the resamples.
        n_boot: number of bootstrap resamples.
        level: coverage of the interval.

    Returns:
        ``{"ratio": float, "ci": [low, high]}``.
    """
    a, b = _check_samples(a, b)
    n_boot = check_int("n_boot", n_boot, low=1)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    # Per-stratum mean variance: the bootstrap then only averages S numbers per resample.
    var_a = a.var(dim=1).mean(dim=1)
    var_b = b.var(dim=1).mean(dim=1)
    ratio = math.sqrt(float(var_a.mean() / var_b.mean()))
    index = torch.randint(0, a.shape[0], (n_boot, a.shape[0]), generator=generator)
    draws = (var_a[index].mean(dim=1) / var_b[index].mean(dim=1)).sqrt()
    tails = torch.tensor([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=torch.float64)
    low, high = torch.quantile(draws, tails).tolist()
    return {"ratio": ratio, "ci": [low, high]}


def inflate_spread(x: torch.Tensor, factor: float) -> torch.Tensor:
    r"""The deliberately wrong sampler: members moved away from their ensemble mean.

    :math:`\bar x_s + f\,(x_{sj} - \bar x_s)`: the ensemble mean of every stratum is kept and
    the member deviations (hence the spread) are multiplied by :math:`f`.

    Args:
        x: ``(S, m, K)`` members.
        factor: :math:`f > 0`.

    Returns:
        ``(S, m, K)`` in the dtype of ``x``.
    """
    x = _check_members("x", x)
    factor = check_real("factor", factor, low=0.0, low_open=True)
    mean = x.mean(dim=1, keepdim=True)
    return mean + factor * (x - mean)
