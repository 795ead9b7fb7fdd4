"""Super-resolution and outpainting: the exact field denoiser against the Gaussian posterior mean,
the affine sampler map, the network's shapes and its preconditioning limit, outpainting's seams
and constraints, and bad settings named."""

from __future__ import annotations

import pytest
import torch

from lecture_code.score import random_fields as rf
from lecture_code.score import super_resolution as sr
from lecture_code.score.denoisers import gaussian_denoiser
from lecture_code.score.grids import karras_grid
from lecture_code.score.sde import VPSDE

SDE = VPSDE()


def test_field_denoiser_with_diagonal_covariance_is_the_gaussian_denoiser():
    mean = torch.tensor([0.5, -1.0, 0.0], dtype=torch.float64)
    var = torch.tensor([0.3, 1.0, 2.0], dtype=torch.float64)
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(0.01, 0.9, 7, dtype=torch.float64)
    expected = gaussian_denoiser(mean, var, SDE)(x, t)
    got = sr.gaussian_field_denoiser(mean, torch.diag(var), SDE)(x, t)
    assert torch.allclose(got, expected)


def test_field_denoiser_is_the_posterior_mean_by_direct_inversion():
    C = rf.circulant_covariance(rf.power_law_spectrum(8, 2.0))
    x = torch.randn(4, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = torch.full((4,), 0.4, dtype=torch.float64)
    a, s = SDE.scale(0.4), SDE.sigma(0.4)
    expected = x @ (a * C @ torch.linalg.inv(a**2 * C + s**2 * torch.eye(8))).T
    got = sr.gaussian_field_denoiser(torch.zeros(8, dtype=torch.float64), C, SDE)(x, t)
    assert torch.allclose(got, expected, atol=1e-10)


def test_affine_sampler_map_reproduces_the_sampler():
    C = rf.circulant_covariance(rf.power_law_spectrum(8, 2.0))
    den = sr.gaussian_field_denoiser(torch.ones(8, dtype=torch.float64), C, SDE)
    grid = karras_grid(SDE, 10)
    A, b = sr.affine_sampler_map("heun", den, SDE, grid, 8)
    from lecture_code.score.ode_samplers import heun

    x_T = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    out, _ = heun(den, SDE, grid, x_T, None)
    assert torch.allclose(out, x_T @ A.T + b, atol=1e-10)
    # many steps: the output covariance tends to C
    A, _ = sr.affine_sampler_map("heun", den, SDE, karras_grid(SDE, 100), 8)
    assert torch.allclose(A @ A.T, C, atol=5e-3)


def test_network_shapes_and_exact_limit_at_high_noise():
    config = sr.SuperResolutionConfig(n=16, m=4, hidden=8, steps=1, n_data=4)
    net = sr.SuperResolutionNet(config, v=0.2)
    x = torch.randn(5, 16, dtype=torch.float64)
    y = torch.randn(5, 4, dtype=torch.float64)
    t = torch.full((5,), 0.5, dtype=torch.float64)
    assert net(x, y, t, SDE).shape == (5, 16)
    with pytest.raises(ValueError, match="y"):
        net(x, torch.randn(5, 3), t, SDE)


def test_window_conditional_reproduces_the_known_sites():
    C = rf.circulant_covariance(rf.power_law_spectrum(64, 2.0))[:16, :16]
    K, S = sr.window_conditional(C, 4)
    assert torch.allclose(K[:4], torch.eye(4, dtype=torch.float64), atol=1e-10)
    assert S[:4].abs().max() < 1e-10
    K0, S0 = sr.window_conditional(C, 0)
    assert K0.shape == (16, 0) and torch.equal(S0, C)


def test_outpaint_seams_and_continuity_of_the_overlap():
    C = rf.circulant_covariance(rf.power_law_spectrum(256, 2.0))[:16, :16]
    fields, seams = sr.outpaint(C, 40, 4, SDE, 3, 5, torch.Generator().manual_seed(0))
    assert fields.shape == (3, 40)
    assert seams == [16, 28]
    with pytest.raises(ValueError, match="overlap"):
        sr.outpaint(C, 40, 16, SDE, 3, 5, torch.Generator())


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="m = 5 must divide"):
        sr.SuperResolutionConfig(m=5)
    with pytest.raises(ValueError, match=r"alpha = 0\.5"):
        sr.SuperResolutionConfig(alpha=0.5)
    with pytest.raises(ValueError, match="mean must have shape"):
        sr.gaussian_field_denoiser(torch.zeros(3), torch.eye(4, dtype=torch.float64), SDE)
    with pytest.raises(ValueError, match="sampler"):
        sr.affine_sampler_map("ancestral", None, SDE, karras_grid(SDE, 2), 2)
