"""Energy distance, sliced Wasserstein distance and the data-against-data baseline (chapter 4)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import sample_quality
from lecture_code.seeding import make_generator


def _normal(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return shift + torch.randn(n, d, dtype=torch.float64, generator=make_generator(seed))


def test_energy_distance_of_a_sample_to_itself_is_zero_and_otherwise_positive():
    x, y = _normal(300, 2, 0), _normal(200, 2, 1)
    assert sample_quality.energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    assert sample_quality.energy_distance(x, y) > 0
    assert sample_quality.energy_distance(x, y) == pytest.approx(
        sample_quality.energy_distance(y, x), abs=1e-12
    )


def test_biased_and_unbiased_estimates_differ_by_the_diagonal_correction():
    # V_xx = (N - 1)/N U_xx, so V - U = U_xx / N + U_yy / M exactly.
    x, y = _normal(50, 3, 2), _normal(70, 3, 3, shift=0.5)
    v = sample_quality.energy_distance(x, y)
    u = sample_quality.energy_distance(x, y, unbiased=True)
    u_xx = torch.cdist(x, x).sum() / (50 * 49)
    u_yy = torch.cdist(y, y).sum() / (70 * 69)
    assert v - u == pytest.approx(float(u_xx / 50 + u_yy / 70), abs=1e-12)


def test_unbiased_energy_distance_matches_the_closed_form_for_shifted_gaussians():
    # P = N(0, 1), Q = N(mu, 1) in one dimension: X - Y ~ N(-mu, 2), X - X' ~ N(0, 2), and
    # E|N(a, s^2)| = s sqrt(2/pi) exp(-a^2 / 2s^2) + a (1 - 2 Phi(-a/s)).
    mu, s = 0.8, math.sqrt(2)
    phi = 0.5 * (1 + math.erf(-mu / s / math.sqrt(2)))
    e_xy = s * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * s**2)) + mu * (1 - 2 * phi)
    e_xx = s * math.sqrt(2 / math.pi)
    exact = 2 * e_xy - 2 * e_xx
    estimates = torch.tensor(
        [
            sample_quality.energy_distance(
                _normal(400, 1, 10 + r), _normal(400, 1, 50 + r, shift=mu), unbiased=True
            )
            for r in range(40)
        ]
    )
    assert abs(estimates.mean() - exact) < 5 * estimates.std() / math.sqrt(40)


def test_sliced_wasserstein_of_a_translation():
    # y = x + c: every projection is shifted by theta . c, so SW_2^2 = E (theta . c)^2 = |c|^2/D.
    x = _normal(500, 3, 4)
    c = torch.tensor([0.3, -0.4, 1.2], dtype=torch.float64)
    sw = sample_quality.sliced_wasserstein(x, x + c, make_generator(5), n_projections=4000)
    exact = c.norm().item() / math.sqrt(3)
    # (theta . c)^2 has standard deviation below |c|^2 / D * sqrt(2): 5 standard errors.
    assert sw**2 == pytest.approx(exact**2, abs=5 * math.sqrt(2) * exact**2 / math.sqrt(4000))


def test_sliced_wasserstein_in_one_dimension_is_the_sorted_distance():
    x, y = _normal(100, 1, 6), _normal(100, 1, 7, shift=1.0)
    exact = ((x.sort(0).values - y.sort(0).values) ** 2).mean().sqrt()
    sw = sample_quality.sliced_wasserstein(x, y, make_generator(8), n_projections=3)
    assert sw == pytest.approx(exact.item(), abs=1e-12)


def test_baseline_is_positive_and_reproducible():
    def draw(n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, 2, dtype=torch.float64, generator=generator)

    metric = sample_quality.energy_distance
    a = sample_quality.data_baseline(draw, 200, metric, make_generator(9), repeats=4)
    b = sample_quality.data_baseline(draw, 200, metric, make_generator(9), repeats=4)
    assert a.shape == (4,) and bool((a > 0).all()) and torch.equal(a, b)


def test_bad_inputs_are_named():
    x = _normal(10, 2, 0)
    with pytest.raises(ValueError, match=r"y must have shape \(M, D\) with D = 2"):
        sample_quality.energy_distance(x, _normal(10, 3, 1))
    with pytest.raises(ValueError, match=r"y must have shape \(N, D\) with N = 10"):
        sample_quality.sliced_wasserstein(x, _normal(11, 2, 1), make_generator(0))
    with pytest.raises(ValueError, match="x must be finite"):
        sample_quality.energy_distance(torch.full((3, 2), math.nan), x)
    with pytest.raises(ValueError, match="at least 2 draws"):
        sample_quality.energy_distance(x[:1], x, unbiased=True)


def test_mean_exceedance_probability_by_enumeration():
    """Exact bootstrap: for values (0, 1) and k = 2 the means are 0, 0.5, 0.5, 1."""
    from lecture_code.ddpm.sample_quality import mean_exceedance_probability

    values = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert mean_exceedance_probability(values, 2, 0.25) == 0.75
    assert mean_exceedance_probability(values, 2, 0.75) == 0.25
    assert mean_exceedance_probability(values, 1, 2.0) == 0.0
    with pytest.raises(ValueError, match="N\\*\\*k"):
        mean_exceedance_probability(torch.ones(1000), 3, 0.5)
