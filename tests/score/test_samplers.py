"""Samplers with the exact denoiser: they must reproduce the target, with the expected order.

Every sampler is ``sampler(denoiser, sde, grid, x_T, generator) -> (x_0, nfe)``. With the exact
denoiser of a Gaussian or of a Gaussian mixture (both known in closed form at every noise
level), the only error of a sampler is its discretisation. Euler-Maruyama is first order in
the weak sense (the error of a moment halves when the steps double); Heun and DPM-Solver++ are
second order (it quarters). The probability-flow ODE of a Gaussian has an exact solution, so
the ODE samplers' error is measured path by path, without Monte Carlo noise.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score.denoisers import CountedDenoiser, mixture_denoiser
from lecture_code.score.grids import karras_grid, log_snr_grid, time_grid
from lecture_code.score.ode_samplers import ddim, dpm_solver_2m, heun
from lecture_code.score.sampler_error import convergence_order, gaussian_start, gaussian_target
from lecture_code.score.samplers import DEFAULT_GRIDS, SAMPLERS, sample
from lecture_code.score.sde import VPSDE
from lecture_code.score.sde_samplers import ancestral, euler_maruyama, predictor_corrector
from lecture_code.seeding import make_generator
from lecture_code.validation import per_sample
from lecture_code.verification import monte_carlo_tolerance

SDE = VPSDE()
MU, S = 2.0, 0.5  # the Gaussian target N(MU, S^2) in every coordinate
STOCHASTIC = ("ancestral", "euler_maruyama", "predictor_corrector")

pytestmark = pytest.mark.usefixtures("one_thread")


def denoiser(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Exact E[x_0 | x_t] for x_0 ~ N(MU, S^2) in every coordinate, for any state shape."""
    a = per_sample(SDE.scale(t), x, name="t")
    s = per_sample(SDE.sigma(t), x, name="t")
    return (MU + a * S**2 / (a**2 * S**2 + s**2) * (x - a * MU)).to(x.dtype)


def gaussian_x_T(n: int, d: int, seed: int) -> torch.Tensor:
    """Exact draws of p_1 (N(a MU, a^2 S^2 + sigma^2) at t = 1)."""
    mean, var = gaussian_start(torch.full((d,), MU), torch.full((d,), S**2), SDE, SDE.nu_max)
    return mean + var.sqrt() * torch.randn(
        n, d, dtype=torch.float64, generator=make_generator(seed)
    )


def exact_ode_sample(x_T: torch.Tensor) -> torch.Tensor:
    """Where the exact probability-flow ODE takes x_T from t = 1, then Tweedie's jump at t_min.

    In x_hat = x / a(t) the ODE transports N(MU, S^2 + nu^2) by the affine map
    x_hat -> MU + sqrt(S^2 + nu'^2) / sqrt(S^2 + nu^2) (x_hat - MU); the jump at nu_min is the
    posterior mean MU + S^2 / (S^2 + nu_min^2) (x_hat - MU).
    """
    lo, hi = SDE.nu_min, SDE.nu_max
    x_hat = x_T / float(SDE.scale(1.0))
    x_min = MU + math.sqrt(S**2 + lo**2) / math.sqrt(S**2 + hi**2) * (x_hat - MU)
    return MU + S**2 / (S**2 + lo**2) * (x_min - MU)


# --- the target distribution ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "n_steps"),
    [
        ("ancestral", 200),
        ("euler_maruyama", 400),
        ("predictor_corrector", 200),
        ("ddim", 200),
        ("heun", 40),
        ("dpm_solver_2s", 40),
        ("dpm_solver_2m", 40),
    ],
)
def test_samplers_with_the_exact_denoiser_reproduce_a_gaussian(name, n_steps):
    n = 10_000
    x_T = gaussian_x_T(n, 2, seed=3)
    x_0, _ = sample(name, denoiser, SDE, x_T, n_steps, make_generator(4))
    # the target: Tweedie's jump at t_min of the exact law, std S^2 / sqrt(S^2 + nu_min^2)
    std = math.sqrt(float(gaussian_target(torch.tensor([MU]), torch.tensor([S**2]), SDE)[1]))
    # 5 standard errors of the mean (S / sqrt(n)) and of the standard deviation
    # (S / sqrt(2n)), plus the discretisation error at these steps (< 0.5% of S).
    tol_mean = monte_carlo_tolerance(S, n) + 0.005 * S
    tol_std = monte_carlo_tolerance(S, 2 * n) + 0.005 * S
    assert float((x_0.mean(dim=0) - MU).abs().max()) <= tol_mean
    assert float((x_0.std(dim=0) - std).abs().max()) <= tol_std


@pytest.mark.parametrize("name", ["euler_maruyama", "dpm_solver_2m"])
def test_samplers_with_the_exact_denoiser_reproduce_the_toy_mixture(name):
    mixture = toy_mixture()
    n = 8_000
    generator = make_generator(4)
    x_T = torch.randn(n, mixture.D, dtype=torch.float64, generator=generator)
    n_steps = 200 if name == "euler_maruyama" else 40
    x_0, _ = sample(name, mixture_denoiser(mixture, SDE), SDE, x_T, n_steps, generator)
    spread = float(mixture.covariance.diagonal().sqrt().max())
    # 5 standard errors of each coordinate's mean; the discretisation error is far smaller.
    tol = monte_carlo_tolerance(spread, n) + 0.01 * spread
    assert float((x_0.mean(dim=0) - mixture.mean).abs().max()) <= tol
    # second moments: 5 standard errors of a variance, about sqrt(2) var / sqrt(n) each for a
    # Gaussian; the mixture's fourth moments are larger, so allow twice that.
    cov = torch.cov(x_0.T)
    tol_cov = 2 * monte_carlo_tolerance(math.sqrt(2) * spread**2, n) + 0.02 * spread**2
    assert float((cov - mixture.covariance).abs().max()) <= tol_cov


# --- orders of convergence -----------------------------------------------------------------------
def test_euler_maruyama_is_first_order_in_the_weak_sense():
    n = 100_000
    steps, errors = [8, 16, 32], []
    for i, n_steps in enumerate(steps):
        x_T = gaussian_x_T(n, 1, seed=5 + i)
        x_0, _ = euler_maruyama(denoiser, SDE, time_grid(SDE, n_steps), x_T, make_generator(i))
        errors.append(abs(float(x_0.mean()) - MU))
    # The weak error of the mean is 15 to 70 Monte Carlo standard errors (S / sqrt(n)), so the
    # fitted slope is the discretisation's.
    assert min(errors) > 10 * S / math.sqrt(n)
    assert 0.8 <= convergence_order(steps, errors) <= 1.4


@pytest.mark.parametrize(
    ("name", "steps", "order"),
    [
        ("ddim", [8, 16, 32, 64], 1.0),
        ("heun", [8, 16, 32, 64], 2.0),
        ("dpm_solver_2s", [8, 16, 32, 64], 2.0),
        ("dpm_solver_2m", [16, 32, 64, 128], 2.0),
    ],
)
def test_ode_samplers_converge_to_the_exact_ode_solution_at_their_order(name, steps, order):
    x_T = gaussian_x_T(500, 1, seed=6)
    reference = exact_ode_sample(x_T)
    n_evals, errors = [], []
    for n_steps in steps:
        x_0, nfe = sample(name, denoiser, SDE, x_T, n_steps, make_generator(0))
        n_evals.append(nfe)
        errors.append(float((x_0 - reference).abs().max()))
    assert errors[-1] < (1e-1 if order == 1.0 else 1e-2)
    # measured: 0.98 (DDIM), 2.16 (Heun), 1.89 (2S), 1.97 (2M); DDIM is not second order
    assert abs(convergence_order(n_evals, errors) - order) <= 0.25


# --- identities between samplers -----------------------------------------------------------------
def test_ddim_is_dpm_solver_2m_on_a_grid_with_two_positive_levels():
    x_T = gaussian_x_T(200, 2, seed=7)
    two = torch.tensor([SDE.nu_max, SDE.nu_min, 0.0], dtype=torch.float64)
    a, nfe_a = ddim(denoiser, SDE, two, x_T)
    b, nfe_b = dpm_solver_2m(denoiser, SDE, two, x_T)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)  # 2M's first step is DDIM's
    assert nfe_a == nfe_b == 2
    # teeth: with a third level 2M extrapolates and the two part
    three = torch.tensor([SDE.nu_max, 1.0, SDE.nu_min, 0.0], dtype=torch.float64)
    gap = ddim(denoiser, SDE, three, x_T)[0] - dpm_solver_2m(denoiser, SDE, three, x_T)[0]
    assert float(gap.abs().max()) > 0.1


def test_a_ddim_step_is_an_euler_step_of_the_ode_in_nu():
    # d x_hat / d nu = (x_hat - x_hat_0) / nu with x_hat = x / a: one Euler step nu_0 -> nu_1
    x_T = gaussian_x_T(50, 2, seed=8)
    nu_0, nu_1 = 40.0, 0.7
    grid = torch.tensor([nu_0, nu_1, 0.0], dtype=torch.float64)
    counted = CountedDenoiser(denoiser, SDE)
    t_0, t_1 = float(SDE.t_from_nu(nu_0)), float(SDE.t_from_nu(nu_1))
    x_hat = x_T / float(SDE.scale(t_0))
    x_hat_1 = x_hat + (nu_1 - nu_0) * (x_hat - counted.in_nu(x_hat, nu_0)) / nu_0
    by_hand = counted(float(SDE.scale(t_1)) * x_hat_1, t_1)  # then Tweedie's jump
    torch.testing.assert_close(ddim(denoiser, SDE, grid, x_T)[0], by_hand)
    # and Heun's last interval, to nu = 0, is that Euler step alone: exactly Tweedie
    tweedie = denoiser(x_T, torch.full((50,), t_0, dtype=torch.float64))
    one = torch.tensor([nu_0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(heun(denoiser, SDE, one, x_T)[0], tweedie)
    torch.testing.assert_close(ddim(denoiser, SDE, one, x_T)[0], tweedie)


def test_heun_is_deterministic_without_churn_and_stochastic_with_it():
    x_T = gaussian_x_T(100, 2, seed=9)
    grid = karras_grid(SDE, 8)
    a, _ = heun(denoiser, SDE, grid, x_T, None)
    b, _ = heun(denoiser, SDE, grid, x_T, make_generator(1))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"s_churn = 2.0 > 0 needs a generator, got None"):
        heun(denoiser, SDE, grid, x_T, None, s_churn=2.0)
    c, nfe = heun(denoiser, SDE, grid, x_T, make_generator(1), s_churn=2.0)
    d, _ = heun(denoiser, SDE, grid, x_T, make_generator(1), s_churn=2.0)
    e, _ = heun(denoiser, SDE, grid, x_T, make_generator(2), s_churn=2.0)
    assert nfe == 2 * 8 - 1 and torch.equal(c, d)
    assert float((c - a).abs().max()) > 1e-2 and float((c - e).abs().max()) > 1e-2


def test_predictor_corrector_with_a_tiny_snr_has_the_law_of_euler_maruyama():
    # Measured: path by path they differ (the corrector draws its own noise, so the two
    # samplers read different noise streams); in law, a corrector of step ~ snr^2 vanishes.
    n, grid = 20_000, time_grid(SDE, 10)
    x_T = gaussian_x_T(n, 1, seed=10)
    em, _ = euler_maruyama(denoiser, SDE, grid, x_T, make_generator(1))
    pc, _ = predictor_corrector(denoiser, SDE, grid, x_T, make_generator(2), snr=1e-6)
    tol = monte_carlo_tolerance(S, n) * math.sqrt(2)  # 5 SE of a difference of two means
    assert abs(float(em.mean() - pc.mean())) < tol
    assert abs(float(em.std() - pc.std())) < tol / math.sqrt(2)  # of two stds: S / sqrt(2n)
    # teeth: at ten steps Euler-Maruyama's mean is biased by many standard errors
    assert abs(float(em.mean()) - MU) > 3 * tol


def test_ancestral_with_the_exact_gaussian_denoiser_preserves_the_mean_exactly():
    # E[x_s] = (a_ts sigma_s^2 a_t MU + a_s sigma_ts^2 MU) / sigma_t^2 = a_s MU at every step,
    # whatever its size, since E[x_hat_0] = MU when E[x_t] = a_t MU; Euler-Maruyama does not.
    n = 40_000
    x_T = gaussian_x_T(n, 1, seed=11)
    grid = time_grid(SDE, 3)
    x_a, _ = ancestral(denoiser, SDE, grid, x_T, make_generator(1))
    x_em, _ = euler_maruyama(denoiser, SDE, grid, x_T, make_generator(1))
    tol = monte_carlo_tolerance(float(x_a.std()), n)
    assert abs(float(x_a.mean()) - MU) < tol
    assert abs(float(x_em.mean()) - MU) > 10 * tol
    # the spread, by contrast, is off at three steps: the mean is exact, not the law
    assert abs(float(x_a.std()) - S) > 10 * monte_carlo_tolerance(S, 2 * n)


# --- bookkeeping ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n_steps", [1, 2, 10])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_nfe_is_the_number_of_denoiser_calls_with_one_time_per_row(name, n_steps):
    calls = []

    def counting(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append(t.clone())
        return denoiser(x, t)

    x_T = torch.randn(3, 4, generator=make_generator(7))
    _, nfe = sample(name, counting, SDE, x_T, n_steps, make_generator(8))
    two_per_step = name in ("heun", "dpm_solver_2s", "predictor_corrector")
    expected = 2 * n_steps - 1 if two_per_step else n_steps
    assert nfe == len(calls) == expected
    assert all(t.shape == (3,) and bool((t == t[0]).all()) for t in calls)  # one time per row
    assert all(SDE.t_min - 1e-12 <= float(t[0]) <= 1.0 for t in calls)
    # the first level is nu(1): t = 1 (Heun recomputes t from nu, so to rounding)
    assert float(calls[0][0]) == pytest.approx(1.0, abs=1e-12)
    # Tweedie's jump at the last positive level: t_min, or t = 1 when n_steps = 1 (grid [nu(1), 0])
    last = SDE.t_min if n_steps > 1 else 1.0
    assert float(calls[-1][0]) == pytest.approx(last, rel=1e-9)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_default_grids_run_from_nu_1_to_zero(name):
    grid = DEFAULT_GRIDS[name](SDE, 6)
    assert grid.shape == (7,) and float(grid[0]) == SDE.nu_max and float(grid[-1]) == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_any_state_shape_gives_finite_samples_of_that_shape_and_dtype(name, dtype):
    x_T = torch.randn(5, 2, 3, generator=make_generator(9)).to(dtype)
    x_0, _ = sample(name, denoiser, SDE, x_T, 5, make_generator(10))
    assert x_0.shape == (5, 2, 3) and x_0.dtype == dtype
    assert bool(torch.isfinite(x_0).all())


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_seeds_reproduce_and_differ_for_stochastic_samplers_only(name):
    x_T = torch.randn(50, 2, generator=make_generator(11))
    a, _ = sample(name, denoiser, SDE, x_T, 20, make_generator(1))
    b, _ = sample(name, denoiser, SDE, x_T, 20, make_generator(1))
    c, _ = sample(name, denoiser, SDE, x_T, 20, make_generator(2))
    assert torch.equal(a, b)
    assert torch.equal(a, c) is (name not in STOCHASTIC)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_steps": 0}, ValueError, "n_steps must be an integer >= 1, got 0"),
        ({"name": "rk45"}, ValueError, "sampler must be one of"),
        ({"x_T": torch.tensor([[0.0, float("nan")]])}, ValueError, "x_T must be finite"),
        ({"x_T": torch.zeros(0, 2)}, ValueError, r"batch axis of size >= 1, got \(0, 2\)"),
        ({"denoiser": 3}, TypeError, "denoiser must be callable, got int"),
        (
            {"denoiser": lambda x, t: x[:, :1]},
            ValueError,
            r"denoiser must return the shape of x_t, \(2, 2\), got \(2, 1\)",
        ),
    ],
)
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_bad_inputs_raise_errors_naming_the_value(name, kwargs, error, match):
    arguments = {
        "name": name,
        "denoiser": denoiser,
        "sde": SDE,
        "x_T": torch.zeros(2, 2),
        "n_steps": 3,
        "generator": make_generator(0),
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        sample(**arguments)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_refuse_a_bad_process_or_grid(name):
    x_T, grid = torch.zeros(2, 2), log_snr_grid(SDE, 3)
    with pytest.raises(TypeError, match="sde must be a VPSDE, got str"):
        SAMPLERS[name](denoiser, "vp", grid, x_T, make_generator(0))
    with pytest.raises(ValueError, match=r"grid must end with nu_N = 0 .*got 0.5"):
        SAMPLERS[name](denoiser, SDE, torch.tensor([1.0, 0.5]), x_T, make_generator(0))


@pytest.mark.parametrize(
    ("sampler", "match"),
    [
        (ancestral, "ancestral draws noise and needs a torch.Generator, got None"),
        (euler_maruyama, "euler_maruyama draws noise and needs a torch.Generator, got None"),
        (predictor_corrector, "needs a torch.Generator, got None"),
    ],
)
def test_stochastic_samplers_refuse_a_missing_generator(sampler, match):
    with pytest.raises(TypeError, match=match):
        sampler(denoiser, SDE, time_grid(SDE, 3), torch.zeros(2, 2), None)


@pytest.mark.parametrize(
    ("sampler", "match"),
    [
        (functools.partial(predictor_corrector, snr=0.0), "snr"),
        (functools.partial(heun, s_churn=-1.0), "s_churn"),
        (functools.partial(heun, s_noise=0.0), "s_noise"),
    ],
)
def test_sampler_settings_are_checked(sampler, match):
    with pytest.raises(ValueError, match=match):
        sampler(denoiser, SDE, time_grid(SDE, 3), torch.zeros(2, 2), make_generator(0))
