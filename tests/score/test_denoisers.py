"""The denoiser a sampler sees: exact ones for Gaussian and mixture data, and the counted wrapper.

The exact denoiser is the posterior mean E[x_0 | x_t]. For Gaussian data it is the conjugate
posterior mean, affine in x_t; for any data it is Tweedie's (x_t + sigma^2 grad log p_t) / a;
and it is what a self-normalised importance-sampling average of data draws, weighted by the
likelihood of x_t, estimates.
"""

from __future__ import annotations

import pytest
import torch

from lecture_code.ddpm.mixture import gaussian
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score.denoisers import (
    CountedDenoiser,
    denoiser_from_score,
    gaussian_denoiser,
    mixture_denoiser,
    sampler_inputs,
)
from lecture_code.score.grids import log_snr_grid
from lecture_code.score.score_matching import posterior_mean_importance
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import make_generator

SDE = VPSDE()
MEAN = torch.tensor([2.0, -1.0], dtype=torch.float64)
VAR = torch.tensor([0.25, 1.5], dtype=torch.float64)

pytestmark = pytest.mark.usefixtures("one_thread")


def states(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """States and one time per row, spread over (t_min, 1)."""
    g = make_generator(seed)
    x_t = 2.0 * torch.randn(n, 2, dtype=torch.float64, generator=g)
    t = torch.linspace(SDE.t_min, 1.0, n, dtype=torch.float64)
    return x_t, t


def gaussian_score(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """grad log p_t for x_0 ~ N(MEAN, diag VAR): p_t = N(a MEAN, a^2 VAR + sigma^2)."""
    a, s = SDE.scale(t)[:, None], SDE.sigma(t)[:, None]
    return -(x_t - a * MEAN) / (a**2 * VAR + s**2)


def test_gaussian_denoiser_is_the_conjugate_posterior_mean():
    x_t, t = states()
    a, s = SDE.scale(t)[:, None], SDE.sigma(t)[:, None]
    # precision-weighted average of the prior mean and of the observation x_t / a
    precision = 1 / VAR + a**2 / s**2
    expected = (MEAN / VAR + a * x_t / s**2) / precision
    torch.testing.assert_close(gaussian_denoiser(MEAN, VAR, SDE)(x_t, t), expected)


def test_gaussian_denoiser_is_the_posterior_mean_by_quadrature():
    # brute force in one dimension: int x0 p(x0) q(x_t | x0) dx0 / int p(x0) q(x_t | x0) dx0
    m, v = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    x0 = torch.linspace(-8.0, 9.0, 200_001, dtype=torch.float64)
    x_t = torch.tensor([[-1.0], [0.3], [2.5]], dtype=torch.float64)
    t = torch.tensor([0.05, 0.3, 0.7], dtype=torch.float64)
    a, s = SDE.scale(t)[:, None], SDE.sigma(t)[:, None]
    log_w = -((x0 - m) ** 2) / (2 * v) - (x_t - a * x0) ** 2 / (2 * s**2)
    w = torch.softmax(log_w, dim=1)
    expected = (w * x0).sum(dim=1, keepdim=True)
    got = gaussian_denoiser(m, v, SDE)(x_t, t)
    torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-8)


def test_gaussian_denoiser_is_tweedie_with_the_exact_score():
    x_t, t = states(seed=1)
    a, s = SDE.scale(t)[:, None], SDE.sigma(t)[:, None]
    tweedie = (x_t + s**2 * gaussian_score(x_t, t)) / a
    torch.testing.assert_close(gaussian_denoiser(MEAN, VAR, SDE)(x_t, t), tweedie)
    # denoiser_from_score writes the same formula: the round trip is exact
    from_score = denoiser_from_score(gaussian_score, SDE)
    torch.testing.assert_close(from_score(x_t, t), tweedie)
    # and back: the counted denoiser's score is the score it was built from
    counted = CountedDenoiser(from_score, SDE)
    torch.testing.assert_close(counted.score(x_t, 0.3), gaussian_score(x_t, torch.full((6,), 0.3)))


def test_gaussian_denoiser_shrinks_towards_the_mean_more_as_noise_grows():
    # the gain a v / (a^2 v + sigma^2) falls from 1 / a (t -> 0) to 0 (t -> 1)
    den = gaussian_denoiser(MEAN, VAR, SDE)
    x = torch.tensor([[5.0, 5.0]], dtype=torch.float64)
    gains = [float((den(x, torch.tensor([t])) - MEAN)[0, 0]) for t in (SDE.t_min, 0.3, 1.0)]
    assert gains[0] > gains[1] > gains[2] > 0
    assert gains[2] < 0.05 * gains[0]


def test_mixture_denoiser_is_tweedie_with_the_noised_mixture_score_row_by_row():
    mixture = toy_mixture()
    x_t, t = states(seed=2)
    t[1] = t[4]  # two rows share a time, evaluated together
    got = mixture_denoiser(mixture, SDE)(x_t, t)
    for b in range(6):
        a, s = float(SDE.scale(t[b])), float(SDE.sigma(t[b]))
        score = mixture.noised(a, s).score(x_t[b : b + 1])
        torch.testing.assert_close(got[b : b + 1], (x_t[b : b + 1] + s**2 * score) / a)


def test_mixture_denoiser_of_one_component_is_the_gaussian_denoiser():
    x_t, t = states(seed=3)
    one = gaussian(MEAN, torch.diag(VAR))
    torch.testing.assert_close(
        mixture_denoiser(one, SDE)(x_t, t), gaussian_denoiser(MEAN, VAR, SDE)(x_t, t)
    )


def test_mixture_denoiser_agrees_with_importance_sampling_of_the_posterior_mean():
    mixture = toy_mixture()
    data = mixture.sample(100_000, make_generator(4))
    t = 0.3
    a, s = float(SDE.scale(t)), float(SDE.sigma(t))
    x_t = a * mixture.sample(8, make_generator(5)) + s * torch.randn(
        8, 2, dtype=torch.float64, generator=make_generator(6)
    )
    estimate, se, ess = posterior_mean_importance(x_t, data, a, s)
    exact = mixture_denoiser(mixture, SDE)(x_t, torch.full((8,), t, dtype=torch.float64))
    assert float(ess.min()) > 1000  # enough effective draws for the delta-method SE
    assert float(((exact - estimate).abs() / se).max()) < 5.0
    # teeth: the prior mean (the denoiser at t = 1) is many standard errors away
    assert float(((mixture.mean - estimate).abs() / se).max()) > 20.0


def test_counted_denoiser_counts_calls_and_passes_one_time_per_row():
    seen = []

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.append(t.clone())
        return 0.5 * x

    counted = CountedDenoiser(model, SDE)
    x = torch.ones(4, 3)
    for _ in range(3):
        out = counted(x, 0.25)
    assert counted.nfe == 3 == len(seen)
    assert all(
        tt.shape == (4,) and tt.dtype == torch.float64 and bool((tt == 0.25).all()) for tt in seen
    )
    assert out.dtype == x.dtype
    torch.testing.assert_close(out, 0.5 * x)


def test_counted_denoiser_in_nu_evaluates_at_the_state_a_times_x_hat():
    den = gaussian_denoiser(MEAN, VAR, SDE)
    counted = CountedDenoiser(den, SDE)
    x_hat = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    nu = 0.8
    t = float(SDE.t_from_nu(nu))
    expected = den(float(SDE.scale(t)) * x_hat, torch.tensor([t], dtype=torch.float64))
    torch.testing.assert_close(counted.in_nu(x_hat, nu), expected)
    assert counted.nfe == 1


def test_counted_denoiser_refuses_a_wrong_shape_a_non_callable_and_a_non_vpsde():
    counted = CountedDenoiser(lambda x, t: x[:, :1], SDE)
    with pytest.raises(ValueError, match=r"shape of x_t, \(2, 3\), got \(2, 1\)"):
        counted(torch.zeros(2, 3), 0.5)
    with pytest.raises(ValueError, match="got ndarray"):
        CountedDenoiser(lambda x, t: x.numpy(), SDE)(torch.zeros(2, 3), 0.5)
    with pytest.raises(TypeError, match="denoiser must be callable, got int"):
        CountedDenoiser(3, SDE)
    with pytest.raises(TypeError, match="sde must be a VPSDE, got str"):
        CountedDenoiser(lambda x, t: x, "vp")


def test_gaussian_denoiser_refuses_bad_variances_and_dimensions():
    with pytest.raises(ValueError, match=r"var must be positive, got \[0.25, 0.0\]"):
        gaussian_denoiser(MEAN, torch.tensor([0.25, 0.0]), SDE)
    with pytest.raises(ValueError, match="var"):
        gaussian_denoiser(MEAN, torch.ones(3), SDE)
    with pytest.raises(ValueError, match="x_t"):
        gaussian_denoiser(MEAN, VAR, SDE)(torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="t"):
        mixture_denoiser(toy_mixture(), SDE)(torch.zeros(2, 2), torch.zeros(3))


def test_sampler_inputs_check_the_grid_and_the_state():
    model, grid, times, x_T = sampler_inputs(
        lambda x, t: x, SDE, log_snr_grid(SDE, 4), torch.ones(2, 2)
    )
    assert isinstance(model, CountedDenoiser) and model.nfe == 0
    assert len(times) == 4 and times[0] == 1.0 and grid.shape == (5,) and x_T.shape == (2, 2)
    with pytest.raises(ValueError, match=r"batch axis of size >= 1, got \(0, 2\)"):
        sampler_inputs(lambda x, t: x, SDE, log_snr_grid(SDE, 4), torch.ones(0, 2))
    with pytest.raises(ValueError, match="x_T must be finite"):
        sampler_inputs(lambda x, t: x, SDE, log_snr_grid(SDE, 4), torch.tensor([[float("nan")]]))
