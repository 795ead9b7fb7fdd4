"""The Gaussian mixture: every closed form against brute force or simulation (chapter 1)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.mixture import GaussianMixture, empirical_characteristic_function, gaussian
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.seeding import make_generator
from lecture_code.verification import monte_carlo_tolerance


def _gaussian_density(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """N(x; mean, cov) for x (B, D), written out from the textbook formula with an explicit
    inverse and determinant: an implementation independent of the Cholesky one under test."""
    D = mean.numel()
    diff = x - mean
    quad = torch.einsum("bi,ij,bj->b", diff, torch.linalg.inv(cov), diff)
    return torch.exp(-0.5 * quad) / math.sqrt((2 * math.pi) ** D * torch.linalg.det(cov).item())


# --- mixture: closed forms against brute force ------------------------------------------------
@pytest.fixture()
def mixture() -> GaussianMixture:
    return toy_mixture()


def test_log_prob_equals_direct_sum_of_gaussian_densities(mixture):
    x = torch.randn(50, 2, generator=make_generator(0), dtype=torch.float64) * 1.5
    direct = sum(
        w * _gaussian_density(x, mu, cov)
        for w, mu, cov in zip(mixture.weights, mixture.means, mixture.covs, strict=True)
    )
    torch.testing.assert_close(mixture.log_prob(x), torch.log(direct), rtol=1e-10, atol=1e-12)


def test_log_prob_integrates_to_one_on_a_grid(mixture):
    # Midpoint rule on [-6, 6]^2: the tails outside carry < 1e-12 of the mass.
    h = 0.02
    g = torch.arange(-6 + h / 2, 6, h, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    mass = torch.exp(mixture.log_prob(grid)).sum().item() * h**2
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_score_equals_autograd_gradient_and_finite_differences(mixture):
    x = torch.randn(40, 2, generator=make_generator(1), dtype=torch.float64)
    x_req = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(mixture.log_prob(x_req).sum(), x_req)
    score = mixture.score(x)
    torch.testing.assert_close(score, grad, rtol=1e-10, atol=1e-10)
    # Central differences, truncation error O(h^2) ~ 1e-10.
    h = 1e-5
    for d in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[d] = h
        fd = (mixture.log_prob(x + e) - mixture.log_prob(x - e)) / (2 * h)
        torch.testing.assert_close(score[:, d], fd, rtol=1e-6, atol=1e-6)


def test_responsibilities_are_probabilities(mixture):
    x = torch.randn(30, 2, generator=make_generator(3), dtype=torch.float64)
    r = mixture.responsibilities(x)
    assert r.shape == (30, 3)
    assert (r >= 0).all()
    torch.testing.assert_close(r.sum(1), torch.ones(30, dtype=torch.float64))


def test_sampler_matches_closed_form_mean_and_covariance(mixture):
    n = 200_000
    x = mixture.sample(n, make_generator(4))
    assert x.shape == (n, 2) and x.dtype == torch.float64 and torch.isfinite(x).all()
    mean, cov = mixture.mean, mixture.covariance
    std = torch.sqrt(torch.diagonal(cov))
    assert ((x.mean(0) - mean).abs() <= monte_carlo_tolerance(std, n)).all()
    # Entries of the covariance are means of products; their std is below 3 for this mixture.
    sample_cov = torch.cov(x.T)
    assert ((sample_cov - cov).abs() <= monte_carlo_tolerance(3.0, n)).all()


def test_mixture_mean_and_covariance_against_a_brute_force_loop(mixture):
    m = torch.zeros(2, dtype=torch.float64)
    second = torch.zeros(2, 2, dtype=torch.float64)
    for w, mu, cov in zip(mixture.weights, mixture.means, mixture.covs, strict=True):
        m += w * mu
        second += w * (cov + torch.outer(mu, mu))
    torch.testing.assert_close(mixture.mean, m)
    torch.testing.assert_close(mixture.covariance, second - torch.outer(m, m))


def test_noised_mixture_matches_simulation(mixture):
    scale, sigma, n = 0.6, 0.8, 200_000
    gen = make_generator(5)
    x_0 = mixture.sample(n, gen)
    x = scale * x_0 + sigma * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    noised = mixture.noised(scale, sigma)
    std = torch.sqrt(torch.diagonal(noised.covariance))
    assert ((x.mean(0) - noised.mean).abs() <= monte_carlo_tolerance(std, n)).all()
    assert ((torch.cov(x.T) - noised.covariance).abs() <= monte_carlo_tolerance(3.0, n)).all()
    # A bounded test function, cos(x_1) cos(x_2): E under the closed form by quadrature.
    h = 0.02
    g = torch.arange(-8 + h / 2, 8, h, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    f = lambda z: torch.cos(z[:, 0]) * torch.cos(z[:, 1])  # noqa: E731
    exact = (f(grid) * torch.exp(noised.log_prob(grid))).sum().item() * h**2
    assert abs(f(x).mean().item() - exact) <= monte_carlo_tolerance(1.0, n)


def test_noised_with_scale_one_and_sigma_zero_is_the_same_mixture(mixture):
    same = mixture.noised(1.0, 0.0)
    torch.testing.assert_close(same.means, mixture.means)
    torch.testing.assert_close(same.covs, mixture.covs)


def test_sampler_seeds_reproduce(mixture):
    assert torch.equal(mixture.sample(20, make_generator(9)), mixture.sample(20, make_generator(9)))


# --- mixture: bad inputs --------------------------------------------------------------------
def _args(**changes):
    args = {
        "weights": torch.tensor([0.5, 0.5], dtype=torch.float64),
        "means": torch.zeros(2, 2, dtype=torch.float64),
        "covs": torch.eye(2, dtype=torch.float64).repeat(2, 1, 1),
    }
    args.update(changes)
    return args


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weights": torch.tensor([0.5, 0.6])}, r"weights must sum to 1, got sum 1.1"),
        ({"weights": torch.tensor([1.5, -0.5])}, r"weights must be positive, got \[1.5, -0.5\]"),
        ({"means": torch.zeros(3, 2)}, r"means must have shape \(C, D\) with C = 2"),
        ({"covs": torch.eye(3).repeat(2, 1, 1)}, r"covs must have shape \(C, D, D\) with D = 2"),
        (
            {"covs": torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])},
            r"covs\[1\] must be positive definite, got smallest eigenvalue -1",
        ),
        (
            {"covs": torch.tensor([[[1.0, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])},
            r"covs\[0\] must be symmetric",
        ),
        ({"means": torch.tensor([[0.0, float("nan")], [0.0, 0.0]])}, r"means must be finite"),
    ],
)
def test_bad_mixture_is_named(changes, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**_args(**changes))


def test_bad_points_and_noise_levels_are_named(mixture):
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\), got shape \(4, 3\)"):
        mixture.log_prob(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="x must be finite"):
        mixture.score(torch.tensor([[float("nan"), 0.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"sigma must lie in \[0.0, inf\], got -1.0"):
        mixture.noised(1.0, -1.0)
    with pytest.raises(ValueError, match="must not both be 0"):
        mixture.noised(0.0, 0.0)


# --- characteristic function, one Gaussian ----------------------------------------------------
def test_characteristic_function_closed_form_and_monte_carlo(mixture):
    k = torch.tensor([[0.0, 0.0], [1.0, -0.5], [2.5, 1.0]], dtype=torch.float64)
    phi = mixture.characteristic_function(k)
    assert phi[0] == 1  # psi(0) = E[1]
    # Brute force: sum over components of the Gaussian characteristic function, one at a time.
    expected = torch.zeros(3, dtype=torch.complex128)
    for w, mu, cov in zip(mixture.weights, mixture.means, mixture.covs, strict=True):
        expected += w * torch.exp(1j * (k @ mu) - 0.5 * torch.einsum("ki,ij,kj->k", k, cov, k))
    torch.testing.assert_close(phi, expected)
    n = 100_000
    estimate = empirical_characteristic_function(mixture.sample(n, make_generator(6)), k)
    tol = monte_carlo_tolerance(1.0, n)
    assert (estimate.real - phi.real).abs().max() <= tol
    assert (estimate.imag - phi.imag).abs().max() <= tol


def test_empirical_characteristic_function_by_blocks_equals_one_sum():
    # The blocks change only the order of the additions: rounding error, whatever the size.
    x = torch.randn(1000, 2, generator=make_generator(7), dtype=torch.float64)
    k = torch.tensor([[0.3, -1.0], [2.0, 0.5]], dtype=torch.float64)
    one_sum = torch.exp(1j * (x @ k.T)).mean(dim=0)
    for chunk in (1, 7, 999, 1000, 10_000):
        torch.testing.assert_close(empirical_characteristic_function(x, k, chunk=chunk), one_sum)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1, got 0"):
        empirical_characteristic_function(x, k, chunk=0)


def test_gaussian_is_a_one_component_mixture():
    mean = torch.tensor([0.5, -1.0], dtype=torch.float64)
    cov = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=torch.float64)
    g = gaussian(mean, cov)
    x = torch.randn(5, 2, generator=make_generator(0), dtype=torch.float64)
    reference = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(x)
    torch.testing.assert_close(g.log_prob(x), reference)
    torch.testing.assert_close(g.covariance, cov)
    with pytest.raises(ValueError, match=r"cov must have shape \(D, D\) with D = 2"):
        gaussian(mean, torch.eye(3, dtype=torch.float64))
