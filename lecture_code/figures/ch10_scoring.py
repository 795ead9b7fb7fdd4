"""Figures of chapter 10, "Scoring probabilistic forecasts".

Each builder draws synthetic forecasts with :mod:`lecture_code.forecasting.calibration`, scores
them with :mod:`lecture_code.forecasting.metrics` and :mod:`lecture_code.forecasting.calibration`,
and hands the numbers to :mod:`lecture_code.plots.scoring`.

Book: chapter 10, "Scoring probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from lecture_code.figures import register
from lecture_code.forecasting import calibration, metrics, shape_scores
from lecture_code.plots import scoring as plots
from lecture_code.plots.style import figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part3/10_scoring_rules"

#: The observation, the Gaussian forecast (mean, std) and the ensemble of the CRPS figure.
Y_OBS = 0.8
GAUSS = (0.0, 1.0)
MEMBERS = (-1.3, -0.4, 0.1, 0.3, 1.5)
#: Ensemble sizes of the bias and spread–skill figures.
M_VALUES = (2, 3, 5, 10, 20, 50)
#: The true distribution N(MU_TRUE, SIGMA_TRUE^2) of the hedging figure, and its draws.
MU_TRUE, SIGMA_TRUE = 0.5, 1.2
HEDGING_DRAWS = 20_000
#: Ensembles per size in the bias figure.
BIAS_ENSEMBLES = 20_000
#: Rank-histogram figure: cases and members.
RANK_N, RANK_M = 5000, 10
#: Spread-error panel: members, cases, variables per case and bins.
BINS_M, BINS_N, BINS_K, N_BINS = 50, 2000, 4, 10
#: (title, dispersion, bias) of the four synthetic ensembles of the rank-histogram figure.
RANK_CASES = (
    ("calibrated", 1.0, 0.0),
    ("under-dispersed (spread x 0.5)", 0.5, 0.0),
    ("over-dispersed (spread x 2)", 2.0, 0.0),
    ("biased (members + 0.5)", 1.0, 0.5),
)
#: Sensitivity figure: spread factors, the quadrature grid of the truth N(0, 1), the levels.
SENS_S = (0.5, 1.5, 201)
QUAD_Z = (12.0, 200_001)
TAIL_LEVELS = (0.01, 0.99)


def standardised_excess(score, expected) -> tuple[torch.Tensor, torch.Tensor]:
    """Spread factors and ``(expected(s) - expected(1)) / sd``, with ``sd`` the per-case standard
    deviation of ``score(y)`` (the optimal forecast's score) under N(0, 1), by quadrature.

    ``score(y)`` scores the optimal forecast N(0, 1) at the points ``y``; ``expected(s)`` is the
    expected score of N(0, s^2) under the truth N(0, 1).
    """
    z = torch.linspace(-QUAD_Z[0], QUAD_Z[0], QUAD_Z[1], dtype=torch.float64)
    density = torch.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    values = score(z)
    mean = torch.trapezoid(values * density, z)
    sd = torch.sqrt(torch.trapezoid((values - mean) ** 2 * density, z))
    s = torch.linspace(*SENS_S, dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)
    return s, (expected(s) - expected(one)) / sd


def sensitivity_curves() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The curves of the sensitivity figure: CRPS, log score and the tail quantile scores."""

    def zeros(t):
        return torch.zeros_like(t)

    def ones(t):
        return torch.ones_like(t)

    pairs = {
        "CRPS": (
            lambda y: metrics.crps_gaussian(zeros(y), ones(y), y),
            lambda s: metrics.expected_crps_gaussian(zeros(s), s, 0.0, 1.0),
        ),
        "log score": (
            lambda y: shape_scores.log_score_gaussian(zeros(y), ones(y), y),
            lambda s: shape_scores.expected_log_score_gaussian(zeros(s), s, 0.0, 1.0),
        ),
    }
    for a in TAIL_LEVELS:
        pairs[f"quantile score, {a:.0%}"] = (
            lambda y, a=a: shape_scores.quantile_score_gaussian(zeros(y), ones(y), y, a),
            lambda s, a=a: shape_scores.expected_quantile_score_gaussian(zeros(s), s, 0.0, 1.0, a),
        )
    curves = {}
    for label, (score, expected) in pairs.items():
        s, curves[label] = standardised_excess(score, expected)
    return s, curves


@register(
    "ch10_sensitivity",
    chapter=CHAPTER,
    caption="Excess expected score of the forecast N(0, kappa^2) when the truth is N(0, 1), in "
    "standard deviations of the optimal forecast's per-case score: the CRPS is the flattest "
    "near kappa = 1; the log score and the tail quantile scores see spread errors several times "
    "more clearly.",
)
def build_sensitivity(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.6))
    ax = fig.subplots()
    s, curves = sensitivity_curves()
    plots.plot_sensitivity(ax, s, curves)
    return fig


@register(
    "ch10_crps_area",
    chapter=CHAPTER,
    caption="The CRPS is the integral over thresholds of the squared gap between the forecast "
    "CDF and the observation's step function, for a Gaussian forecast (left) and an ensemble "
    f"of {len(MEMBERS)} members (right).",
)
def build_crps_area(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.7))
    axes = fig.subplots(2, 2, sharex=True)
    z = torch.linspace(-3.5, 3.5, 7001, dtype=torch.float64)
    y = torch.tensor(Y_OBS, dtype=torch.float64)
    members = torch.tensor(MEMBERS, dtype=torch.float64)
    mu, sigma = torch.tensor(GAUSS[0]), torch.tensor(GAUSS[1])
    cdfs = {
        r"forecast $\mathcal{N}(0, 1)$": torch.special.ndtr((z - mu) / sigma),
        f"ensemble, $M = {len(MEMBERS)}$": (members[:, None] <= z).to(torch.float64).mean(0),
    }
    crps = [
        float(metrics.crps_gaussian(mu, sigma, y)),
        float(metrics.crps_ensemble(members[None, :, None], y.reshape(1, 1), fair=False)[0, 0]),
    ]
    for column, ((label, cdf), score) in enumerate(zip(cdfs.items(), crps, strict=True)):
        plots.plot_cdf_and_step(axes[0, column], z, cdf, Y_OBS, label=label)
        integrand = (cdf - (z >= Y_OBS).to(torch.float64)) ** 2
        plots.plot_brier_integrand(axes[1, column], z, integrand, score)
        axes[0, column].set_xlabel("")
    plots.plot_members(axes[0, 1], members)
    return fig


@register(
    "ch10_estimator_bias",
    chapter=CHAPTER,
    caption="Mean ensemble CRPS minus the exact CRPS of the distribution the members come from: "
    "the standard estimator is too high by E|X - X'|/(2M), the fair estimator is unbiased at "
    f"every M (bars: two standard errors over {BIAS_ENSEMBLES:,} ensembles).",
)
def build_estimator_bias(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.65))
    ax = fig.subplots()
    n = BIAS_ENSEMBLES
    # Members and observation ~ N(mu, 1), one mu per case: the exact mean CRPS is 1/sqrt(pi),
    # and E|X - X'| = 2/sqrt(pi).
    exact = 1.0 / math.sqrt(math.pi)
    bias: dict[str, tuple[list[float], list[float]]] = {"standard": ([], []), "fair": ([], [])}
    for M in M_VALUES:
        generator = generator_for(seed, "ch10", "bias", M)
        ensemble, y = calibration.synthetic_ensemble(n, M, 1, generator, log_sigma_std=0.0)
        for name, fair in (("standard", False), ("fair", True)):
            scores = metrics.crps_ensemble(ensemble, y, fair=fair)[:, 0]
            bias[name][0].append(float(scores.mean()) - exact)
            bias[name][1].append(float(scores.std()) / math.sqrt(n))
    grid = torch.logspace(math.log10(M_VALUES[0]), math.log10(M_VALUES[-1]), 100)
    theory = (2.0 / math.sqrt(math.pi)) / (2.0 * grid)
    data = {name: (torch.tensor(m), torch.tensor(s)) for name, (m, s) in bias.items()}
    plots.plot_estimator_bias(ax, torch.tensor(M_VALUES), data, (grid, theory))
    return fig


@register(
    "ch10_hedging",
    chapter=CHAPTER,
    caption=f"Expected CRPS of a Gaussian forecast when the truth is "
    f"N({MU_TRUE:g}, {SIGMA_TRUE:g}^2): it is "
    "smallest at the true standard deviation (left) and the true mean (right); the mean "
    "absolute error E|X - Y| alone (dashed) rewards a collapsed, overconfident forecast.",
)
def build_hedging(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.45))
    left, right = fig.subplots(1, 2, sharey=True)
    sigma = torch.linspace(0.02, 3.0, 300, dtype=torch.float64)
    mu = torch.linspace(MU_TRUE - 2.5, MU_TRUE + 2.5, 301, dtype=torch.float64)
    at_true_mu = torch.full_like(sigma, MU_TRUE)
    at_true_sigma = torch.full_like(mu, SIGMA_TRUE)
    crps_sigma = metrics.expected_crps_gaussian(at_true_mu, sigma, MU_TRUE, SIGMA_TRUE)
    # E|X - Y| is the CRPS without its spread term E|X - X'| / 2 = sigma / sqrt(pi).
    mae_sigma = crps_sigma + sigma / math.sqrt(math.pi)
    # Monte Carlo: the closed form against the average CRPS over draws of the truth.
    n = HEDGING_DRAWS
    draws = MU_TRUE + SIGMA_TRUE * torch.randn(
        n, generator=generator_for(seed, "ch10", "hedging"), dtype=torch.float64
    )
    sigma_mc = torch.tensor([0.3, 0.6, 1.2, 1.8, 2.4, 3.0], dtype=torch.float64)
    mc = torch.stack(
        [
            metrics.crps_gaussian(
                torch.full_like(draws, MU_TRUE), torch.full_like(draws, s), draws
            ).mean()
            for s in sigma_mc
        ]
    )
    plots.plot_expected_score(
        left,
        sigma,
        {"expected CRPS": crps_sigma, r"$\mathbb{E}|X - Y|$ (improper)": mae_sigma},
        SIGMA_TRUE,
        xlabel=r"forecast standard deviation $\sigma$ (mean at the truth)",
        points=(sigma_mc, mc),
    )
    plots.plot_expected_score(
        right,
        mu,
        {
            r"expected CRPS, $\sigma = \sigma_\star$": metrics.expected_crps_gaussian(
                mu, at_true_sigma, MU_TRUE, SIGMA_TRUE
            ),
            r"expected CRPS, $\sigma = \sigma_\star / 2$": metrics.expected_crps_gaussian(
                mu, at_true_sigma / 2, MU_TRUE, SIGMA_TRUE
            ),
        },
        MU_TRUE,
        xlabel=r"forecast mean $\mu$",
    )
    right.set_ylabel("")
    return fig


@register(
    "ch10_rank_histograms",
    chapter=CHAPTER,
    caption=f"Rank histograms of {RANK_M}-member synthetic ensembles over {RANK_N:,} cases: "
    "flat when "
    "members and truth are exchangeable, U-shaped when under-dispersed, dome-shaped when "
    "over-dispersed, sloped when biased (grey band: two binomial standard deviations).",
)
def build_rank_histograms(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.62))
    axes = fig.subplots(2, 2, sharex=True, sharey=True)
    for ax, (title, dispersion, bias) in zip(axes.flat, RANK_CASES, strict=True):
        generator = generator_for(seed, "ch10", "rank", title)
        ensemble, y = calibration.synthetic_ensemble(
            RANK_N, RANK_M, 1, generator, dispersion=dispersion, bias=bias
        )
        counts = calibration.rank_histogram(ensemble, y, generator)
        plots.plot_rank_histogram(ax, counts, title=title)
    for ax in axes[0]:
        ax.set_xlabel("")
    for ax in axes[:, 1]:
        ax.set_ylabel("")
    return fig


@register(
    "ch10_spread_skill",
    chapter=CHAPTER,
    caption="Left: calibrated ensembles have spread / RMSE = sqrt(M/(M+1)) below 1, and "
    "exactly 1 after the sqrt((M+1)/M) correction. Right: binned by their spread, "
    f"{BINS_M}-member "
    "ensembles lie on the diagonal when calibrated, above it when under-dispersed, below it "
    "when over-dispersed.",
)
def build_spread_skill(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.45))
    left, right = fig.subplots(1, 2)
    naive, corrected = [], []
    for M in M_VALUES:
        generator = generator_for(seed, "ch10", "ssr", M)
        ensemble, y = calibration.synthetic_ensemble(4000, M, 5, generator)
        naive.append(
            calibration.ensemble_spread(ensemble) / calibration.ensemble_mean_rmse(ensemble, y)
        )
        corrected.append(calibration.spread_skill_ratio(ensemble, y))
    grid = torch.logspace(math.log10(M_VALUES[0]), math.log10(M_VALUES[-1]), 100)
    plots.plot_ssr_against_members(
        left,
        torch.tensor(M_VALUES),
        {"uncorrected": torch.tensor(naive), "corrected (SSR)": torch.tensor(corrected)},
        (grid, torch.sqrt(grid / (grid + 1))),
    )
    curves = {}
    for label, dispersion in (("calibrated", 1.0), ("under-dispersed", 0.6), ("over", 1.5)):
        generator = generator_for(seed, "ch10", "spread-error", label)
        ensemble, y = calibration.synthetic_ensemble(
            BINS_N, BINS_M, BINS_K, generator, dispersion=dispersion
        )
        curves[label] = calibration.spread_error_bins(ensemble, y, n_bins=N_BINS)
    curves["over-dispersed"] = curves.pop("over")
    plots.plot_spread_error(right, curves)
    return fig


# --- measurements the chapter makes (kept here so that no chapter cell defines a function) ---
def crps_ratio(mu: float | torch.Tensor, kappa: float | torch.Tensor) -> torch.Tensor:
    r""":math:`\sqrt\pi\,S(P, Q)`: the expected CRPS of :math:`P = \mathcal{N}(\mu, \kappa^2)`
    over its optimum, for the truth :math:`Q = \mathcal{N}(0, 1)`."""
    mu = torch.as_tensor(mu, dtype=torch.float64)
    kappa = torch.as_tensor(kappa, dtype=torch.float64)
    return math.sqrt(math.pi) * metrics.expected_crps_gaussian(mu, kappa, 0.0, 1.0)


def under_standard_normal(
    values: torch.Tensor, z: torch.Tensor, density: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and standard deviation over :math:`Y \\sim \\mathcal{N}(0, 1)` of a score tabulated
    at the quadrature nodes ``z`` with the standard normal ``density`` (trapezoidal rule)."""
    mean = torch.trapezoid(values * density, z)
    return mean, torch.sqrt(torch.trapezoid((values - mean) ** 2 * density, z))


def log_excess(mu: float | torch.Tensor, kappa: float | torch.Tensor, optimum: torch.Tensor):
    r"""The expected log score of :math:`\mathcal{N}(\mu, \kappa^2)` under the truth
    :math:`\mathcal{N}(0, 1)` minus the optimum ``optimum``."""
    return (
        shape_scores.expected_log_score_gaussian(
            torch.as_tensor(mu, dtype=torch.float64),
            torch.as_tensor(kappa, dtype=torch.float64),
            0.0,
            1.0,
        )
        - optimum
    )


def gaussian_quantile_integral(
    mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor, n: int
) -> torch.Tensor:
    r""":math:`2\int_0^1 \mathrm{QS}_\alpha\,d\alpha` for Gaussian forecasts by the midpoint rule
    with ``n`` levels (eq. (crps-quantile))."""
    levels = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return 2 * sum(shape_scores.quantile_score_gaussian(mu, sigma, y, float(a)) for a in levels) / n


def mean_abs_power(rho: float, p: float) -> float:
    r""":math:`\mathbb{E}|X_i - X_j|^p` for standard Gaussians of correlation ``rho``:
    :math:`(2(1-\rho))^{p/2}\,2^{p/2}\Gamma((p+1)/2)/\sqrt\pi`."""
    return (4 * (1 - rho)) ** (p / 2) * math.gamma((p + 1) / 2) / math.sqrt(math.pi)


def small_ensemble_tails(
    n: int, M: int, spreads: tuple[float, ...], generator: torch.Generator
) -> dict[tuple[str, float, float], float]:
    """The lower-tail scores of ensembles drawn from N(0, s^2) against a N(0, 1) truth, paired.

    Draws ``n`` cases of ``M`` standard normal members and one observation, scales the members
    by each spread factor (common random numbers, so the differences are precise) and scores
    them by the 1 % quantile score and by the fair and standard tail CRPS below the truth's 1 %
    quantile (book eq. (tail-crps)).

    Returns:
        ``(score, s_a, s_b) -> z`` for every score and ordered pair of ``spreads``: the mean of
        the score at ``s_a`` minus the score at ``s_b``, in standard errors (negative: ``s_a``
        scores better).
    """
    z = torch.randn(n, M, 1, generator=generator, dtype=torch.float64)
    y = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    t = -2.3263478740408408  # the 1 % quantile of N(0, 1)
    scores = {
        "quantile score": lambda x: shape_scores.quantile_score(x, y, 0.01),
        "fair tail CRPS": lambda x: shape_scores.tail_crps(x, y, t, upper=False),
        "standard tail CRPS": lambda x: shape_scores.tail_crps(x, y, t, upper=False, fair=False),
    }
    out = {}
    for name, score in scores.items():
        by_spread = {s: score(s * z).flatten() for s in spreads}
        for a in spreads:
            for b in spreads:
                if a != b:
                    d = by_spread[a] - by_spread[b]
                    out[(name, a, b)] = float(d.mean() / (d.std() / math.sqrt(n)))
    return out
