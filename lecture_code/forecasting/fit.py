"""One training schedule for every network of Part III.

All the learned forecasters are trained the same way, so that their differences come from what
they model, not from how hard they were trained: Adam (Kingma and Ba 2015) on minibatches of
whole states drawn with replacement, a short linear warm-up and a cosine decay of the learning
rate to a small final value, float32. The loop itself is Part I's
:func:`lecture_code.ddpm.algorithms.minimise`: the loss is a function of the minibatch's row
indices and a generator (for the noise of denoising score matching), so the loop knows nothing
about the model.

Randomness never touches the global generator: initial weights, minibatches, noise and dropout
masks (:class:`lecture_code.forecasting.dropout.Dropout`) all come from the ``generator``
argument. The losses are in :mod:`lecture_code.forecasting.losses`;
:mod:`lecture_code.forecasting.trained` keeps the trained networks in the cache.

References:
    D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015,
    arXiv:1412.6980.
    I. Loshchilov and F. Hutter, "SGDR: stochastic gradient descent with warm restarts",
    ICLR 2017, arXiv:1608.03983 (cosine decay).

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`), section "Training".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code.ddpm.algorithms import LossFn, minimise
from lecture_code.forecasting.dropout import set_dropout
from lecture_code.forecasting.losses import DSMConfig, dsm_loss, gaussian_nll_loss, mse_loss
from lecture_code.forecasting.networks import (
    BackboneConfig,
    DenoiserConfig,
    RingDenoiser,
    RingMLP,
)
from lecture_code.seeding import make_generator
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "Scaling",
    "TrainConfig",
    "fit_denoiser",
    "fit_gaussian_network",
    "fit_mean_network",
    "train",
    "weight_generator",
]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train`.

    Attributes:
        steps: number of Adam steps.
        batch_size: states per minibatch (each holds ``K`` sites, so ``K`` examples for a
            translation-equivariant network).
        lr: peak learning rate.
        lr_final: learning rate at the end of the cosine decay.
        warmup: fraction of the steps with a linear warm-up from 0.
        grad_clip: largest gradient norm (larger gradients are rescaled).
    """

    steps: int = 2000
    batch_size: int = 128
    lr: float = 3e-3
    lr_final: float = 1e-5
    warmup: float = 0.02
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        check_int("steps", self.steps, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_real("lr_final", self.lr_final, low=0.0, high=self.lr)
        check_real("warmup", self.warmup, low=0.0, high=1.0)
        check_real("grad_clip", self.grad_clip, low=0.0, low_open=True)


def weight_generator(generator: torch.Generator) -> torch.Generator:
    """The generator of a network's initial weights: a fresh one, seeded with one draw from
    ``generator``, so that the weights have their own stream and the draws that follow in
    ``generator`` (minibatches, noise, dropout masks) do not depend on the network's size."""
    return make_generator(int(torch.randint(0, 2**62, (1,), generator=generator)))


def _learning_rate(step: int, config: TrainConfig) -> float:
    warm = max(1, round(config.warmup * config.steps))
    if step < warm:
        return config.lr * (step + 1) / warm
    progress = (step - warm) / max(1, config.steps - warm)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.lr_final + (config.lr - config.lr_final) * cosine


def train(
    model: nn.Module,
    loss_fn: LossFn,
    n_rows: int,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    desc: str = "training",
    progress: bool = True,
) -> list[float]:
    """Minimise ``loss_fn`` over ``model``'s parameters with Adam, on the schedule of
    ``config``: :func:`lecture_code.ddpm.algorithms.minimise` with a warm-up and a cosine decay
    of the learning rate and the gradient norm clipped to ``config.grad_clip``.

    Args:
        model: the network; it is put in training mode (dropout on, masks drawn from
            ``generator``) and left in eval mode (dropout off).
        loss_fn: the minibatch loss, see :data:`lecture_code.ddpm.algorithms.LossFn`.
        n_rows: number of training rows (states) that indices are drawn from.
        config: steps, batch size and learning-rate schedule.
        generator: draws minibatches and dropout masks (and is passed on to ``loss_fn`` for
            its noise).
        desc: label of the progress bar.
        progress: show a progress bar (only where a person watches stderr,
            :func:`lecture_code.runtime.progress`).

    Returns:
        The loss of every step.
    """
    set_dropout(model, True, generator)  # dropout masks come from the training generator
    losses = minimise(
        model,
        loss_fn,
        n_rows,
        config.steps,
        config.batch_size,
        lambda step: _learning_rate(step, config),
        generator,
        grad_clip=config.grad_clip,
        desc=desc,
        show_progress=progress,
    )
    set_dropout(model, False)
    return losses.tolist()


@dataclass(frozen=True)
class Scaling:
    """The scalars that normalise states and one-step residuals for the networks.

    ``u_norm = (u - u_mean) / u_std`` and ``r_norm = (u_next - u - r_mean) / r_std``, with means
    and standard deviations over all sites of the training data (scalars, so the networks stay
    translation-equivariant).
    """

    u_mean: float
    u_std: float
    r_mean: float
    r_std: float

    @classmethod
    def fit(cls, u: torch.Tensor, u_next: torch.Tensor) -> Scaling:
        """From training pairs ``u, u_next``: (N, K) each."""
        dims: dict[str, int] = {}
        check_tensor("u", u, ("N", "K"), dims=dims)
        check_tensor("u_next", u_next, ("N", "K"), dims=dims)
        r = u_next - u
        return cls(float(u.mean()), float(u.std()), float(r.mean()), float(r.std()))

    def states(self, u: torch.Tensor) -> torch.Tensor:
        """(B, K) states -> normalised float32 network inputs."""
        return ((u - self.u_mean) / self.u_std).to(torch.float32)

    def residuals(self, u: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """(B, K) pairs -> normalised float32 residuals."""
        return ((u_next - u - self.r_mean) / self.r_std).to(torch.float32)

    def next_state(self, u: torch.Tensor, r_norm: torch.Tensor) -> torch.Tensor:
        """``u + r_mean + r_std * r_norm`` in float64; ``u: (B, K)``, ``r_norm: (B, K)``."""
        return u.to(torch.float64) + self.r_mean + self.r_std * r_norm.to(torch.float64)


# --- fitting the three kinds of network ---------------------------------------------------------
def _normalised(
    u: torch.Tensor, u_next: torch.Tensor, scaling: Scaling
) -> tuple[torch.Tensor, torch.Tensor]:
    dims: dict[str, int] = {}
    check_tensor("u", u, ("N", "K"), dims=dims)
    check_tensor("u_next", u_next, ("N", "K"), dims=dims)
    return scaling.states(u), scaling.residuals(u, u_next)


def fit_mean_network(
    u: torch.Tensor,
    u_next: torch.Tensor,
    scaling: Scaling,
    backbone: BackboneConfig,
    dropout: float,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    shared_masks: bool = False,
    progress: bool = True,
) -> RingMLP:
    """A :class:`~lecture_code.forecasting.networks.RingMLP` trained on
    :func:`~lecture_code.forecasting.losses.mse_loss`, with dropout at rate ``dropout`` during
    training (0 for none).

    Args:
        u, u_next: (N, K) training pairs (physical units).
        scaling: the normalisation.
        backbone: the network's window and size.
        dropout: dropout probability in [0, 1).
        config: the optimisation settings.
        generator: initial weights, minibatches, dropout masks.
        shared_masks: dropout masks shared over the ring (one sampled network per state).
        progress: show a progress bar.
    """
    U, R = _normalised(u, u_next, scaling)
    network = backbone.build(1, 1, weight_generator(generator), dropout, shared_masks)
    train(
        network,
        lambda index, _: mse_loss(network, U[index], R[index]),
        U.shape[0],
        config,
        generator,
        desc=f"MSE network (dropout {dropout:g})",
        progress=progress,
    )
    return network


def fit_gaussian_network(
    u: torch.Tensor,
    u_next: torch.Tensor,
    scaling: Scaling,
    backbone: BackboneConfig,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    dropout: float = 0.0,
    shared_masks: bool = False,
    progress: bool = True,
) -> RingMLP:
    """A two-channel :class:`~lecture_code.forecasting.networks.RingMLP` (mean, log-variance)
    trained on :func:`~lecture_code.forecasting.losses.gaussian_nll_loss`; with ``dropout > 0``
    (dropout active while training) it is the network of heteroscedastic MC dropout (Kendall
    and Gal 2017). Arguments as :func:`fit_mean_network`."""
    U, R = _normalised(u, u_next, scaling)
    network = backbone.build(1, 2, weight_generator(generator), dropout, shared_masks)
    train(
        network,
        lambda index, _: gaussian_nll_loss(network, U[index], R[index]),
        U.shape[0],
        config,
        generator,
        desc="Gaussian network" if dropout == 0 else f"heteroscedastic network ({dropout:g})",
        progress=progress,
    )
    return network


def fit_denoiser(
    u: torch.Tensor,
    u_next: torch.Tensor,
    scaling: Scaling,
    backbone: BackboneConfig,
    denoiser: DenoiserConfig,
    dsm: DSMConfig,
    nu_range: tuple[float, float],
    config: TrainConfig,
    generator: torch.Generator,
    *,
    progress: bool = True,
) -> RingDenoiser:
    """A :class:`~lecture_code.forecasting.networks.RingDenoiser` trained on
    :func:`~lecture_code.forecasting.losses.dsm_loss`.

    Args:
        u, u_next: (N, K) training pairs (physical units).
        scaling: the normalisation.
        backbone: the encoder's window and size.
        denoiser: the head's settings.
        dsm: the distribution of training noise levels.
        nu_range: the range of noise levels the sampler visits, the noise-to-signal ratios
            of the denoiser's coordinates ``x_t / a(t)``: ``(sde.nu_min, sde.nu_max)`` of the
            VP-SDE.
        config: the optimisation settings.
        generator: initial weights, minibatches, noise.
        progress: show a progress bar.
    """
    U, R = _normalised(u, u_next, scaling)
    network = denoiser.build(backbone, weight_generator(generator))
    nu_min, nu_max = nu_range
    # None: centre the training noise levels on the (estimated) conditional spread
    log_nu_mean = math.log(network.sigma_data) if dsm.log_nu_mean is None else dsm.log_nu_mean

    def loss(index: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
        return dsm_loss(
            network,
            U[index],
            R[index],
            noise,
            log_nu_mean=log_nu_mean,
            log_nu_std=dsm.log_nu_std,
            nu_min=nu_min,
            nu_max=nu_max,
            n_noise=dsm.n_noise,
        )

    train(network, loss, U.shape[0], config, generator, desc="denoiser", progress=progress)
    return network
