"""One step against the oracle (chapter 11): the law of total variance against brute force,
the shape of known laws, and the report's controls: the oracle against itself ties, a
forecaster with a wrong spread is seen."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting import one_step
from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    GaussianForecaster,
    HeteroscedasticDropoutForecaster,
    MCDropoutForecaster,
    PhysicsGaussianForecaster,
    fit_physics_noise,
)
from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.forecasters import OracleForecaster
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step
from lecture_code.forecasting.networks import BackboneConfig
from lecture_code.seeding import make_generator

SYSTEM = Lorenz96(K=8)
SCALING = Scaling(u_mean=2.0, u_std=3.5, r_mean=0.0, r_std=0.5)


def _states(B: int, seed: int) -> torch.Tensor:
    g = make_generator(seed)
    u = 2.0 + 3.0 * torch.randn(B, SYSTEM.K, generator=g, dtype=torch.float64)
    for _ in range(20):  # a few steps towards the attractor
        u = model_step(u, SYSTEM, g)
    return u


def _net(channels: int, dropout: float, seed: int, shared: bool = True):
    backbone = BackboneConfig(hidden=8, depth=1)
    return backbone.build(1, channels, make_generator(seed), dropout, shared)


def test_total_variance_of_heteroscedastic_mc_dropout_matches_the_variance_of_its_draws():
    """Two computations of the predictive variance of a mixture over masks: the law of total
    variance from the passes' means and variances, and the sample variance of draws from the
    forecaster itself. Dropping either term fails by many standard errors."""
    network = _net(2, 0.5, 1)
    with torch.no_grad():  # make both parts of the variance comparable: a smaller noise head
        network.mlp[-1].bias[1] -= 1.5
        network.mlp[-1].weight[0] *= 4.0
    forecaster = HeteroscedasticDropoutForecaster(network, SCALING, SYSTEM.K)
    u = _states(3, 2)
    N = 2000
    means, variances = one_step.predictive_moments(forecaster, u, make_generator(3), N)
    parts = one_step.total_variance(means, variances)
    draws = forecaster.sample_next(u, N, make_generator(4))
    sample = draws.var(dim=1)
    # the sample variance of N draws has standard error about var * sqrt(2 (1 + kurt/2) / N);
    # allow an excess kurtosis of 2 and six standard errors
    tol = 6 * sample * math.sqrt(4.0 / N)
    assert bool(((parts["total"] - sample).abs() < tol).all())
    for term in ("aleatoric", "epistemic"):  # each term alone is short, pooled over sites
        assert float(parts[term].mean()) < float((sample - tol).mean()), term


def test_mc_dropout_is_all_epistemic_and_a_gaussian_network_all_aleatoric():
    u = _states(4, 5)
    mc = MCDropoutForecaster(_net(1, 0.2, 6), SCALING, SYSTEM.K)
    parts = one_step.total_variance(*one_step.predictive_moments(mc, u, make_generator(7), 50))
    assert float(parts["aleatoric"].abs().max()) == 0.0 and float(parts["epistemic"].min()) > 0
    gauss = GaussianForecaster(_net(2, 0.0, 8), SCALING, SYSTEM.K)
    means, variances = one_step.predictive_moments(gauss, u, make_generator(9))
    assert means.shape == (4, 1, SYSTEM.K)
    parts = one_step.total_variance(means, variances)
    assert float(parts["epistemic"].abs().max()) == 0.0
    ensemble = DeepEnsembleForecaster(
        [GaussianForecaster(_net(2, 0.0, s), SCALING, SYSTEM.K) for s in (10, 11, 12)]
    )
    means, variances = one_step.predictive_moments(ensemble, u, make_generator(13))
    assert means.shape == (4, 3, SYSTEM.K) and float(means.var(dim=1).min()) > 0


def test_law_shape_of_known_laws():
    g = make_generator(14)
    B, N, K = 50, 2000, 6
    gauss = torch.randn(B, N, K, generator=g, dtype=torch.float64)
    shape = one_step.law_shape(gauss)
    assert abs(shape["skewness"]) < 0.02 and abs(shape["excess_kurtosis"]) < 0.05
    # exponential: skewness 2, excess kurtosis 6 (estimated within a few per cent)
    expo = -torch.log(torch.rand(B, N, K, generator=g, dtype=torch.float64))
    shape = one_step.law_shape(expo)
    assert shape["skewness"] == pytest.approx(2.0, rel=0.05)
    assert shape["excess_kurtosis"] == pytest.approx(6.0, rel=0.2)
    # z_k = a_k + a_{k+1}: neighbours share one of two terms, correlation 1/2
    a = torch.randn(B, N, K, generator=g, dtype=torch.float64)
    shape = one_step.law_shape(a + torch.roll(a, -1, dims=2))
    assert shape["neighbour_correlation"] == pytest.approx(0.5, abs=0.01)


def test_shared_masks_switches_the_layers_and_restores_them():
    forecaster = MCDropoutForecaster(_net(1, 0.3, 15, shared=True), SCALING, SYSTEM.K)
    layers = one_step.shared_masks(forecaster, False).layers
    assert layers and all(layer.shared for layer in layers)
    with one_step.shared_masks(forecaster, False):
        assert not any(layer.shared for layer in layers)
    assert all(layer.shared for layer in layers)


def test_the_oracle_against_itself_ties_and_a_wrong_spread_is_seen():
    oracle = OracleForecaster(SYSTEM)
    u = _states(300, 16)
    tails = [(0.99, 4.0)]
    tie = one_step.one_step_report(oracle, oracle, u, 19, make_generator(17), tails=tails)
    assert tie["spread_ratio"] == pytest.approx(1.0, abs=0.03)
    low, high = tie["crps_ratio"][1:]
    assert low < 1.0 < high
    assert tie["pit"]["p_value"] > 1e-3
    assert tie["mean_error"] < 0.1 * tie["oracle_spread"]
    # the control "physics + Gaussian" with twice the fitted variance: spread sqrt(2) too wide
    u_next = model_step(u, SYSTEM, make_generator(18))
    variance = fit_physics_noise(SYSTEM, u, u_next)
    wide = PhysicsGaussianForecaster(SYSTEM, 2 * variance)
    report = one_step.one_step_report(oracle, wide, u, 19, make_generator(19), tails=tails)
    assert report["spread_ratio"] == pytest.approx(math.sqrt(2), rel=0.05)
    assert report["crps_ratio"][1] > 1.0  # the interval lies above 1
    assert set(report) >= {"tail_99", "tail_99_ratio", "oracle_tail_99", "shape"}


def test_bad_input_names_the_value():
    oracle = OracleForecaster(SYSTEM)
    u = _states(4, 20)
    with pytest.raises(ValueError, match="pit_bins must divide members \\+ 1 = 20, got 3"):
        one_step.one_step_report(oracle, oracle, u, 19, make_generator(0), pit_bins=3)
    with pytest.raises(ValueError, match="variances must be >= 0"):
        one_step.total_variance(torch.zeros(2, 3, 4), -torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="N >= 3 draws"):
        one_step.law_shape(torch.zeros(2, 2, 4))
    with pytest.raises(TypeError, match="network forecaster"):
        one_step.predictive_moments(oracle, u, make_generator(0))
    with pytest.raises(ValueError, match="zero spread"):
        one_step.law_shape(torch.ones(2, 5, 4))
