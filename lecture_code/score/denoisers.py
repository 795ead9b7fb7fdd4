r"""The denoiser as a sampler sees it: :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t) =
\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]`, counted, and the exact denoisers of the book's
reference data.

Every sampler of chapter 7 asks one question of the model: given :math:`\mathbf{x}_t` at time
:math:`t` of the VP-SDE, what is the clean point? A noise predictor or a score model answers it
through the conversions of :mod:`lecture_code.ddpm.conversions` (eq. (score-conversions)), and
the score the reverse SDE needs is :math:`\nabla\log p_t = (a\hat{\mathbf{x}}_0 -
\mathbf{x}_t)/\sigma^2` (eq. (tweedie-vp)).

- :data:`Denoiser`: the type, ``denoiser(x_t: (B, ...), t: (B,)) -> (B, ...)``;
- :class:`CountedDenoiser`: the denoiser called at one time for the whole batch, with its
  output's shape checked and its calls counted: the number of network function evaluations
  (NFE) is counted, never computed from a formula;
- :func:`denoiser_from_score`: a score model as a denoiser (Tweedie's formula);
- :func:`gaussian_denoiser`: the exact denoiser of Gaussian data
  :math:`\mathcal{N}(\boldsymbol{\mu}, \operatorname{diag}\mathbf{v})`, affine in
  :math:`\mathbf{x}_t`, so that every deterministic sampler is an affine map (chapter 7,
  section "Discretisation error alone");
- :func:`mixture_denoiser`: the exact denoiser of a Gaussian mixture (responsibility-weighted
  component posterior means).

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`), section "One signature"; the
conversions are those of chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`),
eqs. (score-tweedie), (score-conversions).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_code.ddpm.conversions import score_from_x_0, x_0_from_score
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.score.grids import check_grid, grid_times
from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_tensor, per_sample

__all__ = [
    "CountedDenoiser",
    "Denoiser",
    "denoiser_from_score",
    "gaussian_denoiser",
    "mixture_denoiser",
    "sampler_inputs",
]

#: ``denoiser(x_t: (B, ...), t: (B,)) -> (B, ...)``: the estimate of :math:`\mathbf{x}_0`.
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class CountedDenoiser:
    r"""A :data:`Denoiser` called at one time per batch, its calls counted.

    Args:
        denoiser: the model.
        sde: the VP-SDE whose :math:`a(t)`, :math:`\sigma(t)` give the score.
    """

    def __init__(self, denoiser: Denoiser, sde: VPSDE) -> None:
        if not callable(denoiser):
            raise TypeError(f"denoiser must be callable, got {type(denoiser).__name__}")
        if not isinstance(sde, VPSDE):
            raise TypeError(f"sde must be a VPSDE, got {type(sde).__name__}")
        self.denoiser = denoiser
        self.sde = sde
        #: the number of calls so far (the NFE)
        self.nfe = 0

    def __call__(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """:math:`\\hat{\\mathbf{x}}_0(\\mathbf{x}, t)` for ``x: (B, ...)`` at one time ``t``."""
        self.nfe += 1
        x_0 = self.denoiser(x, torch.full((x.shape[0],), t, dtype=torch.float64))
        if not isinstance(x_0, torch.Tensor) or x_0.shape != x.shape:
            got = tuple(x_0.shape) if isinstance(x_0, torch.Tensor) else type(x_0).__name__
            raise ValueError(
                f"the denoiser must return the shape of x_t, {tuple(x.shape)}, got {got}"
            )
        return x_0.to(x.dtype)

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        r"""The score :math:`(a\hat{\mathbf{x}}_0 - \mathbf{x})/\sigma^2` at ``x`` (one call)."""
        return score_from_x_0(x, self(x, t), self.sde.scale(t), self.sde.sigma(t))

    def in_nu(self, x_hat: torch.Tensor, nu: float, t: float | None = None) -> torch.Tensor:
        r"""The denoiser in Karras et al.'s coordinates: :math:`\hat{\mathbf{x}}_0` at the state
        :math:`\mathbf{x}_t = a(t)\hat{\mathbf{x}}` of the time with noise-to-signal ratio
        ``nu`` (one call); ``t``, when given, is that time (a grid's exact time, which the
        inverse :meth:`~lecture_code.score.sde.VPSDE.t_from_nu` would round)."""
        t = float(self.sde.t_from_nu(nu)) if t is None else t
        return self(float(self.sde.scale(t)) * x_hat, t)


def denoiser_from_score(
    score_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], sde: VPSDE
) -> Denoiser:
    r"""The denoiser :math:`(\mathbf{x}_t + \sigma^2\mathbf{s})/a` of a score model
    ``score_fn(x_t: (B, ...), t: (B,)) -> (B, ...)``, eq. (score-tweedie)."""

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x_0_from_score(x_t, score_fn(x_t, t), sde.scale(t), sde.sigma(t))

    return denoiser


def gaussian_denoiser(mean: torch.Tensor, var: torch.Tensor, sde: VPSDE) -> Denoiser:
    r"""The exact denoiser of :math:`\mathbf{x}_0 \sim \mathcal{N}(\boldsymbol{\mu},
    \operatorname{diag}\mathbf{v})`:

    .. math::
        \hat{\mathbf{x}}_0(\mathbf{x}_t, t) = \boldsymbol{\mu} + \frac{a\,\mathbf{v}}
        {a^2\mathbf{v} + \sigma^2}\,(\mathbf{x}_t - a\boldsymbol{\mu}),

    the posterior mean of a Gaussian prior under the Gaussian likelihood
    :math:`\mathbf{x}_t \mid \mathbf{x}_0 \sim \mathcal{N}(a\mathbf{x}_0, \sigma^2\mathbf{I})`,
    coordinate by coordinate.

    Args:
        mean: ``(D,)`` the data mean :math:`\boldsymbol{\mu}`.
        var: ``(D,)`` the data variances :math:`\mathbf{v} > 0`.
        sde: the process.
    """
    dims: dict[str, int] = {}
    mean = check_tensor("mean", mean, ("D",), dims=dims).to(torch.float64)
    var = check_tensor("var", var, ("D",), dims=dims).to(torch.float64)
    if not bool((var > 0).all()):
        raise ValueError(f"var must be positive, got {var.tolist()}")

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor("x_t", x_t, (None, mean.numel()))
        a = per_sample(sde.scale(t), x_t, name="t")
        s = per_sample(sde.sigma(t), x_t, name="t")
        return (mean + a * var / (a**2 * var + s**2) * (x_t - a * mean)).to(x_t.dtype)

    return denoiser


def mixture_denoiser(mixture: GaussianMixture, sde: VPSDE) -> Denoiser:
    r"""The exact denoiser of Gaussian-mixture data: by Tweedie's formula with the exact score
    of the noised mixture :math:`q_t` (eq. (gen-noised-mixture)),
    :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t + \sigma^2\nabla\log q_t)/a`. Rows may have their
    own times; rows that share one are evaluated together.

    Args:
        mixture: the data law, ``D`` dimensions.
        sde: the process.
    """

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", mixture.D), dims=dims)
        check_tensor("t", t, ("B",), dims=dims)
        x = x_t.to(torch.float64)
        out = torch.empty_like(x)
        times, inverse = torch.unique(t.to(torch.float64), return_inverse=True)
        for j, time in enumerate(times.tolist()):
            rows = inverse == j
            a, s = float(sde.scale(time)), float(sde.sigma(time))
            out[rows] = x_0_from_score(x[rows], mixture.noised(a, s).score(x[rows]), a, s)
        return out.to(x_t.dtype)

    return denoiser


def sampler_inputs(
    denoiser: Denoiser, sde: VPSDE, grid: object, x_T: object
) -> tuple[CountedDenoiser, torch.Tensor, list[float], torch.Tensor]:
    """What every sampler checks first: ``(counted denoiser, grid, times of its positive
    levels, x_T)``; a bad process, grid or state is refused with its value named."""
    model = CountedDenoiser(denoiser, sde)
    grid = check_grid(sde, grid)
    x_T = check_tensor("x_T", x_T)
    if x_T.ndim < 1 or x_T.shape[0] < 1:
        raise ValueError(f"x_T must have a batch axis of size >= 1, got {tuple(x_T.shape)}")
    return model, grid, grid_times(sde, grid), x_T
