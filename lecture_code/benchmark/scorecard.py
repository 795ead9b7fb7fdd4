r"""The scorecard: a challenger against each baseline, lead by lead and score by score, with a
paired test over initial states and a Holm correction over the whole card.

Both forecasters are scored on the same initial states against the same truth, so their
difference is taken state by state, :math:`d_b = S^{\text{challenger}}_b -
S^{\text{baseline}}_b`, and hard and easy states cancel in it: the paired test is much sharper
than a comparison of two intervals. For every target (a score, a baseline, a lead time) the
card reports the mean difference, a percentile bootstrap interval
(:mod:`lecture_code.forecasting.bootstrap`, book eq. (bootstrap-ci)) and a two-sided p-value.

**Why a normal p-value.** A card of a few hundred targets, corrected by Holm's procedure, needs
p-values near :math:`10^{-4}` to :math:`10^{-5}`, below the resolution :math:`1/n_{\text{boot}}`
of a bootstrap p-value. The initial states are independent (separate trajectories), and there
are hundreds of them, so the central limit theorem makes :math:`z = \bar d/(s_d/\sqrt B)`
standard normal under "no difference"; :math:`p = 2\Phi(-|z|)`.

**Holm's correction** (Holm 1979) controls the probability of *any* false verdict on the card
at :math:`\alpha`, whatever the dependence between targets (neighbouring lead times are
strongly dependent). A verdict is "better" when the difference is significant after the
correction and negative, "worse" when significant and positive, and a "tie" otherwise;
GenCast's scorecard (Price et al. 2025) reports the same three outcomes over its targets, as
percentages per baseline.

**Power.** Each row also says how large a difference its test would detect with 80 % power:
:math:`(z_{1-\alpha/2} + z_{0.8})\,\mathrm{SE}` uncorrected, and with
:math:`z_{1-\alpha/(2n)}` at the Bonferroni level of the whole card (which Holm's step-down
never needs more than). A tie with a large detectable difference says little; a tie with a
small one says "no difference that matters".

References:
    S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6,
    1979.
    I. Price et al., "Probabilistic weather forecasting with machine learning" (GenCast),
    Nature 637, 2025, arXiv:2312.15796.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`); chapter 10, "Scoring
probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`), section "How sure is an average
score?".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.forecasting.bootstrap import bootstrap_intervals
from lecture_code.validation import check_real, check_tensor

__all__ = ["holm", "holm_adjusted", "normal_quantile", "paired_test", "scorecard", "verdict_counts"]

#: Power at which the detectable difference is stated.
POWER = 0.8


def normal_quantile(p: float) -> float:
    """The standard normal quantile :math:`\\Phi^{-1}(p)`, ``0 < p < 1``."""
    p = check_real("p", p, low=0.0, high=1.0, low_open=True, high_open=True)
    return float(
        math.sqrt(2.0) * torch.special.erfinv(torch.tensor(2.0 * p - 1.0, dtype=torch.float64))
    )


def paired_test(
    challenger: torch.Tensor,
    baseline: torch.Tensor,
    n_boot: int,
    generator: torch.Generator,
    *,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """The challenger against one baseline, column by column (lead by lead).

    Args:
        challenger: (B, L) per-state scores of the challenger (lower is better), ``B >= 2``.
        baseline: (B, L) per-state scores of the baseline on the same states.
        n_boot: bootstrap resamples of the intervals.
        generator: draws the resamples (one set for all columns).
        level: coverage of the intervals; ``1 - level`` is the unadjusted test level.

    Returns:
        One row per column: ``difference`` (mean of challenger minus baseline, < 0: the
        challenger wins), ``relative`` (over the baseline's mean score; ``None`` if that is
        zero), ``ci`` (the paired percentile interval), ``se``, ``p_value`` (two-sided, normal)
        and ``detectable`` (the difference found with 80 % power at the unadjusted level).
    """
    dims: dict[str, int] = {}
    check_tensor("challenger", challenger, ("B", "L"), dims=dims)
    check_tensor("baseline", baseline, ("B", "L"), dims=dims)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    difference = (challenger - baseline).to(torch.float64)
    B = difference.shape[0]
    if B < 2:
        raise ValueError(f"challenger must hold B >= 2 states for a paired test, got B = {B}")
    intervals = bootstrap_intervals(difference, generator, n_boot, level)
    mean = difference.mean(dim=0)
    se = difference.std(dim=0) / math.sqrt(B)
    z_power = normal_quantile(POWER) + normal_quantile(0.5 + level / 2)
    rows = []
    for j in range(difference.shape[1]):
        m, s = float(mean[j]), float(se[j])
        if s > 0:
            p = float(torch.special.erfc(torch.tensor(abs(m) / s / math.sqrt(2.0))))
        else:
            p = 1.0 if m == 0 else 0.0
        base = float(baseline[:, j].mean())
        rows.append(
            {
                "difference": m,
                "relative": m / base if abs(base) > 1e-300 else None,
                "ci": intervals[j],
                "se": s,
                "p_value": p,
                "detectable": z_power * s,
            }
        )
    return rows


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level
    ``alpha``, in the order of ``p_values``.

    Sort the p-values, :math:`p_{(1)} \\le \\dots \\le p_{(n)}`; reject :math:`p_{(i)}` while
    :math:`p_{(i)} \\le \\alpha/(n - i + 1)`, and stop at the first that is not.
    """
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    return [p <= alpha for p in holm_adjusted(p_values)]


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: :math:`\\tilde p_{(i)} = \\max_{j \\le i}
    \\min\\{1, (n - j + 1)\\,p_{(j)}\\}`; a hypothesis is rejected at level α by
    :func:`holm` exactly when its adjusted p-value is at most α."""
    values = [check_real("p_value", p, low=0.0, high=1.0) for p in p_values]
    n = len(values)
    order = sorted(range(n), key=values.__getitem__)
    adjusted = [0.0] * n
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (n - rank) * values[i]))
        adjusted[i] = running
    return adjusted


def verdict_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Percentages of rows won ("better"), tied and lost ("worse"), and their number."""
    n = len(rows)
    count = {v: sum(r["verdict"] == v for r in rows) for v in ("better", "tie", "worse")}
    share = (lambda k: 100.0 * count[k] / n) if n else (lambda k: 0.0)
    return {"won": share("better"), "tied": share("tie"), "lost": share("worse"), "n": n}


def scorecard(
    per_state: Mapping[str, Mapping[str, torch.Tensor]],
    challenger: str,
    baselines: Sequence[str],
    n_boot: int,
    generator: torch.Generator,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The challenger against each baseline on every score and lead, Holm-corrected over the
    whole card.

    Args:
        per_state: score name -> forecaster name -> (B, L) per-state scores (lower is better).
        challenger: the forecaster on trial; it must be scored on every score.
        baselines: the forecasters it is compared with, in the card's order (one without
            scores on some score is left out there).
        n_boot: bootstrap resamples.
        generator: draws the resamples, score after score and baseline after baseline.
        alpha: the family-wise error rate of the card.

    Returns:
        ``{"alpha", "n_targets", "correction": "holm", "cards": {score: {baseline: rows}},
        "summary": {baseline: verdict_counts}, "summary_by_score": {score: {baseline: ...}}}``;
        each row holds :func:`paired_test`'s fields, ``p_holm``, ``verdict`` and
        ``detectable_holm``.
    """
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    if challenger in baselines:
        raise ValueError(f"baselines must not include the challenger {challenger!r}")
    cards: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for score, scored in per_state.items():
        if challenger not in scored:
            raise ValueError(
                f"challenger {challenger!r} has no {score!r} scores; scored: {list(scored)}"
            )
        cards[score] = {
            b: paired_test(scored[challenger], scored[b], n_boot, generator)
            for b in baselines
            if b in scored
        }
    rows = [row for card in cards.values() for rs in card.values() for row in rs]
    n = len(rows)
    if n == 0:
        raise ValueError(f"the card has no targets: no baseline of {list(baselines)} is scored")
    z_holm = normal_quantile(1.0 - alpha / (2 * n)) + normal_quantile(POWER)
    for row, p_holm in zip(rows, holm_adjusted([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = p_holm
        significant = p_holm <= alpha
        row["verdict"] = (
            "tie" if not significant else ("better" if row["difference"] < 0 else "worse")
        )
        row["detectable_holm"] = z_holm * row["se"]
    summary = {
        b: verdict_counts([r for card in cards.values() for r in card.get(b, [])])
        for b in baselines
        if any(b in card for card in cards.values())
    }
    by_score = {s: {b: verdict_counts(rs) for b, rs in card.items()} for s, card in cards.items()}
    return {
        "alpha": alpha,
        "n_targets": n,
        "correction": "holm",
        "cards": cards,
        "summary": summary,
        "summary_by_score": by_score,
    }
