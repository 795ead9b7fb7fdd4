r"""The two-dimensional toy data of Parts I and II: a swiss roll and a Gaussian mixture.

**Swiss roll.** Points on the spiral :math:`(\tau\cos\tau, \tau\sin\tau)` with
:math:`\tau` uniform on :math:`[\tfrac{3}{2}\pi, \tfrac{9}{2}\pi]`, shifted and scaled so that
each coordinate has mean 0 and variance 1 exactly (the moments are computed by quadrature, not
from the sample), plus a little isotropic Gaussian noise. Its density has no closed form; it is
the data we *look at*.

**Gaussian mixture.** :math:`p(\mathbf{x}) = \sum_{c=1}^C w_c\,
\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}_c, \boldsymbol{\Sigma}_c)`. Everything about it is known
in closed form, which makes it the exact reference of Parts I and II:

- the score (book eq. ``gen-mixture-score``) is the responsibility-weighted average of the
  component scores,

  .. math::

      \nabla_{\mathbf{x}} \log p(\mathbf{x}) = -\sum_c r_c(\mathbf{x})\,
      \boldsymbol{\Sigma}_c^{-1}(\mathbf{x} - \boldsymbol{\mu}_c), \qquad
      r_c(\mathbf{x}) = \frac{w_c \mathcal{N}(\mathbf{x};
      \boldsymbol{\mu}_c, \boldsymbol{\Sigma}_c)}{p(\mathbf{x})};

- the law of :math:`a\,\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}` with
  :math:`\mathbf{x}_0 \sim p` and independent :math:`\boldsymbol{\epsilon} \sim
  \mathcal{N}(\mathbf{0}, \mathbf{I})` is again a mixture with the same weights, means
  :math:`a\boldsymbol{\mu}_c` and covariances :math:`a^2\boldsymbol{\Sigma}_c + \sigma^2\mathbf{I}`
  (book eq. ``gen-noised-mixture``, :meth:`GaussianMixture.noised`). With :math:`a =
  \sqrt{\bar\alpha_t}` and :math:`\sigma = \sqrt{1 - \bar\alpha_t}` this is the marginal
  :math:`q(\mathbf{x}_t)` of the forward process of chapter 2.

Book: chapter 1 (:doc:`/book/part1/01_generative_models`), section "The toy data of this book",
eqs. ``gen-mixture``, ``gen-mixture-score``, ``gen-noised-mixture``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from lecture_code.validation import check_int, check_real, check_tensor

#: The range of the spiral's angle tau, from 3/2 pi to 9/2 pi (one and a half turns).
SWISS_ROLL_TAU = (1.5 * math.pi, 4.5 * math.pi)

#: Relative tolerance on the sum of the mixture weights.
WEIGHT_SUM_RTOL = 1e-6
#: Relative tolerance on the symmetry of a covariance matrix.
SYMMETRY_RTOL = 1e-8


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


@dataclass(frozen=True, eq=False, repr=False)
class GaussianMixture:
    r"""A mixture of :math:`C` Gaussians in :math:`D` dimensions (eq. ``gen-mixture``).

    Attributes:
        weights: ``(C,)`` positive, summing to 1 (:math:`w_c`).
        means: ``(C, D)`` (:math:`\boldsymbol{\mu}_c`).
        covs: ``(C, D, D)`` symmetric positive definite (:math:`\boldsymbol{\Sigma}_c`).

    All three are stored as float64. The constructor checks every condition and names the value
    that breaks it.
    """

    weights: torch.Tensor
    means: torch.Tensor
    covs: torch.Tensor

    def __post_init__(self) -> None:
        dims: dict[str, int] = {}
        weights = check_tensor("weights", self.weights, ("C",), dims=dims).to(torch.float64)
        means = check_tensor("means", self.means, ("C", "D"), dims=dims).to(torch.float64)
        covs = check_tensor("covs", self.covs, ("C", "D", "D"), dims=dims).to(torch.float64)
        if dims["C"] < 1 or dims["D"] < 1:
            raise ValueError(f"a mixture needs C >= 1 components in D >= 1 dimensions, got {dims}")
        if bool((weights <= 0).any()):
            raise ValueError(f"weights must be positive, got {weights.tolist()}")
        total = float(weights.sum())
        if abs(total - 1.0) > WEIGHT_SUM_RTOL:
            raise ValueError(f"weights must sum to 1, got sum {total!r} for {weights.tolist()}")
        asymmetry = (covs - covs.transpose(1, 2)).abs().amax(dim=(1, 2))
        scale = covs.abs().amax(dim=(1, 2))
        for c in range(dims["C"]):
            if asymmetry[c] > SYMMETRY_RTOL * scale[c]:
                raise ValueError(
                    f"covs[{c}] must be symmetric, got max |Sigma - Sigma^T| = "
                    f"{asymmetry[c].item():.3g}"
                )
        # Symmetrise exactly so that eigvalsh and cholesky see the same matrix.
        covs = 0.5 * (covs + covs.transpose(1, 2))
        smallest = torch.linalg.eigvalsh(covs)[:, 0]
        for c in range(dims["C"]):
            if smallest[c] <= 0:
                raise ValueError(
                    f"covs[{c}] must be positive definite, got smallest eigenvalue "
                    f"{smallest[c].item():.6g}"
                )
        object.__setattr__(self, "weights", weights.detach().clone())
        object.__setattr__(self, "means", means.detach().clone())
        object.__setattr__(self, "covs", covs.detach().clone())

    # --- shapes -----------------------------------------------------------------------------
    @property
    def C(self) -> int:
        """Number of components."""
        return self.weights.numel()

    @property
    def D(self) -> int:
        """Dimension of the data."""
        return self.means.shape[1]

    # --- moments ----------------------------------------------------------------------------
    @property
    def mean(self) -> torch.Tensor:
        r"""``(D,)``: :math:`\sum_c w_c\boldsymbol{\mu}_c` (eq. ``gen-mixture-moments``)."""
        return self.weights @ self.means

    @property
    def covariance(self) -> torch.Tensor:
        r"""``(D, D)``: :math:`\sum_c w_c(\boldsymbol{\Sigma}_c + \boldsymbol{\mu}_c
        \boldsymbol{\mu}_c^\top) - \mathbf{m}\mathbf{m}^\top` (eq. ``gen-mixture-moments``),
        the law of total covariance."""
        m = self.mean
        second = torch.einsum("c,cij->ij", self.weights, self.covs) + torch.einsum(
            "c,ci,cj->ij", self.weights, self.means, self.means
        )
        return second - torch.outer(m, m)

    # --- sampling and density ---------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        r"""``n`` independent draws, ``(n, D)`` float64.

        Ancestral sampling: draw the component :math:`c` with probabilities :math:`w_c`, then
        :math:`\mathbf{x} = \boldsymbol{\mu}_c + \mathbf{L}_c\mathbf{z}` with
        :math:`\mathbf{L}_c\mathbf{L}_c^\top = \boldsymbol{\Sigma}_c` and
        :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})`.
        """
        n = check_int("n", n, low=1)
        c = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.D, generator=generator, dtype=torch.float64)
        L = torch.linalg.cholesky(self.covs)
        return self.means[c] + torch.einsum("nij,nj->ni", L[c], z)

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B, C)``: :math:`\log\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}_c,
        \boldsymbol{\Sigma}_c)` for every point and component.

        With :math:`\boldsymbol{\Sigma}_c = \mathbf{L}_c\mathbf{L}_c^\top` and
        :math:`\mathbf{y} = \mathbf{L}_c^{-1}(\mathbf{x} - \boldsymbol{\mu}_c)`, the log density
        is :math:`-\tfrac12\lVert\mathbf{y}\rVert^2 - \sum_i \log L_{c,ii} - \tfrac{D}{2}\log 2\pi`.

        Args:
            x: ``(B, D)``.
        """
        x = check_tensor("x", x, ("B", self.D))
        L = torch.linalg.cholesky(self.covs)  # (C, D, D)
        diff = x.to(torch.float64)[:, None, :] - self.means[None, :, :]  # (B, C, D)
        y = torch.linalg.solve_triangular(L[None], diff[..., None], upper=False)[..., 0]
        half_log_det = torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(dim=1)  # (C,)
        return -0.5 * (y**2).sum(dim=2) - half_log_det - 0.5 * self.D * math.log(2 * math.pi)

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B, C)``: :math:`r_c(\mathbf{x}) = w_c\mathcal{N}_c(\mathbf{x}) / p(\mathbf{x})`,
        the posterior probability that :math:`\mathbf{x}` came from component :math:`c`."""
        return torch.softmax(torch.log(self.weights) + self.component_log_prob(x), dim=1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B,)``: :math:`\log p(\mathbf{x}) = \log\sum_c w_c\mathcal{N}(\mathbf{x};
        \boldsymbol{\mu}_c, \boldsymbol{\Sigma}_c)`, by log-sum-exp (eq. ``gen-mixture``).

        Args:
            x: ``(B, D)``.
        """
        return torch.logsumexp(torch.log(self.weights) + self.component_log_prob(x), dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B, D)``: :math:`\nabla_{\mathbf{x}}\log p(\mathbf{x}) = -\sum_c r_c(\mathbf{x})
        \boldsymbol{\Sigma}_c^{-1}(\mathbf{x} - \boldsymbol{\mu}_c)` (eq. ``gen-mixture-score``).

        Args:
            x: ``(B, D)``.
        """
        r = self.responsibilities(x)  # validates x
        diff = x.to(torch.float64)[:, None, :] - self.means[None, :, :]  # (B, C, D)
        # Sigma_c^{-1} (x - mu_c) by a Cholesky solve rather than an explicit inverse.
        L = torch.linalg.cholesky(self.covs)
        component_scores = -torch.cholesky_solve(diff[..., None], L[None])[..., 0]  # (B, C, D)
        return torch.einsum("bc,bcd->bd", r, component_scores)

    def characteristic_function(self, k: torch.Tensor) -> torch.Tensor:
        r"""``(K,)`` complex, the characteristic function
        :math:`\psi(\mathbf{k}) = \mathbb{E}[e^{i\mathbf{k}\cdot\mathbf{x}}]
        = \sum_c w_c \exp\big(i\mathbf{k}\cdot\boldsymbol{\mu}_c
        - \tfrac12\mathbf{k}^\top\boldsymbol{\Sigma}_c\mathbf{k}\big)`
        (eq. ``gen-mixture-cf``).

        The characteristic function determines a distribution, and a Monte Carlo average of
        :math:`\cos` and :math:`\sin` of :math:`\mathbf{k}\cdot\mathbf{x}` (values in
        :math:`[-1, 1]`) has a standard error of at most :math:`1/\sqrt{n}`: a clean test that
        samples follow this law, without histograms or kernel density estimates.

        Args:
            k: ``(K, D)`` frequencies.
        """
        k = check_tensor("k", k, ("K", self.D)).to(torch.float64)
        phase = k @ self.means.T  # (K, C)
        damping = torch.exp(-0.5 * torch.einsum("ki,cij,kj->kc", k, self.covs, k))  # (K, C)
        return (self.weights * damping * torch.exp(1j * phase)).sum(dim=1)

    def noised(self, scale: float, sigma: float) -> GaussianMixture:
        r"""The law of :math:`a\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}` with
        :math:`\mathbf{x}_0` from this mixture and independent standard Gaussian
        :math:`\boldsymbol{\epsilon}` (eq. ``gen-noised-mixture``): same weights, means
        :math:`a\boldsymbol{\mu}_c`, covariances :math:`a^2\boldsymbol{\Sigma}_c +
        \sigma^2\mathbf{I}`.

        Args:
            scale: :math:`a \ge 0`.
            sigma: :math:`\sigma \ge 0` (not both zero: the result must have a density).
        """
        scale = check_real("scale", scale, low=0.0)
        sigma = check_real("sigma", sigma, low=0.0)
        if scale == 0.0 and sigma == 0.0:
            raise ValueError(
                "scale and sigma must not both be 0 (the result would be a point mass)"
            )
        eye = torch.eye(self.D, dtype=torch.float64)
        return GaussianMixture(
            weights=self.weights,
            means=scale * self.means,
            covs=scale**2 * self.covs + sigma**2 * eye,
        )

    def __repr__(self) -> str:
        values = torch.cat([self.weights, self.means.flatten(), self.covs.flatten()])
        digest = hashlib.sha256(values.numpy().tobytes()).hexdigest()[:16]
        return f"GaussianMixture(C={self.C}, D={self.D}, digest={digest!r})"


def gaussian(mean: torch.Tensor, cov: torch.Tensor) -> GaussianMixture:
    r"""The Gaussian :math:`\mathcal{N}(\mathbf{m}, \mathbf{C})` as a one-component mixture, so
    that it has the same ``sample``, ``log_prob``, ``score`` and ``noised`` as a mixture.

    Args:
        mean: ``(D,)``.
        cov: ``(D, D)`` symmetric positive definite.
    """
    dims: dict[str, int] = {}
    check_tensor("mean", mean, ("D",), dims=dims)
    check_tensor("cov", cov, ("D", "D"), dims=dims)
    return GaussianMixture(
        weights=torch.ones(1, dtype=torch.float64), means=mean[None], covs=cov[None]
    )


def toy_mixture() -> GaussianMixture:
    r"""The book's standard two-dimensional mixture of three Gaussians.

    Unequal weights, one round, one tilted and one elongated component, placed so that the
    mixture has roughly unit variance per axis (like the standardised swiss roll) and modes far
    enough apart that the density has three separate peaks.

    Returns:
        A :class:`GaussianMixture` with ``C = 3``, ``D = 2``.
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


def empirical_characteristic_function(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""``(K,)`` complex: the sample average :math:`\frac1n\sum_j e^{i\mathbf{k}\cdot\mathbf{x}_j}`,
    the Monte Carlo estimate of :meth:`GaussianMixture.characteristic_function`.

    Args:
        x: ``(n, D)`` samples.
        k: ``(K, D)`` frequencies.
    """
    dims: dict[str, int] = {}
    check_tensor("x", x, ("n", "D"), dims=dims)
    check_tensor("k", k, ("K", "D"), dims=dims)
    return torch.exp(1j * (x.to(torch.float64) @ k.to(torch.float64).T)).mean(dim=0)


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
    eq. ``gen-swiss-roll``).

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
    curve that generated it (up to the grid spacing).

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
