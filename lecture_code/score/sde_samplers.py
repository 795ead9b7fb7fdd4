r"""Stochastic samplers: ancestral sampling (DDPM), Euler–Maruyama on the reverse-time SDE, and
predictor–corrector.

All share the signature of :mod:`lecture_code.score.samplers`,
``sampler(denoiser, sde, grid, x_T, generator) -> (x_0, nfe)``, draw their noise from
``generator``, and end with Tweedie's jump on the last interval of the grid.

- :func:`ancestral`: from level :math:`t` down to :math:`s < t`, draw from the Gaussian
  posterior :math:`q(\mathbf{x}_s \mid \mathbf{x}_t, \mathbf{x}_0)` with :math:`\mathbf{x}_0`
  replaced by :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t)` (eq. (samplers-ancestral)): chapter
  3's reverse step (eq. (elbo-posterior)) between any two levels. With
  :math:`a_{t|s} = a_t/a_s` and :math:`\sigma_{t|s}^2 = \sigma_t^2 - a_{t|s}^2\sigma_s^2`,

  .. math::
      \mathbf{x}_s = \frac{a_{t|s}\sigma_s^2}{\sigma_t^2}\mathbf{x}_t +
      \frac{a_s\sigma_{t|s}^2}{\sigma_t^2}\hat{\mathbf{x}}_0 +
      \frac{\sigma_s\sigma_{t|s}}{\sigma_t}\mathbf{z} .

  Weak order 1 in the step.
- :func:`euler_maruyama`: the reverse-time SDE (eq. (sde-reverse-time)) discretised,
  :math:`\mathbf{x}_{i+1} = \mathbf{x}_i - h_i[\mathbf{f} - g^2\mathbf{s}] +
  g\sqrt{h_i}\,\mathbf{z}_i`, :math:`h_i = t_i - t_{i+1}` (eq. (samplers-em)). Weak order 1.
- :func:`predictor_corrector`: each Euler–Maruyama step (the predictor) followed by one
  Langevin step at the new level (the corrector, chapter 5's eq. (score-langevin)) whose step
  is set by a signal-to-noise ratio :math:`\zeta`: :math:`\eta = 2(\zeta\lVert\mathbf{z}\rVert/
  \lVert\mathbf{s}\rVert)^2` (Song et al. 2021, Algorithm 5, with the norms of the samples
  averaged over the batch, as in their code: the step is shared by the batch).
  The corrector pulls the state towards :math:`p_{t_{i+1}}`; it costs a second evaluation.

References:
    J. Ho, A. Jain, P. Abbeel, "Denoising diffusion probabilistic models", NeurIPS 2020,
    arXiv:2006.11239.
    D. P. Kingma, T. Salimans, B. Poole, J. Ho, "Variational diffusion models", NeurIPS 2021,
    arXiv:2107.00630 (the posterior between any two levels).
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`), section "Running the reverse SDE",
eqs. (samplers-ancestral), (samplers-em), (samplers-pc).
"""

from __future__ import annotations

import itertools
import math

import torch

from lecture_code.score.denoisers import Denoiser, sampler_inputs
from lecture_code.score.sde import VPSDE, reverse_drift
from lecture_code.validation import check_real

__all__ = ["ancestral", "ancestral_step", "euler_maruyama", "predictor_corrector"]


def _need_generator(name: str, generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} draws noise and needs a torch.Generator, got {generator!r}")
    return generator


def ancestral(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, int]:
    r"""Ancestral sampling between the levels of ``grid``, eq. (samplers-ancestral).

    Args:
        denoiser: ``denoiser(x_t, t)``, see :data:`lecture_code.score.denoisers.Denoiser`.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios, see :mod:`lecture_code.score.grids`.
        x_T: ``(B, ...)`` states at the first level.
        generator: draws the noise.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of denoiser calls (``N``).
    """
    model, _, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    generator = _need_generator("ancestral", generator)
    for t, s in itertools.pairwise(times):
        x = ancestral_step(sde, x, model(x, t), t, s, generator)
    return model(x, times[-1]), model.nfe


def ancestral_step(
    sde: VPSDE,
    x_t: torch.Tensor,
    x_0: torch.Tensor,
    t: float,
    s: float,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""One draw of :math:`q(\mathbf{x}_s \mid \mathbf{x}_t, \mathbf{x}_0)`,
    eq. (samplers-ancestral), for times :math:`0 < s < t \le 1`.

    Args:
        sde: the VP-SDE.
        x_t: ``(B, ...)`` states at time ``t``.
        x_0: ``(B, ...)`` the clean points (or their estimate).
        t: the higher time.
        s: the lower time.
        generator: draws the noise.

    Returns:
        ``(B, ...)`` states at time ``s``.
    """
    if not 0.0 < s < t <= 1.0:
        raise ValueError(f"need 0 < s < t <= 1, got s = {s}, t = {t}")
    a_t, sigma_t = float(sde.scale(t)), float(sde.sigma(t))
    a_s, sigma_s = float(sde.scale(s)), float(sde.sigma(s))
    a_ts = a_t / a_s
    var_ts = sigma_t**2 - a_ts**2 * sigma_s**2
    z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype)
    return (
        (a_ts * sigma_s**2 / sigma_t**2) * x_t
        + (a_s * var_ts / sigma_t**2) * x_0
        + (sigma_s * math.sqrt(var_ts) / sigma_t) * z
    )


def euler_maruyama(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, int]:
    r"""Euler–Maruyama on the reverse-time SDE between the times of ``grid``,
    eq. (samplers-em).

    Args:
        denoiser: ``denoiser(x_t, t)``.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios (:func:`lecture_code.score.grids.time_grid`
            gives Song et al.'s uniform times).
        x_T: ``(B, ...)`` states at the first level.
        generator: draws the noise.

    Returns:
        ``(x_0, nfe)``: samples and the number of denoiser calls (``N``).
    """
    model, _, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    generator = _need_generator("euler_maruyama", generator)
    for t, t_next in itertools.pairwise(times):
        h = t - t_next
        x = x - h * reverse_drift(sde, x, t, model.score(x, t))
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + math.sqrt(float(sde.beta(t)) * h) * z
    return model(x, times[-1]), model.nfe


def predictor_corrector(
    denoiser: Denoiser,
    sde: VPSDE,
    grid: torch.Tensor,
    x_T: torch.Tensor,
    generator: torch.Generator,
    *,
    snr: float = 0.1,
) -> tuple[torch.Tensor, int]:
    r"""Predictor–corrector sampling (Song et al. 2021, Algorithm 5 for the VP-SDE),
    eq. (samplers-pc): an Euler–Maruyama step to :math:`t_{i+1}`, then one Langevin step
    :math:`\mathbf{x} \leftarrow \mathbf{x} + \eta\,\mathbf{s} + \sqrt{2\eta}\,\mathbf{z}` at
    :math:`t_{i+1}` with :math:`\eta = 2(\zeta\lVert\mathbf{z}\rVert/\lVert\mathbf{s}\rVert)^2`,
    the norms averaged over the batch (one step for the whole batch, so its rows are not
    independent runs).

    Args:
        denoiser: ``denoiser(x_t, t)``.
        sde: the VP-SDE.
        grid: ``(N + 1,)`` noise-to-signal ratios.
        x_T: ``(B, ...)`` states at the first level.
        generator: draws the noise.
        snr: the corrector's signal-to-noise ratio :math:`\zeta > 0`.

    Returns:
        ``(x_0, nfe)``: samples and the number of denoiser calls (``2N - 1``).
    """
    model, _, times, x = sampler_inputs(denoiser, sde, grid, x_T)
    generator = _need_generator("predictor_corrector", generator)
    snr = check_real("snr", snr, low=0.0, low_open=True)
    for t, t_next in itertools.pairwise(times):
        h = t - t_next
        x = x - h * reverse_drift(sde, x, t, model.score(x, t))
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + math.sqrt(float(sde.beta(t)) * h) * z
        # The corrector: one Langevin step on p_{t_next}. Its size uses the norms averaged over
        # the batch, as Song et al.'s code does: per sample, |z| / |s| is unbounded where the
        # score vanishes (near a mode), and in low dimension such samples are common.
        score = model.score(x, t_next)
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        z_norm = torch.linalg.vector_norm(z.reshape(x.shape[0], -1), dim=1).mean()
        s_norm = torch.linalg.vector_norm(score.reshape(x.shape[0], -1), dim=1).mean()
        eta = 2.0 * (snr * z_norm / s_norm.clamp_min(1e-12)) ** 2
        x = x + eta * score + torch.sqrt(2.0 * eta) * z
    return model(x, times[-1]), model.nfe
