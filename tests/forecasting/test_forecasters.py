"""Forecasters, their networks and the rollout.

The ring networks must commute with a rotation of the ring (translation equivariance, checked
against ``torch.roll``) and read exactly the window they claim (checked against a plain loop).
The preconditioned denoiser with a silent head must be the exact denoiser of a Gaussian. Every
forecaster must return finite (B, M, K) draws, the rollout one ensemble per lead time, seeds
must reproduce, and the oracle -- the truth's own chain -- must be calibrated.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    DeterministicForecaster,
    GaussianForecaster,
    HeteroscedasticDropoutForecaster,
    MCDropoutForecaster,
    PhysicsGaussianForecaster,
    fit_physics_noise,
)
from lecture_code.forecasting.calibration import spread_skill_ratio
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.dropout import Dropout, set_dropout
from lecture_code.forecasting.fit import (
    Scaling,
    TrainConfig,
    fit_denoiser,
    fit_gaussian_network,
    fit_mean_network,
    weight_generator,
)
from lecture_code.forecasting.forecasters import (
    ClimatologyForecaster,
    OracleForecaster,
    rollout,
)
from lecture_code.forecasting.lorenz96 import Lorenz96, spin_up
from lecture_code.forecasting.losses import DSMConfig
from lecture_code.forecasting.networks import (
    BackboneConfig,
    DenoiserConfig,
    RingMLP,
    count_parameters,
    ring_windows,
)
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import make_generator

SYSTEM = Lorenz96()
K = SYSTEM.K


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def states() -> torch.Tensor:
    return spin_up(6, SYSTEM, make_generator(0), time=2.0)


@pytest.fixture(scope="module")
def scaling() -> Scaling:
    return Scaling(u_mean=2.3, u_std=3.6, r_mean=0.0, r_std=1.0)


def small_networks() -> dict[str, torch.nn.Module]:
    backbone = BackboneConfig(hidden=8, depth=1)
    weights = weight_generator(make_generator(1))
    return {
        "mean": backbone.build(1, 1, weights, dropout=0.2),
        "gaussian": backbone.build(1, 2, weights),
        "gaussian2": backbone.build(1, 2, weights),
        "denoiser": DenoiserConfig(head_hidden=8).build(backbone, weights),
    }


def all_forecasters(scaling: Scaling, climatology: torch.Tensor) -> dict[str, object]:
    nets = small_networks()
    gaussians = [GaussianForecaster(nets[n], scaling, K) for n in ("gaussian", "gaussian2")]
    return {
        "oracle": OracleForecaster(SYSTEM),
        "climatology": ClimatologyForecaster(climatology),
        "deterministic": DeterministicForecaster(nets["mean"], scaling, K),
        "mc_dropout": MCDropoutForecaster(nets["mean"], scaling, K),
        "gaussian": gaussians[0],
        "deep_ensemble": DeepEnsembleForecaster(gaussians),
        "diffusion": DiffusionForecaster(nets["denoiser"], scaling, K, VPSDE(), n_steps=4, chunk=4),
    }


# --- the ring networks -------------------------------------------------------------------------
def test_ring_windows_read_the_sites_k_minus_left_to_k_plus_right_modulo_K():
    u = torch.arange(2 * 7 * 2, dtype=torch.float32).reshape(2, 7, 2)
    windows = ring_windows(u, left=3, right=1)
    assert windows.shape == (2, 7, 5 * 2)
    for b in range(2):
        for k in range(7):
            expected = torch.cat([u[b, (k + j) % 7] for j in range(-3, 2)])
            torch.testing.assert_close(windows[b, k], expected)


def test_networks_commute_with_rotations_of_the_ring(states, scaling):
    nets = small_networks()
    u = scaling.states(states)
    shifted = torch.roll(u, 5, dims=1)
    with torch.no_grad():
        for name in ("mean", "gaussian"):
            set_dropout(nets[name], False)
            torch.testing.assert_close(nets[name](shifted), torch.roll(nets[name](u), 5, dims=1))
        denoiser = nets["denoiser"]
        x_hat = torch.randn(u.shape, generator=make_generator(2))
        nu = torch.full((u.shape[0],), 0.3)
        torch.testing.assert_close(
            denoiser(torch.roll(x_hat, 5, dims=1), nu, shifted),
            torch.roll(denoiser(x_hat, nu, u), 5, dims=1),
        )


def test_a_silent_head_gives_the_exact_denoiser_of_a_gaussian_around_the_centre(states, scaling):
    # D = m + c_skip (x - m) + c_out F with F = 0 is E[x_0 | x_hat] for x_0 ~ N(m, sd^2 I):
    # m + sd^2 / (sd^2 + nu^2) (x_hat - m), with x_hat = x_0 + nu eps.
    denoiser = small_networks()["denoiser"]
    last = denoiser.head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        u = scaling.states(states)
        m_hat, _ = denoiser.condition(u)
        x_hat = torch.randn(u.shape, generator=make_generator(3))
        nu = torch.linspace(0.01, 10.0, u.shape[0])
        sd2 = denoiser.sigma_data**2
        expected = m_hat + sd2 / (sd2 + nu[:, None] ** 2) * (x_hat - m_hat)
        torch.testing.assert_close(denoiser(x_hat, nu, u), expected)


def test_dropout_keeps_the_mean_and_draws_from_its_generator():
    layer = Dropout(0.25)
    x = torch.ones(200_000)
    set_dropout(layer, True, make_generator(4))
    y = layer(x)
    # kept entries are scaled by 1/(1-p), so the mean stays 1; its standard error is
    # sqrt(p/(1-p)) / sqrt(n) = 0.0013, and 5 of them is the tolerance.
    assert abs(float(y.mean()) - 1.0) <= 5 * math.sqrt(0.25 / 0.75) / math.sqrt(x.numel())
    assert float((y == 0).float().mean()) == pytest.approx(0.25, abs=0.005)
    set_dropout(layer, True, make_generator(4))
    assert torch.equal(layer(x), y)
    set_dropout(layer, False)
    assert torch.equal(layer(x), x)


def test_learned_networks_have_similar_parameter_counts():
    backbone = BackboneConfig()
    weights = make_generator(0)
    counts = [
        count_parameters(backbone.build(1, 1, weights, 0.1)),
        count_parameters(backbone.build(1, 2, weights)),
        count_parameters(DenoiserConfig().build(backbone, weights)),
    ]
    assert max(counts) <= 2 * min(counts)


# --- forecasters ---------------------------------------------------------------------------------
def test_every_forecaster_returns_finite_draws_of_shape_B_M_K(states, scaling):
    forecasters = all_forecasters(scaling, states)
    for name, forecaster in forecasters.items():
        draws = forecaster.sample_next(states[:3], 4, make_generator(5))
        assert draws.shape == (3, 4, K), name
        assert draws.dtype == torch.float64, name
        assert bool(torch.isfinite(draws).all()), name


def test_rollout_gives_one_ensemble_per_lead_and_starts_with_sample_next(states, scaling):
    forecasters = all_forecasters(scaling, states)
    for name, forecaster in forecasters.items():
        paths = rollout(forecaster, states[:2], 3, 4, make_generator(6))
        assert paths.shape == (2, 4, 3, K), name
        first = forecaster.sample_next(states[:2], 3, make_generator(6))
        torch.testing.assert_close(paths[:, 0], first, msg=name)
    deterministic = rollout(forecasters["deterministic"], states[:2], 3, 4, make_generator(6))
    assert torch.equal(deterministic[:, :, 0], deterministic[:, :, 2])


def test_seeds_reproduce_and_differ(states, scaling):
    forecasters = all_forecasters(scaling, states)
    for name in ("oracle", "mc_dropout", "gaussian", "diffusion"):
        a = rollout(forecasters[name], states[:2], 3, 2, make_generator(7))
        b = rollout(forecasters[name], states[:2], 3, 2, make_generator(7))
        c = rollout(forecasters[name], states[:2], 3, 2, make_generator(8))
        assert torch.equal(a, b) and not torch.equal(a, c), name


def test_the_oracle_is_calibrated():
    # 200 states x 40 sites; the spread-skill ratio of an exchangeable ensemble is 1 up to
    # sampling error. Its standard error here is about 1/sqrt(2 * 8000) from the RMSE plus the
    # spread's smaller error; neighbouring sites are correlated, so allow 0.06 (about 5 standard
    # errors of the effective 2000 independent values).
    u_0 = spin_up(200, SYSTEM, make_generator(9), time=5.0)
    oracle = OracleForecaster(SYSTEM)
    truth = oracle.sample_next(u_0, 1, make_generator(10))[:, 0]
    ensemble = oracle.sample_next(u_0, 20, make_generator(11))
    assert abs(spread_skill_ratio(ensemble, truth) - 1.0) <= 0.06


def test_the_deep_ensemble_draws_each_path_s_network_at_random_and_keeps_it(states, scaling):
    nets = small_networks()
    members = [GaussianForecaster(nets[n], scaling, K) for n in ("gaussian", "gaussian2")]
    ensemble = DeepEnsembleForecaster(members)
    # with zero variance a draw is its network's mean: the member's path shows its network
    for net in (nets["gaussian"], nets["gaussian2"]):
        with torch.no_grad():
            net.mlp[-1].bias[1] = -60.0
    M = 400
    paths = rollout(ensemble, states[:2], M, 3, make_generator(12))
    means = [m.sample_next(states[:2], 1, make_generator(0))[:, 0] for m in members]
    first = paths[:, 0]  # (2, M, K)
    on_0 = (first - means[0][:, None]).abs().amax(-1) < 1e-5
    on_1 = (first - means[1][:, None]).abs().amax(-1) < 1e-5
    assert bool((on_0 ^ on_1).all())  # every member follows exactly one network
    share = float(on_0.double().mean())
    assert abs(share - 0.5) < 3 * (0.25 / (2 * M)) ** 0.5  # drawn uniformly, not m mod E
    assert torch.equal(on_0, ensemble.assignment == 0)
    # the same network on later steps: the second step from the first is that network's
    step = members[0].sample_next(first[0][on_0[0]], 1, make_generator(0))[:, 0]
    torch.testing.assert_close(paths[0, 1][on_0[0]], step)
    with pytest.raises(ValueError, match="call begin"):
        DeepEnsembleForecaster(members).advance(first, make_generator(0))


def test_physics_gaussian_fits_the_one_step_variance_of_the_gaussian_truth():
    u = spin_up(200, SYSTEM, make_generator(30), time=2.0)
    oracle = OracleForecaster(SYSTEM).sample_next(u, 64, make_generator(31))
    u_next = oracle[:, 0]
    v = fit_physics_noise(SYSTEM, u, u_next)
    exact = float(oracle.var(dim=1).mean())
    assert v == pytest.approx(exact, rel=0.05)  # 200 x 40 squared residuals: 1.6 % SE
    control = PhysicsGaussianForecaster(SYSTEM, v)
    draws = control.sample_next(u, 64, make_generator(32))
    assert float(draws.var(dim=1).mean()) == pytest.approx(v, rel=0.03)
    with pytest.raises(ValueError, match="variance must"):
        PhysicsGaussianForecaster(SYSTEM, 0.0)


def test_shared_masks_drop_the_same_units_at_every_site_of_a_row():
    x = torch.ones(3, 40, 16)
    shared, per_site = Dropout(0.5, shared=True), Dropout(0.5)
    for layer in (shared, per_site):
        set_dropout(layer, True, make_generator(33))
    kept = shared(x) > 0
    assert bool((kept == kept[:, :1]).all()) and not bool((kept[0] == kept[1]).all())
    kept = per_site(x) > 0
    assert not bool((kept == kept[:, :1]).all())


def test_heteroscedastic_dropout_adds_its_variance_to_the_masks_spread(states, scaling):
    net = BackboneConfig(hidden=8, depth=1).build(1, 2, make_generator(34), 0.2, True)
    with torch.no_grad():
        net.mlp[-1].bias[1] = math.log(4.0)  # variance 4 in normalised units
    het = HeteroscedasticDropoutForecaster(net, scaling, K)
    draws = het.sample_next(states[:4], 500, make_generator(35))
    spread = float(draws.var(dim=1).mean()) / scaling.r_std**2
    assert spread > 4.0 * 0.9  # at least the aleatoric variance
    with pytest.raises(ValueError, match="dropout layers with p > 0"):
        HeteroscedasticDropoutForecaster(small_networks()["gaussian"], scaling, K)


def test_scaling_round_trip(states):
    u_next = OracleForecaster(SYSTEM).sample_next(states, 1, make_generator(13))[:, 0]
    scaling = Scaling.fit(states, u_next)
    r = scaling.residuals(states, u_next)
    assert abs(float(r.mean())) < 1e-5 and float(r.std()) == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(scaling.next_state(states, r), u_next, atol=1e-5, rtol=0)


# --- training ------------------------------------------------------------------------------------
def test_training_lowers_every_loss(states, scaling):
    u = spin_up(64, SYSTEM, make_generator(14), time=2.0)
    u_next = OracleForecaster(SYSTEM).sample_next(u, 1, make_generator(15))[:, 0]
    scaling = Scaling.fit(u, u_next)
    backbone = BackboneConfig(hidden=16, depth=1)
    config = TrainConfig(steps=60, batch_size=16, lr=1e-2)
    mse = torch.nn.functional.mse_loss
    U, R = scaling.states(u), scaling.residuals(u, u_next)
    with torch.no_grad():  # the initial network of fit_mean_network with the same generator
        before = float(
            mse(RingMLP(1, 1, 4, 3, 16, 1, weight_generator(make_generator(16)))(U)[..., 0], R)
        )
    net = fit_mean_network(
        u, u_next, scaling, backbone, 0.0, config, make_generator(16), progress=False
    )
    with torch.no_grad():
        assert float(mse(net(U)[..., 0], R)) < 0.5 * before
    gaussian = fit_gaussian_network(
        u, u_next, scaling, backbone, config, make_generator(17), progress=False
    )
    assert gaussian(U).shape == (64, K, 2)
    denoiser = fit_denoiser(
        u,
        u_next,
        scaling,
        backbone,
        DenoiserConfig(head_hidden=8),
        DSMConfig(),
        (0.01, 100.0),
        config,
        make_generator(18),
        progress=False,
    )
    assert not denoiser.training


# --- bad inputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda f, u: f.sample_next(u[:, :39], 2, make_generator(0)), ValueError, "u must have"),
        (
            lambda f, u: f.sample_next(u.clone().fill_(float("nan")), 2, make_generator(0)),
            ValueError,
            "u must be finite",
        ),
        (lambda f, u: f.sample_next(u, 0, make_generator(0)), ValueError, "M must be"),
        (lambda f, u: rollout(f, u, 2, 0, make_generator(0)), ValueError, "n_leads must be"),
    ],
)
@pytest.mark.parametrize("name", ["oracle", "mc_dropout", "diffusion"])
def test_bad_inputs_raise_errors_naming_the_value(states, scaling, name, call, error, match):
    forecaster = all_forecasters(scaling, states)[name]
    with pytest.raises(error, match=match):
        call(forecaster, states[:2])


def test_bad_forecaster_settings_are_refused(scaling, states):
    nets = small_networks()
    with pytest.raises(ValueError, match="sampler must be one of"):
        DiffusionForecaster(nets["denoiser"], scaling, K, VPSDE(), sampler="euler")
    with pytest.raises(ValueError, match="dropout layers"):
        MCDropoutForecaster(nets["gaussian"], scaling, K)
    with pytest.raises(ValueError, match="head_window must be odd"):
        DenoiserConfig(head_window=4).build(BackboneConfig(), make_generator(0))
