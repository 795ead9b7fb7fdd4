"""Tests of lecture_code.ddpm.network_bound: the noise posterior of mixture data, the bound of a
noise predictor, and the entropy it cannot cross."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import network_bound
from lecture_code.ddpm.denoiser import MixtureOracle
from lecture_code.ddpm.elbo import reverse_variance
from lecture_code.ddpm.gaussian_reverse import exact_bound, optimal_reverse
from lecture_code.ddpm.mixture import gaussian
from lecture_code.ddpm.schedules import linear_schedule
from lecture_code.ddpm.toy_data import toy_mixture


def _draws(schedule, mixture, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(1, schedule.T + 1, (n,), generator=g)
    x_0 = mixture.sample(n, g)
    eps = torch.randn(n, mixture.D, generator=g, dtype=torch.float64)
    a, s = schedule.scale[t], schedule.sigma[t]
    return t, a[:, None] * x_0 + s[:, None] * eps, eps, a, s


def test_posterior_mean_is_the_exact_predictor():
    """Regression within components gives E[eps | x_t] = -sigma grad log q(x_t)."""
    schedule, mixture = linear_schedule(100), toy_mixture()
    t, x_t, _, a, s = _draws(schedule, mixture, 500)
    r, e, _ = network_bound.noise_posterior(mixture, x_t, a, s)
    expected = MixtureOracle(mixture)(x_t, schedule.log_snr[t])
    torch.testing.assert_close((r[:, :, None] * e).sum(1), expected, rtol=0, atol=1e-10)


def test_trace_of_posterior_covariance_by_monte_carlo():
    """E[|eps - eps_star|^2] = E[tr Cov(eps | x_t)] (law of total variance)."""
    schedule, mixture = linear_schedule(100), toy_mixture()
    _, x_t, eps, a, s = _draws(schedule, mixture, 40_000, seed=1)
    r, e, trace_cov = network_bound.noise_posterior(mixture, x_t, a, s)
    residual = ((eps - (r[:, :, None] * e).sum(1)) ** 2).sum(1)
    diff = residual - trace_cov
    assert abs(float(diff.mean())) < 5 * float(diff.std()) / math.sqrt(diff.numel())


def test_bound_of_gaussian_data_matches_the_closed_form():
    """For Gaussian data and the exact predictor the bound equals the exact bound of chapter 3
    (optimal linear reverse model), computed without Monte Carlo."""
    schedule = linear_schedule(50)
    v_0 = 0.3
    data = gaussian(torch.zeros(2, dtype=torch.float64), v_0 * torch.eye(2, dtype=torch.float64))
    estimate = network_bound.variational_bound(
        MixtureOracle(data), schedule, data, 400, torch.Generator().manual_seed(2)
    )
    x_0 = data.sample(200_000, torch.Generator().manual_seed(3))
    model = optimal_reverse(
        schedule, torch.zeros(2, dtype=torch.float64), v_0, reverse_variance(schedule, "beta")
    )
    reference = exact_bound(model, schedule, x_0).total.mean()
    tol = 5 * estimate.se + 5 * 0.01
    assert abs(estimate.value - float(reference)) < tol
    assert estimate.learning_error == pytest.approx(0.0, abs=1e-20)


def test_bound_lies_above_the_entropy():
    schedule, mixture = linear_schedule(200), toy_mixture()
    estimate = network_bound.variational_bound(
        MixtureOracle(mixture), schedule, mixture, 100, torch.Generator().manual_seed(4)
    )
    entropy, se = network_bound.mixture_entropy(mixture, 50_000, torch.Generator().manual_seed(5))
    assert estimate.value > entropy - 5 * math.hypot(estimate.se, se)
    # Without the variance terms the value is not a bound.
    assert estimate.value - estimate.variance_terms < entropy


def test_gaussian_entropy():
    data = gaussian(torch.zeros(2, dtype=torch.float64), 0.5 * torch.eye(2, dtype=torch.float64))
    entropy, se = network_bound.mixture_entropy(data, 100_000, torch.Generator().manual_seed(6))
    exact = 1 + math.log(2 * math.pi * 0.5)  # D/2 log(2 pi e v)
    assert abs(entropy - exact) < 5 * se


def test_noise_posterior_rejects_zero_sigma():
    mixture = toy_mixture()
    with pytest.raises(ValueError, match="sigma"):
        network_bound.noise_posterior(
            mixture, torch.zeros(3, 2), torch.ones(3), torch.zeros(3, dtype=torch.float64)
        )
