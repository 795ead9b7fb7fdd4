"""The targets of the protocol, judged on a track's results: each with its measured value and
pass or fail.

The targets are those of ``design/benchmark.md`` (version 2, "Targets"), fixed before any
result was seen; a missed target is reported as missed, never tuned away:

- ``bursty``: the diffusion model's fair CRPS within 3 % of the oracle's at every lead; the
  diffusion model significantly better (after the scorecard's Holm correction) than the
  Gaussian network, the deep ensemble and the control at every lead up to 0.5 time units on
  the CRPS and both quantile scores; its PIT passes the flatness test at the leads where the
  Gaussian network's fails;
- ``gaussian``: the diffusion model within 2 % of the oracle at every lead, its spread–skill
  ratio within 0.05 of the oracle's;
- both tracks: the diffusion model significantly better than MC dropout at every lead (CRPS);
  the fast sampler indistinguishable from the 1000-step reference by a test that rejects a
  10 % spread error (:func:`lecture_code.benchmark.sampler_check.sampler_check`).

One target was added after the first results, and is labelled so:
``bursty.beats_gaussian_family_tails``, the same comparison on the CRPS and the fair tail CRPS
beyond both climatological extremes (the protocol's alternative to the quantile scores, "threshold
Brier scores at climatological extremes", integrated over each tail). The first results showed
the Gaussian network beating the oracle's own ensemble on the quantile scores of 20 members,
which no proper score of the ensemble's law allows; the tail CRPS is fair at any ``M``. The
original target stays, judged as declared; the held-out test seed confirms both.

Each training replicate is judged on its own; a target passes when it passes for every
replicate. A target whose forecaster diverged in a replicate (its rollout overflowed, so it has
no scores) is not scored there: it fails, with the missing forecaster named in its detail.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

from typing import Any

from lecture_code.benchmark.profiles import Profile
from lecture_code.benchmark.scoring import quantile_key, tail_key

__all__ = ["SHORT_LEADS", "judge_targets"]

#: The leads (time units) up to which the bursty track's shape targets apply.
SHORT_LEADS = 0.5
_CHALLENGER = "diffusion"


def _unscored(models: dict[str, Any], needed: list[str], threshold: float) -> dict[str, Any] | None:
    """The verdict of a target whose forecasters ``needed`` are not all scored, else None."""
    missing = [name for name in needed if name not in models]
    if not missing:
        return None
    return {
        "value": None,
        "detail": {"not_scored": missing, "note": "diverged: no scores to judge"},
        "threshold": threshold,
        "passed": False,
    }


def _ratio_target(models: dict[str, Any], bound: float) -> dict[str, Any]:
    if (absent := _unscored(models, [_CHALLENGER], bound)) is not None:
        return absent
    ratios = models[_CHALLENGER]["crps_ratio"]
    worst = max(range(len(ratios)), key=ratios.__getitem__)
    return {
        "value": ratios[worst],
        "detail": {"worst_lead_step": worst + 1, "ci": models[_CHALLENGER]["crps_ratio_ci"][worst]},
        "threshold": bound,
        "passed": ratios[worst] <= bound,
    }


def _ssr_target(models: dict[str, Any], tolerance: float) -> dict[str, Any]:
    if (absent := _unscored(models, [_CHALLENGER], tolerance)) is not None:
        return absent
    ours, oracle = models[_CHALLENGER]["ssr"], models["oracle"]["ssr"]
    gaps = [abs(a - b) for a, b in zip(ours, oracle, strict=True)]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    return {
        "value": gaps[worst],
        "detail": {"worst_lead_step": worst + 1, "ssr": ours[worst], "oracle_ssr": oracle[worst]},
        "threshold": tolerance,
        "passed": gaps[worst] <= tolerance,
    }


def _wins_target(
    card: dict[str, Any], baselines: list[str], scores: list[str], leads: list[int]
) -> dict[str, Any]:
    cells, won, missing = 0, 0, []
    for score in scores:
        for baseline in baselines:
            rows = card["cards"].get(score, {}).get(baseline)
            if rows is None:
                missing.append(f"{score}/{baseline}")
                continue
            for lead in leads:
                cells += 1
                won += rows[lead]["verdict"] == "better"
    return {
        "value": won / cells if cells else 0.0,
        "detail": {"won": won, "cells": cells, "missing": missing},
        "threshold": 1.0,
        "passed": cells > 0 and won == cells and not missing,
    }


def _pit_target(models: dict[str, Any], alpha: float) -> dict[str, Any]:
    if (absent := _unscored(models, ["gaussian", _CHALLENGER], alpha)) is not None:
        return absent
    gaussian, ours = models["gaussian"]["pit"], models[_CHALLENGER]["pit"]
    failed = [lead for lead, test in gaussian.items() if test["p_value"] <= alpha]
    ours_p = {lead: ours[lead]["p_value"] for lead in failed}
    passed = bool(failed) and all(p > alpha for p in ours_p.values())
    return {
        "value": min(ours_p.values()) if ours_p else None,
        "detail": {
            "gaussian_p": {lead: test["p_value"] for lead, test in gaussian.items()},
            "diffusion_p": {lead: test["p_value"] for lead, test in ours.items()},
            "leads_where_gaussian_fails": failed,
            "note": None
            if failed
            else "the Gaussian network's PIT passes at every lead tested: "
            "the test shows no difference to confirm",
        },
        "threshold": alpha,
        "passed": passed,
    }


def _sampler_target(check: dict[str, Any]) -> dict[str, Any]:
    tests = check["tests"]
    return {
        "value": tests["fast"]["p_value"],
        "detail": {
            "fast_p": tests["fast"]["p_value"],
            "control_p": tests["control"]["p_value"],
            "wrong_p": tests["wrong"]["p_value"],
            "fast_spread_ratio": tests["fast"]["spread_ratio"],
            "fast_spread_ratio_ci": tests["fast"]["spread_ratio_ci"],
            "fast_nfe": check["fast_nfe"],
        },
        "threshold": check["alpha"],
        "passed": bool(check["passed"]) and (check["fast_nfe"] or 0) <= 10,
    }


def _judge(
    track: str,
    models: dict[str, Any],
    card: dict[str, Any],
    lead_time: list[float],
    profile: Profile,
) -> list[tuple[str, str, dict[str, Any]]]:
    every = list(range(len(lead_time)))
    rows = []
    if track == "bursty":
        rows.append(
            (
                "crps_ratio",
                "diffusion fair CRPS <= 1.03 x oracle at every lead",
                _ratio_target(models, 1.03),
            )
        )
        short = [i for i, tau in enumerate(lead_time) if tau <= SHORT_LEADS + 1e-9]
        scores = ["crps", *(quantile_key(a) for a in profile.quantile_levels)]
        rows.append(
            (
                "beats_gaussian_family",
                "diffusion beats the Gaussian network, the deep ensemble and the control "
                f"significantly (Holm) at every lead <= {SHORT_LEADS} on CRPS and both "
                "quantile scores",
                _wins_target(
                    card, ["gaussian", "deep_ensemble", "physics_gaussian"], scores, short
                ),
            )
        )
        # The same scores of the Gaussian network over the oracle's own ensemble, lead by lead:
        # where the Gaussian beats the truth's own law, the score cannot rank forecast laws.
        if "gaussian" in models:
            rows[-1][2]["detail"]["gaussian_over_oracle"] = {
                score: [
                    g / o
                    for g, o in zip(models["gaussian"][score], models["oracle"][score], strict=True)
                ]
                for score in scores
            }
        # The protocol's alternative to the quantile scores, threshold scores at climatological
        # extremes, in the fair form that ranks the truth's own law first at any M
        # (lecture_code.forecasting.shape_scores.tail_crps).
        tails = ["crps", *(tail_key(a) for a in profile.quantile_levels)]
        rows.append(
            (
                "beats_gaussian_family_tails",
                "diffusion beats the Gaussian network, the deep ensemble and the control "
                f"significantly (Holm) at every lead <= {SHORT_LEADS} on CRPS and the fair tail "
                "CRPS beyond both climatological extremes (added after the first results: the "
                "quantile scores of 20 members ranked a Gaussian above the oracle)",
                _wins_target(card, ["gaussian", "deep_ensemble", "physics_gaussian"], tails, short),
            )
        )
        if "gaussian" in models:
            rows[-1][2]["detail"]["gaussian_over_oracle"] = {
                score: [
                    g / o
                    for g, o in zip(models["gaussian"][score], models["oracle"][score], strict=True)
                ]
                for score in tails
            }
        rows.append(
            (
                "pit",
                "diffusion PIT passes the flatness test where the Gaussian network's fails",
                _pit_target(models, profile.alpha),
            )
        )
    else:
        rows.append(
            (
                "crps_ratio",
                "diffusion fair CRPS <= 1.02 x oracle at every lead",
                _ratio_target(models, 1.02),
            )
        )
        rows.append(
            (
                "ssr",
                "diffusion SSR within 0.05 of the oracle's at every lead",
                _ssr_target(models, 0.05),
            )
        )
    rows.append(
        (
            "beats_mc_dropout",
            "diffusion beats MC dropout significantly (Holm) at every lead on CRPS",
            _wins_target(card, ["mc_dropout"], ["crps"], every),
        )
    )
    return rows


def judge_targets(track_results: dict[str, Any], profile: Profile) -> list[dict[str, Any]]:
    """Every target of the track, judged on the first replicate and confirmed on the others.

    Args:
        track_results: a track's results (:func:`lecture_code.benchmark.run.run_track`), with
            ``models``, ``scorecard``, ``sampler_check``, ``lead_time`` and ``replicates``.
        profile: the run's settings.

    Returns:
        One dict per target: ``id`` (``"<track>.<name>"``), ``track``, ``description``,
        ``value``, ``threshold``, ``detail``, ``by_replicate`` (training seed -> passed) and
        ``passed`` (on every replicate).
    """
    track, lead_time = track_results["track"], track_results["lead_time"]
    head = _judge(track, track_results["models"], track_results["scorecard"], lead_time, profile)
    others = {
        seed: _judge(track, rep["models"], rep["scorecard"], lead_time, profile)
        for seed, rep in track_results.get("replicates", {}).items()
    }
    out = []
    first_seed = str(profile.train_seeds[0])
    for i, (name, description, judged) in enumerate(head):
        by_replicate = {first_seed: judged["passed"]}
        by_replicate.update({seed: rows[i][2]["passed"] for seed, rows in others.items()})
        out.append(
            {
                "id": f"{track}.{name}",
                "track": track,
                "description": description,
                **judged,
                "by_replicate": by_replicate,
                "passed": all(by_replicate.values()),
            }
        )
    sampler = _sampler_target(track_results["sampler_check"])
    out.append(
        {
            "id": f"{track}.sampler",
            "track": track,
            "description": "fast sampler (<= 10 evaluations) indistinguishable from the 1000-step "
            "reference by a test that rejects a 10 % spread error",
            **sampler,
            "by_replicate": {first_seed: sampler["passed"]},
        }
    )
    return out
