"""Chaos in Lorenz-96: the tangent linear model, Lyapunov exponents, the one-step variance of
the truth, error growth and autocorrelation.

Each test checks one fact derived in chapter 9: the tangent linear model against automatic
differentiation, the closed-form eigenvalues at the fixed point, the phase-space contraction
that fixes the sum of all Lyapunov exponents, the published leading exponent, and the
linear-noise formula of the one-step variance against brute force and simulation.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting.chaos import (
    autocorrelation,
    fixed_point_eigenvalues,
    fixed_point_stability,
    lyapunov_exponent,
    lyapunov_qr,
    one_step_variance,
    perturbation_growth,
    rk4_tangent_step,
    skewness,
    tangent_tendency,
)
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step, rk4_step, spin_up, tendency
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance

# torch.func imports TorchScript helpers that warn about their own deprecation on first use.
TORCH_FUNC_WARNING = "ignore:`torch.jit.script` is deprecated:DeprecationWarning"


@pytest.fixture(scope="module")
def attractor_states() -> torch.Tensor:
    return spin_up(16, Lorenz96(sigma_xi=0.0), make_generator(1))


@pytest.mark.filterwarnings(TORCH_FUNC_WARNING)
def test_one_step_variance_matches_brute_force_jacobians(attractor_states):
    # sigma^2 dt sum_j diag(M_j M_j^T), with M_j the Jacobian of the substeps after kick j,
    # here from automatic differentiation of the composed RK4 substeps.
    system = Lorenz96(sigma_xi=0.7)
    u = attractor_states[0]
    expected = torch.zeros(system.K, dtype=torch.float64)
    w = u
    for j in range(1, system.substeps + 1):
        w = rk4_step(w[None], system.dt, system.F)[0]  # the state just before kick j
        rest = system.substeps - j

        def remaining(x, rest=rest):
            for _ in range(rest):
                x = rk4_step(x[None], system.dt, system.F)[0]
            return x

        M_j = torch.func.jacrev(remaining)(w)
        expected += system.sigma_xi**2 * system.dt * (M_j**2).sum(dim=1)
    torch.testing.assert_close(one_step_variance(u[None], system)[0], expected)


def test_one_step_variance_against_simulation():
    # To first order in sigma the one-step covariance is the linear-noise formula; its site
    # average is sigma^2 Delta (1 + O(Delta)).
    system = Lorenz96(sigma_xi=0.05)
    n = 20_000
    u = system.F + 0.5 * torch.randn(1, system.K, dtype=torch.float64, generator=make_generator(4))
    samples = model_step(u.expand(n, -1), system, make_generator(5))
    variance = one_step_variance(u, system).mean()
    measured = samples.var(dim=0).mean()
    # Each site's sample variance has relative sd sqrt(2 / (n - 1)); K sites are averaged.
    tol = monte_carlo_tolerance(float(variance) * math.sqrt(2.0), n * system.K, z=6.0)
    assert abs(float(measured - variance)) < tol
    leading = system.sigma_xi**2 * system.Delta
    assert abs(float(variance) / leading - 1.0) < 0.15  # O(Delta |J|) corrections, |J| ~ F
    assert abs(float(variance) / leading - 1.0) > 1e-3  # ... which are really there


def test_one_substep_has_no_propagated_kick():
    # With one substep M_1 = I exactly: the variance is sigma^2 dt whatever the state.
    system = Lorenz96(substeps=1, sigma_xi=2.0)
    u = torch.randn(3, system.K, dtype=torch.float64, generator=make_generator(12))
    expected = torch.full_like(u, system.sigma_xi**2 * system.dt)
    torch.testing.assert_close(one_step_variance(u, system), expected)


def test_fixed_point_eigenvalues_are_those_of_the_jacobian():
    K, F = 12, 8.0
    u = torch.full((1, K), F, dtype=torch.float64)
    J = tangent_tendency(u, torch.eye(K, dtype=torch.float64)[None])[0]
    numeric = torch.linalg.eigvals(J)
    closed = fixed_point_eigenvalues(K, F)
    # Every closed-form eigenvalue is an eigenvalue of J, and vice versa (distances < 1e-9).
    distance = (numeric[:, None] - closed[None, :]).abs()
    assert float(distance.min(dim=0).values.max()) < 1e-9
    assert float(distance.min(dim=1).values.max()) < 1e-9
    # The fixed point is unstable for F = 8: some mode grows (here m = 8 of K = 40, rate 7.94).
    growth = fixed_point_eigenvalues(40, 8.0).real
    assert int(growth.argmax()) in (8, 32) and float(growth.max()) > 7.9
    # ... and stable for F < 8/9, where every real part F (cos θ - cos 2θ) - 1 is negative.
    assert float(fixed_point_eigenvalues(40, 0.85).real.max()) < 0


def test_perturbation_growth_starts_at_eps_and_grows(attractor_states):
    system = Lorenz96()
    rms = perturbation_growth(attractor_states[:4], 1e-6, 5, 40, system, make_generator(14))
    assert rms.shape == (4, 5, 41)
    # At lead 0 the distance is eps times the RMS of 40 standard normals, close to eps.
    assert 0.6e-6 < float(rms[..., 0].min()) and float(rms[..., 0].max()) < 1.5e-6
    # Two time units later it is e^(2 lambda_1) ~ 30 times larger, on average.
    growth = (rms[..., -1].log() - rms[..., 0].log()).mean()
    assert 2.0 < float(growth) < 5.0


def test_autocorrelation_matches_brute_force():
    u = torch.randn(3, 50, 4, dtype=torch.float64, generator=make_generator(15)).cumsum(dim=1)
    acf = autocorrelation(u, 5)
    x = (u - u.mean()).numpy()
    for lag in range(6):
        brute = (x[:, : 50 - lag] * x[:, lag:]).mean() / (x**2).mean()
        assert abs(float(acf[lag]) - brute) < 1e-12
    assert float(acf[0]) == pytest.approx(1.0)


@pytest.mark.filterwarnings(TORCH_FUNC_WARNING)
def test_tangent_step_is_the_derivative_of_the_rk4_step(attractor_states):
    u = attractor_states[:3]
    v = torch.randn(3, 40, 2, dtype=torch.float64, generator=make_generator(6))
    _, v_next = rk4_tangent_step(u, v, 0.01, 8.0)
    for i in range(2):
        _, jvp = torch.func.jvp(lambda x: rk4_step(x, 0.01, 8.0), (u,), (v[..., i],))
        torch.testing.assert_close(v_next[..., i], jvp, rtol=1e-12, atol=1e-12)
    # ... and the tangent tendency is the Jacobian of the tendency.
    _, jvp = torch.func.jvp(lambda x: tendency(x, 8.0), (u,), (v[..., 0],))
    torch.testing.assert_close(tangent_tendency(u, v)[..., 0], jvp)


def test_sum_of_all_lyapunov_exponents_is_minus_K(attractor_states):
    # Advection is divergence-free and the damping contracts volumes at rate K, so the K
    # exponents sum to the trace of the Jacobian, -K, at every step (up to RK4's error).
    system = Lorenz96(K=8, sigma_xi=0.0)
    u_0 = spin_up(2, system, make_generator(9))
    run = lyapunov_qr(u_0, 20, system, make_generator(10), n_exponents=system.K)
    rate = run.log_growth.sum(dim=-1) / system.Delta
    # RK4's determinant differs from exp(-K dt) by its local error, a few 1e-6 relative here.
    torch.testing.assert_close(rate, torch.full_like(rate, -float(system.K)), rtol=1e-5, atol=0)


def test_leading_lyapunov_exponent_in_published_range():
    # Karimi and Paul (2010) and others report about 1.7 per time unit for K = 40, F = 8.
    lam = lyapunov_exponent(Lorenz96(), make_generator(0), time=10.0, B=16)
    assert 1.4 < lam < 2.0


def _largest_rate(K: int, F: float) -> float:
    """The largest real part of the eigenvalues of the Jacobian matrix at u = F."""
    u = torch.full((1, K), F, dtype=torch.float64)
    J = tangent_tendency(u, torch.eye(K, dtype=torch.float64)[None])[0]
    return float(torch.linalg.eigvals(J).real.max())


@pytest.mark.parametrize("K", [4, 5, 7, 8, 12, 40])
def test_fixed_point_loses_stability_at_the_hopf_thresholds(K):
    # Just inside the interval every rate is negative; just outside one is positive.
    F_minus, F_plus = fixed_point_stability(K)
    assert F_minus < 0 < F_plus
    for F_c in (F_minus, F_plus):
        assert _largest_rate(K, 0.999 * F_c) < 0 < _largest_rate(K, 1.001 * F_c)


def test_hopf_threshold_tends_to_eight_ninths_and_minus_one_half():
    # 8/9 = 1 / max b and -1/2 = 1 / min b on the continuous circle; finite rings sit outside.
    gaps = [fixed_point_stability(K)[1] - 8 / 9 for K in (40, 400, 4000)]
    assert all(gap > 0 for gap in gaps) and gaps[0] > gaps[1] > gaps[2]
    # quadratic approach: |b''| <= 5 and the grid is within pi/K of arccos(1/4)
    rings = (40, 400, 4000)
    assert all(gap <= 2.5 * (math.pi / K) ** 2 for gap, K in zip(gaps, rings, strict=True))
    assert fixed_point_stability(40) == pytest.approx((-0.5, 2 / math.sqrt(5)), abs=1e-12)
    assert fixed_point_stability(41)[0] < -0.5  # odd K: theta = pi is not on the grid


def test_skewness_of_known_laws():
    g = make_generator(3)
    n = 200_000
    gaussian = torch.randn(n, generator=g, dtype=torch.float64)
    exponential = -torch.log(torch.rand(n, generator=g, dtype=torch.float64))
    tol = 5 * math.sqrt(6 / n)  # five standard errors of a Gaussian sample's skewness
    assert abs(float(skewness(gaussian))) < tol
    assert float(skewness(exponential)) == pytest.approx(2.0, abs=0.1)  # skewness of Exp(1)
    assert float(skewness(-exponential)) == pytest.approx(-2.0, abs=0.1)
    # axes: one value per row; invariant under shift and positive scaling
    x = torch.randn(3, 1000, generator=g, dtype=torch.float64)
    assert skewness(x, dim=1).shape == (3,)
    assert torch.allclose(skewness(5 + 2 * x, dim=1), skewness(x, dim=1))
