r"""Measuring a sampler's error: exactly for Gaussian data, against a fine reference for the
mixture, and its order of convergence in the number of network evaluations.

**Gaussian data: discretisation error alone, in closed form.** For :math:`\mathbf{x}_0 \sim
\mathcal{N}(\boldsymbol{\mu}, \operatorname{diag}\mathbf{v})` the exact denoiser
(:func:`lecture_code.score.denoisers.gaussian_denoiser`) is affine in :math:`\mathbf{x}_t`, and
every step of a deterministic sampler combines :math:`\mathbf{x}_t` and
:math:`\hat{\mathbf{x}}_0` linearly, so the whole sampler is an affine map :math:`\mathbf{x}_T
\mapsto \mathbf{A}\mathbf{x}_T + \mathbf{b}`, diagonal because the data's coordinates are
independent. Started from the exact law :math:`\mathcal{N}(\boldsymbol{\mu}_T, \operatorname{diag}
\mathbf{v}_T)` at the first level (:func:`gaussian_start`), its output is Gaussian with mean
:math:`\mathbf{A}\boldsymbol{\mu}_T + \mathbf{b}` and variances :math:`A_{jj}^2 v_{T,j}`
(:func:`affine_pushforward`, which reads :math:`\mathbf{A}` and :math:`\mathbf{b}` off
:math:`2D + 1` runs). The exact flow ends, after Tweedie's jump at :math:`t_{\min}`, at the law
of :math:`\hat{\mathbf{x}}_0(\mathbf{x}_{t_{\min}})` (:func:`gaussian_target`),

.. math::
    \mathcal{N}\Big(\boldsymbol{\mu}, \frac{a^2\mathbf{v}^2}{a^2\mathbf{v} + \sigma^2}\Big)
    \quad\text{at } t_{\min},

and the distance between two Gaussians with diagonal covariances is the closed-form
Wasserstein-2 distance (:func:`w2_diagonal`, eq. (samplers-w2)),
:math:`W_2^2 = \lVert\boldsymbol{\mu}_1 - \boldsymbol{\mu}_2\rVert^2 + \sum_j(\sqrt{v_{1,j}} -
\sqrt{v_{2,j}})^2`. No Monte Carlo enters: the error measured is the discretisation's, to
rounding.

**The mixture: strong error.** For data without a closed form, :func:`strong_error` is the
root-mean-square distance between a sampler's outputs and a fine reference solve from the same
starting points :math:`\mathbf{x}_T` (and, for stochastic samplers, the same noise).

**Orders.** :func:`convergence_order` fits :math:`\text{error} \approx C\,\mathrm{NFE}^{-p}` by
least squares in log-log and returns :math:`p`.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`), section "Discretisation error
alone", eq. (samplers-w2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lecture_code.score.denoisers import Denoiser
from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_tensor

__all__ = [
    "affine_pushforward",
    "convergence_order",
    "gaussian_start",
    "gaussian_target",
    "strong_error",
    "w2_diagonal",
]


def _mean_var(mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dims: dict[str, int] = {}
    mean = check_tensor("mean", mean, ("D",), dims=dims).to(torch.float64)
    var = check_tensor("var", var, ("D",), dims=dims).to(torch.float64)
    if not bool((var > 0).all()):
        raise ValueError(f"var must be positive, got {var.tolist()}")
    return mean, var


def gaussian_start(
    mean: torch.Tensor, var: torch.Tensor, sde: VPSDE, nu_0: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The law of :math:`\mathbf{x}_t` at the level :math:`\nu_0` for data
    :math:`\mathcal{N}(\boldsymbol{\mu}, \operatorname{diag}\mathbf{v})`: mean
    :math:`a\boldsymbol{\mu}`, variances :math:`a^2\mathbf{v} + \sigma^2` (eq. (vp-marginal)).
    ``mean``, ``var``: ``(D,)``."""
    mean, var = _mean_var(mean, var)
    t = float(sde.t_from_nu(nu_0))
    a, s = float(sde.scale(t)), float(sde.sigma(t))
    return a * mean, a**2 * var + s**2


def gaussian_target(
    mean: torch.Tensor, var: torch.Tensor, sde: VPSDE
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The law of :math:`\hat{\mathbf{x}}_0(\mathbf{x}_{t_{\min}})` for
    :math:`\mathbf{x}_{t_{\min}} \sim p_{t_{\min}}`: mean :math:`\boldsymbol{\mu}`, variances
    :math:`a^2\mathbf{v}^2/(a^2\mathbf{v} + \sigma^2)` at :math:`t_{\min}`; where every sampler
    converges as its steps shrink. ``mean``, ``var``: ``(D,)``."""
    mean, var = _mean_var(mean, var)
    a, s = float(sde.scale(sde.t_min)), float(sde.sigma(sde.t_min))
    return mean.clone(), a**2 * var**2 / (a**2 * var + s**2)


def affine_pushforward(
    sampler: Callable[..., tuple[torch.Tensor, int]],
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    mean_T: torch.Tensor,
    var_T: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    r"""The exact output law of a deterministic sampler whose map is affine and diagonal (an
    ODE sampler with :func:`lecture_code.score.denoisers.gaussian_denoiser`), started from
    :math:`\mathcal{N}(\boldsymbol{\mu}_T, \operatorname{diag}\mathbf{v}_T)`.

    The sampler is run on the points :math:`\boldsymbol{\mu}_T`,
    :math:`\boldsymbol{\mu}_T + \mathbf{e}_j` and :math:`\boldsymbol{\mu}_T + 2\mathbf{e}_j`: the
    first gives the output mean, the differences the diagonal of :math:`\mathbf{A}`; the third
    checks that the map is affine.

    Args:
        sampler: ``sampler(denoiser, sde, grid, x_T, generator)``, deterministic.
        denoiser: an affine, coordinate-wise denoiser.
        sde: the process.
        grid: the sampler's grid.
        mean_T: ``(D,)`` the mean at the first level.
        var_T: ``(D,)`` the variances there.

    Returns:
        ``(mean, var, nfe)``: ``(D,)`` the output mean and variances, and the sampler's NFE.

    Raises:
        ValueError: if the map is not affine and diagonal (a stochastic sampler, or a
            nonlinear denoiser), to a relative 1e-8.
    """
    mean_T, var_T = _mean_var(mean_T, var_T)
    d = mean_T.numel()
    eye = torch.eye(d, dtype=torch.float64)
    points = torch.cat([mean_T[None], mean_T + eye, mean_T + 2 * eye])
    # A generator, so that a stochastic sampler runs and is refused below as not affine.
    out, nfe = sampler(denoiser, sde, grid, points, torch.Generator().manual_seed(0))
    out = out.to(torch.float64)
    b, once, twice = out[0], out[1 : d + 1] - out[0], out[d + 1 :] - out[0]
    slope = torch.diagonal(once)
    scale = float(out.abs().max()) + 1.0
    if (
        float((twice - 2 * once).abs().max()) > 1e-8 * scale
        or float((once - torch.diag(slope)).abs().max()) > 1e-8 * scale
    ):
        raise ValueError(
            f"{getattr(sampler, '__name__', sampler)} is not an affine diagonal map with this "
            "denoiser (stochastic sampler or nonlinear denoiser); its law has no closed form here"
        )
    return b, slope**2 * var_T, nfe


def w2_diagonal(
    mean_1: torch.Tensor, var_1: torch.Tensor, mean_2: torch.Tensor, var_2: torch.Tensor
) -> float:
    r"""The Wasserstein-2 distance between :math:`\mathcal{N}(\boldsymbol{\mu}_1,
    \operatorname{diag}\mathbf{v}_1)` and :math:`\mathcal{N}(\boldsymbol{\mu}_2,
    \operatorname{diag}\mathbf{v}_2)`, eq. (samplers-w2): for commuting covariances the optimal
    coupling is coordinate-wise and monotone, so :math:`W_2^2 = \lVert\boldsymbol{\mu}_1 -
    \boldsymbol{\mu}_2\rVert^2 + \sum_j(\sqrt{v_{1,j}} - \sqrt{v_{2,j}})^2`. All ``(D,)``."""
    mean_1, var_1 = _mean_var(mean_1, var_1)
    mean_2, var_2 = _mean_var(mean_2, var_2)
    if mean_1.shape != mean_2.shape:
        raise ValueError(
            f"the two laws must have one dimension, got {mean_1.shape}, {mean_2.shape}"
        )
    squared = ((mean_1 - mean_2) ** 2).sum() + ((var_1.sqrt() - var_2.sqrt()) ** 2).sum()
    return math.sqrt(float(squared))


def strong_error(x: torch.Tensor, reference: torch.Tensor) -> float:
    r""":math:`\big(\frac1B\sum_b\lVert\mathbf{x}_b - \mathbf{x}^{\text{ref}}_b\rVert^2\big)^{1/2}`,
    the root-mean-square distance between paired samples. ``x``, ``reference``: ``(B, ...)``."""
    check_tensor("x", x)
    check_tensor("reference", reference, tuple(x.shape))
    diff = (x - reference).to(torch.float64).reshape(x.shape[0], -1)
    return math.sqrt(float((diff**2).sum(dim=1).mean()))


def convergence_order(nfe: torch.Tensor | list[int], error: torch.Tensor | list[float]) -> float:
    r"""The fitted order :math:`p` of :math:`\text{error} \approx C\,\mathrm{NFE}^{-p}`: minus the
    least-squares slope of :math:`\log\text{error}` on :math:`\log\mathrm{NFE}`.

    Args:
        nfe: ``(L,)`` numbers of evaluations, at least two distinct, all ``>= 1``.
        error: ``(L,)`` positive errors.
    """
    nfe = torch.as_tensor(nfe, dtype=torch.float64)
    error = torch.as_tensor(error, dtype=torch.float64)
    dims: dict[str, int] = {}
    check_tensor("nfe", nfe, ("L",), dims=dims)
    check_tensor("error", error, ("L",), dims=dims)
    if nfe.numel() < 2 or bool((nfe < 1).any()) or len(set(nfe.tolist())) < 2:
        raise ValueError(f"nfe must hold >= 2 distinct values >= 1, got {nfe.tolist()}")
    if bool((error <= 0).any()):
        raise ValueError(f"error must be positive to take its logarithm, got {error.tolist()}")
    x, y = torch.log(nfe), torch.log(error)
    x = x - x.mean()
    return float(-(x * (y - y.mean())).sum() / (x * x).sum())
