"""The forward process: the closed-form marginal against the simulated chain (chapter 2)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.forward import (
    forward_chain,
    forward_chain_at,
    forward_step,
    kl_to_standard_normal,
    log_normal,
    noised_mixture,
    q_mean_std,
    q_sample,
)
from lecture_code.ddpm.schedules import cosine_schedule, linear_schedule, schedule_from_beta
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def test_q_sample_at_t_zero_is_the_data():
    schedule = linear_schedule(50)
    x_0 = torch.randn(6, 2, generator=make_generator(0), dtype=torch.float64)
    eps = torch.randn(6, 2, generator=make_generator(1), dtype=torch.float64)
    assert torch.equal(q_sample(schedule, x_0, torch.zeros(6, dtype=torch.long), eps), x_0)


def test_q_sample_one_step_equals_forward_step():
    # For t = 1 the marginal and the single step are the same formula: alpha_bar_1 = 1 - beta_1.
    schedule = linear_schedule(20)
    x_0 = torch.randn(5, 3, generator=make_generator(2), dtype=torch.float64)
    eps = torch.randn(5, 3, generator=make_generator(3), dtype=torch.float64)
    torch.testing.assert_close(
        q_sample(schedule, x_0, torch.ones(5, dtype=torch.long), eps),
        forward_step(schedule, x_0, 1, eps),
    )


def test_q_sample_uses_each_rows_own_step():
    schedule = cosine_schedule(10)
    x_0 = torch.ones(3, 2, dtype=torch.float64)
    eps = torch.zeros(3, 2, dtype=torch.float64)
    t = torch.tensor([0, 5, 10])
    out = q_sample(schedule, x_0, t, eps)
    torch.testing.assert_close(out[:, 0], torch.sqrt(schedule.alpha_bar[t]))


def test_chain_shape_start_and_seed():
    schedule = linear_schedule(8)
    x_0 = torch.randn(4, 2, generator=make_generator(0), dtype=torch.float64)
    path = forward_chain(schedule, x_0, make_generator(5))
    assert path.shape == (9, 4, 2)
    assert torch.equal(path[0], x_0)
    assert torch.isfinite(path).all()
    assert torch.equal(path, forward_chain(schedule, x_0, make_generator(5)))


def test_chain_at_keeps_the_same_states_as_the_full_chain():
    schedule = cosine_schedule(12)
    x_0 = torch.randn(3, 2, generator=make_generator(0), dtype=torch.float64)
    full = forward_chain(schedule, x_0, make_generator(8))
    kept = forward_chain_at(schedule, x_0, [7, 0, 12], make_generator(8))
    assert torch.equal(kept, full[[7, 0, 12]])
    with pytest.raises(ValueError, match="steps must be a non-empty list of distinct steps"):
        forward_chain_at(schedule, x_0, [3, 3], make_generator(8))
    with pytest.raises(ValueError, match=r"steps\[i\] must be an integer <= 12, got 13"):
        forward_chain_at(schedule, x_0, [13], make_generator(8))


def test_two_step_chain_composes_by_hand():
    # Two steps with noises e1, e2 give sqrt(a1 a2) x0 + sqrt(a2 b1) e1 + sqrt(b2) e2.
    schedule = schedule_from_beta(torch.tensor([0.3, 0.5], dtype=torch.float64))
    x_0 = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    path = forward_chain(schedule, x_0, make_generator(7))
    g = make_generator(7)
    e1 = torch.randn(1, 2, generator=g, dtype=torch.float64)
    e2 = torch.randn(1, 2, generator=g, dtype=torch.float64)
    expected = math.sqrt(0.7 * 0.5) * x_0 + math.sqrt(0.5 * 0.3) * e1 + math.sqrt(0.5) * e2
    torch.testing.assert_close(path[2], expected)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_closed_form_marginal_matches_simulated_chain(kind):
    schedule = linear_schedule(40) if kind == "linear" else cosine_schedule(40)
    n = 40_000
    x_0 = torch.tensor([[1.5, -0.5]], dtype=torch.float64).expand(n, 2).contiguous()
    path = forward_chain(schedule, x_0, make_generator(11))
    for t in (1, 10, 25, 40):
        mean, std = q_mean_std(schedule, x_0[:1], torch.tensor([t]))
        s = std.item()
        # The sample mean has standard error s / sqrt(n); the sample variance of a Gaussian has
        # standard error s^2 sqrt(2 / n).
        assert (path[t].mean(0) - mean[0]).abs().max() <= monte_carlo_tolerance(s, n)
        var_tol = monte_carlo_tolerance(s**2 * math.sqrt(2), n)
        assert (path[t].var(0) - s**2).abs().max() <= var_tol
        # Coordinates stay uncorrelated: covariance (1 - alpha_bar) I.
        cov = torch.cov(path[t].T)[0, 1]
        assert abs(cov) <= monte_carlo_tolerance(s**2, n)


def test_kl_closed_form_matches_monte_carlo():
    alpha_bar, n = 0.3, 200_000
    x_0 = torch.tensor([[0.8, -1.2]], dtype=torch.float64)
    g = make_generator(12)
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    x = math.sqrt(alpha_bar) * x_0 + math.sqrt(1 - alpha_bar) * eps
    var = torch.full((n,), 1 - alpha_bar, dtype=torch.float64)
    log_q = log_normal(x, x_0.expand(n, 2) * math.sqrt(alpha_bar), var)
    log_p = log_normal(x, torch.zeros_like(x), torch.ones(n, dtype=torch.float64))
    ratio = log_q - log_p
    estimate = ratio.mean().item()
    tol = monte_carlo_tolerance(ratio.std().item(), n)
    assert abs(estimate - kl_to_standard_normal(x_0, alpha_bar).item()) <= tol


def test_kl_is_zero_for_pure_noise_and_positive_otherwise():
    x_0 = torch.randn(10, 2, generator=make_generator(0), dtype=torch.float64)
    assert torch.equal(kl_to_standard_normal(x_0, 0.0), torch.zeros(10, dtype=torch.float64))
    assert (kl_to_standard_normal(x_0, 0.5) > 0).all()


def test_log_normal_matches_torch_distributions():
    x = torch.randn(7, 3, generator=make_generator(1), dtype=torch.float64)
    mean = torch.randn(7, 3, generator=make_generator(2), dtype=torch.float64)
    std = torch.rand(7, generator=make_generator(3), dtype=torch.float64) + 0.5
    reference = torch.distributions.Normal(mean, std[:, None]).log_prob(x).sum(1)
    torch.testing.assert_close(log_normal(x, mean, std**2), reference)


def test_log_normal_names_a_variance_that_is_not_positive():
    x = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"var must be positive, got var\[1\] = 0.0"):
        log_normal(x, x, torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64))


def test_noised_mixture_end_points_and_simulation():
    schedule = linear_schedule(100)
    mixture = toy_mixture()
    same = noised_mixture(schedule, mixture, 0)
    torch.testing.assert_close(same.means, mixture.means)
    torch.testing.assert_close(same.covs, mixture.covs)
    # Chain started from mixture samples: the marginal at t = 30 is the closed-form mixture.
    n, t = 50_000, 30
    x_0 = mixture.sample(n, make_generator(4))
    x_t = forward_chain(schedule, x_0, make_generator(5))[t]
    exact = noised_mixture(schedule, mixture, t)
    std = torch.sqrt(torch.diagonal(exact.covariance))
    assert ((x_t.mean(0) - exact.mean).abs() <= monte_carlo_tolerance(std, n)).all()
    assert ((torch.cov(x_t.T) - exact.covariance).abs() <= monte_carlo_tolerance(3.0, n)).all()


# --- bad inputs ----------------------------------------------------------------------------
def test_bad_inputs_are_named():
    schedule = linear_schedule(10)
    x_0 = torch.zeros(4, 2, dtype=torch.float64)
    eps = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"t must lie in \[0, T\] = \[0, 10\], got t\[2\] = 11"):
        q_sample(schedule, x_0, torch.tensor([0, 1, 11, 2]), eps)
    with pytest.raises(ValueError, match=r"eps must have shape \(B, D\) with B = 4"):
        q_sample(schedule, x_0, torch.zeros(4, dtype=torch.long), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"t must have shape \(B\) with B = 4, got shape \(3,\)"):
        q_sample(schedule, x_0, torch.zeros(3, dtype=torch.long), eps)
    with pytest.raises(ValueError, match="x_0 must be finite, got 1 NaN"):
        bad = x_0.clone()
        bad[0, 0] = float("nan")
        forward_chain(schedule, bad, make_generator(0))
    with pytest.raises(ValueError, match="t must be an integer <= 10, got 11"):
        forward_step(schedule, x_0, 11, eps)
    with pytest.raises(ValueError, match=r"alpha_bar must lie in \[0.0, 1.0\), got 1.0"):
        kl_to_standard_normal(x_0, 1.0)
    with pytest.raises(ValueError, match="t must be an integer <= 10, got 12"):
        noised_mixture(schedule, toy_mixture(), 12)
