"""Tests of lecture_code.forecasting.two_sample: energy distances and the sampler check.

The sorted 1-D energy distance is checked against the all-pairs formula and the Gaussian closed
form; the stratified permutation test against an explicit relabelling loop, for its size under
the null (members of one law) and its power against a 10 % spread error and a wrong neighbour
correlation. Samples are Gaussian moving averages on the ring, whose laws are known exactly.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting import two_sample as ts
from lecture_code.seeding import make_generator

pytestmark = pytest.mark.usefixtures("one_thread")


def _c(s: float) -> float:
    """c(s) = sqrt(2) sqrt(1 + s^2) - 1 - s: the Gaussian energy distance over 2 / sqrt(pi)."""
    return math.sqrt(2.0) * math.sqrt(1.0 + s * s) - 1.0 - s


def _ring(S: int, m: int, K: int, c: float, g: torch.Generator) -> torch.Tensor:
    """Members (e_k + c e_{k+1}) / sqrt(1 + c^2): unit variance, neighbour correlation
    c / (1 + c^2) (0.4 for c = 0.5), independent beyond neighbours. Shape (S, m, K)."""
    e = torch.randn(S, m, K, generator=g, dtype=torch.float64)
    return (e + c * e.roll(-1, dims=-1)) / math.sqrt(1.0 + c * c)


def _strata(S: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A different mean and scale per initial state and site, shapes (S, 1, K)."""
    mean = 3.0 * torch.randn(S, 1, K, generator=g, dtype=torch.float64)
    scale = 0.2 + torch.rand(S, 1, K, generator=g, dtype=torch.float64)
    return mean, scale


def _brute_1d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    def mean_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u[:, None] - v[None, :]).abs().mean()

    return 2.0 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)


# --- energy distances ----------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "n2"), [(1, 1), (2, 7), (50, 50), (301, 123)])
def test_energy_distance_1d_equals_the_all_pairs_formula(n, n2):
    g = make_generator(n + 1000 * n2)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    y = 1.5 * torch.randn(n2, generator=g, dtype=torch.float64) + 0.3
    sorted_ed = ts.energy_distance_1d(x, y)
    brute = _brute_1d(x, y)
    assert math.isclose(float(sorted_ed), float(brute), rel_tol=1e-10, abs_tol=1e-14)
    # The multivariate brute force with K = 1 is the same number.
    multivariate = ts.energy_distance(x[:, None], y[:, None])
    assert math.isclose(float(multivariate), float(brute), rel_tol=1e-10)


def test_energy_distance_1d_with_ties_and_a_batch():
    g = make_generator(3)
    # Integer values: many ties, where the order of equal points must not matter.
    x = torch.randint(0, 5, (4, 30), generator=g).to(torch.float64)
    y = torch.randint(0, 6, (4, 17), generator=g).to(torch.float64)
    batched = ts.energy_distance_1d(x, y)
    assert batched.shape == (4,)
    for i in range(4):
        assert math.isclose(float(batched[i]), float(_brute_1d(x[i], y[i])), rel_tol=1e-10)


def test_energy_distance_1d_is_zero_on_itself_nonnegative_and_scales():
    g = make_generator(4)
    x = torch.randn(200, generator=g, dtype=torch.float64)
    assert float(ts.energy_distance_1d(x, x)) == 0.0
    for seed in range(20):
        gs = make_generator(100 + seed)
        u = torch.randn(5, generator=gs, dtype=torch.float64)
        v = torch.randn(8, generator=gs, dtype=torch.float64)
        assert float(ts.energy_distance_1d(u, v)) >= 0.0
    # A distance of order one: translation invariant, homogeneous of degree one.
    y = torch.randn(150, generator=g, dtype=torch.float64) * 2.0
    ed = float(ts.energy_distance_1d(x, y))
    assert math.isclose(float(ts.energy_distance_1d(3 * x + 7, 3 * y + 7)), 3 * ed, rel_tol=1e-10)


@pytest.mark.parametrize("s", [0.5, 2.0])
def test_energy_distance_1d_of_two_gaussians_matches_the_closed_form(s):
    # E|Z| = tau sqrt(2 / pi) for Z ~ N(0, tau^2): X - Y has tau^2 = 1 + s^2, X - X' has 2,
    # Y - Y' has 2 s^2, so ED = (2 / sqrt(pi)) (sqrt(2) sqrt(1 + s^2) - 1 - s).
    g = make_generator(5)
    n = 400_000
    x = torch.randn(n, generator=g, dtype=torch.float64)
    y = s * torch.randn(n, generator=g, dtype=torch.float64)
    exact = 2.0 / math.sqrt(math.pi) * _c(s)
    # The V-statistic has sampling error of order 1 / sqrt(n) (about 2e-3 here) and bias 2 / n.
    assert abs(float(ts.energy_distance_1d(x, y)) - exact) < 5e-3
    # The tolerance is a small fraction of the distance itself (0.18 and 0.09).
    assert exact > 10 * 5e-3


def test_closed_form_numbers_quoted_in_the_docstring():
    # A 10 % spread error: c(1.1) = sqrt(2) sqrt(2.21) - 2.1, close to (s - 1)^2 / 4.
    assert math.isclose(_c(1.1), 0.00238, abs_tol=5e-6)
    assert math.isclose(_c(1.1), 0.1**2 / 4, rel_tol=0.1)
    assert abs(_c(1.0)) < 1e-15


def test_energy_distance_multivariate_against_a_loop():
    g = make_generator(6)
    x = torch.randn(9, 3, generator=g, dtype=torch.float64)
    y = torch.randn(6, 3, generator=g, dtype=torch.float64) + 0.5

    def mean_distance(u, v):
        return sum(float((ui - vj).norm()) for ui in u for vj in v) / (len(u) * len(v))

    brute = 2 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)
    assert math.isclose(float(ts.energy_distance(x, y)), brute, rel_tol=1e-10)


# --- standardisation and the permutation null ----------------------------------------------
def test_standardise_strata_is_invariant_under_relabelling_within_a_stratum():
    g = make_generator(7)
    S, m_a, m_b, K = 4, 5, 3, 6
    mean, scale = _strata(S, K, g)
    pooled = mean + scale * torch.randn(S, m_a + m_b, K, generator=g, dtype=torch.float64)
    za, zb = ts.standardise_strata(pooled[:, :m_a], pooled[:, m_a:])
    z = torch.cat([za, zb], dim=1)
    # Pooled mean 0 and population variance 1 in every stratum and site.
    assert float(z.mean(dim=1).abs().max()) < 1e-12
    assert float((z.var(dim=1, correction=0) - 1.0).abs().max()) < 1e-12
    # Relabel: each member keeps its standardised value whichever sample it is put in.
    perm = torch.rand(S, m_a + m_b, generator=g).argsort(dim=1)
    shuffled = pooled.gather(1, perm[:, :, None].expand(-1, -1, K))
    wa, wb = ts.standardise_strata(shuffled[:, :m_a], shuffled[:, m_a:])
    expected = z.gather(1, perm[:, :, None].expand(-1, -1, K))
    assert torch.allclose(torch.cat([wa, wb], dim=1), expected, atol=1e-12)


def test_standardise_strata_gives_zeros_where_a_site_has_no_spread():
    a = torch.ones(2, 3, 4, dtype=torch.float64)
    b = torch.ones(2, 2, 4, dtype=torch.float64)
    a[1, 0, 2] = 2.0
    za, zb = ts.standardise_strata(a, b)
    assert torch.isfinite(za).all() and torch.isfinite(zb).all()
    assert float(za[0].abs().max()) == 0.0 and float(za[1, 0, 2]) > 0


def test_fast_permutation_null_equals_an_explicit_relabelling_loop():
    g = make_generator(8)
    S, m_a, m_b, K, R = 3, 4, 3, 5, 6
    a = _ring(S, m_a, K, 0.5, g)
    b = 1.3 * _ring(S, m_b, K, 0.0, g)
    za, zb = ts.standardise_strata(a, b)
    z = torch.cat([za, zb], dim=1)
    chosen = torch.rand(R, S, m_a + m_b, generator=g).argsort(dim=-1)[..., :m_a]
    is_a = torch.zeros(R, S, m_a + m_b, dtype=torch.bool).scatter_(-1, chosen, True)
    for neighbours in (False, True):
        fast = ts._permutation_statistics(z, is_a, neighbours)
        for r in range(R):
            pa = torch.stack([z[s][is_a[r, s]] for s in range(S)])
            pb = torch.stack([z[s][~is_a[r, s]] for s in range(S)])
            slow = ts._observed_statistic(pa, pb, neighbours)
            assert math.isclose(float(fast[r]), slow, rel_tol=1e-10)
    # The identity labelling reproduces the observed statistic of the test.
    identity = torch.zeros(1, S, m_a + m_b, dtype=torch.bool)
    identity[..., :m_a] = True
    observed = ts.sampler_two_sample_test(a, b, 9, make_generator(0))["statistic"]
    replayed = float(ts._permutation_statistics(z, identity, True)[0])
    assert math.isclose(replayed, observed, rel_tol=1e-10)
    flat = ts.energy_distance_1d(za.reshape(-1), zb.reshape(-1))
    sa, sb = ts._neighbour_sums(za), ts._neighbour_sums(zb)
    sums = ts.energy_distance_1d(sa.reshape(-1), sb.reshape(-1))
    assert math.isclose(observed, float(flat + sums), rel_tol=1e-12)


def test_two_sample_test_reports_its_fields_and_reproduces_with_the_seed():
    g = make_generator(9)
    a, b = _ring(6, 4, 8, 0.5, g), _ring(6, 5, 8, 0.5, g)
    first = ts.sampler_two_sample_test(a, b, 49, make_generator(1))
    again = ts.sampler_two_sample_test(a, b, 49, make_generator(1))
    assert first == again
    assert set(first) == {
        "statistic", "p_value", "n_perm", "null_mean", "null_sd", "null_q95", "z", "n_strata",
        "members",
    }  # fmt: skip
    assert first["n_strata"] == 6 and first["members"] == [4, 5] and first["n_perm"] == 49
    assert 1 / 50 <= first["p_value"] <= 1.0
    # float32 input is accepted and gives the same answer as float64 to its precision.
    single = ts.sampler_two_sample_test(a.float(), b.float(), 49, make_generator(1))
    assert math.isclose(single["statistic"], first["statistic"], rel_tol=1e-4)


def test_size_under_the_null_is_nominal():
    # a and b are members of one law per initial state (its own mean and scale per stratum and
    # site, correlated neighbours), with unequal ensemble sizes. The permutation p-value is exact:
    # P(p <= alpha) = alpha for alpha on the grid k / (n_perm + 1).
    g = make_generator(10)
    S, m_a, m_b, K, reps = 30, 10, 12, 16, 100
    p_values = []
    for _ in range(reps):
        mean, scale = _strata(S, K, g)
        a = mean + scale * _ring(S, m_a, K, 0.5, g)
        b = mean + scale * _ring(S, m_b, K, 0.5, g)
        p_values.append(ts.sampler_two_sample_test(a, b, 99, g)["p_value"])
    p = torch.tensor(p_values)
    # Binomial(100, 0.05): mean 5, P(>= 13) < 0.001. Binomial(100, 0.5): 35..65 is a 99.8 % band.
    assert int((p <= 0.05).sum()) <= 12
    assert 35 <= int((p <= 0.5).sum()) <= 65
    # The mean of 100 uniforms has standard deviation 0.029.
    assert abs(float(p.mean()) - 0.5) < 0.1


def test_power_against_a_ten_percent_spread_error():
    g = make_generator(11)
    S, m, K = 100, 20, 40
    reference = _ring(S, m, K, 0.5, g)
    wrong = ts.inflate_spread(_ring(S, m, K, 0.5, g), 1.1)
    for neighbours in (True, False):
        result = ts.sampler_two_sample_test(wrong, reference, 199, g, neighbours=neighbours)
        assert result["p_value"] < 0.01
        assert result["statistic"] > result["null_q95"]
    # The same two samplers with the right spread are not told apart.
    right = _ring(S, m, K, 0.5, g)
    assert ts.sampler_two_sample_test(right, reference, 199, g)["p_value"] > 0.01


def test_power_against_a_wrong_neighbour_correlation_needs_the_neighbour_term():
    # a has neighbour correlation 0.4, b none; both have N(0, 1) marginals. The neighbour sums
    # have variance 1.4 against 1, a spread ratio of sqrt(1.4).
    g = make_generator(12)
    S, m, K = 100, 20, 40
    a, b = _ring(S, m, K, 0.5, g), _ring(S, m, K, 0.0, g)
    assert ts.sampler_two_sample_test(a, b, 199, g, neighbours=True)["p_value"] < 0.01
    # Marginals alone carry no signal here: the marginal test is under its null.
    assert ts.sampler_two_sample_test(a, b, 199, g, neighbours=False)["p_value"] > 0.01


# --- the size of a spread error ------------------------------------------------------------------
def test_inflate_spread_keeps_the_mean_and_scales_the_deviations():
    g = make_generator(13)
    x = torch.randn(5, 7, 3, generator=g, dtype=torch.float64) + 2.0
    y = ts.inflate_spread(x, 1.1)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.allclose(y.mean(dim=1), x.mean(dim=1), atol=1e-12)
    assert torch.allclose(y - y.mean(dim=1, keepdim=True), 1.1 * (x - x.mean(dim=1, keepdim=True)))


def test_spread_ratio_of_an_inflated_copy_is_exactly_the_factor():
    g = make_generator(14)
    x = _ring(20, 6, 8, 0.5, g)
    result = ts.spread_ratio(ts.inflate_spread(x, 1.1), x, g, n_boot=200)
    assert math.isclose(result["ratio"], 1.1, rel_tol=1e-12)
    assert math.isclose(result["ci"][0], 1.1, rel_tol=1e-9)
    assert math.isclose(result["ci"][1], 1.1, rel_tol=1e-9)


def test_spread_ratio_interval_covers_and_has_the_right_width():
    # Independent samplers, the first 10 % too wide: over repetitions the interval should contain
    # 1.1 about 95 % of the time, and its width should match the spread of the ratio itself.
    g = make_generator(15)
    S, m, K, reps = 50, 10, 8, 40
    ratios, widths, covered = [], [], 0
    for _ in range(reps):
        wrong = ts.inflate_spread(_ring(S, m, K, 0.5, g), 1.1)
        result = ts.spread_ratio(wrong, _ring(S, m, K, 0.5, g), g, n_boot=500)
        low, high = result["ci"]
        assert low <= result["ratio"] <= high
        covered += low <= 1.1 <= high
        ratios.append(result["ratio"])
        widths.append(high - low)
    ratios_t = torch.tensor(ratios)
    # Binomial(40, 0.95): P(<= 33) < 0.01.
    assert covered >= 34
    assert abs(float(ratios_t.mean()) - 1.1) < 0.02
    # A 95 % interval spans about 3.92 standard deviations of the estimate.
    assert 0.7 < sum(widths) / reps / (3.92 * float(ratios_t.std())) < 1.4


# --- bad input -----------------------------------------------------------------------------------
def test_bad_input_is_rejected_with_the_argument_named():
    g = make_generator(16)
    a = torch.randn(4, 3, 5, dtype=torch.float64)
    b = torch.randn(4, 2, 5, dtype=torch.float64)
    nan = a.clone()
    nan[0, 0, 0] = math.nan
    with pytest.raises(ValueError, match=r"^a must be finite"):
        ts.sampler_two_sample_test(nan, b, 9, g)
    with pytest.raises(ValueError, match=r"^b must be finite"):
        ts.spread_ratio(a, b.clone().fill_(math.inf), g)
    with pytest.raises(ValueError, match=r"^b must have shape .* S = 4"):
        ts.sampler_two_sample_test(a, b[:3], 9, g)
    with pytest.raises(ValueError, match=r"^b must have shape .* K = 5"):
        ts.standardise_strata(a, b[..., :4])
    with pytest.raises(ValueError, match=r"^a must have shape"):
        ts.sampler_two_sample_test(a[0], b, 9, g)
    with pytest.raises(ValueError, match=r"^b.shape\[1\] \(members m_b\)"):
        ts.sampler_two_sample_test(a, b[:, :1], 9, g)
    with pytest.raises(ValueError, match=r"^x.shape\[1\] \(members m\)"):
        ts.inflate_spread(a[:, :1], 1.1)
    for factor in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"^factor"):
            ts.inflate_spread(a, factor)
    with pytest.raises(ValueError, match=r"^n_perm"):
        ts.sampler_two_sample_test(a, b, 1, g)
    with pytest.raises(ValueError, match=r"^x and y must have shapes"):
        ts.energy_distance_1d(torch.randn(2, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"^y must have shape .* K = 3"):
        ts.energy_distance(torch.randn(4, 3), torch.randn(4, 2))
