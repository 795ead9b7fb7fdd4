"""The benchmark end to end, on the tiny profile (seconds).

The tiny profile runs every stage of the book's benchmark -- data, training, dropout tuning,
rollouts of every forecaster on both tracks, scores, the scorecard, the sampler check, the
targets -- on a handful of states, so that the command, the shape of ``results.json`` and the
cache are tested without the book's minutes.
"""

from __future__ import annotations

import pytest

from lecture_code.benchmark.profiles import get_profile
from lecture_code.benchmark.run import BASELINES, CHALLENGER, REFERENCE, run_track
from lecture_code.plots.style import FORECASTERS

FORECASTER_NAMES = [
    "oracle",
    "climatology",
    "physics_gaussian",
    "deterministic",
    "mc_dropout",
    "mc_dropout_het",
    "gaussian",
    "deep_ensemble",
    CHALLENGER,
]
TARGETS = {
    "gaussian": ["crps_ratio", "ssr", "beats_mc_dropout", "sampler"],
    "bursty": [
        "crps_ratio",
        "beats_gaussian_family",
        "beats_gaussian_family_tails",
        "pit",
        "beats_mc_dropout",
        "sampler",
    ],
}


def test_the_command_writes_every_track_with_the_documented_keys(tiny_run):
    _, results, _ = tiny_run
    profile = get_profile("tiny")
    assert results["config"] == {
        "profile": "tiny",
        "seed": 0,
        "test_seed": 0,
        "tracks": ["gaussian", "bursty"],
    }
    assert results["lead_time"] == pytest.approx([0.05, 0.10, 0.15])
    for track, entry in results["tracks"].items():
        assert entry["config"]["track"] == track
        assert list(entry["models"]) == FORECASTER_NAMES
        for name, model in entry["models"].items():
            assert len(model["crps"]) == 3, name
            for key in ("crps", "ssr", "rmse", "quantile_01", "tail_01", "tail_99", "variogram"):
                for value, (low, high) in zip(model[key], model[f"{key}_ci"], strict=True):
                    assert low <= value + 1e-12 and value <= high + 1e-12, (name, key)
        assert entry["models"]["oracle"]["gap"] == [0.0, 0.0, 0.0]
        assert set(entry["scorecard"]["summary"]) == set(BASELINES)
        assert [t["id"] for t in entry["targets"]] == [f"{track}.{n}" for n in TARGETS[track]]
        assert entry["nfe_per_forecast_step"] == {
            CHALLENGER: profile.sampler_steps,  # DPM-Solver++(2M): one evaluation per step
            REFERENCE: profile.reference_steps,
        }
        assert entry["sampler_check"]["fast_nfe"] <= 10
        assert set(entry["dropout_tuning"]) == {"mc_dropout", "mc_dropout_het"}
        assert entry["sigma_data"] > 0
    assert [t["id"] for t in results["targets"]] == [
        f"{track}.{n}" for track in ("gaussian", "bursty") for n in TARGETS[track]
    ]
    provenance = results["provenance"]
    assert provenance["command"].startswith("python -m lecture_code.benchmark --profile tiny")
    assert len(provenance["code_fingerprint"]) == 64


def test_every_forecaster_of_the_results_has_one_look_for_the_figures(tiny_run):
    # Labels and colours are written once, in plots.style, for every name the benchmark uses.
    _, results, _ = tiny_run
    for entry in results["tracks"].values():
        assert set(entry["models"]) <= set(FORECASTERS)


def test_parallel_and_serial_runs_agree_and_the_second_loads_every_network(tiny_run):
    _, first, second = tiny_run
    for track in ("gaussian", "bursty"):
        a, b = first["tracks"][track], second["tracks"][track]
        assert not any(a["trained_from_cache"].values())
        assert all(b["trained_from_cache"].values())
        for key in ("models", "scorecard", "sampler_check", "one_step_law", "targets"):
            assert a[key] == b[key], (track, key)


def test_replicates_and_held_out_states_are_scored_and_judged(tiny_run, monkeypatch):
    folder, _, _ = tiny_run
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(folder / "cache"))
    import dataclasses

    profile = dataclasses.replace(get_profile("tiny", test_seed=1), n_replicates=2)
    run = run_track(profile, progress=False, keep_forecasts=True)
    assert list(run.results["replicates"]) == ["1"]
    assert set(run.results["replicates"]["1"]["models"]) == set(FORECASTER_NAMES)
    assert all(set(t["by_replicate"]) == {"0", "1"} for t in run.results["targets"][:-1])
    assert run.forecasts[CHALLENGER].shape == (6, 3, 3, 40)
    base = run_track(get_profile("tiny"), progress=False)
    held_out = run.results["models"]["oracle"]["crps"]
    assert held_out != base.results["models"]["oracle"]["crps"]  # other states


def test_a_forecaster_that_diverged_fails_its_targets_by_name_and_breaks_nothing(tiny_run):
    import copy

    from lecture_code.benchmark.targets import judge_targets

    _, results, _ = tiny_run
    track = copy.deepcopy(results["tracks"]["bursty"])
    # A rollout that overflows leaves no scores: the forecaster is absent from ``models`` and
    # from the scorecard, as when the Gaussian network's sampled noise blows a rollout up.
    del track["models"]["gaussian"]
    for cards in track["scorecard"]["cards"].values():
        cards.pop("gaussian", None)
    judged = {t["id"]: t for t in judge_targets(track, get_profile("tiny", track="bursty"))}
    pit = judged["bursty.pit"]
    assert pit["passed"] is False and pit["value"] is None
    assert pit["detail"]["not_scored"] == ["gaussian"]
    wins = judged["bursty.beats_gaussian_family"]
    assert wins["passed"] is False
    assert "crps/gaussian" in wins["detail"]["missing"]
    # the targets that do not need the Gaussian network are judged as before
    before = {t["id"]: t["passed"] for t in results["tracks"]["bursty"]["targets"]}
    for name in ("bursty.crps_ratio", "bursty.beats_mc_dropout"):
        assert judged[name]["passed"] == before[name]
