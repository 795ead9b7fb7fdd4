"""``results.json``: what a benchmark run writes, where it came from, and whether it is still
the result of the code.

A run writes one JSON file (:func:`write_results`) whose fields are documented, and checked on
every load, by :mod:`lecture_code.benchmark.schema`: ``config`` (profile, seed, test seed,
tracks), ``provenance`` (the command, the commit, the fingerprint of the code, the date, the
wall time and the machine), ``lead_time``, ``tracks`` (per track every setting, the scores of
every forecaster with intervals, the scorecard, the sampler check, the one-step law, the
targets, the training replicates and the timings), ``targets`` and ``timing_s``.

The book shows committed files (:func:`results_file`: ``results/results.json`` of the
project for the book profile, ``results/standard/`` for the standard profile). :func:`load_results`
refuses a file that is missing, or *stale*: made with other settings than the profile's today,
or by other code than the modules the benchmark's command imports (the fingerprint of
:func:`code_version`: their syntax trees, so a mended docstring or a new module elsewhere keeps
a file fresh). Regenerate it with the command it names instead of editing it.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

import lecture_code
from lecture_code.benchmark.profiles import PROFILES, get_profile, profile_config, track_names
from lecture_code.benchmark.schema import ResultsSchemaError, validate
from lecture_code.cache import code_fingerprint, import_closure
from lecture_code.validation import check_choice, check_int

__all__ = [
    "RESULTS_CODE",
    "RESULTS_FILE",
    "ResultsSchemaError",
    "StaleResultsError",
    "check_fresh",
    "code_version",
    "jsonable",
    "load_results",
    "provenance",
    "results_file",
    "write_results",
]

_RESULTS = Path(lecture_code.__file__).resolve().parents[1] / "results"
#: The results file the book shows, in the project's ``results`` folder: the book profile,
#: every track, seed 0, the data's own test states.
RESULTS_FILE = _RESULTS / "results.json"


def results_file(profile: str = "book", test_seed: int = 0) -> Path:
    """The committed results file of ``profile`` and ``test_seed``: ``results/results.json``
    for the book profile's test states, ``results/heldout-<test_seed>/results.json`` for its
    held-out ones, ``results/<profile>[-heldout-<test_seed>]/results.json`` for the others."""
    check_choice("profile", profile, PROFILES)
    test_seed = check_int("test_seed", test_seed, low=0)
    held = f"heldout-{test_seed}" if test_seed else ""
    if profile == "book":
        return _RESULTS / held / "results.json" if held else RESULTS_FILE
    folder = f"{profile}-{held}" if held else profile
    return _RESULTS / folder / "results.json"


#: Settings that change how fast a run is, not what it computes.
_SPEED_ONLY = ("threads",)


class StaleResultsError(ValueError):
    """A results file that no longer matches the settings or the code that should make it."""


def jsonable(value: Any) -> Any:
    """Floats that JSON can hold (NaN and infinities become null), recursively; tuples become
    lists, keys strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: The modules whose code makes a results file, the command and the file's writer and reader.
RESULTS_CODE = ("lecture_code.benchmark.__main__", "lecture_code.benchmark.results")


def code_version() -> str:
    """The fingerprint of the code a benchmark result depends on: the modules of
    :data:`RESULTS_CODE` and every module of :mod:`lecture_code` they import, directly or not
    (:func:`lecture_code.cache.import_closure`), without their docstrings."""
    return code_fingerprint(import_closure(RESULTS_CODE))


def _git_commit() -> str | None:
    root = Path(lecture_code.__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def provenance(command: str, wall_s: float, threads: int) -> dict[str, Any]:
    """Where a result came from: ``command``, the commit (of the checkout, which may hold
    uncommitted changes: the code fingerprint is what identifies the code), the code
    fingerprint, the date (UTC), the wall time in seconds and the machine."""
    return {
        "command": command,
        "commit": _git_commit(),
        "code_fingerprint": code_version(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_s": wall_s,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }


def write_results(results: dict[str, Any], folder: str | Path) -> Path:
    """Write ``results`` to ``folder/results.json`` (the folder is created); return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(jsonable(results), indent=1))
    return path


def _command(config: dict[str, Any], path: Path) -> str:
    tracks = config.get("tracks", ["all"])
    track = "all" if len(tracks) != 1 else tracks[0]
    return (
        f"python -m lecture_code.benchmark --profile {config.get('profile', 'book')} "
        f"--track {track} --seed {config.get('seed', 0)} "
        f"--test-seed {config.get('test_seed', 0)} --out {path.parent}"
    )


def check_fresh(results: dict[str, Any], path: Path) -> None:
    """Raise :class:`StaleResultsError` if ``results`` (read from ``path``) was made with other
    settings than its profile's today, or by other code than today's.

    Every track's settings are compared with its profile's; settings that change only the
    speed (the number of threads) may differ.
    """
    config = results.get("config")
    if not isinstance(config, dict) or "profile" not in config or "seed" not in config:
        raise StaleResultsError(f"{path} has no config with a profile and a seed; regenerate it")
    redo = _command(config, path)
    if config["profile"] not in PROFILES:
        raise StaleResultsError(
            f"{path} was made with profile {config['profile']!r}, which no longer exists "
            f"(profiles: {sorted(PROFILES)})"
        )
    for track in config.get("tracks", []):
        try:
            track_names(track)
        except ValueError as error:
            raise StaleResultsError(f"{path} holds an unknown track: {error}") from None
        made = results.get("tracks", {}).get(track, {}).get("config", {})
        today = get_profile(
            config["profile"], config["seed"], track=track, test_seed=config.get("test_seed", 0)
        )
        expected = jsonable(profile_config(today))
        changed = sorted(
            key
            for key in set(expected) | set(made)
            if key not in _SPEED_ONLY and expected.get(key) != made.get(key)
        )
        if changed:
            raise StaleResultsError(
                f"{path} was made with other settings than the {config['profile']!r} profile "
                f"has today on track {track!r} (they differ in {changed}); regenerate it "
                f"with: {redo}"
            )
    made_by = results.get("provenance", {}).get("code_fingerprint")
    if made_by != code_version():
        raise StaleResultsError(
            f"{path} was made by other code (fingerprint {made_by}) than today's "
            f"({code_version()}); regenerate it with: {redo}"
        )


def load_results(path: str | Path = RESULTS_FILE, *, check: bool = True) -> dict[str, Any]:
    """The contents of a ``results.json``, after checking that it exists and is fresh.

    Args:
        path: the file (default: :data:`RESULTS_FILE`, the one the book shows).
        check: refuse a stale file (:func:`check_fresh`).

    Raises:
        FileNotFoundError: the file does not exist; the message names it and the command that
            makes it.
        ResultsSchemaError: a field is missing or mistyped (:mod:`lecture_code.benchmark.schema`).
        StaleResultsError: the file is stale.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no benchmark results at {path}: make them with "
            "python -m lecture_code.benchmark --profile book --track all --seed 0 "
            f"--out {path.parent}"
        )
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsSchemaError(f"{path} is not valid JSON ({error}); regenerate it") from None
    try:
        validate(results)
    except ResultsSchemaError as error:
        raise ResultsSchemaError(f"{path}: {error}") from None
    if check:
        check_fresh(results, path)
    return results
