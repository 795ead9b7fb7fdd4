r"""How sure is an average score? Percentile bootstrap intervals over initial states.

A benchmark reports a score averaged over :math:`N` initial states. Forecasts from states far
enough apart are independent, so the per-state scores :math:`v_1, \dots, v_N` are independent
draws and their mean has a sampling error. The percentile bootstrap (Efron 1979) estimates it
without a formula: resample the :math:`N` values with replacement :math:`n_{\text{boot}}` times,
take the mean of each resample, and report the :math:`(1 - \gamma)/2` and :math:`(1 + \gamma)/2`
quantiles of those means (book eq. (bootstrap-ci)); the width shrinks like :math:`1/\sqrt N`.
Comparing two forecasters scored on the same states, bootstrap the per-state *difference*: hard
and easy states cancel, and the paired interval is much narrower than either one alone.

A resample is a count vector: :math:`c_i` is how often state :math:`i` was drawn, and the
resample's mean is :math:`\sum_i c_i v_i / N`. With the counts of all resamples in a matrix
:math:`C: (n_{\text{boot}}, N)`, the means of many columns of scores (one per lead time, say)
are one matrix product :math:`C V / N`, all from the same resamples.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`), section
"How sure is an average score?", eq. (bootstrap-ci).

References:
    B. Efron, "Bootstrap methods: another look at the jackknife", Ann. Statist. 7, 1979.
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = ["bootstrap_ci", "bootstrap_intervals", "bootstrap_means", "percentile_interval"]

#: Entries of the count matrix built at once: resamples are drawn in chunks of rows so that
#: memory stays near 16 MB whatever N is (the draws are the same as in one piece).
_CHUNK_ENTRIES = 1_000_000


def bootstrap_means(
    values: torch.Tensor, generator: torch.Generator, n_boot: int = 1000
) -> torch.Tensor:
    r"""Column means of ``n_boot`` bootstrap resamples of the rows of ``values``: the
    resampled statistics behind :func:`bootstrap_intervals`, for intervals on functions of
    several means (a ratio of two mean scores, the square root of a mean square), which need
    every mean from the *same* resample.

    Args:
        values: ``(N, C)`` per-state values, ``N >= 2``.
        generator: draws the resamples: ``n_boot`` rows of ``N`` state indices.
        n_boot: number of resamples, >= 1.

    Returns:
        ``(n_boot, C)`` float64.
    """
    check_tensor("values", values, ("N", "C"))
    N = values.shape[0]
    if N < 2:
        raise ValueError(f"values must hold N >= 2 entries to bootstrap, got N = {N}")
    n_boot = check_int("n_boot", n_boot, low=1)
    values = values.to(torch.float64)
    means = torch.empty(n_boot, values.shape[1], dtype=torch.float64)
    rows = max(1, _CHUNK_ENTRIES // N)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        index = torch.randint(N, (stop - start, N), generator=generator)
        counts = torch.zeros(stop - start, N, dtype=torch.float64)
        counts.scatter_add_(1, index, torch.ones(stop - start, N, dtype=torch.float64))
        means[start:stop] = counts @ values / N
    return means


def percentile_interval(draws: torch.Tensor, level: float = 0.95) -> list[list[float]]:
    """The central ``level`` percentile interval of each column of ``draws`` (n_boot, C):
    ``(C, 2)`` nested list of ``[low, high]``."""
    check_tensor("draws", draws, ("n", "C"))
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    q = torch.tensor([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=torch.float64)
    return torch.quantile(draws.to(torch.float64), q, dim=0).T.tolist()


def bootstrap_intervals(
    values: torch.Tensor, generator: torch.Generator, n_boot: int = 1000, level: float = 0.95
) -> list[list[float]]:
    r"""Percentile bootstrap intervals of the column means of ``values``, all columns from the
    same resamples, book eq. (bootstrap-ci).

    Args:
        values: ``(N, L)`` per-state scores (one row per initial state, one column per lead
            time, say), ``N >= 2``.
        generator: draws the resamples: ``n_boot`` rows of ``N`` state indices.
        n_boot: number of resamples, >= 1.
        level: coverage γ, in (0, 1).

    Returns:
        ``(L, 2)`` nested list of ``[low, high]``, one interval per column.
    """
    check_tensor("values", values, ("N", "L"))
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    return percentile_interval(bootstrap_means(values, generator, n_boot), level)


def bootstrap_ci(
    values: torch.Tensor, generator: torch.Generator, n_boot: int = 1000, level: float = 0.95
) -> tuple[float, float]:
    r"""Percentile bootstrap interval for the mean of ``values``, book eq. (bootstrap-ci): the
    one-column case of :func:`bootstrap_intervals`.

    Args:
        values: ``(N,)`` per-state scores, ``N >= 2``.
        generator: draws the resamples.
        n_boot: number of resamples, >= 1.
        level: coverage γ, in (0, 1).

    Returns:
        ``(low, high)``.
    """
    check_tensor("values", values, ("N",))
    ((low, high),) = bootstrap_intervals(values[:, None], generator, n_boot, level)
    return low, high
