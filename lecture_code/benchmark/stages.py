r"""The stages of a benchmark run on one track: timing them, drawing the test states, and
rolling out and scoring a set of forecasters.

:func:`roll_and_score` rolls out each forecaster and scores it at once, keeping only the
per-state scores and the ensembles at the rank leads, so that one ``(B, L, M, K)`` ensemble is
held at a time (the standard profile's are 640 MB each); a forecaster whose members overflow
(:class:`lecture_code.forecasting.forecasters.DivergedForecastError`) is reported as diverged,
not scored.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from lecture_code.benchmark.profiles import Profile
from lecture_code.benchmark.scoring import per_state_scores
from lecture_code.forecasting.data import Lorenz96Data, sample_states
from lecture_code.forecasting.forecasters import DivergedForecastError, Forecaster, rollout
from lecture_code.seeding import generator_for

__all__ = ["Scored", "Stopwatch", "roll_and_score", "test_states"]


class Stopwatch:
    """Wall-clock and CPU seconds per stage, in the order the stages ran.

    Args:
        verbose: print one line per finished stage on stderr.
        prefix: put before each line (the track's name).
    """

    def __init__(self, verbose: bool, prefix: str = "") -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.verbose = verbose
        self.prefix = prefix

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
                f"[benchmark{self.prefix}] {name}: {self.seconds[name]:.1f} s wall, "
                f"{cpu:.1f} s CPU",
                file=sys.stderr,
                flush=True,
            )


def test_states(profile: Profile, data: Lorenz96Data) -> torch.Tensor:
    """(n_test, K): the data's test states for ``test_seed = 0``; otherwise as many states
    from fresh trajectories (one state each, as the data's test states), drawn from the
    stream ``("lorenz96", "held-out test", test_seed)``."""
    if profile.test_seed == 0:
        return data.u_test
    config = profile.data
    generator = generator_for(config.seed, "lorenz96", "held-out test", profile.test_seed)
    n = config.n_test
    u, _ = sample_states(n, n, config.test_spacing, profile.system, generator, config.spin_up_time)
    return u


@dataclass
class Scored:
    """What is kept of the rollouts of a set of forecasters: per-state scores, the ensembles at
    the rank leads, and (when asked) the whole ensembles."""

    per_state: dict[str, dict[str, torch.Tensor]]
    ranked: dict[str, torch.Tensor]
    forecasts: dict[str, torch.Tensor]
    diverged: dict[str, str]


def roll_and_score(
    forecasters: dict[str, Forecaster],
    u_0: torch.Tensor,
    truth: torch.Tensor,
    profile: Profile,
    watch: Stopwatch,
    stream: Any,
    label: str,
    progress: bool,
    keep: bool,
    tails: Any = (),
) -> Scored:
    """Roll out each forecaster and score it at once, so that only one (B, L, M, K) ensemble
    is held at a time (the standard profile's are 640 MB each). ``tails``: the ``(level,
    threshold)`` pairs of the tail CRPS
    (:func:`lecture_code.benchmark.scoring.climatological_tails`)."""
    settings = {
        "quantile_levels": profile.quantile_levels,
        "tails": tails,
        "variogram_p": profile.variogram_p,
        "variogram_d_max": profile.variogram_d_max,
    }
    index = [lead - 1 for lead in profile.rank_leads]
    out = Scored({}, {}, {}, {})
    for name, forecaster in forecasters.items():
        with watch.stage(f"rollout {name}{label}"):
            try:
                f = rollout(
                    forecaster,
                    u_0,
                    profile.M,
                    profile.n_leads,
                    stream("rollout", name, label),
                    progress=progress,
                )
            except DivergedForecastError as error:
                # reported, not scored: a forecaster that leaves the attractor has no score
                out.diverged[name] = str(error)
                continue
        with watch.stage("scores"):
            out.per_state[name] = per_state_scores(f, truth, **settings)
            out.ranked[name] = f[:, index].clone()
            if keep or name == "oracle":
                # the oracle's first lead is the reference of the sampler ablation
                out.forecasts[name] = f if keep else f[:, :1].clone()
        del f
    return out
