r"""The Lorenz-96 probabilistic-forecasting benchmark, end to end.

The protocol (book chapter 13, and ``design/benchmark.md``): from the exact current state of the
stochastic Lorenz-96 truth, forecast the next 40 model steps (lead times 0.05 to 2 time units)
as an ``M``-member ensemble by rolling a one-step forecaster forward
(:func:`lecture_code.forecasting.forecasters.rollout`), for ``n_test`` initial states never seen in
training, and score every lead time with

- the fair CRPS (Ferro 2014), averaged over sites and initial states, with a bootstrap interval
  over initial states, and its ratio to the oracle's and the normalised gap
  :math:`(\mathrm{CRPS} - \mathrm{CRPS}_{\text{oracle}}) / (\mathrm{CRPS}_{\text{clim}} -
  \mathrm{CRPS}_{\text{oracle}})` (0: as good as physically possible, 1: no better than
  climatology);
- the ensemble-mean RMSE, the spread–skill ratio with the :math:`\sqrt{(M+1)/M}` correction,
  the fair energy score, rank histograms at a few lead times;
- a scorecard: the diffusion model against each baseline, lead by lead, with a paired bootstrap
  over initial states (the same initial states and truth for both, so the difference of their
  CRPS is resampled state by state);
- a sampler ablation: the fast second-order sampler (at most 20 network evaluations) against
  the 1000-step Euler–Maruyama sampler, on the same states and lead times.

**Profiles.** :data:`PROFILES` holds frozen settings: ``"book"`` (what the book and ``make
benchmark`` run: 200 test states, ``M = 10``, small networks, all in about 80 s of CPU time on
one core, training included), ``"full"`` (more data, ``M = 50``, larger networks, a deep
ensemble, the 1000-step sampler on every state and lead: hours on a CPU; the code runs on the
CPU only) and ``"tiny"`` (seconds; for the tests).

**Cost.** A 1000-step sampler over 40 lead times, 200 states and 10 members is 40,000 network
evaluations on 80,000 site-windows each. Three choices make it affordable on a CPU:

1. the denoiser's encoder reads the current state once per forecast step and its output is
   reused by every sampler step, which evaluates only a small head
   (:class:`lecture_code.forecasting.networks.RingDenoiser`);
2. states are processed in chunks of a few hundred, so the head's activations stay in cache;
3. the book profile runs the 1000-step sampler on a subset -- the first ``reference_leads``
   lead times of the first ``reference_states`` initial states -- and compares it with the fast
   sampler on exactly that subset. A sampler's error enters at every forecast step alike; it is
   most visible at short leads, where the sampled one-step spread *is* the forecast spread,
   and it is diluted at long leads, where both samplers' spread is dominated by chaotic growth.
   The full profile runs it everywhere.

Trained networks are cached (:func:`lecture_code.cache.cached`) under a key made of every
setting they depend on and the source of the modules that train them, so a second run (or a
chapter) trains nothing; the data are cached the same way.

Usage::

    python -m lecture_code.benchmark [--profile book|full|tiny] [--out DIR] [--seed N]

writes ``DIR/results.json`` and the figures ``DIR/*.png``.

References:
    C. A. T. Ferro, "Fair scores for ensemble forecasts", Q. J. R. Meteorol. Soc. 140, 2014.
    T. M. Hamill, "Interpretation of rank histograms for verifying ensemble forecasts",
    Mon. Weather Rev. 129, 2001.
    V. Fortin et al., "Why should ensemble spread match the RMSE of the ensemble mean?",
    J. Hydrometeorol. 15, 2014.
    I. Price et al., "Probabilistic weather forecasting with machine learning" (GenCast),
    Nature 637, 2025, arXiv:2312.15796 (the scorecard).

Book: chapter 13, "The benchmark"; chapters 11 and 12 train their forecasters through
:func:`trained_networks` and :func:`build_forecasters`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lecture_code.cache import cached
from lecture_code.forecasting.data import DataConfig, Lorenz96Data, make_data
from lecture_code.forecasting.fit import (
    DSMConfig,
    Scaling,
    TrainConfig,
    fit_denoiser,
    fit_gaussian_network,
    fit_mean_network,
)
from lecture_code.forecasting.forecasters import (
    ClimatologyForecaster,
    DeepEnsembleForecaster,
    DeterministicForecaster,
    DiffusionForecaster,
    Forecaster,
    GaussianForecaster,
    MCDropoutForecaster,
    OracleForecaster,
    rollout,
)
from lecture_code.forecasting.lorenz96 import Lorenz96, trajectory
from lecture_code.forecasting.metrics import (
    crps_ensemble,
    energy_score,
    ensemble_mean_rmse,
    ensemble_spread,
    rank_histogram,
    spread_skill_ratio,
)
from lecture_code.forecasting.networks import (
    BackboneConfig,
    DenoiserConfig,
    RingDenoiser,
    RingMLP,
    count_parameters,
)
from lecture_code.score.samplers import SAMPLERS
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import generator_for
from lecture_code.validation import check_choice, check_int, check_tensor

__all__ = [
    "PROFILES",
    "BenchmarkRun",
    "Profile",
    "TrainedNetworks",
    "benchmark_data",
    "bootstrap_intervals",
    "build_forecasters",
    "get_profile",
    "main",
    "run_benchmark",
    "sampler_ablation",
    "score_forecasts",
    "trained_networks",
    "truth_paths",
    "tune_dropout",
]

#: The forecasters the diffusion model is compared with on the scorecard, in table order.
BASELINES = ("climatology", "deterministic", "mc_dropout", "gaussian", "deep_ensemble")


#: The book profile's optimisation settings (a few seconds to tens of seconds each on one core).
_BOOK_TRAIN = {
    "mean": TrainConfig(steps=1000, batch_size=64, lr=6e-3),
    "gaussian": TrainConfig(steps=1000, batch_size=64, lr=6e-3),
    "diffusion": TrainConfig(steps=1000, batch_size=64, lr=6e-3),
}


@dataclass(frozen=True)
class Profile:
    """Every setting of one benchmark run.

    Attributes:
        name: the profile's name.
        system: the truth (its ``sigma_xi`` is the σ of the protocol).
        data: sizes and seed of the data (``data.n_test`` initial states).
        M: ensemble members, >= 2 (the fair CRPS needs two).
        n_leads: lead times, in model steps Δ.
        backbone: the shared network backbone of every learned forecaster.
        denoiser: the diffusion head.
        dsm: training noise levels of the denoiser.
        sde: the VP-SDE.
        train_mean, train_gaussian, train_diffusion: optimisation of each kind of network.
        dropout_rates: the MC-dropout rates tried; the one with the lowest validation CRPS wins.
        n_ensemble: networks of the deep ensemble (0: no deep ensemble).
        sampler, sampler_steps: the fast sampler of the diffusion forecaster.
        reference_sampler, reference_steps: the slow reference sampler.
        reference_states, reference_leads: the subset of initial states and lead times the
            reference sampler runs on.
        ablation: (sampler, n_steps) pairs compared on the first forecast step.
        tune_states: validation initial states for tuning the dropout rate.
        one_step_members: members of the one-step diagnostic ensembles.
        chunk: states per sampler call.
        n_boot: bootstrap resamples.
        rank_leads: lead steps with rank histograms.
        seed: the seed of everything.
        threads: torch threads during the run (1 is fastest on a shared 2-core machine).
    """

    name: str
    system: Lorenz96 = field(default_factory=Lorenz96)
    data: DataConfig = field(default_factory=DataConfig)
    M: int = 10
    n_leads: int = 40
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    dsm: DSMConfig = field(default_factory=DSMConfig)
    sde: VPSDE = field(default_factory=VPSDE)
    train_mean: TrainConfig = field(default_factory=lambda: _BOOK_TRAIN["mean"])
    train_gaussian: TrainConfig = field(default_factory=lambda: _BOOK_TRAIN["gaussian"])
    train_diffusion: TrainConfig = field(default_factory=lambda: _BOOK_TRAIN["diffusion"])
    dropout_rates: tuple[float, ...] = (0.1, 0.2, 0.3)
    n_ensemble: int = 0
    sampler: str = "dpm_solver_2m"
    sampler_steps: int = 20
    reference_sampler: str = "euler_maruyama"
    reference_steps: int = 1000
    reference_states: int = 100
    reference_leads: int = 2
    ablation: tuple[tuple[str, int], ...] = (
        ("euler_maruyama", 20),
        ("heun", 10),
        ("dpm_solver_2s", 10),
        ("dpm_solver_2m", 10),
        ("dpm_solver_2m", 20),
    )
    tune_states: int = 50
    one_step_members: int = 32
    chunk: int = 400
    n_boot: int = 1000
    rank_leads: tuple[int, ...] = (1, 10, 20, 40)
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        check_int("M", self.M)
        if self.M < 2:
            raise ValueError(f"M must be >= 2: the fair CRPS divides by M(M - 1), got M = {self.M}")
        check_int("n_leads", self.n_leads, low=1)
        check_int("n_ensemble", self.n_ensemble, low=0)
        if self.n_ensemble == 1:
            raise ValueError("n_ensemble must be 0 (no deep ensemble) or >= 2, got 1")
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("reference_sampler", self.reference_sampler, SAMPLERS)
        check_int("sampler_steps", self.sampler_steps, low=1)
        check_int("reference_steps", self.reference_steps, low=1)
        check_int("reference_states", self.reference_states, low=2, high=self.data.n_test)
        check_int("reference_leads", self.reference_leads, low=1, high=self.n_leads)
        check_int("tune_states", self.tune_states, low=2, high=self.data.n_val)
        check_int("one_step_members", self.one_step_members, low=2)
        check_int("chunk", self.chunk, low=1)
        check_int("n_boot", self.n_boot, low=10)
        check_int("seed", self.seed, low=0)
        check_int("threads", self.threads, low=1)
        for sampler, n_steps in self.ablation:
            check_choice("ablation sampler", sampler, SAMPLERS)
            check_int("ablation n_steps", n_steps, low=1)
        if not self.dropout_rates or not all(0.0 < p < 1.0 for p in self.dropout_rates):
            raise ValueError(f"dropout_rates must be rates in (0, 1), got {self.dropout_rates}")
        for lead in self.rank_leads:
            check_int("rank_leads entry", lead, low=1, high=self.n_leads)
        if self.data.n_test < 2:
            raise ValueError(f"data.n_test must be >= 2 to bootstrap, got {self.data.n_test}")

    @property
    def lead_time(self) -> list[float]:
        """The lead times τ = ℓΔ, ℓ = 1..n_leads, in time units."""
        return [round(lead * self.system.Delta, 10) for lead in range(1, self.n_leads + 1)]

    def with_seed(self, seed: int) -> Profile:
        """The same profile with ``seed`` for everything, the data included."""
        check_int("seed", seed, low=0)
        return dataclasses.replace(self, seed=seed, data=dataclasses.replace(self.data, seed=seed))


_BOOK = Profile(name="book")

#: The benchmark's profiles by name ("book", "full" and "tiny").
PROFILES: dict[str, Profile] = {
    "book": _BOOK,
    "full": Profile(
        name="full",
        data=DataConfig(n_train=100_000, n_val=5_000, n_test=500, train_trajectories=2_000),
        M=50,
        backbone=BackboneConfig(hidden=128, depth=3),
        denoiser=DenoiserConfig(head_hidden=64),
        train_mean=TrainConfig(steps=6000, batch_size=128, lr=3e-3),
        train_gaussian=TrainConfig(steps=6000, batch_size=128, lr=3e-3),
        train_diffusion=TrainConfig(steps=10000, batch_size=128, lr=3e-3),
        dropout_rates=(0.02, 0.05, 0.1, 0.2, 0.3),
        n_ensemble=5,
        reference_states=500,
        reference_leads=40,
        tune_states=200,
        one_step_members=128,
        n_boot=2000,
        threads=max(1, torch.get_num_threads()),
    ),
    "tiny": Profile(
        name="tiny",
        data=DataConfig(
            n_train=400,
            n_val=40,
            n_test=6,
            n_climatology=200,
            train_trajectories=20,
            val_trajectories=10,
            climatology_trajectories=10,
        ),
        M=3,
        n_leads=3,
        backbone=BackboneConfig(hidden=8, depth=1),
        denoiser=DenoiserConfig(head_hidden=8),
        train_mean=TrainConfig(steps=5, batch_size=8),
        train_gaussian=TrainConfig(steps=5, batch_size=8),
        train_diffusion=TrainConfig(steps=5, batch_size=8),
        dropout_rates=(0.1, 0.2),
        n_ensemble=2,
        sampler_steps=4,
        reference_steps=10,
        reference_states=3,
        reference_leads=2,
        tune_states=4,
        one_step_members=4,
        n_boot=50,
        rank_leads=(1, 3),
    ),
}


def get_profile(name: str, seed: int | None = None) -> Profile:
    """The profile called ``name`` ("book", "full" or "tiny"), with ``seed`` if given."""
    check_choice("profile", name, PROFILES)
    profile = PROFILES[name]
    return profile if seed is None else profile.with_seed(seed)


# --- bookkeeping ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads and restore the previous number after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Stopwatch:
    """Wall-clock seconds per stage, in the order the stages ran."""

    def __init__(self, verbose: bool) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.verbose = verbose

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + cpu
        if self.verbose:
            print(
                f"[benchmark] {name}: {self.seconds[name]:.1f} s wall, {cpu:.1f} s CPU",
                file=sys.stderr,
                flush=True,
            )


# --- data ----------------------------------------------------------------------------------------
def benchmark_data(profile: Profile, *, verbose: bool = False) -> Lorenz96Data:
    """The profile's training, validation and test data (cached)."""
    result = cached(
        "l96_data",
        (profile.system, profile.data),
        lambda: dataclasses.asdict(make_data(profile.system, profile.data)),
        layer="forecasting",
        verbose=verbose,
    )
    return Lorenz96Data(**result)


def truth_paths(profile: Profile, u_0: torch.Tensor, stream: str = "test") -> torch.Tensor:
    """The verifying truth: one path of the true chain from each initial state.

    Args:
        profile: fixes the system, the number of leads and the seed.
        u_0: (B, K) initial states.
        stream: name of the random stream (``"test"`` or ``"validation"``).

    Returns:
        (B, n_leads, K) float64: the truth 1..n_leads model steps after ``u_0``.
    """
    generator = generator_for(profile.seed, "benchmark", "truth", stream)
    return trajectory(u_0, profile.n_leads, profile.system, generator)[:, 1:]


# --- training (cached) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    """Everything one trained network depends on; its ``repr`` is the cache key."""

    kind: str
    system: Lorenz96
    data: DataConfig
    backbone: BackboneConfig
    train: TrainConfig
    seed: int
    dropout: float = 0.0
    member: int = 0
    denoiser: DenoiserConfig | None = None
    dsm: DSMConfig | None = None
    sde: VPSDE | None = None


def _fit(job: _Job, data: Lorenz96Data, scaling: Scaling, progress: bool) -> dict[str, Any]:
    generator = generator_for(job.seed, "benchmark", "train", job.kind, job.member)
    pairs = (data.u_train, data.u_train_next, scaling)
    start = time.perf_counter()
    network: torch.nn.Module
    if job.kind == "mean":
        network = fit_mean_network(
            *pairs, job.backbone, job.dropout, job.train, generator, progress=progress
        )
    elif job.kind == "gaussian":
        network = fit_gaussian_network(
            *pairs, job.backbone, job.train, generator, progress=progress
        )
    else:
        assert job.denoiser is not None and job.dsm is not None and job.sde is not None
        network = fit_denoiser(
            *pairs,
            job.backbone,
            job.denoiser,
            job.dsm,
            (job.sde.sigma_min, job.sde.sigma_max),
            job.train,
            generator,
            progress=progress,
        )
    return {"state_dict": network.state_dict(), "seconds": time.perf_counter() - start}


@dataclass
class TrainedNetworks:
    """The trained networks of a profile.

    Attributes:
        scaling: the normalisation of states and residuals.
        mean: the MSE networks, by dropout rate.
        gaussian: the Gaussian-output networks (the first is "gaussian", all of them form the
            deep ensemble).
        denoiser: the conditional denoiser (``None`` if it was not asked for).
        seconds: the training time of each network, as recorded when it was trained.
        loaded: whether each network came from the cache.
    """

    scaling: Scaling
    mean: dict[float, RingMLP]
    gaussian: list[RingMLP]
    denoiser: RingDenoiser | None
    seconds: dict[str, float] = field(default_factory=dict)
    loaded: dict[str, bool] = field(default_factory=dict)


def trained_networks(
    profile: Profile,
    data: Lorenz96Data | None = None,
    *,
    which: tuple[str, ...] = ("mean", "gaussian", "denoiser"),
    progress: bool = True,
) -> TrainedNetworks:
    """Train (or load from the cache) the networks of ``profile``.

    Each network is cached on its own, so a chapter that needs only the denoiser trains only
    the denoiser, and the benchmark later finds it in the cache. Training runs with
    ``profile.threads`` torch threads.

    Args:
        profile: the settings.
        data: the profile's data (made if ``None``).
        which: the kinds to train: ``"mean"`` (the MSE networks, one per dropout rate),
            ``"gaussian"`` (the Gaussian-output networks, one per deep-ensemble member) and
            ``"denoiser"``; the others are left empty (``None`` for the denoiser).
        progress: progress bars while training.
    """
    for kind in which:
        check_choice("which entry", kind, ("mean", "gaussian", "denoiser"))
    with _threads(profile.threads):
        return _trained_networks(profile, data, which, progress)


def _trained_networks(
    profile: Profile, data: Lorenz96Data | None, which: tuple[str, ...], progress: bool
) -> TrainedNetworks:
    data = benchmark_data(profile) if data is None else data
    scaling = Scaling.fit(data.u_train, data.u_train_next)
    common = {
        "system": profile.system,
        "data": profile.data,
        "backbone": profile.backbone,
        "seed": profile.seed,
    }
    seconds: dict[str, float] = {}
    loaded: dict[str, bool] = {}

    def load(label: str, job: _Job, network: torch.nn.Module) -> torch.nn.Module:
        built: list[bool] = []

        def build() -> dict[str, Any]:
            built.append(True)
            return _fit(job, data, scaling, progress)

        result = cached(f"l96_{label}", job, build, layer="benchmark", verbose=False)
        network.load_state_dict(result["state_dict"])
        seconds[label] = float(result["seconds"])
        loaded[label] = not built
        return network.eval()

    mean = {}
    if "mean" in which:
        for p in profile.dropout_rates:
            job = _Job(kind="mean", train=profile.train_mean, dropout=p, **common)
            mean[p] = load(f"mean_p{p:g}", job, profile.backbone.build(1, 1, p))
    gaussian = []
    if "gaussian" in which:
        for e in range(max(1, profile.n_ensemble)):
            job = _Job(kind="gaussian", train=profile.train_gaussian, member=e, **common)
            gaussian.append(load(f"gaussian_{e}", job, profile.backbone.build(1, 2)))
    denoiser = None
    if "denoiser" in which:
        job = _Job(
            kind="denoiser",
            train=profile.train_diffusion,
            denoiser=profile.denoiser,
            dsm=profile.dsm,
            sde=profile.sde,
            **common,
        )
        denoiser = load("denoiser", job, profile.denoiser.build(profile.backbone))
    return TrainedNetworks(scaling, mean, gaussian, denoiser, seconds, loaded)  # type: ignore[arg-type]


# --- forecasters ---------------------------------------------------------------------------------
def _mean_crps(forecasts: torch.Tensor, truth: torch.Tensor) -> float:
    """Fair CRPS averaged over states, leads and sites; forecasts (B, L, M, K), truth (B, L, K)."""
    B, L, M, K = forecasts.shape
    flat = forecasts.reshape(B * L, M, K)
    return float(crps_ensemble(flat, truth.reshape(B * L, K)).mean())


def tune_dropout(
    profile: Profile, networks: TrainedNetworks, data: Lorenz96Data
) -> tuple[float, dict[float, float]]:
    """The MC-dropout rate with the lowest fair CRPS on validation forecasts.

    Each rate's network forecasts ``profile.n_leads`` steps from ``profile.tune_states``
    validation states (from trajectories never used for training or testing) with ``M``
    members; the CRPS is averaged over all lead times, so the rate is chosen for the task
    itself, not for one step.

    Returns:
        ``(best_rate, {rate: validation CRPS})``.
    """
    if not networks.mean:
        raise ValueError("networks holds no MSE networks: train them with which=('mean', ...)")
    u_0 = data.u_val[: profile.tune_states]
    truth = truth_paths(profile, u_0, stream="validation")
    scores = {}
    for p, network in networks.mean.items():
        forecaster = MCDropoutForecaster(network, networks.scaling, profile.system.K, profile.chunk)
        generator = generator_for(profile.seed, "benchmark", "tune", f"{p:g}")
        forecasts = rollout(forecaster, u_0, profile.M, profile.n_leads, generator)
        scores[p] = _mean_crps(forecasts, truth)
    return min(scores, key=scores.__getitem__), scores


def build_forecasters(
    profile: Profile,
    networks: TrainedNetworks,
    data: Lorenz96Data,
    dropout_rate: float | None = None,
    *,
    reference: bool = False,
) -> dict[str, Forecaster]:
    """The benchmark's forecasters, by name, for the networks that ``networks`` holds.

    The oracle and climatology are always there; ``"deterministic"`` and ``"mc_dropout"`` need
    the MSE network of ``dropout_rate``, ``"gaussian"`` (and ``"deep_ensemble"`` when the
    profile has one) the Gaussian networks, ``"diffusion"`` the denoiser.

    Args:
        profile: the settings.
        networks: from :func:`trained_networks`.
        data: from :func:`benchmark_data` (its climatology sample).
        dropout_rate: the MC-dropout rate (from :func:`tune_dropout`); the deterministic
            forecaster is the same network with dropout off. ``None``: no such forecasters.
        reference: add ``"diffusion_reference"``, the diffusion model with the slow sampler.
    """
    K, scaling, chunk = profile.system.K, networks.scaling, profile.chunk
    forecasters: dict[str, Forecaster] = {
        "oracle": OracleForecaster(profile.system),
        "climatology": ClimatologyForecaster(data.climatology),
    }
    if dropout_rate is not None:
        if dropout_rate not in networks.mean:
            raise ValueError(
                f"dropout_rate must be one of the trained rates {sorted(networks.mean)}, "
                f"got {dropout_rate}"
            )
        mean_network = networks.mean[dropout_rate]
        forecasters["deterministic"] = DeterministicForecaster(mean_network, scaling, K, chunk)
        forecasters["mc_dropout"] = MCDropoutForecaster(mean_network, scaling, K, chunk)
    if networks.gaussian:
        forecasters["gaussian"] = GaussianForecaster(networks.gaussian[0], scaling, K, chunk)
        if profile.n_ensemble >= 2:
            members = [GaussianForecaster(n, scaling, K, chunk) for n in networks.gaussian]
            forecasters["deep_ensemble"] = DeepEnsembleForecaster(members)
    if networks.denoiser is not None:
        forecasters["diffusion"] = DiffusionForecaster(
            networks.denoiser,
            scaling,
            K,
            profile.sde,
            profile.sampler,
            profile.sampler_steps,
            chunk=chunk,
        )
        if reference:
            forecasters["diffusion_reference"] = DiffusionForecaster(
                networks.denoiser,
                scaling,
                K,
                profile.sde,
                profile.reference_sampler,
                profile.reference_steps,
                chunk=chunk,
                name="diffusion_reference",
            )
    return forecasters


# --- scores --------------------------------------------------------------------------------------
def bootstrap_intervals(
    values: torch.Tensor, generator: torch.Generator, n_boot: int, level: float = 0.95
) -> list[list[float]]:
    """Percentile bootstrap intervals of the mean over initial states, for many columns at once.

    The same interval as :func:`lecture_code.forecasting.metrics.bootstrap_ci` column by column
    (the same
    draws, for ``n_boot * B`` up to a million), computed with one set of resamples for all
    columns: a resample is a count matrix ``C: (n_boot, B)`` and its means are ``C @ values / B``.

    Args:
        values: (B, L) per-state scores, one column per lead time.
        generator: draws the resamples.
        n_boot: number of resamples.
        level: coverage.

    Returns:
        (L, 2) nested list of ``[low, high]``.
    """
    check_tensor("values", values, ("B", "L"))
    B = values.shape[0]
    index = torch.randint(B, (n_boot, B), generator=generator)
    counts = torch.zeros(n_boot, B, dtype=torch.float64)
    counts.scatter_add_(1, index, torch.ones(n_boot, B, dtype=torch.float64))
    means = counts @ values.to(torch.float64) / B
    q = torch.tensor([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=torch.float64)
    return torch.quantile(means, q, dim=0).T.tolist()


def _per_state_crps(forecasts: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(B, L, M, K), (B, L, K) -> (B, L) fair CRPS averaged over sites."""
    B, L, M, K = forecasts.shape
    scores = crps_ensemble(forecasts.reshape(B * L, M, K), truth.reshape(B * L, K))
    return scores.mean(dim=1).reshape(B, L)


def score_forecasts(
    forecasts: dict[str, torch.Tensor],
    truth: torch.Tensor,
    profile: Profile,
) -> dict[str, Any]:
    """Every metric of the protocol for every forecaster, lead by lead.

    Args:
        forecasts: name -> (B, L, M, K) ensembles (must include ``"oracle"``,
            ``"climatology"`` and ``"diffusion"``).
        truth: (B, L, K) the verifying truth.
        profile: fixes ``n_boot``, the rank-histogram leads and the seed.

    Returns:
        ``{"models": {name: {...}}, "scorecard": {...}}``, JSON-ready.
    """
    generator = generator_for(profile.seed, "benchmark", "scores")
    per_state = {name: _per_state_crps(f, truth) for name, f in forecasts.items()}
    models: dict[str, dict[str, Any]] = {}
    for name, f in forecasts.items():
        L = f.shape[1]
        crps = per_state[name].mean(dim=0)
        entry: dict[str, Any] = {
            "crps": crps.tolist(),
            "crps_ci": bootstrap_intervals(per_state[name], generator, profile.n_boot),
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
            for lead in profile.rank_leads
            if lead <= L
        }
        models[name] = entry
    oracle = torch.tensor(models["oracle"]["crps"])
    climatology = torch.tensor(models["climatology"]["crps"])
    for entry in models.values():
        crps = torch.tensor(entry["crps"])
        entry["crps_ratio"] = (crps / oracle).tolist()
        entry["gap"] = ((crps - oracle) / (climatology - oracle)).tolist()
    scorecard = {}
    for baseline in (*BASELINES, "oracle"):
        if baseline not in per_state:
            continue
        difference = per_state["diffusion"] - per_state[baseline]  # (B, L), < 0: diffusion wins
        intervals = bootstrap_intervals(difference, generator, profile.n_boot)
        rows = []
        for lead in range(difference.shape[1]):
            low, high = intervals[lead]
            mean = float(difference[:, lead].mean())
            verdict = "better" if high < 0 else ("worse" if low > 0 else "tie")
            relative = mean / float(per_state[baseline][:, lead].mean())
            rows.append(
                {"difference": mean, "ci": [low, high], "relative": relative, "verdict": verdict}
            )
        scorecard[baseline] = rows
    return {"models": models, "scorecard": scorecard}


def _sampler_comparison(
    fast: torch.Tensor, reference: torch.Tensor, truth: torch.Tensor, profile: Profile
) -> dict[str, Any]:
    """Fast against reference sampler on the same states and leads: (B, L, M, K) each."""
    generator = generator_for(profile.seed, "benchmark", "sampler comparison")
    crps_fast = _per_state_crps(fast, truth)
    crps_reference = _per_state_crps(reference, truth)
    relative = (crps_fast - crps_reference) / crps_reference.mean(dim=0)
    intervals = bootstrap_intervals(relative, generator, profile.n_boot)
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
        "fast_sampler": profile.sampler,
        "fast_steps": profile.sampler_steps,
        "reference_sampler": profile.reference_sampler,
        "reference_steps": profile.reference_steps,
        "n_states": truth.shape[0],
        "lead_time": profile.lead_time[: truth.shape[1]],
        "per_lead": rows,
        "pooled_relative_difference": float(pooled.mean()),
        "pooled_relative_difference_ci": bootstrap_intervals(
            pooled[:, None], generator, profile.n_boot
        )[0],
    }


def sampler_ablation(
    profile: Profile,
    networks: TrainedNetworks,
    u_0: torch.Tensor,
    truth: torch.Tensor,
    oracle: torch.Tensor,
) -> dict[str, Any]:
    """The first forecast step drawn by each sampler of ``profile.ablation``.

    Args:
        profile: the settings.
        networks: the trained networks (the denoiser).
        u_0: (B, K) initial states.
        truth: (B, K) the truth one step later.
        oracle: (B, M, K) the oracle's one-step ensemble.

    Returns:
        ``{"sampler_nsteps": {"nfe", "crps", "crps_ratio", "spread_ratio"}}``: fair CRPS, its
        ratio to the oracle's, and the ensemble spread over the oracle's.
    """
    oracle_crps = float(crps_ensemble(oracle, truth).mean())
    oracle_spread = ensemble_spread(oracle)
    out = {}
    for sampler, n_steps in profile.ablation:
        forecaster = DiffusionForecaster(
            networks.denoiser,
            networks.scaling,
            profile.system.K,
            profile.sde,
            sampler,
            n_steps,
            chunk=profile.chunk,
        )
        generator = generator_for(profile.seed, "benchmark", "ablation", sampler, n_steps)
        ensemble = forecaster.sample_next(u_0, profile.M, generator)
        crps = float(crps_ensemble(ensemble, truth).mean())
        out[f"{sampler}_{n_steps}"] = {
            "sampler": sampler,
            "n_steps": n_steps,
            "nfe": forecaster.nfe,
            "crps": crps,
            "crps_ratio": crps / oracle_crps,
            "spread_ratio": ensemble_spread(ensemble) / oracle_spread,
        }
    return out


def _one_step_diagnostics(
    profile: Profile, forecasters: dict[str, Forecaster], u_0: torch.Tensor
) -> dict[str, Any]:
    """One-step error of each forecaster's mean and spread against a large oracle ensemble.

    The mean-square difference of two ensemble means holds, besides the squared bias, the
    sampling variances :math:`s_f^2/M_f + s_o^2/M_o`; they are subtracted, so ``mean_error``
    estimates the RMS error of the forecaster's *conditional mean* itself.
    """
    n_oracle = 8 * profile.one_step_members
    generator = generator_for(profile.seed, "benchmark", "one step")
    oracle = forecasters["oracle"].sample_next(u_0, n_oracle, generator)
    o_mean, o_var = oracle.mean(dim=1), oracle.var(dim=1)
    out = {"oracle_spread": float(o_var.mean().sqrt())}
    for name, forecaster in forecasters.items():
        if name in ("oracle", "climatology", "diffusion_reference"):
            continue
        members = forecaster.sample_next(u_0, profile.one_step_members, generator)
        f_mean, f_var = members.mean(dim=1), members.var(dim=1)
        mse = ((f_mean - o_mean) ** 2).mean()
        noise = (f_var / profile.one_step_members + o_var / n_oracle).mean()
        out[name] = {
            "mean_error": float((mse - noise).clamp(min=0.0).sqrt()),
            "spread_ratio": float((f_var.mean() / o_var.mean()).sqrt()),
        }
    return out


# --- the whole run -------------------------------------------------------------------------------
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


def _config(profile: Profile) -> dict[str, Any]:
    settings = dataclasses.asdict(profile)
    settings.pop("name")
    return {
        "profile": profile.name,
        "sigma": profile.system.sigma_xi,
        "M": profile.M,
        "n_test": profile.data.n_test,
        "seed": profile.seed,
        "Delta": profile.system.Delta,
        **settings,
    }


def run_benchmark(
    profile: Profile | str = "book",
    out: str | Path | None = None,
    *,
    progress: bool = True,
    figures: bool = True,
) -> BenchmarkRun:
    """Run the whole benchmark: data, training (cached), forecasts, scores, figures.

    Args:
        profile: a :class:`Profile` or the name of one in :data:`PROFILES`.
        out: folder for ``results.json`` and the figures (nothing is written if ``None``).
        progress: progress bars and per-stage timings on stderr.
        figures: write the figures (when ``out`` is given).

    Returns:
        A :class:`BenchmarkRun`.
    """
    if isinstance(profile, str):
        profile = get_profile(profile)
    if not isinstance(profile, Profile):
        raise TypeError(f"profile must be a Profile or a name, got {type(profile).__name__}")
    watch = _Stopwatch(progress)
    start, cpu_start = time.perf_counter(), time.process_time()
    with _threads(profile.threads):
        with watch.stage("data"):
            data = benchmark_data(profile)
            truth = truth_paths(profile, data.u_test)
        with watch.stage("training"):
            networks = _trained_networks(profile, data, ("mean", "gaussian", "denoiser"), progress)
        with watch.stage("dropout tuning"):
            rate, tuning = tune_dropout(profile, networks, data)
        forecasters = build_forecasters(profile, networks, data, rate, reference=True)
        forecasts: dict[str, torch.Tensor] = {}
        for name, forecaster in forecasters.items():
            if name == "diffusion_reference":
                continue
            with watch.stage(f"rollout {name}"):
                generator = generator_for(profile.seed, "benchmark", "rollout", name)
                forecasts[name] = rollout(
                    forecaster,
                    data.u_test,
                    profile.M,
                    profile.n_leads,
                    generator,
                    progress=progress,
                )
        with watch.stage("rollout diffusion_reference"):
            B_ref, L_ref = profile.reference_states, profile.reference_leads
            generator = generator_for(profile.seed, "benchmark", "rollout", "reference")
            reference = rollout(
                forecasters["diffusion_reference"],
                data.u_test[:B_ref],
                profile.M,
                L_ref,
                generator,
                progress=progress,
            )
        with watch.stage("scores"):
            scores = score_forecasts(forecasts, truth, profile)
            comparison = _sampler_comparison(
                forecasts["diffusion"][:B_ref, :L_ref], reference, truth[:B_ref, :L_ref], profile
            )
            ref_scores = score_forecasts(
                {
                    "oracle": forecasts["oracle"][:B_ref, :L_ref],
                    "climatology": forecasts["climatology"][:B_ref, :L_ref],
                    "diffusion": reference,
                },
                truth[:B_ref, :L_ref],
                dataclasses.replace(profile, rank_leads=()),
            )["models"]["diffusion"]
            ref_scores.update({"lead_time": profile.lead_time[:L_ref], "n_states": B_ref})
            scores["models"]["diffusion_reference"] = ref_scores
            one_step = _one_step_diagnostics(profile, forecasters, data.u_test)
        with watch.stage("sampler ablation"):
            ablation = sampler_ablation(
                profile, networks, data.u_test, truth[:, 0], forecasts["oracle"][:, 0]
            )
    nfe = {name: f.nfe for name, f in forecasters.items() if isinstance(f, DiffusionForecaster)}
    results: dict[str, Any] = {
        "config": _config(profile),
        "lead_time": profile.lead_time,
        "models": scores["models"],
        "scorecard": scores["scorecard"],
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
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if figures:
            with watch.stage("figures"):
                from lecture_code.plots.benchmark import write_figures

                write_figures(results, out)
    results["timing_s"] = {"total": time.perf_counter() - start, **watch.seconds}
    results["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    # CPU seconds of this process: on a shared machine the wall time also counts other jobs.
    results["cpu_s"] = {"total": time.process_time() - cpu_start, **watch.cpu_seconds}
    if out is not None:
        (Path(out) / "results.json").write_text(json.dumps(_jsonable(results), indent=1))
    return BenchmarkRun(results, forecasts, truth, forecasters)


def _jsonable(value: Any) -> Any:
    """Floats that JSON can hold (NaN and infinities become null), recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    """The command ``python -m lecture_code.benchmark``."""
    parser = argparse.ArgumentParser(
        prog="python -m lecture_code.benchmark",
        description="Run the Lorenz-96 probabilistic-forecasting benchmark.",
    )
    parser.add_argument("--profile", default="book", help=f"one of {sorted(PROFILES)}")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the profile's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:
        parser.error(f"--profile must be one of {sorted(PROFILES)}, got {args.profile!r}")
    if args.seed is not None and args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    profile = get_profile(args.profile, args.seed)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        profile = dataclasses.replace(profile, threads=args.threads)
    run = run_benchmark(profile, args.out, progress=not args.no_progress)
    print(_summary(run.results))
    print(f"wrote {args.out / 'results.json'}")
    return 0


def _summary(results: dict[str, Any]) -> str:
    """A short table: CRPS ratio to the oracle and spread-skill at a few lead times."""
    lead_time = results["lead_time"]
    picks = [i for i, tau in enumerate(lead_time) if round(tau, 6) in (0.05, 0.5, 1.0, 2.0)]
    picks = picks or [0, len(lead_time) - 1]
    lines = ["model                 " + "".join(f"  τ={lead_time[i]:<5g} ratio/ssr" for i in picks)]
    for name, entry in results["models"].items():
        if name == "diffusion_reference":
            continue
        cells = "".join(
            f"  {entry['crps_ratio'][i]:>8.3f} / {entry['ssr'][i]:<5.2f}   " for i in picks
        )
        lines.append(f"{name:<22}{cells}")
    oracle = [round(results["models"]["oracle"]["crps"][i], 4) for i in picks]
    lines.append(f"oracle CRPS: {oracle}")
    comparison = results["sampler_comparison"]
    lines.append(
        f"fast vs reference sampler (pooled over {comparison['n_states']} states and "
        f"{len(comparison['lead_time'])} leads): "
        f"{100 * comparison['pooled_relative_difference']:+.2f}% "
        f"(95% CI {100 * comparison['pooled_relative_difference_ci'][0]:+.2f}% .. "
        f"{100 * comparison['pooled_relative_difference_ci'][1]:+.2f}%)"
    )
    lines.append(
        f"total time: {results['timing_s']['total']:.1f} s wall, "
        f"{results['cpu_s']['total']:.1f} s CPU"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
