"""Tests of the cheap helpers of lecture_code.ddpm.experiments (the cached studies are run by
the chapter)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import experiments, toy_data
from lecture_code.ddpm.schedules import linear_schedule


def test_strided_schedule_visits_every_kth_level():
    fine = linear_schedule(1000)
    coarse = experiments.strided_schedule(fine, 10)
    assert coarse.T == 10
    torch.testing.assert_close(coarse.alpha_bar, fine.alpha_bar[::100], rtol=1e-12, atol=0)
    # Same end point: sum of -log(1 - beta) equals -log alpha_bar_T.
    total = float(-torch.log1p(-coarse.beta[1:]).sum())
    assert total == pytest.approx(-math.log(float(fine.alpha_bar[-1])), rel=1e-10)
    with pytest.raises(ValueError, match="divide"):
        experiments.strided_schedule(fine, 7)


def test_off_curve_fraction_of_the_data_is_small():
    g = torch.Generator().manual_seed(0)
    x = toy_data.swiss_roll(2000, g)
    p, _ = experiments.off_curve_fraction(x, 0.2)  # four noise standard deviations
    assert p < 0.005
    far = x + 1.0  # shifted off the spiral
    assert experiments.off_curve_fraction(far, 0.2)[0] > 0.5


def test_low_density_fraction_matches_its_quantile():
    mixture = toy_data.toy_mixture()
    g = torch.Generator().manual_seed(1)
    reference = mixture.sample(50_000, g)
    level = float(mixture.log_prob(reference).quantile(0.05))
    p, se = experiments.low_density_fraction(mixture.sample(20_000, g), level)
    assert abs(p - 0.05) < 5 * se + 0.005
