r"""Running a noising process backwards, and exact likelihoods by the probability-flow ODE.

For a :class:`~lecture_code.score.processes.NoiseProcess` with drift :math:`\mathbf{f}` and
diffusion :math:`g`, the reverse-time SDE (Anderson 1982, eq. (sde-reverse-time)) and the
probability-flow ODE (eq. (pf-ode)) have the drifts

.. math::
    \mathbf{f} - g^2\nabla\log p_t \quad\text{(with noise } g\,d\bar{\mathbf{w}}\text{)},
    \qquad \tilde{\mathbf{f}} = \mathbf{f} - \tfrac12 g^2\nabla\log p_t
    \quad\text{(without)},

and both carry :math:`p_1` back to :math:`p_0`. Along an ODE path the log-density changes by
the instantaneous change of variables (Chen et al. 2018, eq. (sde-cov)),
:math:`\frac{d}{dt}\log p_t(\mathbf{x}(t)) = -\nabla\cdot\tilde{\mathbf{f}}`, so

.. math::
    \log p_0(\mathbf{x}_0) = \log p_1(\mathbf{x}_1) + \int_0^1 \nabla\cdot\tilde{\mathbf{f}}
    (\mathbf{x}(t), t)\,dt .

The divergence is computed exactly by automatic differentiation (:func:`divergence`, one
backward pass per coordinate) or estimated by Hutchinson's trick (:func:`hutchinson_divergence`,
:math:`\mathbb{E}[\mathbf{v}^\top\mathbf{J}\mathbf{v}] = \operatorname{tr}\mathbf{J}` for
:math:`\mathbb{E}[\mathbf{v}\mathbf{v}^\top] = \mathbf{I}`; Hutchinson 1989, applied to
continuous normalising flows by Grathwohl et al. 2019). The exact
score of a Gaussian mixture is :func:`mixture_score`.

References:
    B. D. O. Anderson, "Reverse-time diffusion equation models", Stoch. Proc. Appl. 12, 1982.
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for Laplacian
    smoothing splines", Communications in Statistics - Simulation and Computation 18(3), 1989.
    R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, "Neural ordinary differential
    equations", NeurIPS 2018, arXiv:1806.07366.
    W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud, "FFJORD: free-form
    continuous dynamics for scalable reversible generative models", ICLR 2019, arXiv:1810.01367.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`), sections
"Running the process backwards" and "Exact likelihoods", eqs. (sde-reverse-time), (pf-ode),
(sde-cov), (sde-ode-loglik).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.score.processes import NoiseProcess, check_noise_process
from lecture_code.validation import check_choice, check_int, check_real, check_tensor

__all__ = [
    "divergence",
    "hutchinson_divergence",
    "mixture_score",
    "ode_drift",
    "ode_log_likelihood",
    "pf_ode_solve",
    "reverse_sde_sample",
]

#: ``score_fn(x, t)``: ``x`` ``(B, D)``, ``t`` a float; returns ``(B, D)``.
ScoreFn = Callable[[torch.Tensor, float], torch.Tensor]


def mixture_score(mixture: GaussianMixture, process: NoiseProcess) -> ScoreFn:
    r"""The exact :math:`\nabla\log p_t` of mixture data noised by ``process``:
    the score of ``mixture.noised(a(t), sigma(t))``."""
    process = check_noise_process("process", process)

    def score(x: torch.Tensor, t: float) -> torch.Tensor:
        noised = mixture.noised(float(process.scale(t)), float(process.sigma(t)))
        return noised.score(x)

    return score


def ode_drift(process: NoiseProcess, score_fn: ScoreFn, x: torch.Tensor, t: float):
    r"""``(B, D)``: :math:`\tilde{\mathbf{f}} = \mathbf{f} - \frac12 g^2\nabla\log p_t`,
    eq. (pf-ode)."""
    t = min(max(t, 0.0), 1.0)  # RK4 stages may overshoot an end by rounding
    g2 = float(process.diffusion(t)) ** 2
    return process.drift(x, t) - 0.5 * g2 * score_fn(x, t)


def reverse_sde_sample(
    process: NoiseProcess,
    score_fn: ScoreFn,
    x_1: torch.Tensor,
    n_steps: int,
    generator: torch.Generator,
    *,
    t_end: float = 0.0,
    keep_path: bool = False,
) -> torch.Tensor:
    r"""Euler–Maruyama for the reverse SDE (eq. (sde-reverse-time)) from :math:`t = 1` to ``t_end``:
    :math:`\mathbf{x} \leftarrow \mathbf{x} - h(\mathbf{f} - g^2\mathbf{s}) + g\sqrt h\,
    \mathbf{z}`.

    Args:
        x_1: ``(B, D)`` draws of :math:`p_1`.
        keep_path: return ``(n_steps + 1, B, D)``, the states at the decreasing times.
    """
    process = check_noise_process("process", process)
    x = check_tensor("x_1", x_1, ("B", "D")).to(torch.float64)
    n_steps = check_int("n_steps", n_steps, low=1)
    t_end = check_real("t_end", t_end, low=0.0, high=1.0, high_open=True)
    h = (1.0 - t_end) / n_steps
    path = [x]
    for k in range(n_steps):
        t = 1.0 - k * h
        g = float(process.diffusion(t))
        drift = process.drift(x, t) - g**2 * score_fn(x, t)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x - h * drift + g * math.sqrt(h) * noise
        if keep_path:
            path.append(x)
    return torch.stack(path) if keep_path else x


def pf_ode_solve(
    process: NoiseProcess,
    score_fn: ScoreFn,
    x: torch.Tensor,
    t_start: float,
    t_end: float,
    n_steps: int,
    *,
    keep_path: bool = False,
) -> torch.Tensor:
    r"""The probability-flow ODE (eq. (pf-ode)) from ``t_start`` to ``t_end`` (either way) by
    the classical Runge–Kutta method (RK4) with ``n_steps`` equal steps.

    Args:
        x: ``(B, D)`` states at ``t_start``.
        keep_path: return ``(n_steps + 1, B, D)``.
    """
    process = check_noise_process("process", process)
    x = check_tensor("x", x, ("B", "D")).to(torch.float64)
    n_steps = check_int("n_steps", n_steps, low=1)
    h = (check_real("t_end", t_end) - check_real("t_start", t_start)) / n_steps
    path = [x]
    for k in range(n_steps):
        t = t_start + k * h
        k1 = ode_drift(process, score_fn, x, t)
        k2 = ode_drift(process, score_fn, x + 0.5 * h * k1, t + 0.5 * h)
        k3 = ode_drift(process, score_fn, x + 0.5 * h * k2, t + 0.5 * h)
        k4 = ode_drift(process, score_fn, x + h * k3, t + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if keep_path:
            path.append(x)
    return torch.stack(path) if keep_path else x


def divergence(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    r"""``(B,)`` the exact :math:`\nabla\cdot\mathbf{F}(\mathbf{x}) = \sum_i \partial F_i /
    \partial x_i` of ``fn: (B, D) -> (B, D)`` (rows independent), by ``D`` backward passes."""
    x = check_tensor("x", x, ("B", "D")).detach().requires_grad_(True)
    with torch.enable_grad():
        out = fn(x)
        total = torch.zeros(x.shape[0], dtype=out.dtype)
        for i in range(x.shape[1]):
            (grad,) = torch.autograd.grad(out[:, i].sum(), x, retain_graph=True)
            total = total + grad[:, i]
    return total.detach()


def hutchinson_divergence(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    n_probes: int,
    generator: torch.Generator,
    kind: str = "gaussian",
) -> torch.Tensor:
    r"""``(n_probes, B)`` independent estimates :math:`\mathbf{v}^\top\mathbf{J}\mathbf{v}` of
    the divergence, with :math:`\mathbf{v}` standard Gaussian or Rademacher (``kind``).

    ``fn`` must act on rows independently; the probes are stacked along the batch axis, so
    one vector-Jacobian product serves all of them.
    """
    x = check_tensor("x", x, ("B", "D")).detach()
    n_probes = check_int("n_probes", n_probes, low=1)
    check_choice("kind", kind, ("gaussian", "rademacher"))
    stacked = x.repeat(n_probes, 1).requires_grad_(True)  # (n_probes * B, D)
    with torch.enable_grad():
        out = fn(stacked)
        v = torch.randn(out.shape, generator=generator, dtype=out.dtype)
        if kind == "rademacher":
            v = torch.sign(v)
        (vjp,) = torch.autograd.grad(out, stacked, grad_outputs=v)
    return (vjp * v).sum(dim=1).reshape(n_probes, x.shape[0]).detach()


def ode_log_likelihood(
    process: NoiseProcess,
    score_fn: ScoreFn,
    prior_log_prob: Callable[[torch.Tensor], torch.Tensor],
    x_0: torch.Tensor,
    n_steps: int,
    *,
    t_0: float = 0.0,
) -> torch.Tensor:
    r"""``(B,)`` :math:`\log p_{t_0}(\mathbf{x}_0)` by eq. (sde-ode-loglik): RK4 on the state and
    the running integral of the exact divergence, from ``t_0`` to 1, plus
    ``prior_log_prob(x_1)`` (``(B, D) -> (B,)``, the log-density of :math:`p_1`)."""
    process = check_noise_process("process", process)
    x = check_tensor("x_0", x_0, ("B", "D")).to(torch.float64)
    n_steps = check_int("n_steps", n_steps, low=1)
    h = (1.0 - check_real("t_0", t_0, low=0.0, high=1.0, high_open=True)) / n_steps

    def rates(y: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        def field(z: torch.Tensor) -> torch.Tensor:
            return ode_drift(process, score_fn, z, t)

        return field(y), divergence(field, y)

    integral = torch.zeros(x.shape[0], dtype=torch.float64)
    for k in range(n_steps):
        t = t_0 + k * h
        k1, d1 = rates(x, t)
        k2, d2 = rates(x + 0.5 * h * k1, t + 0.5 * h)
        k3, d3 = rates(x + 0.5 * h * k2, t + 0.5 * h)
        k4, d4 = rates(x + h * k3, t + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        integral = integral + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
    return prior_log_prob(x.detach()) + integral
