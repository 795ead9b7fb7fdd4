r"""Training and sampling a denoising diffusion probabilistic model.

**Training** (Algorithm 20.1 of Bishop and Bishop 2024; Algorithm 1 of Ho et al. 2020) is
stochastic gradient descent on :math:`\mathcal{L}_{\text{simple}}` (book eq. ``elbo-simple``):
draw a data point :math:`\mathbf{x}_0`, a step :math:`t` uniform on :math:`\{1, \dots, T\}` and a
noise :math:`\boldsymbol{\epsilon}`, form :math:`\mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0
+ \sqrt{1-\bar\alpha_t}\,\boldsymbol{\epsilon}` and regress :math:`\boldsymbol{\epsilon}_\theta(
\mathbf{x}_t, t)` on :math:`\boldsymbol{\epsilon}` (:func:`train`).

**Sampling** (Algorithm 20.2 of Bishop and Bishop; Algorithm 2 of Ho et al.) runs the learned
reverse chain from :math:`\mathbf{x}_T \sim \mathcal{N}(\mathbf{0}, \mathbf{I})`:
:math:`\mathbf{x}_{t-1} = \boldsymbol{\mu}_\theta(\mathbf{x}_t, t) + \sigma_t\mathbf{z}` with
:math:`\boldsymbol{\mu}_\theta` from the predicted noise (eq. ``elbo-mu-eps``) and no noise in the
last step (:func:`ancestral_sample`).

The noise predictor is any :data:`lecture_code.ddpm.denoiser.EpsModel`: the network
:class:`lecture_code.ddpm.denoiser.Denoiser` or the exact
:class:`lecture_code.ddpm.denoiser.MixtureOracle`.
It is called with the noise level :math:`\lambda_t = \log\mathrm{SNR}(t)` of the schedule being
sampled, so a network trained with one :math:`T` can be sampled with another.

The experiments of chapter 4 (which data, which settings, caching) are in
:mod:`lecture_code.ddpm.experiments`.

References: C. M. Bishop, H. Bishop, "Deep Learning: Foundations and Concepts", Springer 2024,
chapter 20; J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239.

Book: chapter 4 (:doc:`/book/part1/04_training_sampling`), algorithms ``alg-ddpm-train`` and
``alg-ddpm-sample``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch

from lecture_code.ddpm.denoiser import Denoiser, EpsModel
from lecture_code.ddpm.elbo import loss_simple, mu_from_eps, reverse_variance
from lecture_code.ddpm.forward import q_sample
from lecture_code.ddpm.posterior import check_posterior_steps
from lecture_code.ddpm.schedules import NoiseSchedule
from lecture_code.validation import check_int, check_real, check_tensor


def train(
    model: Denoiser,
    x_data: torch.Tensor,
    schedule: NoiseSchedule,
    generator: torch.Generator,
    steps: int,
    batch_size: int = 512,
    lr: float = 2e-3,
) -> torch.Tensor:
    r"""Fit :math:`\boldsymbol{\epsilon}_\theta` to :math:`\mathcal{L}_{\text{simple}}`
    (Algorithm ``alg-ddpm-train``), in place.

    Each step draws ``batch_size`` rows of ``x_data`` with replacement, steps
    :math:`t \sim U\{1, \dots, T\}` and noise :math:`\boldsymbol{\epsilon} \sim
    \mathcal{N}(\mathbf{0}, \mathbf{I})`, and takes one Adam step on the batch mean of
    :math:`\lVert\boldsymbol{\epsilon} - \boldsymbol{\epsilon}_\theta(\mathbf{x}_t,
    \lambda_t)\rVert^2`.

    Args:
        model: the network; its ``log_snr_range`` is set to the schedule's range.
        x_data: ``(N, D)`` the training set :math:`\mathcal{D}`.
        schedule: the training schedule.
        generator: the source of the batches, steps and noise.
        steps: number of optimiser steps.
        batch_size: data points per step.
        lr: peak learning rate of Adam, decayed to zero along a cosine over the steps.

    Returns:
        ``(steps,)`` float32, the loss of every step.
    """
    x_data = check_tensor("x_data", x_data, ("N", model.D)).float()
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    log_snr = schedule.log_snr
    model.log_snr_range.copy_(torch.tensor([log_snr[schedule.T], log_snr[1]]))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    losses = torch.empty(steps)
    model.train()
    with single_thread():
        for step in range(steps):
            # Algorithm alg-ddpm-train: data points, steps, noise, x_t, loss, Adam step.
            rows = torch.randint(x_data.shape[0], (batch_size,), generator=generator)
            x_0 = x_data[rows]
            t = torch.randint(1, schedule.T + 1, (batch_size,), generator=generator)
            eps = torch.randn(x_0.shape, generator=generator)
            x_t = q_sample(x_0, t, schedule, eps)
            loss = loss_simple(model(x_t, log_snr[t].float()), eps)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            decay.step()
            losses[step] = loss.detach()
    model.eval()
    return losses


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one intra-op thread, then restore the previous setting.

    The toy network's matrices are small (a few thousand rows, 128 columns): splitting them
    across threads costs more in synchronisation than it saves, and on a shared machine a busy
    second core can stall every operation. Only the block is affected.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def reverse_mean(
    eps_model: EpsModel, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule
) -> torch.Tensor:
    r""":math:`\boldsymbol{\mu}_\theta(\mathbf{x}_t, t)` from the predicted noise
    (eq. ``elbo-mu-eps``).

    Args:
        eps_model: the noise predictor, called with :math:`\lambda_t` of ``schedule``.
        x_t: ``(B, D)``.
        t: ``(B,)`` integer steps in :math:`[1, T]`.
        schedule: the schedule being sampled.

    Returns:
        ``(B, D)``, in the dtype of ``x_t``.
    """
    dims: dict[str, int] = {}
    check_tensor("x_t", x_t, ("B", "D"), dims=dims)
    check_posterior_steps(t, schedule, dims)  # t = 0 has no reverse step (and lambda_0 = inf)
    with torch.no_grad():
        eps = eps_model(x_t, schedule.log_snr[t]).to(x_t.dtype)
    return mu_from_eps(x_t, eps, t, schedule)


def ancestral_sample(
    eps_model: EpsModel,
    schedule: NoiseSchedule,
    x_T: torch.Tensor,
    generator: torch.Generator,
    sigma2: torch.Tensor | None = None,
    return_trajectory: bool = False,
) -> torch.Tensor:
    r"""Run the learned reverse chain from ``x_T`` to :math:`\mathbf{x}_0`
    (Algorithm ``alg-ddpm-sample``).

    For :math:`t = T, \dots, 1`: :math:`\mathbf{x}_{t-1} = \boldsymbol{\mu}_\theta(\mathbf{x}_t,
    t) + \sigma_t\mathbf{z}`, :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})`, except
    that the last step returns the mean :math:`\boldsymbol{\mu}_\theta(\mathbf{x}_1, 1)` itself.

    Args:
        eps_model: the noise predictor.
        schedule: the schedule to sample with (any ``T``).
        x_T: ``(B, D)`` the starting noise, usually ``torch.randn``.
        generator: the source of the noise :math:`\mathbf{z}`.
        sigma2: ``(T+1,)`` reverse variances; default :math:`\sigma_t^2 = \beta_t`
            (:func:`lecture_code.ddpm.elbo.reverse_variance`).
        return_trajectory: also return every intermediate state.

    Returns:
        ``(B, D)`` samples :math:`\mathbf{x}_0`, or with ``return_trajectory`` the
        ``(T+1, B, D)`` trajectory whose entry ``t`` is :math:`\mathbf{x}_t` (entry ``T`` is
        ``x_T``, entry 0 the samples). Same dtype as ``x_T``.
    """
    x_T = check_tensor("x_T", x_T, ("B", "D"))
    T, B = schedule.T, x_T.shape[0]
    if sigma2 is None:
        sigma2 = reverse_variance(schedule, "beta")
    check_tensor("sigma2", sigma2, (T + 1,))
    path = torch.empty((T + 1, *x_T.shape), dtype=x_T.dtype) if return_trajectory else None
    x = x_T
    with single_thread():
        for t in range(T, 0, -1):
            if path is not None:
                path[t] = x
            mu = reverse_mean(eps_model, x, torch.full((B,), t, dtype=torch.long), schedule)
            if t > 1:
                z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
                x = mu + math.sqrt(sigma2[t]) * z
            else:
                x = mu
    if path is not None:
        path[0] = x
        return path
    return x
