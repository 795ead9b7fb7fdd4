r"""Noise-level grids for the samplers of chapter 7: where along the noise a sampler stops.

Every sampler of :mod:`lecture_code.score.samplers` takes its grid as a decreasing sequence of
noise-to-signal ratios :math:`\nu = \sigma/a` of the VP-SDE
(:meth:`lecture_code.score.sde.VPSDE.nu`),

.. math::

    \nu(1) \ge \nu_0 > \nu_1 > \dots > \nu_{N-1} > \nu_N = 0, \qquad \nu_{N-1} = \nu(t_{\min}),

so ``(N + 1,)`` values with :math:`N` intervals. The last interval, from :math:`\nu_{N-1}` to
0, is not integrated: every sampler ends with Tweedie's jump :math:`\mathbf{x} \mapsto
\hat{\mathbf{x}}_0(\mathbf{x}, t_{\min})`, eq. (score-tweedie). The time of a level is
:meth:`~lecture_code.score.sde.VPSDE.t_from_nu`. Writing grids in :math:`\nu` rather than
:math:`t` makes them comparable across processes: :math:`\nu` is the noise level of
:math:`\mathbf{x}_t/a(t) = \mathbf{x}_0 + \nu\boldsymbol{\epsilon}`, whatever the schedule.

- :func:`time_grid`: uniform in :math:`t` (Song et al. 2021), the grid of the reverse SDE;
- :func:`karras_grid`: uniform in :math:`\nu^{1/\rho}` (Karras et al. 2022, eq. (5) of their
  paper; eq. (karras-grid)), which crowds the steps towards small :math:`\nu` as :math:`\rho`
  grows;
- :func:`log_snr_grid`: uniform in the log-SNR :math:`\lambda = -2\log\nu` (Lu et al. 2022),
  the limit :math:`\rho \to \infty` of :func:`karras_grid`.

:func:`check_grid` is what every sampler calls: it refuses a grid that is not decreasing, does
not end at 0, or starts above :math:`\nu(1)`, naming the value.

References:
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.
    C. Lu et al., "DPM-Solver++: fast solver for guided sampling of diffusion probabilistic
    models", 2022, arXiv:2211.01095.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`), section "Noise-level grids",
eq. (karras-grid).
"""

from __future__ import annotations

import math

import torch

from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = ["check_grid", "grid_times", "karras_grid", "log_snr_grid", "time_grid"]

#: Relative slack allowed when a grid's first level is compared with nu(1) (rounding of t -> nu).
_SLACK = 1e-9


def _with_zero(nus: torch.Tensor) -> torch.Tensor:
    return torch.cat([nus, torch.zeros(1, dtype=torch.float64)])


def time_grid(sde: VPSDE, n_steps: int) -> torch.Tensor:
    r"""The levels :math:`\nu(t_i)` of the uniform times :math:`1 = t_0 > \dots > t_{n-1} =
    t_{\min}`, then 0: ``(n_steps + 1,)`` float64 (``[nu(1), 0]`` when ``n_steps = 1``)."""
    n_steps = check_int("n_steps", n_steps, low=1)
    if n_steps == 1:
        return _with_zero(torch.tensor([sde.nu_max], dtype=torch.float64))
    return _with_zero(sde.nu(torch.linspace(1.0, sde.t_min, n_steps, dtype=torch.float64)))


def karras_grid(sde: VPSDE, n_steps: int, rho: float = 7.0) -> torch.Tensor:
    r"""Karras et al.'s levels, eq. (karras-grid): :math:`\nu_i = \big(\nu_{\max}^{1/\rho} +
    \tfrac{i}{n-1}(\nu_{\min}^{1/\rho} - \nu_{\max}^{1/\rho})\big)^\rho` for :math:`i < n`, then
    :math:`\nu_n = 0`, with :math:`\nu_{\max} = \nu(1)` and :math:`\nu_{\min} = \nu(t_{\min})`.

    Args:
        sde: the VP-SDE, which fixes :math:`\nu_{\max}` and :math:`\nu_{\min}`.
        n_steps: the number ``n`` of intervals, ``>= 1``.
        rho: the exponent :math:`\rho > 0`; :math:`\rho = 1` is uniform in :math:`\nu`.

    Returns:
        ``(n_steps + 1,)`` float64, decreasing, ending with 0.
    """
    n_steps = check_int("n_steps", n_steps, low=1)
    rho = check_real("rho", rho, low=0.0, low_open=True)
    if n_steps == 1:
        return _with_zero(torch.tensor([sde.nu_max], dtype=torch.float64))
    ramp = torch.linspace(0.0, 1.0, n_steps, dtype=torch.float64)
    lo, hi = sde.nu_min ** (1.0 / rho), sde.nu_max ** (1.0 / rho)
    nus = (hi + ramp * (lo - hi)) ** rho
    # The end points exactly, whatever the rounding of the power.
    nus[0], nus[-1] = sde.nu_max, sde.nu_min
    return _with_zero(nus)


def log_snr_grid(sde: VPSDE, n_steps: int) -> torch.Tensor:
    r"""Levels uniform in :math:`\lambda = -2\log\nu` from :math:`\nu_{\max}` to
    :math:`\nu_{\min}` (``n_steps`` values), then 0: ``(n_steps + 1,)`` float64."""
    n_steps = check_int("n_steps", n_steps, low=1)
    if n_steps == 1:
        return _with_zero(torch.tensor([sde.nu_max], dtype=torch.float64))
    log_nus = torch.linspace(
        math.log(sde.nu_max), math.log(sde.nu_min), n_steps, dtype=torch.float64
    )
    nus = log_nus.exp()
    nus[0], nus[-1] = sde.nu_max, sde.nu_min
    return _with_zero(nus)


def check_grid(sde: VPSDE, grid: object) -> torch.Tensor:
    r"""``grid`` as float64 ``(N + 1,)`` after checking that it is a sampler's grid: at least two
    values, finite, strictly decreasing, ending with exactly 0, and starting at most at
    :math:`\nu(1)`.

    Raises:
        ValueError: naming the first value that breaks a rule.
    """
    grid = check_tensor("grid", grid, ("N+1",)).to(torch.float64)
    if grid.numel() < 2:
        raise ValueError(f"grid must hold at least two levels (nu_0 and 0), got {grid.tolist()}")
    if float(grid[-1]) != 0.0:
        raise ValueError(f"grid must end with nu_N = 0 (Tweedie's jump), got {float(grid[-1])}")
    steps = grid[1:] - grid[:-1]
    if bool((steps >= 0).any()):
        i = int(torch.nonzero(steps >= 0)[0])
        raise ValueError(
            f"grid must decrease strictly, got nu_{i} = {float(grid[i]):.6g} then "
            f"nu_{i + 1} = {float(grid[i + 1]):.6g}"
        )
    if float(grid[0]) > sde.nu_max * (1 + _SLACK):
        raise ValueError(
            f"grid must start at most at nu(1) = {sde.nu_max:.6g}, got {float(grid[0]):.6g}"
        )
    return grid


def grid_times(sde: VPSDE, grid: torch.Tensor) -> list[float]:
    r"""The times :math:`t_i` of the positive levels :math:`\nu_0, \dots, \nu_{N-1}` of a checked
    grid, as floats (the first is exactly 1 when :math:`\nu_0 = \nu(1)`)."""
    times = sde.t_from_nu(grid[:-1]).tolist()
    if abs(float(grid[0]) - sde.nu_max) <= _SLACK * sde.nu_max:
        times[0] = 1.0
    return times
