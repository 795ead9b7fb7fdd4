"""The cached networks of Part III: one job per network, trained once, reproducible.

A chapter must be able to train a network without the benchmark; each network must come from
its own named stream (so it is the network the benchmark and the other chapters get), be trained
once per job and code, and a job must say what it lacks.
"""

from __future__ import annotations

import pytest
import torch

from lecture_code.forecasting.data import DataConfig
from lecture_code.forecasting.fit import Scaling, TrainConfig, fit_mean_network
from lecture_code.forecasting.lorenz96 import Lorenz96
from lecture_code.forecasting.networks import BackboneConfig, DenoiserConfig
from lecture_code.forecasting.trained import NetworkJob, cached_data, trained_networks
from lecture_code.seeding import generator_for

SYSTEM = Lorenz96()
DATA = DataConfig(
    n_train=200,
    n_val=20,
    n_test=4,
    n_climatology=50,
    train_trajectories=10,
    val_trajectories=5,
    climatology_trajectories=5,
)
BACKBONE = BackboneConfig(hidden=8, depth=1)
TRAIN = TrainConfig(steps=5, batch_size=8)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(tmp_path))
    return tmp_path


def test_a_network_is_trained_once_and_comes_from_its_own_stream(cache):
    data = cached_data(SYSTEM, DATA)
    kwargs = {"data": data, "mean": TRAIN, "dropout_rates": (0.1,), "progress": False}
    first = trained_networks(SYSTEM, DATA, BACKBONE, 3, **kwargs)
    again = trained_networks(SYSTEM, DATA, BACKBONE, 3, **kwargs)
    assert first.loaded == {"mean_p0.1": False} and again.loaded == {"mean_p0.1": True}
    assert first.gaussian == [] and first.denoiser is None
    # The stream of network (kind, member) is generator_for(seed, "benchmark", "train", ...).
    scaling = Scaling.fit(data.u_train, data.u_train_next)
    direct = fit_mean_network(
        data.u_train,
        data.u_train_next,
        scaling,
        BACKBONE,
        0.1,
        TRAIN,
        generator_for(3, "benchmark", "train", "mean", 0),
        progress=False,
    )
    for name, weight in direct.state_dict().items():
        assert torch.equal(again.mean[0.1].state_dict()[name], weight), name
    assert len(list(cache.glob("l96_mean_p0.1-*.pt"))) == 1


def test_only_the_kinds_asked_for_are_trained(cache):
    networks = trained_networks(
        SYSTEM,
        DATA,
        BACKBONE,
        0,
        diffusion=TRAIN,
        denoiser=DenoiserConfig(head_hidden=8),
        progress=False,
    )
    assert networks.mean == {} and networks.gaussian == []
    assert networks.denoiser is not None and not networks.denoiser.training
    assert set(networks.seconds) == {"denoiser"}


def test_a_job_names_what_it_lacks():
    common = {"system": SYSTEM, "data": DATA, "backbone": BACKBONE, "train": TRAIN, "seed": 0}
    with pytest.raises(ValueError, match="a denoiser job needs denoiser, dsm and sde"):
        NetworkJob(kind="denoiser", **common)
    with pytest.raises(ValueError, match="kind must be one of"):
        NetworkJob(kind="unet", **common)
    assert NetworkJob(kind="gaussian", member=2, **common).label == "gaussian_2"
    assert NetworkJob(kind="mean", dropout=0.25, **common).label == "mean_p0.25"
    with pytest.raises(ValueError, match="n_gaussian must be an integer >= 1"):
        trained_networks(SYSTEM, DATA, BACKBONE, 0, n_gaussian=0)


def test_sigma_data_is_estimated_from_the_training_data_and_keys_the_cache(cache):
    from lecture_code.forecasting.conditional_spread import estimate_sigma_data
    from lecture_code.forecasting.losses import DSMConfig

    data = cached_data(SYSTEM, DATA)
    networks = trained_networks(
        SYSTEM,
        DATA,
        BACKBONE,
        0,
        data=data,
        diffusion=TRAIN,
        denoiser=DenoiserConfig(head_hidden=8, sigma_data=None),
        dsm=DSMConfig(log_nu_mean=None),
        heteroscedastic=TRAIN,
        het_rates=(0.1,),
        shared_masks=True,
        progress=False,
    )
    scaling = Scaling.fit(data.u_train, data.u_train_next)
    expected = estimate_sigma_data(data.u_train, data.u_train_next, scaling)
    assert networks.sigma_data == pytest.approx(expected, abs=1e-6)
    assert networks.denoiser is not None
    assert networks.denoiser.sigma_data == pytest.approx(expected, abs=1e-6)
    assert set(networks.het) == {0.1} and set(networks.loaded) == {"het_p0.1", "denoiser"}
    layers = [m for m in networks.het[0.1].modules() if type(m).__name__ == "Dropout"]
    assert layers and all(layer.shared for layer in layers)
    with pytest.raises(ValueError, match="sigma_data is None"):
        DenoiserConfig(sigma_data=None).build(BACKBONE, generator_for(0, "x"))
