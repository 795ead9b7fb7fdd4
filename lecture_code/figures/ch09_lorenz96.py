"""Figures of chapter 9, "Lorenz-96 and chaos".

Each builder integrates the system with :mod:`lecture_code.forecasting.lorenz96` (and measures
its chaos with :mod:`lecture_code.forecasting.chaos`) and hands the results to
:mod:`lecture_code.plots.lorenz96`. The random streams and sizes are the chapter's own
(``generator_for(seed, "ch09", ...)``), so with the default seed a figure shows exactly the runs
whose numbers the chapter quotes. The integrations that several figures share are computed once
per seed and process (``functools.cache``); nothing modifies their results.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`).
"""

from __future__ import annotations

import functools
import math

import torch
from matplotlib.figure import Figure

from lecture_code.figures import register
from lecture_code.forecasting import chaos
from lecture_code.forecasting import lorenz96 as l96
from lecture_code.plots import lorenz96 as plots
from lecture_code.plots.style import figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part3/09_lorenz96"

#: The deterministic and the stochastic (truth) systems of the chapter.
DETERMINISTIC = l96.Lorenz96(sigma_xi=0.0)
TRUTH = l96.Lorenz96()
#: Colour scale of the state plots: most values lie within mean ± 2.5 std of the attractor.
LIMIT = 10.0
#: Hovmöller diagram: time units shown.
HOVMOLLER_TIME = 5.0
#: RK4 convergence: states, end time, steps compared, reference step.
CONVERGENCE_B = 8
CONVERGENCE_TIME = 0.5
CONVERGENCE_DTS = (0.02, 0.01, 0.005, 0.0025, 0.00125)
REFERENCE_DT = 0.5 / 1600
#: Attractor statistics: independent trajectories and their length in time units.
STATS_B, STATS_TIME = 100, 20.0
#: Lyapunov exponent: independent runs, averaging time, transient (time units).
LYAP_B, LYAP_TIME, LYAP_TRANSIENT = 16, 40.0, 5.0
#: Published range of λ_1 for K = 40, F = 8 (about 1.7 to one decimal).
LYAP_PUBLISHED = (1.6, 1.8)
#: Error growth: controls, members, lead time (time units), perturbation sizes.
GROWTH_B, GROWTH_M, GROWTH_TIME = 40, 10, 15.0
GROWTH_AMPLITUDES = (1e-6, 1e-2)
#: Oracle figure: members and the longer lead (model steps).
ORACLE_M, ORACLE_LONG_LEAD = 4000, 20


@functools.cache
def attractor_sample(seed: int) -> torch.Tensor:
    """(STATS_B, N, K) deterministic trajectories on the attractor (the chapter's sample)."""
    generator = generator_for(seed, "ch09", "statistics")
    u_0 = l96.spin_up(STATS_B, DETERMINISTIC, generator)
    n_steps = l96.lead_steps(STATS_TIME, DETERMINISTIC)
    return l96.trajectory(u_0, n_steps, DETERMINISTIC, None)


@register(
    "ch09_ring",
    chapter=CHAPTER,
    caption=f"One Lorenz-96 state on the attractor (K = {DETERMINISTIC.K}, "
    f"F = {DETERMINISTIC.F:g}): on its ring of sites (left; "
    "the distance from the dashed circle and the colour, red positive and blue negative, give "
    "u_k) and unrolled against the site index (right), with the unstable fixed point u = F and "
    "the attractor mean.",
)
def build_ring(seed: int, style: str) -> Figure:
    u = attractor_sample(seed)
    state = u[0, -1]
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.45))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    plots.plot_ring(left, state, limit=LIMIT)
    plots.plot_state(right, state, F=DETERMINISTIC.F, mean=float(u.mean()))
    return fig


@register(
    "ch09_hovmoller",
    chapter=CHAPTER,
    caption="Hovmöller diagram of the deterministic Lorenz-96 system: u_k(t) with sites across "
    "and time upwards. The crests are spaced about like the fastest-growing harmonic of the "
    "fixed point, and they drift towards lower k while growing and decaying irregularly.",
)
def build_hovmoller(seed: int, style: str) -> Figure:
    u = attractor_sample(seed)[0]
    n = l96.lead_steps(HOVMOLLER_TIME, DETERMINISTIC)
    time = DETERMINISTIC.Delta * torch.arange(n + 1)
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.8))
    plots.plot_hovmoller(fig.subplots(), time, u[: n + 1], limit=LIMIT)
    return fig


def convergence_errors(seed: int) -> dict[str, torch.Tensor]:
    """Max error at ``CONVERGENCE_TIME`` of RK4 and Euler for each step in CONVERGENCE_DTS."""
    u_0 = l96.spin_up(CONVERGENCE_B, DETERMINISTIC, generator_for(seed, "ch09", "rk4"))
    F = DETERMINISTIC.F
    reference = l96.integrate(u_0, CONVERGENCE_TIME, REFERENCE_DT, F)
    return {
        method: torch.tensor(
            [
                float((l96.integrate(u_0, CONVERGENCE_TIME, dt, F, method) - reference).abs().max())
                for dt in CONVERGENCE_DTS
            ]
        )
        for method in ("rk4", "euler")
    }


@register(
    "ch09_rk4_convergence",
    chapter=CHAPTER,
    caption=f"Error at t = {CONVERGENCE_TIME:g} against the step δ, for RK4 and forward Euler, "
    f"from {CONVERGENCE_B} states on the attractor, against a reference with "
    f"δ = {REFERENCE_DT:g}. Halving δ divides the RK4 error by about 2⁴: fourth order.",
)
def build_rk4_convergence(seed: int, style: str) -> Figure:
    errors = convergence_errors(seed)
    orders = {name: l96.convergence_order(CONVERGENCE_DTS, e) for name, e in errors.items()}
    fig = Figure(figsize=figsize(style, 0.75, aspect=0.75))
    plots.plot_convergence(
        fig.subplots(),
        CONVERGENCE_DTS,
        {"RK4": errors["rk4"], "Euler": errors["euler"]},
        {"RK4": orders["rk4"], "Euler": orders["euler"]},
    )
    return fig


@register(
    "ch09_statistics",
    chapter=CHAPTER,
    caption="Statistics of u_k on the attractor of the deterministic system "
    f"({STATS_B} trajectories of {STATS_TIME:g} time units, all sites pooled): the histogram "
    "with its mean and standard deviation "
    "(left) and the time autocorrelation (right), with the stride between training "
    "transitions marked.",
)
def build_statistics(seed: int, style: str) -> Figure:
    u = attractor_sample(seed)
    max_lag = l96.lead_steps(2.0, DETERMINISTIC)
    acf = chaos.autocorrelation(u, max_lag)
    lag_time = DETERMINISTIC.Delta * torch.arange(max_lag + 1)
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.4))
    left, right = fig.subplots(1, 2)
    plots.plot_histogram(left, u.flatten(), mean=float(u.mean()), std=float(u.std()))
    plots.plot_autocorrelation(right, lag_time, acf, mark=0.25)
    return fig


@functools.cache
def lyapunov_run(seed: int) -> tuple[torch.Tensor, chaos.LyapunovRun]:
    """The chapter's Lyapunov computation: (LYAP_B,) estimates and the run."""
    return chaos.lyapunov_estimates(
        DETERMINISTIC,
        generator_for(seed, "ch09", "lyapunov"),
        time=LYAP_TIME,
        B=LYAP_B,
        transient=LYAP_TRANSIENT,
    )


@register(
    "ch09_lyapunov",
    chapter=CHAPTER,
    caption="Running estimates of the leading Lyapunov exponent by QR re-orthonormalisation, "
    f"for {LYAP_B} independent runs after a transient of {LYAP_TRANSIENT:g} time units: each "
    "settles as the "
    "averaging time grows; their mean lies in the published range (shaded).",
)
def build_lyapunov(seed: int, style: str) -> Figure:
    estimates, run = lyapunov_run(seed)
    n_skip = l96.lead_steps(LYAP_TRANSIENT, DETERMINISTIC)
    growth = run.log_growth[:, n_skip:, 0]
    time = DETERMINISTIC.Delta * torch.arange(1, growth.shape[1] + 1, dtype=torch.float64)
    running = growth.cumsum(dim=1) / time
    fig = Figure(figsize=figsize(style, 0.9, aspect=0.6))
    plots.plot_running_lyapunov(
        fig.subplots(),
        time,
        running,
        estimate=float(estimates.mean()),
        published=LYAP_PUBLISHED,
    )
    return fig


@functools.cache
def error_growth(seed: int) -> dict[float, torch.Tensor]:
    """d_0 -> (GROWTH_B, GROWTH_M, N) RMS distance of perturbed members from their control."""
    generator = generator_for(seed, "ch09", "growth")
    u_0 = l96.spin_up(GROWTH_B, DETERMINISTIC, generator)
    n_steps = l96.lead_steps(GROWTH_TIME, DETERMINISTIC)
    return {
        a: chaos.perturbation_growth(u_0, a, GROWTH_M, n_steps, DETERMINISTIC, generator)
        for a in GROWTH_AMPLITUDES
    }


@register(
    "ch09_error_growth",
    chapter=CHAPTER,
    caption="Distance of perturbed members from their unperturbed control (geometric mean over "
    f"{GROWTH_B} controls and {GROWTH_M} members each) against lead time, for two initial "
    "sizes d_0: "
    "exponential growth at the rate λ₁ (dotted) until the distance saturates at the "
    "climatological level √2 std (dashed).",
)
def build_error_growth(seed: int, style: str) -> Figure:
    rms = error_growth(seed)
    estimates, _ = lyapunov_run(seed)
    u = attractor_sample(seed)
    time = DETERMINISTIC.Delta * torch.arange(next(iter(rms.values())).shape[-1])
    labels = {a: f"$d_0 = 10^{{{round(math.log10(a))}}}$" for a in rms}
    curves = {labels[a]: torch.log(r).mean(dim=(0, 1)).exp() for a, r in rms.items()}
    fig = Figure(figsize=figsize(style, 0.9, aspect=0.65))
    plots.plot_error_growth(
        fig.subplots(),
        time,
        curves,
        amplitude={labels[a]: a for a in rms},
        lam=float(estimates.mean()),
        saturation=float(2.0**0.5 * u.std()),
    )
    return fig


@functools.cache
def oracle_forecasts(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The oracle of the figure: its start (1, K), and ORACLE_M members after one model step
    and after ORACLE_LONG_LEAD steps, (ORACLE_M, K) each (the chapter measures their shape)."""
    generator = generator_for(seed, "ch09", "oracle_figure")
    u_0 = l96.spin_up(1, TRUTH, generator)
    members = u_0.expand(ORACLE_M, -1)
    one = l96.model_step(members, TRUTH, generator)
    far = l96.trajectory(members, ORACLE_LONG_LEAD, TRUTH, generator)[:, -1]
    return u_0, one, far


@register(
    "ch09_oracle_one_step",
    chapter=CHAPTER,
    caption="Forecasts of site k = 0 from one exact state of the stochastic truth. Left: one "
    f"model step Δ = {TRUTH.Delta:g}; the oracle's members spread as N(·, σ_ξ²Δ) around the "
    f"deterministic forecast. Right: {ORACLE_LONG_LEAD} steps "
    f"({ORACLE_LONG_LEAD * TRUTH.Delta:g} time unit); the distribution is wider, shifted and "
    "skewed, "
    "and the deterministic forecast is one point that says nothing about it.",
)
def build_oracle_one_step(seed: int, style: str) -> Figure:
    u_0, one, far = oracle_forecasts(seed)
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.42))
    left, right = fig.subplots(1, 2)
    deterministic = l96.model_step(u_0, TRUTH, deterministic=True)
    sd = TRUTH.sigma_xi * TRUTH.Delta**0.5
    plots.plot_one_step(
        left,
        one[:, 0],
        float(deterministic[0, 0]),
        gaussian=(float(deterministic[0, 0]), sd),
        title=f"lead Δ = {TRUTH.Delta:g}",
    )
    far_deterministic = l96.trajectory(u_0, ORACLE_LONG_LEAD, TRUTH, deterministic=True)[:, -1]
    plots.plot_one_step(
        right,
        far[:, 0],
        float(far_deterministic[0, 0]),
        gaussian=None,
        title=f"lead {ORACLE_LONG_LEAD}Δ = {ORACLE_LONG_LEAD * TRUTH.Delta:g} time unit",
    )
    return fig


#: The bursty truth of benchmark version 2 (eq. (l96-burst)) and the one-step-law measurement:
#: attractor states per track and oracle members from each.
BURSTY = l96.Lorenz96(p_burst=0.002, J_burst=2.0)
SHAPE_N, SHAPE_M = 40, 2000


@functools.cache
def one_step_laws(seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per track (``"gaussian"``, ``"bursty"``): SHAPE_N attractor states of that track, (N, K),
    and SHAPE_M oracle members one model step on from each, (N, M, K)."""
    laws = {}
    for track, system in (("gaussian", TRUTH), ("bursty", BURSTY)):
        generator = generator_for(seed, "ch09", "shape", track)
        u_0 = l96.spin_up(SHAPE_N, system, generator)
        members = l96.model_step(u_0.repeat_interleave(SHAPE_M, dim=0), system, generator)
        laws[track] = (u_0, members.reshape(SHAPE_N, SHAPE_M, system.K))
    return laws


def standardised_residuals(members: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / sd`` over the members (axis 1, population moments), same shape."""
    centred = members - members.mean(dim=1, keepdim=True)
    return centred / centred.pow(2).mean(dim=1, keepdim=True).sqrt()


@register(
    "ch09_one_step_shape",
    chapter=CHAPTER,
    caption="The standardised one-step residual at site k = 0, pooled over "
    f"{SHAPE_N} attractor states with {SHAPE_M} oracle members each, on a log axis, against "
    "the standard normal density. Left: the Gaussian control. Right: the bursty truth; its "
    "one-sided tail of bursts reaches far beyond any Gaussian.",
)
def build_one_step_shape(seed: int, style: str) -> Figure:
    laws = one_step_laws(seed)
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.42))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (track, title) in zip(
        axes, (("gaussian", "Gaussian control"), ("bursty", "bursty truth")), strict=True
    ):
        plots.plot_standardised_histogram(
            ax, standardised_residuals(laws[track][1])[..., 0].flatten(), title=title
        )
    return fig


# --- measurements the chapter makes (kept here so that no chapter cell defines a function) ---
def forcing_covariance(
    system: l96.Lorenz96, burst_var: float, weights: tuple[float, ...] = (1.5, 1.0, 0.25)
) -> torch.Tensor:
    r"""``(K, K)``: the covariance of what one substep adds, :math:`\sigma_\xi^2\delta\mathbf{I}`
    plus the burst field's covariance ``weights[d] * burst_var`` at ring distance ``d`` (when
    the system has bursts); ``burst_var`` is :math:`V_A`."""
    K = system.K
    sites = torch.arange(K)
    distance = (sites[:, None] - sites[None, :]).abs()
    distance = torch.minimum(distance, K - distance)
    C = system.sigma_xi**2 * system.dt * torch.eye(K, dtype=torch.float64)
    if system.p_burst > 0:
        for d, w in enumerate(weights):
            C[distance == d] += w * burst_var
    return C


def linear_covariance(u_0: torch.Tensor, system: l96.Lorenz96, C: torch.Tensor) -> torch.Tensor:
    r"""``(N, K, K)``: :math:`\sum_j \mathbf{A}_j\mathbf{C}\mathbf{A}_j^\top`, eq.
    (l96-one-step-cov), the one-step covariance to first order with the forcing covariance
    ``C`` added after each substep, from the states ``u_0: (N, K)``."""
    K = system.K
    path = [u_0]
    for _ in range(system.substeps):
        path.append(l96.rk4_step(path[-1], system.dt, system.F))
    eye = torch.eye(K, dtype=torch.float64).expand(u_0.shape[0], K, K)
    total = torch.zeros_like(eye)
    for j in range(1, system.substeps + 1):
        w, A = path[j], eye
        for _ in range(j, system.substeps):
            w, A = chaos.rk4_tangent_step(w, A, system.dt, system.F)
        total = total + A @ C @ A.transpose(1, 2)
    return total


def neighbour_correlation(cov: torch.Tensor) -> torch.Tensor:
    """``(N,)``: the site-averaged correlation of neighbouring sites of covariance matrices
    ``cov: (N, K, K)``."""
    var = torch.diagonal(cov, dim1=1, dim2=2)
    off = torch.diagonal(cov.roll(-1, dims=2), dim1=1, dim2=2)  # Cov(u_k, u_{k+1})
    return (off / (var * var.roll(-1, dims=1)).sqrt()).mean(dim=1)


def mean_se(values: torch.Tensor) -> tuple[float, float]:
    """The mean of ``values: (N,)`` over independent states and its standard error."""
    return float(values.mean()), float(values.std()) / math.sqrt(values.shape[0])
