"""Toy data: the swiss roll's moments, its latent code, and the quadrature grid (chapter 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lecture_code.ddpm.toy_data import (
    SWISS_ROLL_TAU,
    square_grid,
    swiss_roll,
    swiss_roll_curve,
    swiss_roll_encode,
    swiss_roll_grid_slack,
    swiss_roll_moments,
)
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


# --- swiss roll ----------------------------------------------------------------------------
def test_swiss_roll_shape_dtype_and_finite():
    x = swiss_roll(500, make_generator(0))
    assert x.shape == (500, 2)
    assert x.dtype == torch.float64
    assert torch.isfinite(x).all()


def test_swiss_roll_is_standardised():
    n, noise = 200_000, 0.05
    x = swiss_roll(n, make_generator(1), noise=noise)
    # Each coordinate has mean 0 and variance 1 + noise^2; the variance of x^2 is below 10 for
    # this bounded spiral, which sets the tolerance on the second moment.
    tol_mean = monte_carlo_tolerance(math.sqrt(1 + noise**2), n)
    tol_var = monte_carlo_tolerance(math.sqrt(10.0), n)
    assert x.mean(0).abs().max() < tol_mean
    assert (x.pow(2).mean(0) - (1 + noise**2)).abs().max() < tol_var


def test_swiss_roll_moments_against_a_fine_riemann_sum():
    (m1, m2), (s1, s2) = swiss_roll_moments()
    tau = torch.linspace(1.5 * math.pi, 4.5 * math.pi, 2_000_001, dtype=torch.float64)
    a, b = tau * torch.cos(tau), tau * torch.sin(tau)
    # trapezoid rule, error O(h^2) ~ 1e-10 here
    mean = lambda f: torch.trapezoid(f, tau).item() / (3 * math.pi)  # noqa: E731
    assert mean(a) == pytest.approx(m1, abs=1e-8)
    assert mean(b) == pytest.approx(m2, abs=1e-8)
    assert math.sqrt(mean(a**2) - m1**2) == pytest.approx(s1, abs=1e-8)
    assert math.sqrt(mean(b**2) - m2**2) == pytest.approx(s2, abs=1e-8)


def test_swiss_roll_without_noise_lies_on_the_spiral():
    x = swiss_roll(100, make_generator(2), noise=0.0)
    (m1, m2), (s1, s2) = swiss_roll_moments()
    u, v = x[:, 0] * s1 + m1, x[:, 1] * s2 + m2
    radius = torch.sqrt(u**2 + v**2)  # = tau
    assert torch.allclose(torch.cos(radius) * radius, u, atol=1e-9)
    assert torch.allclose(torch.sin(radius) * radius, v, atol=1e-9)


def test_swiss_roll_seeds_reproduce():
    assert torch.equal(swiss_roll(10, make_generator(5)), swiss_roll(10, make_generator(5)))
    assert not torch.equal(swiss_roll(10, make_generator(5)), swiss_roll(10, make_generator(6)))


def test_swiss_roll_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        swiss_roll(0, make_generator(0))
    with pytest.raises(ValueError, match=r"noise must lie in \[0.0, inf\], got -0.1"):
        swiss_roll(5, make_generator(0), noise=-0.1)


# --- grid, latent code ----------------------------------------------------------------
def test_square_grid_midpoints_and_layout():
    axis, points = square_grid(1.0, 4)
    torch.testing.assert_close(axis, torch.tensor([-0.75, -0.25, 0.25, 0.75], dtype=torch.float64))
    assert points.shape == (16, 2)
    assert torch.equal(points.reshape(4, 4, 2)[1, 3], torch.stack([axis[1], axis[3]]))
    with pytest.raises(ValueError, match="n must be an integer >= 2, got 1"):
        square_grid(1.0, 1)


def test_encoder_inverts_the_decoder_on_the_curve():
    tau = torch.linspace(SWISS_ROLL_TAU[0], SWISS_ROLL_TAU[1], 4000, dtype=torch.float64)[::37]
    recovered = swiss_roll_encode(swiss_roll_curve(tau), n_grid=4000)
    torch.testing.assert_close(recovered, tau)


def test_nearest_point_code_loses_no_more_than_the_noise():
    gen = make_generator(8)
    tau = SWISS_ROLL_TAU[0] + 3 * math.pi * torch.rand(2000, generator=gen, dtype=torch.float64)
    noise = 0.1 * torch.randn(2000, 2, generator=gen, dtype=torch.float64)
    x = swiss_roll_curve(tau) + noise
    error = (x - swiss_roll_curve(swiss_roll_encode(x))).norm(dim=1)
    assert (error <= noise.norm(dim=1) + swiss_roll_grid_slack(4000)).all()


def _arc_lengths(n_grid: int) -> torch.Tensor:
    """``(n_grid - 1,)`` lengths of the curve between neighbouring grid values of tau: the
    speed |G'(tau)| from automatic differentiation, integrated by 8-point Gauss-Legendre."""
    grid = torch.linspace(*SWISS_ROLL_TAU, n_grid, dtype=torch.float64)
    nodes, weights = (torch.as_tensor(a) for a in np.polynomial.legendre.leggauss(8))
    half = 0.5 * (grid[1:] - grid[:-1])
    tau = ((grid[:-1] + half)[:, None] + half[:, None] * nodes).flatten().requires_grad_(True)
    curve = swiss_roll_curve(tau)  # each point depends on its own tau only
    velocity = torch.stack(
        [torch.autograd.grad(curve[:, i].sum(), tau, retain_graph=True)[0] for i in range(2)],
        dim=1,
    )
    speed = velocity.norm(dim=1).reshape(n_grid - 1, 8)
    return half * (speed * weights).sum(dim=1)


@pytest.mark.parametrize("n_grid", [50, 4000])
def test_grid_slack_bounds_half_the_arc_and_the_chord_is_shorter(n_grid):
    arcs = _arc_lengths(n_grid)
    grid = swiss_roll_curve(torch.linspace(*SWISS_ROLL_TAU, n_grid, dtype=torch.float64))
    chords = (grid[1:] - grid[:-1]).norm(dim=1)
    # A chord never exceeds its arc; the speed bound L * dtau / 2 never falls below half an arc.
    assert (chords <= arcs * (1 + 1e-12)).all()
    assert 0.5 * arcs.max() <= swiss_roll_grid_slack(n_grid)
    # And the bound is nearly attained: the fastest part of the spiral runs along the axis
    # with the smaller standard deviation.
    assert swiss_roll_grid_slack(n_grid) <= 1.01 * 0.5 * arcs.max()
    with pytest.raises(ValueError, match="n_grid must be an integer >= 2, got 1"):
        swiss_roll_grid_slack(1)
