"""Tests of lecture_code.forecasting.shape_scores against brute force, closed forms and the
integral identities CRPS = 2 int QS_alpha d alpha and CRPS = int BS_z dz."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting import calibration, metrics, shape_scores
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def _ensemble(B: int, M: int, K: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = make_generator(seed)
    x = torch.randn(B, M + 1, K, generator=g, dtype=torch.float64)
    return x[:, :M, :], x[:, M, :]


# --- quantile score ----------------------------------------------------------------------------
def test_quantile_score_brute_force():
    ensemble, y = _ensemble(5, 7, 3, seed=1)
    for alpha in (0.01, 0.3, 0.5, 0.99):
        got = shape_scores.quantile_score(ensemble, y, alpha)
        for b in range(5):
            for k in range(3):
                xs = sorted(ensemble[b, :, k].tolist())
                # lower quantile: smallest member with empirical CDF >= alpha
                q = next(x for i, x in enumerate(xs) if (i + 1) / 7 >= alpha)
                yy = float(y[b, k])
                ref = ((1.0 if yy < q else 0.0) - alpha) * (q - yy)
                assert got[b, k].item() == pytest.approx(ref, abs=1e-14)


@pytest.mark.parametrize("M", [1, 2, 5, 20])
def test_crps_is_twice_integral_of_quantile_scores(M):
    ensemble, y = _ensemble(4, M, 3, seed=M)
    # QS is linear in alpha between the break points i / M: midpoints of a grid holding them
    # integrate it exactly.
    L = 200
    alphas = (torch.arange(M * L, dtype=torch.float64) + 0.5) / (M * L)
    total = sum(shape_scores.quantile_score(ensemble, y, float(a)) for a in alphas) / (M * L)
    torch.testing.assert_close(
        2 * total, metrics.crps_ensemble(ensemble, y, fair=False), rtol=1e-10, atol=1e-10
    )


def test_gaussian_quantile_scores_integrate_to_gaussian_crps():
    mu = torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    y = torch.tensor([0.3, -1.0, 2.5], dtype=torch.float64)
    n = 20_000
    alphas = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    total = sum(shape_scores.quantile_score_gaussian(mu, sigma, y, float(a)) for a in alphas)
    torch.testing.assert_close(
        2 * total / n, metrics.crps_gaussian(mu, sigma, y), atol=1e-4, rtol=0
    )


def test_expected_quantile_score_closed_form_against_quadrature():
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    dens = torch.exp(-0.5 * ((z - 0.3) / 1.5) ** 2) / (1.5 * math.sqrt(2 * math.pi))
    for alpha in (0.01, 0.5, 0.99):
        for mu, s in ((0.0, 1.0), (1.0, 0.7)):
            qs = shape_scores.quantile_score_gaussian(
                torch.full_like(z, mu), torch.full_like(z, s), z, alpha
            )
            quad = torch.trapezoid(qs * dens, z)
            exact = shape_scores.expected_quantile_score_gaussian(
                torch.tensor(mu, dtype=torch.float64),
                torch.tensor(s, dtype=torch.float64),
                0.3,
                1.5,
                alpha,
            )
            assert float(quad) == pytest.approx(float(exact), abs=1e-7)


# --- threshold Brier score -------------------------------------------------------------------
def test_threshold_brier_brute_force_and_fair_unbiased():
    ensemble, y = _ensemble(3, 4, 2, seed=3)
    got = shape_scores.threshold_brier_score(ensemble, y, 0.2, fair=False)
    for b in range(3):
        for k in range(2):
            F = sum(float(x) <= 0.2 for x in ensemble[b, :, k]) / 4
            o = 1.0 if float(y[b, k]) <= 0.2 else 0.0
            assert got[b, k].item() == pytest.approx((F - o) ** 2, abs=1e-15)
    # fair: unbiased for (P(z) - o)^2 with P the law of the members, here N(0, 1) at z = 0.2
    ens, y0 = _ensemble(200_000, 3, 1, seed=4)
    fair = shape_scores.threshold_brier_score(ens, y0, 0.2)
    P = float(metrics._normal_cdf(torch.tensor(0.2)))
    ref = (P - (y0 <= 0.2).double()) ** 2
    diff = fair - ref
    assert abs(float(diff.mean())) <= monte_carlo_tolerance(float(diff.std()), diff.numel())
    std = shape_scores.threshold_brier_score(ens, y0, 0.2, fair=False) - ref
    assert abs(float(std.mean())) > 3 * monte_carlo_tolerance(float(std.std()), std.numel())


@pytest.mark.parametrize("fair", [False, True])
def test_crps_is_integral_of_threshold_brier_scores(fair):
    M = 6
    ensemble, y = _ensemble(3, M, 2, seed=5)
    h = 2e-4
    z = torch.arange(-8.0, 8.0, h, dtype=torch.float64) + h / 2
    # one threshold per column: the ensemble repeated along the variable axis
    wide = ensemble[:, :, :1].expand(-1, -1, z.numel())
    y_wide = y[:, :1].expand(-1, z.numel())
    total = shape_scores.threshold_brier_score(wide, y_wide, z, fair=fair).sum(dim=1)
    # a midpoint sum of a step function errs by at most h per jump, M + 1 jumps
    torch.testing.assert_close(
        total * h, metrics.crps_ensemble(ensemble, y, fair=fair)[:, 0], atol=(M + 1) * h, rtol=0
    )


@pytest.mark.parametrize("fair", [False, True])
def test_tail_crps_is_the_integral_of_brier_scores_over_its_tail_and_the_tails_add_up(fair):
    M, t = 6, 0.3
    ensemble, y = _ensemble(3, M, 2, seed=6)
    h = 2e-4
    z = torch.arange(-8.0, 8.0, h, dtype=torch.float64) + h / 2
    wide = ensemble[:, :, :1].expand(-1, -1, z.numel())
    brier = shape_scores.threshold_brier_score(wide, y[:, :1].expand(-1, z.numel()), z, fair=fair)
    upper = shape_scores.tail_crps(ensemble, y, t, upper=True, fair=fair)[:, 0]
    lower = shape_scores.tail_crps(ensemble, y, t, upper=False, fair=fair)[:, 0]
    tol = (M + 2) * h
    torch.testing.assert_close((brier * h)[:, z >= t].sum(dim=1), upper, atol=tol, rtol=0)
    torch.testing.assert_close((brier * h)[:, z < t].sum(dim=1), lower, atol=tol, rtol=0)
    # the two tails of one threshold make the whole CRPS, to rounding
    full = metrics.crps_ensemble(ensemble, y, fair=fair)[:, 0]
    torch.testing.assert_close(upper + lower, full, atol=1e-12, rtol=0)


def test_the_fair_tail_crps_ranks_the_truths_law_first_where_the_quantile_score_does_not():
    """Truth N(0, 1), ensembles of M = 20 drawn from N(0, s^2). The 1 % quantile score of 20
    members scores the smallest member, which sits near the 5 % quantile; widening the ensemble
    moves it towards the 1 % quantile, so the score prefers s = 1.3 to the truth's own law. The
    fair lower-tail CRPS at the truth's 1 % quantile prefers s = 1; the standard (unfair) tail
    CRPS, whose bias rewards a narrow ensemble, prefers s = 0.8. Common random numbers (the
    same draws scaled) make each paired difference precise."""
    B, M, t = 100_000, 20, -2.3263478740408408  # the 1 % quantile of N(0, 1)
    g = make_generator(11)
    z = torch.randn(B, M, 1, generator=g, dtype=torch.float64)
    y = torch.randn(B, 1, generator=g, dtype=torch.float64)

    def paired(score, s_a: float, s_b: float) -> float:
        """z-statistic of the mean score difference of s_a minus s_b (negative: s_a better)."""
        d = (score(s_a * z) - score(s_b * z)).flatten()
        return (d.mean() / (d.std() / math.sqrt(B))).item()

    def quantile(x):
        return shape_scores.quantile_score(x, y, 0.01)

    def fair_tail(x):
        return shape_scores.tail_crps(x, y, t, upper=False)

    def unfair_tail(x):
        return shape_scores.tail_crps(x, y, t, upper=False, fair=False)

    assert paired(quantile, 1.3, 1.0) < -10  # the quantile score of 20 members prefers s = 1.3
    assert paired(fair_tail, 1.0, 1.3) < -5  # the fair tail score prefers the truth's law
    assert paired(fair_tail, 1.0, 0.8) < 0  # and to a narrower ensemble too
    assert paired(unfair_tail, 0.8, 1.0) < -5  # the unfair one rewards the narrow ensemble


def test_threshold_per_site():
    ensemble, y = _ensemble(3, 5, 2, seed=6)
    z = torch.tensor([-0.5, 0.5], dtype=torch.float64)
    both = shape_scores.threshold_brier_score(ensemble, y, z)
    torch.testing.assert_close(
        both[:, 0], shape_scores.threshold_brier_score(ensemble, y, -0.5)[:, 0]
    )
    torch.testing.assert_close(
        both[:, 1], shape_scores.threshold_brier_score(ensemble, y, 0.5)[:, 1]
    )


# --- log score -------------------------------------------------------------------------------
def test_log_score_against_torch_normal_and_expected_value():
    mu = torch.tensor([0.0, 1.0], dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.3], dtype=torch.float64)
    y = torch.tensor([0.5, 2.0], dtype=torch.float64)
    ref = -torch.distributions.Normal(mu, sigma).log_prob(y)
    torch.testing.assert_close(shape_scores.log_score_gaussian(mu, sigma, y), ref)
    g = make_generator(7)
    yy = 0.4 + 1.3 * torch.randn(400_000, generator=g, dtype=torch.float64)
    ls = shape_scores.log_score_gaussian(torch.full_like(yy, 0.1), torch.full_like(yy, 0.8), yy)
    exact = shape_scores.expected_log_score_gaussian(
        torch.tensor(0.1, dtype=torch.float64), torch.tensor(0.8, dtype=torch.float64), 0.4, 1.3
    )
    assert abs(float(ls.mean() - exact)) <= monte_carlo_tolerance(float(ls.std()), yy.numel())


# --- variogram score -------------------------------------------------------------------------
def _variogram_brute(ensemble, y, p, d_max, w, fair):
    B, M, K = ensemble.shape
    out = torch.zeros(B, dtype=torch.float64)
    for b in range(B):
        for i in range(K):
            for j in range(i + 1, K):
                d = min(j - i, K - (j - i))
                if d > d_max:
                    continue
                a = abs(float(y[b, i] - y[b, j])) ** p
                v = [abs(float(ensemble[b, m, i] - ensemble[b, m, j])) ** p for m in range(M)]
                mean = sum(v) / M
                term = (a - mean) ** 2
                if fair:
                    term -= sum((t - mean) ** 2 for t in v) / (M - 1) / M
                out[b] += w[d - 1] * term
    return out


@pytest.mark.parametrize("fair", [False, True])
@pytest.mark.parametrize("K,d_max", [(7, 3), (8, 1), (40, 3)])
def test_variogram_score_brute_force(fair, K, d_max):
    ensemble, y = _ensemble(2, 4, K, seed=K)
    w = torch.linspace(1.0, 0.5, d_max, dtype=torch.float64)
    got = shape_scores.variogram_score(ensemble, y, p=0.7, d_max=d_max, weights=w, fair=fair)
    torch.testing.assert_close(got, _variogram_brute(ensemble, y, 0.7, d_max, w.tolist(), fair))


def test_variogram_fair_is_unbiased():
    # E(a - vbar)^2 = (a - Ev)^2 + Var v / M: fair scores at M = 3 and M = 100 have one mean,
    # standard scores do not
    ens, y = _ensemble(6000, 3, 8, seed=9)
    big, _ = _ensemble(6000, 100, 8, seed=10)
    diff = shape_scores.variogram_score(ens, y) - shape_scores.variogram_score(big, y)
    assert abs(float(diff.mean())) <= monte_carlo_tolerance(float(diff.std()), diff.numel())
    biased = shape_scores.variogram_score(ens, y, fair=False) - shape_scores.variogram_score(
        big, y, fair=False
    )
    assert float(biased.mean()) > 3 * monte_carlo_tolerance(float(biased.std()), biased.numel())


# --- ranks and the flatness test -------------------------------------------------------------
def test_chi2_sf_closed_forms():
    x = torch.tensor([0.0, 0.5, 2.0, 7.0], dtype=torch.float64)
    torch.testing.assert_close(calibration.chi2_sf(x, 2), torch.exp(-x / 2))
    # df = 1: P(Z^2 > x) = erfc(sqrt(x / 2))
    torch.testing.assert_close(calibration.chi2_sf(x, 1), torch.erfc(torch.sqrt(x / 2)))


def test_pit_ensemble_uniform_and_ties():
    g = make_generator(11)
    ensemble, y = calibration.synthetic_ensemble(50_000, 5, 1, g)
    u = calibration.pit_ensemble(ensemble, y, g)
    assert float(u.min()) > 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) <= monte_carlo_tolerance(1 / math.sqrt(12), u.numel())
    tied = torch.zeros(20_000, 3, 1, dtype=torch.float64)
    u = calibration.pit_ensemble(tied, torch.zeros(20_000, 1, dtype=torch.float64), g)
    assert abs(float(u.mean()) - 0.5) <= monte_carlo_tolerance(1 / math.sqrt(12), u.numel())


def test_flatness_test_size_and_power():
    g = make_generator(12)
    R, n, M = 2000, 200, 9
    ranks = torch.randint(0, M + 1, (R, n), generator=g)
    chi2, pval = calibration.rank_flatness_test(ranks, M)
    assert chi2.shape == (R,)
    rate = float((pval < 0.05).double().mean())
    assert abs(rate - 0.05) <= monte_carlo_tolerance(math.sqrt(0.05 * 0.95), R)
    _, pval5 = calibration.rank_flatness_test(ranks, M, n_bins=5)
    assert abs(float((pval5 < 0.05).double().mean()) - 0.05) <= monte_carlo_tolerance(
        math.sqrt(0.05 * 0.95), R
    )
    ens, y = calibration.synthetic_ensemble(200 * 200, M, 1, g, dispersion=0.7)
    r = calibration.rank_of_observation(ens, y, g).reshape(200, 200)
    _, p_under = calibration.rank_flatness_test(r, M)
    assert float((p_under < 0.05).double().mean()) > 0.8


def test_flatness_counts_brute_force():
    ranks = torch.tensor([[0, 0, 1, 3, 3, 3]])
    chi2, _ = calibration.rank_flatness_test(ranks, 3)
    e = 6 / 4
    assert float(chi2) == pytest.approx(((2 - e) ** 2 + (1 - e) ** 2 + e**2 + (3 - e) ** 2) / e)


# --- bad input -------------------------------------------------------------------------------
def test_bad_input_names_the_value():
    ensemble, y = _ensemble(2, 3, 8, seed=0)
    for alpha in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            shape_scores.quantile_score(ensemble, y, alpha)
    with pytest.raises(ValueError, match="p must"):
        shape_scores.variogram_score(ensemble, y, p=0.0)
    with pytest.raises(ValueError, match="d_max"):
        shape_scores.variogram_score(ensemble, y, d_max=0)
    with pytest.raises(ValueError, match="d_max"):
        shape_scores.variogram_score(ensemble, y, d_max=4)
    with pytest.raises(ValueError, match="M >= 2"):
        shape_scores.variogram_score(ensemble[:, :1], y)
    with pytest.raises(ValueError, match="M >= 2"):
        shape_scores.threshold_brier_score(ensemble[:, :1], y, 0.0)
    bad = y.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="y must be finite"):
        shape_scores.quantile_score(ensemble, bad, 0.5)
    with pytest.raises(ValueError, match="shape"):
        shape_scores.variogram_score(ensemble, y[:, :5])
    with pytest.raises(ValueError, match="sigma"):
        shape_scores.log_score_gaussian(torch.zeros(2), -torch.ones(2), torch.zeros(2))
    with pytest.raises(ValueError, match="n_bins"):
        calibration.rank_flatness_test(torch.zeros(1, 5, dtype=torch.int64), 3, n_bins=3)
    with pytest.raises(ValueError, match="ranks"):
        calibration.rank_flatness_test(torch.full((1, 5), 4, dtype=torch.int64), 3)
