"""The committed results files: each must be the result of today's code and settings.

The book shows ``results/results.json`` (book profile, both tracks) and confirms its verdicts
on held-out test states (``results/heldout-1/``); the standard profile's files
(``results/standard/`` and ``results/standard-heldout-1/``) replicate them with more states,
more members and three training seeds. A change to the code the benchmark's command imports or
to a profile's settings makes a file stale, and this test fails, naming the file and the
command that regenerates it (``make benchmark``, ``make benchmark-standard``).
"""

from __future__ import annotations

import pytest

from lecture_code.benchmark.results import load_results, results_file
from lecture_code.benchmark.schema import validate

COMMITTED = [("book", 0), ("book", 1), ("standard", 0), ("standard", 1)]


@pytest.mark.parametrize(("profile", "test_seed"), COMMITTED)
def test_the_committed_results_are_fresh_and_complete(profile, test_seed):
    path = results_file(profile, test_seed)
    results = load_results(path)  # refuses a missing, malformed or stale file, by name
    validate(results)
    assert results["config"]["profile"] == profile
    assert results["config"]["test_seed"] == test_seed
    assert results["config"]["tracks"] == ["gaussian", "bursty"]
    assert len(results["targets"]) == 10
    replicates = 3 if profile == "standard" else 1
    for track in results["tracks"].values():
        assert len(track["replicates"]) == replicates - 1  # the first is reported in full
    provenance = results["provenance"]
    for key in ("command", "commit", "code_fingerprint", "date", "wall_s", "machine"):
        assert provenance[key] is not None, key
