"""sigma_data from training pairs: the conditional spread of the one-step residual, against a
large oracle ensemble on both truths; the quadratic regression, the plausible shortcut, is
measurably worse."""

from __future__ import annotations

import pytest
import torch

from lecture_code.forecasting.conditional_spread import estimate_sigma_data, window_features
from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step, spin_up
from lecture_code.seeding import make_generator

TRUTHS = {"gaussian": Lorenz96(), "bursty": Lorenz96(p_burst=0.002, J_burst=2.0)}


def test_window_features_are_the_monomials_up_to_degree_three():
    u = torch.randn(2, 8, dtype=torch.float64, generator=make_generator(0))
    X = window_features(u, 1, 1)  # W = 3: 1 + 3 + 6 + 10 monomials
    assert X.shape == (16, 20)
    w = torch.stack([torch.roll(u, 1, 1), u, torch.roll(u, -1, 1)], -1).reshape(-1, 3)
    torch.testing.assert_close(X[:, 1:4], w)
    torch.testing.assert_close(X[:, -1], w[:, 2] ** 3)


@pytest.mark.parametrize("track", list(TRUTHS))
def test_the_estimate_is_the_oracle_s_conditional_spread(track):
    system = TRUTHS[track]
    g = make_generator(1)
    u = spin_up(600, system, g, time=4.0)
    u_next = model_step(u, system, g)
    scaling = Scaling.fit(u, u_next)
    estimate = estimate_sigma_data(u, u_next, scaling)
    draws = model_step(u[:150].repeat_interleave(64, 0), system, g).reshape(150, 64, -1)
    exact = float(draws.var(dim=1).mean().sqrt()) / scaling.r_std
    assert estimate == pytest.approx(exact, rel=0.05)
    with pytest.raises(ValueError, match="u_next must have shape"):
        estimate_sigma_data(u, u_next[:, :3], scaling)
