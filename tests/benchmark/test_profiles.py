"""The benchmark's profiles: complete, ordered by size, and refusing bad settings by name."""

from __future__ import annotations

import dataclasses

import pytest

from lecture_code.benchmark.profiles import PROFILES, get_profile, profile_config


def test_profiles_are_complete_and_the_full_one_is_larger():
    book, full = get_profile("book"), get_profile("full")
    assert full.M == 50 and book.M >= 10
    assert full.data.n_train > book.data.n_train and full.backbone.hidden > book.backbone.hidden
    assert full.reference_states == full.data.n_test and full.reference_leads == full.n_leads
    assert book.data.n_test >= 200 and book.n_leads == 40 and book.sampler_steps <= 20
    assert get_profile("book", seed=3).data.seed == 3


def test_the_config_lists_the_headline_settings_and_every_field():
    profile = get_profile("tiny", seed=2)
    config = profile_config(profile)
    assert (config["profile"], config["seed"], config["M"]) == ("tiny", 2, 3)
    fields = {f.name for f in dataclasses.fields(profile)} - {"name"}
    assert fields <= set(config)
    assert set(PROFILES) == {"book", "full", "tiny"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: get_profile("huge"), "profile must be one of .* got 'huge'"),
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
    ],
)
def test_bad_settings_raise_errors_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()
