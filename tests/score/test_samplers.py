"""Samplers with the exact score: they must reproduce the target, with the expected order.

With the exact score of a Gaussian or of a Gaussian mixture (both known in closed form at every
noise level), the only error of a sampler is its discretisation. Euler–Maruyama is first order
in the weak sense (the error of a moment halves when the steps double); Heun and DPM-Solver++
are second order (it quarters). The probability-flow ODE of a Gaussian has an exact solution,
so the ODE samplers' error is measured path by path, without Monte Carlo noise.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score.samplers import (
    SAMPLERS,
    dpm_solver_2m,
    dpm_solver_2s,
    euler_maruyama,
    heun,
    karras_grid,
    log_snr_grid,
    time_grid,
)
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance

SDE = VPSDE()
MU, S = 2.0, 0.5  # the 1-D Gaussian target N(MU, S^2)


pytestmark = pytest.mark.usefixtures("one_thread")


def gaussian_score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Exact score of p_t for x_0 ~ N(MU, S^2) in every coordinate."""
    scale = SDE.scale(t).to(x.dtype).reshape(-1, *[1] * (x.ndim - 1))
    std = SDE.sigma(t).to(x.dtype).reshape(-1, *[1] * (x.ndim - 1))
    return -(x - scale * MU) / (scale**2 * S**2 + std**2)


def exact_ode_sample(x_T: torch.Tensor) -> torch.Tensor:
    """Where the exact probability-flow ODE takes x_T, followed by Tweedie's jump at t_min.

    In x_hat = x / a(t) the ODE transports N(MU, S^2 + nu^2) by the affine map
    x_hat -> MU + sqrt(S^2 + nu'^2) / sqrt(S^2 + nu^2) (x_hat - MU); the Tweedie jump at
    nu_min is the posterior mean MU + S^2 / (S^2 + nu_min^2) (x_hat - MU).
    """
    lo, hi = SDE.nu_min, SDE.nu_max
    x_hat = x_T / float(SDE.scale(1.0))
    x_min = MU + math.sqrt(S**2 + lo**2) / math.sqrt(S**2 + hi**2) * (x_hat - MU)
    return MU + S**2 / (S**2 + lo**2) * (x_min - MU)


def fitted_order(n_evals: list[int], errors: list[float]) -> float:
    """Minus the least-squares slope of log(error) against log(nfe)."""
    x = torch.log(torch.tensor(n_evals, dtype=torch.float64))
    y = torch.log(torch.tensor(errors, dtype=torch.float64))
    x, y = x - x.mean(), y - y.mean()
    return float(-(x * y).sum() / (x * x).sum())


# --- grids -------------------------------------------------------------------------------------
def test_grids_run_from_the_prior_to_t_min_and_end_at_zero_noise():
    t = time_grid(SDE, 5)
    assert t[0] == 1.0 and t[-1] == pytest.approx(SDE.t_min) and bool((t[1:] < t[:-1]).all())
    for grid in (karras_grid(SDE, 6), log_snr_grid(SDE, 6)):
        assert grid.shape == (7,) and grid[-1] == 0.0 and bool((grid[1:] < grid[:-1]).all())
        assert grid[0] == pytest.approx(SDE.nu_max) and grid[-2] == pytest.approx(SDE.nu_min)
    # uniform in the log-SNR: lambda = -2 log nu = log SNR(t) at the grid's times
    nus = log_snr_grid(SDE, 6)[:-1]
    log_snr = SDE.log_snr(SDE.t_from_nu(nus))
    torch.testing.assert_close(log_snr, -2 * torch.log(nus))
    steps = torch.diff(log_snr)
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps[0])))


# --- the target distribution ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "n_steps"),
    [("euler_maruyama", 400), ("heun", 40), ("dpm_solver_2s", 40), ("dpm_solver_2m", 40)],
)
def test_samplers_with_the_exact_score_reproduce_a_gaussian(name, n_steps):
    n = 20_000
    generator = make_generator(3)
    x_T = torch.randn(n, 2, dtype=torch.float64, generator=generator)
    x_0, _ = SAMPLERS[name](gaussian_score, SDE, x_T, n_steps, generator)
    # 5 standard errors of the mean (S / sqrt(n)) and of the standard deviation
    # (S / sqrt(2n)), plus the measured discretisation error at these steps (< 0.3% of S).
    tol_mean = monte_carlo_tolerance(S, n) + 0.005 * S
    tol_std = monte_carlo_tolerance(S, 2 * n) + 0.005 * S
    assert float((x_0.mean(dim=0) - MU).abs().max()) <= tol_mean
    assert float((x_0.std(dim=0) - S).abs().max()) <= tol_std


@pytest.mark.parametrize("name", ["euler_maruyama", "dpm_solver_2m"])
def test_samplers_with_the_exact_score_reproduce_the_toy_mixture(name):
    mixture = toy_mixture()

    def score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # The samplers call with one time for the whole batch; p_t is the noised mixture.
        t0 = float(t[0])
        noised = mixture.noised(float(SDE.scale(t0)), float(SDE.sigma(t0)))
        return noised.score(x.to(torch.float64)).to(x.dtype)

    n = 8_000
    generator = make_generator(4)
    x_T = torch.randn(n, mixture.D, dtype=torch.float64, generator=generator)
    x_0, _ = SAMPLERS[name](score, SDE, x_T, 200 if name == "euler_maruyama" else 40, generator)
    spread = float(mixture.covariance.diagonal().sqrt().max())
    # 5 standard errors of each coordinate's mean; the discretisation error is far smaller.
    tol = monte_carlo_tolerance(spread, n) + 0.01 * spread
    assert float((x_0.mean(dim=0) - mixture.mean).abs().max()) <= tol
    # second moments: 5 standard errors of a variance, about sqrt(2) var / sqrt(n) each for a
    # Gaussian; the mixture's fourth moments are larger, so allow twice that.
    cov = torch.cov(x_0.T)
    tol_cov = 2 * monte_carlo_tolerance(math.sqrt(2) * spread**2, n) + 0.02 * spread**2
    assert float((cov - mixture.covariance).abs().max()) <= tol_cov


# --- orders of convergence -----------------------------------------------------------------------
def test_euler_maruyama_is_first_order_in_the_weak_sense():
    n = 100_000
    generator = make_generator(5)
    steps, errors = [8, 16, 32], []
    for n_steps in steps:
        x_T = torch.randn(n, 1, dtype=torch.float64, generator=generator)
        x_0, _ = euler_maruyama(gaussian_score, SDE, x_T, n_steps, generator)
        errors.append(abs(float(x_0.mean()) - MU))
    # The weak error of the mean (0.18, 0.08, 0.04 here) is 15 to 70 Monte Carlo standard
    # errors (S / sqrt(n) = 0.0016), so the fitted slope is the discretisation's.
    assert min(errors) > 10 * S / math.sqrt(n)
    assert 0.8 <= fitted_order(steps, errors) <= 1.4


@pytest.mark.parametrize(
    ("sampler", "steps"),
    [(heun, [8, 16, 32, 64]), (dpm_solver_2s, [8, 16, 32, 64]), (dpm_solver_2m, [16, 32, 64, 128])],
)
def test_ode_samplers_are_second_order(sampler, steps):
    x_T = torch.randn(500, 1, dtype=torch.float64, generator=make_generator(6))
    reference = exact_ode_sample(x_T)
    n_evals, errors = [], []
    for n_steps in steps:
        x_0, nfe = sampler(gaussian_score, SDE, x_T, n_steps)
        n_evals.append(nfe)
        errors.append(float((x_0 - reference).abs().max()))
    assert errors[-1] < 1e-2
    assert 1.7 <= fitted_order(n_evals, errors) <= 2.5


# --- bookkeeping ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "n_steps", "expected"),
    [
        ("euler_maruyama", 1, 1),
        ("euler_maruyama", 7, 7),
        ("heun", 1, 1),
        ("heun", 10, 19),
        ("dpm_solver_2s", 10, 19),
        ("dpm_solver_2m", 20, 20),
    ],
)
def test_nfe_is_the_number_of_score_calls(name, n_steps, expected):
    calls = []

    def counting_score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append(t.shape)
        return gaussian_score(x, t)

    x_T = torch.randn(3, 4, generator=make_generator(7))
    _, nfe = SAMPLERS[name](counting_score, SDE, x_T, n_steps, make_generator(8))
    assert nfe == len(calls) == expected
    assert all(shape == (3,) for shape in calls)  # one time per row of the batch


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_any_state_shape_gives_finite_samples_of_that_shape(name):
    x_T = torch.randn(5, 2, 3, generator=make_generator(9))
    x_0, _ = SAMPLERS[name](gaussian_score, SDE, x_T, 5, make_generator(10))
    assert x_0.shape == (5, 2, 3) and x_0.dtype == torch.float32
    assert bool(torch.isfinite(x_0).all())


def test_seeds_reproduce_and_differ():
    x_T = torch.randn(50, 2, generator=make_generator(11))
    a, _ = euler_maruyama(gaussian_score, SDE, x_T, 20, make_generator(1))
    b, _ = euler_maruyama(gaussian_score, SDE, x_T, 20, make_generator(1))
    c, _ = euler_maruyama(gaussian_score, SDE, x_T, 20, make_generator(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_steps": 0}, ValueError, "n_steps must be an integer >= 1, got 0"),
        ({"x_T": torch.tensor([[0.0, float("nan")]])}, ValueError, "x_T must be finite"),
        ({"sde": "vp"}, TypeError, "sde must be a VPSDE"),
        ({"score_fn": lambda x, t: x[:, :1]}, ValueError, "score_fn must return the shape"),
    ],
)
@pytest.mark.parametrize("name", ["euler_maruyama", "heun", "dpm_solver_2m"])
def test_bad_inputs_raise_errors_naming_the_value(name, kwargs, error, match):
    arguments = {
        "score_fn": gaussian_score,
        "sde": SDE,
        "x_T": torch.zeros(2, 2),
        "n_steps": 3,
        "generator": make_generator(0),
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        SAMPLERS[name](**arguments)
