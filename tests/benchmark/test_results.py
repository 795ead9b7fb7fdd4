"""results.json: written with its provenance, refused when missing or stale, by name."""

from __future__ import annotations

import json
import math

import pytest

from lecture_code.benchmark.profiles import get_profile, profile_config
from lecture_code.benchmark.results import (
    StaleResultsError,
    code_version,
    jsonable,
    load_results,
    write_results,
)


def _fresh() -> dict:
    return {
        "config": jsonable(profile_config(get_profile("tiny"))),
        "provenance": {"code_fingerprint": code_version()},
        "models": {"oracle": {"crps": [math.nan, 1.0]}},
    }


def test_a_fresh_file_loads_and_non_finite_numbers_become_null(tmp_path):
    path = write_results(_fresh(), tmp_path / "out")
    assert path == tmp_path / "out" / "results.json"
    results = load_results(path)
    assert results["models"]["oracle"]["crps"] == [None, 1.0]


def test_a_missing_file_is_named_with_the_command_that_makes_it(tmp_path):
    path = tmp_path / "results.json"
    with pytest.raises(FileNotFoundError, match=f"no benchmark results at {path}: make them with"):
        load_results(path)


def test_a_file_from_other_settings_or_other_code_is_stale(tmp_path):
    results = _fresh()
    results["config"]["M"] = 7
    path = write_results(results, tmp_path)
    with pytest.raises(StaleResultsError, match=r"results.json was made with other settings .*'M'"):
        load_results(path)
    assert load_results(path, check=False)["config"]["M"] == 7
    results = _fresh()
    results["config"]["threads"] = 16  # speed only: still the same results
    results["provenance"]["code_fingerprint"] = "0" * 64
    path = write_results(results, tmp_path)
    with pytest.raises(StaleResultsError, match=r"was made by other code.*--profile tiny --seed 0"):
        load_results(path)
    path.write_text(json.dumps({"models": {}}))
    with pytest.raises(StaleResultsError, match="has no config"):
        load_results(path)
