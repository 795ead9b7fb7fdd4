r"""The forward (noising) process of a denoising diffusion model.

One forward step scales the state down and adds Gaussian noise (book eq. ``fwd-step``),

.. math::

    \mathbf{x}_t = \sqrt{1 - \beta_t}\,\mathbf{x}_{t-1} + \sqrt{\beta_t}\,\boldsymbol{\epsilon}_t,
    \qquad \boldsymbol{\epsilon}_t \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

and :math:`t` steps compose into one Gaussian jump from the data (eqs. ``fwd-marginal`` and
``fwd-reparam``),

.. math::

    q(\mathbf{x}_t \mid \mathbf{x}_0)
    = \mathcal{N}\big(\sqrt{\bar\alpha_t}\,\mathbf{x}_0, (1 - \bar\alpha_t)\mathbf{I}\big),
    \qquad
    \mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0
    + \sqrt{1 - \bar\alpha_t}\,\boldsymbol{\epsilon}.

:func:`forward_chain` simulates the first, step by step; :func:`q_sample` draws from the second
in one step. That the two agree is the theorem of chapter 2, checked there and in the tests.
:func:`kl_to_standard_normal` measures how far :math:`q(\mathbf{x}_T \mid \mathbf{x}_0)` is from
the prior :math:`\mathcal{N}(\mathbf{0}, \mathbf{I})` (eq. ``fwd-kl-prior``), and
:func:`noised_mixture` gives the exact marginal :math:`q(\mathbf{x}_t)` when the data is a
Gaussian mixture (eq. ``fwd-mixture-marginal``).

Reference: J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239, eqs. (2) and (4).

Book: chapter 2 (:doc:`/book/part1/02_forward_process`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lecture_code.ddpm.schedules import NoiseSchedule, check_steps, per_sample
from lecture_code.ddpm.toy_data import GaussianMixture
from lecture_code.validation import check_int, check_real, check_same_shape, check_tensor


def forward_step(
    x_prev: torch.Tensor, t: int, schedule: NoiseSchedule, eps: torch.Tensor
) -> torch.Tensor:
    r"""One step of the chain, :math:`\mathbf{x}_t = \sqrt{1-\beta_t}\,\mathbf{x}_{t-1} +
    \sqrt{\beta_t}\,\boldsymbol{\epsilon}_t` (eq. ``fwd-step``).

    Args:
        x_prev: ``(B, D)``, the state :math:`\mathbf{x}_{t-1}`.
        t: the step, in ``1..T``.
        schedule: the noise schedule.
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
    x_0: torch.Tensor, schedule: NoiseSchedule, generator: torch.Generator
) -> torch.Tensor:
    r"""Simulate the Markov chain :math:`q(\mathbf{x}_t \mid \mathbf{x}_{t-1})` for
    :math:`t = 1..T`, step by step (eq. ``fwd-step``), with fresh noise at every step.

    This is the *definition* of the forward process, and it costs :math:`T` steps; chapter 2
    proves that each :math:`\mathbf{x}_t` it produces has the law of :func:`q_sample`.

    Args:
        x_0: ``(B, D)``, the data.
        schedule: the noise schedule, with ``T`` steps.
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
    x_0: torch.Tensor, steps: Sequence[int], schedule: NoiseSchedule, generator: torch.Generator
) -> torch.Tensor:
    r"""Simulate the same Markov chain as :func:`forward_chain`, keeping only the states at
    ``steps``: memory ``len(steps) * B * D`` instead of ``(T+1) * B * D``, so that the chain can
    be run for many samples. With the same generator, the kept states equal the corresponding
    entries of :func:`forward_chain`.

    Args:
        x_0: ``(B, D)``, the data.
        steps: distinct steps in ``0..T``, in any order.
        schedule: the noise schedule.
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
    x_0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, eps: torch.Tensor
) -> torch.Tensor:
    r""":math:`\mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0 + \sqrt{1 - \bar\alpha_t}\,
    \boldsymbol{\epsilon}` (eq. ``fwd-reparam``): a draw from :math:`q(\mathbf{x}_t \mid
    \mathbf{x}_0)` in one step, each row at its own step.

    The noise is an argument, not drawn inside, because training needs the very
    :math:`\boldsymbol{\epsilon}` that made :math:`\mathbf{x}_t` as its regression target
    (chapter 3).

    Args:
        x_0: ``(B, D)``, the data.
        t: ``(B,)`` integer steps in ``[0, T]``; ``t = 0`` returns ``x_0`` unchanged.
        schedule: the noise schedule.
        eps: ``(B, D)``, standard Gaussian noise.

    Returns:
        ``(B, D)``, the noised data :math:`\mathbf{x}_t`.
    """
    dims: dict[str, int] = {}
    check_tensor("x_0", x_0, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    check_steps(t, schedule.T, dims=dims)
    signal = per_sample(schedule.signal_scale[t].to(x_0.dtype), x_0)
    noise = per_sample(schedule.noise_std[t].to(x_0.dtype), x_0)
    return signal * x_0 + noise * eps


def q_mean_std(
    x_0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and standard deviation of :math:`q(\mathbf{x}_t \mid \mathbf{x}_0)`
    (eq. ``fwd-marginal``).

    Args:
        x_0: ``(B, D)``.
        t: ``(B,)`` integer steps in ``[0, T]``.
        schedule: the noise schedule.

    Returns:
        ``mean: (B, D)`` :math:`= \sqrt{\bar\alpha_t}\,\mathbf{x}_0` and ``std: (B,)``
        :math:`= \sqrt{1 - \bar\alpha_t}` (the same in every coordinate).
    """
    dims: dict[str, int] = {}
    check_tensor("x_0", x_0, ("B", "D"), dims=dims)
    check_steps(t, schedule.T, dims=dims)
    mean = per_sample(schedule.signal_scale[t].to(x_0.dtype), x_0) * x_0
    return mean, schedule.noise_std[t].to(x_0.dtype)


def kl_to_standard_normal(x_0: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r""":math:`D_{\mathrm{KL}}\big(q(\mathbf{x}_t \mid \mathbf{x}_0) \,\Vert\,
    \mathcal{N}(\mathbf{0}, \mathbf{I})\big)` for each row of ``x_0`` (eq. ``fwd-kl-prior``):

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


def gaussian_log_prob_isotropic(
    x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    r""":math:`\log\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}, s^2\mathbf{I})` row by row.

    Args:
        x: ``(B, D)``.
        mean: ``(B, D)``.
        std: ``(B,)`` positive standard deviations :math:`s`.

    Returns:
        ``(B,)``.
    """
    dims: dict[str, int] = {}
    check_tensor("x", x, ("B", "D"), dims=dims)
    check_tensor("mean", mean, ("B", "D"), dims=dims)
    check_tensor("std", std, ("B",), dims=dims)
    check_same_shape("x", x, "mean", mean)
    if bool((std <= 0).any()):
        raise ValueError(f"std must be positive, got smallest value {std.min().item()}")
    D = x.shape[1]
    squared = ((x - mean) ** 2).sum(dim=1)
    return -0.5 * squared / std**2 - D * torch.log(std) - 0.5 * D * math.log(2 * math.pi)


def noised_mixture(mixture: GaussianMixture, t: int, schedule: NoiseSchedule) -> GaussianMixture:
    r"""The exact marginal :math:`q(\mathbf{x}_t)` when :math:`q(\mathbf{x}_0)` is ``mixture``
    (eq. ``fwd-mixture-marginal``): the mixture noised with scale :math:`\sqrt{\bar\alpha_t}` and
    noise level :math:`\sqrt{1 - \bar\alpha_t}`.

    Args:
        mixture: the data distribution.
        t: the step, in ``0..T``.
        schedule: the noise schedule.
    """
    t = check_int("t", t, low=0, high=schedule.T)
    return mixture.noised(schedule.signal_scale[t].item(), schedule.noise_std[t].item())
