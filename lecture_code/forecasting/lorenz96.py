"""The Lorenz-96 system: the chaotic truth of Part III.

Lorenz (1996) wrote down a ring of ``K`` sites carrying one scalar each, ``u_k``, with indices
taken modulo ``K`` (``u_{k+K} = u_k``), and the equations (book eq. (l96))

    du_k/dt = (u_{k+1} - u_{k-2}) u_{k-1} - u_k + F.

The first term is advection: it moves "weather" around the ring and conserves the energy
``U = sum_k u_k^2 / 2`` (eq. (l96-energy)), ``-u_k`` is damping and ``F`` a constant forcing. For
``F = 8`` and ``K = 40`` the motion is chaotic, with a leading Lyapunov exponent near 1.7 per time
unit (error doubling in about 0.4 time units, which Lorenz likened to two days of weather).

Time stepping is the classical fourth-order Runge--Kutta method (RK4) with substep ``dt`` (δ).
The *truth* of the benchmark is a discrete stochastic chain: one model step of length
``Delta = substeps * dt`` applies ``substeps`` times an RK4 substep followed by an additive kick
``sigma_xi * sqrt(dt) * xi`` with ``xi ~ N(0, I)`` (eq. (l96-stochastic)). That chain *defines*
the truth, so members of the same chain started from the true state sample the exact forecast
distribution (the oracle). With ``p_burst > 0`` each kick also carries the centred burst field of
:mod:`lecture_code.forecasting.bursts` (the bursty truth, eq. (l96-burst)). To leading order in
``Delta`` one Gaussian model step spreads a state by ``sigma_xi * sqrt(Delta)`` per site (eq.
(l96-one-step-var)).

The tangent linear model, Lyapunov exponents and the other diagnostics of chaos are in
:mod:`lecture_code.forecasting.chaos`.

All functions are batched (batch axis first) and use whatever floating dtype they are given; the
book uses float64 throughout for the truth.

References:
    E. N. Lorenz, "Predictability: a problem partly solved", ECMWF Seminar on Predictability, 1996.
    E. N. Lorenz and K. A. Emanuel, "Optimal sites for supplementary weather observations:
    simulation with a small model", J. Atmos. Sci. 55, 1998.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`), eqs. (l96), (l96-energy),
(l96-rk4), (l96-stochastic), (l96-one-step-var).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lecture_code.forecasting.bursts import burst_field, check_burst
from lecture_code.validation import check_choice, check_int, check_real, check_tensor

__all__ = [
    "Lorenz96",
    "advection",
    "convergence_order",
    "integrate",
    "lead_steps",
    "model_step",
    "rk4_step",
    "spin_up",
    "tendency",
    "tendency_rolled",
    "trajectory",
]


@dataclass(frozen=True)
class Lorenz96:
    """Settings of the (stochastic) Lorenz-96 truth system.

    Attributes:
        K: number of sites on the ring (at least 4, so that ``k-2, k-1, k, k+1`` are distinct).
        F: the forcing ``F`` (8 gives chaos).
        dt: the RK4 substep δ in time units.
        substeps: RK4 substeps per model step.
        sigma_xi: amplitude σ_ξ of the kick ``sigma_xi * sqrt(dt) * xi`` after each substep;
            0 (with ``p_burst = 0``) gives the deterministic system.
        p_burst: probability of a burst per site and substep (eq. (l96-burst)); 0, the
            default, is the Gaussian control and draws exactly the random numbers it always did.
        J_burst: mean burst amplitude ``J``; used only when ``p_burst > 0``.
    """

    K: int = 40
    F: float = 8.0
    dt: float = 0.01
    substeps: int = 5
    sigma_xi: float = 1.0
    p_burst: float = 0.0
    J_burst: float = 2.0

    def __post_init__(self) -> None:
        check_int("K", self.K, low=4)
        check_real("F", self.F)
        check_real("dt", self.dt, low=0.0, low_open=True)
        check_int("substeps", self.substeps, low=1)
        check_real("sigma_xi", self.sigma_xi, low=0.0)
        check_burst(self.p_burst, self.J_burst)

    @property
    def Delta(self) -> float:
        """The model (forecast) step Δ = ``substeps * dt`` in time units."""
        return self.dt * self.substeps

    @property
    def deterministic(self) -> Lorenz96:
        """The same system without kicks or bursts (``sigma_xi = p_burst = 0``)."""
        return dataclasses.replace(self, sigma_xi=0.0, p_burst=0.0)

    @property
    def noisy(self) -> bool:
        """Whether a model step draws random numbers (kicks or bursts)."""
        return self.sigma_xi > 0.0 or self.p_burst > 0.0


def _check_state(name: str, u: object, K: int | None = None) -> torch.Tensor:
    """``u`` as a finite floating tensor of shape (B, K)."""
    return check_tensor(name, u, ("B", "K" if K is None else K))


def advection(u: torch.Tensor) -> torch.Tensor:
    """The advection term ``(u_{k+1} - u_{k-2}) u_{k-1}`` with periodic indices.

    Args:
        u: states, (B, K).

    Returns:
        (B, K). It is orthogonal to ``u``: ``sum_k u_k advection_k = 0`` (eq. (l96-energy)).
    """
    u = _check_state("u", u)
    return _advection(u)


def _ring(u: torch.Tensor) -> torch.Tensor:
    """``u`` padded periodically to ``(u_{K-2}, u_{K-1}, u_0, ..., u_{K-1}, u_0)``, (B, K + 3).

    Column ``k + j + 2`` of the result is ``u_{k+j}``, so slices of it are the shifted rings
    ``u_{k-2}``, ``u_{k-1}``, ``u_{k+1}`` without copying: faster than :func:`tendency_rolled`.
    """
    return torch.cat([u[..., -2:], u, u[..., :1]], dim=-1)


def _advection(u: torch.Tensor) -> torch.Tensor:
    K = u.shape[-1]
    ring = _ring(u)
    # (u_{k+1} - u_{k-2}) u_{k-1}: columns k+3, k and k+1 of the padded ring.
    return (ring[..., 3:] - ring[..., :K]).mul_(ring[..., 1 : K + 1])


def _tendency(u: torch.Tensor, F: float) -> torch.Tensor:
    return _advection(u).sub_(u).add_(F)


def tendency(u: torch.Tensor, F: float) -> torch.Tensor:
    """The right-hand side du/dt = ``(u_{k+1} - u_{k-2}) u_{k-1} - u_k + F`` of eq. (l96), (B, K).

    ``u`` holds states, (B, K) with K >= 4; ``F`` is the forcing.
    """
    u = _check_state("u", u)
    if u.shape[-1] < 4:
        raise ValueError(f"u must have K >= 4 sites, got shape {tuple(u.shape)}")
    F = check_real("F", F)
    return _tendency(u, F)


def tendency_rolled(u: torch.Tensor, F: float) -> torch.Tensor:
    """Eq. (l96) by three ``torch.roll`` calls, (B, K): the plain twin of :func:`tendency`."""
    u = _check_state("u", u)
    return (u.roll(-1, -1) - u.roll(2, -1)) * u.roll(1, -1) - u + check_real("F", F)


def _rk4_step(u: torch.Tensor, dt: float, F: float) -> torch.Tensor:
    # u_next = u + dt/6 (k1 + 2 k2 + 2 k3 + k4), summed in place into `slope` to save memory
    # traffic on batches of tens of thousands of states.
    k1 = _tendency(u, F)
    k2 = _tendency(torch.add(u, k1, alpha=0.5 * dt), F)
    slope = k1.add_(k2, alpha=2.0)
    k3 = _tendency(torch.add(u, k2, alpha=0.5 * dt), F)
    slope.add_(k3, alpha=2.0)
    k4 = _tendency(torch.add(u, k3, alpha=dt), F)
    slope.add_(k4)
    return torch.add(u, slope, alpha=dt / 6.0)


def rk4_step(u: torch.Tensor, dt: float, F: float) -> torch.Tensor:
    """One Runge--Kutta step of eq. (l96), eq. (l96-rk4): the states ``u`` (B, K) ``dt`` later.

    The local error is O(dt^5), so the error after a fixed time ``t = n dt`` is O(dt^4).
    """
    u = _check_state("u", u)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    F = check_real("F", F)
    return _rk4_step(u, dt, F)


def integrate(
    u_0: torch.Tensor, time: float, dt: float, F: float, method: str = "rk4"
) -> torch.Tensor:
    """The deterministic solution of eq. (l96) at ``time``, by ``time / dt`` fixed steps.

    Used to measure the order of a method: the error at a fixed time scales as ``dt^p``.

    Args:
        u_0: initial states, (B, K).
        time: the end time, a whole multiple of ``dt``.
        dt: the step > 0.
        F: the forcing.
        method: ``"rk4"`` (order 4) or ``"euler"`` (order 1).

    Returns:
        (B, K).
    """
    u = _check_state("u_0", u_0)
    time = check_real("time", time, low=0.0)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    F = check_real("F", F)
    check_choice("method", method, ("rk4", "euler"))
    n_steps = round(time / dt)
    if abs(n_steps * dt - time) > 1e-9 * max(1.0, time):
        raise ValueError(f"time must be a whole multiple of dt = {dt:g}, got time = {time:g}")
    for _ in range(n_steps):
        u = _rk4_step(u, dt, F) if method == "rk4" else u + dt * _tendency(u, F)
    return u


def convergence_order(steps: Sequence[float], errors: torch.Tensor) -> float:
    """The order p of a method: least-squares slope of ``log(error)`` against ``log(step)``.

    ``steps``: (L,) step sizes, L >= 2; ``errors``: (L,) positive errors at those steps.
    Returns the fitted slope p in ``error ~ C step^p``.
    """
    x = torch.log(torch.as_tensor(steps, dtype=torch.float64))
    y = torch.log(check_tensor("errors", errors, (x.shape[0],)).to(torch.float64))
    if x.shape[0] < 2:
        raise ValueError(f"steps must hold at least 2 values, got {x.shape[0]}")
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x * x).sum())


def _model_step(
    u: torch.Tensor, system: Lorenz96, generator: torch.Generator | None
) -> torch.Tensor:
    stochastic = generator is not None and system.noisy
    kick, p, J = system.sigma_xi * math.sqrt(system.dt), system.p_burst, system.J_burst
    for _ in range(system.substeps):
        u = _rk4_step(u, system.dt, system.F)
        if stochastic:  # the kick first, then the bursts: p = 0 draws what the control draws
            xi = torch.randn(u.shape, generator=generator, dtype=u.dtype, device=u.device)
            u.add_(xi, alpha=kick)  # u is a fresh tensor from the RK4 substep
            if p > 0.0:
                u.add_(burst_field(u.shape, p, J, generator, dtype=u.dtype, device=u.device))
    return u


def _check_system(system: object) -> Lorenz96:
    if not isinstance(system, Lorenz96):
        raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
    return system


def _kicks(
    system: Lorenz96, generator: torch.Generator | None, deterministic: bool
) -> torch.Generator | None:
    """The source of the kicks, or ``None`` for none, after checking the choice is explicit.

    A forgotten generator must not silently give a noiseless forecast that looks like the truth.
    """
    if deterministic:
        if generator is not None:
            raise ValueError(
                "deterministic=True takes no kicks, so it draws nothing: pass generator=None, "
                f"got a {type(generator).__name__}"
            )
        return None
    if generator is None and system.noisy:
        raise ValueError(
            f"the system has kicks (sigma_xi = {system.sigma_xi:g}, p_burst = "
            f"{system.p_burst:g}) but generator is None: pass "
            "a torch.Generator for the stochastic step, or deterministic=True (or a system with "
            "sigma_xi = 0, such as system.deterministic) for the step without kicks"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


def model_step(
    u: torch.Tensor,
    system: Lorenz96,
    generator: torch.Generator | None = None,
    *,
    deterministic: bool = False,
) -> torch.Tensor:
    """One model step Δ of the truth chain, eq. (l96-stochastic).

    ``system.substeps`` times: an RK4 substep of length δ = ``system.dt``, then the kick
    ``sigma_xi * sqrt(dt) * xi`` with fresh ``xi ~ N(0, I)`` drawn from ``generator`` (and,
    when ``system.p_burst > 0``, the burst field of eq. (l96-burst), drawn after it).

    Args:
        u: states, (B, K) with K = ``system.K``.
        system: the Lorenz-96 settings.
        generator: the source of the kicks; needed when ``system.noisy`` (a system without
            kicks or bursts draws nothing from it and may be given ``None``).
        deterministic: take the RK4 substeps without the kicks (the deterministic step of the
            same system); ``generator`` must then be ``None``.

    Returns:
        The states Δ later, (B, K). Raises ``ValueError`` for a noisy system without a
        generator unless ``deterministic=True``.
    """
    system = _check_system(system)
    u = _check_state("u", u, system.K)
    return _model_step(u, system, _kicks(system, generator, deterministic))


def trajectory(
    u_0: torch.Tensor,
    n_steps: int,
    system: Lorenz96,
    generator: torch.Generator | None = None,
    *,
    deterministic: bool = False,
) -> torch.Tensor:
    """``n_steps`` model steps from ``u_0``, keeping every state.

    Args:
        u_0: initial states, (B, K).
        n_steps: number of model steps, >= 0.
        system: the Lorenz-96 settings.
        generator: source of the kicks, as in :func:`model_step`.
        deterministic: no kicks, as in :func:`model_step`.

    Returns:
        (B, n_steps + 1, K); index 0 is ``u_0``, index ``n`` the state ``n Δ`` later.
    """
    system = _check_system(system)
    u = _check_state("u_0", u_0, system.K)
    n_steps = check_int("n_steps", n_steps, low=0)
    generator = _kicks(system, generator, deterministic)
    states = [u]
    for _ in range(n_steps):
        u = _model_step(u, system, generator)
        states.append(u)
    return torch.stack(states, dim=1)


def lead_steps(tau: float, system: Lorenz96, *, name: str = "tau") -> int:
    """The number of model steps ℓ in a lead time τ = ℓΔ.

    Args:
        tau: lead time in time units, >= 0, a whole multiple of ``system.Delta``.
        system: the Lorenz-96 settings.
        name: the name the error message gives ``tau`` (for callers converting other times).

    Returns:
        ℓ = τ / Δ as an ``int``.

    Raises:
        ValueError: if τ is negative or not a multiple of Δ (to within rounding, 1e-9 relative).
    """
    system = _check_system(system)
    tau = check_real(name, tau, low=0.0)
    ratio = tau / system.Delta
    ell = round(ratio)
    if abs(ratio - ell) > 1e-9 * max(1.0, ratio):
        raise ValueError(
            f"{name} must be a whole multiple of the model step Delta = {system.Delta:g}, "
            f"got {name} = {tau:g} (= {ratio:.6g} steps)"
        )
    return int(ell)


def spin_up(
    B: int, system: Lorenz96, generator: torch.Generator, time: float = 10.0
) -> torch.Tensor:
    """``B`` independent states on the attractor of ``system``.

    Each starts at ``u = F + eta`` with ``eta ~ N(0, I)`` (a random point near the unstable
    fixed point ``u = F``) and is integrated for ``time`` time units (rounded up to whole model
    steps) with the system's own kicks, long enough to forget the start: the perturbation grows
    at about 1.7 per time unit and the attractor is reached within a few time units.

    Args:
        B: number of states, >= 1.
        system: the Lorenz-96 settings (kicks included when ``sigma_xi > 0``).
        generator: draws the starts and the kicks.
        time: spin-up time in time units, >= 0.

    Returns:
        (B, K) float64.
    """
    system = _check_system(system)
    B = check_int("B", B, low=1)
    time = check_real("time", time, low=0.0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    u = system.F + torch.randn((B, system.K), generator=generator, dtype=torch.float64)
    # A small tolerance keeps 10 / 0.05 = 199.99999... from becoming 201 steps.
    n_steps = math.ceil(time / system.Delta - 1e-9)
    for _ in range(n_steps):
        u = _model_step(u, system, generator)
    return u
