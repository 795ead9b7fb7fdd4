"""Score matching: the three objectives differ by constants that do not depend on the model,
the divergence is exact, and Tweedie's formula is the posterior mean.

For Gaussian data every quantity has a closed form: with p = N(0, v I) in D dimensions and the
linear model s(x) = -c x, J_ESM = D v (c - 1/v)^2 / 2, J_ISM = D (-c + c^2 v / 2), and their
difference D / (2 v) is half the Fisher information, whatever c.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.conversions import x_0_from_score
from lecture_code.ddpm.mixture import gaussian
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score import score_matching as sm
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance

pytestmark = pytest.mark.usefixtures("one_thread")


def test_divergence_of_a_linear_field_is_the_trace_of_its_matrix():
    A = torch.tensor([[1.0, 2.0, 0.0], [0.5, -3.0, 1.0], [0.0, 4.0, 0.25]], dtype=torch.float64)
    x = torch.randn(7, 3, generator=make_generator(0), dtype=torch.float64)
    s, div = sm.divergence(lambda y: y @ A.T, x)
    torch.testing.assert_close(s, x @ A.T)
    torch.testing.assert_close(div, torch.full((7,), float(A.trace()), dtype=torch.float64))


def test_sliced_divergence_is_v_transpose_jacobian_v():
    A = torch.tensor([[1.0, 2.0], [0.5, -3.0]], dtype=torch.float64)
    x = torch.randn(5, 2, generator=make_generator(1), dtype=torch.float64)
    v = torch.randn(5, 2, generator=make_generator(2), dtype=torch.float64)
    _, proj = sm.sliced_divergence(lambda y: y @ A.T, x, v)
    torch.testing.assert_close(proj, torch.einsum("bi,ij,bj->b", v, A, v))


@pytest.mark.parametrize("c", [0.3, 2.0])
def test_ism_and_esm_of_a_gaussian_match_their_closed_forms(c):
    v, n, D = 0.5, 200_000, 2
    x = math.sqrt(v) * torch.randn(n, D, generator=make_generator(3), dtype=torch.float64)
    ism = sm.implicit_score_matching(lambda y: -c * y, x)
    esm = sm.explicit_score_matching(-c * x, -x / v)
    assert abs(float(ism.mean()) - D * (-c + 0.5 * c**2 * v)) <= monte_carlo_tolerance(ism.std(), n)
    assert abs(float(esm.mean()) - 0.5 * D * v * (c - 1 / v) ** 2) <= monte_carlo_tolerance(
        esm.std(), n
    )
    d = esm - ism  # half the Fisher information, D / (2 v), for every c
    assert abs(float(d.mean()) - D / (2 * v)) <= monte_carlo_tolerance(d.std(), n)


def test_dsm_minus_esm_is_the_closed_form_constant_for_gaussian_data():
    # p = N(0, v I): q_sigma = N(0, (a^2 v + sigma^2) I), so C' = D/(2 sigma^2) - D/(2 w).
    v, a, sigma, n, D = 0.5, 0.8, 0.6, 200_000, 2
    w = a**2 * v + sigma**2
    g = make_generator(4)
    x = math.sqrt(v) * torch.randn(n, D, generator=g, dtype=torch.float64)
    eps = torch.randn(n, D, generator=g, dtype=torch.float64)
    x_tilde = a * x + sigma * eps
    for c in (0.3, 1.0):
        d = sm.denoising_score_matching(
            lambda y, c=c: -c * y, x, eps, a, sigma
        ) - sm.explicit_score_matching(-c * x_tilde, -x_tilde / w)
        expected = D / (2 * sigma**2) - D / (2 * w)
        assert abs(float(d.mean()) - expected) <= monte_carlo_tolerance(d.std(), n)


def test_importance_posterior_mean_matches_tweedie_on_gaussian_data():
    # For p = N(m, v I) the posterior mean is linear and Tweedie is exact.
    m = torch.tensor([1.0, -0.5], dtype=torch.float64)
    data = gaussian(m, 0.4 * torch.eye(2, dtype=torch.float64))
    a, sigma = 0.9, 0.5
    x_data = data.sample(100_000, make_generator(5))
    points = torch.tensor([[0.0, 0.0], [1.5, -1.0]], dtype=torch.float64)
    mean, se, ess = sm.posterior_mean_importance(points, x_data, a, sigma)
    exact = x_0_from_score(points, data.noised(a, sigma).score(points), a, sigma)
    assert bool(((mean - exact).abs() <= 5 * se).all())
    assert bool((ess > 1000).all()) and bool((ess <= 100_000).all())


def test_relative_error_of_the_exact_score_is_zero_and_of_half_is_a_quarter():
    x = toy_mixture().sample(1000, make_generator(6))
    s = toy_mixture().score(x)
    assert sm.relative_error(s, s) == (0.0, 0.0)
    ratio, se = sm.relative_error(0.5 * s, s)
    assert ratio == pytest.approx(0.25) and se == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs_are_named():
    x = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma"):
        sm.denoising_score_matching(lambda y: y, x, x, 1.0, 0.0)
    with pytest.raises(ValueError, match="eps"):
        sm.denoising_score_matching(lambda y: y, x, torch.zeros(3, 3), 1.0, 0.5)
    with pytest.raises(ValueError, match="true_score"):
        sm.explicit_score_matching(x, torch.zeros(2, 2, dtype=torch.float64))
