r"""The Gaussian mixture: the exact reference of Parts I and II.

A mixture of :math:`C` Gaussians in :math:`D` dimensions (eq. (gen-mixture)),

.. math::

    p(\mathbf{x}) = \sum_{c=1}^C w_c\,\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}_c,
    \boldsymbol{\Sigma}_c),

has everything in closed form (:class:`GaussianMixture`):

- its mean and covariance (eq. (gen-mixture-moments)) and its characteristic function
  :math:`\psi(\mathbf{k}) = \sum_c w_c e^{i\mathbf{k}^\top\boldsymbol{\mu}_c -
  \frac12\mathbf{k}^\top\boldsymbol{\Sigma}_c\mathbf{k}}` (eq. (gen-mixture-cf)), which a sample
  estimates without histograms (:func:`empirical_characteristic_function`);
- its score (eq. (gen-mixture-score)), the responsibility-weighted average of the component
  scores,

  .. math::

      \nabla_{\mathbf{x}} \log p(\mathbf{x}) = -\sum_c r_c(\mathbf{x})\,
      \boldsymbol{\Sigma}_c^{-1}(\mathbf{x} - \boldsymbol{\mu}_c), \qquad
      r_c(\mathbf{x}) = \frac{w_c \mathcal{N}(\mathbf{x};
      \boldsymbol{\mu}_c, \boldsymbol{\Sigma}_c)}{p(\mathbf{x})};

- the law of :math:`a\,\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}` with
  :math:`\mathbf{x}_0 \sim p` and independent :math:`\boldsymbol{\epsilon} \sim
  \mathcal{N}(\mathbf{0}, \mathbf{I})`, again a mixture with the same weights, means
  :math:`a\boldsymbol{\mu}_c` and covariances :math:`a^2\boldsymbol{\Sigma}_c + \sigma^2\mathbf{I}`
  (eq. (gen-noised-mixture), :meth:`GaussianMixture.noised`). With the scale :math:`a =
  \sqrt{\bar\alpha_t}` and the noise standard deviation :math:`\sigma = \sqrt{1 - \bar\alpha_t}`
  this is the marginal :math:`q(\mathbf{x}_t)` of the forward process of chapter 2, and its
  score, ``mixture.noised(a, sigma).score(x)``, is the exact score of the noised data (the exact
  noise predictor :class:`lecture_code.ddpm.denoiser.MixtureOracle` is built on it).

A single Gaussian is a mixture of one component (:func:`gaussian`). The book's standard
mixture is :func:`lecture_code.ddpm.toy_data.toy_mixture`.

Book: chapter 1, "Generative models and latent spaces"
(:doc:`/book/part1/01_generative_models`), section "The toy data of this book", eqs.
(gen-mixture), (gen-mixture-moments), (gen-mixture-score), (gen-noised-mixture), (gen-mixture-cf).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "SYMMETRY_RTOL",
    "WEIGHT_SUM_RTOL",
    "GaussianMixture",
    "empirical_characteristic_function",
    "gaussian",
]

#: Relative tolerance on the sum of the mixture weights.
WEIGHT_SUM_RTOL = 1e-6
#: Relative tolerance on the symmetry of a covariance matrix.
SYMMETRY_RTOL = 1e-8


@dataclass(frozen=True, eq=False, repr=False)
class GaussianMixture:
    r"""A mixture of :math:`C` Gaussians in :math:`D` dimensions (eq. (gen-mixture)).

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
        r"""``(D,)``: :math:`\mathbf{m} = \sum_c w_c\boldsymbol{\mu}_c`
        (eq. (gen-mixture-moments))."""
        return self.weights @ self.means

    @property
    def covariance(self) -> torch.Tensor:
        r"""``(D, D)``: :math:`\sum_c w_c(\boldsymbol{\Sigma}_c + \boldsymbol{\mu}_c
        \boldsymbol{\mu}_c^\top) - \mathbf{m}\mathbf{m}^\top` (eq. (gen-mixture-moments)),
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
        \boldsymbol{\mu}_c, \boldsymbol{\Sigma}_c)`, by log-sum-exp (eq. (gen-mixture)).

        Args:
            x: ``(B, D)``.
        """
        return torch.logsumexp(torch.log(self.weights) + self.component_log_prob(x), dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B, D)``: :math:`\nabla_{\mathbf{x}}\log p(\mathbf{x}) = -\sum_c r_c(\mathbf{x})
        \boldsymbol{\Sigma}_c^{-1}(\mathbf{x} - \boldsymbol{\mu}_c)` (eq. (gen-mixture-score)).

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
        r"""``(n_k,)`` complex, the characteristic function
        :math:`\psi(\mathbf{k}) = \mathbb{E}[e^{i\mathbf{k}\cdot\mathbf{x}}]
        = \sum_c w_c \exp\big(i\mathbf{k}\cdot\boldsymbol{\mu}_c
        - \tfrac12\mathbf{k}^\top\boldsymbol{\Sigma}_c\mathbf{k}\big)`
        (eq. (gen-mixture-cf)).

        The characteristic function determines a distribution, and a Monte Carlo average of
        :math:`\cos` and :math:`\sin` of :math:`\mathbf{k}\cdot\mathbf{x}` (values in
        :math:`[-1, 1]`) has a standard error of at most :math:`1/\sqrt{n}`: a clean test that
        samples follow this law, without histograms or kernel density estimates.

        Args:
            k: ``(n_k, D)`` frequencies.
        """
        k = check_tensor("k", k, ("n_k", self.D)).to(torch.float64)
        phase = k @ self.means.T  # (n_k, C)
        damping = torch.exp(-0.5 * torch.einsum("ki,cij,kj->kc", k, self.covs, k))  # (n_k, C)
        return (self.weights * damping * torch.exp(1j * phase)).sum(dim=1)

    def noised(self, scale: float, sigma: float) -> GaussianMixture:
        r"""The law of :math:`a\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}` with
        :math:`\mathbf{x}_0` from this mixture and independent standard Gaussian
        :math:`\boldsymbol{\epsilon}` (eq. (gen-noised-mixture)): same weights, means
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
    r"""The Gaussian :math:`\mathcal{N}(\mathbf{m}, \boldsymbol{\Sigma})` as a one-component
    mixture, so that it has the same ``sample``, ``log_prob``, ``score`` and ``noised`` as a
    mixture.

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


def empirical_characteristic_function(
    x: torch.Tensor, k: torch.Tensor, chunk: int = 65_536
) -> torch.Tensor:
    r"""``(n_k,)`` complex: the sample average
    :math:`\frac1n\sum_j e^{i\mathbf{k}\cdot\mathbf{x}_j}`, the Monte Carlo estimate of
    :meth:`GaussianMixture.characteristic_function`.

    The sum runs over blocks of ``chunk`` samples, so that the memory it needs is
    ``chunk * n_k`` complex numbers however large the sample is.

    Args:
        x: ``(n, D)`` samples.
        k: ``(n_k, D)`` frequencies.
        chunk: samples per block, ``>= 1``.
    """
    dims: dict[str, int] = {}
    check_tensor("x", x, ("n", "D"), dims=dims)
    check_tensor("k", k, ("n_k", "D"), dims=dims)
    chunk = check_int("chunk", chunk, low=1)
    x, k = x.to(torch.float64), k.to(torch.float64)
    total = torch.zeros(k.shape[0], dtype=torch.complex128)
    for start in range(0, x.shape[0], chunk):
        total += torch.exp(1j * (x[start : start + chunk] @ k.T)).sum(dim=0)
    return total / x.shape[0]
