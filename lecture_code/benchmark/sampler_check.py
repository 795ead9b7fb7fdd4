r"""Is the fast sampler as good as the slow one? Checks of the diffusion forecaster's sampler,
and of every forecaster's one-step law.

- :func:`sampler_check`: the fast sampler (at most ten network evaluations per forecast step)
  against the 1000-step reverse-SDE Euler–Maruyama sampler on the one-step law, by a
  two-sample permutation test with its control (the reference against itself, which must
  tie) and its power demonstration (a sampler with a deliberate 10 % spread error, which must
  be rejected), and the spread ratio with an interval. The one-step law is where a sampler's
  error shows undiluted: at long leads chaotic growth dominates every forecaster alike.
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

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`); chapter 12, "A diffusion
forecaster" (:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lecture_code.forecasting.calibration import ensemble_spread
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.forecasters import Forecaster
from lecture_code.forecasting.metrics import crps_ensemble, crps_gaussian
from lecture_code.forecasting.shape_scores import quantile_score, quantile_score_gaussian
from lecture_code.forecasting.two_sample import (
    inflate_spread,
    sampler_two_sample_test,
    spread_ratio,
)
from lecture_code.validation import check_int, check_tensor

__all__ = ["one_step_diagnostics", "one_step_law", "sampler_ablation", "sampler_check"]


def sampler_check(
    fast: DiffusionForecaster,
    reference: DiffusionForecaster,
    u_0: torch.Tensor,
    members: int,
    *,
    n_perm: int,
    spread_error: float,
    n_boot: int,
    alpha: float,
    generator: torch.Generator,
) -> dict[str, Any]:
    r"""Is the fast sampler's one-step law the reference sampler's? A test, its control and its
    power.

    From each of the ``S`` states of ``u_0`` both samplers draw ``members`` next states. Three
    two-sample tests (:func:`lecture_code.forecasting.two_sample.sampler_two_sample_test`:
    energy distance of the standardised marginals and neighbour sums, permutations within
    states) are run against the reference's draws:

    - ``fast``: the fast sampler, the question itself; it passes when the test does not reject;
    - ``control``: a second, independent draw of the reference sampler, which must not be
      rejected (a test that rejects its own law is broken);
    - ``wrong``: the fast sampler's draws with their spread about each state's ensemble mean
      multiplied by ``spread_error`` (1.1: a 10 % spread error), which must be rejected: the
      power demonstration. A test that passes the fast sampler but cannot see a 10 % spread
      error says nothing.

    Each comes with the ratio of its RMS spread to the reference's and a bootstrap interval
    over states (:func:`lecture_code.forecasting.two_sample.spread_ratio`).

    Args:
        fast, reference: the same denoiser with the fast and the slow sampler.
        u_0: (S, K) states.
        members: draws per sampler and state, >= 2.
        n_perm: permutations of each test.
        spread_error: the deliberate spread factor of the wrong sampler.
        n_boot: bootstrap resamples of the spread ratios.
        alpha: the level of the tests.
        generator: draws the samples (fast, reference, control), then the permutations.

    Returns:
        ``{"states", "members", "fast_nfe", "reference_nfe", "spread_error", "alpha",
        "tests": {"fast", "control", "wrong"}, "passed"}``; each test holds the
        two-sample test's output and ``spread_ratio`` with its ``ci``. ``passed``: the fast
        sampler and the control are not rejected and the wrong sampler is.
    """
    check_tensor("u_0", u_0, ("S", fast.K))
    members = check_int("members", members, low=2)
    draws = {
        "fast": fast.sample_next(u_0, members, generator),
        "reference": reference.sample_next(u_0, members, generator),
        "control": reference.sample_next(u_0, members, generator),
    }
    draws["wrong"] = inflate_spread(draws["fast"], spread_error)
    tests = {}
    for name in ("fast", "control", "wrong"):
        test = sampler_two_sample_test(draws[name], draws["reference"], n_perm, generator)
        ratio = spread_ratio(draws[name], draws["reference"], generator, n_boot)
        tests[name] = {**test, "spread_ratio": ratio["ratio"], "spread_ratio_ci": ratio["ci"]}
    passed = (
        tests["fast"]["p_value"] > alpha
        and tests["control"]["p_value"] > alpha
        and tests["wrong"]["p_value"] <= alpha
    )
    return {
        "states": u_0.shape[0],
        "members": members,
        "fast_sampler": fast.sampler,
        "fast_steps": fast.n_steps,
        "fast_nfe": fast.nfe,
        "reference_sampler": reference.sampler,
        "reference_steps": reference.n_steps,
        "reference_nfe": reference.nfe,
        "spread_error": spread_error,
        "alpha": alpha,
        "tests": tests,
        "passed": passed,
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


def one_step_law(
    exact: torch.Tensor,
    fresh: torch.Tensor,
    truth: torch.Tensor,
    quantile_levels: Sequence[float],
) -> dict[str, Any]:
    r"""The shape of the truth's one-step law, and what the best per-site Gaussian loses.

    The moments are pooled over states and sites of the standardised members
    :math:`z = (x - \bar x)/s` (population moments per state and site): skewness
    :math:`\overline{z^3}`, excess kurtosis :math:`\overline{z^4} - 3`, and the correlation of
    neighbouring sites :math:`\overline{z_k z_{k+1}}`. The *ceiling* is the best per-site
    Gaussian, with the exact conditional mean and spread (here from the large ensemble
    ``exact``), scored against the truth beside the oracle's own ensemble ``fresh``: no
    forecaster that is Gaussian at each site can do better, so its excess over the oracle is
    what the shape of the law is worth (book chapter 9).

    Args:
        exact: (B, N, K) a large oracle ensemble (its mean and spread stand for the exact ones).
        fresh: (B, M, K) an independent oracle ensemble, ``M >= 2``.
        truth: (B, K) the truth one step on.
        quantile_levels: levels of the quantile scores.

    Returns:
        ``{"skewness", "excess_kurtosis", "neighbour_correlation", "ceiling"}``; the ceiling
        holds per score (``crps``, ``quantile_XX``) the Gaussian's mean score over the
        oracle's, minus one.
    """
    from lecture_code.benchmark.scoring import quantile_key  # no import cycle at load time

    dims: dict[str, int] = {}
    check_tensor("exact", exact, ("B", "N", "K"), dims=dims)
    check_tensor("fresh", fresh, ("B", "M", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "K"), dims=dims)
    mean, sd = exact.mean(dim=1), exact.std(dim=1)
    centred = exact - mean[:, None]
    z = centred / centred.pow(2).mean(dim=1, keepdim=True).sqrt()
    ceiling = {
        "crps": float(crps_gaussian(mean, sd, truth).mean() / crps_ensemble(fresh, truth).mean())
        - 1.0
    }
    for level in quantile_levels:
        gaussian = quantile_score_gaussian(mean, sd, truth, level).mean()
        law = quantile_score(exact, truth, level).mean()
        ceiling[quantile_key(level)] = float(gaussian / law) - 1.0
    return {
        "skewness": float(z.pow(3).mean()),
        "excess_kurtosis": float(z.pow(4).mean() - 3.0),
        "neighbour_correlation": float((z * torch.roll(z, -1, dims=2)).mean()),
        "members": exact.shape[1],
        "ceiling": ceiling,
    }


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
    out: dict[str, Any] = {"oracle_spread": float(o_var.mean().sqrt()), "oracle_members": n_oracle}
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
