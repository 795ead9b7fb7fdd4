"""One protocol for the VP and the VE process; their marginals; refusals that name the value."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score.processes import (
    NoiseProcess,
    VEProcess,
    check_noise_process,
    marginal_moments,
    ncsn_chain,
    simulate_forward,
)
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import make_generator


def test_both_processes_meet_the_protocol_and_an_object_does_not():
    assert isinstance(VPSDE(), NoiseProcess)
    assert isinstance(VEProcess(), NoiseProcess)
    with pytest.raises(TypeError, match="lacks"):
        check_noise_process("process", object())


def test_ve_diffusion_squared_is_the_derivative_of_the_level_squared():
    ve = VEProcess(0.1, 10.0)
    t, h = 0.4, 1e-6
    derivative = (ve.level(t + h) ** 2 - ve.level(t - h) ** 2) / (2 * h)
    assert float(ve.diffusion(t) ** 2) == pytest.approx(float(derivative), rel=1e-6)
    assert float(ve.sigma(0.0)) == 0.0
    assert float(ve.scale(0.7)) == 1.0


def test_bad_times_and_levels_are_named():
    with pytest.raises(ValueError, match=r"got 1\.5"):
        VEProcess().sigma(1.5)
    with pytest.raises(ValueError, match="nan"):
        VEProcess().level(float("nan"))
    with pytest.raises(ValueError, match="sigma_min"):
        VEProcess(sigma_min=-1.0)
    with pytest.raises(ValueError, match="sigma_max"):
        VEProcess(sigma_min=1.0, sigma_max=float("inf"))


def test_vp_marginal_moments_match_simulation():
    vp = VPSDE()
    gen = torch.Generator().manual_seed(0)
    x0 = 2.0 + 0.5 * torch.randn(20000, 1, generator=gen, dtype=torch.float64)
    x = simulate_forward(vp, x0, 0.5, 200, gen)
    mean, var = marginal_moments(vp, 2.0, 0.25, 0.5)
    assert float(x.mean()) == pytest.approx(mean, abs=5 * math.sqrt(var / 20000))
    assert float(x.var()) == pytest.approx(var, abs=5 * var * math.sqrt(2 / 20000))
    # The VP process preserves unit variance.
    assert marginal_moments(vp, 0.0, 1.0, 0.8)[1] == pytest.approx(1.0)


def test_ncsn_chain_has_the_exact_ve_variance_at_every_level_where_euler_maruyama_does_not():
    ve = VEProcess(0.01, 10.0)
    n, n_levels = 40_000, 4
    x_0 = torch.zeros(n, 1, dtype=torch.float64)
    chain = ncsn_chain(ve, x_0, n_levels, make_generator(5))
    assert chain.shape == (n_levels + 1, n, 1)
    t = torch.linspace(0.0, 1.0, n_levels + 1, dtype=torch.float64)
    expected = ve.sigma(t) ** 2
    # A sample variance of Gaussians has the relative standard error sqrt(2 / n) = 0.7 %.
    rel = (chain[1:].pow(2).mean(dim=(1, 2)) / expected[1:] - 1).abs()
    assert float(rel.max()) < 5 * math.sqrt(2 / n)
    # Euler-Maruyama with the same four steps adds the left-point sums: 39 % of the variance.
    x_em = simulate_forward(ve, x_0, 1.0, n_levels, make_generator(6))
    assert float(x_em.pow(2).mean()) < 0.5 * float(expected[-1])


def test_ncsn_chain_refuses_another_process_and_no_levels():
    with pytest.raises(TypeError, match="VEProcess"):
        ncsn_chain(VPSDE(), torch.zeros(2, 2), 3, make_generator(0))
    with pytest.raises(ValueError, match="n_levels"):
        ncsn_chain(VEProcess(), torch.zeros(2, 2), 0, make_generator(0))
