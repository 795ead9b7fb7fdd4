"""Chapter 11's study: every uncertainty baseline of the benchmark, trained on a track of the
book profile and diagnosed on one step against the oracle.

:func:`track_baselines` trains (or loads from the cache, where the benchmark finds them again)
the networks of the baselines only: the deterministic network, MC dropout at the rate the
benchmark tuned on validation rollouts (read from the committed ``results/results.json``, so
that chapter 11 shows the benchmark's forecasters without the rollouts that tuning takes), its
heteroscedastic variant, the Gaussian network and the deep ensemble; the control "physics +
Gaussian" needs no network. :func:`one_step_study` runs
:func:`lecture_code.forecasting.one_step.one_step_report` for each of them on the track's test
states, splits the predictive variance of the mixtures (eq. (total-variance)) and measures what
sharing the dropout masks over the ring does to the correlation of neighbouring sites.

The module is not imported by the benchmark's command, so the committed results do not depend
on it.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from lecture_code.benchmark.assembly import reference_forecasters
from lecture_code.benchmark.profiles import Profile, get_profile
from lecture_code.benchmark.results import RESULTS_FILE, load_results
from lecture_code.benchmark.scoring import climatological_tails
from lecture_code.cache import cached
from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    DeterministicForecaster,
    GaussianForecaster,
    HeteroscedasticDropoutForecaster,
    MCDropoutForecaster,
)
from lecture_code.forecasting.data import Lorenz96Data
from lecture_code.forecasting.forecasters import Forecaster, OracleForecaster
from lecture_code.forecasting.one_step import (
    law_shape,
    one_step_report,
    predictive_moments,
    shared_masks,
    total_variance,
)
from lecture_code.forecasting.trained import TrainedNetworks, cached_data, trained_networks
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for
from lecture_code.validation import check_choice, check_int

__all__ = [
    "BASELINE_NAMES",
    "TrackBaselines",
    "one_step_study",
    "one_step_table",
    "track_baselines",
]

#: The baselines of chapter 11, in the order of its tables.
BASELINE_NAMES = (
    "physics_gaussian",
    "deterministic",
    "mc_dropout",
    "mc_dropout_het",
    "gaussian",
    "deep_ensemble",
)


#: Draws per state from which the variance split is checked (and the truth's variance measured).
VARIANCE_DRAWS = 400


@dataclass
class TrackBaselines:
    """The baselines of one track, ready to forecast.

    Attributes:
        profile: the book profile on the track.
        data: its data (training pairs, test states, climatology).
        networks: the trained networks.
        oracle: the truth's forecaster.
        forecasters: name -> forecaster, in the order of :data:`BASELINE_NAMES`.
        rates: the dropout rates, ``{"mc_dropout": p, "mc_dropout_het": p}``.
    """

    profile: Profile
    data: Lorenz96Data
    networks: TrainedNetworks
    oracle: OracleForecaster
    forecasters: dict[str, Forecaster]
    rates: dict[str, float]


def track_baselines(track: str, *, progress: bool = False) -> TrackBaselines:
    """The book profile's baselines on ``track``, trained or loaded from the cache.

    Args:
        track: ``"gaussian"`` or ``"bursty"``.
        progress: progress bars while training.
    """
    check_choice("track", track, ("gaussian", "bursty"))
    profile = get_profile("book", track=track)
    tuning = load_results(RESULTS_FILE)["tracks"][track]["dropout_tuning"]
    rates = {kind: float(tuning[kind]["selected"]) for kind in ("mc_dropout", "mc_dropout_het")}
    with torch_threads(profile.threads):
        data = cached_data(profile.system, profile.data)
        networks = trained_networks(
            profile.system,
            profile.data,
            profile.backbone,
            profile.seed,
            data=data,
            mean=profile.train,
            dropout_rates=(0.0, rates["mc_dropout"]),
            heteroscedastic=profile.train,
            het_rates=(rates["mc_dropout_het"],),
            shared_masks=profile.shared_masks,
            gaussian=profile.train,
            n_gaussian=profile.n_ensemble,
            progress=progress,
        )
    K, scaling, chunk = profile.system.K, networks.scaling, profile.chunk
    references = reference_forecasters(profile, data)
    members = [
        GaussianForecaster(n, scaling, K, chunk, name=f"gaussian_{e}")
        for e, n in enumerate(networks.gaussian)
    ]
    chosen: list[Forecaster] = [
        references["physics_gaussian"],
        DeterministicForecaster(networks.mean[0.0], scaling, K, chunk),
        MCDropoutForecaster(networks.mean[rates["mc_dropout"]], scaling, K, chunk),
        HeteroscedasticDropoutForecaster(networks.het[rates["mc_dropout_het"]], scaling, K, chunk),
        GaussianForecaster(networks.gaussian[0], scaling, K, chunk),
        DeepEnsembleForecaster(members),
    ]
    forecasters = {f.name: f for f in chosen}
    return TrackBaselines(profile, data, networks, references["oracle"], forecasters, rates)


@lru_cache(maxsize=4)
def one_step_study(track: str, seed: int = 0, members: int = 19) -> dict[str, Any]:
    """Every baseline of ``track`` diagnosed on one step, on the data's test states.

    Args:
        track: ``"gaussian"`` or ``"bursty"``.
        seed: the seed of the study's random streams (the networks are the benchmark's).
        members: members per state of every forecaster (``members + 1`` divisible by 5, for
            the flatness test's bins).

    Returns:
        ``reports`` (name -> :func:`~lecture_code.forecasting.one_step.one_step_report`),
        ``variance`` (name -> the mean aleatoric and epistemic variance of the mixtures, the
        sample variance of their draws and the standard error of the mean difference of the
        two, states as units; ``variance["oracle"]["sample"]`` is the truth's one-step
        variance on the same states), ``masks`` (the neighbour correlation of the MC dropout
        members with masks shared over the ring and drawn per site, and the oracle's),
        ``shapes`` (name -> :func:`~lecture_code.forecasting.one_step.law_shape` of
        ``shape_members = 8 * members`` draws per state, the truth's and every baseline's but
        the deterministic one's, on the same states: the moments of small samples are biased,
        so shapes are compared on many members), ``tails`` (the thresholds), ``rates``,
        ``n_states`` and ``n_split`` (the states of the variance split and of the masks).
        Cached in memory and on disk (:func:`lecture_code.cache.cached`): the figures, the
        gallery and the chapter share one study.
    """
    members = check_int("members", members, low=4)
    check_choice("track", track, ("gaussian", "bursty"))
    # on disk too: the gallery and nbval run the study in processes of their own
    return cached(
        "ch11_study",
        (track, seed, members),
        lambda: _study(track, seed, members),
        layer="benchmark",
        verbose=False,
    )


def _study(track: str, seed: int, members: int) -> dict[str, Any]:
    """:func:`one_step_study`, computed."""
    baselines = track_baselines(track)
    profile, data, oracle = baselines.profile, baselines.data, baselines.oracle
    u = data.u_test

    def stream(*labels: str) -> torch.Generator:
        return generator_for(seed, "ch11", track, *labels)

    tails = climatological_tails(data.climatology, profile.quantile_levels)
    out: dict[str, Any] = {"reports": {}, "variance": {}, "tails": tails}
    with torch_threads(profile.threads):
        for name, forecaster in baselines.forecasters.items():
            out["reports"][name] = one_step_report(
                oracle, forecaster, u, members, stream("report", name), tails=tails
            )
        n_var = 200  # states of the variance split
        for name in ("mc_dropout", "mc_dropout_het", "gaussian", "deep_ensemble"):
            forecaster = baselines.forecasters[name]
            means, variances = predictive_moments(forecaster, u[:n_var], stream("passes", name))
            parts = total_variance(means, variances)
            draws = forecaster.sample_next(u[:n_var], VARIANCE_DRAWS, stream("draws", name))
            sample = draws.var(dim=1)
            # the standard error of the mean difference, with states as the independent units
            per_state = (sample - parts["total"]).mean(dim=1)
            out["variance"][name] = {
                **{key: float(value.mean()) for key, value in parts.items()},
                "sample": float(sample.mean()),
                "difference_se": float(per_state.std() / per_state.numel() ** 0.5),
                "passes": means.shape[1],
            }
        # the truth's variance on the same states
        exact = oracle.sample_next(u[:n_var], VARIANCE_DRAWS, stream("draws", "oracle"))
        out["variance"]["oracle"] = {"sample": float(exact.var(dim=1).mean())}
        # shapes from many members (small samples of a heavy-tailed law hide its skewness)
        n_shape = 8 * members
        out["shapes"] = {
            name: law_shape(f.sample_next(u[:n_var], n_shape, stream("shape", name)))
            for name, f in {"oracle": oracle, **baselines.forecasters}.items()
            if name != "deterministic"
        }
        out["shape_members"] = n_shape
        mc = baselines.forecasters["mc_dropout"]
        masks = {}
        for label, shared in (("shared", True), ("per_site", False)):
            with shared_masks(mc, shared):
                draws = mc.sample_next(u[:n_var], members, stream("masks", label))
            masks[label] = law_shape(draws)["neighbour_correlation"]
        masks["oracle"] = out["reports"]["deterministic"]["oracle_shape"]["neighbour_correlation"]
        out["masks"] = masks
    out["rates"] = baselines.rates
    out["n_states"] = int(u.shape[0])
    out["n_split"] = n_var
    out["variance_draws"] = VARIANCE_DRAWS
    out["members"] = members
    return out


def one_step_table(studies: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of the one-step diagnostics of :func:`one_step_study`, one row per
    track and baseline: spread ratio, conditional-mean error over the truth's spread, the fair
    CRPS and the tail CRPS of both tails over the oracle's (with 95 % intervals), and the
    p-value of the PIT flatness test.

    Args:
        studies: track -> its :func:`one_step_study`.
    """

    def ratio(r: list[float]) -> str:
        return f"{r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}]"

    lines = [
        "| track | baseline | spread ratio | mean error / spread | CRPS ratio | "
        "lower-tail ratio | upper-tail ratio | PIT p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for track, study in studies.items():
        for name, r in study["reports"].items():
            lines.append(
                f"| {track} | {name} | {r['spread_ratio']:.3f} | "
                f"{r['mean_error'] / r['oracle_spread']:.3f} | {ratio(r['crps_ratio'])} | "
                f"{ratio(r['tail_01_ratio'])} | {ratio(r['tail_99_ratio'])} | "
                f"{r['pit']['p_value']:.2g} |"
            )
    return "\n".join(lines)
