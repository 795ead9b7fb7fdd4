r"""Training and sampling a denoising diffusion probabilistic model.

**Training** (Algorithm 20.1 of Bishop and Bishop 2024; Algorithm 1 of Ho et al. 2020) is
stochastic gradient descent on :math:`\mathcal{L}_{\text{simple}}` (eq. (elbo-simple)): draw a
data point :math:`\mathbf{x}_0`, a step :math:`t` uniform on :math:`\{1, \dots, T\}` and a noise
:math:`\boldsymbol{\epsilon}`, form :math:`\mathbf{x}_t = a_t\mathbf{x}_0 +
\sigma_t\boldsymbol{\epsilon}` and regress :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, t)`
on :math:`\boldsymbol{\epsilon}` (:func:`train`). The loop itself, Adam on minibatches of rows
with a learning rate that changes from step to step, knows nothing about diffusion
(:func:`minimise`); the networks of Part III are trained by the same loop.

**Sampling** (Algorithm 20.2 of Bishop and Bishop; Algorithm 2 of Ho et al.) runs the learned
reverse chain from :math:`\mathbf{x}_T \sim \mathcal{N}(\mathbf{0}, \mathbf{I})`:
:math:`\mathbf{x}_{t-1} = \boldsymbol{\mu}_\theta(\mathbf{x}_t, t) + \gamma_t\mathbf{z}` with
:math:`\boldsymbol{\mu}_\theta` from the predicted noise (eq. (elbo-mu-eps)), the reverse-step
standard deviation :math:`\gamma_t` and no noise in the last step (:func:`ancestral_sample`).

The noise predictor is any :data:`lecture_code.ddpm.denoiser.EpsModel`: the network
:class:`lecture_code.ddpm.denoiser.Denoiser` or the exact
:class:`lecture_code.ddpm.denoiser.MixtureOracle`.
It is called with the noise level :math:`\lambda_t = \log\mathrm{SNR}(t)` of the schedule being
sampled, so a network trained with one :math:`T` can be sampled with another.

The experiments of chapter 4 (which data, which settings, caching) are in
:mod:`lecture_code.ddpm.experiments`.

References: C. M. Bishop, H. Bishop, "Deep Learning: Foundations and Concepts", Springer 2024,
chapter 20; J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
arXiv:2006.11239; D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015,
arXiv:1412.6980.

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`), section
"Training and sampling algorithms", algorithms (alg-ddpm-train) and (alg-ddpm-sample).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from lecture_code.ddpm.denoiser import Denoiser, EpsModel
from lecture_code.ddpm.elbo import loss_simple, mu_from_eps, reverse_variance
from lecture_code.ddpm.forward import q_sample
from lecture_code.ddpm.posterior import check_posterior_steps
from lecture_code.ddpm.schedules import NoiseSchedule
from lecture_code.runtime import progress, torch_threads
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "LossFn",
    "ancestral_sample",
    "minimise",
    "reverse_mean",
    "train",
]

#: ``loss_fn(rows: (batch_size,) long, generator) -> scalar loss`` of the training rows ``rows``;
#: the generator draws whatever else the loss needs (steps and noise, in a diffusion model).
LossFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def minimise(
    model: nn.Module,
    loss_fn: LossFn,
    n_rows: int,
    steps: int,
    batch_size: int,
    learning_rate: Callable[[int], float],
    generator: torch.Generator,
    *,
    grad_clip: float | None = None,
    desc: str = "training",
    show_progress: bool = False,
) -> torch.Tensor:
    """Minimise ``loss_fn`` over ``model``'s parameters with Adam, one minibatch per step.

    Step ``k`` sets the learning rate to ``learning_rate(k)``, draws ``batch_size`` row indices
    uniformly from ``0..n_rows - 1`` (with replacement), evaluates ``loss_fn(rows, generator)``
    and takes one Adam step, after clipping the gradient norm to ``grad_clip`` when given.

    Args:
        model: the network; put in training mode for the loop and left in eval mode.
        loss_fn: the minibatch loss, see :data:`LossFn`.
        n_rows: number of training rows the indices are drawn from, ``>= 1``.
        steps: number of Adam steps, ``>= 1``.
        batch_size: rows per step, ``>= 1``.
        learning_rate: ``learning_rate(step) -> float``, the schedule of the learning rate.
        generator: draws the rows (and is passed on to ``loss_fn``).
        grad_clip: the largest gradient norm (larger gradients are rescaled); ``None`` does not
            clip.
        desc: the label of the progress bar and of the error on a non-finite loss.
        show_progress: draw a progress bar when a person is watching
            (:func:`lecture_code.runtime.progress`).

    Returns:
        ``(steps,)`` float32, the loss of every step.

    Raises:
        FloatingPointError: when the loss becomes NaN or infinite, naming the step.
    """
    n_rows = check_int("n_rows", n_rows, low=1)
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    if grad_clip is not None:
        grad_clip = check_real("grad_clip", grad_clip, low=0.0, low_open=True)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate(0))
    losses = torch.empty(steps)
    model.train()
    for step in progress(range(steps), desc=desc, enabled=show_progress):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step)
        rows = torch.randint(0, n_rows, (batch_size,), generator=generator)
        loss = loss_fn(rows, generator)
        if not bool(torch.isfinite(loss)):
            value = float(loss.detach())
            raise FloatingPointError(f"{desc}: the loss became {value} at step {step}")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimiser.step()
        losses[step] = loss.detach()
    model.eval()
    return losses


def train(
    model: Denoiser,
    schedule: NoiseSchedule,
    x_data: torch.Tensor,
    generator: torch.Generator,
    steps: int,
    batch_size: int = 512,
    lr: float = 2e-3,
) -> torch.Tensor:
    r"""Fit :math:`\boldsymbol{\epsilon}_\theta` to :math:`\mathcal{L}_{\text{simple}}`
    (algorithm (alg-ddpm-train)), in place.

    Each step draws ``batch_size`` rows of ``x_data`` with replacement, steps
    :math:`t \sim U\{1, \dots, T\}` and noise :math:`\boldsymbol{\epsilon} \sim
    \mathcal{N}(\mathbf{0}, \mathbf{I})`, and takes one Adam step on the batch mean of
    :math:`\lVert\boldsymbol{\epsilon} - \boldsymbol{\epsilon}_\theta(\mathbf{x}_t,
    \lambda_t)\rVert^2` (:func:`minimise`, on one torch thread: the matrices are small).

    Args:
        model: the network; its ``log_snr_range`` is set to the schedule's range.
        schedule: the training schedule.
        x_data: ``(N, D)`` the training set :math:`\mathcal{D}`.
        generator: the source of the batches, steps and noise.
        steps: number of optimiser steps.
        batch_size: data points per step.
        lr: peak learning rate of Adam, decayed to zero along a cosine over the steps.

    Returns:
        ``(steps,)`` float32, the loss of every step.
    """
    x_data = check_tensor("x_data", x_data, ("N", model.D)).float()
    steps = check_int("steps", steps, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    log_snr = schedule.log_snr
    model.log_snr_range.copy_(torch.tensor([log_snr[schedule.T], log_snr[1]]))

    def loss_fn(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # Algorithm alg-ddpm-train: data points, steps, noise, x_t, loss.
        x_0 = x_data[rows]
        t = torch.randint(1, schedule.T + 1, (rows.shape[0],), generator=generator)
        eps = torch.randn(x_0.shape, generator=generator)
        x_t = q_sample(schedule, x_0, t, eps)
        return loss_simple(model(x_t, log_snr[t].float()), eps)

    def cosine_decay(step: int) -> float:
        return lr * (0.5 * (1 + math.cos(math.pi * step / steps)))

    with torch_threads(1):
        return minimise(model, loss_fn, x_data.shape[0], steps, batch_size, cosine_decay, generator)


def reverse_mean(
    eps_model: EpsModel, schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    r""":math:`\boldsymbol{\mu}_\theta(\mathbf{x}_t, t)` from the predicted noise
    (eq. (elbo-mu-eps)).

    Args:
        eps_model: the noise predictor, called with :math:`\lambda_t` of ``schedule``.
        schedule: the schedule being sampled.
        x_t: ``(B, D)``.
        t: ``(B,)`` integer steps in :math:`[1, T]`.

    Returns:
        ``(B, D)``, in the dtype of ``x_t``.
    """
    dims: dict[str, int] = {}
    check_tensor("x_t", x_t, ("B", "D"), dims=dims)
    check_posterior_steps(t, schedule, dims)  # t = 0 has no reverse step (and lambda_0 = inf)
    with torch.no_grad():
        eps = eps_model(x_t, schedule.log_snr[t]).to(x_t.dtype)
    return mu_from_eps(schedule, x_t, t, eps)


def ancestral_sample(
    eps_model: EpsModel,
    schedule: NoiseSchedule,
    x_T: torch.Tensor,
    generator: torch.Generator,
    gamma2: torch.Tensor | None = None,
    return_trajectory: bool = False,
) -> torch.Tensor:
    r"""Run the learned reverse chain from ``x_T`` to :math:`\mathbf{x}_0`
    (algorithm (alg-ddpm-sample)).

    For :math:`t = T, \dots, 1`: :math:`\mathbf{x}_{t-1} = \boldsymbol{\mu}_\theta(\mathbf{x}_t,
    t) + \gamma_t\mathbf{z}`, :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})`, except
    that the last step returns the mean :math:`\boldsymbol{\mu}_\theta(\mathbf{x}_1, 1)` itself.

    Args:
        eps_model: the noise predictor.
        schedule: the schedule to sample with (any ``T``).
        x_T: ``(B, D)`` the starting noise, usually ``torch.randn``.
        generator: the source of the noise :math:`\mathbf{z}`.
        gamma2: ``(T+1,)`` reverse-step variances; default :math:`\gamma_t^2 = \beta_t`
            (:func:`lecture_code.ddpm.elbo.reverse_variance`).
        return_trajectory: also return every intermediate state.

    Returns:
        ``(B, D)`` samples :math:`\mathbf{x}_0`, or with ``return_trajectory`` the
        ``(T+1, B, D)`` trajectory whose entry ``t`` is :math:`\mathbf{x}_t` (entry ``T`` is
        ``x_T``, entry 0 the samples). Same dtype as ``x_T``.
    """
    x_T = check_tensor("x_T", x_T, ("B", "D"))
    T, B = schedule.T, x_T.shape[0]
    if gamma2 is None:
        gamma2 = reverse_variance(schedule, "beta")
    check_tensor("gamma2", gamma2, (T + 1,))
    path = torch.empty((T + 1, *x_T.shape), dtype=x_T.dtype) if return_trajectory else None
    x = x_T
    with torch_threads(1):
        for t in range(T, 0, -1):
            if path is not None:
                path[t] = x
            mu = reverse_mean(eps_model, schedule, x, torch.full((B,), t, dtype=torch.long))
            if t > 1:
                z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
                x = mu + math.sqrt(gamma2[t]) * z
            else:
                x = mu
    if path is not None:
        path[0] = x
        return path
    return x
