"""The burst forcing of the bursty truth, eqs. (l96-burst) and (l96-burst-moments).

Each test checks one fact derived in chapter 9: the field is centred, its variance and its
covariances at lags 1 and 2 follow the closed forms (by Monte Carlo, within five standard errors,
and the plausible wrong formulas fail), ``p_burst = 0`` reproduces the Gaussian control bit for
bit, seeds reproduce, and bad settings raise errors that name the value.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.forecasting.bursts import (
    burst_covariance,
    burst_field,
    burst_variance,
)
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step, rk4_step, spin_up, trajectory
from lecture_code.forecasting.shape_scores import pinball_loss
from lecture_code.seeding import make_generator

P, J = 0.05, 1.5  # frequent bursts, so that 400,000 draws pin the moments down


@pytest.fixture(scope="module")
def field() -> torch.Tensor:
    return burst_field((20_000, 20), P, J, make_generator(3))


def _mean_and_se(x: torch.Tensor) -> tuple[float, float]:
    """Mean of ``x`` and its standard error, treating rows (independent rings) as the samples."""
    per_ring = x.mean(dim=1)
    return float(per_ring.mean()), float(per_ring.std() / math.sqrt(per_ring.shape[0]))


def test_the_field_is_centred(field):
    mean, se = _mean_and_se(field)
    assert abs(mean) < 5 * se
    # Not centring (or centring by p J, forgetting the two half-weights) would be seen.
    assert abs(mean + 2 * P * J - P * J) > 5 * se


def test_variance_is_three_halves_var_A(field):
    var, se = _mean_and_se(field**2)
    assert abs(var - burst_variance(P, J)) < 5 * se
    assert burst_variance(P, J) == pytest.approx(1.5 * P * J**2 * (2 - P))
    # Wrong: E[E^2] = 1 (a constant amplitude) or the centre weight only (no spreading).
    assert abs(var - 1.5 * P * J**2 * (1 - P)) > 5 * se
    assert abs(var - P * J**2 * (2 - P)) > 5 * se


@pytest.mark.parametrize("lag", [1, 2, 3])
def test_neighbour_covariances(field, lag):
    cov, se = _mean_and_se(field * field.roll(-lag, dims=1))
    assert abs(cov - burst_covariance(P, J, lag)) < 5 * se
    if lag == 1:  # correlation 2/3, not the 1/2 of weights that overlap once
        assert abs(cov - 0.5 * burst_variance(P, J)) > 5 * se
        assert burst_covariance(P, J, 1) / burst_variance(P, J) == pytest.approx(2 / 3)
    if lag == 2:
        assert burst_covariance(P, J, 2) / burst_variance(P, J) == pytest.approx(1 / 6)


def test_bursts_are_one_sided(field):
    # Positive skewness: rare large positive bursts against a small constant negative offset.
    assert float(field.min()) == pytest.approx(-2 * P * J)
    assert float((field**3).mean()) > 0.0


def test_p_zero_reproduces_the_control_bit_for_bit():
    u = spin_up(8, Lorenz96(sigma_xi=0.0), make_generator(1))
    control = Lorenz96()
    assert Lorenz96(p_burst=0.0, J_burst=5.0) == Lorenz96(J_burst=5.0)
    a = trajectory(u, 3, control, make_generator(9))
    b = trajectory(u, 3, Lorenz96(p_burst=0.0, J_burst=7.0), make_generator(9))
    assert torch.equal(a, b)
    # The control as lorenz96.py drew it before the bursts: RK4, then a randn kick, nothing else.
    g = make_generator(9)
    x = u
    for _ in range(3 * control.substeps):
        x = rk4_step(x, control.dt, control.F)
        x.add_(torch.randn(x.shape, generator=g, dtype=x.dtype), alpha=math.sqrt(control.dt))
    assert torch.equal(a[:, -1], x)


def test_bursty_step_is_kick_then_bursts():
    u = torch.full((5_000, 10), 2.0, dtype=torch.float64)
    system = Lorenz96(K=10, substeps=1, sigma_xi=1.0, p_burst=P, J_burst=J)
    step = model_step(u, system, make_generator(4))
    g = make_generator(4)
    xi = torch.randn(u.shape, generator=g, dtype=u.dtype)
    b = burst_field(u.shape, P, J, g)
    expected = rk4_step(u, system.dt, system.F) + math.sqrt(system.dt) * xi + b
    assert torch.allclose(step, expected, rtol=0, atol=1e-12)


def test_seeds_reproduce():
    u = spin_up(4, Lorenz96(sigma_xi=0.0), make_generator(1))
    system = Lorenz96(p_burst=0.002)
    a = trajectory(u, 4, system, make_generator(5))
    assert torch.equal(a, trajectory(u, 4, system, make_generator(5)))
    assert not torch.equal(a, trajectory(u, 4, system, make_generator(6)))
    assert not torch.equal(a, trajectory(u, 4, Lorenz96(), make_generator(5)))


def test_bursts_alone_need_a_generator_and_deterministic_drops_them():
    u = spin_up(2, Lorenz96(sigma_xi=0.0), make_generator(1))
    system = Lorenz96(sigma_xi=0.0, p_burst=0.1)
    with pytest.raises(ValueError, match=r"p_burst = 0\.1"):
        model_step(u, system)
    assert system.deterministic.p_burst == 0.0
    assert torch.equal(model_step(u, system.deterministic), model_step(u, Lorenz96(sigma_xi=0.0)))


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match=r"p_burst must lie in \[0.0, 1.0\], got 1.5"):
        Lorenz96(p_burst=1.5)
    with pytest.raises(ValueError, match=r"p_burst must lie in .*got -0\.1"):
        burst_field((2, 5), -0.1, 1.0, make_generator(0))
    with pytest.raises(ValueError, match=r"J_burst must lie in .*got -2\.0"):
        Lorenz96(J_burst=-2.0)
    with pytest.raises(ValueError, match="p_burst must be a finite number, got nan"):
        Lorenz96(p_burst=float("nan"))
    with pytest.raises(ValueError, match="shape must be"):
        burst_field((2, 2), 0.1, 1.0, make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        burst_field((2, 5), 0.1, 1.0, 0)


def test_pinball_loss_is_smallest_at_the_true_quantile():
    y = torch.randn(200_000, generator=make_generator(2), dtype=torch.float64)
    level = 0.99
    true_q = 2.3263478740408408  # the standard normal 99 % quantile
    scores = [
        float(pinball_loss(torch.tensor(true_q + d), y, level).mean()) for d in (-0.2, 0, 0.2)
    ]
    assert scores[1] < min(scores[0], scores[2])
    assert float(pinball_loss(torch.tensor(1.0), torch.tensor(3.0), 0.25)) == pytest.approx(0.5)
    assert float(pinball_loss(torch.tensor(3.0), torch.tensor(1.0), 0.25)) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="level"):
        pinball_loss(torch.tensor(0.0), y, 1.0)
