r"""Probabilistic one-step forecasters of Lorenz-96, their autoregressive rollout, and the two
reference forecasters (the oracle and climatology).

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
- the learned baselines of :mod:`lecture_code.forecasting.baselines` (a deterministic network,
  MC dropout, a Gaussian-output network, a deep ensemble) and the conditional diffusion model of
  :mod:`lecture_code.forecasting.diffusion_forecaster`.

The learned forecasters share :class:`NetworkForecaster`: they work on the one-step residual,
normalised by scalars (:class:`lecture_code.forecasting.fit.Scaling`), and run their networks in
float32 on chunks of states (a few hundred at a time, so that the activations stay in the
processor's cache); states are float64. A forecaster's ``name`` is its key in the benchmark's
results and in the plotting style (:data:`lecture_code.plots.style.FORECASTERS`).

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`); chapter 12, "A
diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`), eq. (rollout).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from lecture_code import runtime
from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "ClimatologyForecaster",
    "DivergedForecastError",
    "Forecaster",
    "NetworkForecaster",
    "OracleForecaster",
    "rollout",
]


@runtime_checkable
class Forecaster(Protocol):
    """Anything that draws next states.

    ``sample_next(u, M, generator)`` takes states ``u: (B, K)`` and returns ``(B, M, K)``:
    ``M`` independent draws of the state one model step Δ later, for each of the ``B`` states.
    Two optional hooks, which :func:`rollout` uses when present:

    - ``advance(x: (B, M, K), generator) -> (B, M, K)``, one draw per member, when a member's
      law depends on its path, not only on its current state (a deep ensemble, whose members
      each follow one network), or when the members are equal (the deterministic network);
    - ``begin(B: int, M: int, generator) -> None``, called once before the first step, to draw
      what stays fixed along each of the ``B * M`` paths (the deep ensemble draws each path's
      network there). With both hooks the first step is ``advance`` of the initial states
      repeated ``M`` times, so the draws of ``begin`` hold from the first step on.
    """

    name: str

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) draws of the next state."""
        ...


class DivergedForecastError(ValueError):
    """A rollout whose members overflowed: a learned forecaster that left the attractor (its
    draws grew without bound and became infinite or NaN). A result about the forecaster, not
    a bug: the benchmark reports it as diverged."""


def _check_finite(x: torch.Tensor, name: str, step: int, n_leads: int) -> None:
    if not bool(torch.isfinite(x).all()):
        raise DivergedForecastError(
            f"{name} diverged: {int((~torch.isfinite(x)).sum())} non-finite entries after "
            f"{step} of {n_leads} steps"
        )


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
        progress: show a progress bar over lead times (only where a person watches stderr,
            :func:`lecture_code.runtime.progress`).

    Returns:
        (B, n_leads, M, K) float64: entry ``[b, l - 1, m]`` is member ``m`` of the forecast
        ``l`` model steps after ``u_0[b]``.
    """
    if not isinstance(forecaster, Forecaster):
        raise TypeError(f"forecaster must have a name and sample_next, got {forecaster!r}")
    u_0 = check_tensor("u_0", u_0, ("B", "K"))
    M = check_int("M", M, low=1)
    n_leads = check_int("n_leads", n_leads, low=1)
    B, K = u_0.shape
    advance = getattr(forecaster, "advance", None)
    begin = getattr(forecaster, "begin", None)
    leads = []
    if begin is not None:
        begin(B, M, generator)
    if begin is not None and advance is not None:
        x = advance(u_0.to(torch.float64)[:, None, :].expand(-1, M, -1), generator)
    else:
        x = forecaster.sample_next(u_0, M, generator)
    x = x.to(torch.float64)
    _check_finite(x, forecaster.name, 1, n_leads)
    leads.append(x)
    for _ in runtime.progress(range(n_leads - 1), desc=forecaster.name, enabled=progress):
        if advance is not None:
            x = advance(x, generator).to(torch.float64)
        else:
            x = forecaster.sample_next(x.reshape(B * M, K), 1, generator)
            x = x.to(torch.float64).reshape(B, M, K)
        _check_finite(x, forecaster.name, len(leads) + 1, n_leads)
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


# --- the learned forecasters ------------------------------------------------------------------
class NetworkForecaster:
    """Shared plumbing of the learned forecasters: validation, normalisation, chunking, no
    gradients. A subclass draws one normalised residual per state (``_draw``); this class turns
    the draws into next states, ``M`` per state.

    Args:
        scaling: the normalisation of states and residuals.
        K: number of sites.
        chunk: rows per network call.
    """

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
