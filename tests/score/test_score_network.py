"""The score network of chapter 5: its loss is sigma^2 times DSM, its output is divided by the
noise level, the exact score makes the error measurement vanish, and bad input is named."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.denoiser import MixtureOracle
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score import score_matching as sm
from lecture_code.score.score_network import (
    ScoreNetConfig,
    ScoreNetwork,
    trained_score_network,
    weighted_dsm_loss,
)
from lecture_code.seeding import make_generator

pytestmark = pytest.mark.usefixtures("one_thread")


def test_weighted_loss_is_sigma_squared_times_dsm_at_a_fixed_level():
    # Any score function will do: the identity is algebra, per draw.
    g = make_generator(0)
    x = torch.randn(50, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(50, 2, generator=g, dtype=torch.float64)
    sigma = 0.3

    def score(y):
        return -y / (1 + sigma**2)

    dsm = sm.denoising_score_matching(score, x, eps, 1.0, sigma)
    weighted = weighted_dsm_loss(score(x + sigma * eps), eps, torch.full((50,), sigma))
    torch.testing.assert_close(weighted, sigma**2 * dsm)
    # The unweighted loss differs by the factor 1/sigma^2 = 11.1, far outside rounding.
    assert not torch.allclose(weighted, dsm, rtol=0.5)


def test_weighted_loss_refuses_bad_levels_and_shapes():
    s, e = torch.zeros(4, 2), torch.zeros(4, 2)
    with pytest.raises(ValueError, match="sigma must be positive"):
        weighted_dsm_loss(s, e, torch.tensor([0.1, 0.2, 0.0, 0.3]))
    with pytest.raises(ValueError, match="sigma"):
        weighted_dsm_loss(s, e, torch.ones(3))
    with pytest.raises(ValueError, match="eps"):
        weighted_dsm_loss(s, torch.zeros(4, 3), torch.ones(4))


def test_network_output_is_its_body_divided_by_sigma():
    net = ScoreNetwork(ScoreNetConfig(hidden=8, depth=1, embed_dim=4))
    x = torch.randn(6, 2, generator=make_generator(1))
    sigma = torch.tensor([0.02, 0.05, 0.1, 0.5, 1.0, 2.0])
    with torch.no_grad():
        body = net.body(x, -2 * torch.log(sigma))
        torch.testing.assert_close(net(x, sigma) * sigma[:, None], body)


def test_network_refuses_non_positive_levels_and_wrong_shapes():
    net = ScoreNetwork(ScoreNetConfig(hidden=8, depth=1, embed_dim=4))
    with pytest.raises(ValueError, match="sigma must be positive"):
        net(torch.zeros(2, 2), torch.tensor([0.1, -0.1]))
    with pytest.raises(ValueError, match="x"):
        net(torch.zeros(2, 3), torch.ones(2))
    with pytest.raises(ValueError, match="sigma"):
        net(torch.zeros(2, 2), torch.ones(3))


def test_config_refuses_an_empty_range_of_levels():
    with pytest.raises(ValueError, match="sigma_max"):
        ScoreNetConfig(sigma_min=1.0, sigma_max=0.5)
    with pytest.raises(ValueError, match="sigma_min"):
        ScoreNetConfig(sigma_min=0.0)


def test_a_short_training_lowers_the_loss(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(tmp_path))
    config = ScoreNetConfig(hidden=16, depth=1, embed_dim=8, steps=200, n_data=500)
    model, losses = trained_score_network(config, verbose=False)
    assert not model.training
    # The loss of a noise predictor starts near D/2 = 1 (output 0) and must fall below it.
    assert losses[:20].mean() > 1.2 * losses[-20:].mean()
    assert losses.shape == (200,)


def test_the_exact_score_has_zero_error_and_a_wrong_conversion_does_not():
    mixture = toy_mixture()
    nu = torch.tensor([0.1, 0.5, 2.0], dtype=torch.float64)
    scale = 1 / torch.sqrt(1 + nu**2)
    oracle = sm.eps_model_score(MixtureOracle(mixture))
    errors = sm.score_error_by_level(oracle, mixture, scale, nu * scale, 200, make_generator(2))
    torch.testing.assert_close(errors, torch.zeros(3, 2, dtype=torch.float64), atol=1e-10, rtol=0)

    def wrong(x, a, sigma):
        # -eps / sigma^2 instead of -eps / sigma: the score off by the factor 1 / sigma.
        return oracle(x, a, sigma) / sigma

    errors = sm.score_error_by_level(wrong, mixture, scale, nu * scale, 2000, make_generator(3))
    expected = (1 / (nu * scale) - 1) ** 2  # |s / sigma - s|^2 / |s|^2, exactly
    # Exact up to the float32 input of a noise predictor (eps_model_score casts x).
    torch.testing.assert_close(errors[:, 0], expected, rtol=1e-6, atol=0)
    assert math.isfinite(float(errors.sum()))
