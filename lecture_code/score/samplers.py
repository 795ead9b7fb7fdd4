r"""Samplers for the VP-SDE: from noise :math:`\mathbf{x}_1 \sim \mathcal{N}(\mathbf{0},
\mathbf{I})` back to data, given the score.

Every sampler here is a plain function with one signature,

    ``sampler(score_fn, sde, x_T, n_steps, generator) -> (x_0, nfe)``,

where ``score_fn(x_t, t)`` returns :math:`\nabla\log p_t(\mathbf{x}_t)` for ``x_t: (B, ...)``
and ``t: (B,)``, ``x_T: (B, ...)`` is a draw of the prior, and ``nfe`` is the number of calls of
``score_fn`` (network function evaluations), counted, not computed from a formula. The state may
have any shape after the batch axis: ``(B, 2)`` for the toy data, ``(B, K)`` for a Lorenz-96
field. Inside, every sampler works with the denoiser :math:`D(\mathbf{x}_t, t) =
\mathbb{E}[\mathbf{x}_0 \mid \mathbf{x}_t]`, obtained from the score in one place by Tweedie's
formula (:func:`lecture_code.ddpm.conversions.x_0_from_score`); the score itself enters only
the drift of the reverse SDE.

All of them end the same way: at the last time :math:`t_{\min}` they return Tweedie's estimate
:math:`\hat{\mathbf{x}}_0 = D(\mathbf{x}_{t_{\min}}, t_{\min})` (one network evaluation,
eq. (tweedie-vp)), which removes the last :math:`\nu(t_{\min}) \approx 0.01` of noise, as Song
et al. (2021) and Karras et al. (2022) do.

The time variables are those of :mod:`lecture_code.score.sde`: the scale :math:`a`, the noise
standard deviation :math:`\sigma`, the log-SNR :math:`\lambda = \log(a^2/\sigma^2)` and the
noise-to-signal ratio :math:`\nu = \sigma/a = e^{-\lambda/2}`. (Lu et al. write their solvers in
half the log-SNR, :math:`\log(a/\sigma)`, so their step :math:`h` is our :math:`h/2`.)

- :func:`euler_maruyama`: the reverse-time SDE, discretised on a uniform time grid (Song et al.
  2021). First order in the weak sense: the error of a moment decays like ``1/nfe``.
- :func:`heun`: the probability-flow ODE written in :math:`\nu` as
  :math:`d\hat{\mathbf{x}}/d\nu = (\hat{\mathbf{x}} - D)/\nu` with :math:`\hat{\mathbf{x}} =
  \mathbf{x}/a(t)`, solved by Heun's second-order method on the grid :math:`\nu_i` of Karras et
  al. (2022, Algorithm 1, eq. (5) of their paper for the grid). Second order: the error decays
  like ``1/nfe**2``.
- :func:`dpm_solver_2s`: DPM-Solver++(2S) of Lu et al. (2022, Algorithm 1): the same ODE in
  :math:`\lambda`, where its linear part is integrated exactly and the data prediction
  :math:`D` is taken at the midpoint in :math:`\lambda`. Second order.
- :func:`dpm_solver_2m`: DPM-Solver++(2M) of Lu et al. (2022, Algorithm 2), the multistep
  form: the midpoint evaluation is replaced by the previous step's, so each step costs one
  evaluation. Second order, and for a given budget of evaluations the most accurate of the
  four; the benchmark's fast sampler.

Heun and DPM-Solver++(2S) use ``n_steps`` intervals of a noise grid, the last one (from
:math:`\nu(t_{\min})` to 0) being the Tweedie jump, so they cost ``2 n_steps - 1``
evaluations (10 steps: 19); DPM-Solver++(2M) costs ``n_steps``. With the exact score of a
narrow Gaussian (:math:`\sigma_{\text{data}} = 0.2`) and about 20 evaluations, the sampled
standard deviation is off by +30% (Heun, Karras grid), -10% (2S) and +1.5% (2M, log-uniform
grid): the range :math:`\nu(1)/\nu(t_{\min}) \approx 10^4` of the VP-SDE is wide, and
a multistep method spends its evaluations on twice as many steps.

References:
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.
    T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of diffusion-based
    generative models", NeurIPS 2022, arXiv:2206.00364.
    C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu, "DPM-Solver++: fast solver for guided
    sampling of diffusion probabilistic models", 2022, arXiv:2211.01095.

Book: chapter 7, "Samplers", eqs. (em-reverse), (heun-step), (dpm-2s), (dpm-2m), (karras-grid);
used by chapter 12, "A diffusion forecaster", and chapter 13, "The benchmark".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from lecture_code.ddpm.conversions import x_0_from_score
from lecture_code.score.sde import VPSDE, reverse_drift
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "SAMPLERS",
    "ScoreFn",
    "dpm_solver_2m",
    "dpm_solver_2s",
    "euler_maruyama",
    "heun",
    "karras_grid",
    "log_snr_grid",
    "time_grid",
]

#: ``score_fn(x_t: (B, ...), t: (B,)) -> (B, ...)``, the score of the noised data at time t.
ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _Model:
    """The score as a sampler sees it: ``score(x_t, t)`` calls ``score_fn`` with ``t`` as
    ``(B,)`` and counts the calls; ``denoise(x_t, t)`` is the denoiser D by Tweedie's formula."""

    def __init__(self, score_fn: ScoreFn, sde: VPSDE) -> None:
        if not callable(score_fn):
            raise TypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
        self.score_fn = score_fn
        self.sde = sde
        self.nfe = 0

    def score(self, x: torch.Tensor, t: float) -> torch.Tensor:
        self.nfe += 1
        score = self.score_fn(x, torch.full((x.shape[0],), t, dtype=x.dtype))
        if score.shape != x.shape:
            raise ValueError(
                f"score_fn must return the shape of x_t, {tuple(x.shape)}, got {tuple(score.shape)}"
            )
        return score

    def denoise(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return x_0_from_score(x, self.score(x, t), self.sde.scale(t), self.sde.sigma(t))


def _check_inputs(sde: object, x_T: object, n_steps: object) -> tuple[torch.Tensor, int]:
    if not isinstance(sde, VPSDE):
        raise TypeError(f"sde must be a VPSDE, got {type(sde).__name__}")
    x_T = check_tensor("x_T", x_T)
    if x_T.ndim < 1 or x_T.shape[0] < 1:
        raise ValueError(f"x_T must have a batch axis of size >= 1, got {tuple(x_T.shape)}")
    return x_T, check_int("n_steps", n_steps, low=1)


def time_grid(sde: VPSDE, n_steps: int) -> torch.Tensor:
    r"""The uniform grid :math:`1 = t_0 > t_1 > \dots > t_{n-1} = t_{\min}` of
    ``n = n_steps`` times (a single time, 1, when ``n_steps = 1``), float64 ``(n_steps,)``."""
    n_steps = check_int("n_steps", n_steps, low=1)
    if n_steps == 1:
        return torch.ones(1, dtype=torch.float64)
    return torch.linspace(1.0, sde.t_min, n_steps, dtype=torch.float64)


def karras_grid(sde: VPSDE, n_steps: int, rho: float = 7.0) -> torch.Tensor:
    r"""Karras et al.'s noise levels, eq. (karras-grid):
    :math:`\nu_i = \big(\nu_{\max}^{1/\rho} + \tfrac{i}{n-1}(\nu_{\min}^{1/\rho} -
    \nu_{\max}^{1/\rho})\big)^\rho` for :math:`i < n`, and :math:`\nu_n = 0`.

    With :math:`\rho = 7` the steps crowd towards small :math:`\nu`, where the solution
    bends most. :math:`\nu_{\max} = \nu(1)`, :math:`\nu_{\min} = \nu(t_{\min})`.

    Args:
        sde: the VP-SDE, which fixes :math:`\nu_{\max}` and :math:`\nu_{\min}`.
        n_steps: the number ``n`` of intervals, >= 1.
        rho: the exponent :math:`\rho > 0`.

    Returns:
        ``(n_steps + 1,)`` float64 noise-to-signal ratios, decreasing, ending with 0.
    """
    n_steps = check_int("n_steps", n_steps, low=1)
    rho = check_real("rho", rho, low=0.0, low_open=True)
    if n_steps == 1:
        return torch.tensor([sde.nu_max, 0.0], dtype=torch.float64)
    ramp = torch.linspace(0.0, 1.0, n_steps, dtype=torch.float64)
    lo, hi = sde.nu_min ** (1.0 / rho), sde.nu_max ** (1.0 / rho)
    nus = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([nus, torch.zeros(1, dtype=torch.float64)])


def log_snr_grid(sde: VPSDE, n_steps: int) -> torch.Tensor:
    r"""Noise-to-signal ratios uniform in the log-SNR :math:`\lambda = -2\log\nu`, from
    :math:`\nu_{\max}` to :math:`\nu_{\min}` (``n_steps`` values), then :math:`\nu_n = 0`: the
    limit :math:`\rho \to \infty` of :func:`karras_grid` (Lu et al.'s "logSNR" spacing),
    ``(n_steps + 1,)`` float64."""
    n_steps = check_int("n_steps", n_steps, low=1)
    if n_steps == 1:
        return torch.tensor([sde.nu_max, 0.0], dtype=torch.float64)
    log_nus = torch.linspace(
        math.log(sde.nu_max), math.log(sde.nu_min), n_steps, dtype=torch.float64
    )
    return torch.cat([log_nus.exp(), torch.zeros(1, dtype=torch.float64)])


def _log_snr_step(nu: float, nu_next: float) -> float:
    """h = lambda_{i+1} - lambda_i = 2 log(nu_i / nu_{i+1}), since lambda = -2 log nu."""
    return 2.0 * math.log(nu / nu_next)


def euler_maruyama(
    score_fn: ScoreFn,
    sde: VPSDE,
    x_T: torch.Tensor,
    n_steps: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, int]:
    r"""The reverse-time SDE by Euler–Maruyama, eq. (em-reverse).

    On the uniform grid :math:`t_0 = 1 > \dots > t_{n-1} = t_{\min}` of :func:`time_grid`, with
    :math:`h_i = t_i - t_{i+1}`,

    .. math::
        \mathbf{x}_{i+1} = \mathbf{x}_i - h_i\big[\mathbf{f}(\mathbf{x}_i, t_i) - g(t_i)^2
        \mathbf{s}_\theta(\mathbf{x}_i, t_i)\big] + g(t_i)\sqrt{h_i}\,\mathbf{z}_i,
        \qquad \mathbf{z}_i \sim \mathcal{N}(\mathbf{0}, \mathbf{I}),

    then Tweedie's formula at :math:`t_{\min}`. Weak order 1.

    Args:
        score_fn: ``score_fn(x_t, t)``, see :data:`ScoreFn`.
        sde: the VP-SDE.
        x_T: ``(B, ...)`` draws of the prior.
        n_steps: number of network evaluations, >= 1 (``n_steps - 1`` SDE steps and the
            final denoising).
        generator: draws the noise :math:`\mathbf{z}_i`.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of ``score_fn`` calls
        (``= n_steps``).
    """
    x, n_steps = _check_inputs(sde, x_T, n_steps)
    model = _Model(score_fn, sde)
    times = time_grid(sde, n_steps).tolist()
    for t, t_next in itertools.pairwise(times):
        h = t - t_next
        x = x - h * reverse_drift(sde, x, t, model.score(x, t))
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x + math.sqrt(float(sde.beta(t)) * h) * z
    return model.denoise(x, times[-1]), model.nfe


def heun(
    score_fn: ScoreFn,
    sde: VPSDE,
    x_T: torch.Tensor,
    n_steps: int,
    generator: torch.Generator | None = None,
    rho: float = 7.0,
) -> tuple[torch.Tensor, int]:
    r"""Heun's method on the probability-flow ODE (Karras et al. 2022, Algorithm 1),
    eq. (heun-step).

    In :math:`\hat{\mathbf{x}} = \mathbf{x}_t/a(t)` the ODE reads
    :math:`d\hat{\mathbf{x}}/d\nu = \mathbf{d}(\hat{\mathbf{x}}, \nu) =
    (\hat{\mathbf{x}} - D(a\hat{\mathbf{x}}, t(\nu)))/\nu`. On the grid of
    :func:`karras_grid` an Euler predictor
    :math:`\hat{\mathbf{x}}' = \hat{\mathbf{x}}_i + (\nu_{i+1} - \nu_i)\mathbf{d}_i` is
    corrected by the trapezoidal rule
    :math:`\hat{\mathbf{x}}_{i+1} = \hat{\mathbf{x}}_i + (\nu_{i+1} - \nu_i)
    (\mathbf{d}_i + \mathbf{d}'_{i+1})/2`, except on the last interval (to :math:`\nu = 0`,
    where :math:`\mathbf{d}` is undefined): that Euler step is exactly Tweedie's jump
    :math:`\hat{\mathbf{x}} \mapsto D` at :math:`\nu_{\min}`.

    Args:
        score_fn: ``score_fn(x_t, t)``, see :data:`ScoreFn`.
        sde: the VP-SDE.
        x_T: ``(B, ...)`` draws of the prior (at :math:`t = 1`).
        n_steps: number of intervals, >= 1; the cost is ``2 n_steps - 1`` evaluations.
        generator: unused (the ODE is deterministic); accepted for the shared signature.
        rho: exponent of the grid, see :func:`karras_grid`.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of ``score_fn`` calls.
    """
    x_T, n_steps = _check_inputs(sde, x_T, n_steps)
    model = _Model(score_fn, sde)

    def denoise(x_hat: torch.Tensor, nu: float) -> torch.Tensor:
        # D at the state x_t = a(t) x_hat of the time t whose noise-to-signal ratio is nu.
        t = float(sde.t_from_nu(nu))
        return model.denoise(float(sde.scale(t)) * x_hat, t)

    nus = karras_grid(sde, n_steps, rho).tolist()
    x = x_T / float(sde.scale(1.0))
    for nu, nu_next in itertools.pairwise(nus):
        d = (x - denoise(x, nu)) / nu
        x_pred = x + (nu_next - nu) * d
        if nu_next == 0.0:
            x = x_pred
        else:
            d_next = (x_pred - denoise(x_pred, nu_next)) / nu_next
            x = x + (nu_next - nu) * 0.5 * (d + d_next)
    return x, model.nfe


def dpm_solver_2s(
    score_fn: ScoreFn,
    sde: VPSDE,
    x_T: torch.Tensor,
    n_steps: int,
    generator: torch.Generator | None = None,
    rho: float = 7.0,
) -> tuple[torch.Tensor, int]:
    r"""DPM-Solver++(2S) (Lu et al. 2022, Algorithm 1 with :math:`r = \frac12`),
    eq. (dpm-2s).

    With the log-SNR :math:`\lambda`, the exact solution of the ODE over
    :math:`[\lambda_i, \lambda_{i+1}]`, :math:`h = \lambda_{i+1} - \lambda_i`, is
    :math:`\mathbf{x}_{i+1} = \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i +
    \frac{\sigma_{i+1}}{2}\int_{\lambda_i}^{\lambda_{i+1}} e^{\lambda/2} D\,d\lambda`. Taking
    :math:`D` at the midpoint :math:`\lambda_m = \lambda_i + h/2` (reached by a first-order step)
    gives the second-order update

    .. math::
        \begin{aligned}
        \mathbf{u} &= \frac{\sigma_m}{\sigma_i}\mathbf{x}_i - a_m(e^{-h/4} - 1)
        D(\mathbf{x}_i, t_i), \\
        \mathbf{x}_{i+1} &= \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i
        - a_{i+1}(e^{-h/2} - 1) D(\mathbf{u}, t_m).
        \end{aligned}

    The grid is that of :func:`karras_grid` (so :math:`\lambda_i = -2\log\nu_i`); its last
    interval, to :math:`\nu = 0`, is the first-order limit :math:`\mathbf{x} \mapsto
    D(\mathbf{x}, t_{\min})`, Tweedie's jump.

    Args:
        score_fn: ``score_fn(x_t, t)``, see :data:`ScoreFn`.
        sde: the VP-SDE.
        x_T: ``(B, ...)`` draws of the prior (at :math:`t = 1`).
        n_steps: number of intervals, >= 1; the cost is ``2 n_steps - 1`` evaluations.
        generator: unused (the ODE is deterministic); accepted for the shared signature.
        rho: exponent of the grid, see :func:`karras_grid`.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of ``score_fn`` calls.
    """
    x, n_steps = _check_inputs(sde, x_T, n_steps)
    model = _Model(score_fn, sde)
    nus = karras_grid(sde, n_steps, rho).tolist()
    # The grid's times; the first interval starts at t = 1 exactly, where x_T lives.
    times = [1.0] + [float(sde.t_from_nu(nu)) for nu in nus[1:-1]]
    for i in range(n_steps - 1):
        t, t_next = times[i], times[i + 1]
        h = _log_snr_step(nus[i], nus[i + 1])
        t_mid = float(sde.t_from_nu(math.sqrt(nus[i] * nus[i + 1])))  # the midpoint in lambda
        sigma, sigma_mid, sigma_next = (float(sde.sigma(u)) for u in (t, t_mid, t_next))
        scale_mid, scale_next = float(sde.scale(t_mid)), float(sde.scale(t_next))
        x_0_hat = model.denoise(x, t)
        u = (sigma_mid / sigma) * x - scale_mid * math.expm1(-0.25 * h) * x_0_hat
        x = (sigma_next / sigma) * x - scale_next * math.expm1(-0.5 * h) * model.denoise(u, t_mid)
    return model.denoise(x, times[-1]), model.nfe


def dpm_solver_2m(
    score_fn: ScoreFn,
    sde: VPSDE,
    x_T: torch.Tensor,
    n_steps: int,
    generator: torch.Generator | None = None,
    rho: float | None = None,
) -> tuple[torch.Tensor, int]:
    r"""DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): the multistep form, one evaluation per
    step, eq. (dpm-2m).

    Instead of a midpoint evaluation, the derivative of :math:`D` along :math:`\lambda` is taken
    from the previous step's evaluation: with :math:`h_i = \lambda_{i+1} - \lambda_i` and
    :math:`r_i = h_{i-1}/h_i`,

    .. math::
        \begin{aligned}
        \mathbf{D}_i &= \Big(1 + \frac{1}{2r_i}\Big) D(\mathbf{x}_i, t_i)
        - \frac{1}{2r_i} D(\mathbf{x}_{i-1}, t_{i-1}), \\
        \mathbf{x}_{i+1} &= \frac{\sigma_{i+1}}{\sigma_i}\mathbf{x}_i
        - a_{i+1}(e^{-h_i/2} - 1)\,\mathbf{D}_i,
        \end{aligned}

    with the first-order :math:`\mathbf{D}_0 = D(\mathbf{x}_0, t_0)` on the first step and
    Tweedie's jump on the last interval (to :math:`\nu = 0`). Each step costs one
    evaluation, so for a given budget it takes twice as many (smaller) steps as
    :func:`dpm_solver_2s` and :func:`heun`; the local error is still of third order.

    The default grid is uniform in :math:`\lambda` (``rho=None``, :func:`log_snr_grid`); a
    number gives :func:`karras_grid`'s spacing with that exponent.

    Args:
        score_fn: ``score_fn(x_t, t)``, see :data:`ScoreFn`.
        sde: the VP-SDE.
        x_T: ``(B, ...)`` draws of the prior (at :math:`t = 1`).
        n_steps: number of intervals, >= 1; the cost is ``n_steps`` evaluations.
        generator: unused (the ODE is deterministic); accepted for the shared signature.
        rho: ``None`` for the log-SNR grid, else the exponent of :func:`karras_grid`.

    Returns:
        ``(x_0, nfe)``: ``(B, ...)`` samples and the number of ``score_fn`` calls.
    """
    x, n_steps = _check_inputs(sde, x_T, n_steps)
    model = _Model(score_fn, sde)
    nus = (log_snr_grid(sde, n_steps) if rho is None else karras_grid(sde, n_steps, rho)).tolist()
    times = [1.0] + [float(sde.t_from_nu(nu)) for nu in nus[1:-1]]
    previous: tuple[torch.Tensor, float] | None = None
    for i in range(n_steps - 1):
        t, t_next = times[i], times[i + 1]
        h = _log_snr_step(nus[i], nus[i + 1])
        x_0_hat = model.denoise(x, t)
        if previous is None:
            d = x_0_hat
        else:
            x_0_prev, h_prev = previous
            half_over_r = 0.5 * h / h_prev  # 1 / (2 r_i)
            d = (1.0 + half_over_r) * x_0_hat - half_over_r * x_0_prev
        sigma, sigma_next = float(sde.sigma(t)), float(sde.sigma(t_next))
        x = (sigma_next / sigma) * x - float(sde.scale(t_next)) * math.expm1(-0.5 * h) * d
        previous = (x_0_hat, h)
    return model.denoise(x, times[-1]), model.nfe


#: The samplers by name, for configuration files and the benchmark's sampler check.
SAMPLERS: dict[str, Callable[..., tuple[torch.Tensor, int]]] = {
    "euler_maruyama": euler_maruyama,
    "heun": heun,
    "dpm_solver_2s": dpm_solver_2s,
    "dpm_solver_2m": dpm_solver_2m,
}
