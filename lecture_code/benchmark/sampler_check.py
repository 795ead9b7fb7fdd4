r"""Is the fast sampler as good as the slow one? Three checks of the diffusion forecaster's
sampler, and of every forecaster's one-step law.

- :func:`sampler_comparison`: the fast sampler (a few network evaluations per forecast step)
  against the 1000-step reverse-SDE Euler–Maruyama sampler, rolled out from the same initial
  states: the relative difference of their fair CRPS, state by state, with paired bootstrap
  intervals per lead time and pooled over lead times. A sampler's error enters at every forecast
  step alike; it is most visible at short leads, where the sampled one-step spread *is* the
  forecast spread, and diluted at long leads, where chaotic growth dominates both.
- :func:`sampler_ablation`: the first forecast step drawn by several samplers and step counts,
  scored against the truth and set beside the oracle (fair CRPS and spread ratios).
- :func:`one_step_diagnostics`: each forecaster's one-step mean and spread against a large
  oracle ensemble from the same states. The mean-square difference of two ensemble means holds,
  besides the squared bias, the sampling variances :math:`s_f^2/M_f + s_o^2/M_o`; they are
  subtracted, so ``mean_error`` estimates the RMS error of the forecaster's *conditional mean*.

References:
    C. Lu et al., "DPM-Solver++: fast solver for guided sampling of diffusion probabilistic
    models", arXiv:2211.01095, 2022.
    Y. Song et al., "Score-based generative modeling through stochastic differential equations",
    ICLR 2021, arXiv:2011.13456.

Book: chapter 13, "The benchmark"; chapter 12, "A diffusion forecaster".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.benchmark.scoring import crps_per_site
from lecture_code.forecasting.bootstrap import bootstrap_intervals
from lecture_code.forecasting.calibration import ensemble_spread
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.forecasters import Forecaster
from lecture_code.forecasting.metrics import crps_ensemble
from lecture_code.validation import check_int, check_tensor

__all__ = ["one_step_diagnostics", "sampler_ablation", "sampler_comparison"]


def sampler_comparison(
    fast: torch.Tensor,
    reference: torch.Tensor,
    truth: torch.Tensor,
    *,
    n_boot: int,
    generator: torch.Generator,
) -> dict[str, Any]:
    """The fast sampler's fair CRPS relative to the reference sampler's, on the same states.

    Args:
        fast: (B, L, M, K) ensembles of the fast sampler.
        reference: (B, L, M, K) ensembles of the reference sampler.
        truth: (B, L, K) the verifying truth.
        n_boot: bootstrap resamples.
        generator: draws the resamples: the per-lead intervals, then the pooled one.

    Returns:
        ``{"n_states", "per_lead", "pooled_relative_difference",
        "pooled_relative_difference_ci"}``; each row of ``per_lead`` holds both CRPS values,
        the relative difference (fast minus reference, over the reference's mean) and its
        paired 95 % interval.
    """
    check_tensor("reference", reference, tuple(fast.shape))
    crps_fast = crps_per_site(fast, truth).mean(dim=-1)  # (B, L)
    crps_reference = crps_per_site(reference, truth).mean(dim=-1)
    relative = (crps_fast - crps_reference) / crps_reference.mean(dim=0)
    intervals = bootstrap_intervals(relative, generator, n_boot)
    rows = []
    for lead in range(truth.shape[1]):
        low, high = intervals[lead]
        rows.append(
            {
                "crps_fast": float(crps_fast[:, lead].mean()),
                "crps_reference": float(crps_reference[:, lead].mean()),
                "relative_difference": float(relative[:, lead].mean()),
                "relative_difference_ci": [low, high],
            }
        )
    pooled = (crps_fast.mean(dim=1) - crps_reference.mean(dim=1)) / float(crps_reference.mean())
    return {
        "n_states": truth.shape[0],
        "per_lead": rows,
        "pooled_relative_difference": float(pooled.mean()),
        "pooled_relative_difference_ci": bootstrap_intervals(pooled[:, None], generator, n_boot)[0],
    }


def sampler_ablation(
    forecasters: Sequence[DiffusionForecaster],
    generators: Sequence[torch.Generator],
    u_0: torch.Tensor,
    truth: torch.Tensor,
    oracle: torch.Tensor,
) -> dict[str, Any]:
    """The first forecast step drawn by each of ``forecasters``, one sampler each.

    Args:
        forecasters: the same denoiser with different samplers or step counts.
        generators: one per forecaster, for its draws.
        u_0: (B, K) initial states.
        truth: (B, K) the truth one step later.
        oracle: (B, M, K) the oracle's one-step ensemble; every sampler draws ``M`` members.

    Returns:
        ``{"<sampler>_<n_steps>": {"sampler", "n_steps", "nfe", "crps", "crps_ratio",
        "spread_ratio"}}``: fair CRPS, its ratio to the oracle's, and the ensemble spread over
        the oracle's.
    """
    if len(generators) != len(forecasters):
        raise ValueError(
            f"generators must hold one generator per forecaster ({len(forecasters)}), "
            f"got {len(generators)}"
        )
    M = oracle.shape[1]
    oracle_crps = float(crps_ensemble(oracle, truth).mean())
    oracle_spread = ensemble_spread(oracle)
    out = {}
    for forecaster, generator in zip(forecasters, generators, strict=True):
        ensemble = forecaster.sample_next(u_0, M, generator)
        crps = float(crps_ensemble(ensemble, truth).mean())
        out[f"{forecaster.sampler}_{forecaster.n_steps}"] = {
            "sampler": forecaster.sampler,
            "n_steps": forecaster.n_steps,
            "nfe": forecaster.nfe,
            "crps": crps,
            "crps_ratio": crps / oracle_crps,
            "spread_ratio": ensemble_spread(ensemble) / oracle_spread,
        }
    return out


def one_step_diagnostics(
    oracle: Forecaster,
    forecasters: Mapping[str, Forecaster],
    u_0: torch.Tensor,
    members: int,
    generator: torch.Generator,
) -> dict[str, Any]:
    """One-step error of each forecaster's mean and spread against a large oracle ensemble.

    Args:
        oracle: draws the exact one-step law, ``8 * members`` members per state.
        forecasters: name -> the forecasters to diagnose, ``members`` members each.
        u_0: (B, K) states.
        members: members per forecaster, >= 2.
        generator: draws the oracle's ensemble, then each forecaster's in order.

    Returns:
        ``{"oracle_spread": s_o, name: {"mean_error", "spread_ratio"}}``: the oracle's RMS
        spread, each forecaster's bias-corrected RMS error of its conditional mean and its
        RMS spread over the oracle's.
    """
    members = check_int("members", members, low=2)
    n_oracle = 8 * members
    exact = oracle.sample_next(u_0, n_oracle, generator)
    o_mean, o_var = exact.mean(dim=1), exact.var(dim=1)
    out: dict[str, Any] = {"oracle_spread": float(o_var.mean().sqrt())}
    for name, forecaster in forecasters.items():
        draws = forecaster.sample_next(u_0, members, generator)
        f_mean, f_var = draws.mean(dim=1), draws.var(dim=1)
        mse = ((f_mean - o_mean) ** 2).mean()
        noise = (f_var / members + o_var / n_oracle).mean()
        out[name] = {
            "mean_error": float((mse - noise).clamp(min=0.0).sqrt()),
            "spread_ratio": float((f_var.mean() / o_var.mean()).sqrt()),
        }
    return out
