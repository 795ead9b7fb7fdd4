r"""The one-dimensional Fokker–Planck equation, solved on a grid, and particle histograms.

The density :math:`p_t` of :math:`dX = f(X)\,dt + g\,dW` obeys (eq. (sde-fokker-planck))

.. math::
    \partial_t p = -\partial_x (f p) + \tfrac12 g^2 \partial_x^2 p
    = -\partial_x J, \qquad J = f p - \tfrac12 g^2 \partial_x p .

:func:`fokker_planck_generator` discretises it by finite volumes: cells of width
:math:`\Delta x`, the flux :math:`J` at each interface from the central average of
:math:`p` and the difference quotient of :math:`p`, and no flux through the two outer walls.
The result is a linear system :math:`\dot{\mathbf{p}} = \mathbf{L}\mathbf{p}` whose columns sum
to zero, so the total mass :math:`\sum_j p_j\,\Delta x` is conserved exactly; it is solved in
time exactly by the matrix exponential (:func:`solve_fokker_planck`), leaving a spatial error
of order :math:`\Delta x^2`. For the gradient drift :math:`f = -U'` the stationary density is
:math:`p_\infty \propto \exp(-2U/g^2)` (eq. (sde-stationary)), :math:`\propto e^{-U}` for the
Langevin choice :math:`g = \sqrt2`.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`), section
"The Fokker–Planck equation", eqs. (sde-fokker-planck), (sde-stationary).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "bin_probabilities",
    "cell_centres",
    "double_well_drift",
    "double_well_potential",
    "fokker_planck_generator",
    "histogram_probabilities",
    "solve_fokker_planck",
    "stationary_density",
]

#: ``f(x)``: a drift that maps ``(M,)`` positions to ``(M,)`` velocities.
Drift = Callable[[torch.Tensor], torch.Tensor]


def double_well_potential(x: torch.Tensor) -> torch.Tensor:
    r"""The double well :math:`U(x) = (x^2 - 1)^2`, minima at :math:`\pm 1`, barrier 1."""
    return (x**2 - 1.0) ** 2


def double_well_drift(x: torch.Tensor) -> torch.Tensor:
    r"""Its gradient drift :math:`f = -U'(x) = -4x(x^2 - 1)`."""
    return -4.0 * x * (x**2 - 1.0)


def cell_centres(low: float, high: float, n_cells: int) -> torch.Tensor:
    """``(n_cells,)`` float64 centres of equal cells covering ``[low, high]``."""
    low = check_real("low", low)
    high = check_real("high", high, low=low, low_open=True)
    n_cells = check_int("n_cells", n_cells, low=2)
    dx = (high - low) / n_cells
    return low + dx * (torch.arange(n_cells, dtype=torch.float64) + 0.5)


def fokker_planck_generator(drift: Drift, g: float, low: float, high: float, n_cells: int):
    r"""``(n_cells, n_cells)`` the matrix :math:`\mathbf{L}` of
    :math:`\dot{\mathbf{p}} = \mathbf{L}\mathbf{p}`, the finite-volume form of
    eq. (sde-fokker-planck) with zero flux at ``low`` and ``high``.

    Args:
        drift: :math:`f(x)`.
        g: the (constant) diffusion coefficient, ``> 0``.
        low, high: the ends of the domain.
        n_cells: number of cells.
    """
    g = check_real("g", g, low=0.0, low_open=True)
    x = cell_centres(low, high, n_cells)
    dx = float(x[1] - x[0])
    d = 0.5 * g**2 / dx  # D / dx
    f = drift(0.5 * (x[1:] + x[:-1]))  # drift at the interior interfaces, (M - 1,)
    peclet = float(f.abs().max()) / (2 * d)
    if peclet >= 1.0:
        raise ValueError(f"the grid is too coarse: |f| dx / g^2 = {peclet:.3g} must be < 1")
    # Flux through interface j+1/2: J = (f/2 + d) p_j + (f/2 - d) p_{j+1}.
    left, right = 0.5 * f + d, 0.5 * f - d
    L = torch.zeros(n_cells, n_cells, dtype=torch.float64)
    idx = torch.arange(n_cells - 1)
    # The flux leaves cell j and enters cell j + 1.
    L[idx, idx] -= left / dx
    L[idx, idx + 1] -= right / dx
    L[idx + 1, idx] += left / dx
    L[idx + 1, idx + 1] += right / dx
    return L


def solve_fokker_planck(
    drift: Drift, g: float, low: float, high: float, n_cells: int, p_0: torch.Tensor, t: float
) -> torch.Tensor:
    r"""The cell values of :math:`p_t`, ``(n_cells,)``, from those of :math:`p_0` (``(n_cells,)``,
    e.g. the initial density at :func:`cell_centres`), exactly in time:
    :math:`\mathbf{p}(t) = e^{t\mathbf{L}}\mathbf{p}(0)`."""
    check_tensor("p_0", p_0, (n_cells,))
    t = check_real("t", t, low=0.0)
    L = fokker_planck_generator(drift, g, low, high, n_cells)
    return torch.linalg.matrix_exp(t * L) @ p_0.to(torch.float64)


def stationary_density(
    drift: Drift, g: float, low: float, high: float, n_cells: int
) -> torch.Tensor:
    r"""``(n_cells,)`` the normalised null vector of :math:`\mathbf{L}`: the grid's stationary
    density, to compare with eq. (sde-stationary)."""
    L = fokker_planck_generator(drift, g, low, high, n_cells)
    dx = (high - low) / n_cells
    A = L.clone()
    A[-1] = dx  # replace one (redundant) equation by the normalisation sum p_j dx = 1
    rhs = torch.zeros(n_cells, dtype=torch.float64)
    rhs[-1] = 1.0
    return torch.linalg.solve(A, rhs)


def bin_probabilities(p: torch.Tensor, dx: float, cells_per_bin: int) -> torch.Tensor:
    r"""``(n_cells // cells_per_bin,)`` the mass :math:`\sum_j p_j\Delta x` of each bin of
    ``cells_per_bin`` consecutive cells."""
    check_tensor("p", p, (None,))
    cells_per_bin = check_int("cells_per_bin", cells_per_bin, low=1)
    if p.numel() % cells_per_bin:
        raise ValueError(f"{p.numel()} cells do not split into bins of {cells_per_bin}")
    return p.reshape(-1, cells_per_bin).sum(dim=1) * dx


def histogram_probabilities(
    x: torch.Tensor, low: float, high: float, n_bins: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The fraction of the ``(n,)`` draws ``x`` in each of ``n_bins`` equal bins of
    ``[low, high]`` and its standard error :math:`\sqrt{\hat P(1 - \hat P)/n}`, both
    ``(n_bins,)``; draws outside count in no bin."""
    x = check_tensor("x", x, (None,)).to(torch.float64)
    n_bins = check_int("n_bins", n_bins, low=1)
    counts = torch.histc(x, bins=n_bins, min=low, max=high)
    frac = counts / x.numel()
    return frac, torch.sqrt(frac * (1 - frac) / x.numel()).clamp(min=1.0 / x.numel())
