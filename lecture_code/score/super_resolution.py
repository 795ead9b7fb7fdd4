r"""Super-resolution and outpainting of a Gaussian random field by conditional diffusion.

**The task** (the cosmology lecture's emulator, Rouhiainen et al. 2023, in one dimension): draw a
high-resolution field :math:`\mathbf{x} \in \mathbb{R}^n` given its low-resolution block average
:math:`\mathbf{y} = \mathbf{B}\mathbf{x}` of m sites (:mod:`lecture_code.score.random_fields`).

**The exact conditional denoiser.** Given :math:`\mathbf{y}`, the data are
:math:`\mathcal{N}(\mathbf{m}, \boldsymbol{\Sigma})` with :math:`\mathbf{m} = \mathbf{G}\mathbf{y}`
(eq. (cond-gaussian-conditional)), so with :math:`\boldsymbol{\Sigma} = \mathbf{U}
\boldsymbol{\Lambda}\mathbf{U}^\top`

.. math::
    \hat{\mathbf{x}}_0(\mathbf{x}_t, t \mid \mathbf{y}) = \mathbf{m} + \mathbf{U}
    \operatorname{diag}\Big(\frac{a\lambda_i}{a^2\lambda_i + \sigma^2}\Big)\mathbf{U}^\top
    (\mathbf{x}_t - a\mathbf{m})

(:func:`gaussian_field_denoiser`, eq. (cond-field-denoiser)): affine in :math:`\mathbf{x}_t`, so a
deterministic sampler run with it is an affine map of :math:`\mathbf{x}_T`, whose covariance is
computed exactly (:func:`affine_sampler_map`). It separates the sampler's error from the network's.

**The learned conditional denoiser.** :class:`SuperResolutionNet` is a small MLP told
:math:`\mathbf{x}_t`, the upsampled :math:`\mathbf{y}` and the log-SNR, with EDM's preconditioning
(Karras et al. 2022) around the upsampled condition :math:`\mathbf{u} = b\mathbf{B}^\top\mathbf{y}`:

.. math::
    \hat{\mathbf{x}}_0 = \mathbf{u} + c_{\text{skip}}(\mathbf{x}_t - a\mathbf{u}) +
    c_{\text{out}}\,F_\theta, \qquad c_{\text{skip}} = \frac{a v}{a^2 v + \sigma^2}, \quad
    c_{\text{out}} = \frac{\sigma\sqrt v}{\sqrt{a^2 v + \sigma^2}},

with :math:`v` the mean variance of :math:`\mathbf{x} - \mathbf{u}`; it is trained on the loss
:math:`\mathbb{E}\lVert\hat{\mathbf{x}}_0 - \mathbf{x}_0\rVert^2/c_{\text{out}}^2` (eq.
(cond-sr-loss)), the DSM loss of chapter 5 written for the denoiser, at times :math:`t \sim
U(t_{\min}, 1)` (:func:`trained_super_resolution`, cached).

**Outpainting** (:func:`outpaint`): a field longer than the window of :math:`w` sites is made patch
by patch; each new patch is drawn given the last ``overlap`` sites of the field so far, from the
exact Gaussian conditional of the window given those sites, by the diffusion sampler with
:func:`gaussian_field_denoiser`. With ``overlap = 0`` the patches are independent.

References:
    A. Rouhiainen, M. Gira, M. Münchmeyer, K. Lee, G. Shiu, "Super-resolution emulation of large
    cosmological fields with a 3D conditional diffusion model", 2023, arXiv:2311.05217. T. Karras,
    M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based generative
    models", NeurIPS 2022, arXiv:2206.00364.

Book: chapter 8, "Conditional diffusion" (:doc:`/book/part2/08_conditional`), sections
"Super-resolution of a Gaussian random field" and "Outpainting", eqs. (cond-field-denoiser),
(cond-sr-loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lecture_code import cache
from lecture_code.ddpm.algorithms import minimise
from lecture_code.ddpm.denoiser import embedding_frequencies, linear_layer, sinusoidal_embedding
from lecture_code.runtime import torch_threads
from lecture_code.score import random_fields
from lecture_code.score.denoisers import Denoiser
from lecture_code.score.samplers import SAMPLERS, sample
from lecture_code.score.sde import VPSDE, prior_sample
from lecture_code.seeding import generator_for
from lecture_code.validation import check_choice, check_int, check_real, check_tensor

__all__ = [
    "SuperResolutionConfig",
    "SuperResolutionNet",
    "affine_sampler_map",
    "gaussian_field_denoiser",
    "network_denoiser",
    "outpaint",
    "trained_super_resolution",
    "window_conditional",
]


def gaussian_field_denoiser(mean: torch.Tensor, cov: torch.Tensor, sde: VPSDE) -> Denoiser:
    r"""The exact denoiser of :math:`\mathbf{x}_0 \sim \mathcal{N}(\mathbf{m}_b,
    \boldsymbol{\Sigma})`, one mean per row, eq. (cond-field-denoiser).

    Args:
        mean: ``(B, n)`` the means :math:`\mathbf{m}_b` (row ``b`` of every batch the sampler
            passes), or ``(n,)`` one for all rows.
        cov: ``(n, n)`` the covariance, symmetric positive semi-definite.
        sde: the process.
    """
    cov = check_tensor("cov", cov, ("n", "n")).to(torch.float64)
    mean = check_tensor("mean", mean).to(torch.float64)
    if mean.ndim not in (1, 2) or mean.shape[-1] != cov.shape[0]:
        raise ValueError(
            f"mean must have shape (B, n) or (n,) with n = {cov.shape[0]}, got {tuple(mean.shape)}"
        )
    eigenvalues, U = torch.linalg.eigh(0.5 * (cov + cov.T))
    eigenvalues = eigenvalues.clamp(min=0)

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", cov.shape[0]), dims=dims)
        check_tensor("t", t, ("B",), dims=dims)
        if mean.ndim == 2 and mean.shape[0] != x_t.shape[0]:
            raise ValueError(
                f"x_t must have {mean.shape[0]} rows, one per mean, got {x_t.shape[0]}"
            )
        a = sde.scale(t)[:, None]
        s = sde.sigma(t)[:, None]
        shrink = a * eigenvalues / (a**2 * eigenvalues + s**2)  # (B, n)
        diff = x_t.to(torch.float64) - a * mean
        return (mean + ((diff @ U) * shrink) @ U.T).to(x_t.dtype)

    return denoiser


def affine_sampler_map(
    sampler: str, denoiser: Denoiser, sde: VPSDE, grid: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The affine map :math:`\mathbf{x}_T \mapsto \mathbf{A}\mathbf{x}_T + \mathbf{b}` that a
    deterministic sampler computes with an affine denoiser (of one fixed mean): run it on
    :math:`\mathbf{x}_T = \mathbf{0}` and on the :math:`n` unit vectors. The law of its output
    for :math:`\mathbf{x}_T \sim \mathcal{N}(\mathbf{0}, \mathbf{I})` is then exactly
    :math:`\mathcal{N}(\mathbf{b}, \mathbf{A}\mathbf{A}^\top)`.

    Args:
        sampler: the name of a deterministic sampler (``ddim``, ``heun``, ``dpm_solver_2s``,
            ``dpm_solver_2m``).
        denoiser: affine in :math:`\mathbf{x}_t`, the same for every row.
        sde: the process.
        grid: the sampler's grid.
        n: the dimension.

    Returns:
        ``(A: (n, n), b: (n,))``.
    """
    check_choice("sampler", sampler, ("ddim", "heun", "dpm_solver_2s", "dpm_solver_2m"))
    n = check_int("n", n, low=1)
    x_T = torch.cat([torch.zeros(1, n, dtype=torch.float64), torch.eye(n, dtype=torch.float64)])
    out, _ = SAMPLERS[sampler](denoiser, sde, grid, x_T, None)
    c = out[0]
    return (out[1:] - c).T, c


@dataclass(frozen=True)
class SuperResolutionConfig:
    r"""Settings of the super-resolution model (every field enters the cache key).

    Attributes:
        n: high-resolution sites.
        m: low-resolution blocks (a divisor of ``n``).
        alpha: spectral exponent :math:`\alpha > 1`.
        n_data: size of the training set of fields.
        hidden: width of the MLP.
        embed_dim: size of the noise-level embedding (even).
        steps: number of Adam steps.
        batch_size: fields per step.
        lr: peak learning rate (cosine decay to zero).
        seed: seed of the training set, the weights and the training noise.
    """

    n: int = 64
    m: int = 16
    alpha: float = 2.0
    n_data: int = 20_000
    hidden: int = 256
    embed_dim: int = 32
    steps: int = 1500
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n", self.n, low=4)
        check_int("m", self.m, low=1)
        random_fields.block_matrix(self.n, self.m)  # m must divide n
        random_fields.check_exponent(self.alpha)
        check_int("n_data", self.n_data, low=1)
        check_int("hidden", self.hidden, low=1)
        check_int("steps", self.steps, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)


class SuperResolutionNet(nn.Module):
    r""":math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t \mid \mathbf{y})` with EDM's preconditioning
    around the upsampled condition (module docstring); float32 inside, float64 out.

    Args:
        config: the sizes.
        v: the mean variance :math:`v` of the field about its upsampled block average.
    """

    def __init__(self, config: SuperResolutionConfig, v: float) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("v", torch.tensor(float(v)))
        self.register_buffer(
            "frequencies", embedding_frequencies(config.embed_dim // 2, dtype=torch.float32)
        )
        gen = generator_for(config.seed, "ch08", "sr", "init")
        width = 2 * config.n + config.embed_dim
        self.body = nn.Sequential(
            linear_layer(width, config.hidden, gen),
            nn.SiLU(),
            linear_layer(config.hidden, config.hidden, gen),
            nn.SiLU(),
            linear_layer(config.hidden, config.n, gen),
        )

    def forward(
        self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor, sde: VPSDE
    ) -> torch.Tensor:
        r"""``(B, n)``: the denoised field.

        Args:
            x_t: ``(B, n)`` noisy fields.
            y: ``(B, m)`` their conditions.
            t: ``(B,)`` times.
            sde: the process.
        """
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", self.config.n), dims=dims)
        check_tensor("y", y, ("B", self.config.m), dims=dims)
        check_tensor("t", t, ("B",), dims=dims)
        a = sde.scale(t)[:, None].float()
        s = sde.sigma(t)[:, None].float()
        u = random_fields.upsample(y, self.config.n).float()
        v = self.v
        c_skip = a * v / (a**2 * v + s**2)
        c_out = s * v.sqrt() / (a**2 * v + s**2).sqrt()
        c_in = 1 / (a**2 * v + s**2).sqrt()
        residual = x_t.float() - a * u
        embed = sinusoidal_embedding(sde.log_snr(t).float() / 4, self.frequencies)
        features = torch.cat([c_in * residual, u, embed], dim=1)
        out = u + c_skip * residual + c_out * self.body(features)
        return out.to(torch.float64)


def _loss(
    net: SuperResolutionNet,
    x_0: torch.Tensor,
    y: torch.Tensor,
    t: torch.Tensor,
    eps: torch.Tensor,
    sde: VPSDE,
) -> torch.Tensor:
    a = sde.scale(t)[:, None].float()
    s = sde.sigma(t)[:, None].float()
    x_t = a * x_0 + s * eps
    v = net.v
    c_out2 = s**2 * v / (a**2 * v + s**2)
    return (((net(x_t, y, t, sde).float() - x_0) ** 2) / c_out2).mean()


def trained_super_resolution(
    config: SuperResolutionConfig, sde: VPSDE, verbose: bool = True
) -> tuple[SuperResolutionNet, torch.Tensor]:
    """The super-resolution network trained with ``config``, from the cache when possible.

    Returns:
        ``(net, losses)``: the network in eval mode and the ``(steps,)`` training losses.
    """
    spectrum = random_fields.power_law_spectrum(config.n, config.alpha)

    def variance_about_condition() -> float:
        cov = random_fields.circulant_covariance(spectrum)
        A = random_fields.block_matrix(config.n, config.m)
        R = torch.eye(config.n, dtype=torch.float64) - config.n // config.m * A.T @ A
        return float(torch.diagonal(R @ cov @ R.T).mean())

    v = variance_about_condition()

    def build() -> dict[str, object]:
        x_data = random_fields.sample_field(
            spectrum, config.n_data, generator_for(config.seed, "ch08", "sr", "data")
        )
        y_data = random_fields.block_average(x_data, config.m).float()
        x_data = x_data.float()
        net = SuperResolutionNet(config, v)

        def loss_fn(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            t = sde.t_min + (1 - sde.t_min) * torch.rand(rows.shape[0], generator=generator)
            eps = torch.randn(rows.shape[0], config.n, generator=generator)
            return _loss(net, x_data[rows], y_data[rows], t.double(), eps, sde)

        def cosine_decay(step: int) -> float:
            return config.lr * (0.5 * (1 + math.cos(math.pi * step / config.steps)))

        with torch_threads(1):
            losses = minimise(
                net,
                loss_fn,
                config.n_data,
                config.steps,
                config.batch_size,
                cosine_decay,
                generator_for(config.seed, "ch08", "sr", "train"),
                desc="super-resolution network",
            )
        return {"state_dict": net.state_dict(), "losses": losses}

    result = cache.cached("super_resolution", (config, sde), build, layer="score", verbose=verbose)
    net = SuperResolutionNet(config, v)
    net.load_state_dict(result["state_dict"])
    net.eval()
    return net, result["losses"]


def network_denoiser(net: SuperResolutionNet, y: torch.Tensor, sde: VPSDE) -> Denoiser:
    r"""The learned conditional denoiser as a closure over the condition ``y: (B, m)`` (one
    per row of the batches the sampler passes)."""
    y = check_tensor("y", y, ("B", net.config.m))

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x_t, y, t, sde).to(x_t.dtype)

    return denoiser


def window_conditional(cov: torch.Tensor, overlap: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The Gaussian conditional of a window of a zero-mean field given its first ``overlap``
    sites :math:`o`: :math:`\mathbb{E}[\mathbf{x} \mid \mathbf{x}_o] = \mathbf{K}\mathbf{x}_o`
    with :math:`\mathbf{K} = \mathbf{C}_{:o}\mathbf{C}_{oo}^{-1}`, and covariance
    :math:`\mathbf{C} - \mathbf{K}\mathbf{C}_{o:}`.

    Args:
        cov: ``(w, w)`` the covariance of the window.
        overlap: the number of known sites, ``0 <= overlap < w``.

    Returns:
        ``(K: (w, overlap), cov: (w, w))``.
    """
    cov = check_tensor("cov", cov, ("w", "w")).to(torch.float64)
    overlap = check_int("overlap", overlap, low=0, high=cov.shape[0] - 1)
    if overlap == 0:
        return torch.zeros(cov.shape[0], 0, dtype=torch.float64), cov
    K = torch.linalg.solve(cov[:overlap, :overlap], cov[:overlap, :]).T
    out = cov - K @ cov[:overlap, :]
    return K, 0.5 * (out + out.T)


def outpaint(
    window_cov: torch.Tensor,
    length: int,
    overlap: int,
    sde: VPSDE,
    n_fields: int,
    n_steps: int,
    generator: torch.Generator,
    sampler: str = "heun",
) -> tuple[torch.Tensor, list[int]]:
    r"""Fields of ``length`` sites made from windows of :math:`w` sites, patch by patch.

    The first window is drawn from :math:`\mathcal{N}(\mathbf{0}, \mathbf{C})`; every next
    window starts ``overlap`` sites before the end of the field so far, is drawn given those
    sites (:func:`window_conditional`), and adds its last :math:`w - \text{overlap}` sites.
    Every window is drawn by the diffusion ``sampler`` with the exact denoiser of its Gaussian
    conditional (:func:`gaussian_field_denoiser`).

    Args:
        window_cov: ``(w, w)`` the covariance of a window.
        length: the length of the fields, ``>= w``.
        overlap: the sites each new patch is conditioned on, ``0 <= overlap < w``.
        sde: the process.
        n_fields: number of fields.
        n_steps: the sampler's steps per patch.
        generator: the source of the prior draws.
        sampler: the name of a sampler.

    Returns:
        ``(fields: (n_fields, length), seams)``: ``seams`` lists the first site of each new
        patch's fresh sites (the field is continuous or not between ``seam - 1`` and ``seam``).
    """
    window_cov = check_tensor("window_cov", window_cov, ("w", "w")).to(torch.float64)
    w = window_cov.shape[0]
    length = check_int("length", length, low=w)
    overlap = check_int("overlap", overlap, low=0, high=w - 1)
    n_fields = check_int("n_fields", n_fields, low=1)
    check_choice("sampler", sampler, SAMPLERS)

    def draw(mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
        x_T = prior_sample(sde, (n_fields, w), generator).to(torch.float64)
        x, _ = sample(
            sampler, gaussian_field_denoiser(mean, cov, sde), sde, x_T, n_steps, generator
        )
        return x

    field = draw(torch.zeros(n_fields, w, dtype=torch.float64), window_cov)
    K, cov = window_conditional(window_cov, overlap)
    seams = []
    while field.shape[1] < length:
        known = field[:, field.shape[1] - overlap :]
        patch = draw(known @ K.T, cov)
        seams.append(field.shape[1])
        field = torch.cat([field, patch[:, overlap:]], dim=1)
    return field[:, :length], [s for s in seams if s < length]
