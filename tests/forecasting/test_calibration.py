"""Tests of lecture_code.forecasting.calibration: spread and skill, rank histograms, the PIT.

Calibrated, under- and over-dispersed and biased ensembles come from
:func:`~lecture_code.forecasting.calibration.synthetic_ensemble`, whose spread-skill ratio has a
closed form; hand-computed cases and Monte Carlo tolerances from the number of draws do the rest.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting import calibration
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def _ensemble(B: int, M: int, K: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Members and observation drawn from one distribution (exchangeable), float64."""
    g = make_generator(seed)
    x = torch.randn(B, M + 1, K, generator=g, dtype=torch.float64)
    return x[:, :M, :], x[:, M, :]


def test_pit_of_calibrated_gaussian_is_uniform():
    g = make_generator(9)
    n = 100_000
    mu = torch.randn(n, generator=g, dtype=torch.float64)
    y = mu + 2.0 * torch.randn(n, generator=g, dtype=torch.float64)
    pit = calibration.pit_gaussian(mu, torch.full((n,), 2.0), y)
    # Uniform on [0, 1]: mean 1/2 and standard deviation 1/sqrt(12).
    assert abs(float(pit.mean()) - 0.5) <= monte_carlo_tolerance(1 / math.sqrt(12), n)


# --- spread–skill --------------------------------------------------------------------------------
@pytest.mark.parametrize("M", [2, 5, 20])
def test_spread_skill_ratio_of_exchangeable_ensemble_is_near_one(M):
    ensemble, y = _ensemble(4000, M, 10, seed=40 + M)
    ssr = calibration.spread_skill_ratio(ensemble, y)
    # 40,000 cases: the ratio of two means has a relative standard error of order 1 / sqrt(n).
    assert abs(ssr - 1.0) <= 0.05
    # Without the sqrt((M + 1) / M) factor a small ensemble would look under-dispersed.
    raw = calibration.ensemble_spread(ensemble) / calibration.ensemble_mean_rmse(ensemble, y)
    assert math.isclose(ssr, raw * math.sqrt((M + 1) / M))


def test_spread_skill_ratio_detects_under_and_over_dispersion():
    ensemble, y = _ensemble(2000, 10, 10, seed=50)
    mean = ensemble.mean(dim=1, keepdim=True)
    assert calibration.spread_skill_ratio(mean + 0.5 * (ensemble - mean), y) < 0.8
    assert calibration.spread_skill_ratio(mean + 2.0 * (ensemble - mean), y) > 1.2


def test_ensemble_mean_rmse_against_a_hand_computed_case():
    ensemble = torch.tensor([[[1.0, 0.0], [3.0, 2.0]]], dtype=torch.float64)  # mean (2, 1)
    y = torch.tensor([[2.0, 4.0]], dtype=torch.float64)  # errors 0 and 3
    assert math.isclose(calibration.ensemble_mean_rmse(ensemble, y), math.sqrt(4.5))


# --- rank histograms -----------------------------------------------------------------------------
def test_rank_histogram_sums_to_bk_and_is_flat_for_exchangeable_draws():
    B, M, K = 2000, 9, 5
    ensemble, y = _ensemble(B, M, K, seed=60)
    counts = calibration.rank_histogram(ensemble, y, make_generator(0))
    assert counts.shape == (M + 1,) and int(counts.sum()) == B * K
    expected = B * K / (M + 1)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # Chi-square with M = 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
    assert chi2 < 27.9


def test_rank_histogram_is_u_shaped_when_under_dispersed():
    ensemble, y = _ensemble(2000, 9, 5, seed=61)
    counts = calibration.rank_histogram(0.5 * ensemble, y, make_generator(0))
    middle = counts[1:-1].float().mean()
    assert counts[0] > 2 * middle and counts[-1] > 2 * middle


def test_ties_are_broken_at_random_and_reproducibly():
    # Every member equals y: the rank is uniform on {0, ..., M}.
    ensemble = torch.zeros(5000, 3, 1, dtype=torch.float64)
    y = torch.zeros(5000, 1, dtype=torch.float64)
    counts = calibration.rank_histogram(ensemble, y, make_generator(1))
    assert counts.min() > 1100  # expected 1250 each, sd about 31
    assert torch.equal(counts, calibration.rank_histogram(ensemble, y, make_generator(1)))


def test_spread_skill_of_one_member_names_m():
    ensemble, y = _ensemble(3, 1, 2, seed=0)
    with pytest.raises(ValueError, match=r"M >= 2 .* got M = 1"):
        calibration.spread_skill_ratio(ensemble, y)


# --- synthetic ensembles and the spread-error diagram -------------------------------------------
def test_synthetic_ensemble_is_seeded_and_has_the_closed_form_spread_skill_ratio():
    a = calibration.synthetic_ensemble(5, 4, 3, make_generator(1), dispersion=0.5, bias=0.2)
    b = calibration.synthetic_ensemble(5, 4, 3, make_generator(1), dispersion=0.5, bias=0.2)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert a[0].shape == (5, 4, 3) and a[1].shape == (5, 3)
    # Members mu + a sigma eps_m, truth mu + sigma eps: E s^2 = a^2 E sigma^2 and
    # E (mean - y)^2 = (a^2 / M + 1) E sigma^2, so SSR = sqrt((M + 1) / M) a / sqrt(a^2 / M + 1).
    M, a_ = 10, 0.5
    ensemble, y = calibration.synthetic_ensemble(20_000, M, 2, make_generator(2), dispersion=a_)
    expected = math.sqrt((M + 1) / M) * a_ / math.sqrt(a_**2 / M + 1)
    assert abs(calibration.spread_skill_ratio(ensemble, y) - expected) <= 0.03


def test_spread_error_bins_are_sorted_and_agree_with_the_global_ratio():
    ensemble, y = calibration.synthetic_ensemble(4000, 50, 2, make_generator(3))
    spread, rmse = calibration.spread_error_bins(ensemble, y, n_bins=8)
    assert spread.shape == rmse.shape == (8,)
    assert (spread[1:] >= spread[:-1]).all()
    # Equal-count bins: the mean of the squared bin values is the global mean.
    M = 50
    corrected_var = (M + 1) / M * calibration.ensemble_spread(ensemble) ** 2
    assert math.isclose(float((spread**2).mean()), corrected_var, rel_tol=1e-12)
    assert math.isclose(
        float((rmse**2).mean()), calibration.ensemble_mean_rmse(ensemble, y) ** 2, rel_tol=1e-12
    )
    # Calibrated with M = 50: each bin's error matches its spread to within about 15 %.
    assert ((rmse / spread - 1).abs() < 0.15).all()
