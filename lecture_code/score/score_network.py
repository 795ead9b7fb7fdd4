r"""A noise-conditional score network trained by denoising score matching, in the manner of
NCSN (Song and Ermon 2019).

**The model.** :math:`\mathbf{s}_\theta(\tilde{\mathbf{x}}, \sigma)` approximates the score of
the data noised without shrinking, :math:`\tilde{\mathbf{x}} = \mathbf{x} +
\sigma\boldsymbol{\epsilon}` (the variance-exploding perturbation, chapter 6), at every level
:math:`\sigma \in [\sigma_{\min}, \sigma_{\max}]`. The exact score of :math:`q_\sigma` grows like
:math:`1/\sigma` as :math:`\sigma \to 0`, so the network outputs :math:`\sigma` times the score
and is divided by :math:`\sigma` afterwards,

.. math::

    \mathbf{s}_\theta(\tilde{\mathbf{x}}, \sigma) = \mathbf{h}_\theta(\tilde{\mathbf{x}},
    \lambda)/\sigma, \qquad \lambda = -2\log\sigma ,

the output scaling of Song and Ermon (2020, "technique 3"). :math:`\mathbf{h}_\theta` is the
residual MLP of chapter 4 (:class:`lecture_code.ddpm.denoiser.Denoiser`), conditioned on the
log signal-to-noise ratio :math:`\lambda` of the perturbation (here :math:`a = 1`).

**The loss.** The weighted DSM objective (eq. (score-ncsn-loss)),

.. math::

    \mathcal{L}(\theta) = \mathbb{E}_{\sigma}\,\mathbb{E}_{\mathbf{x},\boldsymbol{\epsilon}}
    \Big[\tfrac12\,\sigma^2\,\big\lVert\mathbf{s}_\theta(\mathbf{x} +
    \sigma\boldsymbol{\epsilon}, \sigma) + \boldsymbol{\epsilon}/\sigma\big\rVert^2\Big],
    \qquad \log\sigma \sim U(\log\sigma_{\min}, \log\sigma_{\max}),

with the weight :math:`\lambda(\sigma) = \sigma^2` of Song and Ermon, which makes every level's
term of order one. At each fixed :math:`\sigma` the inner expectation is :math:`\sigma^2` times
:math:`J_{\text{DSM}}` of :func:`lecture_code.score.score_matching.denoising_score_matching`
(eq. (score-dsm)), which the unit tests check. The levels are drawn log-uniformly, so each
octave of noise gets the same share of the training, where chapter 4's uniform steps :math:`t`
of the linear schedule spend few draws at small :math:`\sigma`.

References:
    Y. Song and S. Ermon, "Generative modeling by estimating gradients of the data
    distribution", NeurIPS 2019, arXiv:1907.05600.
    Y. Song and S. Ermon, "Improved techniques for training score-based generative models",
    NeurIPS 2020, arXiv:2006.09011.

Book: chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`), section "A learned
score", eq. (score-ncsn-loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code import cache
from lecture_code.ddpm.algorithms import minimise
from lecture_code.ddpm.denoiser import Denoiser
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "ScoreNetConfig",
    "ScoreNetwork",
    "trained_score_network",
    "weighted_dsm_loss",
]


@dataclass(frozen=True)
class ScoreNetConfig:
    r"""Settings of the score network of chapter 5 (every field enters the cache key).

    Attributes:
        sigma_min: the smallest noise level :math:`\sigma_{\min} > 0` trained.
        sigma_max: the largest, :math:`\sigma_{\max} > \sigma_{\min}`.
        n_data: size of the fixed training set, drawn from the toy mixture.
        hidden: width of the network.
        depth: number of residual blocks.
        embed_dim: size of the noise-level embedding (even).
        steps: number of Adam steps.
        batch_size: data points per step.
        lr: peak learning rate (cosine decay to zero).
        seed: seed of the training set, the initial weights and the training noise.
    """

    sigma_min: float = 0.01
    sigma_max: float = 3.0
    n_data: int = 20_000
    hidden: int = 96
    depth: int = 3
    embed_dim: int = 32
    steps: int = 3000
    batch_size: int = 512
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_real("sigma_min", self.sigma_min, low=0.0, low_open=True)
        check_real("sigma_max", self.sigma_max, low=self.sigma_min, low_open=True)
        check_int("n_data", self.n_data, low=1)
        check_int("steps", self.steps, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)


class ScoreNetwork(nn.Module):
    r""":math:`\mathbf{s}_\theta(\tilde{\mathbf{x}}, \sigma) = \mathbf{h}_\theta(\tilde{\mathbf{x}},
    -2\log\sigma)/\sigma`, float32 inside.

    Levels outside :math:`[\sigma_{\min}, \sigma_{\max}]` are evaluated with the embedding of
    the nearest trained level (the clamp of :class:`lecture_code.ddpm.denoiser.Denoiser`), but
    still divided by their own :math:`\sigma`.

    Args:
        config: the architecture and the trained range of levels.
    """

    def __init__(self, config: ScoreNetConfig) -> None:
        super().__init__()
        self.config = config
        self.body = Denoiser(
            D=2,
            hidden=config.hidden,
            depth=config.depth,
            embed_dim=config.embed_dim,
            generator=generator_for(config.seed, "score", "network", "init"),
        )
        self.body.log_snr_range.copy_(
            torch.tensor([-2 * math.log(config.sigma_max), -2 * math.log(config.sigma_min)])
        )

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        r"""The score.

        Args:
            x: ``(B, 2)`` noised points.
            sigma: ``(B,)`` their noise levels, positive and finite.

        Returns:
            ``(B, 2)`` float32, :math:`\mathbf{s}_\theta(\tilde{\mathbf{x}}, \sigma)`.
        """
        dims: dict[str, int] = {}
        check_tensor("x", x, ("B", 2), dims=dims)
        check_tensor("sigma", sigma, ("B",), dims=dims)
        if not bool((sigma > 0).all()):
            raise ValueError(f"sigma must be positive, got minimum {float(sigma.min())}")
        sigma = sigma.float()
        return self.body(x.float(), -2 * torch.log(sigma)) / sigma[:, None]


def weighted_dsm_loss(score: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    r"""``(B,)``: :math:`\tfrac12\sigma^2\lVert\mathbf{s} + \boldsymbol{\epsilon}/\sigma\rVert^2`
    per draw, the integrand of eq. (score-ncsn-loss): :math:`\sigma^2` times that of
    :func:`lecture_code.score.score_matching.denoising_score_matching`.

    Args:
        score: ``(B, D)`` the model's score at :math:`\mathbf{x} + \sigma\boldsymbol{\epsilon}`.
        eps: ``(B, D)`` the noise that was added.
        sigma: ``(B,)`` the noise level of each draw, positive.
    """
    dims: dict[str, int] = {}
    check_tensor("score", score, ("B", "D"), dims=dims)
    check_tensor("eps", eps, ("B", "D"), dims=dims)
    check_tensor("sigma", sigma, ("B",), dims=dims)
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigma must be positive, got minimum {float(sigma.min())}")
    # sigma^2 |s + eps/sigma|^2 = |sigma s + eps|^2: the same number without dividing by a
    # small sigma.
    return 0.5 * ((sigma[:, None] * score + eps) ** 2).sum(dim=1)


def trained_score_network(
    config: ScoreNetConfig, verbose: bool = True
) -> tuple[ScoreNetwork, torch.Tensor]:
    """The score network trained with ``config`` on the toy mixture, from the cache when
    possible.

    Returns:
        ``(model, losses)``: the network in eval mode and the ``(steps,)`` training losses.
    """

    def build() -> dict[str, object]:
        x_data = toy_mixture().sample(config.n_data, generator_for(config.seed, "score", "data"))
        x_data = x_data.float()
        model = ScoreNetwork(config)
        log_low, log_high = math.log(config.sigma_min), math.log(config.sigma_max)

        def loss_fn(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            x = x_data[rows]
            u = torch.rand(rows.shape[0], generator=generator)
            sigma = torch.exp(log_low + (log_high - log_low) * u)
            eps = torch.randn(x.shape, generator=generator)
            return weighted_dsm_loss(model(x + sigma[:, None] * eps, sigma), eps, sigma).mean()

        def cosine_decay(step: int) -> float:
            return config.lr * (0.5 * (1 + math.cos(math.pi * step / config.steps)))

        with torch_threads(1):
            losses = minimise(
                model,
                loss_fn,
                config.n_data,
                config.steps,
                config.batch_size,
                cosine_decay,
                generator_for(config.seed, "score", "network", "train"),
                desc="score network",
            )
        return {"state_dict": model.state_dict(), "losses": losses}

    result = cache.cached("score_network", config, build, layer="score", verbose=verbose)
    model = ScoreNetwork(config)
    model.load_state_dict(result["state_dict"])
    model.eval()
    return model, result["losses"]
