"""The documented schema of ``results.json``, and a check that a file follows it.

The chapters glue their numbers from ``results.json``; a missing or mistyped field must fail
loudly, where it is read, with the field's path, and not as a ``KeyError`` deep in a figure.
``SCHEMA`` is the schema, written as nested Python values: a ``dict`` lists required keys
(the key ``"*"`` stands for any key, every value of that spec); a one-element ``list`` is a
list of that spec; a ``tuple`` of types lists the types allowed (``None`` for JSON null); a
type is that type (``float`` admits integers, ``bool`` never counts as a number). Extra keys
are allowed: the schema names what the book reads. :func:`validate` checks a value against a
spec and raises :class:`ResultsSchemaError` naming the first bad field.

The shape of a file: ``config`` (the profile, the seed, the test seed and the tracks run),
``provenance`` (command, commit, code fingerprint, date, wall time, machine), ``lead_time``,
``tracks`` (per track: its ``config`` with every setting, ``models`` with per forecaster the
scores with intervals, ``scorecard``, ``sampler_check``, ``one_step_law``, ``targets``,
``replicates``, ``timing_s``), ``targets`` (every track's, in one list) and ``timing_s``.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA", "ResultsSchemaError", "validate"]

_NUMBER = float
_LIST = [_NUMBER]
_INTERVALS = [[_NUMBER]]

#: Per forecaster: one entry per lead time, each score with its 95 % interval.
MODEL: dict[str, Any] = {
    "crps": _LIST,
    "crps_ci": _INTERVALS,
    "crps_ratio": _LIST,
    "crps_ratio_ci": _INTERVALS,
    "gap": [(float, None)],
    "rmse": _LIST,
    "rmse_ci": _INTERVALS,
    "spread": _LIST,
    "ssr": _LIST,
    "ssr_ci": _INTERVALS,
    "energy": _LIST,
    "energy_ci": _INTERVALS,
    "variogram": _LIST,
    "variogram_ci": _INTERVALS,
    "rank_histogram": {"*": [int]},
    "pit": {"*": {"counts": [int], "chi2": _NUMBER, "p_value": _NUMBER, "n": int}},
}

TARGET: dict[str, Any] = {
    "id": str,
    "track": str,
    "description": str,
    "value": (float, None),
    "threshold": _NUMBER,
    "passed": bool,
    "by_replicate": {"*": bool},
    "detail": dict,
}

_TEST = {
    "statistic": _NUMBER,
    "p_value": _NUMBER,
    "spread_ratio": _NUMBER,
    "spread_ratio_ci": _LIST,
}

_VERDICTS = {"won": _NUMBER, "tied": _NUMBER, "lost": _NUMBER, "n": int}

TRACK: dict[str, Any] = {
    "track": str,
    "config": {"profile": str, "seed": int, "test_seed": int, "M": int, "n_test": int},
    "lead_time": _LIST,
    "n_states": int,
    "tail_thresholds": {"*": _NUMBER},
    "models": {"*": MODEL},
    "scorecard": {
        "alpha": _NUMBER,
        "n_targets": int,
        "correction": str,
        "cards": {"*": {"*": [dict]}},
        "summary": {"*": _VERDICTS},
    },
    "sampler_check": {
        "passed": bool,
        "alpha": _NUMBER,
        "fast_nfe": int,
        "reference_nfe": int,
        "tests": {"fast": _TEST, "control": _TEST, "wrong": _TEST},
    },
    "one_step_law": {
        "skewness": _NUMBER,
        "excess_kurtosis": _NUMBER,
        "neighbour_correlation": _NUMBER,
        "ceiling": {"crps": _NUMBER, "*": _NUMBER},
    },
    "targets": [TARGET],
    "replicates": {"*": {"models": {"*": MODEL}, "scorecard": dict}},
    "dropout_tuning": {"*": {"selected": _NUMBER, "rates": _LIST, "weighted": [(float, None)]}},
    "timing_s": {"total": _NUMBER, "*": _NUMBER},
}

#: The whole file.
SCHEMA: dict[str, Any] = {
    "config": {"profile": str, "seed": int, "test_seed": int, "tracks": [str]},
    "provenance": {
        "command": str,
        "commit": (str, None),
        "code_fingerprint": str,
        "date": str,
        "wall_s": _NUMBER,
        "machine": dict,
    },
    "lead_time": _LIST,
    "tracks": {"*": TRACK},
    "targets": [TARGET],
    "timing_s": {"total": _NUMBER, "*": _NUMBER},
}


class ResultsSchemaError(ValueError):
    """A results file that does not follow ``SCHEMA``."""


def _name(spec: Any) -> str:
    if isinstance(spec, tuple):
        return " or ".join("null" if t is None else t.__name__ for t in spec)
    if isinstance(spec, dict):
        return "an object"
    if isinstance(spec, list):
        return "a list"
    return "a number" if spec is float else spec.__name__


def _is(value: Any, kind: Any) -> bool:
    if kind is None:
        return value is None
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def validate(value: Any, spec: Any = SCHEMA, path: str = "results") -> None:
    """Check ``value`` against ``spec`` (default: the whole file's ``SCHEMA``).

    Raises:
        ResultsSchemaError: naming the path of the first missing or mistyped field, what it
            should be and what it is.
    """
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ResultsSchemaError(
                f"{path} must be an object, got {type(value).__name__} {str(value)[:60]}"
            )
        for key, sub in spec.items():
            if key == "*":
                for k, v in value.items():
                    if k not in spec:
                        validate(v, sub, f"{path}[{k!r}]")
                continue
            if key not in value:
                raise ResultsSchemaError(f"{path} has no field {key!r} ({_name(sub)} expected)")
            validate(value[key], sub, f"{path}[{key!r}]")
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise ResultsSchemaError(
                f"{path} must be a list, got {type(value).__name__} {str(value)[:60]}"
            )
        for i, item in enumerate(value):
            validate(item, spec[0], f"{path}[{i}]")
        return
    kinds = spec if isinstance(spec, tuple) else (spec,)
    if not any(_is(value, kind) for kind in kinds):
        raise ResultsSchemaError(
            f"{path} must be {_name(spec)}, got {type(value).__name__} {str(value)[:60]}"
        )
