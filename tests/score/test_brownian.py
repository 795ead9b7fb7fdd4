"""Brownian increments, Euler-Maruyama and its measured orders on geometric Brownian motion."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score.brownian import (
    brownian_increments,
    coarsen,
    euler_maruyama,
    fit_slope,
    gbm_exact,
    gbm_orders,
)


def test_increments_have_variance_h_and_coarsening_keeps_the_path():
    gen = torch.Generator().manual_seed(0)
    dw = brownian_increments(4000, 64, 2.0, gen)
    assert dw.shape == (64, 4000)
    assert dw.var().item() == pytest.approx(2.0 / 64, rel=0.05)
    coarse = coarsen(dw, 8)
    assert coarse.shape == (8, 4000)
    # The same Brownian path: the end point W_T is unchanged.
    torch.testing.assert_close(coarse.sum(dim=0), dw.sum(dim=0))
    with pytest.raises(ValueError, match="not divisible by factor 5"):
        coarsen(dw, 5)


def test_euler_maruyama_is_exact_for_pure_noise_and_keeps_the_path():
    gen = torch.Generator().manual_seed(1)
    dw = brownian_increments(10, 16, 1.0, gen)
    x0 = torch.zeros(10, dtype=torch.float64)
    path = euler_maruyama(lambda x, t: 0 * x, lambda x, t: 2.0, x0, dw, 1.0, keep_path=True)
    assert path.shape == (17, 10)
    torch.testing.assert_close(path[-1], 2.0 * dw.sum(dim=0))


def test_fit_slope_recovers_a_power_law_and_rejects_nonpositive_input():
    h = torch.tensor([0.1, 0.05, 0.025])
    assert fit_slope(h, 3 * h**1.5) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="positive"):
        fit_slope(h, torch.tensor([1.0, 0.0, 1.0]))


def test_gbm_closed_form_has_the_mean_x0_exp_mu_t():
    w = torch.tensor([0.0])
    assert gbm_exact(2.0, 0.3, 0.4, 1.0, w).item() == pytest.approx(2 * math.exp(0.3 - 0.08))


def test_strong_order_one_half_and_weak_order_one():
    strong = gbm_orders(0.5, 1.0, 4000, (32, 64, 128, 256), torch.Generator().manual_seed(2))
    slope = fit_slope(strong.h, strong.strong)
    assert abs(slope - 0.5) < 5 * strong.strong_slope_se + 0.02
    assert abs(slope - 1.0) > 0.3
    weak = gbm_orders(2.0, 0.5, 8000, (16, 32, 64, 128), torch.Generator().manual_seed(3))
    assert ((weak.weak - weak.weak_exact).abs() <= 5 * weak.weak_se).all()
    assert fit_slope(weak.h, weak.weak_exact) == pytest.approx(1.0, abs=0.06)


def test_levels_that_do_not_divide_the_finest_are_refused():
    with pytest.raises(ValueError, match="divide the last"):
        gbm_orders(0.5, 1.0, 40, (3, 8), torch.Generator().manual_seed(0))
