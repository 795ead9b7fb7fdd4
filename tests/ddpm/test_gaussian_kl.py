"""The KL divergence between Gaussians (chapter 3, section "KL divergence between
Gaussians"): zero for equal laws, the general formula against ``torch.distributions``, the
isotropic case as a special case, and Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from lecture_code.ddpm.forward import log_normal
from lecture_code.ddpm.gaussian_kl import gaussian_kl, gaussian_kl_full
from lecture_code.seeding import make_generator

D = 2


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64, generator=make_generator(seed))


def test_kl_of_equal_gaussians_is_zero_and_otherwise_positive():
    mean, var = _randn(4, D), torch.full((4,), 0.3, dtype=torch.float64)
    assert torch.equal(gaussian_kl(mean, var, mean, var), torch.zeros(4, dtype=torch.float64))
    kl = gaussian_kl(mean, var, _randn(4, D, seed=5), var * 2)
    assert bool((kl > 0).all())


def test_kl_matches_the_general_formula_for_full_covariances():
    mean_q, mean_p = _randn(3, D, seed=1), _randn(3, D, seed=2)
    var_q = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    var_p = torch.tensor([0.5, 1.0, 0.7], dtype=torch.float64)
    eye = torch.eye(D, dtype=torch.float64)
    expected = kl_divergence(
        MultivariateNormal(mean_q, var_q[:, None, None] * eye),
        MultivariateNormal(mean_p, var_p[:, None, None] * eye),
    )
    assert torch.allclose(gaussian_kl(mean_q, var_q, mean_p, var_p), expected, atol=1e-12)


def test_kl_matches_monte_carlo():
    n = 200_000
    mean_q, mean_p = torch.tensor([[0.3, -0.2]]), torch.tensor([[-0.5, 0.4]])
    var_q, var_p = torch.tensor([0.4]), torch.tensor([1.3])
    mean_q, mean_p, var_q, var_p = (v.double() for v in (mean_q, mean_p, var_q, var_p))
    x = mean_q + var_q.sqrt() * _randn(n, D, seed=3)
    ones = torch.ones(n, dtype=torch.float64)
    log_ratio = log_normal(x, mean_q.expand(n, D), var_q * ones) - log_normal(
        x, mean_p.expand(n, D), var_p * ones
    )
    exact = gaussian_kl(mean_q, var_q, mean_p, var_p)[0]
    assert abs(log_ratio.mean() - exact) < 5 * log_ratio.std() / math.sqrt(n)


def test_full_covariance_kl_matches_torch_distributions_and_the_isotropic_formula():
    g = make_generator(21)
    a = torch.randn(4, 3, 3, dtype=torch.float64, generator=g)
    b = torch.randn(4, 3, 3, dtype=torch.float64, generator=g)
    cov_q = a @ a.transpose(1, 2) + 0.5 * torch.eye(3, dtype=torch.float64)
    cov_p = b @ b.transpose(1, 2) + 0.5 * torch.eye(3, dtype=torch.float64)
    mean_q, mean_p = _randn(4, 3, seed=22), _randn(4, 3, seed=23)
    ours = gaussian_kl_full(mean_q, cov_q, mean_p, cov_p)
    reference = kl_divergence(MultivariateNormal(mean_q, cov_q), MultivariateNormal(mean_p, cov_p))
    assert torch.allclose(ours, reference, atol=1e-10)
    # with isotropic covariances it is eq. elbo-kl-isotropic
    eye = torch.eye(3, dtype=torch.float64).expand(4, 3, 3)
    v_q, v_p = torch.tensor([0.3, 1.0, 2.0, 0.7]), torch.tensor([1.0, 0.4, 2.0, 3.0])
    iso = gaussian_kl(mean_q, v_q.double(), mean_p, v_p.double())
    full = gaussian_kl_full(mean_q, v_q[:, None, None] * eye, mean_p, v_p[:, None, None] * eye)
    assert torch.allclose(full, iso, atol=1e-12)


def test_full_covariance_kl_names_a_matrix_that_is_not_positive_definite():
    bad = torch.tensor([[[1.0, 2.0], [2.0, 1.0]]], dtype=torch.float64)
    good = torch.eye(2, dtype=torch.float64)[None]
    with pytest.raises(ValueError, match="cov_q"):
        gaussian_kl_full(torch.zeros(1, 2), bad, torch.zeros(1, 2), good)
