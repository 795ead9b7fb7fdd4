"""Gaussian random fields: the spectrum's normalisation, FFT draws against the circulant
covariance, the exact conditional against brute force and its identities, the estimators, and
bad input refused with the value named."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score import random_fields as rf


def test_power_law_spectrum_has_unit_variance_and_no_mean_mode():
    P = rf.power_law_spectrum(64, 2.0)
    assert P[0] == 0
    assert (P.sum() / 64).item() == pytest.approx(1.0)
    assert torch.allclose(P[1:], P[1:].flip(0))
    # P(k) / P(2k) = 2^alpha
    assert (P[3] / P[6]).item() == pytest.approx(2**2.0)


def test_circulant_covariance_is_the_cosine_series():
    P = rf.power_law_spectrum(16, 1.5)
    C = rf.circulant_covariance(P)
    k = torch.arange(16, dtype=torch.float64)
    for r in range(16):
        expected = (P * torch.cos(2 * math.pi * k * r / 16)).sum() / 16
        assert C[r, 0].item() == pytest.approx(expected.item(), abs=1e-12)
    assert torch.allclose(C, C.T)
    assert torch.linalg.eigvalsh(C).min() > -1e-12


def test_fft_draws_have_the_circulant_covariance():
    P = rf.power_law_spectrum(8, 2.0)
    x = rf.sample_field(P, 100_000, torch.Generator().manual_seed(0))
    assert torch.allclose(torch.cov(x.T), rf.circulant_covariance(P), atol=0.02)


def test_block_average_is_the_block_matrix():
    x = torch.randn(5, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(rf.block_average(x, 3), x @ rf.block_matrix(12, 3).T)
    assert torch.allclose(rf.block_average(rf.upsample(x[:, :3], 12), 3), x[:, :3])


def test_conditional_by_brute_force_on_a_small_field():
    # Condition by hand with the joint covariance of (x, y), Schur complement with a
    # pseudo-inverse, written without G.
    P = rf.power_law_spectrum(8, 2.0)
    C = rf.circulant_covariance(P)
    B = rf.block_matrix(8, 4)
    joint = torch.cat([torch.cat([C, C @ B.T], 1), torch.cat([B @ C, B @ C @ B.T], 1)])
    S = (
        joint[:8, :8]
        - joint[:8, 8:] @ torch.linalg.pinv(joint[8:, 8:], hermitian=True) @ joint[8:, :8]
    )
    assert torch.allclose(rf.conditional_covariance(C, 4), S, atol=1e-10)


def test_conditional_identities():
    C = rf.circulant_covariance(rf.power_law_spectrum(32, 2.5))
    G, S = rf.conditional_gain(C, 8), rf.conditional_covariance(C, 8)
    B = rf.block_matrix(32, 8)
    centre = torch.eye(8, dtype=torch.float64) - 1 / 8  # attainable y sum to zero
    assert torch.allclose(B @ G @ centre, centre, atol=1e-10)  # consistency of the mean
    assert torch.allclose(B @ S, torch.zeros(8, 32, dtype=torch.float64), atol=1e-10)
    assert torch.linalg.matrix_rank(S, hermitian=True, atol=1e-10) == 32 - 8
    # conditioning reduces the variance of every site
    assert (S.diagonal() < C.diagonal()).all()


def test_sample_gaussian_of_a_singular_covariance_keeps_the_constraint():
    C = rf.circulant_covariance(rf.power_law_spectrum(16, 2.0))
    S = rf.conditional_covariance(C, 4)
    x = rf.sample_gaussian(torch.zeros(1000, 16, dtype=torch.float64), S, torch.Generator())
    assert rf.block_average(x, 4).abs().max() < 1e-10


def test_estimators_are_unbiased():
    P = rf.power_law_spectrum(16, 2.0)
    x = rf.sample_field(P, 50_000, torch.Generator().manual_seed(3))
    assert torch.allclose(rf.power_spectrum(x)[1:], P[1:], rtol=0.05)
    C = rf.circulant_covariance(P)
    assert torch.allclose(rf.correlation_function(x, 5), C[:6, 0], atol=0.02)
    assert torch.allclose(rf.expected_periodogram(C), P, atol=1e-12)
    assert torch.allclose(rf.structure_function(x, 3, [8]), C[0, 0] - C[1:4, 0], atol=0.02)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"m = 5 must divide .* n = 64"):
        rf.block_average(torch.zeros(2, 64), 5)
    with pytest.raises(ValueError, match=r"alpha = 0\.8"):
        rf.power_law_spectrum(64, 0.8)
    with pytest.raises(ValueError, match=r"alpha = 1\.0"):
        rf.check_exponent(1.0)
    with pytest.raises(ValueError, match="n must be even"):
        rf.power_law_spectrum(63, 2.0)
    with pytest.raises(ValueError, match="shape"):
        rf.power_spectrum(torch.zeros(64))
    with pytest.raises(ValueError, match="NaN"):
        rf.block_average(torch.full((2, 8), float("nan")), 4)
    with pytest.raises(ValueError, match="spectrum must be >= 0"):
        rf.circulant_covariance(torch.tensor([0.0, -1.0, 0.0, -1.0], dtype=torch.float64))
