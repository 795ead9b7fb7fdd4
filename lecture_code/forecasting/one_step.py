r"""One step against the oracle: what each baseline gets right and wrong about the law of the
next state.

The oracle of the Lorenz-96 truth draws the exact one-step law :math:`p(\mathbf{u}_{n+1} \mid
\mathbf{u}_n)`, as many members as we like. So a forecaster can be judged on one step without
any chaos in the way: its conditional mean against the oracle's, its spread against the exact
spread, the shape of its law against the truth's, and its scores against a fresh draw of the
truth (book chapter 11):

- :func:`predictive_moments` reads the mean and variance that each pass of a network forecaster
  predicts (one pass for a deterministic or Gaussian network, one per dropout mask for MC
  dropout, one per network for a deep ensemble), and :func:`total_variance` splits the
  predictive variance by the law of total variance, book eq. (total-variance), into the
  aleatoric part (the mean of the passes' variances) and the epistemic part (the variance of
  their means);
- :func:`law_shape` measures the skewness, the excess kurtosis and the correlation of
  neighbouring sites of a set of members;
- :func:`one_step_report` puts a forecaster's members beside the oracle's on the same states:
  spread ratio and conditional-mean error, shape, and the fair CRPS, the fair tail CRPS and a
  PIT flatness test against one fresh draw of the truth per state, each score with a bootstrap
  interval over states.

Conventions: states ``(B, K)``; members ``(B, M, K)``; passes ``(B, P, K)``; float64 out.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    DeterministicForecaster,
    GaussianForecaster,
    MCDropoutForecaster,
    PhysicsGaussianForecaster,
)
from lecture_code.forecasting.bootstrap import bootstrap_means, percentile_interval
from lecture_code.forecasting.calibration import rank_flatness_test, rank_of_observation
from lecture_code.forecasting.dropout import Dropout, set_dropout
from lecture_code.forecasting.forecasters import Forecaster, OracleForecaster
from lecture_code.forecasting.lorenz96 import model_step
from lecture_code.forecasting.metrics import crps_ensemble
from lecture_code.forecasting.shape_scores import tail_crps
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "law_shape",
    "one_step_report",
    "predictive_moments",
    "shared_masks",
    "total_variance",
]


def _network_moments(forecaster: Any, u: torch.Tensor, generator: torch.Generator, passes: int):
    """(B, P, K) means and variances of the next state predicted by ``passes`` passes."""
    scaling = forecaster.scaling
    means, variances = [], []
    with torch.no_grad():
        for _ in range(passes):
            if isinstance(forecaster, MCDropoutForecaster):
                out = forecaster._pass(u, generator)
            else:
                out = set_dropout(forecaster.network, False)(scaling.states(u))
            mu = scaling.next_state(u, out[..., 0])
            if out.shape[-1] == 2:
                var = scaling.r_std**2 * torch.exp(out[..., 1].to(torch.float64))
            else:
                var = torch.zeros_like(mu)
            means.append(mu)
            variances.append(var)
    return torch.stack(means, dim=1), torch.stack(variances, dim=1)


def predictive_moments(
    forecaster: Forecaster, u: torch.Tensor, generator: torch.Generator, passes: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and variance of the next state that each pass of a network forecaster
    predicts, in the units of the states.

    A deterministic or Gaussian network has one pass (its variance is 0 or its output); MC
    dropout, with or without a variance head, has one pass per mask (``passes`` of them); a
    deep ensemble one per network. The forecaster's law is the mixture of the passes' laws.

    Args:
        forecaster: a network forecaster of :mod:`lecture_code.forecasting.baselines`.
        u: (B, K) states.
        generator: draws the dropout masks.
        passes: masks drawn for MC dropout (ignored otherwise), >= 2.

    Returns:
        ``(means, variances)``, each (B, P, K) float64.
    """
    passes = check_int("passes", passes, low=2)
    if isinstance(forecaster, DeepEnsembleForecaster):
        K = forecaster.K
        u = check_tensor("u", u, ("B", K)).to(torch.float64)
        parts = [_network_moments(m, u, generator, 1) for m in forecaster.members]
        return torch.cat([p[0] for p in parts], dim=1), torch.cat([p[1] for p in parts], dim=1)
    if isinstance(forecaster, DeterministicForecaster | GaussianForecaster):
        n = 1
    elif isinstance(forecaster, MCDropoutForecaster):
        n = passes
    else:
        raise TypeError(
            "forecaster must be a network forecaster of lecture_code.forecasting.baselines, "
            f"got {type(forecaster).__name__}"
        )
    u = check_tensor("u", u, ("B", forecaster.K)).to(torch.float64)
    return _network_moments(forecaster, u, generator, n)


def total_variance(means: torch.Tensor, variances: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""The law of total variance of a mixture of equally weighted passes, book eq.
    (total-variance):
    :math:`\operatorname{Var} Y = \mathbb{E}_\theta \operatorname{Var}(Y \mid \theta)
    + \operatorname{Var}_\theta \mathbb{E}(Y \mid \theta)`.

    Args:
        means, variances: (B, P, K) each pass's mean and variance.

    Returns:
        ``aleatoric`` (mean of the variances), ``epistemic`` (population variance of the
        means) and ``total``, each (B, K).
    """
    dims: dict[str, int] = {}
    check_tensor("means", means, ("B", "P", "K"), dims=dims)
    check_tensor("variances", variances, ("B", "P", "K"), dims=dims)
    if bool((variances < 0).any()):
        raise ValueError(f"variances must be >= 0, got minimum {float(variances.min()):.3g}")
    aleatoric = variances.mean(dim=1)
    epistemic = means.var(dim=1, unbiased=False) if means.shape[1] > 1 else 0 * aleatoric
    return {"aleatoric": aleatoric, "epistemic": epistemic, "total": aleatoric + epistemic}


def law_shape(members: torch.Tensor) -> dict[str, float]:
    r"""Skewness, excess kurtosis and neighbour correlation of members, pooled over states and
    sites of the standardised members :math:`z = (x - \bar x)/s` (population moments per state
    and site), as in book chapter 9.

    Args:
        members: (B, N, K), ``N >= 3``.
    """
    check_tensor("members", members, ("B", "N", "K"))
    if members.shape[1] < 3:
        raise ValueError(f"members must hold N >= 3 draws per state, got N = {members.shape[1]}")
    centred = members - members.mean(dim=1, keepdim=True)
    sd = centred.pow(2).mean(dim=1, keepdim=True).sqrt()
    if bool((sd == 0).any()):
        raise ValueError("members have zero spread at some state and site: no shape to measure")
    z = centred / sd
    return {
        "skewness": float(z.pow(3).mean()),
        "excess_kurtosis": float(z.pow(4).mean() - 3.0),
        "neighbour_correlation": float((z * torch.roll(z, -1, dims=2)).mean()),
    }


class shared_masks:  # noqa: N801 -- a context manager, named for the ``with`` line
    """Within the ``with`` block the dropout layers of ``forecaster``'s network draw their
    masks shared over the ring (``True``) or per site (``False``); restored afterwards.

    Args:
        forecaster: an MC-dropout forecaster.
        shared: how the masks are drawn inside the block.
    """

    def __init__(self, forecaster: MCDropoutForecaster, shared: bool) -> None:
        if not isinstance(forecaster, MCDropoutForecaster):
            raise TypeError(f"forecaster must be MC dropout, got {type(forecaster).__name__}")
        self.layers = [m for m in forecaster.network.modules() if isinstance(m, Dropout)]
        self.shared = bool(shared)
        self.before: list[bool] = []

    def __enter__(self) -> shared_masks:
        self.before = [layer.shared for layer in self.layers]
        for layer in self.layers:
            layer.shared = self.shared
        return self

    def __exit__(self, *exc: object) -> None:
        for layer, before in zip(self.layers, self.before, strict=True):
            layer.shared = before


def _interval(values: torch.Tensor, generator: torch.Generator, n_boot: int) -> list[float]:
    """Mean and 95 % percentile interval of per-state values (B,) by a bootstrap over states."""
    draws = bootstrap_means(values[:, None].to(torch.float64), generator, n_boot)[:, 0]
    low, high = percentile_interval(draws[:, None])[0]
    return [float(values.mean()), low, high]


def one_step_report(
    oracle: OracleForecaster,
    forecaster: Forecaster | PhysicsGaussianForecaster,
    u: torch.Tensor,
    members: int,
    generator: torch.Generator,
    *,
    tails: Sequence[tuple[float, float]] = (),
    oracle_factor: int = 8,
    n_boot: int = 500,
    pit_bins: int = 5,
) -> dict[str, Any]:
    """A forecaster's one-step law beside the oracle's on the same states.

    The oracle draws ``oracle_factor * members`` members per state (its mean and spread stand
    for the exact ones), an ensemble of ``members`` (for scores on the same footing as the
    forecaster's) and one more draw, the truth. The forecaster draws ``members``.

    Args:
        oracle: the truth's forecaster.
        forecaster: the forecaster to diagnose.
        u: (B, K) states.
        members: members per state, >= 3.
        generator: draws everything, in the order above.
        tails: ``(level, threshold)`` pairs of the tail CRPS (upper tail for level > 1/2).
        oracle_factor: the large oracle ensemble's size over ``members``.
        n_boot: bootstrap resamples over states.
        pit_bins: bins of the flatness test; they must divide ``members + 1``.

    Returns:
        ``spread_ratio`` (RMS spread over the oracle's), ``mean_error`` (RMS error of the
        conditional mean, less the sampling noise of both means), ``shape`` and
        ``oracle_shape`` (:func:`law_shape`), ``crps`` and ``oracle_crps`` (mean and interval),
        ``crps_ratio`` with a paired interval, per tail ``tail_XX`` and ``tail_XX_ratio``, and
        ``pit`` (the flatness test of the truth's rank on one site per state).
    """
    u = check_tensor("u", u, ("B", oracle.system.K)).to(torch.float64)
    members = check_int("members", members, low=3)
    pit_bins = check_int("pit_bins", pit_bins, low=2)
    if (members + 1) % pit_bins:
        raise ValueError(f"pit_bins must divide members + 1 = {members + 1}, got {pit_bins}")
    B, K = u.shape
    exact = oracle.sample_next(u, oracle_factor * members, generator)
    fresh = oracle.sample_next(u, members, generator)
    truth = model_step(u, oracle.system, generator)
    draws = forecaster.sample_next(u, members, generator)
    o_mean, o_var = exact.mean(dim=1), exact.var(dim=1)
    f_mean, f_var = draws.mean(dim=1), draws.var(dim=1)
    noise = (f_var / members + o_var / exact.shape[1]).mean()
    mse = ((f_mean - o_mean) ** 2).mean()
    per_state = {"crps": crps_ensemble(draws, truth).mean(dim=1)}
    oracle_state = {"crps": crps_ensemble(fresh, truth).mean(dim=1)}
    for level, threshold in tails:
        key = f"tail_{round(100 * level):02d}"
        upper = level > 0.5
        per_state[key] = tail_crps(draws, truth, threshold, upper).mean(dim=1)
        oracle_state[key] = tail_crps(fresh, truth, threshold, upper).mean(dim=1)
    report: dict[str, Any] = {
        "spread_ratio": float((f_var.mean() / o_var.mean()).sqrt()),
        "mean_error": float((mse - noise).clamp(min=0.0).sqrt()),
        "oracle_spread": float(o_var.mean().sqrt()),
        "shape": law_shape(draws) if bool((f_var > 0).all()) else None,
        "oracle_shape": law_shape(exact),
    }
    for key, values in per_state.items():
        report[key] = _interval(values, generator, n_boot)
        report[f"oracle_{key}"] = _interval(oracle_state[key], generator, n_boot)
        both = torch.stack([values, oracle_state[key]], dim=1)
        boot = bootstrap_means(both, generator, n_boot)
        ratio = boot[:, 0] / boot[:, 1]
        low, high = percentile_interval(ratio[:, None])[0]
        report[f"{key}_ratio"] = [float(values.mean() / oracle_state[key].mean()), low, high]
    # one site per state: the ranks of neighbouring sites are correlated (Hamill 2001)
    rows, site = torch.arange(B), torch.arange(B) % K
    ranks = rank_of_observation(
        draws[rows, :, site][:, :, None], truth[rows, site][:, None], generator
    )
    chi2, p_value = rank_flatness_test(ranks[:, 0], members, pit_bins)
    report["pit"] = {"chi2": float(chi2), "p_value": float(p_value), "bins": pit_bins}
    report["members"] = members
    report["n_states"] = B
    return report
