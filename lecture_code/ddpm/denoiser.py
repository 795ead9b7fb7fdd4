r"""The noise predictor :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, t)`: a small MLP with a
sinusoidal embedding of the noise level, and the exact predictor for mixture data.

**Conditioning on the noise level.** The network does not see the integer step :math:`t` but
the log signal-to-noise ratio :math:`\lambda_t = \log\mathrm{SNR}(t) = \log(\bar\alpha_t /
(1 - \bar\alpha_t))`, a fixed function of :math:`t` for a given schedule (eq.
(train-log-snr)). What a denoiser has to know is how much noise :math:`\mathbf{x}_t`
carries, and :math:`\lambda_t` says exactly that, whatever the schedule or the number of
steps: one trained network can then be sampled with schedules of different :math:`T`
(Kingma et al. 2021 make the same choice). The scalar :math:`\lambda` enters through sines and
cosines of :math:`n_\varpi` geometrically spaced frequencies :math:`\varpi_j`
(:func:`embedding_frequencies`, eq. (train-embedding)),

.. math::

    \mathbf{e}(\lambda) = \big(\sin(\varpi_1\lambda), \dots, \sin(\varpi_{n_\varpi}\lambda),
    \cos(\varpi_1\lambda), \dots, \cos(\varpi_{n_\varpi}\lambda)\big),

the time embedding of transformers (Vaswani et al. 2017) applied to a noise level, so that
small changes of :math:`\lambda` are easy to resolve. :func:`sinusoidal_embedding` takes any
values and any frequencies, so the noise-level embedding of the diffusion forecaster of Part III
is the same function.

**The architecture.** :math:`\mathbf{h} \leftarrow \mathbf{W}_{\text{in}}\mathbf{x}_t`, then
``depth`` residual blocks :math:`\mathbf{h} \leftarrow \mathbf{h} +
\mathbf{W}_k\,\mathrm{SiLU}(\mathbf{h} + \mathbf{g}(\mathbf{e}(\lambda)))` with a small MLP
:math:`\mathbf{g}` of the embedding, and an output layer back to :math:`D` numbers.

**The exact predictor.** For mixture data the best possible noise prediction in mean square,
:math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t] = -\sigma_t\,\nabla\log
q(\mathbf{x}_t)` (eq. (train-oracle), :func:`lecture_code.ddpm.conversions.eps_from_score`), is
known in closed form, because :math:`q(\mathbf{x}_t)` is the noised mixture
(:meth:`lecture_code.ddpm.mixture.GaussianMixture.noised`). :class:`MixtureOracle` takes the
same inputs as the network, which separates the error of the sampler from the error of the
learning.

References: A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, arXiv:1706.03762;
D. P. Kingma, T. Salimans, B. Poole, J. Ho, "Variational Diffusion Models", NeurIPS 2021,
arXiv:2107.00630.

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`), section "A
denoiser for points in the plane", eqs. (train-log-snr), (train-embedding), (train-oracle).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code.ddpm.conversions import eps_from_score
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "MAX_FREQUENCY",
    "MIN_FREQUENCY",
    "Denoiser",
    "EpsModel",
    "MixtureOracle",
    "NoiseLevelClamp",
    "embedding_frequencies",
    "linear_layer",
    "sinusoidal_embedding",
]

#: The type of a noise predictor ``eps_model(x_t, log_snr)``, with ``x_t`` of shape ``(B, D)``
#: and ``log_snr`` of shape ``(B,)``, returning shape ``(B, D)``.
EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: The lowest angular frequency of the embedding, :math:`\varpi_1`: over the range of
#: :math:`\lambda` of the book's schedules (about 20) its phase turns by less than
#: :math:`2\pi`, so the slowest wave does not repeat.
MIN_FREQUENCY = 0.05
#: The highest, :math:`\varpi_{n_\varpi}`: a change of :math:`\lambda` by
#: :math:`1/\varpi_{n_\varpi}` turns its phase by one radian.
MAX_FREQUENCY = 5.0


def embedding_frequencies(
    n_frequencies: int,
    min_freq: float = MIN_FREQUENCY,
    max_freq: float = MAX_FREQUENCY,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""The :math:`n_\varpi` angular frequencies :math:`\varpi_j` of the embedding, geometrically
    spaced from ``min_freq`` to ``max_freq`` (eq. (train-embedding)).

    Args:
        n_frequencies: :math:`n_\varpi \ge 1`.
        min_freq: the lowest, :math:`\varpi_1 > 0`: its period should exceed the range of
            :math:`\lambda` (about 20 for the book's schedules).
        max_freq: the highest, :math:`\varpi_{n_\varpi} \ge \varpi_1`, which sets the finest
            resolved change of :math:`\lambda`.
        dtype: the dtype of the result (that of the values they multiply).

    Returns:
        ``(n_frequencies,)``, increasing.
    """
    n_frequencies = check_int("n_frequencies", n_frequencies, low=1)
    min_freq = check_real("min_freq", min_freq, low=0.0, low_open=True)
    max_freq = check_real("max_freq", max_freq, low=min_freq)
    return torch.exp(
        torch.linspace(math.log(min_freq), math.log(max_freq), n_frequencies, dtype=dtype)
    )


def sinusoidal_embedding(values: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    r"""The sinusoidal embedding :math:`\mathbf{e}(\lambda)` of one scalar per row
    (eq. (train-embedding)): the sines of :math:`\varpi_j\lambda`, then their cosines.

    Args:
        values: ``(B,)`` finite scalars :math:`\lambda` (the log-SNR in Part I).
        frequencies: ``(n_frequencies,)`` the :math:`\varpi_j`, e.g. from
            :func:`embedding_frequencies`.

    Returns:
        ``(B, 2 * n_frequencies)``, in the dtype of ``values * frequencies``.
    """
    check_tensor("values", values, ("B",))
    check_tensor("frequencies", frequencies, ("n_frequencies",))
    angles = values[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def linear_layer(
    n_in: int, n_out: int, generator: torch.Generator, *, bias: bool = True
) -> nn.Linear:
    r"""``nn.Linear(n_in, n_out, bias)`` initialised from ``generator``, without touching the
    global random state: the weights, then the biases, uniform on
    :math:`(-1/\sqrt{n_{\text{in}}}, 1/\sqrt{n_{\text{in}}})`.

    This is PyTorch's default law for ``nn.Linear``, and it draws the same numbers: a generator
    in the state of the global one gives the layer ``nn.Linear`` would, to the bit (both round
    the exact product of the float32 bound and a 24-bit uniform once). Every network of the book
    is initialised by this function, the denoisers of Part I and the ring networks of Part III.

    Args:
        n_in: input features, ``>= 1``.
        n_out: output features, ``>= 1``.
        generator: the source of the weights.
        bias: whether the layer has a bias (drawn after the weights).

    Returns:
        The layer, float32.
    """
    n_in = check_int("n_in", n_in, low=1)
    n_out = check_int("n_out", n_out, low=1)
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out, bias=bias)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.copy_(bound * (2 * torch.rand(n_out, n_in, generator=generator) - 1))
        if bias:
            layer.bias.copy_(bound * (2 * torch.rand(n_out, generator=generator) - 1))
    return layer


class Denoiser(nn.Module):
    r"""The MLP :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, \lambda_t)`, float32.

    Noise levels outside ``log_snr_range`` (a buffer, ``(2,)``, set from the training
    schedule by :func:`lecture_code.ddpm.algorithms.train`) are clamped into it, silently: a
    schedule that goes beyond the trained range (the linear schedules with :math:`T = 10` and
    100 end below it) is evaluated at the nearest trained level (chapter 4, "Why many small
    steps", measures what that costs; :class:`NoiseLevelClamp` gives any predictor the same
    clamp).

    Args:
        D: data dimension.
        hidden: width of the hidden layers.
        depth: number of residual blocks, ``>= 1``.
        embed_dim: size of the sinusoidal embedding, :math:`2n_\varpi` (even).
        generator: the source of the initial weights (the global random state is not used).
    """

    def __init__(
        self, D: int, hidden: int, depth: int, embed_dim: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.D = check_int("D", D, low=1)
        hidden = check_int("hidden", hidden, low=1)
        depth = check_int("depth", depth, low=1)
        self.embed_dim = check_int("embed_dim", embed_dim, low=2)
        if embed_dim % 2:
            raise ValueError(
                f"embed_dim must be even (sines and cosines in pairs), got {embed_dim}"
            )
        self.input = linear_layer(D, hidden, generator)
        self.embed = nn.Sequential(
            linear_layer(embed_dim, hidden, generator),
            nn.SiLU(),
            linear_layer(hidden, hidden, generator),
        )
        self.blocks = nn.ModuleList(linear_layer(hidden, hidden, generator) for _ in range(depth))
        self.output = linear_layer(hidden, D, generator)
        self.act = nn.SiLU()
        # The noise levels seen in training; others are clamped into this range (set by
        # lecture_code.ddpm.algorithms.train from the training schedule, saved with the weights).
        self.register_buffer("log_snr_range", torch.tensor([-math.inf, math.inf]))

    def forward(self, x_t: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        r"""Predict the noise.

        Args:
            x_t: ``(B, D)`` noised points (cast to float32).
            log_snr: ``(B,)`` their noise levels :math:`\lambda_t`.

        Returns:
            ``(B, D)`` float32, :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, \lambda_t)`.
        """
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", self.D), dims=dims)
        check_tensor("log_snr", log_snr, ("B",), dims=dims)
        low, high = self.log_snr_range.tolist()
        # Outside the trained range the embedding would extrapolate; at the low end x_t is
        # noise already and at the high end x_t is the data, so clamping costs little.
        log_snr = log_snr.float().clamp(low, high)
        # Rows that share a noise level (all of them, in sampling) share one embedding, which
        # then broadcasts over the batch.
        levels, inverse = torch.unique(log_snr, return_inverse=True)
        frequencies = embedding_frequencies(self.embed_dim // 2, dtype=levels.dtype)
        g = self.embed(sinusoidal_embedding(levels, frequencies))
        if levels.numel() > 1:
            g = g[inverse]
        h = self.input(x_t.float())
        for block in self.blocks:
            h = h + block(self.act(h + g))
        return self.output(self.act(h))


@dataclass(frozen=True)
class MixtureOracle:
    r"""The exact noise predictor for data from a Gaussian mixture (eq. (train-oracle)):
    :math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t] = -\sigma_t\,
    \nabla\log q(\mathbf{x}_t)`, with :math:`q(\mathbf{x}_t)` the mixture noised with the scale
    :math:`a_t = \sqrt{\bar\alpha_t}` and the noise standard deviation :math:`\sigma_t =
    \sqrt{1 - \bar\alpha_t}`, read off the noise level: :math:`\bar\alpha_t =
    \mathrm{sigmoid}(\lambda_t)`.

    Attributes:
        data: the data distribution :math:`q(\mathbf{x}_0)`.
    """

    data: GaussianMixture

    def __call__(self, x_t: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """``x_t: (B, D)``, ``log_snr: (B,)`` -> ``(B, D)`` float64; every row may have its own
        noise level (rows that share one are evaluated together)."""
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", self.data.D), dims=dims)
        check_tensor("log_snr", log_snr, ("B",), dims=dims)
        x_t = x_t.to(torch.float64)
        levels, inverse = torch.unique(log_snr.to(torch.float64), return_inverse=True)
        eps = torch.empty_like(x_t)
        for j, level in enumerate(levels):
            rows = inverse == j
            # alpha_bar = sigmoid(lambda) and 1 - alpha_bar = sigmoid(-lambda), both accurate.
            scale = math.sqrt(torch.sigmoid(level).item())
            sigma = math.sqrt(torch.sigmoid(-level).item())
            score = self.data.noised(scale, sigma).score(x_t[rows])
            eps[rows] = eps_from_score(score, sigma)
        return eps


@dataclass(frozen=True)
class NoiseLevelClamp:
    r"""A noise predictor whose noise levels are clamped into ``[low, high]`` first, as
    :class:`Denoiser` does with its trained range: ``NoiseLevelClamp(oracle, *range)`` is the
    exact predictor with the network's clamp.

    Attributes:
        eps_model: the predictor, ``(B, D), (B,) -> (B, D)``.
        low: the lowest noise level passed on.
        high: the highest, ``>= low``.
    """

    eps_model: EpsModel
    low: float
    high: float

    def __post_init__(self) -> None:
        check_real("high", self.high, low=self.low)

    def __call__(self, x_t: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """``x_t: (B, D)``, ``log_snr: (B,)`` -> ``(B, D)``, the predictor at the clamped
        levels."""
        return self.eps_model(x_t, log_snr.clamp(self.low, self.high))
