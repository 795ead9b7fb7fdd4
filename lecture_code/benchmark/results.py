"""``results.json``: what a benchmark run writes, where it came from, and whether it is still
the result of the code.

A run writes one JSON file (:func:`write_results`) with the documented keys: ``config`` (every
setting of the profile, :func:`lecture_code.benchmark.profiles.profile_config`), ``provenance``
(the command, the commit, the fingerprint of the code, the date, the wall time and the machine),
``lead_time``, ``models`` (per forecaster the scores of
:func:`lecture_code.benchmark.scoring.score_forecasts`), ``scorecard``, ``sampler_comparison``,
``sampler_ablation``, ``one_step``, ``dropout_tuning``, ``nfe_per_forecast_step``,
``parameters``, ``training_s``, ``trained_from_cache``, ``timing_s`` and ``cpu_s``.

The book shows a committed file (``results/results.json`` of the project). :func:`load_results`
refuses a file that is missing, or *stale*: made with other settings than the profile's today,
or by other code than the source of the packages it depends on (the fingerprint of
:func:`lecture_code.cache.layer_sources` of the benchmark layer). Regenerate it with the command
it names instead of editing it.

Book: chapter 13, "The benchmark".
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
from lecture_code.benchmark.profiles import get_profile, profile_config
from lecture_code.cache import code_fingerprint, layer_sources

__all__ = [
    "RESULTS_FILE",
    "StaleResultsError",
    "check_fresh",
    "code_version",
    "jsonable",
    "load_results",
    "provenance",
    "write_results",
]

#: The results file the book shows, in the project's ``results`` folder.
RESULTS_FILE = Path(lecture_code.__file__).resolve().parents[1] / "results" / "results.json"

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


def code_version() -> str:
    """The fingerprint of the code a benchmark result depends on: every module of the support,
    ``ddpm``, ``score``, ``forecasting`` and ``benchmark`` layers."""
    return code_fingerprint(layer_sources("benchmark"))


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
    return (
        f"python -m lecture_code.benchmark --profile {config.get('profile', 'book')} "
        f"--seed {config.get('seed', 0)} --out {path.parent}"
    )


def check_fresh(results: dict[str, Any], path: Path) -> None:
    """Raise :class:`StaleResultsError` if ``results`` (read from ``path``) was made with other
    settings than its profile's today, or by other code than today's.

    Settings that change only the speed (the number of threads) may differ.
    """
    config = results.get("config")
    if not isinstance(config, dict) or "profile" not in config or "seed" not in config:
        raise StaleResultsError(f"{path} has no config with a profile and a seed; regenerate it")
    redo = _command(config, path)
    expected = jsonable(profile_config(get_profile(config["profile"], config["seed"])))
    changed = sorted(
        key
        for key in set(expected) | set(config)
        if key not in _SPEED_ONLY and expected.get(key) != config.get(key)
    )
    if changed:
        raise StaleResultsError(
            f"{path} was made with other settings than the {config['profile']!r} profile has "
            f"today (they differ in {changed}); regenerate it with: {redo}"
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
        StaleResultsError: the file is stale.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no benchmark results at {path}: make them with "
            f"python -m lecture_code.benchmark --profile book --seed 0 --out {path.parent}"
        )
    results = json.loads(path.read_text())
    if check:
        check_fresh(results, path)
    return results
