r"""The noise, the clean data and the score: three ways to say the same thing about
:math:`\mathbf{x}_t`, and the conversions between them.

Every noising process of the book, discrete or continuous, writes the noised state as

.. math::

    \mathbf{x}_t = a\,\mathbf{x}_0 + \sigma\boldsymbol{\epsilon}, \qquad
    \boldsymbol{\epsilon} \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

with a scale :math:`a` and a noise standard deviation :math:`\sigma` fixed by the step or the
time (:math:`a_t = \sqrt{\bar\alpha_t}`, :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}` for DDPM,
eq. (fwd-reparam)). Given :math:`\mathbf{x}_t`, a network can be asked for any of three things,
and each determines the other two:

- the noise :math:`\hat{\boldsymbol{\epsilon}}` (the noise predictor
  :math:`\boldsymbol{\epsilon}_\theta` of Part I);
- the clean data :math:`\hat{\mathbf{x}}_0`, the output of a denoiser
  :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t)`, the common currency of the samplers of Part II;
- the score :math:`\mathbf{s} = \nabla\log q(\mathbf{x}_t)` of the noised data.

Solving the line above for :math:`\mathbf{x}_0` gives (eq. (elbo-x0-eps))

.. math::

    \hat{\mathbf{x}}_0 = \frac{\mathbf{x}_t - \sigma\hat{\boldsymbol{\epsilon}}}{a},

and for the exact predictions, :math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t] =
-\sigma\,\nabla\log q(\mathbf{x}_t)` (eq. (train-oracle)) and Tweedie's formula
:math:`\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t] = (\mathbf{x}_t + \sigma^2\nabla\log
q(\mathbf{x}_t))/a` (chapter 5, eq. (score-tweedie)). The three relations are linear, so a
network trained to predict one is used through the others without loss. This module is the one
place where they are written.

Every function takes the coefficients :math:`a` and :math:`\sigma` themselves, not a process:
the same conversion serves the discrete schedule (``schedule.scale[t]``,
``schedule.sigma[t]``) and the SDEs of Part II (``sde.scale(t)``, ``sde.sigma(t)``). They are
``()`` (one value for the whole batch) or ``(B,)`` (one per row), are combined in their own
precision and cast to the dtype of the state at the end, and multiply states of any shape
``(B, ...)`` (:func:`lecture_code.validation.per_sample`).

References: J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239; B. Efron, "Tweedie's formula and selection bias", J. Am. Stat. Assoc. 106
(2011).

Book: chapter 3, "The reverse process and the ELBO" (:doc:`/book/part1/03_reverse_process_elbo`),
section "Predicting the noise", eq. (elbo-x0-eps); chapter 4, "Training and sampling"
(:doc:`/book/part1/04_training_sampling`), eq. (train-oracle); chapter 5, "Score matching"
(:doc:`/book/part2/05_score_matching`), section "Tweedie's formula", eqs. (score-tweedie),
(score-conversions).
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_positive, check_same_shape, check_tensor, per_sample

__all__ = [
    "eps_from_score",
    "eps_from_x_0",
    "score_from_eps",
    "score_from_x_0",
    "x_0_from_eps",
    "x_0_from_score",
]


def _coefficient(name: str, value: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``value`` as a positive ``()`` or ``(B,)`` tensor (float64 when given as a number)."""
    if not isinstance(value, torch.Tensor):
        value = torch.tensor(float(value), dtype=torch.float64)
    check_tensor(name, value)
    check_positive(name, value)
    per_sample(value, x, name=name)  # validates the shape against the batch of x
    return value


def _pair(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    check_tensor(name_a, a)
    check_tensor(name_b, b)
    check_same_shape(name_a, a, name_b, b)
    if a.ndim < 1:
        raise ValueError(f"{name_a} must have a batch axis, shape (B, ...), got shape ()")


def x_0_from_eps(
    x_t: torch.Tensor, eps: torch.Tensor, scale: float | torch.Tensor, sigma: float | torch.Tensor
) -> torch.Tensor:
    r""":math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t - \sigma\hat{\boldsymbol{\epsilon}})/a`, the
    noised state solved for the clean data (eq. (elbo-x0-eps)).

    Args:
        x_t: ``(B, ...)`` noised states.
        eps: ``(B, ...)`` a noise, true or predicted.
        scale: :math:`a > 0`, ``()`` or ``(B,)``.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)``.

    Returns:
        ``(B, ...)``, in the dtype of ``x_t``.
    """
    _pair("x_t", x_t, "eps", eps)
    scale = _coefficient("scale", scale, x_t).to(x_t.dtype)
    sigma = _coefficient("sigma", sigma, x_t).to(x_t.dtype)
    return (x_t - per_sample(sigma, eps) * eps) / per_sample(scale, x_t)


def eps_from_x_0(
    x_t: torch.Tensor, x_0: torch.Tensor, scale: float | torch.Tensor, sigma: float | torch.Tensor
) -> torch.Tensor:
    r""":math:`\hat{\boldsymbol{\epsilon}} = (\mathbf{x}_t - a\hat{\mathbf{x}}_0)/\sigma`, the
    inverse of :func:`x_0_from_eps`.

    Args:
        x_t: ``(B, ...)`` noised states.
        x_0: ``(B, ...)`` clean data, true or predicted (a denoiser's output).
        scale: :math:`a > 0`, ``()`` or ``(B,)``.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)``.

    Returns:
        ``(B, ...)``, in the dtype of ``x_t``.
    """
    _pair("x_t", x_t, "x_0", x_0)
    scale = _coefficient("scale", scale, x_t).to(x_t.dtype)
    sigma = _coefficient("sigma", sigma, x_t).to(x_t.dtype)
    return (x_t - per_sample(scale, x_0) * x_0) / per_sample(sigma, x_t)


def eps_from_score(score: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    r""":math:`\hat{\boldsymbol{\epsilon}} = -\sigma\,\mathbf{s}`: the noise predicted by a score
    (eq. (train-oracle); with the exact score this is :math:`\mathbb{E}[\boldsymbol{\epsilon}
    \mid \mathbf{x}_t]`).

    Args:
        score: ``(B, ...)`` the score :math:`\nabla\log q(\mathbf{x}_t)`.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)``.

    Returns:
        ``(B, ...)``, in the dtype of ``score``.
    """
    check_tensor("score", score)
    sigma = _coefficient("sigma", sigma, score).to(score.dtype)
    return -per_sample(sigma, score) * score


def score_from_eps(eps: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    r""":math:`\mathbf{s} = -\hat{\boldsymbol{\epsilon}}/\sigma`, the inverse of
    :func:`eps_from_score`.

    Args:
        eps: ``(B, ...)`` a predicted noise.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)``.

    Returns:
        ``(B, ...)``, in the dtype of ``eps``.
    """
    check_tensor("eps", eps)
    sigma = _coefficient("sigma", sigma, eps).to(eps.dtype)
    return -eps / per_sample(sigma, eps)


def x_0_from_score(
    x_t: torch.Tensor,
    score: torch.Tensor,
    scale: float | torch.Tensor,
    sigma: float | torch.Tensor,
) -> torch.Tensor:
    r"""Tweedie's formula, :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t + \sigma^2\mathbf{s})/a`:
    the denoiser :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t)` from a score (exact:
    :math:`\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]` from :math:`\nabla\log q(\mathbf{x}_t)`).

    Args:
        x_t: ``(B, ...)`` noised states.
        score: ``(B, ...)`` the score at ``x_t``.
        scale: :math:`a > 0`, ``()`` or ``(B,)``.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)``.

    Returns:
        ``(B, ...)``, in the dtype of ``x_t``.
    """
    _pair("x_t", x_t, "score", score)
    scale = _coefficient("scale", scale, x_t)
    sigma = _coefficient("sigma", sigma, x_t)
    # sigma^2 in the coefficients' own precision, then cast (as every conversion here).
    variance = per_sample(sigma**2, x_t).to(x_t.dtype)
    return (x_t + variance * score) / per_sample(scale, x_t).to(x_t.dtype)


def score_from_x_0(
    x_t: torch.Tensor,
    x_0: torch.Tensor,
    scale: float | torch.Tensor,
    sigma: float | torch.Tensor,
) -> torch.Tensor:
    r"""The inverse of :func:`x_0_from_score`: :math:`\mathbf{s} = (a\hat{\mathbf{x}}_0 -
    \mathbf{x}_t)/\sigma^2`, the score of a denoiser's output.

    Args:
        x_t: ``(B, ...)`` noised states.
        x_0: ``(B, ...)`` the denoiser's output :math:`\hat{\mathbf{x}}_0` at ``x_t``.
        scale: :math:`a > 0`, ``()`` or ``(B,)``.
        sigma: :math:`\sigma > 0`, ``()`` or ``(B,)`` (at :math:`\sigma = 0` there is no score).

    Returns:
        ``(B, ...)``, in the dtype of ``x_t``.
    """
    _pair("x_t", x_t, "x_0", x_0)
    scale = _coefficient("scale", scale, x_t)
    sigma = _coefficient("sigma", sigma, x_t)
    variance = per_sample(sigma**2, x_t).to(x_t.dtype)
    return (per_sample(scale, x_t).to(x_t.dtype) * x_0 - x_t) / variance
