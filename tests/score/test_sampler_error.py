"""Measuring a sampler's error: the closed-form W2 of diagonal Gaussians, the exact output law of
an affine sampler, the strong error, and the fitted order of convergence.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score.denoisers import gaussian_denoiser, mixture_denoiser
from lecture_code.score.grids import karras_grid, log_snr_grid, time_grid
from lecture_code.score.ode_samplers import ddim, dpm_solver_2m, heun
from lecture_code.score.sampler_error import (
    affine_pushforward,
    convergence_order,
    gaussian_start,
    gaussian_target,
    strong_error,
    w2_diagonal,
)
from lecture_code.score.sde import VPSDE
from lecture_code.score.sde_samplers import ancestral, euler_maruyama
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance

SDE = VPSDE()
MEAN = torch.tensor([2.0, -1.0], dtype=torch.float64)
VAR = torch.tensor([0.25, 1.5], dtype=torch.float64)
DENOISER = gaussian_denoiser(MEAN, VAR, SDE)

pytestmark = pytest.mark.usefixtures("one_thread")


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# --- W2 ------------------------------------------------------------------------------------------
def test_w2_in_one_dimension_is_the_bures_formula():
    # W2^2 = (m1 - m2)^2 + v1 + v2 - 2 sqrt(v1 v2), written independently
    m1, v1, m2, v2 = 0.3, 2.0, -0.4, 0.5
    bures = math.sqrt((m1 - m2) ** 2 + v1 + v2 - 2 * math.sqrt(v1 * v2))
    assert w2_diagonal(t64(m1), t64(v1), t64(m2), t64(v2)) == pytest.approx(bures, rel=1e-12)
    # coordinates add in squares
    both = w2_diagonal(t64(m1, 0.0), t64(v1, 1.0), t64(m2, 3.0), t64(v2, 4.0))
    assert both == pytest.approx(math.sqrt(bures**2 + 3.0**2 + 1.0**2), rel=1e-12)
    assert w2_diagonal(MEAN, VAR, MEAN, VAR) == 0.0


def test_w2_matches_the_sorted_coupling_of_large_samples():
    # in 1-D the optimal coupling pairs order statistics: W2^2 ~ mean of (x_(i) - y_(i))^2
    n = 200_000
    m1, v1, m2, v2 = 1.0, 0.5, -0.5, 2.0
    x = m1 + math.sqrt(v1) * torch.randn(n, dtype=torch.float64, generator=make_generator(1))
    y = m2 + math.sqrt(v2) * torch.randn(n, dtype=torch.float64, generator=make_generator(2))
    empirical = math.sqrt(float(((x.sort().values - y.sort().values) ** 2).mean()))
    exact = w2_diagonal(t64(m1), t64(v1), t64(m2), t64(v2))
    assert abs(empirical - exact) < 0.01 * exact
    # teeth: the distance of means alone (ignoring the spread) is off by far more
    assert abs(empirical - abs(m1 - m2)) > 0.05 * exact


def test_w2_refuses_mismatched_dimensions_and_non_positive_variances():
    with pytest.raises(ValueError, match="one dimension"):
        w2_diagonal(MEAN, VAR, t64(1.0), t64(1.0))
    with pytest.raises(ValueError, match=r"var must be positive, got \[0.25, -1.0\]"):
        w2_diagonal(MEAN, t64(0.25, -1.0), MEAN, VAR)


# --- the Gaussian start and target ---------------------------------------------------------------
def test_gaussian_start_and_target_in_closed_form():
    # at level nu: a = 1 / sqrt(1 + nu^2), sigma = nu a, so x_t has mean m / sqrt(1 + nu^2)
    # and variances (v + nu^2) / (1 + nu^2)
    nu = 3.0
    mean_T, var_T = gaussian_start(MEAN, VAR, SDE, nu)
    torch.testing.assert_close(mean_T, MEAN / math.sqrt(1 + nu**2))
    torch.testing.assert_close(var_T, (VAR + nu**2) / (1 + nu**2))
    # Tweedie at nu_min maps x_hat = x_0 + nu eps to m + v / (v + nu^2) (x_hat - m): variance
    # v^2 / (v + nu_min^2)
    mean_0, var_0 = gaussian_target(MEAN, VAR, SDE)
    torch.testing.assert_close(mean_0, MEAN)
    torch.testing.assert_close(var_0, VAR**2 / (VAR + SDE.nu_min**2))
    assert bool((var_0 < VAR).all())  # the jump shrinks: the target is not the data law


def test_gaussian_target_is_the_law_of_tweedie_at_t_min_by_monte_carlo():
    n = 100_000
    a, s = float(SDE.scale(SDE.t_min)), float(SDE.sigma(SDE.t_min))
    g = make_generator(3)
    x_0 = MEAN + VAR.sqrt() * torch.randn(n, 2, dtype=torch.float64, generator=g)
    x_t = a * x_0 + s * torch.randn(n, 2, dtype=torch.float64, generator=g)
    out = DENOISER(x_t, torch.full((n,), SDE.t_min, dtype=torch.float64))
    mean_0, var_0 = gaussian_target(MEAN, VAR, SDE)
    assert float((out.mean(0) - mean_0).abs().max()) < monte_carlo_tolerance(var_0.sqrt(), n)
    assert float((out.var(0) - var_0).abs().max()) < monte_carlo_tolerance(math.sqrt(2) * var_0, n)


# --- the affine push-forward ---------------------------------------------------------------------
@pytest.mark.parametrize("sampler", [ddim, heun, dpm_solver_2m])
def test_affine_pushforward_equals_a_monte_carlo_run_of_the_same_sampler(sampler):
    grid = karras_grid(SDE, 6)
    start = gaussian_start(MEAN, VAR, SDE, float(grid[0]))
    mean, var, nfe = affine_pushforward(sampler, DENOISER, SDE, grid, *start)
    n = 40_000
    x_T = start[0] + start[1].sqrt() * torch.randn(
        n, 2, dtype=torch.float64, generator=make_generator(4)
    )
    out, nfe_mc = sampler(DENOISER, SDE, grid, x_T, None)
    assert nfe == nfe_mc
    tol_mean = 5 * var.sqrt() / math.sqrt(n)  # per coordinate: 5 standard errors
    tol_var = 5 * math.sqrt(2) * var / math.sqrt(n)
    assert bool(((out.mean(0) - mean).abs() < tol_mean).all())
    assert bool(((out.var(0) - var).abs() < tol_var).all())
    # teeth: six steps leave a variance error that this Monte Carlo run resolves
    target = gaussian_target(MEAN, VAR, SDE)[1]
    assert bool(((out.var(0) - target).abs() > 2 * tol_var).any())


def test_affine_pushforward_converges_to_the_target_as_steps_grow():
    target = gaussian_target(MEAN, VAR, SDE)
    errors = []
    for n_steps in (4, 16, 64):
        grid = log_snr_grid(SDE, n_steps)
        start = gaussian_start(MEAN, VAR, SDE, float(grid[0]))
        mean, var, _ = affine_pushforward(dpm_solver_2m, DENOISER, SDE, grid, *start)
        errors.append(w2_diagonal(mean, var, *target))
    # second order in the NFE: a factor 4 in steps divides the error by about 16
    assert 10 < errors[1] / errors[2] < 22 and errors[2] < 3e-3
    # mean preserved exactly: each step combines x and x_hat_0 whose means are both right
    torch.testing.assert_close(mean, MEAN)


def test_affine_pushforward_refuses_stochastic_samplers_and_nonlinear_denoisers():
    grid = time_grid(SDE, 5)
    start = gaussian_start(MEAN, VAR, SDE, float(grid[0]))
    for sampler in (euler_maruyama, ancestral, functools.partial(heun, s_churn=1.0)):
        with pytest.raises(ValueError, match="not an affine diagonal map"):
            affine_pushforward(sampler, DENOISER, SDE, grid, *start)
    mixture = mixture_denoiser(toy_mixture(), SDE)
    with pytest.raises(ValueError, match="not an affine diagonal map"):
        affine_pushforward(ddim, mixture, SDE, grid, *start)

    def coupled(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return DENOISER(x_t, t) + 0.1 * x_t.flip(1)  # affine but not diagonal

    with pytest.raises(ValueError, match="not an affine diagonal map"):
        affine_pushforward(ddim, coupled, SDE, grid, *start)


# --- strong error and orders ---------------------------------------------------------------------
def test_strong_error_of_known_shifts():
    ref = torch.randn(2, 3, 4, dtype=torch.float64, generator=make_generator(5))
    shift = torch.zeros_like(ref)
    shift[0, 0, 0], shift[1, 2, 1] = 3.0, 4.0
    assert strong_error(ref + shift, ref) == pytest.approx(math.sqrt((9 + 16) / 2), rel=1e-12)
    # a shift of every entry by c: the norm of each row is c sqrt(12)
    assert strong_error(ref + 0.5, ref) == pytest.approx(0.5 * math.sqrt(12), rel=1e-12)
    assert strong_error(ref, ref) == 0.0
    with pytest.raises(ValueError, match="reference"):
        strong_error(ref, ref[:, :2])


def test_convergence_order_recovers_p_from_c_nfe_to_the_minus_p():
    nfe = [5, 10, 20, 40, 80]
    for p in (0.5, 1.0, 2.0, 3.0):
        error = [7.0 * n ** (-p) for n in nfe]
        assert convergence_order(nfe, error) == pytest.approx(p, abs=1e-12)
    # least squares: a multiplicative wobble around C nfe^-2 leaves the slope near 2
    wobble = [1.1, 0.9, 1.1, 0.9, 1.0]
    assert convergence_order(
        nfe, [w * n**-2.0 for w, n in zip(wobble, nfe, strict=True)]
    ) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("nfe", "error", "match"),
    [
        ([10], [0.1], r"nfe must hold >= 2 distinct values >= 1, got \[10.0\]"),
        ([10, 10], [0.1, 0.2], r"distinct values >= 1, got \[10.0, 10.0\]"),
        ([0, 10], [0.1, 0.2], r"got \[0.0, 10.0\]"),
        ([5, 10], [0.1, 0.0], r"error must be positive .*got \[0.1, 0.0\]"),
        ([5, 10], [0.1, -1.0], r"got \[0.1, -1.0\]"),
        ([5, 10, 20], [0.1, 0.2], "error"),
    ],
)
def test_convergence_order_refuses_what_has_no_slope(nfe, error, match):
    with pytest.raises(ValueError, match=match):
        convergence_order(nfe, error)
