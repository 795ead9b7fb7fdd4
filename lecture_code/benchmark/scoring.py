r"""Every score of the protocol, for every forecaster, lead by lead.

Forecasts are rolled out from ``B`` test initial states as ``(B, L, M, K)`` ensembles (``L``
lead times, ``M`` members, ``K`` sites) and verified against one path of the truth from each
state, ``(B, L, K)``. At every lead time the benchmark reports (book chapter 10):

- the fair CRPS (Ferro 2014), averaged over sites and initial states, with a percentile
  bootstrap interval over initial states (:mod:`lecture_code.forecasting.bootstrap`);
- its ratio to the oracle's, and the normalised gap
  :math:`(\mathrm{CRPS} - \mathrm{CRPS}_{\text{oracle}}) / (\mathrm{CRPS}_{\text{clim}} -
  \mathrm{CRPS}_{\text{oracle}})` (0: as good as physically possible, 1: no better than
  climatology);
- the ensemble-mean RMSE, the ensemble spread and the spread–skill ratio with the
  :math:`\sqrt{(M+1)/M}` correction (:mod:`lecture_code.forecasting.calibration`);
- the fair energy score of the whole ring (:mod:`lecture_code.forecasting.metrics`);
- rank histograms at a few lead times.

References:
    C. A. T. Ferro, "Fair scores for ensemble forecasts", Q. J. R. Meteorol. Soc. 140, 2014.
    V. Fortin et al., "Why should ensemble spread match the RMSE of the ensemble mean?",
    J. Hydrometeorol. 15, 2014.
    T. M. Hamill, "Interpretation of rank histograms for verifying ensemble forecasts",
    Mon. Weather Rev. 129, 2001.

Book: chapter 13, "The benchmark"; chapter 10, "Scoring probabilistic
forecasts" (:doc:`/book/part3/10_scoring_rules`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.forecasting.bootstrap import bootstrap_intervals
from lecture_code.forecasting.calibration import (
    ensemble_mean_rmse,
    ensemble_spread,
    rank_histogram,
    spread_skill_ratio,
)
from lecture_code.forecasting.metrics import crps_ensemble, energy_score
from lecture_code.validation import check_int, check_tensor

__all__ = ["crps_per_site", "score_forecasts"]


def crps_per_site(forecasts: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The fair CRPS of rolled-out ensembles at every state, lead time and site.

    Args:
        forecasts: (B, L, M, K) ensembles.
        truth: (B, L, K) the verifying truth.

    Returns:
        (B, L, K) float64. Its mean over sites is the per-state score that the bootstrap
        resamples; its mean over everything is one number per forecaster.
    """
    dims: dict[str, int] = {}
    check_tensor("forecasts", forecasts, ("B", "L", "M", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "L", "K"), dims=dims)
    B, L, M, K = forecasts.shape
    scores = crps_ensemble(forecasts.reshape(B * L, M, K), truth.reshape(B * L, K))
    return scores.reshape(B, L, K)


def score_forecasts(
    forecasts: Mapping[str, torch.Tensor],
    truth: torch.Tensor,
    *,
    n_boot: int,
    rank_leads: Sequence[int],
    generator: torch.Generator,
    oracle: str = "oracle",
    climatology: str = "climatology",
) -> dict[str, dict[str, Any]]:
    """Every metric of the protocol for every forecaster, lead by lead.

    Args:
        forecasts: name -> (B, L, M, K) ensembles, all verified against ``truth``; they must
            include ``oracle`` and ``climatology``.
        truth: (B, L, K) the verifying truth.
        n_boot: bootstrap resamples of the CRPS intervals.
        rank_leads: lead steps (1-based) with rank histograms; those beyond ``L`` are skipped.
        generator: draws the bootstrap resamples and breaks ties of the rank histograms, in
            the order of ``forecasts``.
        oracle, climatology: the names of the two reference forecasters, for the ratio and
            the gap.

    Returns:
        name -> ``{"crps", "crps_ci", "rmse", "spread", "energy_score", "ssr",
        "rank_histogram", "crps_ratio", "gap"}``, JSON-ready lists, one entry per lead.
    """
    check_int("n_boot", n_boot, low=1)
    for name in (oracle, climatology):
        if name not in forecasts:
            raise ValueError(
                f"forecasts must include {name!r} to normalise the CRPS, got {list(forecasts)}"
            )
    models: dict[str, dict[str, Any]] = {}
    for name, f in forecasts.items():
        L = f.shape[1]
        per_state = crps_per_site(f, truth).mean(dim=-1)  # (B, L)
        entry: dict[str, Any] = {
            "crps": per_state.mean(dim=0).tolist(),
            "crps_ci": bootstrap_intervals(per_state, generator, n_boot),
            "rmse": [ensemble_mean_rmse(f[:, lead], truth[:, lead]) for lead in range(L)],
            "spread": [ensemble_spread(f[:, lead]) for lead in range(L)],
            "energy_score": [
                float(energy_score(f[:, lead], truth[:, lead]).mean()) for lead in range(L)
            ],
        }
        # a deterministic forecast has no spread: its spread-skill ratio is 0 by definition
        entry["ssr"] = [
            spread_skill_ratio(f[:, lead], truth[:, lead]) if entry["spread"][lead] > 0 else 0.0
            for lead in range(L)
        ]
        entry["rank_histogram"] = {
            str(lead): rank_histogram(f[:, lead - 1], truth[:, lead - 1], generator).tolist()
            for lead in rank_leads
            if lead <= L
        }
        models[name] = entry
    floor = torch.tensor(models[oracle]["crps"])
    ceiling = torch.tensor(models[climatology]["crps"])
    for entry in models.values():
        crps = torch.tensor(entry["crps"])
        entry["crps_ratio"] = (crps / floor).tolist()
        entry["gap"] = ((crps - floor) / (ceiling - floor)).tolist()
    return models
