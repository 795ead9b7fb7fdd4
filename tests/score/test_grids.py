"""Noise-level grids: where each sampler stops, and the refusals of a grid no sampler can use.

Every grid runs from nu(1) down to nu(t_min), then 0. The log-SNR grid is uniform in
lambda = -2 log nu; Karras et al.'s grid is uniform in nu^(1/rho), which is uniform in nu for
rho = 1 and tends to the log-SNR grid as rho -> infinity, since (nu^(1/rho) - 1) rho -> log nu.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.score.grids import (
    check_grid,
    grid_times,
    karras_grid,
    log_snr_grid,
    time_grid,
)
from lecture_code.score.sde import VPSDE

SDE = VPSDE()

pytestmark = pytest.mark.usefixtures("one_thread")

GRIDS = {
    "time": time_grid,
    "log_snr": log_snr_grid,
    "karras_7": lambda sde, n: karras_grid(sde, n, rho=7.0),
    "karras_1": lambda sde, n: karras_grid(sde, n, rho=1.0),
}


def assert_uniform(values: torch.Tensor) -> None:
    steps = torch.diff(values)
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps.mean())))


@pytest.mark.parametrize("n_steps", [1, 2, 7])
@pytest.mark.parametrize("name", sorted(GRIDS))
def test_grids_start_at_nu_1_end_at_nu_t_min_then_zero_and_decrease(name, n_steps):
    grid = GRIDS[name](SDE, n_steps)
    assert grid.shape == (n_steps + 1,) and grid.dtype == torch.float64
    assert float(grid[-1]) == 0.0 and bool((torch.diff(grid) < 0).all())
    assert float(grid[0]) == SDE.nu_max  # exactly, so that the first time is exactly 1
    if n_steps > 1:
        assert float(grid[-2]) == SDE.nu_min  # exactly, so that Tweedie's jump is at t_min
    torch.testing.assert_close(check_grid(SDE, grid), grid, rtol=0, atol=0)


def test_time_grid_is_uniform_in_t():
    times = SDE.t_from_nu(time_grid(SDE, 9)[:-1])
    torch.testing.assert_close(times, torch.linspace(1.0, SDE.t_min, 9, dtype=torch.float64))


def test_log_snr_grid_is_uniform_in_lambda_the_log_snr_of_its_times():
    nus = log_snr_grid(SDE, 9)[:-1]
    lam = -2.0 * torch.log(nus)
    assert_uniform(lam)
    # lambda = -2 log nu is the log-SNR log(a^2 / sigma^2) of the level's time
    torch.testing.assert_close(SDE.log_snr(SDE.t_from_nu(nus)), lam)


def test_karras_grid_is_uniform_in_nu_to_the_one_over_rho():
    for rho in (1.0, 3.0, 7.0):
        assert_uniform(karras_grid(SDE, 9, rho=rho)[:-1] ** (1.0 / rho))
    assert_uniform(karras_grid(SDE, 9, rho=1.0)[:-1])  # rho = 1: uniform in nu itself


def test_karras_grid_tends_to_the_log_snr_grid_as_rho_grows():
    log_snr = log_snr_grid(SDE, 10)[:-1]

    def gap(rho: float) -> float:
        return float(((karras_grid(SDE, 10, rho=rho)[:-1] - log_snr) / log_snr).abs().max())

    # the gap is O(log(nu_max / nu_min)^2 / rho): 1e-5 at rho = 1e6, a factor 4 at rho = 7
    assert gap(1e6) < 1e-4
    assert gap(1e4) > 10 * gap(1e6)  # and it closes like 1 / rho, not by accident
    assert gap(7.0) > 1.0
    # rho orders the grids: the middle level is largest uniform in nu (rho = 1), then rho = 7,
    # and smallest uniform in log-SNR (rho -> infinity), each by a factor over 4 here
    middle = [float(karras_grid(SDE, 11, rho=rho)[5]) for rho in (1.0, 7.0)]
    middle.append(float(log_snr_grid(SDE, 11)[5]))
    assert middle[0] > 4 * middle[1] > 16 * middle[2]


def test_grid_times_are_the_times_of_the_positive_levels_the_first_exactly_one():
    grid = karras_grid(SDE, 6)
    times = grid_times(SDE, grid)
    assert len(times) == 6 and times[0] == 1.0
    assert times[-1] == pytest.approx(SDE.t_min, rel=1e-9)
    torch.testing.assert_close(SDE.nu(torch.tensor(times, dtype=torch.float64)), grid[:-1])
    # a start within rounding of nu(1) still maps to exactly t = 1 ...
    nudged = grid.clone()
    nudged[0] = SDE.nu_max * (1 - 1e-12)
    assert grid_times(SDE, nudged)[0] == 1.0
    # ... but a start below it keeps its own time
    lower = grid.clone()
    lower[0] = 0.5 * SDE.nu_max
    assert grid_times(SDE, lower)[0] == pytest.approx(float(SDE.t_from_nu(0.5 * SDE.nu_max)))
    assert grid_times(SDE, lower)[0] < 1.0


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ([SDE.nu_max, 1.0, 1.0, 0.0], r"decrease strictly, got nu_1 = 1 then nu_2 = 1"),
        ([1.0, 2.0, 0.0], r"decrease strictly, got nu_0 = 1 then nu_1 = 2"),
        ([1.0, 0.5], r"end with nu_N = 0 .*got 0.5"),
        ([1000.0, 1.0, 0.0], r"at most at nu\(1\) = 152.167, got 1000"),
        ([0.0], r"at least two levels .*got \[0.0\]"),
        ([1.0, math.nan, 0.0], r"grid must be finite, got 1 NaN"),
        ([[1.0, 0.0]], r"grid must have shape"),
    ],
)
def test_check_grid_refuses_a_grid_no_sampler_can_use_naming_the_value(grid, match):
    with pytest.raises(ValueError, match=match):
        check_grid(SDE, torch.tensor(grid, dtype=torch.float64))


def test_check_grid_accepts_a_grid_starting_below_nu_1_as_float64():
    grid = check_grid(SDE, torch.tensor([3.0, 0.1, 0.0], dtype=torch.float32))
    assert grid.dtype == torch.float64 and grid.tolist() == pytest.approx([3.0, 0.1, 0.0])


@pytest.mark.parametrize("maker", [time_grid, log_snr_grid, karras_grid])
def test_grid_makers_refuse_zero_steps(maker):
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1, got 0"):
        maker(SDE, 0)
    with pytest.raises(ValueError, match="rho"):
        karras_grid(SDE, 3, rho=0.0)
