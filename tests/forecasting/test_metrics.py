"""Tests of lecture_code.forecasting.metrics: every estimator against an independent reference.

References used: the O(M^2) double sum, the threshold integral (exact for an ensemble, on a fine
grid for a Gaussian), the closed forms, the `scoringrules` package (an implementation written by
other people), and Monte Carlo with tolerances from the number of draws.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scoringrules
import torch

from lecture_code.forecasting import calibration, metrics
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def _ensemble(B: int, M: int, K: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Members and observation drawn from one distribution (exchangeable), float64."""
    g = make_generator(seed)
    x = torch.randn(B, M + 1, K, generator=g, dtype=torch.float64)
    return x[:, :M, :], x[:, M, :]


# --- three forms of the ensemble CRPS agree ---------------------------------------------------
@pytest.mark.parametrize("M", [1, 2, 3, 10, 51])
def test_sorted_form_equals_pairwise_double_sum_standard(M):
    ensemble, y = _ensemble(7, M, 4, seed=M)
    fast = metrics.crps_ensemble(ensemble, y, fair=False)
    slow = metrics.crps_ensemble_pairwise(ensemble, y, fair=False)
    assert fast.shape == (7, 4) and fast.dtype == torch.float64
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("M", [2, 3, 10, 51])
def test_sorted_form_equals_pairwise_double_sum_fair(M):
    ensemble, y = _ensemble(7, M, 4, seed=M)
    torch.testing.assert_close(
        metrics.crps_ensemble(ensemble, y, fair=True),
        metrics.crps_ensemble_pairwise(ensemble, y, fair=True),
        rtol=1e-12,
        atol=1e-12,
    )


def test_sorted_weights_reproduce_the_pairwise_sum():
    # sum_{m,m'} |x_m - x_m'| = 2 sum_i (2i - M - 1) x_(i), eq. (crps-sorted)
    x = torch.tensor([3.0, -1.0, 0.5, 2.0, 2.0], dtype=torch.float64)
    brute = (x[:, None] - x[None, :]).abs().sum()
    assert torch.isclose(2 * (metrics.sorted_weights(5) * x.sort().values).sum(), brute)
    assert metrics.sorted_weights(3).tolist() == [-2.0, 0.0, 2.0]


@pytest.mark.parametrize("M", [1, 4, 20])
def test_energy_form_equals_exact_threshold_integral(M):
    # Integral of Brier scores of the empirical CDF, computed rectangle by rectangle.
    ensemble, y = _ensemble(6, M, 3, seed=10 + M)
    torch.testing.assert_close(
        metrics.crps_ensemble_threshold(ensemble, y),
        metrics.crps_ensemble(ensemble, y, fair=False),
        rtol=1e-12,
        atol=1e-12,
    )


def test_energy_form_equals_threshold_integral_on_fine_grid():
    ensemble, y = _ensemble(3, 8, 1, seed=3)
    z = torch.linspace(-8.0, 8.0, 160_001, dtype=torch.float64)
    cdf = (ensemble[:, :, 0, None] <= z).to(torch.float64).mean(dim=1)  # (B, Z)
    numeric = metrics.crps_threshold(cdf, z, y[:, 0])
    exact = metrics.crps_ensemble(ensemble, y, fair=False)[:, 0]
    # Each of the M + 1 jumps costs at most one grid step of trapezoid error.
    assert (numeric - exact).abs().max() <= 9 * float(z[1] - z[0])


def test_ties_do_not_matter():
    ensemble = torch.tensor([[[1.0], [1.0], [2.0], [2.0]]], dtype=torch.float64)
    y = torch.tensor([[1.0]], dtype=torch.float64)
    torch.testing.assert_close(
        metrics.crps_ensemble_threshold(ensemble, y), metrics.crps_ensemble(ensemble, y, False)
    )


@pytest.mark.parametrize("M", [2, 5, 50])
def test_fair_crps_matches_scoringrules(M):
    ensemble, y = _ensemble(20, M, 3, seed=100 + M)
    ours = metrics.crps_ensemble(ensemble, y, fair=True)
    # scoringrules wants the members on the last axis.
    theirs = scoringrules.crps_ensemble(
        y.numpy(), ensemble.permute(0, 2, 1).numpy(), estimator="fair", backend="numpy"
    )
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10, atol=1e-12)


def test_standard_crps_matches_scoringrules_energy_estimator():
    ensemble, y = _ensemble(20, 9, 3, seed=5)
    theirs = scoringrules.crps_ensemble(
        y.numpy(), ensemble.permute(0, 2, 1).numpy(), estimator="nrg", backend="numpy"
    )
    np.testing.assert_allclose(metrics.crps_ensemble(ensemble, y, fair=False).numpy(), theirs)


def test_one_member_standard_crps_is_absolute_error():
    ensemble, y = _ensemble(10, 1, 5, seed=2)
    torch.testing.assert_close(
        metrics.crps_ensemble(ensemble, y, fair=False), (ensemble[:, 0] - y).abs()
    )


def test_crps_is_non_negative_and_zero_for_a_perfect_point_forecast():
    y = torch.randn(4, 3, generator=make_generator(0), dtype=torch.float64)
    point = y[:, None, :].expand(4, 6, 3).clone()
    assert metrics.crps_ensemble(point, y, fair=False).abs().max() < 1e-14
    ensemble, y = _ensemble(50, 7, 3, seed=8)
    assert (metrics.crps_ensemble(ensemble, y, fair=False) >= 0).all()


def test_float32_inputs_are_computed_in_float64():
    ensemble, y = _ensemble(5, 6, 2, seed=1)
    out = metrics.crps_ensemble(ensemble.float(), y.float())
    assert out.dtype == torch.float64


# --- the Gaussian closed form ------------------------------------------------------------------
def test_gaussian_closed_form_equals_threshold_integral():
    mu = torch.tensor([0.0, 1.0, -2.0, 0.3], dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.5, 2.0, 0.1], dtype=torch.float64)
    y = torch.tensor([0.0, 2.5, 1.0, 0.35], dtype=torch.float64)
    z = torch.linspace(-20.0, 20.0, 400_001, dtype=torch.float64)
    cdf = 0.5 * torch.erfc(-(z[None, :] - mu[:, None]) / (sigma[:, None] * math.sqrt(2)))
    numeric = metrics.crps_threshold(cdf, z, y)
    closed = metrics.crps_gaussian(mu, sigma, y)
    assert (numeric - closed).abs().max() <= float(z[1] - z[0])
    np.testing.assert_allclose(
        closed.numpy(), scoringrules.crps_normal(y.numpy(), mu.numpy(), sigma.numpy()), rtol=1e-12
    )


def test_gaussian_closed_form_equals_large_fair_ensemble():
    g = make_generator(4)
    M = 4000
    members = 1.5 + 0.7 * torch.randn(1, M, 1, generator=g, dtype=torch.float64)
    y = torch.tensor([[2.0]], dtype=torch.float64)
    estimate = metrics.crps_ensemble(members, y, fair=True)[0, 0]
    exact = metrics.crps_gaussian(torch.tensor(1.5), torch.tensor(0.7), torch.tensor(2.0))
    # A U-statistic of M draws: its standard error is below sd(|X - y|) / sqrt(M) < 1 / sqrt(M).
    assert abs(float(estimate - exact)) <= monte_carlo_tolerance(1.0, M)


def test_expected_gaussian_crps_matches_monte_carlo_and_is_minimal_at_the_truth():
    g = make_generator(6)
    n = 200_000
    y = 0.4 + 1.3 * torch.randn(n, generator=g, dtype=torch.float64)
    for mu, sigma in [(0.4, 1.3), (1.0, 0.5), (-0.5, 2.0)]:
        scores = metrics.crps_gaussian(torch.full((n,), mu), torch.full((n,), sigma), y)
        exact = metrics.expected_crps_gaussian(torch.tensor(mu), torch.tensor(sigma), 0.4, 1.3)
        assert abs(float(scores.mean() - exact)) <= monte_carlo_tolerance(float(scores.std()), n)
    grid = torch.linspace(0.5, 2.5, 201, dtype=torch.float64)
    e_sigma = metrics.expected_crps_gaussian(torch.full_like(grid, 0.4), grid, 0.4, 1.3)
    assert abs(float(grid[e_sigma.argmin()]) - 1.3) <= 0.01
    e_mu = metrics.expected_crps_gaussian(grid - 1.1, torch.full_like(grid, 1.3), 0.4, 1.3)
    assert abs(float(grid[e_mu.argmin()] - 1.1) - 0.4) <= 0.01


# --- energy score -------------------------------------------------------------------------------
@pytest.mark.parametrize("fair", [True, False])
def test_energy_score_reduces_to_crps_for_one_variable(fair):
    ensemble, y = _ensemble(8, 6, 1, seed=21)
    torch.testing.assert_close(
        metrics.energy_score(ensemble, y, fair=fair),
        metrics.crps_ensemble(ensemble, y, fair=fair)[:, 0],
        rtol=1e-12,
        atol=1e-12,
    )


def test_energy_score_matches_scoringrules_and_brute_force():
    ensemble, y = _ensemble(5, 7, 4, seed=22)
    ours = metrics.energy_score(ensemble, y, fair=False)
    theirs = scoringrules.es_ensemble(y.numpy(), ensemble.numpy(), backend="numpy")
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10)
    b = 0
    brute = sum(float((ensemble[b, m] - y[b]).norm()) for m in range(7)) / 7 - sum(
        float((ensemble[b, m] - ensemble[b, n]).norm()) for m in range(7) for n in range(7)
    ) / (2 * 7 * 6)
    assert math.isclose(float(metrics.energy_score(ensemble, y)[b]), brute, rel_tol=1e-12)


# --- fair vs standard: bias ----------------------------------------------------------------------
@pytest.mark.parametrize("M", [2, 5])
def test_fair_estimator_is_unbiased_and_standard_is_biased_by_e_abs_over_2m(M):
    # Members ~ N(0, 1) and a fixed y: the target is the closed form crps_gaussian(0, 1, y).
    n = 100_000
    g = make_generator(30 + M)
    members = torch.randn(n, M, 1, generator=g, dtype=torch.float64)
    y = torch.full((n, 1), 0.7, dtype=torch.float64)
    exact = float(metrics.crps_gaussian(torch.tensor(0.0), torch.tensor(1.0), torch.tensor(0.7)))
    fair = metrics.crps_ensemble(members, y, fair=True)
    standard = metrics.crps_ensemble(members, y, fair=False)
    assert abs(float(fair.mean()) - exact) <= monte_carlo_tolerance(float(fair.std()), n)
    # E|X - X'| = 2 / sqrt(pi) for a standard normal, so the bias is 1 / (M sqrt(pi)).
    bias = 1.0 / (M * math.sqrt(math.pi))
    tol = monte_carlo_tolerance(float(standard.std()), n)
    assert abs(float(standard.mean()) - exact - bias) <= tol
    assert bias > 3 * tol  # the bias is resolved, so the test can tell the two apart


# --- bad inputs raise, naming the value ----------------------------------------------------------
@pytest.mark.parametrize(
    "score", [metrics.crps_ensemble, metrics.crps_ensemble_pairwise, metrics.energy_score]
)
def test_fair_score_of_one_member_names_m(score):
    ensemble, y = _ensemble(3, 1, 2, seed=0)
    with pytest.raises(ValueError, match=r"M >= 2 .* got M = 1"):
        score(ensemble, y, fair=True)


@pytest.mark.parametrize(
    ("y_shape", "message"),
    [((4, 5), r"ensemble of shape \(3, 6, 5\) and y of shape \(4, 5\)"),
     ((3, 2), r"ensemble of shape \(3, 6, 5\) and y of shape \(3, 2\)"),
     ((3, 6, 5), r"y must have shape \(B, K\)")],
)  # fmt: skip
def test_shape_mismatch_names_both_shapes(y_shape, message):
    ensemble = torch.zeros(3, 6, 5)
    with pytest.raises(ValueError, match=message):
        metrics.crps_ensemble(ensemble, torch.zeros(y_shape))


def test_nan_raises():
    ensemble, y = _ensemble(3, 4, 2, seed=0)
    ensemble[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="ensemble must be finite, got 1 NaN"):
        metrics.crps_ensemble(ensemble, y)
    y[0, 0] = float("nan")
    with pytest.raises(ValueError, match="y must be finite"):
        calibration.spread_skill_ratio(ensemble.nan_to_num(), y)


def test_bad_sigma_raises_in_every_gaussian_function():
    # One check serves the closed form, its expectation and the PIT.
    mu, sigma, y = torch.zeros(2), torch.tensor([1.0, 0.0]), torch.zeros(2)
    with pytest.raises(ValueError, match=r"sigma must be > 0 everywhere, got smallest value 0\.0"):
        metrics.crps_gaussian(mu, sigma, y)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        metrics.expected_crps_gaussian(mu, sigma, 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        calibration.pit_gaussian(mu, sigma, y)
    with pytest.raises(ValueError, match=r"y must have shape \(d0\) with d0 = 2, got shape \(3,"):
        metrics.crps_gaussian(mu, torch.ones(2), torch.zeros(3))
    with pytest.raises(TypeError, match=r"mu must be a torch\.Tensor"):
        metrics.crps_gaussian([0.0, 1.0], torch.ones(2), y)


def test_threshold_grid_must_increase():
    cdf = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="z must be an increasing grid"):
        metrics.crps_threshold(cdf, torch.tensor([0.0, 2.0, 1.0]), torch.zeros(2))
    with pytest.raises(ValueError, match=r"z must have shape \(Z\) with Z = 3, got shape \(2,\)"):
        metrics.crps_threshold(cdf, torch.tensor([0.0, 1.0]), torch.zeros(2))
