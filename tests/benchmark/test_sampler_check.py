"""The sampler checks: a sampler with the reference's law passes, its control ties, the
deliberately wrong sampler is rejected, a sampler with a real spread error fails; the one-step
law's moments and ceiling are those of known laws; the one-step diagnostics see a spread error
and a bias of known size."""

from __future__ import annotations

import pytest
import torch

from lecture_code.benchmark.sampler_check import (
    one_step_diagnostics,
    one_step_law,
    sampler_check,
)
from lecture_code.seeding import make_generator


class _Shifted:
    """A forecaster of known error: N(u + bias, (scale s)^2) per site, neighbours correlated
    by ``rho`` (a moving average of two white fields)."""

    sampler, n_steps, nfe = "fake", 1, 1

    def __init__(self, name: str, bias: float = 0.0, scale: float = 1.0, s: float = 0.2) -> None:
        self.name, self.bias, self.scale, self.s, self.K = name, bias, scale, s, 40

    def sample_next(self, u, M, generator):
        noise = torch.randn(u.shape[0], M, u.shape[1], dtype=torch.float64, generator=generator)
        smooth = (noise + torch.roll(noise, 1, dims=2)) / 2**0.5
        return u[:, None] + self.bias + self.scale * self.s * smooth


def _check(fast):
    u = torch.zeros(100, 40, dtype=torch.float64)
    return sampler_check(
        fast,
        _Shifted("reference"),
        u,
        20,
        n_perm=99,
        spread_error=1.1,
        n_boot=200,
        alpha=0.05,
        generator=make_generator(4),
    )


def test_a_sampler_of_the_reference_law_passes_and_the_wrong_one_is_caught():
    out = _check(_Shifted("fast"))
    tests = out["tests"]
    assert tests["fast"]["p_value"] > 0.05 and tests["control"]["p_value"] > 0.05
    assert tests["wrong"]["p_value"] <= 0.05  # the power demonstration
    assert out["passed"]
    low, high = tests["wrong"]["spread_ratio_ci"]
    assert low < 1.1 < high and tests["wrong"]["spread_ratio"] == pytest.approx(1.1, abs=0.03)


def test_a_sampler_with_a_spread_error_fails_the_check():
    out = _check(_Shifted("fast", scale=1.15))
    assert out["tests"]["fast"]["p_value"] <= 0.05 and not out["passed"]
    with pytest.raises(ValueError, match="members must be an integer >= 2"):
        sampler_check(
            _Shifted("a"),
            _Shifted("b"),
            torch.zeros(3, 40),
            1,
            n_perm=19,
            spread_error=1.1,
            n_boot=10,
            alpha=0.05,
            generator=make_generator(0),
        )


def test_the_one_step_law_of_a_gaussian_and_of_a_skewed_law():
    g = make_generator(5)
    B, N, K = 200, 256, 40
    gaussian = torch.randn(B, N, K, dtype=torch.float64, generator=g)
    law = one_step_law(gaussian, gaussian[:, :20], torch.randn(B, K, generator=g).double(), (0.01,))
    assert abs(law["skewness"]) < 0.02 and abs(law["excess_kurtosis"]) < 0.05
    assert abs(law["neighbour_correlation"]) < 0.01
    assert abs(law["ceiling"]["crps"]) < 0.03  # a Gaussian law loses nothing to a Gaussian
    skewed = torch.empty(B, N + 20, K, dtype=torch.float64).exponential_(generator=g)
    truth = torch.empty(B, K, dtype=torch.float64).exponential_(generator=g)
    law = one_step_law(skewed[:, :N], skewed[:, N:], truth, (0.01, 0.99))
    # Exp(1): skewness 2, excess kurtosis 6; the best Gaussian pays for the shape
    assert law["skewness"] == pytest.approx(2.0, rel=0.1)
    assert law["excess_kurtosis"] == pytest.approx(6.0, rel=0.25)
    assert law["ceiling"]["crps"] > 0.03 and law["ceiling"]["quantile_01"] > 0.3


def test_one_step_diagnostics_measure_bias_and_spread():
    u = torch.zeros(400, 10, dtype=torch.float64)
    oracle = _Shifted("oracle")
    candidates = {"wide": _Shifted("wide", 0.0, 1.5), "biased": _Shifted("biased", 0.05, 1.0)}
    out = one_step_diagnostics(oracle, candidates, u, 16, make_generator(2))
    assert out["oracle_spread"] == pytest.approx(0.2, rel=0.02)
    assert out["wide"]["spread_ratio"] == pytest.approx(1.5, rel=0.03)
    assert out["wide"]["mean_error"] < 0.01  # unbiased: only sampling noise, subtracted
    assert out["biased"]["mean_error"] == pytest.approx(0.05, rel=0.1)
