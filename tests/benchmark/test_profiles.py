"""The benchmark's tracks and profiles: complete, sized as the protocol asks, and refusing bad
settings by name."""

from __future__ import annotations

import dataclasses

import pytest

from lecture_code.benchmark.profiles import (
    PROFILES,
    TRACKS,
    get_profile,
    profile_config,
    track_names,
)


def test_the_profiles_have_the_power_the_protocol_asks_for():
    book, standard = get_profile("book"), get_profile("standard")
    assert book.data.n_test >= 500 and book.M >= 20 and book.n_leads == 40
    assert standard.data.n_test >= 1000 and standard.M == 50 and standard.n_replicates >= 3
    assert book.sampler_steps <= 10 and book.reference_steps == 1000
    assert book.n_ensemble == 5 and book.shared_masks
    # preconditioning from the training data, never from the truth's known sigma
    assert book.denoiser.sigma_data is None and book.dsm.log_nu_mean is None
    assert get_profile("book", seed=3).data.seed == 3
    assert get_profile("standard").train_seeds == [0, 1, 2]


def test_the_tracks_are_the_control_and_the_bursty_truth():
    assert TRACKS["gaussian"].p_burst == 0.0
    assert (TRACKS["bursty"].p_burst, TRACKS["bursty"].J_burst) == (0.002, 2.0)
    assert get_profile("tiny", track="bursty").system == TRACKS["bursty"]
    assert track_names("all") == ["gaussian", "bursty"] and track_names("bursty") == ["bursty"]


def test_the_config_lists_the_headline_settings_and_every_field():
    profile = get_profile("tiny", seed=2, track="bursty", test_seed=1)
    config = profile_config(profile)
    assert (config["profile"], config["seed"], config["M"]) == ("tiny", 2, 3)
    assert (config["track"], config["test_seed"]) == ("bursty", 1)
    assert config["system"]["p_burst"] == 0.002
    fields = {f.name for f in dataclasses.fields(profile)} - {"name"}
    assert fields <= set(config)
    assert set(PROFILES) == {"book", "standard", "full", "tiny"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: get_profile("huge"), "profile must be one of .* got 'huge'"),
        (lambda: get_profile("tiny", track="calm"), "track must be one of .* got 'calm'"),
        (lambda: track_names("two_scale"), "track 'two_scale' .* is not built yet"),
        (lambda: track_names("windy"), "track must be one of .* got 'windy'"),
        (
            lambda: dataclasses.replace(get_profile("tiny"), M=1),
            "M must be >= 2: the fair CRPS divides by M\\(M - 1\\), got M = 1",
        ),
        (
            lambda: dataclasses.replace(get_profile("tiny"), sampler="rk45"),
            "sampler must be one of",
        ),
        (
            lambda: dataclasses.replace(get_profile("tiny"), rank_leads=(9,)),
            "rank_leads entry must be an integer <= 3, got 9",
        ),
        (
            lambda: dataclasses.replace(get_profile("tiny"), dropout_rates=(1.5,)),
            "dropout_rates must be rates in \\(0, 1\\)",
        ),
        (
            lambda: dataclasses.replace(get_profile("tiny"), n_ensemble=1),
            "n_ensemble must be an integer >= 2",
        ),
    ],
)
def test_bad_settings_raise_errors_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()
