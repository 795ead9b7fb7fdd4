"""Chaos in Lorenz-96: the tangent linear model, Lyapunov exponents and the diagnostics of the
chapter (linear stability, the one-step spread of the truth, error growth, autocorrelation).

Differentiating eq. (l96) in a direction ``v`` gives the *tangent linear model*
``dv/dt = J(u) v``. Its solutions tell how a small error grows: at the fixed point ``u = F`` the
Jacobian commutes with shifts around the ring and its eigenvalues η_h are those of the Fourier
harmonics (eq. (l96-fixed-eigen)); on the attractor the average growth rate of almost every
error is the leading Lyapunov exponent λ_1, near 1.7 per time unit for ``K = 40``, ``F = 8``
(error doubling in about 0.4 time units).

The tangent linear model of one RK4 step is RK4 applied to the pair (state, tangent):
Runge--Kutta methods commute with linearisation, so this is the exact derivative of the discrete
map. λ_1 is measured with the method of Benettin et al. (1980): tangent vectors follow the
tangent linear model and are re-orthonormalised by a QR decomposition after every model step;
the logs of the diagonal of ``R`` accumulate into the exponents (eq. (l96-lyapunov)). The same
derivative carries the kicks of one model step to its end, which gives the one-step variance of
the truth (eqs. (l96-one-step-cov), (l96-one-step-var)).

All functions are batched (batch axis first) and use whatever floating dtype they are given.

References:
    G. Benettin, L. Galgani, A. Giorgilli, J.-M. Strelcyn, "Lyapunov characteristic exponents
    for smooth dynamical systems ...", Meccanica 15, 1980.
    A. Karimi and M. R. Paul, "Extensive chaos in the Lorenz-96 model", Chaos 20, 2010.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`), eqs. (l96-fixed-eigen),
(l96-hopf), (l96-lyapunov), (l96-one-step-cov), (l96-one-step-var).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# The unchecked kernels of the integrator: the functions here validate their own inputs once and
# then call the kernels in loops of thousands of steps.
from lecture_code.forecasting.lorenz96 import (
    Lorenz96,
    _check_state,
    _check_system,
    _model_step,
    _ring,
    _rk4_step,
    _tendency,
    spin_up,
)
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "LyapunovRun",
    "autocorrelation",
    "fixed_point_eigenvalues",
    "fixed_point_stability",
    "lyapunov_estimates",
    "lyapunov_exponent",
    "lyapunov_qr",
    "one_step_variance",
    "perturbation_growth",
    "rk4_tangent_step",
    "skewness",
    "tangent_tendency",
]


def tangent_tendency(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The tangent linear model ``J(u) v`` of eq. (l96), for several tangent vectors at once.

    Differentiating eq. (l96) in the direction ``v`` (the forcing drops out):

        (J v)_k = (v_{k+1} - v_{k-2}) u_{k-1} + (u_{k+1} - u_{k-2}) v_{k-1} - v_k.

    Args:
        u: states, (B, K).
        v: tangent vectors, (B, K, n), one set of ``n`` per state.

    Returns:
        (B, K, n).
    """
    dims: dict[str, int] = {}
    u = check_tensor("u", u, ("B", "K"), dims=dims)
    v = check_tensor("v", v, ("B", "K", None), dims=dims)
    return _tangent_tendency(u, v)


def _tangent_tendency(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # Sites are axis -1 of u and axis -2 of v (the last axis of v indexes the tangent vectors);
    # the periodic padding of _ring is applied to v along its site axis.
    K = u.shape[-1]
    ring_u = _ring(u)
    u_m1 = ring_u[..., 1 : K + 1].unsqueeze(-1)
    du = (ring_u[..., 3:] - ring_u[..., :K]).unsqueeze(-1)
    ring_v = torch.cat([v[..., -2:, :], v, v[..., :1, :]], dim=-2)
    out = (ring_v[..., 3:, :] - ring_v[..., :K, :]).mul_(u_m1)
    return out.addcmul_(du, ring_v[..., 1 : K + 1, :]).sub_(v)


def _rk4_tangent_step(
    u: torch.Tensor, v: torch.Tensor, dt: float, F: float
) -> tuple[torch.Tensor, torch.Tensor]:
    k1 = _tendency(u, F)
    l1 = _tangent_tendency(u, v)
    u2, v2 = u + 0.5 * dt * k1, v + 0.5 * dt * l1
    k2, l2 = _tendency(u2, F), _tangent_tendency(u2, v2)
    u3, v3 = u + 0.5 * dt * k2, v + 0.5 * dt * l2
    k3, l3 = _tendency(u3, F), _tangent_tendency(u3, v3)
    u4, v4 = u + dt * k3, v + dt * l3
    k4, l4 = _tendency(u4, F), _tangent_tendency(u4, v4)
    u_next = u + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    v_next = v + (dt / 6.0) * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    return u_next, v_next


def rk4_tangent_step(
    u: torch.Tensor, v: torch.Tensor, dt: float, F: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One RK4 step of the state and of tangent vectors: ``(rk4_step(u), D rk4_step(u) v)``.

    RK4 applied to the pair ``(du/dt = f(u), dv/dt = J(u) v)`` gives exactly the derivative of
    the RK4 map applied to ``v`` (Runge--Kutta methods commute with linearisation), so this is
    the tangent linear model of the discrete step, not an approximation of it.

    Args:
        u: states, (B, K).
        v: tangent vectors, (B, K, n).
        dt: the step δ > 0.
        F: the forcing.

    Returns:
        ``(u_next, v_next)`` of shapes (B, K) and (B, K, n).
    """
    dims: dict[str, int] = {}
    u = check_tensor("u", u, ("B", "K"), dims=dims)
    v = check_tensor("v", v, ("B", "K", None), dims=dims)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    F = check_real("F", F)
    return _rk4_tangent_step(u, v, dt, F)


@dataclass(frozen=True)
class LyapunovRun:
    """The running Lyapunov estimates of :func:`lyapunov_qr`.

    Attributes:
        time: (n_steps,) the averaging time ``n Δ`` after each model step.
        log_growth: (B, n_steps, n) ``log |R_ii|`` of the QR decomposition at each step.
        running: (B, n_steps, n) running estimates: cumulative ``log_growth`` divided by time.
    """

    time: torch.Tensor
    log_growth: torch.Tensor
    running: torch.Tensor


def lyapunov_qr(
    u_0: torch.Tensor,
    n_steps: int,
    system: Lorenz96,
    generator: torch.Generator,
    n_exponents: int = 1,
) -> LyapunovRun:
    """Leading Lyapunov exponents by QR re-orthonormalisation (Benettin et al. 1980).

    ``n_exponents`` random orthonormal tangent vectors follow the tangent linear model of the
    deterministic system (kicks are ignored) for one model step Δ; the matrix they form is
    factorised ``Q R``; ``Q`` carries on and ``log |R_ii| / Δ`` is the growth rate of the
    ``i``-th direction over that step, eq. (l96-lyapunov). Averaged over a long time these give
    λ_1 >= λ_2 >= ... .

    Args:
        u_0: states on the attractor, (B, K), one independent run each.
        n_steps: number of model steps, >= 1.
        system: the Lorenz-96 settings (``sigma_xi`` is ignored).
        generator: draws the initial tangent vectors.
        n_exponents: how many leading exponents, in [1, K].

    Returns:
        A :class:`LyapunovRun`.
    """
    system = _check_system(system)
    u = _check_state("u_0", u_0, system.K)
    n_steps = check_int("n_steps", n_steps, low=1)
    n_exponents = check_int("n_exponents", n_exponents, low=1, high=system.K)
    B = u.shape[0]
    start = torch.randn((B, system.K, n_exponents), generator=generator, dtype=u.dtype)
    v, _ = torch.linalg.qr(start)
    logs = []
    for _ in range(n_steps):
        for _ in range(system.substeps):
            u, v = _rk4_tangent_step(u, v, system.dt, system.F)
        if n_exponents == 1:
            # The QR decomposition of one column is its normalisation, R = |v|; much faster.
            norm = torch.linalg.vector_norm(v, dim=-2)
            v = v / norm.unsqueeze(-2)
            logs.append(torch.log(norm))
        else:
            v, r = torch.linalg.qr(v)
            logs.append(torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs()))
    log_growth = torch.stack(logs, dim=1)
    time = system.Delta * torch.arange(1, n_steps + 1, dtype=u.dtype)
    running = log_growth.cumsum(dim=1) / time[None, :, None]
    return LyapunovRun(time=time, log_growth=log_growth, running=running)


def lyapunov_estimates(
    system: Lorenz96,
    generator: torch.Generator,
    *,
    time: float = 40.0,
    B: int = 8,
    transient: float = 5.0,
) -> tuple[torch.Tensor, LyapunovRun]:
    """Independent estimates of λ_1, one per run, and the runs themselves.

    ``B`` independent states are spun up on the deterministic attractor, a tangent vector is
    carried for ``transient`` time units to align with the most unstable direction, and its
    growth rate is then averaged over ``time`` time units. The spread of the ``B`` estimates
    gives the standard error of their mean.

    Args:
        system: the Lorenz-96 settings (``sigma_xi`` is ignored).
        generator: draws the initial states and tangent vectors.
        time: averaging time per run, > 0 (rounded up to whole model steps).
        B: number of independent runs, >= 1.
        transient: time discarded while the tangent vector aligns, >= 0.

    Returns:
        ``(estimates, run)``: (B,) finite-time exponents over the averaging window, and the
        :class:`LyapunovRun` of the whole integration (transient included) for plotting.
    """
    system = _check_system(system).deterministic
    time = check_real("time", time, low=0.0, low_open=True)
    transient = check_real("transient", transient, low=0.0)
    u_0 = spin_up(B, system, generator)
    n_skip = math.ceil(transient / system.Delta - 1e-9)
    n_avg = max(1, math.ceil(time / system.Delta - 1e-9))
    run = lyapunov_qr(u_0, n_skip + n_avg, system, generator)
    estimates = run.log_growth[:, n_skip:, 0].sum(dim=1) / (n_avg * system.Delta)
    return estimates, run


def lyapunov_exponent(
    system: Lorenz96,
    generator: torch.Generator,
    *,
    time: float = 40.0,
    B: int = 8,
    transient: float = 5.0,
) -> float:
    """λ_1 per time unit: the mean of the ``B`` estimates of :func:`lyapunov_estimates`."""
    estimates, _ = lyapunov_estimates(system, generator, time=time, B=B, transient=transient)
    return float(estimates.mean())


# --- diagnostics of the chapter: linear stability, one-step spread, error growth, autocorrelation


def fixed_point_eigenvalues(K: int, F: float) -> torch.Tensor:
    """Eigenvalues η_h of the Jacobian at the fixed point ``u = F``, eq. (l96-fixed-eigen).

    At ``u = F`` the tangent model is ``(J v)_k = F (v_{k+1} - v_{k-2}) - v_k``, which commutes
    with shifts around the ring, so its eigenvectors are the Fourier harmonics
    ``v_k = exp(i θ_h k)``, ``θ_h = 2π h / K``, with eigenvalues
    ``η_h = F (exp(iθ_h) - exp(-2iθ_h)) - 1``. Their real parts are the growth rates.

    Args:
        K: number of sites, >= 4.
        F: the forcing.

    Returns:
        (K,) complex128, entry ``h`` for the harmonic ``h = 0, ..., K - 1`` (the same indexing
        as ``torch.fft.fft``).
    """
    K = check_int("K", K, low=4)
    F = check_real("F", F)
    theta = 2.0 * math.pi * torch.arange(K, dtype=torch.float64) / K
    return F * (torch.exp(1j * theta) - torch.exp(-2j * theta)) - 1.0


def fixed_point_stability(K: int) -> tuple[float, float]:
    """The forcings ``(F_minus, F_plus)`` between which ``u = F`` is stable, for ``K`` sites.

    With ``b(θ) = cos θ - cos 2θ`` the growth rate of harmonic ``h`` is ``F b(θ_h) - 1``
    (eq. (l96-fixed-eigen)); all are negative iff ``1 / min_h b(θ_h) < F < 1 / max_h b(θ_h)``.
    As ``K -> ∞``, ``max b -> 9/8`` and ``min b -> -2``: the interval tends to (-1/2, 8/9).

    Returns ``(1 / min_h b(θ_h), 1 / max_h b(θ_h))`` for ``K >= 4`` sites: the Hopf thresholds.
    """
    K = check_int("K", K, low=4)
    theta = 2.0 * math.pi * torch.arange(K, dtype=torch.float64) / K
    b = torch.cos(theta) - torch.cos(2.0 * theta)
    return 1.0 / float(b.min()), 1.0 / float(b.max())


def skewness(x: torch.Tensor, dim: int | tuple[int, ...] = -1) -> torch.Tensor:
    """Sample skewness ``m_3 / m_2^(3/2)`` of ``x`` (any shape) over the axes ``dim``.

    Central moments with divisor ``n``; for ``n`` Gaussian draws it scatters by ``sqrt(6/n)``.
    """
    centred = check_tensor("x", x) - x.mean(dim=dim, keepdim=True)
    return (centred**3).mean(dim=dim) / (centred**2).mean(dim=dim) ** 1.5


def one_step_variance(u: torch.Tensor, system: Lorenz96) -> torch.Tensor:
    """Per-site variance of one model step from ``u``, to leading order in σ_ξ.

    Kick ``j`` (after substep ``j`` of ``n_sub = substeps``) is carried to the end of the step
    by the remaining ``n_sub - j`` substeps, whose derivative is the matrix ``A_j``
    (``A_{n_sub} = I``). To first order in σ_ξ the step is the deterministic step plus
    ``σ_ξ sqrt(δ) sum_j A_j xi_j``, so its covariance is ``σ_ξ² δ sum_j A_j A_jᵀ``
    (eq. (l96-one-step-cov)), whose diagonal this returns. Since ``A_j = I + O(Δ)``, the
    leading term is σ_ξ² Δ at every site (eq. (l96-one-step-var)).

    Args:
        u: states, (B, K).
        system: the Lorenz-96 settings.

    Returns:
        (B, K): ``σ_ξ² δ sum_j diag(A_j A_jᵀ)`` at each state.
    """
    system = _check_system(system)
    u = _check_state("u", u, system.K)
    B, K = u.shape
    path = [u]
    for _ in range(system.substeps):
        path.append(_rk4_step(path[-1], system.dt, system.F))
    eye = torch.eye(K, dtype=u.dtype).expand(B, K, K)
    total = torch.zeros_like(u)
    for j in range(1, system.substeps + 1):
        w, v = path[j], eye
        for _ in range(j, system.substeps):
            w, v = _rk4_tangent_step(w, v, system.dt, system.F)
        total = total + (v**2).sum(dim=-1)  # diag(A Aᵀ)_k = sum_i A_ki²
    return system.sigma_xi**2 * system.dt * total


def perturbation_growth(
    u_0: torch.Tensor,
    amplitude: float,
    M: int,
    n_steps: int,
    system: Lorenz96,
    generator: torch.Generator,
) -> torch.Tensor:
    """How far ``M`` randomly perturbed copies of each state drift from it, lead by lead.

    Each member starts at ``u_0 + amplitude * eta`` with ``eta ~ N(0, I)``; members and the
    unperturbed control are integrated with the deterministic system (``sigma_xi`` ignored).

    Args:
        u_0: control states, (B, K).
        amplitude: perturbation size d_0 > 0.
        M: members per control, >= 1.
        n_steps: model steps, >= 0.
        system: the Lorenz-96 settings.
        generator: draws the perturbations.

    Returns:
        (B, M, n_steps + 1): root mean square over sites of member minus control.
    """
    system = _check_system(system).deterministic
    u_0 = _check_state("u_0", u_0, system.K)
    amplitude = check_real("amplitude", amplitude, low=0.0, low_open=True)
    M = check_int("M", M, low=1)
    n_steps = check_int("n_steps", n_steps, low=0)
    B, K = u_0.shape
    eta = torch.randn((B, M, K), generator=generator, dtype=u_0.dtype)
    # Integrate control and members as one batch: row b of the control, then its members.
    states = torch.cat([u_0.unsqueeze(1), u_0.unsqueeze(1) + amplitude * eta], dim=1)
    u = states.reshape(B * (M + 1), K)
    rms = []
    for n in range(n_steps + 1):
        if n > 0:
            u = _model_step(u, system, None)
        both = u.reshape(B, M + 1, K)
        rms.append(((both[:, 1:] - both[:, :1]) ** 2).mean(dim=-1).sqrt())
    return torch.stack(rms, dim=-1)


def autocorrelation(u: torch.Tensor, max_lag: int) -> torch.Tensor:
    """Time autocorrelation of ``u_k`` pooled over sites and trajectories.

    ``C(ℓ) = E[(u_{k,n} - μ)(u_{k,n+ℓ} - μ)] / s²`` with the pooled mean μ and variance s² of
    all entries; by the ring's symmetry every site has the same statistics.

    Args:
        u: trajectories, (B, N, K) (states every Δ along axis 1).
        max_lag: largest lag ℓ in model steps, in [0, N - 1].

    Returns:
        (max_lag + 1,) with ``C(0) = 1``.
    """
    u = check_tensor("u", u, ("B", "N", "K"))
    max_lag = check_int("max_lag", max_lag, low=0, high=u.shape[1] - 1)
    x = u - u.mean()
    variance = (x**2).mean()
    N = u.shape[1]
    values = [(x[:, : N - lag] * x[:, lag:]).mean() / variance for lag in range(max_lag + 1)]
    return torch.stack(values)
