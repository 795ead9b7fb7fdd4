"""Tests of lecture_code.forecasting.bootstrap: percentile intervals over initial states.

The intervals contain the mean, shrink like 1/sqrt(N) and match the textbook interval for normal
data; the many-column form is checked against explicit resamples, and the one-column form is the
same function.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lecture_code.forecasting import bootstrap
from lecture_code.seeding import make_generator


# --- bootstrap -----------------------------------------------------------------------------------
def test_bootstrap_interval_contains_the_mean_and_shrinks_like_one_over_sqrt_n():
    g = make_generator(70)
    widths = []
    for N in (100, 400, 1600):
        values = 1.0 + torch.randn(N, generator=g, dtype=torch.float64)
        low, high = bootstrap.bootstrap_ci(values, make_generator(1), n_boot=2000)
        assert low < float(values.mean()) < high
        widths.append(high - low)
    # Quadrupling N halves the width; allow 20 % for the randomness of data and resamples
    # (the sample sd of N = 100 normal draws alone varies by about 7 %).
    for wide, narrow in itertools.pairwise(widths):
        assert 0.4 <= narrow / wide <= 0.6


def test_bootstrap_is_reproducible_and_near_the_normal_interval():
    values = torch.randn(400, generator=make_generator(3), dtype=torch.float64)
    a = bootstrap.bootstrap_ci(values, make_generator(5), n_boot=4000)
    assert a == bootstrap.bootstrap_ci(values, make_generator(5), n_boot=4000)
    half = 1.96 * float(values.std()) / math.sqrt(400)
    assert math.isclose(a[1] - a[0], 2 * half, rel_tol=0.1)


def test_intervals_are_the_quantiles_of_explicit_resample_means():
    # Brute force: draw the same index matrix, average the resampled rows one by one.
    values = torch.randn(30, 3, dtype=torch.float64, generator=make_generator(1))
    intervals = bootstrap.bootstrap_intervals(values, make_generator(2), 200, level=0.9)
    index = torch.randint(30, (200, 30), generator=make_generator(2))
    means = torch.stack([values[row].mean(dim=0) for row in index])  # (200, 3)
    q = torch.tensor([0.05, 0.95], dtype=torch.float64)
    expected = torch.quantile(means, q, dim=0).T
    torch.testing.assert_close(
        torch.tensor(intervals, dtype=torch.float64), expected, rtol=0, atol=1e-12
    )


def test_one_column_interval_is_the_many_column_interval_of_that_column():
    values = torch.randn(50, dtype=torch.float64, generator=make_generator(3))
    low, high = bootstrap.bootstrap_ci(values, make_generator(4), 300)
    assert [low, high] == bootstrap.bootstrap_intervals(values[:, None], make_generator(4), 300)[0]


def test_resampling_in_chunks_draws_what_one_piece_draws(monkeypatch):
    # The chunks bound the memory; they must not change the resamples.
    values = torch.randn(40, 2, dtype=torch.float64, generator=make_generator(5))
    whole = bootstrap.bootstrap_intervals(values, make_generator(6), 500)
    monkeypatch.setattr(bootstrap, "_CHUNK_ENTRIES", 40 * 7)  # 7 resamples per chunk
    chunked = bootstrap.bootstrap_intervals(values, make_generator(6), 500)
    torch.testing.assert_close(torch.tensor(chunked), torch.tensor(whole), rtol=0, atol=1e-12)


def test_bad_bootstrap_arguments_raise():
    with pytest.raises(ValueError, match="level must lie in"):
        bootstrap.bootstrap_ci(torch.randn(10), make_generator(0), level=1.5)
    with pytest.raises(ValueError, match="N >= 2"):
        bootstrap.bootstrap_ci(torch.randn(1), make_generator(0))
    with pytest.raises(ValueError, match="n_boot must be an integer >= 1"):
        bootstrap.bootstrap_intervals(torch.randn(5, 2), make_generator(0), 0)
    with pytest.raises(ValueError, match=r"values must have shape \(N\)"):
        bootstrap.bootstrap_ci(torch.randn(5, 2), make_generator(0))
