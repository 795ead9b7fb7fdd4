"""The benchmark end to end, on the tiny profile (seconds).

The tiny profile runs every stage of the book's benchmark -- data, training, dropout tuning,
rollouts of every forecaster, the reference sampler, scores, the scorecard, the sampler checks --
on a handful of states, so that the command, the shape of ``results.json`` and the cache are
tested without the book's minutes.
"""

from __future__ import annotations

import pytest

from lecture_code.benchmark.assembly import build_forecasters, profile_networks, tune_dropout
from lecture_code.benchmark.profiles import get_profile
from lecture_code.benchmark.run import CHALLENGER, REFERENCE
from lecture_code.forecasting.trained import cached_data
from lecture_code.plots.style import FORECASTERS

MODEL_KEYS = {"crps", "crps_ci", "rmse", "ssr", "spread", "energy_score", "gap", "crps_ratio"}


def test_the_command_writes_results_with_the_documented_keys(tiny_run):
    _, results, _ = tiny_run
    profile = get_profile("tiny")
    config = results["config"]
    for key in ("profile", "sigma", "M", "n_test", "seed"):
        assert key in config
    assert (config["profile"], config["M"], config["n_test"]) == ("tiny", 3, profile.data.n_test)
    assert config["sigma"] == profile.system.sigma_xi
    assert results["lead_time"] == pytest.approx([0.05, 0.10, 0.15])
    expected = {
        "oracle",
        "climatology",
        "deterministic",
        "mc_dropout",
        "gaussian",
        "deep_ensemble",
        CHALLENGER,
        REFERENCE,
    }
    assert set(results["models"]) == expected
    for name, entry in results["models"].items():
        assert MODEL_KEYS <= set(entry), name
        n = len(entry["crps"])
        assert n == (profile.reference_leads if name == REFERENCE else 3)
        intervals = zip(entry["crps"], entry["crps_ci"], strict=True)
        assert all(lo <= c <= hi for c, (lo, hi) in intervals)
    assert set(results["models"]["oracle"]["rank_histogram"]) == {"1", "3"}
    counts = results["models"][CHALLENGER]["rank_histogram"]["1"]
    assert len(counts) == profile.M + 1 and sum(counts) == profile.data.n_test * 40
    assert results["models"]["oracle"]["gap"] == [0.0, 0.0, 0.0]
    assert results["models"]["climatology"]["gap"] == pytest.approx([1.0, 1.0, 1.0])
    # every forecaster but the challenger (and its slow reference) is a baseline, oracle last
    assert list(results["scorecard"]) == [
        "climatology",
        "deterministic",
        "mc_dropout",
        "gaussian",
        "deep_ensemble",
        "oracle",
    ]
    assert {"total", "data", "training", "rollout diffusion"} <= set(results["timing_s"])
    assert results["nfe_per_forecast_step"] == {
        CHALLENGER: profile.sampler_steps,  # DPM-Solver++(2M): one evaluation per step
        REFERENCE: profile.reference_steps,
    }
    provenance = results["provenance"]
    assert provenance["command"].startswith("python -m lecture_code.benchmark --profile tiny")
    assert len(provenance["code_fingerprint"]) == 64


def test_every_forecaster_of_the_results_has_one_look_for_the_figures(tiny_run):
    # Labels and colours are written once, in plots.style, for every name the benchmark uses.
    _, results, _ = tiny_run
    assert set(results["models"]) <= set(FORECASTERS)


def test_a_second_run_loads_every_network_and_reproduces_the_numbers(tiny_run):
    _, first, second = tiny_run
    assert not any(first["trained_from_cache"].values())
    assert all(second["trained_from_cache"].values())
    for key in ("models", "scorecard", "sampler_comparison", "sampler_ablation", "one_step"):
        assert first[key] == second[key], key


def test_a_chapter_can_train_and_use_only_the_denoiser(tiny_run, monkeypatch):
    folder, _, _ = tiny_run
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(folder / "cache"))
    profile = get_profile("tiny")
    data = cached_data(profile.system, profile.data)
    networks = profile_networks(profile, data, which=("denoiser",), progress=False)
    assert networks.mean == {} and networks.gaussian == [] and networks.loaded == {"denoiser": True}
    forecasters = build_forecasters(profile, networks, data.climatology)
    assert set(forecasters) == {"oracle", "climatology", CHALLENGER}
    with pytest.raises(ValueError, match="no MSE networks"):
        tune_dropout(networks.mean, networks.scaling, data.u_val, data.u_val[:, None], 2, {})
    with pytest.raises(ValueError, match="which entry must be one of"):
        profile_networks(profile, data, which=("unet",))
