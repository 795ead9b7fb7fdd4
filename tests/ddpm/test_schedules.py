"""Noise schedules: the identities of chapter 2 and the end points of the papers."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.schedules import (
    NoiseSchedule,
    check_steps,
    constant_schedule,
    cosine_alpha_bar,
    cosine_schedule,
    linear_schedule,
    schedule_from_beta,
)

SCHEDULES = {
    "linear-1000": lambda: linear_schedule(1000),
    "linear-100": lambda: linear_schedule(100),
    "linear-10": lambda: linear_schedule(10),
    "cosine-1000": lambda: cosine_schedule(1000),
    "cosine-50": lambda: cosine_schedule(50),
}


@pytest.fixture(params=sorted(SCHEDULES))
def schedule(request) -> NoiseSchedule:
    return SCHEDULES[request.param]()


# --- identities ----------------------------------------------------------------------------
def test_step_zero_is_the_clean_data(schedule):
    assert schedule.beta[0] == 0
    assert schedule.alpha[0] == 1
    assert schedule.alpha_bar[0] == 1
    assert schedule.snr[0] == math.inf
    assert schedule.log_snr[0] == math.inf


def test_shapes_dtype_and_length(schedule):
    for name in ("beta", "alpha", "alpha_bar", "snr", "log_snr", "scale", "sigma"):
        value = getattr(schedule, name)
        assert value.shape == (schedule.T + 1,), name
        assert value.dtype == torch.float64, name
        assert torch.isfinite(value[1:]).all(), name


def test_alpha_bar_strictly_decreasing_in_unit_interval(schedule):
    alpha_bar = schedule.alpha_bar
    assert (alpha_bar[1:] < alpha_bar[:-1]).all()
    assert (alpha_bar[1:] > 0).all() and (alpha_bar[1:] < 1).all()
    assert (schedule.log_snr[1:] < schedule.log_snr[:-1]).all()


def test_alpha_bar_is_the_product_of_alphas_computed_by_a_loop(schedule):
    # Brute force: multiply the alphas one at a time.
    running, expected = 1.0, [1.0]
    for t in range(1, schedule.T + 1):
        running *= 1.0 - schedule.beta[t].item()
        expected.append(running)
    torch.testing.assert_close(
        schedule.alpha_bar, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0
    )


def test_snr_and_log_snr_agree_and_scales_add_to_one(schedule):
    torch.testing.assert_close(schedule.log_snr[1:], torch.log(schedule.snr[1:]), rtol=1e-9, atol=0)
    # signal^2 + noise^2 = alpha_bar + (1 - alpha_bar) = 1: the process preserves unit variance.
    total = schedule.scale**2 + schedule.sigma**2
    torch.testing.assert_close(total, torch.ones_like(total), rtol=1e-12, atol=1e-12)


def test_every_default_schedule_ends_near_standard_normal(schedule):
    # alpha_bar_T is the signal fraction left at the end; below 1e-4 the prior N(0, I) is close.
    assert schedule.alpha_bar[-1] < 1e-4


# --- the papers' values ----------------------------------------------------------------------
def test_linear_schedule_matches_ho_et_al_at_1000_steps():
    s = linear_schedule(1000)
    assert s.T == 1000
    assert s.beta[1].item() == pytest.approx(1e-4, rel=1e-12)
    assert s.beta[-1].item() == pytest.approx(0.02, rel=1e-12)
    steps = torch.diff(s.beta[1:])
    torch.testing.assert_close(steps, torch.full_like(steps, (0.02 - 1e-4) / 999))


def test_linear_default_rescales_with_T_so_sum_of_beta_is_kept():
    # sum_t beta_t = T (beta_1 + beta_T) / 2 does not depend on T when both scale by 1000 / T.
    reference = linear_schedule(1000).beta.sum().item()
    for T in (50, 200, 500):
        assert linear_schedule(T).beta.sum().item() == pytest.approx(reference, rel=1e-12)


def test_linear_default_keeps_the_sum_of_beta_but_not_the_end_point():
    # log alpha_bar_T = sum_t log(1 - beta_t) = -sum beta - sum beta^2 / 2 - ...: with fewer,
    # larger steps the neglected terms grow, so alpha_bar_T shrinks although sum beta is fixed.
    ends = [linear_schedule(T).alpha_bar[-1].item() for T in (25, 100, 1000)]
    assert ends[0] < ends[1] < ends[2]
    assert ends[2] / ends[0] > 100
    for T in (25, 100, 1000):
        s = linear_schedule(T)
        log_end = torch.log1p(-s.beta[1:]).sum().item()
        assert math.log(s.alpha_bar[-1].item()) == pytest.approx(log_end, rel=1e-12)


def test_linear_default_caps_beta_for_few_steps():
    s = linear_schedule(10)
    assert s.beta[-1].item() == pytest.approx(0.999)
    assert s.beta[1].item() == pytest.approx(0.01)
    # The cap binds exactly when 0.02 * 1000 / T >= 0.999, i.e. T <= 20, and breaks the sum.
    assert linear_schedule(20).beta[-1].item() == pytest.approx(0.999)
    assert linear_schedule(21).beta[-1].item() == pytest.approx(20 / 21)
    assert s.beta.sum().item() < linear_schedule(1000).beta.sum().item() / 1.9


def test_cosine_alpha_bar_follows_the_formula_where_beta_is_not_capped():
    T, s = 1000, 0.008
    schedule = cosine_schedule(T, s=s)
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    expected = f / f[0]
    uncapped = schedule.beta < 0.999
    torch.testing.assert_close(schedule.alpha_bar[uncapped], expected[uncapped], rtol=1e-9, atol=0)
    assert cosine_alpha_bar(torch.tensor([0.0, 1.0], dtype=torch.float64))[0] == 1.0
    assert cosine_alpha_bar(torch.tensor([1.0], dtype=torch.float64))[0] < 1e-30


def test_constant_schedule_alpha_bar_is_a_power():
    s = constant_schedule(30, 0.1)
    torch.testing.assert_close(s.alpha_bar, 0.9 ** torch.arange(31, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"beta must lie in \(0.0, 1.0\), got 1.0"):
        constant_schedule(30, 1.0)


def test_from_beta_round_trip():
    beta = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    s = schedule_from_beta(beta)
    assert s.T == 3
    torch.testing.assert_close(s.beta[1:], beta)
    torch.testing.assert_close(s.alpha_bar[-1], torch.tensor(0.9 * 0.8 * 0.7, dtype=torch.float64))


def test_repr_distinguishes_schedules_that_differ_anywhere():
    a = schedule_from_beta(torch.tensor([0.1, 0.2, 0.3]))
    b = schedule_from_beta(torch.tensor([0.1, 0.25, 0.3]))
    assert repr(a) != repr(b)
    assert repr(a) == repr(schedule_from_beta(torch.tensor([0.1, 0.2, 0.3])))


# --- bad inputs ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("beta", "message"),
    [
        ([0.1, 1.0, 0.2], r"beta_t must lie in \(0, 1\).*got beta_2 = 1.0"),
        ([0.1, 0.2, 0.0], r"got beta_3 = 0.0"),
        ([-0.5], r"got beta_1 = -0.5"),
        ([0.1, float("nan")], r"beta must be finite, got 1 NaN"),
    ],
)
def test_beta_outside_unit_interval_is_named(beta, message):
    with pytest.raises(ValueError, match=message):
        schedule_from_beta(torch.tensor(beta, dtype=torch.float64))


def test_noise_schedule_requires_beta_0_equal_zero():
    with pytest.raises(ValueError, match=r"beta\[0\] must be 0"):
        NoiseSchedule(torch.tensor([0.1, 0.2], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"beta must have shape \(\*\)"):
        NoiseSchedule(torch.zeros(2, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"T": 0}, ValueError, "T must be an integer >= 1, got 0"),
        ({"T": 10.0}, TypeError, "T must be an integer"),
        ({"T": 100, "beta_T": 1.5}, ValueError, r"beta_T must lie in \(0.0, 1.0\), got 1.5"),
        ({"T": 100, "beta_1": 0.0}, ValueError, r"beta_1 must lie in \(0.0, 1.0\), got 0.0"),
    ],
)
def test_linear_schedule_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        linear_schedule(**kwargs)


def test_cosine_schedule_bad_arguments():
    with pytest.raises(ValueError, match=r"max_beta must lie in \(0.0, 1.0\), got 1.0"):
        cosine_schedule(100, max_beta=1.0)
    with pytest.raises(ValueError, match=r"s must lie in \[0.0, inf\], got -0.1"):
        cosine_schedule(100, s=-0.1)


def test_check_steps_names_the_step_out_of_range():
    assert check_steps(torch.tensor([0, 5, 10]), 10).tolist() == [0, 5, 10]
    with pytest.raises(ValueError, match=r"t must lie in \[0, T\] = \[0, 10\], got t\[1\] = 11"):
        check_steps(torch.tensor([3, 11]), 10)
    with pytest.raises(ValueError, match=r"got t\[0\] = -1"):
        check_steps(torch.tensor([-1]), 10)
    with pytest.raises(TypeError, match="t must be an integer tensor of steps, got dtype"):
        check_steps(torch.tensor([1.0]), 10)
    with pytest.raises(ValueError, match=r"t must have shape \(B\)"):
        check_steps(torch.tensor([[1]]), 10)
