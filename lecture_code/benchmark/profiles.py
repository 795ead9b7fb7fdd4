"""The benchmark's profiles: every setting of one run, frozen.

:data:`PROFILES` holds three: ``"book"`` (what the book and ``make benchmark`` run: 200 test
states, ``M = 10``, small networks, all in about 80 s of CPU time on one core, training
included), ``"full"`` (more data, ``M = 50``, larger networks, a deep ensemble, the 1000-step
sampler on every state and lead: hours on a CPU) and ``"tiny"`` (seconds; for the tests).

Book: chapter 13, "The benchmark".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from lecture_code.forecasting.data import DataConfig
from lecture_code.forecasting.fit import TrainConfig
from lecture_code.forecasting.lorenz96 import Lorenz96
from lecture_code.forecasting.losses import DSMConfig
from lecture_code.forecasting.networks import BackboneConfig, DenoiserConfig
from lecture_code.score.samplers import SAMPLERS
from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_choice, check_int

__all__ = ["PROFILES", "Profile", "get_profile", "profile_config"]


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


def profile_config(profile: Profile) -> dict[str, Any]:
    """The ``config`` entry of ``results.json``: a few headline settings, then every field."""
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
