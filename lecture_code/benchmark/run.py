r"""The Lorenz-96 probabilistic-forecasting benchmark, end to end, track by track.

The protocol (book chapter 13, and ``design/benchmark.md``, version 2): from the exact current
state of a stochastic Lorenz-96 truth (a *track*: the Gaussian control or the bursty truth),
forecast the next 40 model steps (lead times 0.05 to 2 time units) as an ``M``-member ensemble
by rolling a one-step forecaster forward (:func:`lecture_code.forecasting.forecasters.rollout`),
for ``n_test`` initial states never seen in training; score every lead time
(:mod:`~lecture_code.benchmark.scoring`), put the diffusion model against every baseline
(:mod:`~lecture_code.benchmark.scorecard`), check its fast sampler against the 1000-step one
(:mod:`~lecture_code.benchmark.sampler_check`), and judge the protocol's targets
(:mod:`~lecture_code.benchmark.targets`).

**Replicates and held-out states.** Every learned model is trained with ``n_replicates``
seeds; the first is reported in full, the others scored and judged on the same test states, so
that a verdict of one seed only is seen to. ``test_seed = 0`` scores the data's own test
states; another value draws as many fresh ones, never looked at while the benchmark was built.

**Randomness and processes.** :func:`run_track` turns the profile's seed into one named stream
per piece (``generator_for(seed, "benchmark", ...)``); nothing below it seeds. Data and trained
networks are cached (:mod:`lecture_code.forecasting.trained`). :func:`run_benchmark` runs the
tracks in separate processes, one thread each (for small networks, faster than two threads).

Usage: ``python -m lecture_code.benchmark`` (:mod:`lecture_code.benchmark.__main__`).
Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lecture_code.benchmark.assembly import (
    diffusion_forecaster,
    learned_forecasters,
    profile_networks,
    reference_forecasters,
    tune_rate,
)
from lecture_code.benchmark.profiles import Profile, get_profile, profile_config, track_names
from lecture_code.benchmark.results import provenance, write_results
from lecture_code.benchmark.sampler_check import (
    one_step_diagnostics,
    one_step_law,
    sampler_ablation,
    sampler_check,
)
from lecture_code.benchmark.scorecard import scorecard
from lecture_code.benchmark.scoring import (
    climatological_tails,
    scorecard_scores,
    summarise_scores,
    tail_key,
)
from lecture_code.benchmark.stages import Stopwatch, roll_and_score, test_states
from lecture_code.benchmark.targets import judge_targets
from lecture_code.forecasting.baselines import HeteroscedasticDropoutForecaster, MCDropoutForecaster
from lecture_code.forecasting.data import Lorenz96Data, truth_paths
from lecture_code.forecasting.forecasters import Forecaster
from lecture_code.forecasting.networks import count_parameters
from lecture_code.forecasting.trained import cached_data
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for
from lecture_code.validation import check_int

__all__ = [
    "CHALLENGER",
    "REFERENCE",
    "BenchmarkRun",
    "run_benchmark",
    "run_track",
]

#: The forecaster on trial in the scorecard; every other forecaster is a baseline.
CHALLENGER = "diffusion"
#: The slow sampler's forecaster, used in the sampler check and never a baseline.
REFERENCE = "diffusion_reference"
#: Baselines of the scorecard, in its order (the oracle last: the control that must not lose).
BASELINES = (
    "climatology",
    "physics_gaussian",
    "deterministic",
    "mc_dropout",
    "mc_dropout_het",
    "gaussian",
    "deep_ensemble",
    "oracle",
)


@dataclass
class BenchmarkRun:
    """What :func:`run_track` returns (:func:`run_benchmark` too, without tensors).

    Attributes:
        results: the contents of ``results.json`` (one track's entry for :func:`run_track`).
        forecasts: name -> (B, L, M, K) ensembles on the test states (first replicate).
        truth: (B, L, K) the verifying truth.
        forecasters: name -> the forecaster objects (for further experiments).
    """

    results: dict[str, Any]
    forecasts: dict[str, torch.Tensor]
    truth: torch.Tensor | None
    forecasters: dict[str, Forecaster]


def _replicate(
    profile: Profile,
    data: Lorenz96Data,
    seed: int,
    watch: Stopwatch,
    stream: Any,
    progress: bool,
) -> tuple[dict[str, Forecaster], dict[str, Any], Any]:
    """Train (or load) one replicate's networks, tune its dropout rates; its forecasters."""
    label = f" seed {seed}"
    with watch.stage(f"training{label}"):
        networks = profile_networks(profile, data, seed=seed, progress=progress)
    with watch.stage(f"dropout tuning{label}"):
        u_val = data.u_val[: profile.tune_states]
        val_truth = truth_paths(u_val, profile.n_leads, profile.system, stream("truth", "val"))
        K, scaling, chunk = profile.system.K, networks.scaling, profile.chunk
        tuning = {}
        for kind, rates, trained, make in (
            ("mc_dropout", profile.dropout_rates, networks.mean, MCDropoutForecaster),
            ("mc_dropout_het", profile.het_rates, networks.het, HeteroscedasticDropoutForecaster),
        ):
            best, table = tune_rate(
                lambda p, trained=trained, make=make: make(trained[p], scaling, K, chunk),
                rates,
                u_val,
                val_truth,
                profile.tune_members,
                {p: stream("tune", kind, f"{p:g}", seed) for p in rates},
            )
            tuning[kind] = {"selected": best, **table}
    chosen = learned_forecasters(
        profile, networks, tuning["mc_dropout"]["selected"], tuning["mc_dropout_het"]["selected"]
    )
    return chosen, tuning, networks


def run_track(
    profile: Profile,
    *,
    progress: bool = True,
    verbose: bool | None = None,
    keep_forecasts: bool = False,
) -> BenchmarkRun:
    """Run the benchmark on the profile's track: data, training (cached), forecasts, scores,
    scorecard, sampler check and targets, for every training replicate.

    Args:
        profile: the settings (``profile.track`` names the truth).
        progress: progress bars where a person watches.
        verbose: one line per finished stage on stderr (default: ``progress``).
        keep_forecasts: keep the first replicate's (B, L, M, K) ensembles, not only scores.

    Returns:
        A :class:`BenchmarkRun` whose ``results`` is the track's entry of ``results.json``.
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile must be a Profile, got {type(profile).__name__}")
    seed, n_boot = profile.seed, profile.n_boot

    def stream(*labels: str | int) -> torch.Generator:
        return generator_for(seed, "benchmark", profile.track, *labels)

    watch = Stopwatch(progress if verbose is None else verbose, f" {profile.track}")
    start, cpu_start = time.perf_counter(), time.process_time()
    replicates: dict[str, Any] = {}
    with torch_threads(profile.threads):
        with watch.stage("data"):
            data = cached_data(profile.system, profile.data)
            u_test = test_states(profile, data)
            truth = truth_paths(
                u_test, profile.n_leads, profile.system, stream("truth", "test", profile.test_seed)
            )
        references = reference_forecasters(profile, data)
        tails = climatological_tails(data.climatology, profile.quantile_levels)
        scored = roll_and_score(
            references, u_test, truth, profile, watch, stream, "", progress, keep_forecasts, tails
        )
        forecasters: dict[str, Forecaster] = dict(references)
        index = [lead - 1 for lead in profile.rank_leads]
        for r, train_seed in enumerate(profile.train_seeds):
            chosen, tuning, networks = _replicate(
                profile, data, train_seed, watch, stream, progress
            )
            label = "" if r == 0 else f" seed {train_seed}"
            learned = roll_and_score(
                chosen,
                u_test,
                truth,
                profile,
                watch,
                stream,
                label,
                progress,
                keep_forecasts and r == 0,
                tails,
            )
            with watch.stage("scores"):
                per_state = {**scored.per_state, **learned.per_state}
                models = summarise_scores(
                    per_state,
                    {**scored.ranked, **learned.ranked},
                    truth[:, index],
                    profile.rank_leads,
                    n_boot=n_boot,
                    generator=stream("scores", train_seed),
                )
                scores = scorecard_scores(profile.quantile_levels)
                card = scorecard(
                    {s: {n: per_state[n][s] for n in per_state} for s in scores},
                    CHALLENGER,
                    [b for b in BASELINES if b in per_state],
                    n_boot,
                    stream("scorecard", train_seed),
                    alpha=profile.alpha,
                )
            replicates[str(train_seed)] = {
                "models": models,
                "scorecard": card,
                "dropout_tuning": tuning,
                "diverged": learned.diverged,
                "sigma_data": networks.sigma_data,
                "parameters": {
                    "deterministic": count_parameters(networks.mean[0.0]),
                    "gaussian": count_parameters(networks.gaussian[0]),
                    "denoiser": count_parameters(networks.denoiser),
                },
                "training_s": networks.seconds,
                "trained_from_cache": networks.loaded,
            }
            if r == 0:
                first_networks, first = networks, chosen
                first_scored = learned
                forecasters.update(chosen)
        with watch.stage("sampler check"):
            fast = first[CHALLENGER]
            reference = diffusion_forecaster(
                profile,
                first_networks,
                profile.reference_sampler,
                profile.reference_steps,
                REFERENCE,
            )
            forecasters[REFERENCE] = reference
            check = sampler_check(
                fast,
                reference,
                u_test[: profile.check_states],
                profile.check_members,
                n_perm=profile.n_perm,
                spread_error=profile.spread_error,
                n_boot=n_boot,
                alpha=profile.alpha,
                generator=stream("sampler check"),
            )
        head_diverged = replicates[str(profile.train_seeds[0])]["diverged"]
        with watch.stage("one step"):
            n_law = min(u_test.shape[0], 200)
            oracle = references["oracle"]
            law_stream = stream("one-step law")
            exact = oracle.sample_next(u_test[:n_law], 8 * profile.one_step_members, law_stream)
            fresh = oracle.sample_next(u_test[:n_law], profile.M, law_stream)
            law = one_step_law(exact, fresh, truth[:n_law, 0], profile.quantile_levels)
            skip = ("oracle", "climatology", REFERENCE)
            one_step = one_step_diagnostics(
                oracle,
                {n: f for n, f in forecasters.items() if n not in skip and n not in head_diverged},
                u_test[:n_law],
                profile.one_step_members,
                stream("one step"),
            )
            variants = [
                diffusion_forecaster(profile, first_networks, s, n, f"{s}_{n}")
                for s, n in profile.ablation
            ]
            ablation = sampler_ablation(
                variants,
                [stream("ablation", s, n) for s, n in profile.ablation],
                u_test,
                truth[:, 0],
                scored.forecasts["oracle"][:, 0],
            )
    head = replicates[str(profile.train_seeds[0])]
    results: dict[str, Any] = {
        "track": profile.track,
        "config": profile_config(profile),
        "lead_time": profile.lead_time,
        "n_states": int(u_test.shape[0]),
        "tail_thresholds": {tail_key(level): t for level, t in tails},
        "models": head["models"],
        "scorecard": head["scorecard"],
        "sampler_check": check,
        "one_step_law": law,
        "one_step": one_step,
        "sampler_ablation": ablation,
        "nfe_per_forecast_step": {CHALLENGER: fast.nfe, REFERENCE: reference.nfe},
        "replicates": {
            s: {k: v for k, v in rep.items()}
            for s, rep in replicates.items()
            if s != str(profile.train_seeds[0])
        },
        **{k: v for k, v in head.items() if k not in ("models", "scorecard")},
    }
    results["targets"] = judge_targets(results, profile)
    forecasts = {**scored.forecasts, **first_scored.forecasts} if keep_forecasts else {}
    results["timing_s"] = {"total": time.perf_counter() - start, **watch.seconds}
    results["cpu_s"] = {"total": time.process_time() - cpu_start, **watch.cpu_seconds}
    return BenchmarkRun(results, forecasts, truth, forecasters)


def _track_worker(profile: Profile, verbose: bool) -> dict[str, Any]:
    """One track in a worker process: its results only (tensors stay behind)."""
    torch.set_num_threads(profile.threads)
    return run_track(profile, progress=False, verbose=verbose).results


def run_benchmark(
    profile: str | Profile = "book",
    out: str | Path | None = None,
    *,
    track: str = "all",
    seed: int | None = None,
    test_seed: int = 0,
    jobs: int | None = None,
    progress: bool = True,
    command: str | None = None,
) -> BenchmarkRun:
    """Run the benchmark on one track or all of them and write ``results.json``.

    Args:
        profile: a profile name, or a :class:`~lecture_code.benchmark.profiles.Profile` (its
            track is replaced by each track run).
        out: folder for ``results.json`` (nothing is written if ``None``).
        track: a track name or ``"all"`` (:func:`lecture_code.benchmark.profiles.track_names`).
        seed: the seed (default: the profile's).
        test_seed: 0 for the data's test states, another value for held-out ones.
        jobs: worker processes (default: one per track, at most the CPUs; 1: this process).
        progress: progress bars (in this process) and per-stage lines on stderr.
        command: the command line to record in the provenance (default: this call).

    Returns:
        A :class:`BenchmarkRun` with the whole ``results.json`` (and the last track's tensors
        when it ran in this process).
    """
    names = track_names(track)
    if isinstance(profile, str):
        base = get_profile(profile, seed, test_seed=test_seed)
    elif isinstance(profile, Profile):
        base = profile if seed is None else profile.with_seed(seed)
        base = dataclasses.replace(base, test_seed=check_int("test_seed", test_seed, low=0))
    else:
        raise TypeError(f"profile must be a Profile or a name, got {type(profile).__name__}")
    profiles = [dataclasses.replace(base, track=name) for name in names]
    jobs = min(len(names), os.cpu_count() or 1) if jobs is None else check_int("jobs", jobs, low=1)
    start = time.perf_counter()
    tracks: dict[str, Any] = {}
    run = BenchmarkRun({}, {}, None, {})
    if jobs == 1:
        for p in profiles:
            run = run_track(p, progress=progress)
            tracks[p.track] = run.results
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {p.track: pool.submit(_track_worker, p, progress) for p in profiles}
            tracks = {name: future.result() for name, future in futures.items()}
    wall = time.perf_counter() - start
    results: dict[str, Any] = {
        "config": {
            "profile": base.name,
            "seed": base.seed,
            "test_seed": base.test_seed,
            "tracks": names,
        },
        "lead_time": base.lead_time,
        "tracks": tracks,
        "targets": [t for name in names for t in tracks[name]["targets"]],
        "timing_s": {"total": wall, **{n: tracks[n]["timing_s"]["total"] for n in names}},
        "jobs": jobs,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    call = f"run_benchmark({base.name!r}, track={track!r}, seed={base.seed})"
    results["provenance"] = provenance(command or call, wall, base.threads)
    if out is not None:
        write_results(results, out)
    run.results = results
    return run
