"""The forward posterior q(x_{t-1} | x_t, x_0) and the true reverse step (chapter 3)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import posterior
from lecture_code.ddpm.forward import forward_chain
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.schedules import cosine_schedule, linear_schedule
from lecture_code.seeding import make_generator

SCHEDULE = linear_schedule(50)


def _steps(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


def test_posterior_at_t_1_is_the_data_point():
    # alpha_bar_0 = 1: knowing x_0, there is nothing left to infer about x_0.
    x_t = torch.randn(3, 2, dtype=torch.float64, generator=make_generator(0))
    x_0 = torch.randn(3, 2, dtype=torch.float64, generator=make_generator(1))
    t = _steps(1, 1, 1)
    assert torch.allclose(posterior.posterior_mean(SCHEDULE, x_t, x_0, t), x_0, atol=1e-15)
    assert torch.equal(
        posterior.posterior_variance(SCHEDULE, t), torch.zeros(3, dtype=torch.float64)
    )


@pytest.mark.parametrize("schedule", [linear_schedule(50), cosine_schedule(20)])
def test_posterior_variance_lies_between_zero_and_beta(schedule):
    t = torch.arange(2, schedule.T + 1)
    beta_tilde = posterior.posterior_variance(schedule, t)
    assert bool((beta_tilde > 0).all()) and bool((beta_tilde < schedule.beta[t]).all())


def test_posterior_matches_gaussian_conditioning_of_the_exact_joint():
    # Given x_0, (x_{t-1}, x_t) is jointly Gaussian per coordinate with variances
    # 1 - alpha_bar_{t-1}, 1 - alpha_bar_t and covariance sqrt(alpha_t)(1 - alpha_bar_{t-1}).
    # Conditioning by the Schur complement is an independent route to eqs. rev-mu-tilde and
    # rev-beta-tilde.
    s = SCHEDULE
    x_0 = torch.tensor([[0.7, -1.3]], dtype=torch.float64)
    x_t = torch.tensor([[0.2, 0.5]], dtype=torch.float64)
    for t in (2, 10, 50):
        var_prev = 1 - s.alpha_bar[t - 1]
        var_t = 1 - s.alpha_bar[t]
        cov = torch.sqrt(s.alpha[t]) * var_prev
        mean = torch.sqrt(s.alpha_bar[t - 1]) * x_0 + cov / var_t * (
            x_t - torch.sqrt(s.alpha_bar[t]) * x_0
        )
        variance = var_prev - cov**2 / var_t
        steps = _steps(t)
        assert torch.allclose(posterior.posterior_mean(s, x_t, x_0, steps), mean, atol=1e-12)
        assert torch.allclose(posterior.posterior_variance(s, steps)[0], variance, atol=1e-14)


def test_posterior_moments_match_the_simulated_chain():
    # Regress x_{t-1} on x_t over many chains from one fixed x_0: slope, conditional mean and
    # residual variance must be the coefficients of eq. rev-mu-tilde and beta_tilde, within 5
    # standard errors of n draws.
    s = linear_schedule(20)
    n = 40_000
    x_0 = torch.tensor([[1.5, -0.5]], dtype=torch.float64).expand(n, 2)
    path = forward_chain(s, x_0, make_generator(3))
    for t in (2, 8, 20):
        prev, now = path[t - 1][:, 0], path[t][:, 0]
        steps = _steps(t)
        coef_x_0, coef_x_t, beta_tilde = (c[0] for c in posterior.posterior_coefficients(s, steps))
        var_now = now.var()
        slope = ((prev - prev.mean()) * (now - now.mean())).mean() / var_now
        residual = prev - prev.mean() - slope * (now - now.mean())
        assert abs(slope - coef_x_t) < 5 * math.sqrt(beta_tilde / var_now / n)
        # prev - mu_tilde(now) is N(0, beta_tilde) noise independent of now.
        predicted = coef_x_0 * x_0[0, 0] + coef_x_t * now.mean()
        assert abs(prev.mean() - predicted) < 5 * math.sqrt(beta_tilde / n)
        assert abs(residual.var() - beta_tilde) < 5 * beta_tilde * math.sqrt(2 / n)


def test_posterior_sample_is_reproducible_and_has_the_posterior_moments():
    s = SCHEDULE
    n = 20_000
    x_t = torch.full((n, 1), 0.4, dtype=torch.float64)
    x_0 = torch.full((n, 1), -0.8, dtype=torch.float64)
    t = torch.full((n,), 30, dtype=torch.long)
    a = posterior.posterior_sample(s, x_t, x_0, t, make_generator(7))
    b = posterior.posterior_sample(s, x_t, x_0, t, make_generator(7))
    assert torch.equal(a, b)
    mean = posterior.posterior_mean(s, x_t[:1], x_0[:1], t[:1])[0, 0]
    var = posterior.posterior_variance(s, t[:1])[0]
    assert abs(a.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(a.var() - var) < 5 * var * math.sqrt(2 / n)


@pytest.mark.parametrize(
    ("t", "message"),
    [
        (_steps(0, 3), r"t must lie in \[1, T\] = \[1, 50\] for the posterior, got t\[0\] = 0"),
        (_steps(3, 51), r"t must lie in \[0, T\] = \[0, 50\], got t\[1\] = 51"),
        (torch.tensor([1.0, 2.0]), "integer"),
    ],
)
def test_bad_steps_are_named(t, message):
    x = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises((ValueError, TypeError), match=message):
        posterior.posterior_mean(SCHEDULE, x, x, t)


def test_mismatched_shapes_and_nan_are_named():
    t = _steps(2, 3)
    with pytest.raises(ValueError, match=r"x_0 must have shape \(B, D\) with D = 2"):
        posterior.posterior_mean(SCHEDULE, torch.zeros(2, 2), torch.zeros(2, 3), t)
    with pytest.raises(ValueError, match=r"t must have shape \(B\) with B = 2"):
        posterior.posterior_mean(SCHEDULE, torch.zeros(2, 2), torch.zeros(2, 2), _steps(2, 3, 4))
    with pytest.raises(ValueError, match="x_t must be finite"):
        posterior.posterior_mean(SCHEDULE, torch.full((2, 2), math.nan), torch.zeros(2, 2), t)


# --- the true reverse step ------------------------------------------------------------------
BIMODAL = GaussianMixture(
    weights=torch.tensor([0.5, 0.5], dtype=torch.float64),
    means=torch.tensor([[-1.0], [1.0]], dtype=torch.float64),
    covs=torch.tensor([[[0.1]], [[0.1]]], dtype=torch.float64),
)


def test_reverse_step_of_gaussian_data_is_the_exact_gaussian():
    # For y ~ N(m, s^2) the reverse step is Gaussian with precision 1/s^2 + alpha/beta.
    m, s2, beta, x = 0.3, 0.5, 0.2, 0.9
    data = GaussianMixture(
        torch.ones(1, dtype=torch.float64),
        torch.tensor([[m]], dtype=torch.float64),
        torch.tensor([[[s2]]], dtype=torch.float64),
    )
    alpha = 1 - beta
    var = 1 / (1 / s2 + alpha / beta)
    mean = var * (m / s2 + math.sqrt(alpha) * x / beta)
    grid = torch.linspace(-6, 6, 4001, dtype=torch.float64)
    log_q = posterior.reverse_step_log_density(data, torch.tensor(x), beta, grid)
    exact = -((grid - mean) ** 2) / (2 * var) - 0.5 * math.log(2 * math.pi * var)
    assert torch.allclose(log_q, exact, atol=1e-6)


def test_reverse_step_becomes_gaussian_like_beta_squared():
    # KL(true || small-step Gaussian) = O(beta^2): halving beta divides it by about 4.
    kl_1 = posterior.reverse_step_gaussian_kl(BIMODAL, 0.7, 1e-3)
    kl_2 = posterior.reverse_step_gaussian_kl(BIMODAL, 0.7, 5e-4)
    assert kl_2 < kl_1
    assert math.log(kl_1 / kl_2) / math.log(2) == pytest.approx(2.0, abs=0.1)
    assert posterior.reverse_step_gaussian_kl(BIMODAL, 0.0, 0.1) > 0.3  # far from Gaussian


def test_reverse_step_inputs_are_checked():
    grid = torch.linspace(-1, 1, 11, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"beta must lie in \(0.0, 1.0\), got 1.5"):
        posterior.reverse_step_log_density(BIMODAL, torch.tensor(0.0), 1.5, grid)
    with pytest.raises(ValueError, match="grid must hold at least 3 increasing points"):
        posterior.reverse_step_log_density(BIMODAL, torch.tensor(0.0), 0.1, grid.flip(0))
