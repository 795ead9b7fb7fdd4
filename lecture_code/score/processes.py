r"""Noising processes as SDEs: one protocol, the VP and the VE process, and their marginals.

A noising process is a linear Itô SDE :math:`d\mathbf{x} = -\gamma(t)\mathbf{x}\,dt + g(t)\,
d\mathbf{w}` whose marginal given the data is :math:`\mathbf{x}_t = a(t)\mathbf{x}_0 +
\sigma(t)\boldsymbol{\epsilon}` (eq. (sde-linear-marginal)), with

.. math::
    a(t) = e^{-\int_0^t \gamma}, \qquad \sigma(t)^2 = a(t)^2 \int_0^t \frac{g(u)^2}{a(u)^2}\,du .

:class:`NoiseProcess` is the protocol both processes of this chapter meet: ``scale(t)``,
``sigma(t)``, ``drift(x, t)`` and ``diffusion(t)``.

- :class:`lecture_code.score.sde.VPSDE` (eq. (vp-sde)): :math:`\gamma = \beta/2`,
  :math:`g = \sqrt\beta`, the limit of DDPM.
- :class:`VEProcess` (eq. (ve-sde)): :math:`\gamma = 0` and :math:`g(t)^2 = d\,\bar\sigma(t)^2/dt`
  for the geometric noise level :math:`\bar\sigma(t) = \sigma_{\min}(\sigma_{\max}/
  \sigma_{\min})^t` of NCSN (Song and Ermon 2019), so that :math:`a = 1` and
  :math:`\sigma(t)^2 = \bar\sigma(t)^2 - \sigma_{\min}^2` (eq. (ve-marginal)).

:func:`check_noise_process` rejects an object that does not meet the protocol, naming it;
:func:`marginal_moments` gives the mean and variance of :math:`\mathbf{x}_t` for data of known
mean and variance; :func:`simulate_forward` runs the SDE by Euler–Maruyama; :func:`ncsn_chain`
is NCSN's perturbation chain, the VE-SDE sampled exactly on its levels.

Book: chapter 6, "Stochastic differential equations" (:doc:`/book/part2/06_sde`), section
"The forward SDEs", eqs. (vp-sde), (vp-marginal), (ve-sde), (ve-marginal),
(sde-linear-marginal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "NoiseProcess",
    "VEProcess",
    "check_noise_process",
    "check_time",
    "marginal_moments",
    "ncsn_chain",
    "simulate_forward",
]


@runtime_checkable
class NoiseProcess(Protocol):
    r"""What a noising SDE offers: the marginal's :math:`a(t)`, :math:`\sigma(t)` and the SDE's
    :math:`\mathbf{f}(\mathbf{x}, t)`, :math:`g(t)`; every time in :math:`[0, 1]`."""

    def scale(self, t: float | torch.Tensor) -> torch.Tensor: ...

    def sigma(self, t: float | torch.Tensor) -> torch.Tensor: ...

    def drift(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor: ...

    def diffusion(self, t: float | torch.Tensor) -> torch.Tensor: ...


def check_noise_process(name: str, process: object) -> NoiseProcess:
    """``process`` if it has the four methods of :class:`NoiseProcess`, else a ``TypeError``
    that names the object and the methods it lacks."""
    if not isinstance(process, NoiseProcess):
        missing = [
            m
            for m in ("scale", "sigma", "drift", "diffusion")
            if not callable(getattr(process, m, None))
        ]
        raise TypeError(
            f"{name} must be a NoiseProcess (scale, sigma, drift, diffusion), got "
            f"{process!r}, which lacks {missing}"
        )
    return process


def check_time(t: float | torch.Tensor) -> torch.Tensor:
    """``t`` as float64, or a ``ValueError`` naming it when it leaves [0, 1] or is not finite."""
    t = torch.as_tensor(t, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError(f"t must lie in [0, 1], got {t if t.numel() < 6 else t.aminmax()}")
    return t


@dataclass(frozen=True)
class VEProcess:
    r"""The variance-exploding SDE with the geometric noise level of NCSN, eq. (ve-sde).

    Attributes:
        sigma_min: :math:`\sigma_{\min} > 0`, the level at :math:`t = 0`.
        sigma_max: :math:`\sigma_{\max} > \sigma_{\min}`, the level at :math:`t = 1`.
    """

    sigma_min: float = 0.01
    sigma_max: float = 50.0

    def __post_init__(self) -> None:
        check_real("sigma_min", self.sigma_min, low=0.0, low_open=True)
        check_real("sigma_max", self.sigma_max, low=self.sigma_min, low_open=True)

    def level(self, t: float | torch.Tensor) -> torch.Tensor:
        r"""The NCSN noise level :math:`\bar\sigma(t) = \sigma_{\min}(\sigma_{\max}/
        \sigma_{\min})^t`."""
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** check_time(t)

    def scale(self, t: float | torch.Tensor) -> torch.Tensor:
        """:math:`a(t) = 1`: the VE process never shrinks the data."""
        return torch.ones_like(check_time(t))

    def sigma(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`\sigma(t) = \sqrt{\bar\sigma(t)^2 - \sigma_{\min}^2}`, eq. (ve-marginal)."""
        level = self.level(t)
        return torch.sqrt(level**2 - self.sigma_min**2)

    def drift(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """:math:`\\mathbf{f} = \\mathbf{0}`, ``(B, ...)`` like ``x``."""
        check_time(t)
        return torch.zeros_like(x)

    def diffusion(self, t: float | torch.Tensor) -> torch.Tensor:
        r""":math:`g(t) = \bar\sigma(t)\sqrt{2\log(\sigma_{\max}/\sigma_{\min})}`, so that
        :math:`g^2 = d\bar\sigma^2/dt`."""
        return self.level(t) * math.sqrt(2 * math.log(self.sigma_max / self.sigma_min))


def marginal_moments(
    process: NoiseProcess, mean_0: float, var_0: float, t: float
) -> tuple[float, float]:
    r"""Mean :math:`a\,m_0` and variance :math:`a^2 v_0 + \sigma^2` of one coordinate of
    :math:`\mathbf{x}_t` when the data have mean ``mean_0`` and variance ``var_0``."""
    process = check_noise_process("process", process)
    var_0 = check_real("var_0", var_0, low=0.0)
    a, s = float(process.scale(t)), float(process.sigma(t))
    return a * mean_0, a**2 * var_0 + s**2


def simulate_forward(
    process: NoiseProcess,
    x_0: torch.Tensor,
    t: float,
    n_steps: int,
    generator: torch.Generator,
    *,
    keep_path: bool = False,
) -> torch.Tensor:
    r"""Euler–Maruyama for :math:`d\mathbf{x} = \mathbf{f}\,dt + g\,d\mathbf{w}` from 0 to
    ``t`` (eq. (sde-em)).

    Args:
        process: a :class:`NoiseProcess`.
        x_0: ``(B, ...)`` data.
        t: the end time in (0, 1].
        n_steps: number of steps.
        generator: the source of the increments.
        keep_path: return ``(n_steps + 1, B, ...)`` instead of ``(B, ...)``.
    """
    process = check_noise_process("process", process)
    check_tensor("x_0", x_0)
    t = check_real("t", t, low=0.0, high=1.0, low_open=True)
    n_steps = check_int("n_steps", n_steps, low=1)
    h = t / n_steps
    x = x_0
    path = [x]
    for k in range(n_steps):
        s = k * h
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + process.drift(x, s) * h + process.diffusion(s).to(x.dtype) * math.sqrt(h) * noise
        if keep_path:
            path.append(x)
    return torch.stack(path) if keep_path else x


def ncsn_chain(
    process: VEProcess, x_0: torch.Tensor, n_levels: int, generator: torch.Generator
) -> torch.Tensor:
    r"""NCSN's chain of perturbations on the levels :math:`\bar\sigma_i = \bar\sigma(i/N)`:
    :math:`\mathbf{x}_i = \mathbf{x}_{i-1} + \sqrt{\bar\sigma_i^2 -
    \bar\sigma_{i-1}^2}\,\mathbf{z}_i`, :math:`i = 1, \dots, N`.

    The VE-SDE has no drift, so its increment over :math:`[t_{i-1}, t_i]` is exactly Gaussian
    with variance :math:`\int g^2 = \bar\sigma_i^2 - \bar\sigma_{i-1}^2`: the chain is the SDE
    sampled without error at the grid, for any :math:`N`, where Euler–Maruyama
    (:func:`simulate_forward`) uses :math:`g(t_{i-1})^2/N` and is right only to first order.

    Args:
        process: the VE process.
        x_0: ``(B, ...)`` data.
        n_levels: :math:`N \ge 1`.
        generator: the source of the :math:`\mathbf{z}_i`.

    Returns:
        ``(N + 1, B, ...)``: :math:`\mathbf{x}_0, \dots, \mathbf{x}_N`.
    """
    if not isinstance(process, VEProcess):
        raise TypeError(f"process must be a VEProcess, got {type(process).__name__}")
    check_tensor("x_0", x_0)
    n_levels = check_int("n_levels", n_levels, low=1)
    levels = process.level(torch.linspace(0.0, 1.0, n_levels + 1, dtype=torch.float64))
    steps = torch.sqrt(levels[1:] ** 2 - levels[:-1] ** 2).to(x_0.dtype)
    path = [x_0]
    for step in steps:
        noise = torch.randn(x_0.shape, generator=generator, dtype=x_0.dtype)
        path.append(path[-1] + step * noise)
    return torch.stack(path)
