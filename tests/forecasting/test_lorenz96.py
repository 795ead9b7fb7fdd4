"""Lorenz-96: the equations, RK4 and the stochastic truth chain.

Each test checks one fact derived in chapter 9: the fixed point, the energy identity of the
advection term, the periodic indexing against a plain loop, RK4's fourth order, the variance of
the kicks, and that the deterministic step of a noisy system is asked for by name.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting.lorenz96 import (
    Lorenz96,
    advection,
    integrate,
    lead_steps,
    model_step,
    rk4_step,
    spin_up,
    tendency,
    tendency_rolled,
    trajectory,
)
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def naive_tendency(u: torch.Tensor, F: float) -> torch.Tensor:
    """Eq. (l96) with an explicit loop over sites and Python's modulo for the ring."""
    B, K = u.shape
    out = torch.empty_like(u)
    for b in range(B):
        for k in range(K):
            out[b, k] = (u[b, (k + 1) % K] - u[b, (k - 2) % K]) * u[b, (k - 1) % K] - u[b, k] + F
    return out


@pytest.fixture(scope="module")
def attractor_states() -> torch.Tensor:
    return spin_up(16, Lorenz96(sigma_xi=0.0), make_generator(1))


@pytest.mark.parametrize("K", [4, 5, 7, 40])
def test_tendency_matches_a_loop_over_sites(K):
    u = torch.randn(3, K, dtype=torch.float64, generator=make_generator(K))
    torch.testing.assert_close(tendency(u, 8.0), naive_tendency(u, 8.0), rtol=0, atol=1e-12)


def test_fixed_point_has_zero_tendency_and_stays_put():
    system = Lorenz96(sigma_xi=0.0)
    u = torch.full((2, system.K), system.F, dtype=torch.float64)
    assert torch.equal(tendency(u, system.F), torch.zeros_like(u))
    torch.testing.assert_close(model_step(u, system, None), u, rtol=0, atol=1e-13)


def test_advection_conserves_energy():
    # sum_k u_k (u_{k+1} - u_{k-2}) u_{k-1} telescopes to zero on the ring, eq. (l96-energy).
    u = 5 * torch.randn(100, 40, dtype=torch.float64, generator=make_generator(0))
    power = (u * advection(u)).sum(dim=-1)
    scale = (u.abs() ** 3).sum(dim=-1)
    assert (power.abs() / scale).max() < 1e-14


def test_energy_budget_without_advection():
    # dE/dt = -sum u_k^2 + F sum u_k, because the advection term contributes nothing.
    u = torch.randn(10, 40, dtype=torch.float64, generator=make_generator(2))
    dE = (u * tendency(u, 8.0)).sum(dim=-1)
    torch.testing.assert_close(dE, -(u**2).sum(dim=-1) + 8.0 * u.sum(dim=-1))


def test_rk4_is_fourth_order(attractor_states):
    # Error at a fixed time t = 0.4 against a much finer solution: halving dt divides it by 2^4.
    u_0, F, t_end = attractor_states[:4], 8.0, 0.4
    reference = u_0
    for _ in range(640):
        reference = rk4_step(reference, t_end / 640, F)
    errors = []
    dts = [0.04, 0.02, 0.01]
    for dt in dts:
        u = u_0
        for _ in range(round(t_end / dt)):
            u = rk4_step(u, dt, F)
        errors.append(float((u - reference).abs().max()))
    slope = (math.log(errors[0]) - math.log(errors[-1])) / (math.log(dts[0]) - math.log(dts[-1]))
    assert 3.7 < slope < 4.3, f"measured order {slope}"


def test_deterministic_without_generator_or_noise(attractor_states):
    system = Lorenz96()
    generator = make_generator(3)
    state_before = generator.get_state()
    quiet = model_step(attractor_states, Lorenz96(sigma_xi=0.0), generator)
    assert torch.equal(generator.get_state(), state_before), "sigma_xi = 0 must draw nothing"
    assert torch.equal(model_step(attractor_states, system, deterministic=True), quiet)
    assert torch.equal(model_step(attractor_states, system.deterministic), quiet)
    noisy = model_step(attractor_states, system, generator)
    assert not torch.equal(noisy, quiet)
    path = trajectory(attractor_states, 3, system, deterministic=True)
    torch.testing.assert_close(path, trajectory(attractor_states, 3, system.deterministic))


def test_a_noisy_step_without_generator_is_an_error_that_names_the_choice(attractor_states):
    # None used to give the deterministic step silently: a forgotten generator looked like
    # the truth. Now the step without kicks must be asked for.
    system = Lorenz96()
    message = r"sigma_xi = 1, p_burst = 0\) but generator is None.*deterministic=True"
    for step in (
        lambda: model_step(attractor_states, system, None),
        lambda: model_step(attractor_states, system),
        lambda: trajectory(attractor_states, 2, system, None),
    ):
        with pytest.raises(ValueError, match=message):
            step()
    with pytest.raises(ValueError, match="deterministic=True takes no kicks"):
        model_step(attractor_states, system, make_generator(0), deterministic=True)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        model_step(attractor_states, system, 0)


def test_seeds_reproduce(attractor_states):
    system = Lorenz96()
    a = trajectory(attractor_states, 5, system, make_generator(7))
    b = trajectory(attractor_states, 5, system, make_generator(7))
    c = trajectory(attractor_states, 5, system, make_generator(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.shape == (16, 6, 40)
    assert torch.equal(a[:, 0], attractor_states)


def test_one_substep_kick_has_variance_sigma_squared_dt():
    # With one substep, u_next - rk4_step(u) is exactly sigma_xi sqrt(dt) xi.
    system = Lorenz96(substeps=1, sigma_xi=1.5)
    u = torch.full((20_000, system.K), 3.0, dtype=torch.float64)
    kick = model_step(u, system, make_generator(0)) - rk4_step(u, system.dt, system.F)
    variance = kick.var(dim=0).mean()
    target = system.sigma_xi**2 * system.dt
    # Each sample variance has relative sd sqrt(2 / (n - 1)); averaging K independent sites
    # divides it by sqrt(K).
    tol = monte_carlo_tolerance(target * math.sqrt(2.0), 20_000 * system.K)
    assert abs(float(variance) - target) < tol


def test_euler_and_integrate():
    u = torch.randn(2, 6, dtype=torch.float64, generator=make_generator(13))
    euler = u
    for _ in range(3):
        euler = euler + 0.1 * tendency(euler, 8.0)
    torch.testing.assert_close(integrate(u, 0.3, 0.1, 8.0, "euler"), euler)
    torch.testing.assert_close(
        integrate(u, 0.2, 0.1, 8.0), rk4_step(rk4_step(u, 0.1, 8.0), 0.1, 8.0)
    )
    with pytest.raises(ValueError, match="time must be a whole multiple of dt"):
        integrate(u, 0.25, 0.1, 8.0)
    with pytest.raises(ValueError, match="method"):
        integrate(u, 0.2, 0.1, 8.0, "heun")


def test_spin_up_lands_inside_the_absorbing_ball():
    # dE/dt = -|u - F/2|^2 + K F^2 / 4, so the deterministic flow ends with |u|^2 <= K F^2.
    system = Lorenz96(sigma_xi=0.0)
    u = spin_up(64, system, make_generator(11))
    assert u.shape == (64, 40) and u.dtype == torch.float64
    assert float((u**2).sum(dim=-1).max()) <= system.K * system.F**2


def test_lead_steps():
    system = Lorenz96()
    assert lead_steps(0.05, system) == 1
    assert lead_steps(2.0, system) == 40
    assert lead_steps(0.15000000000000002, system) == 3
    with pytest.raises(ValueError, match=r"tau = 0\.07"):
        lead_steps(0.07, system)
    with pytest.raises(ValueError, match="tau"):
        lead_steps(-0.05, system)


def test_bad_inputs_name_the_value():
    system = Lorenz96()
    u = torch.zeros(2, 40, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"u must have shape \(B, 40\)"):
        model_step(torch.zeros(2, 36, dtype=torch.float64), system, make_generator(0))
    with pytest.raises(ValueError, match="u must be finite"):
        model_step(u.clone().fill_(float("nan")), system, make_generator(0))
    with pytest.raises(ValueError, match="dt must lie in"):
        Lorenz96(dt=0.0)
    with pytest.raises(ValueError, match="dt must lie in"):
        rk4_step(u, -0.01, 8.0)
    with pytest.raises(ValueError, match="K must be an integer >= 4"):
        Lorenz96(K=3)
    with pytest.raises(ValueError, match="sigma_xi"):
        Lorenz96(sigma_xi=-1.0)
    with pytest.raises(TypeError, match="system must be a Lorenz96"):
        model_step(u, "lorenz", None)
    with pytest.raises(ValueError, match="n_steps"):
        trajectory(u, -1, system, make_generator(0))


def test_rolled_tendency_equals_the_padded_ring():
    u = torch.randn(50, 9, generator=make_generator(4), dtype=torch.float64)
    assert torch.allclose(tendency_rolled(u, 8.0), tendency(u, 8.0), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        tendency_rolled(torch.zeros(9, dtype=torch.float64), 8.0)
