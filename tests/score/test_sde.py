"""The VP-SDE: its marginal against a simulation of the SDE, its identities, Tweedie's formula.

Chapter 6 derives the Gaussian marginal x_t = a(t) x_0 + sigma(t) eps of the VP-SDE from its
linear drift; here a fine Euler–Maruyama simulation of the forward SDE must reproduce that mean
and standard deviation, and Tweedie's formula, with the SDE's coefficients, must give the exact
posterior mean of a Gaussian.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.conversions import score_from_x_0, x_0_from_score
from lecture_code.ddpm.schedules import linear_schedule
from lecture_code.score.sde import VPSDE, q_sample, reverse_drift
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance

SDE = VPSDE()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("t_end", [0.1, 0.5, 1.0])
def test_marginal_mean_and_std_match_a_simulation_of_the_forward_sde(t_end):
    n, n_steps = 20_000, 2_000
    generator = make_generator(0)
    x_0 = 1.5 + 0.3 * torch.randn(n, dtype=torch.float64, generator=generator)
    x = x_0.clone()
    h = t_end / n_steps
    for i in range(n_steps):
        t = i * h
        dw = math.sqrt(h) * torch.randn(n, dtype=torch.float64, generator=generator)
        x = x + SDE.drift(x, t) * h + float(SDE.diffusion(t)) * dw
    scale, std = float(SDE.scale(t_end)), float(SDE.sigma(t_end))
    # x_t = a x_0 + sigma eps with x_0 ~ N(1.5, 0.3^2): mean a * 1.5, variance a^2 0.09 + sigma^2
    mean_ref = scale * 1.5
    std_ref = math.sqrt(scale**2 * 0.09 + std**2)
    # 5 standard errors of the mean and of the standard deviation (std / sqrt(2n)); the
    # Euler–Maruyama bias for a linear SDE with h = t/2000 is O(h) ~ 1e-4, far below that.
    assert abs(float(x.mean()) - mean_ref) <= monte_carlo_tolerance(std_ref, n)
    assert abs(float(x.std()) - std_ref) <= monte_carlo_tolerance(std_ref, 2 * n)


def test_variance_is_preserved_and_nu_is_the_noise_to_signal_ratio():
    t = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    scale, sigma = SDE.scale(t), SDE.sigma(t)
    torch.testing.assert_close(scale**2 + sigma**2, torch.ones_like(t))
    torch.testing.assert_close(SDE.nu(t[1:]), sigma[1:] / scale[1:])
    assert float(SDE.scale(1.0)) == pytest.approx(math.exp(-5.025), rel=1e-12)


def test_log_snr_is_the_log_of_scale_over_sigma_squared_and_minus_twice_log_nu():
    t = torch.linspace(0.01, 1.0, 50, dtype=torch.float64)
    lam = SDE.log_snr(t)
    torch.testing.assert_close(lam, torch.log(SDE.scale(t) ** 2 / SDE.sigma(t) ** 2))
    torch.testing.assert_close(lam, -2 * torch.log(SDE.nu(t)))
    assert float(SDE.log_snr(0.0)) == math.inf


def test_beta_is_the_derivative_of_its_integral():
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-6
    derivative = (SDE.beta_bar(t + h) - SDE.beta_bar(t - h)) / (2 * h)
    torch.testing.assert_close(derivative, SDE.beta(t), rtol=1e-7, atol=0.0)


def test_the_discretised_sde_reproduces_the_alpha_bar_of_part_one():
    # DDPM with beta_i = beta(i / N) / N is the Euler discretisation of the VP-SDE: its
    # alpha_bar at step i approaches exp(-beta_bar(i / N)) = a(i / N)^2 as N grows.
    N = 4000
    t = torch.arange(1, N + 1, dtype=torch.float64) / N
    discrete = torch.cumprod(1 - SDE.beta(t) / N, dim=0)
    torch.testing.assert_close(discrete, SDE.scale(t) ** 2, rtol=0, atol=2e-3)
    schedule = linear_schedule(1000)  # Ho et al.: beta_i from 1e-4 to 0.02, i.e. beta(t) / 1000
    assert abs(float(schedule.alpha_bar[-1]) - float(SDE.scale(1.0)) ** 2) < 1e-5


def test_t_from_nu_inverts_nu_over_the_whole_range():
    t = torch.cat([torch.tensor([1e-4, SDE.t_min]), torch.linspace(0.01, 1.0, 50)]).double()
    torch.testing.assert_close(SDE.t_from_nu(SDE.nu(t)), t, rtol=1e-10, atol=1e-13)
    assert SDE.nu_min == pytest.approx(float(SDE.nu(SDE.t_min)))
    assert SDE.nu_max == pytest.approx(float(SDE.nu(1.0)))


def test_q_sample_is_the_marginal_given_the_noise_and_accepts_per_row_times():
    x_0 = torch.randn(4, 3, dtype=torch.float64, generator=make_generator(1))
    eps = torch.randn(4, 3, dtype=torch.float64, generator=make_generator(2))
    t = torch.tensor([0.0, 0.2, 0.6, 1.0], dtype=torch.float64)
    x_t = q_sample(SDE, x_0, t, eps)
    expected = SDE.scale(t)[:, None] * x_0 + SDE.sigma(t)[:, None] * eps
    torch.testing.assert_close(x_t, expected)
    torch.testing.assert_close(x_t[0], x_0[0])  # t = 0: no noise yet


def test_tweedie_gives_the_exact_posterior_mean_of_a_gaussian():
    # x_0 ~ N(mu, v): the posterior mean of x_0 given x_t = a x_0 + sd eps is
    # mu + (a v / (a^2 v + sd^2)) (x_t - a mu), and the score of p_t is -(x - a mu)/(a^2 v + sd^2).
    mu, v, t = 0.7, 0.3, 0.4
    a, sd = float(SDE.scale(t)), float(SDE.sigma(t))
    x_t = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    score = -(x_t - a * mu) / (a**2 * v + sd**2)
    posterior_mean = mu + a * v / (a**2 * v + sd**2) * (x_t - a * mu)
    torch.testing.assert_close(
        x_0_from_score(x_t, score, SDE.scale(t), SDE.sigma(t)), posterior_mean
    )
    torch.testing.assert_close(
        score_from_x_0(x_t, posterior_mean, SDE.scale(t), SDE.sigma(t)), score
    )


def test_probability_flow_drift_takes_half_the_score_term():
    x = torch.ones(2, 2, dtype=torch.float64)
    score = torch.full((2, 2), 3.0, dtype=torch.float64)
    sde_drift = reverse_drift(SDE, x, 0.5, score)
    ode_drift = reverse_drift(SDE, x, 0.5, score, probability_flow=True)
    g2 = float(SDE.beta(0.5))
    torch.testing.assert_close(
        sde_drift - ode_drift, torch.full((2, 2), -0.5 * g2 * 3.0, dtype=torch.float64)
    )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: VPSDE(beta_min=1.0, beta_max=0.5), "beta_max"),
        (lambda: VPSDE(t_min=0.0), "t_min"),
        (lambda: VPSDE(beta_min=-0.1), "beta_min"),
        (lambda: SDE.beta(1.5), "t must lie in"),
        (lambda: SDE.sigma(torch.tensor([0.2, float("nan")])), "t must lie in"),
        (lambda: SDE.t_from_nu(10 * SDE.nu_max), "nu must be at most"),
        (
            lambda: score_from_x_0(
                torch.ones(2, 1), torch.ones(2, 1), SDE.scale(0.0), SDE.sigma(0.0)
            ),
            "sigma must be positive, got sigma = 0.0",
        ),
        (lambda: SDE.drift(torch.ones(3, 2), torch.full((2,), 0.5)), "shape \\(B,\\) with B = 3"),
    ],
)
def test_bad_inputs_raise_errors_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("N", [100, 1000])
def test_part_one_linear_schedule_is_beta_on_the_grid_i_minus_one_over_n_minus_one(N):
    # The docstring's claim: beta_i = beta((i - 1) / (N - 1)) / N, not beta(i / N) / N.
    grid = torch.arange(N, dtype=torch.float64) / (N - 1)
    expected = SDE.beta(grid) / N
    assert torch.allclose(linear_schedule(N).beta[1:], expected, rtol=1e-12, atol=0.0)
    off_grid = SDE.beta(torch.arange(1, N + 1, dtype=torch.float64) / N) / N
    assert not torch.allclose(linear_schedule(N).beta[1:], off_grid, rtol=1e-6, atol=0.0)
