"""Reverse SDE, probability-flow ODE and exact likelihoods, against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.mixture import gaussian
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score.likelihood import (
    divergence,
    hutchinson_divergence,
    mixture_score,
    ode_log_likelihood,
    pf_ode_solve,
    reverse_sde_sample,
)
from lecture_code.score.sde import VPSDE


def test_divergence_of_a_linear_field_is_the_trace():
    A = torch.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(divergence(lambda y: y @ A.T, x), torch.full((5,), -3.0).double())
    est = hutchinson_divergence(lambda y: y @ A.T, x[:1], 4000, torch.Generator().manual_seed(0))
    assert float(est.mean()) == pytest.approx(-3.0, abs=5 * float(est.std()) / math.sqrt(4000))
    rad = hutchinson_divergence(
        lambda y: y @ A.T, x[:1], 10, torch.Generator().manual_seed(0), kind="rademacher"
    )
    # Rademacher: v^T A v = trace + (A_12 + A_21) v_1 v_2, two values only.
    assert set(rad.flatten().round().tolist()) <= {-8.0, 2.0}


def test_ode_likelihood_of_gaussian_data_is_exact():
    vp = VPSDE()
    data = gaussian(torch.tensor([0.5, -1.0]), torch.tensor([[0.3, 0.1], [0.1, 0.2]]))
    score = mixture_score(data, vp)
    prior = data.noised(float(vp.scale(1.0)), float(vp.sigma(1.0)))
    x = data.sample(4, torch.Generator().manual_seed(1))
    ll = ode_log_likelihood(vp, score, prior.log_prob, x, 40)
    torch.testing.assert_close(ll, data.log_prob(x), atol=1e-4, rtol=0)


def test_ode_round_trip_and_reverse_sde_moments():
    vp = VPSDE()
    mix = toy_mixture()
    score = mixture_score(mix, vp)
    x = mix.sample(4, torch.Generator().manual_seed(2))
    back = pf_ode_solve(vp, score, pf_ode_solve(vp, score, x, 0.0, 1.0, 60), 1.0, 0.0, 60)
    torch.testing.assert_close(back, x, atol=1e-5, rtol=0)
    gen = torch.Generator().manual_seed(3)
    x1 = torch.randn(4000, 2, generator=gen, dtype=torch.float64)
    out = reverse_sde_sample(vp, score, x1, 200, gen)
    tol = 5 * out.std(dim=0) / math.sqrt(4000) + 0.02  # + Euler-Maruyama bias at 200 steps
    assert ((out.mean(dim=0) - mix.mean).abs() < tol).all()
