"""The benchmark command end to end, on the tiny profile (seconds), and its bookkeeping.

The tiny profile runs every stage of the book's benchmark -- data, training, dropout tuning,
rollouts of every forecaster, the 1000-step-style reference sampler, scores, figures -- on a
handful of states, so that the command, the shape of ``results.json`` and the cache are tested
without the book's three minutes.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from lecture_code.benchmark import run as benchmark
from lecture_code.forecasting.metrics import bootstrap_ci
from lecture_code.seeding import make_generator

MODEL_KEYS = {"crps", "crps_ci", "rmse", "ssr", "spread", "energy_score", "gap", "crps_ratio"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny profile run twice from the command line into fresh folders, one empty cache."""
    folder = tmp_path_factory.mktemp("benchmark")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LECTURE_CODE_CACHE", str(folder / "cache"))
        code = benchmark.main(["--profile", "tiny", "--out", str(folder / "a"), "--no-progress"])
        assert code == 0
        benchmark.main(["--profile", "tiny", "--out", str(folder / "b"), "--no-progress"])
    first = json.loads((folder / "a" / "results.json").read_text())
    second = json.loads((folder / "b" / "results.json").read_text())
    return folder, first, second


def test_the_command_writes_results_with_the_documented_keys(tiny_run):
    folder, results, _ = tiny_run
    profile = benchmark.get_profile("tiny")
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
        "diffusion",
        "diffusion_reference",
    }
    assert set(results["models"]) == expected
    for name, entry in results["models"].items():
        assert MODEL_KEYS <= set(entry), name
        n = len(entry["crps"])
        assert n == (profile.reference_leads if name == "diffusion_reference" else 3)
        intervals = zip(entry["crps"], entry["crps_ci"], strict=True)
        assert all(lo <= c <= hi for c, (lo, hi) in intervals)
    assert set(results["models"]["oracle"]["rank_histogram"]) == {"1", "3"}
    counts = results["models"]["diffusion"]["rank_histogram"]["1"]
    assert len(counts) == profile.M + 1 and sum(counts) == profile.data.n_test * 40
    assert results["models"]["oracle"]["gap"] == [0.0, 0.0, 0.0]
    assert results["models"]["climatology"]["gap"] == pytest.approx([1.0, 1.0, 1.0])
    assert set(results["scorecard"]) >= {"climatology", "mc_dropout", "gaussian"}
    assert {"total", "data", "training", "rollout diffusion"} <= set(results["timing_s"])
    assert results["nfe_per_forecast_step"] == {
        "diffusion": profile.sampler_steps,  # DPM-Solver++(2M): one evaluation per step
        "diffusion_reference": profile.reference_steps,
    }
    for name in ("crps", "spread_skill", "rank_histograms", "scorecard"):
        assert (folder / "a" / f"{name}.png").stat().st_size > 1000


def test_a_second_run_loads_every_network_and_reproduces_the_numbers(tiny_run):
    _, first, second = tiny_run
    assert not any(first["trained_from_cache"].values())
    assert all(second["trained_from_cache"].values())
    for name in first["models"]:
        assert first["models"][name]["crps"] == second["models"][name]["crps"], name


def test_a_chapter_can_train_and_use_only_the_denoiser(tiny_run, monkeypatch):
    folder, _, _ = tiny_run
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(folder / "cache"))
    profile = benchmark.get_profile("tiny")
    data = benchmark.benchmark_data(profile)
    networks = benchmark.trained_networks(profile, data, which=("denoiser",), progress=False)
    assert networks.mean == {} and networks.gaussian == [] and networks.loaded == {"denoiser": True}
    forecasters = benchmark.build_forecasters(profile, networks, data)
    assert set(forecasters) == {"oracle", "climatology", "diffusion"}
    with pytest.raises(ValueError, match="no MSE networks"):
        benchmark.tune_dropout(profile, networks, data)
    with pytest.raises(ValueError, match="which entry must be one of"):
        benchmark.trained_networks(profile, data, which=("unet",))


def test_bootstrap_intervals_agree_with_the_metrics_module():
    values = torch.randn(50, 3, dtype=torch.float64, generator=make_generator(1))
    intervals = benchmark.bootstrap_intervals(values, make_generator(2), 400)
    for column in range(3):
        expected = bootstrap_ci(values[:, column].contiguous(), make_generator(2), 400)
        if column == 0:  # the same resamples as bootstrap_ci for the first column
            assert intervals[0] == pytest.approx(list(expected), abs=1e-12)
        low, high = intervals[column]
        assert low < float(values[:, column].mean()) < high


def test_profiles_are_complete_and_the_full_one_is_larger():
    book, full = benchmark.get_profile("book"), benchmark.get_profile("full")
    assert full.M == 50 and book.M >= 10
    assert full.data.n_train > book.data.n_train and full.backbone.hidden > book.backbone.hidden
    assert full.reference_states == full.data.n_test and full.reference_leads == full.n_leads
    assert book.data.n_test >= 200 and book.n_leads == 40 and book.sampler_steps <= 20
    assert benchmark.get_profile("book", seed=3).data.seed == 3


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: benchmark.get_profile("huge"), "profile must be one of .* got 'huge'"),
        (
            lambda: dataclasses.replace(benchmark.get_profile("tiny"), M=1),
            "M must be >= 2: the fair CRPS divides by M\\(M - 1\\), got M = 1",
        ),
        (
            lambda: dataclasses.replace(benchmark.get_profile("tiny"), sampler="rk45"),
            "sampler must be one of",
        ),
        (
            lambda: dataclasses.replace(benchmark.get_profile("tiny"), rank_leads=(9,)),
            "rank_leads entry must be an integer <= 3, got 9",
        ),
        (
            lambda: dataclasses.replace(benchmark.get_profile("tiny"), dropout_rates=(1.5,)),
            "dropout_rates must be rates in \\(0, 1\\)",
        ),
    ],
)
def test_bad_settings_raise_errors_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_the_command_refuses_an_unknown_profile(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--profile", "huge"])
    assert "--profile must be one of" in capsys.readouterr().err
