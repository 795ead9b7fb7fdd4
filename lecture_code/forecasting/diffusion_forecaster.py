r"""The conditional diffusion forecaster: a score-based model of the one-step residual.

The normalised residual :math:`\mathbf{x}_0 = (\mathbf{u}_{n+1} - \mathbf{u}_n - \mu_r)/s_r` is
drawn given :math:`\mathbf{u}_n` by a sampler of :mod:`lecture_code.score.samplers`, which takes
the learned conditional denoiser
(:class:`lecture_code.forecasting.networks.RingDenoiser`). The encoder of the denoiser reads the
current state once per chunk of states; the sampler then evaluates only its head, ``nfe`` times
per forecast step.

References:
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`),
section "Sampling".
"""

from __future__ import annotations

import torch

from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.forecasters import NetworkForecaster
from lecture_code.forecasting.networks import RingDenoiser
from lecture_code.score.samplers import SAMPLERS, sample
from lecture_code.score.sde import VPSDE, prior_sample
from lecture_code.validation import check_choice, check_int

__all__ = ["DiffusionForecaster"]


class DiffusionForecaster(NetworkForecaster):
    r"""The conditional diffusion forecaster: the normalised residual is drawn by a sampler of
    :mod:`lecture_code.score.samplers` from the learned conditional denoiser.

    For every chunk of states the encoder runs once
    (:meth:`~lecture_code.forecasting.networks.RingDenoiser.condition`); the sampler then calls
    the denoiser :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t)`, the head alone applied to
    :math:`\mathbf{x}_t/a(t)` at the level :math:`\nu(t)`, ``nfe`` times.

    Args:
        network: the trained :class:`~lecture_code.forecasting.networks.RingDenoiser`.
        scaling: the normalisation.
        K: number of sites.
        sde: the VP-SDE it was trained with.
        sampler: a name in :data:`lecture_code.score.samplers.SAMPLERS`.
        n_steps: the number of levels of the sampler's default grid
            (:func:`lecture_code.score.samplers.sample`).
        chunk: states per sampler call.
        name: the label in results.
    """

    def __init__(
        self,
        network: RingDenoiser,
        scaling: Scaling,
        K: int,
        sde: VPSDE,
        sampler: str = "dpm_solver_2m",
        n_steps: int = 20,
        chunk: int = 400,
        name: str = "diffusion",
    ) -> None:
        super().__init__(scaling, K, chunk)
        if not isinstance(network, RingDenoiser):
            raise TypeError(f"network must be a RingDenoiser, got {type(network).__name__}")
        self.network = network.eval()
        self.sde = sde
        self.sampler = check_choice("sampler", sampler, SAMPLERS)
        self.n_steps = check_int("n_steps", n_steps, low=1)
        self.name = name
        #: network evaluations per forecast step, counted by the sampler (set on first use)
        self.nfe: int | None = None

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        condition = self.network.condition(self.scaling.states(u))
        sde = self.sde

        def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            nu = sde.nu(t).to(torch.float32)  # the noise level of x_hat = x_t / a(t)
            x_hat = x_t / sde.scale(t).to(torch.float32)[:, None]
            return self.network.denoise(x_hat, nu, condition)

        x_T = prior_sample(sde, tuple(u.shape), generator)
        x_0, nfe = sample(self.sampler, denoiser, sde, x_T, self.n_steps, generator)
        self.nfe = nfe
        return x_0
