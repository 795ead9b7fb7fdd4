"""results.json: written with its provenance, checked against its schema on every load, and
refused when missing, malformed or stale, by name."""

from __future__ import annotations

import json
import math

import pytest

from lecture_code.benchmark.results import (
    RESULTS_FILE,
    ResultsSchemaError,
    StaleResultsError,
    code_version,
    jsonable,
    load_results,
    results_file,
    write_results,
)
from lecture_code.benchmark.schema import validate


def test_a_fresh_run_follows_the_schema_and_loads(tiny_run):
    folder, results, _ = tiny_run
    validate(results)
    loaded = load_results(folder / "a" / "results.json")
    assert loaded["config"]["tracks"] == ["gaussian", "bursty"]


def test_non_finite_numbers_become_null():
    assert jsonable({"a": [math.nan, 1.0, (math.inf,)]}) == {"a": [None, 1.0, [None]]}


def test_a_missing_file_is_named_with_the_command_that_makes_it(tmp_path):
    path = tmp_path / "results.json"
    with pytest.raises(FileNotFoundError, match=f"no benchmark results at {path}: make them with"):
        load_results(path)


@pytest.mark.parametrize(
    ("spoil", "match"),
    [
        (lambda r: r.pop("provenance"), r"results has no field 'provenance'"),
        (
            lambda r: r["tracks"]["bursty"]["models"]["diffusion"].__setitem__("crps", "low"),
            r"results\['tracks'\]\['bursty'\]\['models'\]\['diffusion'\]\['crps'\] must be a list",
        ),
        (
            lambda r: r["targets"][0].__setitem__("passed", "yes"),
            r"results\['targets'\]\[0\]\['passed'\] must be bool, got str",
        ),
        (
            lambda r: r["tracks"]["gaussian"]["sampler_check"].pop("tests"),
            r"\['sampler_check'\] has no field 'tests'",
        ),
    ],
)
def test_a_missing_or_mistyped_field_is_named(tiny_run, tmp_path, spoil, match):
    _, results, _ = tiny_run
    spoilt = json.loads(json.dumps(results))
    spoil(spoilt)
    path = write_results(spoilt, tmp_path)
    with pytest.raises(ResultsSchemaError, match=match):
        load_results(path, check=False)


def test_a_file_from_other_settings_or_other_code_is_stale(tiny_run, tmp_path):
    _, results, _ = tiny_run
    other = json.loads(json.dumps(results))
    other["tracks"]["bursty"]["config"]["M"] = 7
    path = write_results(other, tmp_path)
    with pytest.raises(StaleResultsError, match=r"other settings .* track 'bursty' .*'M'"):
        load_results(path)
    assert load_results(path, check=False)["tracks"]["bursty"]["config"]["M"] == 7
    other = json.loads(json.dumps(results))
    other["tracks"]["gaussian"]["config"]["threads"] = 16  # speed only: still the same results
    other["provenance"]["code_fingerprint"] = "0" * 64
    path = write_results(other, tmp_path)
    with pytest.raises(StaleResultsError, match=r"was made by other code.*--profile tiny"):
        load_results(path)
    other["provenance"]["code_fingerprint"] = code_version()
    other["config"]["profile"] = "huge"
    path = write_results(other, tmp_path)
    with pytest.raises(StaleResultsError, match="profile 'huge', which no longer exists"):
        load_results(path)


def test_the_committed_files_have_their_places():
    assert results_file() == RESULTS_FILE
    assert results_file("book", 1).parent.name == "heldout-1"
    assert results_file("standard").parent.name == "standard"
    with pytest.raises(ValueError, match="profile must be one of"):
        results_file("huge")
