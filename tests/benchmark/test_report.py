"""What chapter 13 reads from the results: each table and number against a brute-force reading
of the same ``results.json``, and each refusal of bad input by name.

The tables are built from the committed book file (``results/results.json``); the tests that
need a second run change a copy of it by a known amount, so the expected answer is exact.
"""

from __future__ import annotations

import copy
import math

import pytest

from lecture_code.benchmark.report import (
    cost_table,
    largest_score_difference,
    largest_standardised_difference,
    live_results,
    provenance_table,
    scorecard_table,
    targets_table,
)
from lecture_code.benchmark.results import load_results, results_file


@pytest.fixture(scope="module")
def book():
    return load_results(results_file("book", 0))


def _first_scored(results):
    """A (track, forecaster, score) whose first lead is a finite number."""
    for track, entry in results["tracks"].items():
        for name, scores in entry["models"].items():
            if isinstance(scores.get("crps"), list) and scores["crps"][0] is not None:
                return track, name
    raise AssertionError("no scored forecaster")


def test_a_run_differs_from_itself_by_nothing(book):
    assert largest_score_difference(book, copy.deepcopy(book)) == 0.0


def test_the_largest_difference_is_the_change_made(book):
    other = copy.deepcopy(book)
    track, name = _first_scored(book)
    other["tracks"][track]["models"][name]["crps"][0] += 0.125
    other["tracks"][track]["models"][name]["rmse"][-1] -= 0.0625  # smaller: not the largest
    # (x + 0.125) - x is 0.125 up to the rounding of the sum
    assert largest_score_difference(book, other) == pytest.approx(0.125, abs=1e-15)
    assert largest_score_difference(other, book) == pytest.approx(0.125, abs=1e-15)


def test_runs_of_other_shape_are_infinitely_apart(book):
    track, name = _first_scored(book)
    missing = copy.deepcopy(book)
    del missing["tracks"][track]["models"][name]
    assert largest_score_difference(book, missing) == math.inf
    not_finite = copy.deepcopy(book)
    not_finite["tracks"][track]["models"][name]["crps"][0] = None
    assert largest_score_difference(book, not_finite) == math.inf
    one_track = {"tracks": {track: book["tracks"][track]}}
    assert largest_score_difference(book, one_track) == math.inf


def test_the_standardised_difference_is_in_halves_of_the_interval(book):
    assert largest_standardised_difference(book, copy.deepcopy(book)) == 0.0
    track, name = _first_scored(book)
    scores = book["tracks"][track]["models"][name]
    low, high = scores["crps_ci"][0]
    other = copy.deepcopy(book)
    # moved by a quarter of the interval's width: half its half-width
    other["tracks"][track]["models"][name]["crps"][0] += (high - low) / 4
    assert largest_standardised_difference(other, book) == pytest.approx(0.5, rel=1e-9)
    missing = copy.deepcopy(book)
    del missing["tracks"][track]["models"][name]
    assert largest_standardised_difference(book, missing) == math.inf


def test_the_held_out_run_lies_outside_the_committed_intervals(book):
    # other test states: a run that is not this one, and the measure sees it
    held = load_results(results_file("book", 1))
    assert largest_standardised_difference(held, book) > 1.0


def test_the_targets_table_has_a_row_per_target_and_a_cell_per_file(book):
    table = targets_table({"a": book, "b": book})
    lines = table.splitlines()
    assert len(lines) == 2 + len(book["targets"])
    for line, target in zip(lines[2:], book["targets"], strict=True):
        assert line.startswith(f"| `{target['id']}` |")
        verdict = "pass" if target["passed"] else "**missed**"
        assert line.count(verdict) == 2


def test_the_targets_table_counts_the_seeds_that_pass(book):
    seeded = copy.deepcopy(book)
    seeded["targets"][0]["by_replicate"] = {"0": True, "1": False, "2": True}
    assert "(2/3 seeds)" in targets_table({"seeded": seeded}).splitlines()[2]


def test_the_targets_table_refuses_a_file_without_a_target(book):
    short = copy.deepcopy(book)
    gone = short["targets"].pop()["id"]
    with pytest.raises(ValueError, match=gone):
        targets_table({"full": book, "short": short})
    with pytest.raises(ValueError, match="at least one"):
        targets_table({})


def test_the_provenance_table_shows_the_commit_and_the_minutes(book):
    row = provenance_table({"book": book}).splitlines()[2]
    p = book["provenance"]
    assert f"`{p['commit'][:8]}`" in row
    assert f"{p['wall_s'] / 60:.1f} min" in row
    assert f"{p['machine']['cpus']} CPUs" in row


def test_the_scorecard_table_is_the_summary(book):
    for track, entry in book["tracks"].items():
        summary = entry["scorecard"]["summary"]
        rows = scorecard_table(book, track).splitlines()[2:]
        assert len(rows) == len(summary)
        for row, (name, counts) in zip(rows, summary.items(), strict=True):
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert cells[0] == name
            assert cells[1:4] == [f"{counts[k]:.1f} %" for k in ("won", "tied", "lost")]
            # the three verdicts share out the whole card
            assert counts["won"] + counts["tied"] + counts["lost"] == pytest.approx(100.0)


def test_the_cost_of_the_deep_ensemble_is_the_sum_of_its_members(book):
    for track, entry in book["tracks"].items():
        members = [s for label, s in entry["training_s"].items() if label.startswith("gaussian_")]
        rows = {
            cells[0]: cells
            for cells in (
                [c.strip() for c in line.strip("|").split("|")]
                for line in cost_table(book, track).splitlines()[2:]
            )
        }
        assert rows["deep_ensemble"][1] == str(len(members))
        assert rows["deep_ensemble"][2] == f"{sum(members):.1f} s"
        assert rows["diffusion"][2] == f"{entry['training_s']['denoiser']:.1f} s"
        assert rows["physics_gaussian"][1] == "0"


@pytest.mark.parametrize("table", [scorecard_table, cost_table])
def test_the_tables_refuse_a_track_that_was_not_run(book, table):
    with pytest.raises(ValueError, match="two_scale"):
        table(book, "two_scale")


def test_the_live_run_refuses_a_negative_seed():
    with pytest.raises(ValueError, match="-1"):
        live_results(seed=-1)
    with pytest.raises(ValueError, match="-2"):
        live_results(test_seed=-2)
