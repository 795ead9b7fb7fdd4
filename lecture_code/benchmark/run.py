r"""The Lorenz-96 probabilistic-forecasting benchmark, end to end.

The protocol (book chapter 13, and ``design/benchmark.md``): from the exact current state of the
stochastic Lorenz-96 truth, forecast the next 40 model steps (lead times 0.05 to 2 time units)
as an ``M``-member ensemble by rolling a one-step forecaster forward
(:func:`lecture_code.forecasting.forecasters.rollout`), for ``n_test`` initial states never seen
in training, and score every lead time (:mod:`~lecture_code.benchmark.scoring`), put the
diffusion model against every baseline (:mod:`~lecture_code.benchmark.scorecard`) and check its
fast sampler against the slow one (:mod:`~lecture_code.benchmark.sampler_check`).

**Cost.** A 1000-step sampler over 40 lead times, 200 states and 10 members is 40,000 network
evaluations on 80,000 site-windows each. Three choices make it affordable on a CPU:

1. the denoiser's encoder reads the current state once per forecast step and its output is
   reused by every sampler step, which evaluates only a small head
   (:class:`lecture_code.forecasting.networks.RingDenoiser`);
2. states are processed in chunks of a few hundred, so the head's activations stay in cache;
3. the book profile runs the 1000-step sampler on a subset -- the first ``reference_leads``
   lead times of the first ``reference_states`` initial states -- and compares it with the fast
   sampler on exactly that subset; the full profile runs it everywhere.

**Randomness.** :func:`run_benchmark` is the entry point: it turns the profile's seed into one
named stream per piece (``generator_for(seed, "benchmark", ...)``: the truth of the test and
validation states, the rollout of each forecaster, the dropout tuning, the scores, the sampler
checks) and hands the generators down; nothing below it seeds. Trained networks and data are
cached (:mod:`lecture_code.forecasting.trained`), so a second run trains nothing.

Usage: ``python -m lecture_code.benchmark`` (:mod:`lecture_code.benchmark.__main__`).

Book: chapter 13, "The benchmark".
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lecture_code.benchmark.assembly import build_forecasters, profile_networks, tune_dropout
from lecture_code.benchmark.profiles import Profile, get_profile, profile_config
from lecture_code.benchmark.results import provenance, write_results
from lecture_code.benchmark.sampler_check import (
    one_step_diagnostics,
    sampler_ablation,
    sampler_comparison,
)
from lecture_code.benchmark.scorecard import scorecard
from lecture_code.benchmark.scoring import crps_per_site, score_forecasts
from lecture_code.forecasting.data import truth_paths
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.forecasters import Forecaster, rollout
from lecture_code.forecasting.networks import count_parameters
from lecture_code.forecasting.trained import cached_data
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for

__all__ = ["CHALLENGER", "BenchmarkRun", "Stopwatch", "run_benchmark"]

#: The forecaster on trial in the scorecard; every other forecaster is a baseline.
CHALLENGER = "diffusion"
#: The slow sampler's forecaster: scored on its own subset, never a baseline.
REFERENCE = "diffusion_reference"


class Stopwatch:
    """Wall-clock and CPU seconds per stage, in the order the stages ran.

    Args:
        verbose: print one line per finished stage on stderr.
    """

    def __init__(self, verbose: bool) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.verbose = verbose

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (times of a repeated name add up)."""
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + cpu
        if self.verbose:
            # whole lines, so that a log file stays readable (no progress-bar redraws here)
            print(
                f"[benchmark] {name}: {self.seconds[name]:.1f} s wall, {cpu:.1f} s CPU",
                file=sys.stderr,
                flush=True,
            )


@dataclass
class BenchmarkRun:
    """What :func:`run_benchmark` returns.

    Attributes:
        results: the contents of ``results.json``.
        forecasts: name -> (B, L, M, K) ensembles on the test states.
        truth: (B, L, K) the verifying truth.
        forecasters: name -> the forecaster objects (for further experiments).
    """

    results: dict[str, Any]
    forecasts: dict[str, torch.Tensor]
    truth: torch.Tensor
    forecasters: dict[str, Forecaster]


def run_benchmark(
    profile: Profile | str = "book",
    out: str | Path | None = None,
    *,
    progress: bool = True,
    command: str | None = None,
) -> BenchmarkRun:
    """Run the whole benchmark: data, training (cached), forecasts, scores.

    Args:
        profile: a :class:`~lecture_code.benchmark.profiles.Profile` or the name of one.
        out: folder for ``results.json`` (nothing is written if ``None``).
        progress: progress bars (where a person watches) and per-stage timings on stderr.
        command: the command line to record in the provenance (default: this call).

    Returns:
        A :class:`BenchmarkRun`.
    """
    if isinstance(profile, str):
        profile = get_profile(profile)
    if not isinstance(profile, Profile):
        raise TypeError(f"profile must be a Profile or a name, got {type(profile).__name__}")
    seed, M, n_boot = profile.seed, profile.M, profile.n_boot

    def stream(*labels: str | int) -> torch.Generator:
        return generator_for(seed, "benchmark", *labels)

    watch = Stopwatch(progress)
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch_threads(profile.threads):
        with watch.stage("data"):
            data = cached_data(profile.system, profile.data)
            truth = truth_paths(
                data.u_test, profile.n_leads, profile.system, stream("truth", "test")
            )
        with watch.stage("training"):
            networks = profile_networks(profile, data, progress=progress)
        with watch.stage("dropout tuning"):
            u_val = data.u_val[: profile.tune_states]
            val_truth = truth_paths(
                u_val, profile.n_leads, profile.system, stream("truth", "validation")
            )
            rate, tuning = tune_dropout(
                networks.mean,
                networks.scaling,
                u_val,
                val_truth,
                M,
                {p: stream("tune", f"{p:g}") for p in networks.mean},
                profile.chunk,
            )
        forecasters = build_forecasters(profile, networks, data.climatology, rate, reference=True)
        forecasts: dict[str, torch.Tensor] = {}
        for name, forecaster in forecasters.items():
            if name == REFERENCE:
                continue
            with watch.stage(f"rollout {name}"):
                forecasts[name] = rollout(
                    forecaster,
                    data.u_test,
                    M,
                    profile.n_leads,
                    stream("rollout", name),
                    progress=progress,
                )
        B_ref, L_ref = profile.reference_states, profile.reference_leads
        with watch.stage(f"rollout {REFERENCE}"):
            reference = rollout(
                forecasters[REFERENCE],
                data.u_test[:B_ref],
                M,
                L_ref,
                stream("rollout", "reference"),
                progress=progress,
            )
        with watch.stage("scores"):
            scores = stream("scores")
            models = score_forecasts(
                forecasts, truth, n_boot=n_boot, rank_leads=profile.rank_leads, generator=scores
            )
            per_state = {n: crps_per_site(f, truth).mean(dim=-1) for n, f in forecasts.items()}
            baselines = [n for n in forecasts if n not in (CHALLENGER, "oracle")] + ["oracle"]
            card = scorecard(per_state, CHALLENGER, baselines, n_boot, scores)
            subset = {n: forecasts[n][:B_ref, :L_ref] for n in ("oracle", "climatology")}
            # The reference is scored on its own subset with a fresh stream of the same name,
            # beside the oracle and climatology on that subset (for its ratio and gap).
            models[REFERENCE] = score_forecasts(
                {**subset, REFERENCE: reference},
                truth[:B_ref, :L_ref],
                n_boot=n_boot,
                rank_leads=(),
                generator=stream("scores"),
            )[REFERENCE]
            models[REFERENCE].update({"lead_time": profile.lead_time[:L_ref], "n_states": B_ref})
            comparison = {
                "fast_sampler": profile.sampler,
                "fast_steps": profile.sampler_steps,
                "reference_sampler": profile.reference_sampler,
                "reference_steps": profile.reference_steps,
                "lead_time": profile.lead_time[:L_ref],
                **sampler_comparison(
                    forecasts[CHALLENGER][:B_ref, :L_ref],
                    reference,
                    truth[:B_ref, :L_ref],
                    n_boot=n_boot,
                    generator=stream("sampler comparison"),
                ),
            }
            skip = ("oracle", "climatology", REFERENCE)
            one_step = one_step_diagnostics(
                forecasters["oracle"],
                {n: f for n, f in forecasters.items() if n not in skip},
                data.u_test,
                profile.one_step_members,
                stream("one step"),
            )
        with watch.stage("sampler ablation"):
            assert networks.denoiser is not None  # profile_networks trains every kind
            variants = [
                DiffusionForecaster(
                    networks.denoiser,
                    networks.scaling,
                    profile.system.K,
                    profile.sde,
                    sampler,
                    n_steps,
                    chunk=profile.chunk,
                )
                for sampler, n_steps in profile.ablation
            ]
            ablation = sampler_ablation(
                variants,
                [stream("ablation", s, n) for s, n in profile.ablation],
                data.u_test,
                truth[:, 0],
                forecasts["oracle"][:, 0],
            )
    nfe = {name: f.nfe for name, f in forecasters.items() if isinstance(f, DiffusionForecaster)}
    results: dict[str, Any] = {
        "config": profile_config(profile),
        "lead_time": profile.lead_time,
        "models": models,
        "scorecard": card,
        "sampler_comparison": comparison,
        "sampler_ablation": ablation,
        "one_step": one_step,
        "dropout_tuning": {
            "selected": rate,
            "validation_crps": {str(p): s for p, s in tuning.items()},
        },
        "nfe_per_forecast_step": nfe,
        "parameters": {
            "mean": count_parameters(networks.mean[rate]),
            "gaussian": count_parameters(networks.gaussian[0]),
            "denoiser": count_parameters(networks.denoiser),
        },
        "training_s": networks.seconds,
        "trained_from_cache": networks.loaded,
    }
    wall = time.perf_counter() - start
    results["timing_s"] = {"total": wall, **watch.seconds}
    results["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    # CPU seconds of this process: on a shared machine the wall time also counts other jobs.
    results["cpu_s"] = {"total": time.process_time() - cpu_start, **watch.cpu_seconds}
    call = f"run_benchmark({profile.name!r}, seed={seed})"
    results["provenance"] = provenance(command or call, wall, profile.threads)
    if out is not None:
        write_results(results, out)
    return BenchmarkRun(results, forecasts, truth, forecasters)
