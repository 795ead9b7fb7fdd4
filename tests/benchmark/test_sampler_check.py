"""The sampler checks: a sampler compared with itself ties; the one-step diagnostics see a
spread error and a bias of known size."""

from __future__ import annotations

import pytest
import torch

from lecture_code.benchmark.sampler_check import one_step_diagnostics, sampler_comparison
from lecture_code.seeding import make_generator


class _Shifted:
    """A forecaster of known error: N(u + bias, (scale s)^2) per site."""

    def __init__(self, name: str, bias: float, scale: float, s: float = 0.2) -> None:
        self.name, self.bias, self.scale, self.s = name, bias, scale, s

    def sample_next(self, u, M, generator):
        noise = torch.randn(u.shape[0], M, u.shape[1], dtype=torch.float64, generator=generator)
        return u[:, None] + self.bias + self.scale * self.s * noise


def test_the_same_ensembles_tie_exactly():
    g = make_generator(0)
    truth = torch.randn(30, 2, 5, dtype=torch.float64, generator=g)
    fast = truth[:, :, None] + torch.randn(30, 2, 4, 5, dtype=torch.float64, generator=g)
    out = sampler_comparison(fast, fast.clone(), truth, n_boot=100, generator=make_generator(1))
    assert out["n_states"] == 30 and len(out["per_lead"]) == 2
    assert out["pooled_relative_difference"] == 0.0
    assert out["pooled_relative_difference_ci"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="reference must have shape"):
        sampler_comparison(fast, fast[:, :1], truth, n_boot=100, generator=make_generator(1))


def test_one_step_diagnostics_measure_bias_and_spread():
    u = torch.zeros(400, 10, dtype=torch.float64)
    oracle = _Shifted("oracle", 0.0, 1.0)
    candidates = {"wide": _Shifted("wide", 0.0, 1.5), "biased": _Shifted("biased", 0.05, 1.0)}
    out = one_step_diagnostics(oracle, candidates, u, 16, make_generator(2))
    assert out["oracle_spread"] == pytest.approx(0.2, rel=0.02)
    assert out["wide"]["spread_ratio"] == pytest.approx(1.5, rel=0.03)
    assert out["wide"]["mean_error"] < 0.01  # unbiased: only sampling noise, subtracted
    assert out["biased"]["mean_error"] == pytest.approx(0.05, rel=0.1)
