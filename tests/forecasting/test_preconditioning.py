"""The preconditioning of chapter 12: closed forms against brute force and against the network."""

from __future__ import annotations

import copy

import pytest
import torch

from lecture_code.forecasting.networks import BackboneConfig, DenoiserConfig
from lecture_code.forecasting.preconditioning import (
    gaussian_posterior_variance,
    preconditioning,
    target_variance,
)
from lecture_code.seeding import make_generator


def test_the_coefficients_minimise_and_normalise_the_target_for_a_skewed_law():
    """Brute force over c on an exponential (skewed) sample: the minimiser is c_skip and the
    minimum is c_out^2, as the derivation says for any law with the same mean square."""
    g = make_generator(0)
    d = torch.empty(200_000, dtype=torch.float64).exponential_(generator=g) - 1.0
    sd = float(d.pow(2).mean().sqrt())
    eps = torch.randn(d.shape, generator=g, dtype=torch.float64)
    grid = torch.linspace(0.0, 1.0, 1001, dtype=torch.float64)
    for nu in (0.1, 1.0, 3.0):
        values = target_variance(d, eps, nu, grid)
        c = preconditioning(nu, sd)
        assert float(grid[torch.argmin(values)]) == pytest.approx(float(c["c_skip"]), abs=0.01)
        assert float(values.min()) == pytest.approx(float(c["c_out"]) ** 2, rel=0.02)


def test_the_gaussian_posterior_variance_is_c_out_squared():
    nu = torch.logspace(-2, 2, 9, dtype=torch.float64)
    exact = gaussian_posterior_variance(nu, 0.3)
    assert torch.allclose(exact, preconditioning(nu, 0.3)["c_out"] ** 2, rtol=1e-12)
    # the wrong weight 1/nu^2 is far from it at large nu
    assert float((exact / nu**2)[-1]) < 0.01


def test_the_network_implements_the_coefficients():
    """A RingDenoiser whose head outputs 1: D - m_hat is c_out at the centre and moves by
    c_skip per unit of input."""
    backbone = BackboneConfig(hidden=8, depth=1)
    net = DenoiserConfig(head_hidden=4, sigma_data=0.4).build(backbone, make_generator(1))
    net = copy.deepcopy(net)
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.fill_(1.0)
        u = torch.randn(3, 8, generator=make_generator(2))
        m_hat, features = net.condition(u)
        for nu in (0.05, 0.4, 4.0):
            level = torch.full((3,), nu)
            at = net.denoise(m_hat, level, (m_hat, features))
            moved = net.denoise(m_hat + 0.1, level, (m_hat, features))
            c = preconditioning(nu, 0.4)
            assert float((at - m_hat).mean()) == pytest.approx(float(c["c_out"]), rel=1e-4)
            assert float(((moved - at) / 0.1).mean()) == pytest.approx(float(c["c_skip"]), rel=1e-3)


def test_bad_input_names_the_value():
    with pytest.raises(ValueError, match="noise levels nu must be > 0"):
        preconditioning(torch.tensor([0.1, 0.0]), 0.3)
    with pytest.raises(ValueError, match="sigma_data"):
        preconditioning(0.1, -1.0)
    with pytest.raises(ValueError, match="nu"):
        target_variance(torch.zeros(4), torch.zeros(4), -0.1, 0.5)
    with pytest.raises(ValueError, match="noise"):
        target_variance(torch.zeros(4), torch.zeros(5), 0.1, 0.5)
