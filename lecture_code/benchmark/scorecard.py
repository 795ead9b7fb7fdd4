r"""The scorecard: a challenger against each baseline, lead by lead, by a paired bootstrap.

Both forecasters are scored on the same initial states against the same truth, so their
difference is taken state by state, :math:`d_b = \mathrm{CRPS}^{\text{challenger}}_b -
\mathrm{CRPS}^{\text{baseline}}_b` (averaged over sites), and its mean is given a percentile
bootstrap interval over states (:mod:`lecture_code.forecasting.bootstrap`, book eq.
(bootstrap-ci)). Hard and easy states cancel in :math:`d_b`, so the paired interval is much
narrower than either score's. The verdict at one lead time is "better" when the whole 95 %
interval is below zero, "worse" when it is above, and a "tie" otherwise; GenCast's scorecard
(Price et al. 2025) reports the same three outcomes over its targets.

References:
    I. Price et al., "Probabilistic weather forecasting with machine learning" (GenCast),
    Nature 637, 2025, arXiv:2312.15796.

Book: chapter 13, "The benchmark"; chapter 10, "Scoring probabilistic
forecasts" (:doc:`/book/part3/10_scoring_rules`), section "How sure is an average score?".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.forecasting.bootstrap import bootstrap_intervals
from lecture_code.validation import check_tensor

__all__ = ["paired_verdicts", "scorecard"]


def paired_verdicts(
    challenger: torch.Tensor, baseline: torch.Tensor, n_boot: int, generator: torch.Generator
) -> list[dict[str, Any]]:
    """The challenger against one baseline at every lead time.

    Args:
        challenger: (B, L) per-state scores of the challenger (lower is better).
        baseline: (B, L) per-state scores of the baseline on the same states.
        n_boot: bootstrap resamples.
        generator: draws the resamples (one set for all lead times).

    Returns:
        One row per lead time: ``difference`` (mean of challenger minus baseline, < 0: the
        challenger wins), ``ci`` (its 95 % paired interval), ``relative`` (the difference over
        the baseline's mean score) and ``verdict`` ("better", "worse" or "tie").
    """
    dims: dict[str, int] = {}
    check_tensor("challenger", challenger, ("B", "L"), dims=dims)
    check_tensor("baseline", baseline, ("B", "L"), dims=dims)
    difference = challenger - baseline
    intervals = bootstrap_intervals(difference, generator, n_boot)
    rows = []
    for lead in range(difference.shape[1]):
        low, high = intervals[lead]
        mean = float(difference[:, lead].mean())
        verdict = "better" if high < 0 else ("worse" if low > 0 else "tie")
        relative = mean / float(baseline[:, lead].mean())
        rows.append(
            {"difference": mean, "ci": [low, high], "relative": relative, "verdict": verdict}
        )
    return rows


def scorecard(
    per_state: Mapping[str, torch.Tensor],
    challenger: str,
    baselines: Sequence[str],
    n_boot: int,
    generator: torch.Generator,
) -> dict[str, list[dict[str, Any]]]:
    """The challenger against each baseline: :func:`paired_verdicts`, baseline by baseline.

    Args:
        per_state: name -> (B, L) per-state scores of every forecaster, on the same states.
        challenger: the name of the forecaster on trial.
        baselines: the names it is compared with, in the card's order (those without scores
            in ``per_state`` are left out).
        n_boot: bootstrap resamples.
        generator: draws the resamples, baseline after baseline.

    Returns:
        baseline -> rows of :func:`paired_verdicts`.
    """
    if challenger not in per_state:
        raise ValueError(
            f"challenger must be one of the scored forecasters {list(per_state)}, "
            f"got {challenger!r}"
        )
    card = {}
    for baseline in baselines:
        if baseline == challenger:
            raise ValueError(f"baselines must not include the challenger {challenger!r}")
        if baseline in per_state:
            card[baseline] = paired_verdicts(
                per_state[challenger], per_state[baseline], n_boot, generator
            )
    return card
