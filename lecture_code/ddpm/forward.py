r"""The forward (noising) process of a denoising diffusion model.

One forward step scales the state down and adds Gaussian noise (eq. (fwd-step)),

.. math::

    \mathbf{x}_t = \sqrt{1 - \beta_t}\,\mathbf{x}_{t-1} + \sqrt{\beta_t}\,\boldsymbol{\epsilon}_t,
    \qquad \boldsymbol{\epsilon}_t \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

and :math:`t` steps compose into one Gaussian jump from the data (eqs. (fwd-marginal) and
(fwd-reparam)), with the scale :math:`a_t = \sqrt{\bar\alpha_t}` and the noise standard deviation
:math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`,

.. math::

    q(\mathbf{x}_t \mid \mathbf{x}_0)
    = \mathcal{N}\big(a_t\mathbf{x}_0, \sigma_t^2\mathbf{I}\big),
    \qquad
    \mathbf{x}_t = a_t\mathbf{x}_0 + \sigma_t\boldsymbol{\epsilon}.

:func:`forward_chain` simulates the first, step by step; :func:`q_sample` draws from the second
in one step. That the two agree is the theorem of chapter 2, checked there and in the tests.
:func:`log_normal` is the density of an isotropic Gaussian that both chapters 2 and 3 evaluate,
:func:`kl_to_standard_normal` measures how far :math:`q(\mathbf{x}_T \mid \mathbf{x}_0)` is from
the prior :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})` (eq. (fwd-kl-prior)), and
:func:`noised_mixture` gives the exact marginal :math:`q(\mathbf{x}_t)` when the data is a
Gaussian mixture (eq. (fwd-mixture-marginal)).

Reference: J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239, eqs. (2) and (4).

Book: chapter 2, "The forward process" (:doc:`/book/part1/02_forward_process`), sections "The
forward Markov chain", "Jumping to any step in one go", "How close is the end to N(0, I)?" and
"The marginal of the Gaussian mixture", eqs. (fwd-step), (fwd-marginal), (fwd-reparam),
(fwd-kl-prior), (fwd-mixture-marginal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.schedules import NoiseSchedule, check_steps
from lecture_code.validation import (
    check_int,
    check_positive,
    check_real,
    check_tensor,
    per_sample,
)

__all__ = [
    "forward_chain",
    "forward_chain_at",
    "forward_step",
    "kl_to_standard_normal",
    "log_normal",
    "noised_mixture",
    "q_mean_std",
    "q_sample",
]


def forward_step(
    schedule: NoiseSchedule, x_prev: torch.Tensor, t: int, eps: torch.Tensor
) -> torch.Tensor:
    r"""One step of the chain, :math:`\mathbf{x}_t = \sqrt{1-\beta_t}\,\mathbf{x}_{t-1} +
    \sqrt{\beta_t}\,\boldsymbol{\epsilon}_t` (eq. (fwd-step)).

    Args:
        schedule: the noise schedule.
        x_prev: ``(B, D)``, the state :math:`\mathbf{x}_{t-1}`.
        t: the step, in ``1..T``.
        eps: ``(B, D)``, standard Gaussian noise :math:`\boldsymbol{\epsilon}_t`.

    Returns:
        ``(B, D)``, the state :math:`\mathbf{x}_t`.
    """
    t = check_int("t", t, low=1, high=schedule.T)
    dims: dict[str, int] = {}
    check_tensor("x_prev", x_prev, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    return _step(x_prev, schedule.beta[t].item(), eps)


def _step(x_prev: torch.Tensor, beta_t: float, eps: torch.Tensor) -> torch.Tensor:
    # eq. (fwd-step) without the checks, for the loops below, which validate their inputs once.
    return math.sqrt(1.0 - beta_t) * x_prev + math.sqrt(beta_t) * eps


def forward_chain(
    schedule: NoiseSchedule, x_0: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    r"""Simulate the Markov chain :math:`q(\mathbf{x}_t \mid \mathbf{x}_{t-1})` for
    :math:`t = 1..T`, step by step (eq. (fwd-step)), with fresh noise at every step.

    This is the *definition* of the forward process, and it costs :math:`T` steps; chapter 2
    proves that each :math:`\mathbf{x}_t` it produces has the law of :func:`q_sample`.

    Args:
        schedule: the noise schedule, with ``T`` steps.
        x_0: ``(B, D)``, the data.
        generator: the source of the noise.

    Returns:
        ``(T+1, B, D)``: the whole trajectory, entry ``t`` is :math:`\mathbf{x}_t` and entry 0
        is ``x_0`` itself. Memory grows as ``(T+1) * B * D``.
    """
    check_tensor("x_0", x_0, ("B", "D"))
    path = torch.empty((schedule.T + 1, *x_0.shape), dtype=x_0.dtype)
    path[0] = x_0
    beta = schedule.beta.tolist()
    for t in range(1, schedule.T + 1):
        eps = torch.randn(x_0.shape, generator=generator, dtype=x_0.dtype)
        path[t] = _step(path[t - 1], beta[t], eps)
    return path


def forward_chain_at(
    schedule: NoiseSchedule, x_0: torch.Tensor, steps: Sequence[int], generator: torch.Generator
) -> torch.Tensor:
    r"""Simulate the same Markov chain as :func:`forward_chain`, keeping only the states at
    ``steps``: memory ``len(steps) * B * D`` instead of ``(T+1) * B * D``, so that the chain can
    be run for many samples. With the same generator, the kept states equal the corresponding
    entries of :func:`forward_chain`.

    Args:
        schedule: the noise schedule.
        x_0: ``(B, D)``, the data.
        steps: distinct steps in ``0..T``, in any order.
        generator: the source of the noise.

    Returns:
        ``(len(steps), B, D)``; entry ``i`` is :math:`\mathbf{x}_t` for ``t = steps[i]``.
    """
    check_tensor("x_0", x_0, ("B", "D"))
    steps = [check_int("steps[i]", t, low=0, high=schedule.T) for t in steps]
    if len(set(steps)) != len(steps) or not steps:
        raise ValueError(f"steps must be a non-empty list of distinct steps, got {steps}")
    kept = torch.empty((len(steps), *x_0.shape), dtype=x_0.dtype)
    where = {t: i for i, t in enumerate(steps)}
    x = x_0
    if 0 in where:
        kept[where[0]] = x_0
    beta = schedule.beta.tolist()
    for t in range(1, max(steps) + 1):
        eps = torch.randn(x_0.shape, generator=generator, dtype=x_0.dtype)
        x = _step(x, beta[t], eps)
        if t in where:
            kept[where[t]] = x
    return kept


def q_sample(
    schedule: NoiseSchedule, x_0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    r""":math:`\mathbf{x}_t = a_t\mathbf{x}_0 + \sigma_t\boldsymbol{\epsilon}` with
    :math:`a_t = \sqrt{\bar\alpha_t}`, :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`
    (eq. (fwd-reparam)): a draw from :math:`q(\mathbf{x}_t \mid \mathbf{x}_0)` in one step, each
    row at its own step.

    The noise is an argument, not drawn inside, because training needs the very
    :math:`\boldsymbol{\epsilon}` that made :math:`\mathbf{x}_t` as its regression target
    (chapter 3).

    Args:
        schedule: the noise schedule.
        x_0: ``(B, D)``, the data.
        t: ``(B,)`` integer steps in ``[0, T]``; ``t = 0`` returns ``x_0`` unchanged.
        eps: ``(B, D)``, standard Gaussian noise.

    Returns:
        ``(B, D)``, the noised data :math:`\mathbf{x}_t`.
    """
    dims: dict[str, int] = {}
    check_tensor("x_0", x_0, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    check_steps(t, schedule.T, dims=dims)
    scale = per_sample(schedule.scale[t].to(x_0.dtype), x_0)
    sigma = per_sample(schedule.sigma[t].to(x_0.dtype), x_0)
    return scale * x_0 + sigma * eps


def q_mean_std(
    schedule: NoiseSchedule, x_0: torch.Tensor, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and standard deviation of :math:`q(\mathbf{x}_t \mid \mathbf{x}_0)`
    (eq. (fwd-marginal)).

    Args:
        schedule: the noise schedule.
        x_0: ``(B, D)``.
        t: ``(B,)`` integer steps in ``[0, T]``.

    Returns:
        ``mean: (B, D)`` :math:`= a_t\mathbf{x}_0` and ``std: (B,)`` :math:`= \sigma_t` (the
        same in every coordinate).
    """
    dims: dict[str, int] = {}
    check_tensor("x_0", x_0, ("B", "D"), dims=dims)
    check_steps(t, schedule.T, dims=dims)
    mean = per_sample(schedule.scale[t].to(x_0.dtype), x_0) * x_0
    return mean, schedule.sigma[t].to(x_0.dtype)


def kl_to_standard_normal(x_0: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r""":math:`D_{\mathrm{KL}}\big(q(\mathbf{x}_t \mid \mathbf{x}_0) \,\Vert\,
    \mathcal{N}(\mathbf{0}, \mathbf{I})\big)` for each row of ``x_0`` (eq. (fwd-kl-prior)):

    .. math::

        \tfrac12\Big[\bar\alpha_t\big(\lVert\mathbf{x}_0\rVert^2 - D\big)
        - D\log(1 - \bar\alpha_t)\Big].

    Args:
        x_0: ``(B, D)``.
        alpha_bar: :math:`\bar\alpha_t`, in ``[0, 1)``.

    Returns:
        ``(B,)``, non-negative.
    """
    check_tensor("x_0", x_0, ("B", "D"))
    alpha_bar = check_real("alpha_bar", alpha_bar, low=0.0, high=1.0, high_open=True)
    D = x_0.shape[1]
    squared_norm = (x_0**2).sum(dim=1)
    return 0.5 * (alpha_bar * (squared_norm - D) - D * math.log1p(-alpha_bar))


def log_normal(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}, v\mathbf{I})
    = -\tfrac{D}{2}\log(2\pi v) - \lVert\mathbf{x} - \boldsymbol{\mu}\rVert^2 / (2v)`, row by
    row.

    Args:
        x: ``(B, D)``.
        mean: ``(B, D)``.
        var: ``(B,)`` positive variances :math:`v`, one per row.

    Returns:
        ``(B,)``.
    """
    dims: dict[str, int] = {}
    check_tensor("x", x, ("B", "D"), dims=dims)
    check_tensor("mean", mean, ("B", "D"), dims=dims)
    check_tensor("var", var, ("B",), dims=dims)
    check_positive("var", var)
    D = x.shape[1]
    return -0.5 * D * torch.log(2 * math.pi * var) - ((x - mean) ** 2).sum(dim=1) / (2 * var)


def noised_mixture(schedule: NoiseSchedule, mixture: GaussianMixture, t: int) -> GaussianMixture:
    r"""The exact marginal :math:`q(\mathbf{x}_t)` when :math:`q(\mathbf{x}_0)` is ``mixture``
    (eq. (fwd-mixture-marginal)): the mixture noised with the scale :math:`a_t =
    \sqrt{\bar\alpha_t}` and the noise standard deviation :math:`\sigma_t = \sqrt{1 -
    \bar\alpha_t}` (:meth:`lecture_code.ddpm.mixture.GaussianMixture.noised`).

    Args:
        schedule: the noise schedule.
        mixture: the data distribution.
        t: the step, in ``0..T``.
    """
    t = check_int("t", t, low=0, high=schedule.T)
    return mixture.noised(schedule.scale[t].item(), schedule.sigma[t].item())
