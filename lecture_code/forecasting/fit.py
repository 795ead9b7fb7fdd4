"""One training loop for every network of Part III.

All the learned forecasters are trained the same way, so that their differences come from what
they model, not from how hard they were trained: Adam (Kingma and Ba 2015) on minibatches of
whole states drawn with replacement, a short linear warm-up and a cosine decay of the learning
rate to a small final value, float32. The loss is a function of the minibatch's row indices
and a generator (for the noise of denoising score matching), so the loop knows nothing about
the model.

Randomness never touches the global generator: minibatches, noise and dropout masks
(:class:`lecture_code.forecasting.networks.Dropout`) come from the ``generator`` argument, and
initial
weights (which PyTorch draws from the global generator) are drawn inside :func:`seeded`, which
saves and restores the global state.

References:
    D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015,
    arXiv:1412.6980.
    I. Loshchilov and F. Hutter, "SGDR: stochastic gradient descent with warm restarts",
    ICLR 2017, arXiv:1608.03983 (cosine decay).

Book: chapter 11, section "Training".
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from lecture_code.forecasting.networks import (
    BackboneConfig,
    DenoiserConfig,
    Dropout,
    RingDenoiser,
    RingMLP,
    set_dropout,
)
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "DSMConfig",
    "LossFn",
    "Scaling",
    "TrainConfig",
    "dsm_loss",
    "fit_denoiser",
    "fit_gaussian_network",
    "fit_mean_network",
    "gaussian_nll_loss",
    "mse_loss",
    "seeded",
    "train",
]

#: ``loss_fn(index: (batch,) long, generator) -> scalar loss`` of the rows ``index``.
LossFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


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


@contextlib.contextmanager
def seeded(generator: torch.Generator) -> Iterator[None]:
    """Run the block with PyTorch's global generator seeded from ``generator`` and restore the
    global state afterwards, for code that draws from the global generator (PyTorch's weight
    initialisation)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


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
    """Minimise ``loss_fn`` over ``model``'s parameters with Adam.

    Args:
        model: the network; it is put in training mode (dropout on, masks drawn from
            ``generator``) and left in eval mode.
        loss_fn: the minibatch loss, see :data:`LossFn`.
        n_rows: number of training rows (states) that indices are drawn from.
        config: steps, batch size and learning-rate schedule.
        generator: draws minibatches (and is passed on to ``loss_fn`` for its noise).
        desc: label of the progress bar.
        progress: show a progress bar (tqdm).

    Returns:
        The loss of every step.
    """
    n_rows = check_int("n_rows", n_rows, low=1)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    losses: list[float] = []
    model.train()
    for layer in model.modules():  # dropout masks come from the training generator
        if isinstance(layer, Dropout):
            layer.generator = generator
    for step in tqdm(range(config.steps), desc=desc, disable=not progress, leave=False):
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, config)
        index = torch.randint(0, n_rows, (config.batch_size,), generator=generator)
        loss = loss_fn(index, generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: the loss became {float(loss)} at step {step}")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimiser.step()
        losses.append(float(loss.detach()))
    set_dropout(model, False)
    return losses


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


# --- the three losses of Part III ---------------------------------------------------------------
def mse_loss(network: nn.Module, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Mean-square error of the predicted normalised residual, eq. (mse-loss).

    Args:
        network: maps (B, K) states to (B, K, >= 1); channel 0 is the mean.
        u: (B, K) normalised states.
        r: (B, K) normalised residuals.
    """
    return ((network(u)[..., 0] - r) ** 2).mean()


def gaussian_nll_loss(network: nn.Module, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    r"""Gaussian negative log-likelihood per site (without the constant
    :math:`\frac12\log 2\pi`), eq. (gaussian-nll):
    :math:`\frac12\big(\log v + (r - \mu)^2 / v\big)`.

    Args:
        network: maps (B, K) states to (B, K, 2): mean and log-variance.
        u: (B, K) normalised states.
        r: (B, K) normalised residuals.
    """
    out = network(u)
    mean, log_var = out[..., 0], out[..., 1]
    return 0.5 * (log_var + (r - mean) ** 2 * torch.exp(-log_var)).mean()


def dsm_loss(
    network: RingDenoiser,
    u: torch.Tensor,
    x_0: torch.Tensor,
    generator: torch.Generator,
    *,
    log_sigma_mean: float,
    log_sigma_std: float,
    sigma_min: float,
    sigma_max: float,
    n_noise: int = 1,
) -> torch.Tensor:
    r"""Denoising score matching with Karras et al.'s weighting, eq. (dsm-edm).

    Draw :math:`\log\sigma \sim \mathcal{N}(P_{\text{mean}}, P_{\text{std}}^2)` (clipped to
    the sampler's range) and :math:`\boldsymbol{\epsilon} \sim \mathcal{N}(\mathbf{0},
    \mathbf{I})`, noise the target :math:`\hat{\mathbf{x}} = \mathbf{x}_0 + \sigma
    \boldsymbol{\epsilon}` and regress the denoiser on the clean target,

    .. math::
        \lambda(\sigma)\,\lVert D(\hat{\mathbf{x}}; \sigma, \mathbf{u}) - \mathbf{x}_0
        \rVert^2, \qquad \lambda(\sigma) = 1/c_{\text{out}}(\sigma)^2 =
        \frac{\sigma^2 + \sigma_{\text{data}}^2}{(\sigma\,\sigma_{\text{data}})^2}.

    By Tweedie's formula this is denoising score matching (Vincent 2011) with the weight
    :math:`\lambda\sigma^4` on :math:`\lVert \mathbf{s}_\theta - \nabla\log
    p(\hat{\mathbf{x}}\mid\mathbf{x}_0)\rVert^2`; the weight makes every noise level
    contribute about equally. The encoder runs once per state and its output is reused for the
    ``n_noise`` noisy copies, which halves the gradient noise at little cost.

    Args:
        network: the conditional denoiser.
        u: (B, K) normalised current states (the condition).
        x_0: (B, K) normalised residuals (the clean target).
        generator: draws :math:`\sigma` and :math:`\boldsymbol{\epsilon}`.
        log_sigma_mean, log_sigma_std: :math:`P_{\text{mean}}`, :math:`P_{\text{std}}`.
        sigma_min, sigma_max: the range of noise levels the sampler visits.
        n_noise: noisy copies per state.
    """
    m_hat, features = network.condition(u)
    if n_noise > 1:
        m_hat = m_hat.repeat(n_noise, 1)
        features = features.repeat(n_noise, 1, 1)
        x_0 = x_0.repeat(n_noise, 1)
    z = torch.randn(x_0.shape[0], generator=generator)
    sigma = torch.exp(log_sigma_mean + log_sigma_std * z).clamp(sigma_min, sigma_max)
    x_hat = x_0 + sigma[:, None] * torch.randn(x_0.shape, generator=generator)
    denoised = network.denoise(x_hat, sigma, (m_hat, features))
    sd = network.sigma_data
    weight = (sigma**2 + sd**2) / (sigma * sd) ** 2
    return (weight[:, None] * (denoised - x_0) ** 2).mean()


# --- fitting the three kinds of network ---------------------------------------------------------
@dataclass(frozen=True)
class DSMConfig:
    r"""Settings of :func:`dsm_loss`.

    Attributes:
        log_sigma_mean: :math:`P_{\text{mean}}`, the mean of :math:`\log\sigma` during training.
            :math:`e^{-1.5} \approx 0.22` sits at the conditional spread, where the denoiser
            has most to learn.
        log_sigma_std: :math:`P_{\text{std}}`; 1.5 reaches :math:`\sigma \approx 0.01` and
            :math:`\sigma \approx 20` within about two standard deviations.
        n_noise: noisy copies of each training state per step.
    """

    log_sigma_mean: float = -1.5
    log_sigma_std: float = 1.5
    n_noise: int = 2

    def __post_init__(self) -> None:
        check_real("log_sigma_mean", self.log_sigma_mean)
        check_real("log_sigma_std", self.log_sigma_std, low=0.0, low_open=True)
        check_int("n_noise", self.n_noise, low=1)


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
    progress: bool = True,
) -> RingMLP:
    """A :class:`~lecture_code.forecasting.networks.RingMLP` trained on :func:`mse_loss`, with
    dropout at rate ``dropout`` during training (0 for none).

    Args:
        u, u_next: (N, K) training pairs (physical units).
        scaling: the normalisation.
        backbone: the network's window and size.
        dropout: dropout probability in [0, 1).
        config: the optimisation settings.
        generator: initial weights, minibatches, dropout masks.
        progress: show a progress bar.
    """
    U, R = _normalised(u, u_next, scaling)
    with seeded(generator):
        network = backbone.build(1, 1, dropout)
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
    progress: bool = True,
) -> RingMLP:
    """A two-channel :class:`~lecture_code.forecasting.networks.RingMLP` (mean, log-variance)
    trained on :func:`gaussian_nll_loss`. Arguments as :func:`fit_mean_network`."""
    U, R = _normalised(u, u_next, scaling)
    with seeded(generator):
        network = backbone.build(1, 2)
    train(
        network,
        lambda index, _: gaussian_nll_loss(network, U[index], R[index]),
        U.shape[0],
        config,
        generator,
        desc="Gaussian network",
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
    sigma_range: tuple[float, float],
    config: TrainConfig,
    generator: torch.Generator,
    *,
    progress: bool = True,
) -> RingDenoiser:
    """A :class:`~lecture_code.forecasting.networks.RingDenoiser` trained on :func:`dsm_loss`.

    Args:
        u, u_next: (N, K) training pairs (physical units).
        scaling: the normalisation.
        backbone: the encoder's window and size.
        denoiser: the head's settings.
        dsm: the distribution of training noise levels.
        sigma_range: ``(sigma_min, sigma_max)`` of the sampler (from the VP-SDE).
        config: the optimisation settings.
        generator: initial weights, minibatches, noise.
        progress: show a progress bar.
    """
    U, R = _normalised(u, u_next, scaling)
    with seeded(generator):
        network = denoiser.build(backbone)
    sigma_min, sigma_max = sigma_range

    def loss(index: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
        return dsm_loss(
            network,
            U[index],
            R[index],
            noise,
            log_sigma_mean=dsm.log_sigma_mean,
            log_sigma_std=dsm.log_sigma_std,
            sigma_min=sigma_min,
            sigma_max=sigma_max,
            n_noise=dsm.n_noise,
        )

    train(network, loss, U.shape[0], config, generator, desc="denoiser", progress=progress)
    return network
