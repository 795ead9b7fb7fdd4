"""The variational bound, its terms, the noise parameterisation (chapter 3), and the exactly
solvable case of Gaussian data."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import elbo, gaussian_reverse, posterior
from lecture_code.ddpm.conversions import x_0_from_eps
from lecture_code.ddpm.forward import forward_chain, log_normal, q_sample
from lecture_code.ddpm.gaussian_kl import gaussian_kl
from lecture_code.ddpm.schedules import linear_schedule
from lecture_code.seeding import make_generator

SCHEDULE = linear_schedule(30)
D = 2


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64, generator=make_generator(seed))


def _wiggly_mean(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    # Any reverse mean will do for identities that hold for every model.
    return 0.9 * x_t + 0.1 * torch.sin(x_t + t[:, None].double())


# --- Gaussians ------------------------------------------------------------------------------


# --- the decomposition ----------------------------------------------------------------------
def test_decomposition_equals_the_direct_log_ratio_on_every_trajectory():
    x_0 = _randn(64, D, seed=4)
    x = forward_chain(SCHEDULE, x_0, make_generator(5))
    gamma2 = elbo.reverse_variance(SCHEDULE)
    direct = elbo.trajectory_log_ratio(_wiggly_mean, SCHEDULE, x, gamma2)
    terms = elbo.bound_terms_per_sample(_wiggly_mean, SCHEDULE, x, gamma2)
    assert terms.L_mid.shape == (64, SCHEDULE.T - 1)
    assert torch.allclose(terms.total, direct, rtol=0, atol=1e-9)


def test_closed_form_kl_terms_have_the_mean_of_the_per_sample_terms():
    n = 4000
    s = linear_schedule(10)
    x_0 = torch.tensor([[0.5, -1.0]], dtype=torch.float64).expand(n, D)
    x = forward_chain(s, x_0, make_generator(6))
    gamma2 = elbo.reverse_variance(s)
    per_sample = elbo.bound_terms_per_sample(_wiggly_mean, s, x, gamma2)
    closed = elbo.bound_terms(_wiggly_mean, s, x, gamma2)
    a, b = per_sample.L_T, closed.L_T
    assert abs(a.mean() - b[0]) < 5 * a.std() / math.sqrt(n)
    for column in (0, 4, s.T - 2):
        a, b = per_sample.L_mid[:, column], closed.L_mid[:, column]
        assert abs(a.mean() - b.mean()) < 5 * (a - b).std() / math.sqrt(n)


def test_reverse_variance_choices():
    beta = elbo.reverse_variance(SCHEDULE, "beta")
    tilde = elbo.reverse_variance(SCHEDULE, "beta_tilde")
    assert torch.equal(beta, SCHEDULE.beta)
    assert tilde[1] == SCHEDULE.beta[1]
    t = torch.arange(2, SCHEDULE.T + 1)
    assert torch.allclose(tilde[2:], posterior.posterior_variance(SCHEDULE, t))
    with pytest.raises(ValueError, match=r"kind must be one of \['beta', 'beta_tilde'\]"):
        elbo.reverse_variance(SCHEDULE, "learned")


# --- predicting the noise -------------------------------------------------------------------
def test_mu_from_true_noise_is_the_posterior_mean():
    x_0, eps = _randn(6, D, seed=7), _randn(6, D, seed=8)
    t = torch.tensor([1, 2, 5, 10, 29, 30])
    x_t = q_sample(SCHEDULE, x_0, t, eps)
    scale, sigma = SCHEDULE.scale[t], SCHEDULE.sigma[t]
    assert torch.allclose(x_0_from_eps(x_t, eps, scale, sigma), x_0, atol=1e-12)
    assert torch.allclose(
        elbo.mu_from_eps(SCHEDULE, x_t, t, eps),
        posterior.posterior_mean(SCHEDULE, x_t, x_0, t),
        atol=1e-12,
    )


def test_denoising_kl_is_a_weighted_squared_error_of_the_noise():
    # KL(q(x_{t-1}|x_t,x_0) || N(mu_theta, gamma_t^2)) = zeta_t |eps - eps_theta|^2 + const(t),
    # the constant being the KL between Gaussians with equal means (eq. elbo-weight).
    B = 8
    x_0, eps, eps_theta = _randn(B, D, seed=9), _randn(B, D, seed=10), _randn(B, D, seed=11)
    t = torch.arange(2, 2 + B)
    gamma2 = elbo.reverse_variance(SCHEDULE)
    x_t = q_sample(SCHEDULE, x_0, t, eps)
    mu_tilde = posterior.posterior_mean(SCHEDULE, x_t, x_0, t)
    beta_tilde = posterior.posterior_variance(SCHEDULE, t)
    mu_theta = elbo.mu_from_eps(SCHEDULE, x_t, t, eps_theta)
    kl = gaussian_kl(mu_tilde, beta_tilde, mu_theta, gamma2[t])
    constant = gaussian_kl(mu_tilde, beta_tilde, mu_tilde, gamma2[t])
    weight = elbo.elbo_weight(SCHEDULE, t, gamma2)
    assert torch.allclose(kl - constant, weight * ((eps - eps_theta) ** 2).sum(1), atol=1e-10)


def test_reconstruction_term_is_the_same_weighted_error_at_t_1():
    B = 5
    x_0, eps, eps_theta = _randn(B, D, seed=12), _randn(B, D, seed=13), _randn(B, D, seed=14)
    t = torch.ones(B, dtype=torch.long)
    gamma2 = elbo.reverse_variance(SCHEDULE)
    x_1 = q_sample(SCHEDULE, x_0, t, eps)
    mu = elbo.mu_from_eps(SCHEDULE, x_1, t, eps_theta)
    L_0 = -log_normal(x_0, mu, gamma2[t])
    constant = 0.5 * D * torch.log(2 * math.pi * gamma2[1])
    weight = elbo.elbo_weight(SCHEDULE, t, gamma2)
    assert torch.allclose(L_0 - constant, weight * ((eps - eps_theta) ** 2).sum(1), atol=1e-10)


def test_loss_simple_is_the_mean_squared_norm_and_differentiable():
    eps = torch.zeros(4, D)
    eps_theta = torch.ones(4, D, requires_grad=True)
    loss = elbo.loss_simple(eps_theta, eps)
    assert loss.item() == pytest.approx(D)
    loss.backward()
    assert torch.allclose(eps_theta.grad, torch.full((4, D), 2.0 / 4))


_ZEROS = torch.zeros(2, D)
_BAD_INPUTS = [
    (
        lambda: gaussian_kl(_ZEROS, torch.ones(2), _ZEROS, torch.tensor([1.0, 0.0])),
        r"var_p must be positive, got var_p\[1\] = 0.0",
    ),
    (
        lambda: gaussian_kl(_ZEROS, torch.ones(3), _ZEROS, torch.ones(2)),
        r"var_q must have shape \(B\) with B = 2",
    ),
    (
        lambda: elbo.mu_from_eps(SCHEDULE, _ZEROS, torch.tensor([0, 1]), _ZEROS),
        r"t must lie in \[1, T\] = \[1, 30\]",
    ),
    (
        lambda: elbo.mu_from_eps(SCHEDULE, _ZEROS, torch.tensor([1, 31]), _ZEROS),
        r"got t\[1\] = 31",
    ),
    (
        lambda: elbo.loss_simple(_ZEROS, torch.full((2, D), math.nan)),
        "eps must be finite",
    ),
    (
        lambda: elbo.trajectory_log_ratio(
            _wiggly_mean, SCHEDULE, torch.zeros(5, 2, D), SCHEDULE.beta
        ),
        r"x must have shape \(31, B, D\)",
    ),
    (
        lambda: elbo.trajectory_log_ratio(
            _wiggly_mean, SCHEDULE, torch.zeros(31, 2, D), torch.zeros(31)
        ),
        r"gamma2\[t\] must be positive",
    ),
]


@pytest.mark.parametrize(("call", "message"), _BAD_INPUTS)
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- Gaussian data, exactly -----------------------------------------------------------------
M = torch.tensor([1.0, -0.5], dtype=torch.float64)
V_0 = 0.25


def test_optimal_mean_is_the_conditional_mean_of_the_joint():
    # Regressing x_{t-1} on x_t over the simulated forward process of Gaussian data recovers
    # a_t and b_t of eq. elbo-gauss-reverse.
    s = linear_schedule(10)
    n = 100_000
    x_0 = M + math.sqrt(V_0) * _randn(n, D, seed=15)
    path = forward_chain(s, x_0, make_generator(16))
    model = gaussian_reverse.optimal_reverse(s, M, V_0)
    for t in (1, 4, 10):
        prev, now = path[t - 1][:, 0], path[t][:, 0]
        slope = ((prev - prev.mean()) * (now - now.mean())).mean() / now.var()
        assert abs(slope - model.slope[t]) < 5 * math.sqrt(model.gamma2[t] / now.var() / n)
        residual_var = (prev - model.mu_theta(path[t], torch.full((n,), t))[:, 0]).var()
        assert abs(residual_var - model.gamma2[t]) < 5 * model.gamma2[t] * math.sqrt(2 / n)


def test_exact_log_likelihood_matches_sampling_the_reverse_chain():
    s = linear_schedule(20)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    mean_p, var_p = model.marginals()
    n = 20_000
    g = make_generator(17)
    x = torch.randn(n, D, dtype=torch.float64, generator=g)
    for t in range(s.T, 0, -1):
        steps = torch.full((n,), t)
        x = model.mu_theta(x, steps) + model.gamma2[t].sqrt() * torch.randn(
            n, D, dtype=torch.float64, generator=g
        )
    assert torch.allclose(x.mean(0), mean_p[0], atol=5 * var_p[0].sqrt().item() / math.sqrt(n))
    assert torch.allclose(x.var(0), var_p[0].expand(D), atol=5 * var_p[0].item() * math.sqrt(2 / n))


@pytest.mark.parametrize("T", [5, 40])
def test_bound_lies_above_minus_log_likelihood_by_the_path_kl(T):
    s = linear_schedule(T)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    x_0 = M + math.sqrt(V_0) * _randn(50, D, seed=18)
    gap = gaussian_reverse.exact_bound(model, s, x_0).total + model.log_likelihood(x_0)
    assert bool((gap > 0).all())
    assert torch.allclose(gap, gaussian_reverse.path_kl(model, s, x_0), atol=1e-10)


def test_exact_bound_is_the_mean_of_the_monte_carlo_bound():
    s = linear_schedule(15)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s, "beta_tilde"))
    n = 4000
    x_0 = torch.tensor([[0.2, 0.1]], dtype=torch.float64)
    x = forward_chain(s, x_0.expand(n, D), make_generator(19))
    direct = elbo.trajectory_log_ratio(model.mu_theta, s, x, model.gamma2)
    exact = gaussian_reverse.exact_bound(model, s, x_0).total[0]
    assert abs(direct.mean() - exact) < 5 * direct.std() / math.sqrt(n)


def test_gap_falls_like_one_over_T():
    gaps = []
    for T in (100, 1000):
        s = linear_schedule(T)
        model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
        x_0 = M[None]
        gaps.append(gaussian_reverse.exact_bound(model, s, x_0).total + model.log_likelihood(x_0))
    slope = math.log(gaps[1].item() / gaps[0].item()) / math.log(10)
    assert slope == pytest.approx(-1.0, abs=0.05)


def test_true_reverse_variances_make_every_step_exact():
    # With the true conditional variances the reverse chain started from q(x_T) would be the
    # forward process itself, so only the prior's mismatch N(0, I) vs q(x_T) remains: tiny.
    s = linear_schedule(200)
    model = gaussian_reverse.optimal_reverse(s, M, V_0)
    x_0 = M + math.sqrt(V_0) * _randn(20, D, seed=20)
    gap = gaussian_reverse.exact_bound(model, s, x_0).total + model.log_likelihood(x_0)
    assert bool((gap >= -1e-10).all()) and bool((gap < 1e-3).all())


def test_random_step_estimate_is_unbiased_for_the_bound():
    # One random t per sample, x_t drawn directly from q(x_t | x_0): its mean is the bound.
    s = linear_schedule(15)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    x_0 = torch.tensor([[0.2, 0.1]], dtype=torch.float64)
    n = 200_000
    estimate = elbo.bound_estimate_random_step(
        model.mu_theta, s, x_0.expand(n, D), model.gamma2, make_generator(24)
    )
    exact = gaussian_reverse.exact_bound(model, s, x_0).total[0]
    assert abs(estimate.mean() - exact) < 5 * estimate.std() / math.sqrt(n)


def test_two_nodes_average_a_separable_quadratic_exactly():
    nodes = gaussian_reverse.gaussian_nodes(M, V_0)
    assert nodes.shape == (2, D)
    # E[x_d^2] = m_d^2 + v_0 and E[x_1 x_2] would not be exact, but sums over coordinates are.
    assert torch.allclose((nodes**2).sum(1).mean(), (M**2).sum() + D * V_0)


def test_gradient_of_the_mean_bound_vanishes_at_the_exact_reverse_model():
    s = linear_schedule(20)
    grad = gaussian_reverse.expected_bound_gradient(
        gaussian_reverse.optimal_reverse(s, M, V_0), s, M, V_0
    )
    for field in (grad.slope, grad.offset, grad.gamma2):
        assert field.abs().max() < 1e-9
    # with gamma_t^2 = beta_t the means are still optimal, the variances not
    fixed = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    grad = gaussian_reverse.expected_bound_gradient(fixed, s, M, V_0)
    assert grad.slope.abs().max() < 1e-9 and grad.gamma2.abs().max() > 1e-3


def test_chain_rule_of_the_gap_holds_exactly():
    # ex-gap-rate (a): E gap = KL(q(x_T) || p(x_T)) + sum_t E KL(step) - KL(q(x_0) || p(x_0)).
    s = linear_schedule(25)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    nodes = gaussian_reverse.gaussian_nodes(M, V_0)
    gap = (gaussian_reverse.exact_bound(model, s, nodes).total + model.log_likelihood(nodes)).mean()
    v = gaussian_reverse.marginal_variance(s, V_0)
    one = torch.ones(1, dtype=torch.float64)
    prior = gaussian_kl((s.scale[s.T] * M)[None], v[s.T] * one, 0 * M[None], one)[0]
    mean_p, var_p = model.marginals()
    kl_0 = gaussian_kl(M[None], V_0 * one, mean_p[0][None], var_p[0] * one)[0]
    steps = gaussian_reverse.reverse_step_kl(model, s, M, V_0)
    assert steps.shape == (s.T,)
    assert gap.item() == pytest.approx((prior + steps.sum() - kl_0).item(), abs=1e-12)
    # the exact reverse model has zero step KLs
    exact = gaussian_reverse.optimal_reverse(s, M, V_0)
    assert gaussian_reverse.reverse_step_kl(exact, s, M, V_0).abs().max() < 1e-14
