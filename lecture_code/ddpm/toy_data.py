r"""The two-dimensional toy data of Parts I and II: a swiss roll and a Gaussian mixture.

**Swiss roll.** Points on the spiral :math:`(\tau\cos\tau, \tau\sin\tau)` with
:math:`\tau` uniform on :math:`[\tfrac{3}{2}\pi, \tfrac{9}{2}\pi]`, shifted by the centre
:math:`\mathbf{m}_{\text{roll}}` and scaled by :math:`\boldsymbol{\Lambda}^{-1}` so that each
coordinate has mean 0 and variance 1 exactly (the moments are computed by quadrature, not from
the sample), plus a little isotropic Gaussian noise of standard deviation
:math:`\sigma_{\text{roll}}` (eq. (gen-swiss-roll)). Its density has no closed form; it is the
data we *look at*. The curve is the decoder of a one-dimensional latent space
(:func:`swiss_roll_curve`), the nearest point of it the encoder (:func:`swiss_roll_encode`).

**Gaussian mixture.** :func:`toy_mixture`, three components in the plane: the exact reference,
whose density, score and noised densities are known in closed form
(:class:`lecture_code.ddpm.mixture.GaussianMixture`).

Book: chapter 1, "Generative models and latent spaces"
(:doc:`/book/part1/01_generative_models`), sections "Latent spaces and compression" and "The toy
data of this book", eq. (gen-swiss-roll).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch

from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "SWISS_ROLL_TAU",
    "square_grid",
    "swiss_roll",
    "swiss_roll_curve",
    "swiss_roll_encode",
    "swiss_roll_grid_slack",
    "swiss_roll_moments",
    "toy_mixture",
]

#: The range of the spiral's angle tau, from 3/2 pi to 9/2 pi (one and a half turns).
SWISS_ROLL_TAU = (1.5 * math.pi, 4.5 * math.pi)


@cache
def swiss_roll_moments() -> tuple[tuple[float, float], tuple[float, float]]:
    r"""Exact mean and standard deviation of :math:`(\tau\cos\tau, \tau\sin\tau)` for
    :math:`\tau` uniform on :data:`SWISS_ROLL_TAU`.

    The integrands are smooth on a finite interval, so Gauss–Legendre quadrature with 200 nodes
    is exact to rounding error.

    Returns:
        ``((mean_1, mean_2), (std_1, std_2))``.
    """
    low, high = SWISS_ROLL_TAU
    nodes, weights = np.polynomial.legendre.leggauss(200)
    tau = 0.5 * (high - low) * nodes + 0.5 * (high + low)
    # The uniform density 1/(high - low) times the Jacobian (high - low)/2 leaves weights / 2.
    w = 0.5 * weights
    spiral = np.stack([tau * np.cos(tau), tau * np.sin(tau)])
    mean = spiral @ w
    var = (spiral**2) @ w - mean**2
    std = np.sqrt(var)
    return (float(mean[0]), float(mean[1])), (float(std[0]), float(std[1]))


def swiss_roll(n: int, generator: torch.Generator, noise: float = 0.05) -> torch.Tensor:
    r"""``n`` points of the standardised two-dimensional swiss roll.

    Draw :math:`\tau` uniform on :data:`SWISS_ROLL_TAU`, map it to
    :math:`(\tau\cos\tau, \tau\sin\tau)`, standardise each coordinate with the exact moments of
    :func:`swiss_roll_moments` and add :math:`\mathcal{N}(\mathbf{0}, \texttt{noise}^2\mathbf{I})`.
    Each coordinate then has mean 0 and variance :math:`1 + \texttt{noise}^2`.

    Args:
        n: number of points, ``>= 1``.
        generator: the source of randomness.
        noise: standard deviation of the added noise, ``>= 0``.

    Returns:
        ``(n, 2)`` float64.
    """
    n = check_int("n", n, low=1)
    noise = check_real("noise", noise, low=0.0)
    low, high = SWISS_ROLL_TAU
    tau = low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)
    return swiss_roll_curve(tau) + noise * torch.randn(
        n, 2, generator=generator, dtype=torch.float64
    )


def toy_mixture() -> GaussianMixture:
    r"""The book's standard two-dimensional mixture of three Gaussians.

    Unequal weights, one round, one tilted and one elongated component, placed so that the
    mixture has roughly unit variance per axis (like the standardised swiss roll) and modes far
    enough apart that the density has three separate peaks.

    Returns:
        A :class:`~lecture_code.ddpm.mixture.GaussianMixture` with ``C = 3``, ``D = 2``.
    """
    weights = torch.tensor([0.45, 0.30, 0.25], dtype=torch.float64)
    means = torch.tensor([[-1.1, -0.6], [1.2, -0.5], [0.1, 1.3]], dtype=torch.float64)
    covs = torch.tensor(
        [
            [[0.12, 0.0], [0.0, 0.12]],
            [[0.10, 0.07], [0.07, 0.10]],
            [[0.30, 0.0], [0.0, 0.04]],
        ],
        dtype=torch.float64,
    )
    return GaussianMixture(weights=weights, means=means, covs=covs)


def square_grid(half_width: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The midpoints of an ``n`` by ``n`` grid of cells covering :math:`[-L, L]^2`.

    Used for quadrature (:math:`\int f \approx h^2 \sum_i f(\mathbf{x}_i)` with
    :math:`h = 2L/n`) and for contour plots.

    Args:
        half_width: :math:`L > 0`.
        n: cells per axis, ``>= 2``.

    Returns:
        ``axis: (n,)`` the cell midpoints along one axis, and ``points: (n*n, 2)`` float64, the
        grid points with the second coordinate varying fastest (``points.reshape(n, n, 2)[i, j]``
        is ``(axis[i], axis[j])``).
    """
    half_width = check_real("half_width", half_width, low=0.0, low_open=True)
    n = check_int("n", n, low=2)
    h = 2 * half_width / n
    axis = -half_width + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return axis, torch.stack([xx.flatten(), yy.flatten()], dim=1)


def swiss_roll_curve(tau: torch.Tensor) -> torch.Tensor:
    r"""The noise-free standardised spiral at parameters ``tau``: the *decoder* of the swiss
    roll's one-dimensional latent space (chapter 1, section "Latent spaces and compression",
    eq. (gen-swiss-roll)).

    Args:
        tau: ``(n,)`` values of :math:`\tau` (in :data:`SWISS_ROLL_TAU` for points of the roll).

    Returns:
        ``(n, 2)`` float64.
    """
    tau = check_tensor("tau", tau, ("n",)).to(torch.float64)
    spiral = torch.stack([tau * torch.cos(tau), tau * torch.sin(tau)], dim=1)
    mean, std = swiss_roll_moments()
    return (spiral - torch.tensor(mean, dtype=torch.float64)) / torch.tensor(
        std, dtype=torch.float64
    )


def swiss_roll_encode(x: torch.Tensor, n_grid: int = 4000) -> torch.Tensor:
    r"""The *encoder*: for each point, the :math:`\tau` of the nearest point of the spiral
    :func:`swiss_roll_curve`, searched over ``n_grid`` equally spaced values of :math:`\tau`.

    Compressing two numbers to one loses only the part of the noise that points away from the
    curve: the decoded point is never farther from :math:`\mathbf{x}` than the point of the
    curve that generated it, up to what the grid search can cost
    (:func:`swiss_roll_grid_slack`).

    Args:
        x: ``(n, 2)`` points.
        n_grid: number of candidate values of :math:`\tau`, ``>= 2``.

    Returns:
        ``(n,)`` float64 latent coordinates.
    """
    x = check_tensor("x", x, ("n", 2)).to(torch.float64)
    n_grid = check_int("n_grid", n_grid, low=2)
    low, high = SWISS_ROLL_TAU
    tau = torch.linspace(low, high, n_grid, dtype=torch.float64)
    curve = swiss_roll_curve(tau)  # (n_grid, 2)
    nearest = torch.cdist(x, curve).argmin(dim=1)
    return tau[nearest]


def swiss_roll_grid_slack(n_grid: int = 4000) -> float:
    r"""An upper bound on what :func:`swiss_roll_encode` loses by searching ``n_grid`` values of
    :math:`\tau` instead of the whole curve: :math:`L\,\Delta\tau/2`.

    The decoder :math:`G(\tau) = \boldsymbol{\Lambda}^{-1}\big((\tau\cos\tau,
    \tau\sin\tau) - \mathbf{m}_{\text{roll}}\big)` has the velocity
    :math:`G'(\tau) = \boldsymbol{\Lambda}^{-1}(\cos\tau - \tau\sin\tau,\,
    \sin\tau + \tau\cos\tau)`, and the vector in brackets has length
    :math:`\sqrt{1 + \tau^2}`. So the speed is at most
    :math:`L = \sqrt{1 + \tau_{\max}^2} / \min_i \Lambda_{ii}`, and the curve between two
    parameters is no longer than :math:`L` times their distance. Every :math:`\tau` of the
    range lies within :math:`\Delta\tau/2` of a grid value, with
    :math:`\Delta\tau = (\tau_{\max} - \tau_{\min}) / (n_{\text{grid}} - 1)`, so the nearest
    grid point of the curve is at most :math:`L\,\Delta\tau/2` from any point of the curve.
    (Half the *chord* between grid points would not be a bound: the chord is shorter than the
    arc.)

    Args:
        n_grid: the number of grid values, as in :func:`swiss_roll_encode`, ``>= 2``.

    Returns:
        :math:`L\,\Delta\tau/2`, in the units of the standardised roll.
    """
    n_grid = check_int("n_grid", n_grid, low=2)
    low, high = SWISS_ROLL_TAU
    _, std = swiss_roll_moments()
    speed_bound = math.sqrt(1 + high**2) / min(std)
    return 0.5 * speed_bound * (high - low) / (n_grid - 1)
