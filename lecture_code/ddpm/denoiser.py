r"""The noise predictor :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, t)`: a small MLP with a
sinusoidal embedding of the noise level, and the exact predictor for mixture data.

**Conditioning on the noise level.** The network does not see the integer step :math:`t` but
the log signal-to-noise ratio :math:`\lambda_t = \log\mathrm{SNR}(t) = \log(\bar\alpha_t /
(1 - \bar\alpha_t))`, a fixed function of :math:`t` for a given schedule (book eq.
``train-log-snr``). What a denoiser has to know is how much noise :math:`\mathbf{x}_t`
carries, and :math:`\lambda_t` says exactly that, whatever the schedule or the number of
steps: one trained network can then be sampled with schedules of different :math:`T`
(Kingma et al. 2021 make the same choice). The scalar :math:`\lambda` enters through sines and
cosines of geometrically spaced frequencies (eq. ``train-embedding``),

.. math::

    \mathbf{e}(\lambda) = \big(\sin(\omega_1\lambda), \dots, \sin(\omega_K\lambda),
    \cos(\omega_1\lambda), \dots, \cos(\omega_K\lambda)\big),

the time embedding of transformers (Vaswani et al. 2017) applied to a noise level, so that
small changes of :math:`\lambda` are easy to resolve.

**The architecture.** :math:`\mathbf{h} \leftarrow \mathbf{W}_{\text{in}}\mathbf{x}_t`, then
``depth`` residual blocks :math:`\mathbf{h} \leftarrow \mathbf{h} +
\mathbf{W}_k\,\mathrm{SiLU}(\mathbf{h} + \mathbf{g}(\mathbf{e}(\lambda)))` with a small MLP
:math:`\mathbf{g}` of the embedding, and an output layer back to :math:`D` numbers.

**The exact predictor.** For mixture data the best possible noise prediction in mean square,
:math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t] = -\sqrt{1-\bar\alpha_t}\,\nabla\log
q(\mathbf{x}_t)`, is known in closed form (:class:`MixtureOracle`); it takes the same inputs as
the network, which separates the error of the sampler from the error of the learning.

References: A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, arXiv:1706.03762;
D. P. Kingma, T. Salimans, B. Poole, J. Ho, "Variational Diffusion Models", NeurIPS 2021,
arXiv:2107.00630.

Book: chapter 4 (:doc:`/book/part1/04_training_sampling`), section "A denoiser for points in
the plane", eqs. ``train-log-snr``, ``train-embedding``, ``train-oracle``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code.ddpm.toy_data import GaussianMixture
from lecture_code.validation import check_int, check_real, check_tensor

#: The type of a noise predictor ``eps_model(x_t, log_snr)``, with ``x_t`` of shape ``(B, D)``
#: and ``log_snr`` of shape ``(B,)``, returning shape ``(B, D)``.
EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sinusoidal_embedding(
    log_snr: torch.Tensor, dim: int, min_freq: float = 0.05, max_freq: float = 5.0
) -> torch.Tensor:
    r"""The sinusoidal embedding :math:`\mathbf{e}(\lambda)` (eq. ``train-embedding``).

    Args:
        log_snr: ``(B,)`` noise levels :math:`\lambda` (finite).
        dim: embedding size, even, ``>= 2``; ``dim / 2`` frequencies.
        min_freq: the lowest angular frequency :math:`\omega_1 > 0`: its period should exceed
            the range of :math:`\lambda` (about 20 for the book's schedules).
        max_freq: the highest :math:`\omega_K \ge \omega_1`, which sets the finest resolved
            change of :math:`\lambda`.

    Returns:
        ``(B, dim)``, in the dtype of ``log_snr``: sines first, then cosines.
    """
    check_tensor("log_snr", log_snr, ("B",))
    dim = check_int("dim", dim, low=2)
    if dim % 2:
        raise ValueError(f"dim must be even (sines and cosines in pairs), got {dim}")
    min_freq = check_real("min_freq", min_freq, low=0.0, low_open=True)
    max_freq = check_real("max_freq", max_freq, low=min_freq)
    freqs = torch.exp(
        torch.linspace(math.log(min_freq), math.log(max_freq), dim // 2, dtype=log_snr.dtype)
    )
    angles = log_snr[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def _linear(n_in: int, n_out: int, generator: torch.Generator) -> nn.Linear:
    """``nn.Linear`` initialised from ``generator`` (PyTorch's default uniform law,
    :math:`U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})`), without touching the global random state."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.copy_(bound * (2 * torch.rand(n_out, n_in, generator=generator) - 1))
        layer.bias.copy_(bound * (2 * torch.rand(n_out, generator=generator) - 1))
    return layer


class Denoiser(nn.Module):
    r"""The MLP :math:`\boldsymbol{\epsilon}_\theta(\mathbf{x}_t, \lambda_t)`, float32.

    Noise levels outside ``log_snr_range`` (a buffer, ``(2,)``, set from the training
    schedule by :func:`lecture_code.ddpm.algorithms.train`) are clamped into it.

    Args:
        D: data dimension.
        hidden: width of the hidden layers.
        depth: number of residual blocks, ``>= 1``.
        embed_dim: size of the sinusoidal embedding (even).
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
        self.input = _linear(D, hidden, generator)
        self.embed = nn.Sequential(
            _linear(embed_dim, hidden, generator), nn.SiLU(), _linear(hidden, hidden, generator)
        )
        self.blocks = nn.ModuleList(_linear(hidden, hidden, generator) for _ in range(depth))
        self.output = _linear(hidden, D, generator)
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
        g = self.embed(sinusoidal_embedding(levels, self.embed_dim))
        if levels.numel() > 1:
            g = g[inverse]
        h = self.input(x_t.float())
        for block in self.blocks:
            h = h + block(self.act(h + g))
        return self.output(self.act(h))


@dataclass(frozen=True)
class MixtureOracle:
    r"""The exact noise predictor for data from a Gaussian mixture (eq. ``train-oracle``):
    :math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t] = -\sqrt{1-\bar\alpha_t}\,
    \nabla\log q(\mathbf{x}_t)`, with :math:`q(\mathbf{x}_t)` the mixture noised to level
    :math:`\bar\alpha_t = \mathrm{sigmoid}(\lambda_t)`.

    Attributes:
        data: the data distribution :math:`q(\mathbf{x}_0)`.
    """

    data: GaussianMixture

    def __call__(self, x_t: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """``(B, D), (B,) -> (B, D)`` float64; every row may have its own noise level."""
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", self.data.D), dims=dims)
        check_tensor("log_snr", log_snr, ("B",), dims=dims)
        x_t = x_t.to(torch.float64)
        log_snr = log_snr.to(torch.float64)
        # alpha_bar = sigmoid(lambda) and 1 - alpha_bar = sigmoid(-lambda), both accurate.
        scale = torch.sqrt(torch.sigmoid(log_snr))[:, None, None]  # (B, 1, 1)
        sigma2 = torch.sigmoid(-log_snr)[:, None, None, None]  # (B, 1, 1, 1)
        # Component c of q(x_t): mean scale * mu_c, covariance scale^2 Sigma_c + sigma^2 I.
        eye = torch.eye(self.data.D, dtype=torch.float64)
        covs = scale[..., None] ** 2 * self.data.covs + sigma2 * eye  # (B, C, D, D)
        L = torch.linalg.cholesky(covs)
        diff = x_t[:, None, :] - scale * self.data.means  # (B, C, D)
        y = torch.linalg.solve_triangular(L, diff[..., None], upper=False)[..., 0]
        half_log_det = torch.log(torch.diagonal(L, dim1=2, dim2=3)).sum(dim=2)  # (B, C)
        log_joint = torch.log(self.data.weights) - 0.5 * (y**2).sum(dim=2) - half_log_det
        responsibilities = torch.softmax(log_joint, dim=1)  # (B, C)
        component_scores = -torch.cholesky_solve(diff[..., None], L)[..., 0]  # (B, C, D)
        score = torch.einsum("bc,bcd->bd", responsibilities, component_scores)
        return -torch.sqrt(sigma2[:, 0, 0]) * score
