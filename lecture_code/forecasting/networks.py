r"""Translation-equivariant networks on the periodic ring of Lorenz-96 sites.

Lorenz-96 is the same at every site: shifting a state round the ring shifts its future
(eq. (l96) is invariant under :math:`k \to k + 1`). A network that respects this symmetry
computes the output at site :math:`k` by one *shared* function of a window of sites around
:math:`k` (book eq. (ring-window)),

.. math::
    y_k = f_\theta\big(u_{k-L}, \dots, u_{k+R}\big), \qquad \text{indices modulo } K,

which is a circular 1-D convolution whose kernel is an MLP (1-D convolutions with kernel
:math:`L + 1 + R` followed by :math:`1 \times 1` convolutions compute the same thing). Every
site of every training state is a training example for the same :math:`f_\theta`, so 20,000
states give 800,000 examples, and the network works for any :math:`K`. The window is
asymmetric because information travels one way: the tendency of :math:`u_k` reads
:math:`u_{k-2}, \dots, u_{k+1}`, so one RK4 substep (four tendency evaluations) reaches from
:math:`k - 8` to :math:`k + 4` with rapidly shrinking weights, and the default window
:math:`[k - 4, k + 3]` holds what matters over one model step.

Three networks are built from the backbone :class:`RingMLP`:

- :class:`RingMLP` itself with one output channel is the deterministic (MSE) network, and with
  ``dropout > 0`` the MC-dropout network; with two channels (mean, log-variance) it is the
  Gaussian-output network;
- :class:`RingDenoiser` is the conditional denoiser of the diffusion forecaster: an *encoder*
  (a :class:`RingMLP`) reads the current state once per forecast step and returns a centre
  :math:`\hat{\mathbf{m}}(\mathbf{u})` and per-site features; a small *head* then evaluates the
  preconditioned denoiser (Karras et al. 2022, eq. (edm-precond)) of :math:`\hat{\mathbf{x}} =
  \mathbf{x}_t/a = \mathbf{x}_0 + \nu\boldsymbol{\epsilon}`, with :math:`\nu = \sigma/a` the
  noise-to-signal ratio (:meth:`lecture_code.score.sde.VPSDE.nu`, Karras et al.'s :math:`\sigma`)

  .. math::
      D(\hat{\mathbf{x}}; \nu, \mathbf{u}) = \hat{\mathbf{m}} + c_{\text{skip}}(\nu)
      (\hat{\mathbf{x}} - \hat{\mathbf{m}}) + c_{\text{out}}(\nu)\,
      F\big(c_{\text{in}}(\nu)(\hat{\mathbf{x}} - \hat{\mathbf{m}}), \nu, \mathbf{h}\big),

  with :math:`c_{\text{skip}} = \sigma_{\text{data}}^2/(\nu^2 + \sigma_{\text{data}}^2)`,
  :math:`c_{\text{out}} = \nu\sigma_{\text{data}}/\sqrt{\nu^2 + \sigma_{\text{data}}^2}`,
  :math:`c_{\text{in}} = 1/\sqrt{\nu^2 + \sigma_{\text{data}}^2}`, at every diffusion step.

Why the centre: for a Gaussian target :math:`\mathcal{N}(\mathbf{m}, \sigma_{\text{data}}^2
\mathbf{I})` the exact denoiser is :math:`\mathbf{m} + c_{\text{skip}}(\hat{\mathbf{x}} -
\mathbf{m})`, so with :math:`\hat{\mathbf{m}} = \mathbf{m}` the head's output :math:`F` is zero.
The one-step law of the truth is close to such a Gaussian (spread :math:`\sigma_\xi
\sqrt\Delta`), so :math:`F` only carries the small corrections (state-dependent spread,
correlations between neighbours, skewness), and :math:`\sigma_{\text{data}}` is set to the
conditional spread, not to the spread of the data as a whole. At large :math:`\nu` the
denoising loss reduces to the mean-square error of :math:`\hat{\mathbf{m}}`, which is how the
encoder learns the mean as accurately as the deterministic network.

Why the split: a sampler calls the denoiser 20 to 1000 times per forecast step with the *same*
:math:`\mathbf{u}`. The encoder's output enters the head's first layer additively, so it is
computed once (:meth:`RingDenoiser.condition`) and each evaluation (:meth:`RingDenoiser.denoise`)
costs only the head: a window of 5 noisy values, two layers of width 32. This is what makes
1000-step samplers affordable on a CPU.

Weights are drawn from a ``generator`` by Part I's :func:`lecture_code.ddpm.denoiser.linear_layer`;
the noise level enters through :func:`lecture_code.ddpm.denoiser.sinusoidal_embedding`.

References:
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364 (preconditioning, noise embedding).
    T. Cohen and M. Welling, "Group equivariant convolutional networks", ICML 2016
    (equivariance by weight sharing).

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`), section "A network
for the ring" (eq. (ring-window)); chapter 12, "A diffusion forecaster"
(:doc:`/book/part3/12_diffusion_forecaster`), sections "The target and the condition" and
"Preconditioning about a centre" (eq. (edm-precond)).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code.ddpm.denoiser import linear_layer, sinusoidal_embedding
from lecture_code.forecasting.dropout import Dropout
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "BackboneConfig",
    "DenoiserConfig",
    "RingDenoiser",
    "RingMLP",
    "count_parameters",
    "ring_windows",
]


@dataclass(frozen=True)
class BackboneConfig:
    """The shared backbone of every learned forecaster: a :class:`RingMLP`'s window and size.

    Attributes:
        left: sites to the left of ``k`` in the window (``L`` of eq. (ring-window)).
        right: sites to the right (``R``).
        hidden: width of the hidden layers.
        depth: number of hidden layers.
    """

    left: int = 4
    right: int = 3
    hidden: int = 64
    depth: int = 3

    def __post_init__(self) -> None:
        check_int("left", self.left, low=0)
        check_int("right", self.right, low=0)
        check_int("hidden", self.hidden, low=1)
        check_int("depth", self.depth, low=1)

    def build(
        self,
        in_channels: int,
        out_channels: int,
        generator: torch.Generator,
        dropout: float = 0.0,
        shared_masks: bool = False,
    ) -> RingMLP:
        """A fresh :class:`RingMLP` with these settings, its weights drawn from ``generator``."""
        size = dataclasses.asdict(self)  # left, right, hidden, depth
        return RingMLP(
            in_channels,
            out_channels,
            **size,
            generator=generator,
            dropout=dropout,
            shared_masks=shared_masks,
        )


@dataclass(frozen=True)
class DenoiserConfig:
    r"""The diffusion head of :class:`RingDenoiser` (the encoder is a :class:`BackboneConfig`).

    Attributes:
        head_window: noisy sites the head reads around ``k`` (odd).
        head_hidden: the head's width.
        sigma_data: :math:`\sigma_{\text{data}}` of eq. (edm-precond), in normalised units: the
            conditional spread of the normalised residual, about
            :math:`\sigma_\xi\sqrt\Delta / s_r \approx 0.22` for the benchmark's truth.
        n_frequencies: Fourier features of :math:`\log\nu`.
    """

    head_window: int = 5
    head_hidden: int = 32
    sigma_data: float | None = 0.25
    n_frequencies: int = 8

    def __post_init__(self) -> None:
        check_int("head_window", self.head_window, low=1)
        check_int("head_hidden", self.head_hidden, low=1)
        if self.sigma_data is not None:
            check_real("sigma_data", self.sigma_data, low=0.0, low_open=True)
        check_int("n_frequencies", self.n_frequencies, low=1)

    def build(self, backbone: BackboneConfig, generator: torch.Generator) -> RingDenoiser:
        """A fresh :class:`RingDenoiser`, ``backbone`` its encoder, weights from ``generator``
        (``sigma_data`` must be resolved to a number first)."""
        if self.sigma_data is None:
            raise ValueError(
                "sigma_data is None (estimate it from the training data): resolve it with "
                "lecture_code.forecasting.conditional_spread.estimate_sigma_data first"
            )
        encoder, head = dataclasses.asdict(backbone), dataclasses.asdict(self)
        return RingDenoiser(**encoder, generator=generator, **head)


def ring_windows(u: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """The window of sites ``k - left .. k + right`` around every site, indices modulo ``K``.

    Args:
        u: (B, K, C) fields with ``C`` channels per site.
        left: sites to the left, >= 0 (at most ``K - 1``).
        right: sites to the right, >= 0 (at most ``K - 1``).

    Returns:
        (B, K, W * C) with ``W = left + 1 + right``; entry ``[b, k, j * C + c]`` is
        ``u[b, (k - left + j) mod K, c]``.
    """
    check_tensor("u", u, ("B", "K", "C"))
    K = u.shape[1]
    check_int("left", left, low=0, high=K - 1)
    check_int("right", right, low=0, high=K - 1)
    return _ring_windows(u, left, right)


def _ring_windows(u: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """:func:`ring_windows` without the checks, for the inner loops of samplers."""
    K = u.shape[1]
    padded = torch.cat([u[:, K - left :], u, u[:, :right]], dim=1) if left or right else u
    # unfold: (B, K, C, W) with the window last; put sites-then-channels order in the last axis.
    windows = padded.unfold(1, left + 1 + right, 1)
    return windows.transpose(2, 3).reshape(u.shape[0], K, -1)


class RingMLP(nn.Module):
    """A shared MLP on the window of every site: a translation-equivariant map of fields,
    eq. (ring-window).

    ``out[b, k] = mlp(window(u)[b, k])``: a linear layer, ``depth - 1`` more hidden layers with
    SiLU activations (and dropout after each activation when ``dropout > 0``), and a linear
    output layer.

    Args:
        in_channels: channels per site of the input.
        out_channels: channels per site of the output.
        left: sites to the left of ``k`` in the window.
        right: sites to the right of ``k`` in the window.
        hidden: width of the hidden layers.
        depth: number of hidden layers, >= 1.
        generator: the source of the initial weights (the global random state is not used).
        dropout: dropout probability after each hidden activation, in [0, 1).
        shared_masks: one dropout mask per row, shared by every site (one sampled network),
            instead of one per site (:class:`lecture_code.forecasting.dropout.Dropout`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        left: int,
        right: int,
        hidden: int,
        depth: int,
        generator: torch.Generator,
        dropout: float = 0.0,
        shared_masks: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.out_channels = check_int("out_channels", out_channels, low=1)
        self.left = check_int("left", left, low=0)
        self.right = check_int("right", right, low=0)
        check_int("hidden", hidden, low=1)
        check_int("depth", depth, low=1)
        self.dropout = check_real("dropout", dropout, low=0.0, high=1.0, high_open=True)
        width = (left + 1 + right) * in_channels
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [linear_layer(width if i == 0 else hidden, hidden, generator), nn.SiLU()]
            if dropout > 0.0:
                layers.append(Dropout(dropout, shared=shared_masks))
        layers.append(linear_layer(hidden, out_channels, generator))
        self.mlp = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the shared MLP at every site.

        Args:
            u: (B, K, in_channels) fields, or (B, K) when ``in_channels = 1``.

        Returns:
            (B, K, out_channels).
        """
        if u.ndim == 2 and self.in_channels == 1:
            u = u.unsqueeze(-1)
        check_tensor("u", u, ("B", "K", self.in_channels))
        if u.shape[1] <= max(self.left, self.right):
            raise ValueError(
                f"u must have more than max(left, right) = {max(self.left, self.right)} sites, "
                f"got shape {tuple(u.shape)}"
            )
        return self.mlp(_ring_windows(u, self.left, self.right))


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class RingDenoiser(nn.Module):
    r"""The preconditioned conditional denoiser :math:`D(\hat{\mathbf{x}}; \nu, \mathbf{u})`
    of the diffusion forecaster, eq. (edm-precond).

    Args:
        left, right, hidden, depth: the encoder's window and size (see :class:`RingMLP`).
        generator: the source of the initial weights (the global random state is not used).
        head_window: the noisy sites the head reads around ``k`` (odd, centred).
        head_hidden: the head's width.
        sigma_data: :math:`\sigma_{\text{data}}`, the conditional spread of the target, in the
            target's (normalised) units.
        n_frequencies: Fourier features of the noise level :math:`\log\nu`.
    """

    def __init__(
        self,
        left: int,
        right: int,
        hidden: int,
        depth: int,
        generator: torch.Generator,
        head_window: int = 5,
        head_hidden: int = 32,
        sigma_data: float = 0.25,
        n_frequencies: int = 8,
    ) -> None:
        super().__init__()
        check_int("head_window", head_window, low=1)
        if head_window % 2 == 0:
            raise ValueError(f"head_window must be odd (a centred window), got {head_window}")
        self.half_window = head_window // 2
        self.head_hidden = check_int("head_hidden", head_hidden, low=1)
        self.sigma_data = check_real("sigma_data", sigma_data, low=0.0, low_open=True)
        # Encoder: channel 0 is the centre m_hat, the rest enter the head's first layer.
        self.encoder = RingMLP(1, 1 + head_hidden, left, right, hidden, depth, generator)
        self.x_in = linear_layer(head_window, head_hidden, generator, bias=False)
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(n_frequencies, dtype=torch.float32) / 8
        )
        H = head_hidden  # the head's width, as in denoise
        self.noise_in = nn.Sequential(
            linear_layer(2 * n_frequencies, H, generator), nn.SiLU(), linear_layer(H, H, generator)
        )
        self.head = nn.Sequential(
            nn.SiLU(), linear_layer(H, H, generator), nn.SiLU(), linear_layer(H, 1, generator)
        )

    def condition(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the encoder once for a batch of (normalised) current states.

        Args:
            u: (B, K) normalised states.

        Returns:
            ``(m_hat, features)``: (B, K) centres and (B, K, head_hidden) features.
        """
        out = self.encoder(u)
        # contiguous copies: the head adds to the features at every sampler step
        return out[..., 0].contiguous(), out[..., 1:].contiguous()

    def denoise(
        self,
        x_hat: torch.Tensor,
        nu: torch.Tensor,
        condition: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        r""":math:`D(\hat{\mathbf{x}}; \nu, \mathbf{u})` given the encoder's output.

        Args:
            x_hat: (B, K) noisy targets :math:`\hat{\mathbf{x}} = \mathbf{x}_0 +
                \nu\boldsymbol{\epsilon}`.
            nu: (B,) noise levels, the noise-to-signal ratios :math:`\nu > 0`.
            condition: ``(m_hat, features)`` from :meth:`condition` for the same B.

        Returns:
            (B, K) the denoised estimate of :math:`\mathbf{x}_0`.
        """
        m_hat, features = condition
        level = nu[:, None]
        sd2 = self.sigma_data**2
        c_skip = sd2 / (level**2 + sd2)
        c_out = level * self.sigma_data / torch.sqrt(level**2 + sd2)
        c_in = 1.0 / torch.sqrt(level**2 + sd2)
        deviation = x_hat - m_hat
        half = self.half_window
        windows = _ring_windows((c_in * deviation).unsqueeze(-1), half, half)
        B, K, H = features.shape
        # EDM's c_noise = log(nu) / 4, expanded in sines and cosines of doubling frequency.
        embedding = self.noise_in(sinusoidal_embedding(0.25 * torch.log(nu), self.frequencies))
        # first layer: features + noise embedding + x_in(windows), fused into one addmm
        first = (features + embedding[:, None, :]).reshape(B * K, H)
        first = torch.addmm(first, windows.reshape(B * K, -1), self.x_in.weight.T)
        F = self.head(first.reshape(B, K, H))[..., 0]
        return m_hat + c_skip * deviation + c_out * F

    def forward(self, x_hat: torch.Tensor, nu: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``denoise(x_hat, nu, condition(u))``; shapes as there."""
        return self.denoise(x_hat, nu, self.condition(u))
