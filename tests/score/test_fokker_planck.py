"""The Fokker-Planck grid: mass conservation, the Boltzmann law, and particles that agree."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score.fokker_planck import (
    bin_probabilities,
    cell_centres,
    double_well_drift,
    double_well_potential,
    fokker_planck_generator,
    histogram_probabilities,
    solve_fokker_planck,
    stationary_density,
)


def test_the_generator_conserves_mass_column_by_column():
    L = fokker_planck_generator(double_well_drift, math.sqrt(2), -2.5, 2.5, 200)
    torch.testing.assert_close(L.sum(dim=0), torch.zeros(200, dtype=torch.float64))


def test_ou_density_stays_gaussian_with_the_closed_form_variance():
    # dX = -X dt + sqrt(2) dW from N(0, 0.25): variance 1 - 0.75 e^{-2t}.
    x = cell_centres(-6.0, 6.0, 600)
    p0 = torch.exp(-(x**2) / 0.5) / math.sqrt(0.5 * math.pi)
    p = solve_fokker_planck(lambda y: -y, math.sqrt(2), -6.0, 6.0, 600, p0, 0.4)
    dx = 12.0 / 600
    var = float((x**2 * p).sum() * dx)
    assert var == pytest.approx(1 - 0.75 * math.exp(-0.8), abs=1e-3)


def test_stationary_density_is_boltzmann_and_not_twice_the_potential():
    x = cell_centres(-2.5, 2.5, 400)
    p = stationary_density(double_well_drift, math.sqrt(2), -2.5, 2.5, 400)
    ref = torch.exp(-double_well_potential(x))
    ref = ref / (ref.sum() * 5.0 / 400)
    assert (p - ref).abs().max() < 1e-4
    wrong = torch.exp(-2 * double_well_potential(x))
    wrong = wrong / (wrong.sum() * 5.0 / 400)
    assert (wrong - ref).abs().max() > 0.1


def test_a_too_coarse_grid_is_refused_by_its_peclet_number():
    with pytest.raises(ValueError, match="too coarse"):
        fokker_planck_generator(lambda y: 100 * y, 0.1, -1.0, 1.0, 10)


def test_histogram_probabilities_and_bins_add_up():
    x = torch.tensor([0.1, 0.2, 0.6, 0.9], dtype=torch.float64)
    frac, se = histogram_probabilities(x, 0.0, 1.0, 2)
    torch.testing.assert_close(frac, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert (se > 0).all()
    p = torch.ones(10, dtype=torch.float64)
    torch.testing.assert_close(bin_probabilities(p, 0.1, 5), torch.tensor([0.5, 0.5]).double())
