r"""What chapter 13 reads from the benchmark's results: the live run of the book profile, and
the tables it shows beside the committed files.

The benchmark computes (:mod:`~lecture_code.benchmark.run`); this module only runs it once per
code and settings (:func:`live_results`, cached on disk) and turns ``results.json`` files into
Markdown tables and a few numbers: the targets of every file (:func:`targets_table`), their
provenance (:func:`provenance_table`), the scorecard's won / tied / lost per baseline
(:func:`scorecard_table`), the cost of each forecaster (:func:`cost_table`), and how far apart
two runs' scores are, in absolute terms (:func:`largest_score_difference`) and in units of the
committed run's intervals (:func:`largest_standardised_difference`). Rerun on one machine, the
benchmark repeats itself to the last bit; on another, floating-point rounding may differ in the
last bit (other vector kernels), chaos carries that into every member, and the scores move by a
small part of their intervals. The second measure is the one that says whether a live run
reproduces a committed file.

The command ``python -m lecture_code.benchmark`` does not import this module, so editing it
leaves the committed results' code fingerprint alone.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from lecture_code.benchmark.profiles import get_profile, profile_config
from lecture_code.benchmark.results import code_version
from lecture_code.benchmark.run import BASELINES, CHALLENGER, run_benchmark
from lecture_code.cache import cached
from lecture_code.validation import check_int

__all__ = [
    "SCORES",
    "cost_table",
    "largest_score_difference",
    "largest_standardised_difference",
    "live_results",
    "provenance_table",
    "scorecard_table",
    "targets_table",
]

#: The per-lead scores of every forecaster that two runs are compared on.
SCORES = (
    "crps",
    "rmse",
    "ssr",
    "quantile_01",
    "quantile_99",
    "tail_01",
    "tail_99",
    "energy",
    "variogram",
)


def live_results(seed: int = 0, test_seed: int = 0, jobs: int | None = None) -> dict[str, Any]:
    """The book profile on both tracks, as ``python -m lecture_code.benchmark --profile book
    --track all`` computes it, run once per code and settings and then loaded from the cache.

    Args:
        seed: the profile's seed.
        test_seed: 0 for the data's test states, another value for held-out ones.
        jobs: worker processes (default: one per track, at most the CPUs).

    Returns:
        The whole ``results.json`` of the run (its provenance names this call).
    """
    seed = check_int("seed", seed, low=0)
    test_seed = check_int("test_seed", test_seed, low=0)
    profile = get_profile("book", seed, test_seed=test_seed)
    key = (profile_config(profile), code_version())
    return cached(
        "benchmark_book",
        key,
        # Through JSON, as the committed file is read: plain lists and numbers, which the cache
        # can load safely (the provenance's torch version is an object of torch's own).
        lambda: json.loads(
            json.dumps(
                run_benchmark(
                    profile, track="all", test_seed=test_seed, jobs=jobs, progress=False
                ).results
            )
        ),
        layer="benchmark",
        verbose=False,
    )


def _leaves(value: Any) -> list[float]:
    """Every number in a nested list (``None`` stands for a score that was not finite)."""
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _leaves(item)]
    if value is None:
        return [math.nan]
    return [float(value)]


def largest_score_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """The largest absolute difference between the per-lead scores (:data:`SCORES`) of every
    forecaster of every track of two results; ``inf`` if they do not hold the same tracks,
    forecasters and scores, or a score is finite in one and not in the other.

    Args:
        a, b: two ``results.json`` dictionaries.
    """
    if set(a["tracks"]) != set(b["tracks"]):
        return math.inf
    worst = 0.0
    for track, entry in a["tracks"].items():
        models_a, models_b = entry["models"], b["tracks"][track]["models"]
        if set(models_a) != set(models_b):
            return math.inf
        for name, scores in models_a.items():
            for score in SCORES:
                if (score in scores) != (score in models_b[name]):
                    return math.inf
                if score not in scores:
                    continue
                xs, ys = _leaves(scores[score]), _leaves(models_b[name][score])
                if len(xs) != len(ys):
                    return math.inf
                for x, y in zip(xs, ys, strict=True):
                    if math.isnan(x) != math.isnan(y):
                        return math.inf
                    if not math.isnan(x):
                        worst = max(worst, abs(x - y))
    return worst


def largest_standardised_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """The largest difference between the per-lead scores of two runs, each divided by half the
    width of ``b``'s 95 % bootstrap interval on that score: below 1, every score of ``a`` lies
    inside ``b``'s interval. ``inf`` if the runs do not hold the same tracks, forecasters and
    scores, or a score is finite in one and not in the other.

    Args:
        a, b: two ``results.json`` dictionaries; ``b``'s intervals are the yardstick.
    """
    if largest_score_difference(a, b) == math.inf:
        return math.inf
    worst = 0.0
    for track, entry in a["tracks"].items():
        for name, scores in entry["models"].items():
            other = b["tracks"][track]["models"][name]
            for score in SCORES:
                if score not in scores or f"{score}_ci" not in other:
                    continue
                for x, y, ci in zip(scores[score], other[score], other[f"{score}_ci"], strict=True):
                    if x is None or y is None or ci is None:
                        continue
                    half = (ci[1] - ci[0]) / 2
                    if half > 0:
                        worst = max(worst, abs(x - y) / half)
                    elif x != y:
                        return math.inf
    return worst


def _value(target: Mapping[str, Any]) -> str:
    value = target["value"]
    shown = "n/a" if value is None else f"{value:.4g}"
    verdict = "pass" if target["passed"] else "**missed**"
    seeds = target.get("by_replicate", {})
    if len(seeds) > 1:
        verdict += f" ({sum(bool(v) for v in seeds.values())}/{len(seeds)} seeds)"
    return f"{shown} {verdict}"


def targets_table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """The targets of ``benchmark.md`` as a Markdown table: one row per target, one column per
    results file (its value, then pass or **missed**; with several training seeds, how many
    pass).

    Args:
        columns: column title -> ``results.json`` dictionary, all with the same targets.
    """
    if not columns:
        raise ValueError("columns must hold at least one results file, got none")
    first = next(iter(columns.values()))
    ids = [t["id"] for t in first["targets"]]
    lines = ["| target | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for target_id in ids:
        cells = []
        for title, results in columns.items():
            found = [t for t in results["targets"] if t["id"] == target_id]
            if not found:
                raise ValueError(f"results {title!r} has no target {target_id!r}")
            cells.append(_value(found[0]))
        lines.append(f"| `{target_id}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def provenance_table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """Where each results file comes from, as a Markdown table: its command, commit, date, wall
    time and machine.

    Args:
        columns: row title -> ``results.json`` dictionary.
    """
    lines = [
        "| results | command | commit | date | wall time | machine |",
        "|---|---|---|---|---:|---|",
    ]
    for title, results in columns.items():
        p = results["provenance"]
        commit = (p.get("commit") or "uncommitted")[:8]
        machine = p["machine"]
        where = f"{machine['cpus']} CPUs, torch {machine['torch']}"
        lines.append(
            f"| {title} | `{p['command']}` | `{commit}` | {p['date'][:10]} | "
            f"{p['wall_s'] / 60:.1f} min | {where} |"
        )
    return "\n".join(lines)


def scorecard_table(results: Mapping[str, Any], track: str) -> str:
    """The diffusion model against each baseline on one track's whole card, as a Markdown
    table: the percentages of targets won, tied and lost after the Holm correction.

    Args:
        results: a ``results.json`` dictionary.
        track: one of its tracks.
    """
    if track not in results["tracks"]:
        raise ValueError(f"track must be one of {list(results['tracks'])}, got {track!r}")
    summary = results["tracks"][track]["scorecard"]["summary"]
    lines = [f"| {CHALLENGER} against | won | tied | lost | targets |", "|---|---:|---:|---:|---:|"]
    for name, row in summary.items():
        lines.append(
            f"| {name} | {row['won']:.1f} % | {row['tied']:.1f} % | {row['lost']:.1f} % | "
            f"{row['n']} |"
        )
    return "\n".join(lines)


def _networks(name: str, tuning: Mapping[str, Any], n_ensemble: int) -> list[str]:
    """The training labels of the networks a forecaster uses."""
    if name == "deterministic":
        return ["mean_p0"]
    if name == "mc_dropout":
        return [f"mean_p{tuning['mc_dropout']['selected']:g}"]
    if name == "mc_dropout_het":
        return [f"het_p{tuning['mc_dropout_het']['selected']:g}"]
    if name == "gaussian":
        return ["gaussian_0"]
    if name == "deep_ensemble":
        return [f"gaussian_{e}" for e in range(n_ensemble)]
    if name == CHALLENGER:
        return ["denoiser"]
    return []


def cost_table(results: Mapping[str, Any], track: str) -> str:
    """What each forecaster costs on one track, as a Markdown table: the seconds its networks
    took to train, and the seconds of its rollout of every test state and member.

    Args:
        results: a ``results.json`` dictionary.
        track: one of its tracks.
    """
    if track not in results["tracks"]:
        raise ValueError(f"track must be one of {list(results['tracks'])}, got {track!r}")
    entry = results["tracks"][track]
    n_ensemble = sum(1 for label in entry["training_s"] if label.startswith("gaussian_"))
    lines = ["| forecaster | networks | training | rollout |", "|---|---:|---:|---:|"]
    for name in (
        "physics_gaussian",
        *[b for b in BASELINES if b not in ("climatology", "oracle", "physics_gaussian")],
        CHALLENGER,
    ):
        labels = _networks(name, entry["dropout_tuning"], n_ensemble)
        train = sum(entry["training_s"][label] for label in labels)
        rollout = entry["timing_s"].get(f"rollout {name}")
        shown = "n/a" if rollout is None else f"{rollout:.1f} s"
        lines.append(f"| {name} | {len(labels)} | {train:.1f} s | {shown} |")
    return "\n".join(lines)
