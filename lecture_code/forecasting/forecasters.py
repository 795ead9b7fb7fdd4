r"""Probabilistic one-step forecasters of Lorenz-96 and their autoregressive rollout.

A forecaster maps the current state :math:`\mathbf{u}_n` to ``M`` draws of the next state
:math:`\mathbf{u}_{n+1}`, one model step :math:`\Delta` later (:class:`Forecaster`). Rolling it
forward (:func:`rollout`) feeds every member its own previous draw, so an ensemble of ``M``
members samples a distribution over *paths*, eq. (rollout):

.. math::
    \mathbf{u}^{(m)}_{n+\ell} \sim p_\theta\big(\cdot \mid \mathbf{u}^{(m)}_{n+\ell-1}\big),
    \qquad \mathbf{u}^{(m)}_{n} = \mathbf{u}_n, \qquad m = 1, \dots, M .

The forecasters of the benchmark (book chapter 13), from the best possible to the simplest:

- :class:`OracleForecaster` runs the true stochastic chain itself: its members sample the exact
  forecast distribution, the floor no forecaster can beat.
- :class:`ClimatologyForecaster` ignores the state and draws states of a long truth run: the
  ceiling a forecast must beat to be worth anything.
- :class:`DeterministicForecaster`: a network trained on the mean-square error predicts the
  conditional mean; all members are equal (its CRPS is its mean absolute error).
- :class:`MCDropoutForecaster` (Gal and Ghahramani 2016): the same network with its dropout
  masks drawn afresh at every evaluation; the spread of the passes is read as uncertainty.
- :class:`GaussianForecaster`: a network that outputs a mean and a variance per site, trained on
  the Gaussian negative log-likelihood, sampled independently at every step and site;
  :class:`DeepEnsembleForecaster` (Lakshminarayanan et al. 2017): several such networks, each
  member of the ensemble following one of them for its whole path.
- :class:`DiffusionForecaster`: a conditional diffusion model of the normalised one-step
  residual :math:`(\mathbf{u}_{n+1} - \mathbf{u}_n - \mu_r)/s_r` given :math:`\mathbf{u}_n`,
  sampled by one of :mod:`lecture_code.score.samplers`.

All the network forecasters work on the residual, normalised by scalars
(:class:`lecture_code.forecasting.fit.Scaling`), and run their networks in float32 on chunks of
states
(a few hundred at a time, so that the activations stay in the processor's cache); states are
float64.

References:
    Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation: representing model
    uncertainty in deep learning", ICML 2016, arXiv:1506.02142.
    B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and scalable predictive uncertainty
    estimation using deep ensembles", NeurIPS 2017, arXiv:1612.01474.
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.

Book: chapter 11, "Uncertainty baselines"; chapter 12, "A diffusion forecaster", eq. (rollout).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step
from lecture_code.forecasting.networks import Dropout, RingDenoiser, set_dropout
from lecture_code.score.samplers import SAMPLERS
from lecture_code.score.sde import VPSDE, score_from_denoiser
from lecture_code.validation import check_choice, check_int, check_tensor

__all__ = [
    "ClimatologyForecaster",
    "DeepEnsembleForecaster",
    "DeterministicForecaster",
    "DiffusionForecaster",
    "Forecaster",
    "GaussianForecaster",
    "MCDropoutForecaster",
    "OracleForecaster",
    "rollout",
]


@runtime_checkable
class Forecaster(Protocol):
    """Anything that draws next states.

    ``sample_next(u, M, generator)`` takes states ``u: (B, K)`` and returns ``(B, M, K)``:
    ``M`` independent draws of the state one model step Δ later, for each of the ``B`` states.
    A forecaster may also define ``advance(x: (B, M, K), generator) -> (B, M, K)``, one draw
    per member, when its members are not exchangeable (a deep ensemble); :func:`rollout` uses
    it when present.
    """

    name: str

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) draws of the next state."""
        ...


def _check_states(u: object, K: int) -> torch.Tensor:
    return check_tensor("u", u, ("B", K))


def rollout(
    forecaster: Forecaster,
    u_0: torch.Tensor,
    M: int,
    n_leads: int,
    generator: torch.Generator,
    *,
    progress: bool = False,
) -> torch.Tensor:
    """``M``-member ensemble forecasts of ``n_leads`` model steps from each initial state,
    eq. (rollout).

    Args:
        forecaster: a :class:`Forecaster`.
        u_0: (B, K) initial states.
        M: members, >= 1.
        n_leads: number of model steps, >= 1.
        generator: the source of all randomness.
        progress: show a progress bar over lead times.

    Returns:
        (B, n_leads, M, K) float64: entry ``[b, l - 1, m]`` is member ``m`` of the forecast
        ``l`` model steps after ``u_0[b]``.
    """
    from tqdm.auto import tqdm

    if not isinstance(forecaster, Forecaster):
        raise TypeError(f"forecaster must have a name and sample_next, got {forecaster!r}")
    u_0 = check_tensor("u_0", u_0, ("B", "K"))
    M = check_int("M", M, low=1)
    n_leads = check_int("n_leads", n_leads, low=1)
    B, K = u_0.shape
    advance = getattr(forecaster, "advance", None)
    leads = []
    x = forecaster.sample_next(u_0, M, generator).to(torch.float64)
    leads.append(x)
    for _ in tqdm(range(n_leads - 1), desc=forecaster.name, disable=not progress, leave=False):
        if advance is not None:
            x = advance(x, generator).to(torch.float64)
        else:
            x = forecaster.sample_next(x.reshape(B * M, K), 1, generator)
            x = x.to(torch.float64).reshape(B, M, K)
        leads.append(x)
    return torch.stack(leads, dim=1)


def _repeat(u: torch.Tensor, M: int) -> torch.Tensor:
    """(B, K) -> (B * M, K), each row repeated M times in a row (member index fastest)."""
    return u.repeat_interleave(M, dim=0)


# --- the reference forecasters ----------------------------------------------------------------
class OracleForecaster:
    """Members of the true stochastic chain (:func:`lecture_code.forecasting.lorenz96.model_step`).

    Args:
        system: the truth system.
    """

    name = "oracle"

    def __init__(self, system: Lorenz96) -> None:
        if not isinstance(system, Lorenz96):
            raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
        self.system = system

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) draws of the true next state."""
        u = _check_states(u, self.system.K)
        M = check_int("M", M, low=1)
        x = model_step(_repeat(u.to(torch.float64), M), self.system, generator)
        return x.reshape(u.shape[0], M, -1)


class ClimatologyForecaster:
    """States of a long truth run, drawn with replacement whatever the current state.

    Args:
        climatology: (N, K) states on the attractor.
    """

    name = "climatology"

    def __init__(self, climatology: torch.Tensor) -> None:
        self.climatology = check_tensor("climatology", climatology, ("N", "K"))

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) climatological draws (``u`` fixes only B and K)."""
        u = _check_states(u, self.climatology.shape[1])
        M = check_int("M", M, low=1)
        index = torch.randint(0, self.climatology.shape[0], (u.shape[0], M), generator=generator)
        return self.climatology[index].to(torch.float64)


# --- network forecasters ----------------------------------------------------------------------
class _NetworkForecaster:
    """Shared plumbing: validation, normalisation, chunking, no gradients."""

    name = "network"

    def __init__(self, scaling: Scaling, K: int, chunk: int) -> None:
        if not isinstance(scaling, Scaling):
            raise TypeError(f"scaling must be a Scaling, got {type(scaling).__name__}")
        self.scaling = scaling
        self.K = check_int("K", K, low=4)
        self.chunk = check_int("chunk", chunk, low=1)

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw of the normalised residual for each row of ``u``: (N, K) -> (N, K)."""
        raise NotImplementedError

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) draws of the next state."""
        u = _check_states(u, self.K)
        M = check_int("M", M, low=1)
        rows = _repeat(u, M)
        out = torch.empty(rows.shape, dtype=torch.float64)
        with torch.no_grad():
            for start in range(0, rows.shape[0], self.chunk):
                part = rows[start : start + self.chunk]
                out[start : start + self.chunk] = self.scaling.next_state(
                    part, self._draw(part, generator)
                )
        return out.reshape(u.shape[0], M, self.K)


class DeterministicForecaster(_NetworkForecaster):
    """The conditional mean of a :class:`~lecture_code.forecasting.networks.RingMLP` trained on the
    mean-square error (dropout, if any, switched off); all ``M`` members are equal.

    Args:
        network: maps (B, K) normalised states to (B, K, 1) normalised mean residuals.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
    """

    name = "deterministic"

    def __init__(self, network: nn.Module, scaling: Scaling, K: int, chunk: int = 400) -> None:
        super().__init__(scaling, K, chunk)
        self.network = set_dropout(network, False)

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.network(self.scaling.states(u))[..., 0]

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K): the mean next state, repeated M times."""
        u = _check_states(u, self.K)
        M = check_int("M", M, low=1)
        mean = super().sample_next(u, 1, generator)
        return mean.expand(-1, M, -1).clone()

    def advance(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, M, K) -> (B, M, K); the members are equal, so only the first is computed."""
        check_tensor("x", x, ("B", "M", self.K))
        return self.sample_next(x[:, 0], x.shape[1], generator)


class MCDropoutForecaster(_NetworkForecaster):
    """MC dropout (Gal and Ghahramani 2016): every member and every step is one pass of the
    MSE network with fresh dropout masks (drawn per site and hidden unit).

    This is the baseline of the lecture the book grows from: the spread of the passes is the
    whole forecast uncertainty. Gal and Ghahramani also add a constant "aleatoric" variance
    :math:`\tau^{-1}` to the predictive distribution; with it the forecaster becomes a
    Gaussian with a fitted variance, which :class:`GaussianForecaster` covers with a
    state-dependent variance. The benchmark keeps the baseline honest by choosing the dropout
    rate (at training and at inference) by the validation CRPS of whole rollouts
    (:func:`lecture_code.benchmark.run.tune_dropout`).

    Args:
        network: a :class:`~lecture_code.forecasting.networks.RingMLP` with ``dropout > 0``.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
    """

    name = "mc_dropout"

    def __init__(self, network: nn.Module, scaling: Scaling, K: int, chunk: int = 400) -> None:
        super().__init__(scaling, K, chunk)
        if not any(isinstance(layer, Dropout) and layer.p > 0 for layer in network.modules()):
            raise ValueError("network must contain dropout layers with p > 0, found none")
        self.network = network

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        set_dropout(self.network, True, generator)
        try:
            return self.network(self.scaling.states(u))[..., 0]
        finally:
            set_dropout(self.network, False)


class GaussianForecaster(_NetworkForecaster):
    """A network with a mean and a log-variance per site, sampled independently per site:
    :math:`r_k = \\mu_k + e^{\\frac12 \\log v_k}\\,\\xi_k`.

    Args:
        network: maps (B, K) normalised states to (B, K, 2): mean and log-variance of the
            normalised residual.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
        name: the label in results.
    """

    def __init__(
        self,
        network: nn.Module,
        scaling: Scaling,
        K: int,
        chunk: int = 400,
        name: str = "gaussian",
    ) -> None:
        super().__init__(scaling, K, chunk)
        self.network = set_dropout(network, False)
        self.name = name

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = self.network(self.scaling.states(u))
        xi = torch.randn(out.shape[:-1], generator=generator)
        return out[..., 0] + torch.exp(0.5 * out[..., 1]) * xi


class DeepEnsembleForecaster:
    """A deep ensemble (Lakshminarayanan et al. 2017) of Gaussian-output networks: member ``m``
    follows network ``m mod E`` for its whole path, so the spread holds both each network's
    variance and the networks' disagreement.

    Args:
        members: the :class:`GaussianForecaster` of each network (E >= 2).
    """

    name = "deep_ensemble"

    def __init__(self, members: list[GaussianForecaster]) -> None:
        if len(members) < 2:
            raise ValueError(f"a deep ensemble needs >= 2 networks, got {len(members)}")
        self.members = members

    def advance(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, M, K) -> (B, M, K): member ``m`` advanced by network ``m mod E``."""
        check_tensor("x", x, ("B", "M", self.members[0].K))
        out = torch.empty(x.shape, dtype=torch.float64)
        for e, member in enumerate(self.members):
            ours = x[:, e :: len(self.members)]
            if ours.shape[1] == 0:
                continue
            flat = ours.reshape(-1, x.shape[2])
            out[:, e :: len(self.members)] = member.sample_next(flat, 1, generator).reshape(
                ours.shape
            )
        return out

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K), member ``m`` drawn from network ``m mod E``."""
        u = _check_states(u, self.members[0].K)
        M = check_int("M", M, low=1)
        return self.advance(u.to(torch.float64)[:, None, :].expand(-1, M, -1), generator)


class DiffusionForecaster(_NetworkForecaster):
    r"""The conditional diffusion forecaster: the normalised residual is drawn by a sampler of
    :mod:`lecture_code.score.samplers` from the score of the learned conditional denoiser.

    For every chunk of states the encoder runs once
    (:meth:`~lecture_code.forecasting.networks.RingDenoiser.condition`); the sampler then calls the
    score :math:`(s(t)\,D - \mathbf{x}_t)/\bar\sigma(t)^2` (eq. (tweedie-vp)) with
    :math:`D` from the head alone, ``nfe`` times.

    Args:
        network: the trained :class:`~lecture_code.forecasting.networks.RingDenoiser`.
        scaling: the normalisation.
        K: number of sites.
        sde: the VP-SDE it was trained with.
        sampler: a name in :data:`lecture_code.score.samplers.SAMPLERS`.
        n_steps: the sampler's ``n_steps``.
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

        def score_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            sigma = sde.sigma(t).to(torch.float32)
            x_hat = x_t / sde.marginal_scale(t).to(torch.float32)[:, None]
            return score_from_denoiser(sde, x_t, t, self.network.denoise(x_hat, sigma, condition))

        x_T = sde.prior_sample(tuple(u.shape), generator)
        x_0, nfe = SAMPLERS[self.sampler](score_fn, sde, x_T, self.n_steps, generator)
        self.nfe = nfe
        return x_0
