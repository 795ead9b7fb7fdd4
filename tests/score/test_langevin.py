"""Langevin dynamics: for Gaussian data the unadjusted chain is a linear recursion whose
stationary variance is known exactly, v / (1 - eta / (4 v)), which tends to v as eta -> 0; plain
Langevin keeps the mode weights of its start on separated modes, annealing repairs them.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score import langevin
from lecture_code.seeding import make_generator

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("eta", [0.2, 0.05])
def test_stationary_variance_of_ula_on_a_gaussian(eta):
    # x' = (1 - eta/(2v)) x + sqrt(eta) z has stationary variance eta / (1 - (1 - eta/(2v))^2)
    # = v / (1 - eta/(4v)).
    v, n = 1.0, 40_000
    x0 = math.sqrt(v) * torch.randn(n, 1, generator=make_generator(0), dtype=torch.float64)
    x, _ = langevin.langevin(lambda y: -y / v, x0, eta, 200, make_generator(1))
    expected = v / (1 - eta / (4 * v))
    # The sample variance has standard error var * sqrt(2 / n); allow five.
    assert abs(float(x.var()) - expected) <= 5 * expected * math.sqrt(2 / n)


def test_paths_record_the_first_particles_and_steps():
    x0 = torch.zeros(10, 2, dtype=torch.float64)
    x, path = langevin.langevin(lambda y: -y, x0, 0.1, 5, make_generator(2), keep=3)
    assert path.shape == (6, 3, 2)
    torch.testing.assert_close(path[-1], x[:3])
    torch.testing.assert_close(path[0], x0[:3])


def test_plain_langevin_keeps_the_initial_weights_and_annealing_repairs_them():
    study = langevin.ModeWeightStudy(n=1000, n_steps=300, steps_per_level=100)
    result = langevin.mode_weight_study(study, make_generator(3))
    se = math.sqrt(study.weight * (1 - study.weight) / study.n)
    plain, _ = langevin.mode_fraction(result["plain"])
    initial, _ = langevin.mode_fraction(result["initial"])
    annealed, _ = langevin.mode_fraction(result["annealed"])
    assert abs(plain - initial) <= 0.05  # few particles cross the barrier
    assert abs(plain - study.weight) > 10 * se
    assert abs(annealed - study.weight) <= 5 * se


def test_noise_levels_are_geometric_and_must_decrease():
    levels = langevin.ModeWeightStudy(sigma_max=8.0, sigma_min=0.5, n_levels=5).noise_levels()
    assert levels[0] == pytest.approx(8.0) and levels[-1] == pytest.approx(0.5)
    ratios = [levels[i + 1] / levels[i] for i in range(4)]
    assert ratios == pytest.approx([ratios[0]] * 4)
    x = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="decrease"):
        langevin.annealed_langevin(lambda y, s: -y, x, [1.0, 2.0], 1, 0.1, make_generator(4))
    with pytest.raises(ValueError, match="step"):
        langevin.langevin(lambda y: -y, x, 0.0, 1, make_generator(4))
