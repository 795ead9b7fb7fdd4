r"""The samplers of chapter 7 under one signature, by name.

Every sampler is a plain function

    ``sampler(denoiser, sde, grid, x_T, generator) -> (x_0, nfe)``,

where ``denoiser(x_t: (B, ...), t: (B,))`` returns :math:`\hat{\mathbf{x}}_0 =
\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]` (:data:`lecture_code.score.denoisers.Denoiser`),
``sde`` is the VP-SDE, ``grid`` is ``(N + 1,)`` noise-to-signal ratios from :math:`\nu_0 \le
\nu(1)` down to 0 (:mod:`lecture_code.score.grids`), ``x_T`` is ``(B, ...)`` states at
:math:`\nu_0` (any shape after the batch axis: ``(B, 2)`` for the toy data, ``(B, K)`` for a
Lorenz-96 field), and ``nfe`` is the number of denoiser calls, counted. Every sampler ends with
Tweedie's jump at the last positive level :math:`\nu(t_{\min})`.

- deterministic, :mod:`lecture_code.score.ode_samplers`: ``ddim``, ``heun``,
  ``dpm_solver_2s``, ``dpm_solver_2m``;
- stochastic, :mod:`lecture_code.score.sde_samplers`: ``ancestral``, ``euler_maruyama``,
  ``predictor_corrector``, and ``heun`` with ``s_churn > 0``.

:data:`DEFAULT_GRIDS` gives each sampler its usual grid for a number of steps, and
:func:`sample` runs a sampler by name on it: the form in which Part III and the benchmark call
them. With ``n_steps`` grid values before the 0, ``ddim``, ``ancestral``, ``euler_maruyama`` and
``dpm_solver_2m`` cost ``n_steps`` evaluations, and ``heun``, ``dpm_solver_2s`` and
``predictor_corrector`` cost ``2 n_steps - 1``.

Book: chapter 7, "Samplers" (:doc:`/book/part2/07_samplers`); used by chapter 12, "A diffusion
forecaster" (:doc:`/book/part3/12_diffusion_forecaster`), and chapter 13, "The benchmark"
(:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_code.score import grids
from lecture_code.score.denoisers import Denoiser
from lecture_code.score.ode_samplers import ddim, dpm_solver_2m, dpm_solver_2s, heun
from lecture_code.score.sde import VPSDE
from lecture_code.score.sde_samplers import ancestral, euler_maruyama, predictor_corrector
from lecture_code.validation import check_choice, check_int

__all__ = ["DEFAULT_GRIDS", "SAMPLERS", "Sampler", "sample"]

#: ``sampler(denoiser, sde, grid, x_T, generator) -> (x_0, nfe)``.
Sampler = Callable[..., tuple[torch.Tensor, int]]

#: The samplers by name, for configuration files and the benchmark.
SAMPLERS: dict[str, Sampler] = {
    "ancestral": ancestral,
    "euler_maruyama": euler_maruyama,
    "predictor_corrector": predictor_corrector,
    "ddim": ddim,
    "heun": heun,
    "dpm_solver_2s": dpm_solver_2s,
    "dpm_solver_2m": dpm_solver_2m,
}


def _karras(sde: VPSDE, n_steps: int) -> torch.Tensor:
    return grids.karras_grid(sde, n_steps, rho=7.0)


#: Each sampler's usual grid, ``grid(sde, n_steps) -> (n_steps + 1,)``: uniform times for the
#: SDE samplers (Song et al. 2021), Karras et al.'s rho = 7 for Heun and the single-step
#: DPM-Solver, uniform log-SNR for DDIM and the multistep DPM-Solver (Lu et al. 2022).
DEFAULT_GRIDS: dict[str, Callable[[VPSDE, int], torch.Tensor]] = {
    "ancestral": grids.time_grid,
    "euler_maruyama": grids.time_grid,
    "predictor_corrector": grids.time_grid,
    "ddim": grids.log_snr_grid,
    "heun": _karras,
    "dpm_solver_2s": _karras,
    "dpm_solver_2m": grids.log_snr_grid,
}


def sample(
    name: str,
    denoiser: Denoiser,
    sde: VPSDE,
    x_T: torch.Tensor,
    n_steps: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, int]:
    """Run the sampler ``name`` on its default grid with ``n_steps`` levels before the 0.

    Returns:
        ``(x_0, nfe)`` as the sampler returns them.
    """
    name = check_choice("sampler", name, SAMPLERS)
    n_steps = check_int("n_steps", n_steps, low=1)
    if not isinstance(sde, VPSDE):
        raise TypeError(f"sde must be a VPSDE, got {type(sde).__name__}")
    grid = DEFAULT_GRIDS[name](sde, n_steps)
    return SAMPLERS[name](denoiser, sde, grid, x_T, generator)
