r"""The conditional spread of the one-step residual, estimated from training pairs alone: the
:math:`\sigma_{\text{data}}` of the diffusion forecaster's preconditioning.

Karras et al.'s preconditioning (book eq. (edm-precond)) scales the denoiser's input and
output by :math:`\sigma_{\text{data}}`, the spread of what it must sample. The forecaster's
denoiser samples the normalised residual *given the current state*, so the right
:math:`\sigma_{\text{data}}` is the conditional spread
:math:`\sqrt{\mathbb{E}\,\mathrm{Var}(r_k \mid \mathbf{u})}`, not the spread of :math:`r` as a
whole. The benchmark must not read it off the truth's known :math:`\sigma_\xi`; it estimates
it from the training pairs.

**The estimator.** Regress the normalised residual at site :math:`k` by least squares on
local polynomial features of the normalised window :math:`w = (u_{k-4}, \dots, u_{k+2})`: a
constant, the window, and every product of two and of three of its values. The Lorenz-96
tendency :math:`f` is quadratic in :math:`(u_{k-2}, \dots, u_{k+1})`, so one model step's
drift :math:`\Delta f + \tfrac12\Delta^2 (Jf) + O(\Delta^3)` is a cubic polynomial of that
window up to :math:`O(\Delta^3)`. (Quadratic features alone leave the :math:`\Delta^2` term
in the residual and over-estimate the spread by about 20 %.) The RMS of the regression
residual is

.. math::
    \sqrt{\mathbb{E}\,\mathrm{Var}(r_k \mid \mathbf{u}) + \mathbb{E}\,(m(\mathbf{u}) -
    \hat m(\mathbf{u}))^2} \;\ge\; \sqrt{\mathbb{E}\,\mathrm{Var}(r_k \mid \mathbf{u})},

the conditional spread plus what the polynomial misses of the conditional mean :math:`m`: a
slight over-estimate, which errs on the safe side (a :math:`\sigma_{\text{data}}` somewhat too
large only moves where :math:`c_{\text{skip}}` hands over from the input to the network).

References:
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`),
eq. (sigma-data).
"""

from __future__ import annotations

import torch

from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.networks import ring_windows
from lecture_code.validation import check_int, check_tensor

__all__ = ["estimate_sigma_data", "window_features"]

#: Site-windows used by the regression (the first states' sites).
_ROWS = 320_000


def window_features(u: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Cubic features of every site's window: (N, K) -> (N * K, F): a constant, the window's
    ``W = left + 1 + right`` values, and every product of two and of three of them
    (``F = 1 + W + W(W+1)/2 + W(W+1)(W+2)/6``)."""
    w = ring_windows(u[..., None].to(torch.float64), left, right).reshape(-1, left + 1 + right)
    W = w.shape[1]
    pairs = [(i, j) for i in range(W) for j in range(i, W)]
    triples = [(i, j, k) for i in range(W) for j in range(i, W) for k in range(j, W)]
    columns = [torch.ones(w.shape[0], dtype=w.dtype), *w.T]
    columns += [w[:, i] * w[:, j] for i, j in pairs]
    columns += [w[:, i] * w[:, j] * w[:, k] for i, j, k in triples]
    return torch.stack(columns, dim=1)


def estimate_sigma_data(
    u: torch.Tensor,
    u_next: torch.Tensor,
    scaling: Scaling,
    *,
    left: int = 4,
    right: int = 2,
) -> float:
    """The conditional spread of the normalised one-step residual, from training pairs.

    Args:
        u, u_next: (N, K) training pairs (physical units), ``N * K`` larger than the number of
            features.
        scaling: the normalisation of the networks.
        left, right: the window of the regression (default ``k - 4 .. k + 2``, which also
            holds the :math:`O(\\Delta^2)` drift).

    Returns:
        The RMS residual of the quadratic regression, in normalised units.
    """
    dims: dict[str, int] = {}
    check_tensor("u", u, ("N", "K"), dims=dims)
    check_tensor("u_next", u_next, ("N", "K"), dims=dims)
    check_int("left", left, low=0)
    check_int("right", right, low=0)
    # a few hundred thousand site-windows pin 120 coefficients down; more only costs memory
    rows = max(1, _ROWS // u.shape[1])
    u, u_next = u[:rows], u_next[:rows]
    X = window_features(scaling.states(u), left, right)
    y = scaling.residuals(u, u_next).to(torch.float64).reshape(-1, 1)
    if X.shape[0] <= X.shape[1]:
        raise ValueError(
            f"u must hold more site-windows than features ({X.shape[1]}), got {X.shape[0]}"
        )
    # normal equations: F is a few dozen, the rows hundreds of thousands
    gram = X.T @ X
    coef = torch.linalg.solve(gram + 1e-10 * torch.eye(gram.shape[0], dtype=gram.dtype), X.T @ y)
    residual = y - X @ coef
    return float(residual.pow(2).mean().sqrt())
