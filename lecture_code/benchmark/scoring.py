r"""Every score of the protocol, for every forecaster, lead by lead, each with an interval.

Forecasts are rolled out from ``B`` test initial states as ``(B, L, M, K)`` ensembles (``L``
lead times, ``M`` members, ``K`` sites) and verified against one path of the truth from each
state, ``(B, L, K)``. Initial states are independent (they come from separate trajectories),
so every interval is a percentile bootstrap over initial states
(:mod:`lecture_code.forecasting.bootstrap`, book eq. (bootstrap-ci)); a statistic that is a
function of several means (a ratio, a root mean square) is computed on each resample from the
*same* resampled states. At every lead time (book chapter 10):

- the fair CRPS (Ferro 2014), its ratio to the oracle's (a paired interval: both scores on the
  same resampled states) and the normalised gap
  :math:`(\mathrm{CRPS} - \mathrm{CRPS}_{\text{oracle}}) / (\mathrm{CRPS}_{\text{clim}} -
  \mathrm{CRPS}_{\text{oracle}})`;
- the ensemble-mean RMSE, the spread and the spread–skill ratio with the
  :math:`\sqrt{(M+1)/M}` correction (Fortin et al. 2014),
  :math:`\mathrm{SSR} = \sqrt{(M+1)/M}\,\sqrt{\overline{s^2}}/\sqrt{\overline{e^2}}`;
- the quantile (pinball) scores of the ensemble's empirical quantiles at the levels of the
  profile (1 % and 99 %), which see the tails that the CRPS averages away
  (:func:`lecture_code.forecasting.shape_scores.quantile_score`);
- the fair tail CRPS of each tail beyond the training climatology's quantile at the same
  levels (:func:`lecture_code.forecasting.shape_scores.tail_crps`): the threshold Brier scores
  of the protocol's alternative, integrated over the tail, in a form that is fair for any ``M``;
- the fair energy score of the ring and the fair variogram score (Scheuerer & Hamill 2015,
  order 0.5, site pairs up to distance 3), which see the joint law of the sites;
- rank histograms over all sites, and a PIT flatness test at a few lead times on *one site per
  initial state* (site ``b mod K``): ranks of neighbouring sites are correlated, which makes a
  chi-square test on all sites reject a calibrated forecast (Hamill 2001); one site per
  independent state keeps the test's size.

**A caution on the quantile scores.** The empirical :math:`\alpha`-quantile of ``M`` members
is the :math:`\lceil M\alpha\rceil`-th smallest; for :math:`\alpha < 1/M` (1 % of 20 or 50
members) it is the smallest member. Its pinball loss is then a score of the ensemble's
minimum, a noisy estimate whose error depends on the tail's density, and not a fair score of
the ensemble's law: an ensemble drawn from the truth's own law can lose to a Gaussian with the
right mean and spread. The benchmark measures this (the bursty target's detail
``gaussian_over_oracle``) instead of assuming it away, and scores the tails fairly as well
(the tail CRPS).

:func:`per_state_scores` returns the per-state values that the scorecard compares
(:mod:`lecture_code.benchmark.scorecard`).

References:
    C. A. T. Ferro, "Fair scores for ensemble forecasts", Q. J. R. Meteorol. Soc. 140, 2014.
    V. Fortin et al., "Why should ensemble spread match the RMSE of the ensemble mean?",
    J. Hydrometeorol. 15, 2014.
    T. M. Hamill, "Interpretation of rank histograms for verifying ensemble forecasts",
    Mon. Weather Rev. 129, 2001.
    M. Scheuerer and T. M. Hamill, "Variogram-based proper scoring rules for probabilistic
    forecasts of multivariate quantities", Mon. Weather Rev. 143, 2015.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`); chapter 10, "Scoring
probabilistic forecasts" (:doc:`/book/part3/10_scoring_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.forecasting.bootstrap import bootstrap_means, percentile_interval
from lecture_code.forecasting.calibration import chi2_sf, pit_ensemble, rank_histogram
from lecture_code.forecasting.metrics import crps_ensemble, energy_score
from lecture_code.forecasting.shape_scores import quantile_score, tail_crps, variogram_score
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "PIT_BINS",
    "climatological_tails",
    "crps_per_site",
    "per_state_scores",
    "pit_flatness",
    "quantile_key",
    "score_forecasts",
    "scorecard_scores",
    "summarise_scores",
    "tail_key",
]

#: Equal-width bins of the PIT flatness test.
PIT_BINS = 10


def quantile_key(level: float) -> str:
    """The results key of the quantile score at ``level``: ``quantile_01`` for 0.01."""
    return f"quantile_{round(100 * level):02d}"


def tail_key(level: float) -> str:
    """The results key of the tail CRPS beyond the climatological ``level`` quantile:
    ``tail_99`` for the upper tail beyond the 99 % quantile."""
    return f"tail_{round(100 * level):02d}"


def climatological_tails(
    states: torch.Tensor, levels: Sequence[float]
) -> list[tuple[float, float]]:
    """The ``(level, threshold)`` pairs of the tail CRPS: the quantiles at ``levels`` of every
    site of the climatological ``states`` (N, K) pooled (the sites of the ring are exchangeable,
    so one threshold serves them all). They come from training data, never from the test states.
    """
    check_tensor("states", states, ("N", "K"))
    pooled = states.reshape(-1).to(torch.float64)
    out = []
    for level in levels:
        if not 0.0 < level < 1.0:
            raise ValueError(f"levels must lie in (0, 1), got {level}")
        out.append((float(level), torch.quantile(pooled, level).item()))
    return out


def scorecard_scores(quantile_levels: Sequence[float]) -> list[str]:
    """The per-state scores of the scorecard, in its order (lower is better for each)."""
    return [
        "crps",
        "mse",
        *(quantile_key(a) for a in quantile_levels),
        *(tail_key(a) for a in quantile_levels),
        "energy",
        "variogram",
    ]


def _check(forecasts: torch.Tensor, truth: torch.Tensor) -> tuple[int, int, int, int]:
    dims: dict[str, int] = {}
    check_tensor("forecasts", forecasts, ("B", "L", "M", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "L", "K"), dims=dims)
    return tuple(forecasts.shape)  # type: ignore[return-value]


def crps_per_site(forecasts: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The fair CRPS of rolled-out ensembles at every state, lead time and site.

    Args:
        forecasts: (B, L, M, K) ensembles, ``M >= 2``.
        truth: (B, L, K) the verifying truth.

    Returns:
        (B, L, K) float64. Its mean over sites is the per-state score that the bootstrap
        resamples.
    """
    B, L, M, K = _check(forecasts, truth)
    scores = crps_ensemble(forecasts.reshape(B * L, M, K), truth.reshape(B * L, K))
    return scores.reshape(B, L, K)


def per_state_scores(
    forecasts: torch.Tensor,
    truth: torch.Tensor,
    *,
    quantile_levels: Sequence[float] = (0.01, 0.99),
    tails: Sequence[tuple[float, float]] = (),
    variogram_p: float = 0.5,
    variogram_d_max: int = 3,
) -> dict[str, torch.Tensor]:
    """Every score of one forecaster at every initial state and lead time.

    Args:
        forecasts: (B, L, M, K) ensembles, ``M >= 2`` (the fair scores need two members).
        truth: (B, L, K) the verifying truth.
        quantile_levels: levels of the quantile scores.
        tails: ``(level, threshold)`` pairs: the tail CRPS beyond each threshold, of the upper
            tail for a level above 1/2, of the lower one otherwise (the thresholds fixed in
            advance, e.g. climatological quantiles at those levels).
        variogram_p, variogram_d_max: the variogram score's order and largest distance.

    Returns:
        name -> (B, L) float64: ``crps``, ``mse`` (squared error of the ensemble mean),
        ``quantile_XX`` per level, ``tail_XX`` per tail, ``energy`` and ``variogram`` (site
        averages for all but the last two, the ring's scores for those), and ``spread2`` (the
        unbiased member variance averaged over sites, for the spread-skill ratio).
    """
    B, L, M, K = _check(forecasts, truth)
    if M < 2:
        raise ValueError(f"forecasts must hold M >= 2 members for the fair scores, got M = {M}")
    flat, y = forecasts.reshape(B * L, M, K), truth.reshape(B * L, K)
    out = {
        "crps": crps_ensemble(flat, y).mean(dim=-1),
        "mse": ((flat.mean(dim=1) - y) ** 2).mean(dim=-1),
    }
    for level in quantile_levels:
        out[quantile_key(level)] = quantile_score(flat, y, level).mean(dim=-1)
    for level, threshold in tails:
        out[tail_key(level)] = tail_crps(flat, y, threshold, upper=level > 0.5).mean(dim=-1)
    out["energy"] = energy_score(flat, y)
    out["variogram"] = variogram_score(flat, y, variogram_p, variogram_d_max)
    out["spread2"] = flat.var(dim=1).mean(dim=-1)
    return {name: value.reshape(B, L).to(torch.float64) for name, value in out.items()}


def pit_flatness(
    forecasts: torch.Tensor, truth: torch.Tensor, generator: torch.Generator
) -> dict[str, Any]:
    r"""Chi-square test that the randomised PIT is uniform, one site per initial state.

    The PIT value :math:`u = (r + v)/(M + 1)` of the truth in its ensemble
    (:func:`lecture_code.forecasting.calibration.pit_ensemble`) is uniform on (0, 1) for a
    calibrated forecast; its :data:`PIT_BINS` equal bins have counts :math:`c_j`, expected
    :math:`e = B/J`, and :math:`\sum_j (c_j - e)^2/e \sim \chi^2_{J-1}` approximately.

    Args:
        forecasts: (B, M, K) ensembles at one lead time.
        truth: (B, K) the truth.
        generator: breaks ties and draws the randomisation.

    Returns:
        ``{"counts", "chi2", "p_value", "n"}``.
    """
    dims: dict[str, int] = {}
    check_tensor("forecasts", forecasts, ("B", "M", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "K"), dims=dims)
    B, _, K = forecasts.shape
    site = torch.arange(B) % K
    rows = torch.arange(B)
    pit = pit_ensemble(forecasts[rows, :, site][:, :, None], truth[rows, site][:, None], generator)
    bins = (pit[:, 0] * PIT_BINS).floor().clamp(0, PIT_BINS - 1).to(torch.int64)
    counts = torch.bincount(bins, minlength=PIT_BINS).to(torch.float64)
    expected = B / PIT_BINS
    chi2 = ((counts - expected) ** 2 / expected).sum()
    return {
        "counts": counts.to(torch.int64).tolist(),
        "chi2": float(chi2),
        "p_value": float(chi2_sf(chi2, PIT_BINS - 1)),
        "n": B,
    }


def _mean_and_ci(values: torch.Tensor, draws: torch.Tensor) -> tuple[list[float], list]:
    return values.mean(dim=0).tolist(), percentile_interval(draws)


def score_forecasts(
    forecasts: Mapping[str, torch.Tensor],
    truth: torch.Tensor,
    *,
    n_boot: int,
    rank_leads: Sequence[int],
    generator: torch.Generator,
    quantile_levels: Sequence[float] = (0.01, 0.99),
    tails: Sequence[tuple[float, float]] = (),
    variogram_p: float = 0.5,
    variogram_d_max: int = 3,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, torch.Tensor]]]:
    """:func:`per_state_scores` of every forecaster, then :func:`summarise_scores`.

    Args:
        forecasts: name -> (B, L, M, K) ensembles, all verified against ``truth``; they must
            include ``"oracle"`` and ``"climatology"``.
        truth: (B, L, K) the verifying truth.
        n_boot, rank_leads, generator: as in :func:`summarise_scores`.
        quantile_levels, tails, variogram_p, variogram_d_max: as in :func:`per_state_scores`.

    Returns:
        ``(models, per_state)`` as :func:`summarise_scores` and :func:`per_state_scores`.
    """
    settings = {
        "quantile_levels": quantile_levels,
        "tails": tails,
        "variogram_p": variogram_p,
        "variogram_d_max": variogram_d_max,
    }
    per_state = {name: per_state_scores(f, truth, **settings) for name, f in forecasts.items()}
    L = truth.shape[1]
    leads = [lead for lead in rank_leads if lead <= L]
    index = [lead - 1 for lead in leads]
    ranked = {name: f[:, index] for name, f in forecasts.items()}
    models = summarise_scores(
        per_state,
        ranked,
        truth[:, index],
        leads,
        n_boot=n_boot,
        generator=generator,
    )
    return models, per_state


def summarise_scores(
    per_state: Mapping[str, Mapping[str, torch.Tensor]],
    ranked: Mapping[str, torch.Tensor],
    ranked_truth: torch.Tensor,
    rank_leads: Sequence[int],
    *,
    n_boot: int,
    generator: torch.Generator,
    oracle: str = "oracle",
    climatology: str = "climatology",
) -> dict[str, dict[str, Any]]:
    """Every score of the protocol for every forecaster, lead by lead, with intervals.

    Args:
        per_state: name -> the (B, L) scores of :func:`per_state_scores`; they must include
            ``oracle`` and ``climatology``.
        ranked: name -> (B, R, M, K) the ensembles at the ``R`` lead steps ``rank_leads``.
        ranked_truth: (B, R, K) the truth at those leads.
        rank_leads: the 1-based lead steps of ``ranked``.
        n_boot: bootstrap resamples.
        generator: draws the resamples (the same state indices for every forecaster, so that
            ratios to the oracle are paired), then breaks ties of the ranks.
        oracle, climatology: the two reference forecasters, for the ratio and the gap.

    Returns:
        name -> JSON-ready lists, one entry per lead: ``crps``, ``crps_ci``, ``crps_ratio``,
        ``crps_ratio_ci``, ``gap``, ``rmse``, ``rmse_ci``, ``spread``, ``ssr``, ``ssr_ci``,
        one ``quantile_XX`` and ``quantile_XX_ci`` per level, ``energy``, ``energy_ci``,
        ``variogram``, ``variogram_ci``; ``rank_histogram`` and ``pit`` by lead step.
    """
    n_boot = check_int("n_boot", n_boot, low=10)
    for name in (oracle, climatology):
        if name not in per_state:
            raise ValueError(
                f"per_state must include {name!r} to normalise the CRPS, got {list(per_state)}"
            )
    names = list(per_state)
    kinds = list(per_state[names[0]])
    B, L = per_state[names[0]]["crps"].shape
    for name in names:
        for kind in kinds:
            check_tensor(f"per_state[{name!r}][{kind!r}]", per_state[name][kind], (B, L))
    # One set of resampled state indices for every column of every forecaster, so that the
    # oracle's resampled CRPS pairs with each other forecaster's.
    stacked = torch.cat([per_state[n][k] for n in names for k in kinds], dim=1)
    draws = bootstrap_means(stacked, generator, n_boot).reshape(n_boot, len(names), len(kinds), L)
    index = {k: i for i, k in enumerate(kinds)}
    oracle_draws = draws[:, names.index(oracle), index["crps"]]
    models: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        scores, boot = per_state[name], draws[:, i]
        M = ranked[name].shape[2]
        entry: dict[str, Any] = {}
        entry["crps"], entry["crps_ci"] = _mean_and_ci(scores["crps"], boot[:, index["crps"]])
        entry["crps_ratio_ci"] = percentile_interval(boot[:, index["crps"]] / oracle_draws)
        mse = scores["mse"].mean(dim=0)
        entry["rmse"] = mse.sqrt().tolist()
        entry["rmse_ci"] = percentile_interval(boot[:, index["mse"]].sqrt())
        spread2 = scores["spread2"].mean(dim=0)
        entry["spread"] = spread2.sqrt().tolist()
        correction = math.sqrt((M + 1) / M)
        entry["ssr"] = (correction * (spread2 / mse).sqrt()).tolist()
        entry["ssr_ci"] = percentile_interval(
            correction * (boot[:, index["spread2"]] / boot[:, index["mse"]]).sqrt()
        )
        for kind in kinds:
            if kind in ("crps", "mse", "spread2"):
                continue
            entry[kind], entry[f"{kind}_ci"] = _mean_and_ci(scores[kind], boot[:, index[kind]])
        models[name] = entry
    for name in names:
        f = ranked[name]
        models[name]["rank_histogram"] = {
            str(lead): rank_histogram(f[:, j], ranked_truth[:, j], generator).tolist()
            for j, lead in enumerate(rank_leads)
        }
        models[name]["pit"] = {
            str(lead): pit_flatness(f[:, j], ranked_truth[:, j], generator)
            for j, lead in enumerate(rank_leads)
        }
    floor = torch.tensor(models[oracle]["crps"])
    ceiling = torch.tensor(models[climatology]["crps"])
    for entry in models.values():
        crps = torch.tensor(entry["crps"])
        entry["crps_ratio"] = (crps / floor).tolist()
        entry["gap"] = ((crps - floor) / (ceiling - floor)).tolist()
    return models
