"""The benchmark's data: shapes, independence of the pieces, spacing, and reproducibility."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lecture_code.forecasting.data import (
    DataConfig,
    Lorenz96Data,
    closest_distance,
    leakage_threshold,
    make_data,
    sample_states,
    truth_paths,
)
from lecture_code.forecasting.lorenz96 import Lorenz96, lead_steps, model_step, trajectory
from lecture_code.seeding import make_generator

SMALL = DataConfig(
    n_train=600,
    n_val=100,
    n_test=12,
    n_climatology=200,
    train_trajectories=60,
    val_trajectories=10,
    climatology_trajectories=20,
)


@pytest.fixture(scope="module")
def data() -> Lorenz96Data:
    return make_data(Lorenz96(), SMALL)


def test_shapes_dtype_and_finite(data):
    expected = {
        "u_train": (600, 40),
        "u_train_next": (600, 40),
        "u_val": (100, 40),
        "u_val_next": (100, 40),
        "u_test": (12, 40),
        "climatology": (200, 40),
    }
    for name, shape in expected.items():
        value = getattr(data, name)
        assert value.shape == shape, name
        assert value.dtype == torch.float64, name
        assert bool(torch.isfinite(value).all()), name


def test_pieces_share_no_state(data):
    # Different streams and different trajectories: no state appears in two pieces.
    pieces = [data.u_train, data.u_val, data.u_test, data.climatology]
    for i, a in enumerate(pieces):
        for b in pieces[i + 1 :]:
            assert float(torch.cdist(a, b).min()) > 1e-3


def test_successor_is_one_model_step():
    # Without kicks the successor is exactly the deterministic model step.
    system = Lorenz96(sigma_xi=0.0)
    small = make_data(system, SMALL)
    torch.testing.assert_close(small.u_train_next, model_step(small.u_train, system, None))
    torch.testing.assert_close(small.u_val_next, model_step(small.u_val, system, None))


def test_kicks_in_successors_have_the_truth_variance(data):
    # u_next - (deterministic step) is the propagated sum of the kicks: variance near sigma^2 Delta.
    system = Lorenz96()
    residual = data.u_train_next - model_step(data.u_train, system, deterministic=True)
    ratio = float(residual.var() / (system.sigma_xi**2 * system.Delta))
    assert 0.85 < ratio < 1.15


def test_test_states_are_spaced_on_their_trajectories():
    system = Lorenz96(sigma_xi=0.0)
    config = dataclasses.replace(SMALL, n_test=12, test_per_trajectory=3, test_spacing=1.5)
    u_test = make_data(system, config).u_test
    n_trajectories = 4  # rows i, i + 4, i + 8 belong to trajectory i
    gap = lead_steps(config.test_spacing, system)
    later = trajectory(u_test[:8], gap, system, None)[:, -1]
    torch.testing.assert_close(later, u_test[n_trajectories:])


def test_streams_are_independent_of_other_sizes(data):
    # Enlarging the test set leaves the training set unchanged: each piece has its own stream.
    bigger = make_data(Lorenz96(), dataclasses.replace(SMALL, n_test=20))
    assert torch.equal(bigger.u_train, data.u_train)
    assert torch.equal(bigger.climatology, data.climatology)
    assert not torch.equal(bigger.u_test[:12], data.u_test)  # different trajectories count


def test_seeds_reproduce(data):
    again = make_data(Lorenz96(), SMALL)
    other = make_data(Lorenz96(), dataclasses.replace(SMALL, seed=1))
    assert torch.equal(again.u_train, data.u_train)
    assert torch.equal(again.u_test, data.u_test)
    assert not torch.equal(other.u_train, data.u_train)


def test_states_are_on_the_attractor(data):
    # Long-run mean and standard deviation of K = 40, F = 8 are about 2.3 and 3.6.
    assert 2.0 < float(data.climatology.mean()) < 2.6
    assert 3.3 < float(data.climatology.std()) < 3.9


def test_sample_states_spacing_and_order():
    system = Lorenz96(sigma_xi=0.0)
    u, u_next = sample_states(6, 2, 0.1, system, make_generator(0), spin_up_time=1.0)
    # Rows are time-major: rows 0 and 2 are trajectory 0, two model steps apart.
    torch.testing.assert_close(trajectory(u[:2], 2, system, None)[:, -1], u[2:4])
    torch.testing.assert_close(u_next, model_step(u, system, None))


def test_bad_config_names_the_value():
    with pytest.raises(ValueError, match="spin_up_time"):
        DataConfig(spin_up_time=5.0)
    with pytest.raises(ValueError, match="test_spacing"):
        DataConfig(test_spacing=0.5)
    with pytest.raises(ValueError, match="n_train"):
        DataConfig(n_train=0)
    with pytest.raises(ValueError, match=r"config\.stride must be a whole multiple"):
        make_data(Lorenz96(), dataclasses.replace(SMALL, stride=0.07))
    with pytest.raises(TypeError, match="config must be a DataConfig"):
        make_data(Lorenz96(), {"n_train": 10})


def test_truth_paths_are_the_chain_after_the_initial_state():
    system = Lorenz96()
    u_0 = make_data(system, SMALL).u_test[:3]
    paths = truth_paths(u_0, 4, system, make_generator(2))
    assert paths.shape == (3, 4, system.K)
    torch.testing.assert_close(paths, trajectory(u_0, 4, system, make_generator(2))[:, 1:])
    with pytest.raises(ValueError, match="n_leads must be an integer >= 1"):
        truth_paths(u_0, 0, system, make_generator(2))


def test_closest_distance_against_brute_force():
    g = make_generator(5)
    a = torch.randn(6, 4, generator=g, dtype=torch.float64)
    b = torch.randn(9, 4, generator=g, dtype=torch.float64)
    brute = torch.tensor([min(float((x - y).norm()) for y in b) for x in a])
    assert torch.allclose(closest_distance(a, b), brute.to(torch.float64))
    with pytest.raises(ValueError, match="shape"):
        closest_distance(a, torch.zeros(3, 5, dtype=torch.float64))


def test_leakage_check_passes_the_data_and_catches_a_planted_leak(data):
    threshold = leakage_threshold(data.u_train, data.u_train_next)
    assert threshold == pytest.approx(float((data.u_train_next - data.u_train).norm(dim=1).max()))
    # independent test states lie farther than one model step from every training state ...
    assert float(closest_distance(data.u_test, data.u_train).min()) > threshold
    # ... a training state one fresh step on does not
    leak = model_step(data.u_train[:12], Lorenz96(), make_generator(6))
    assert float(closest_distance(leak, data.u_train).max()) < threshold
