"""The benchmark's tracks and profiles: every setting of one run, frozen.

A **track** is a truth (``design/benchmark.md``, "Truths"): :data:`TRACKS` holds ``"gaussian"``
(white additive Gaussian kicks: the control, version 1 of the benchmark unchanged) and
``"bursty"`` (the same kicks plus rare, one-sided, spatially coherent bursts,
:mod:`lecture_code.forecasting.bursts`), whose one-step law is skewed and heavy-tailed. A
**profile** is everything else of a run: sizes, networks, samplers, the statistics.
:data:`PROFILES` holds four:

- ``"book"``: what the chapters and ``make benchmark`` run; 500 test states, ``M = 20``, small
  networks, one training seed; both tracks within a few minutes on two cores.
- ``"standard"``: the replication: 1000 test states, ``M = 50`` and three training seeds of
  every learned model; under an hour on two cores; its results are committed.
- ``"full"``: more data and larger networks, for a GPU or a patient CPU.
- ``"tiny"``: seconds, for the tests.

A profile holds one track (``Profile.track``); :func:`get_profile` sets it.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`); chapter 9, "Lorenz-96 as a
forecasting testbed" (:doc:`/book/part3/09_lorenz96`), for the two truths.
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
from lecture_code.validation import check_choice, check_int, check_real

__all__ = ["PROFILES", "TRACKS", "Profile", "get_profile", "profile_config", "track_names"]

#: The truths of the benchmark, by track name (``design/benchmark.md``, "Truths").
TRACKS: dict[str, Lorenz96] = {
    "gaussian": Lorenz96(),
    "bursty": Lorenz96(p_burst=0.002, J_burst=2.0),
}

#: The book profile's optimisation (about 5 to 10 s per network on one core).
_TRAIN = TrainConfig(steps=1000, batch_size=64, lr=6e-3)


@dataclass(frozen=True)
class Profile:
    """Every setting of one benchmark run on one track.

    Attributes:
        name: the profile's name.
        track: the truth, a key of :data:`TRACKS`.
        data: sizes and seed of the data (``data.n_test`` initial states).
        M: ensemble members for scoring, >= 2 (the fair scores divide by ``M (M - 1)``).
        n_leads: lead times, in model steps Δ.
        backbone: the shared network backbone of every learned forecaster.
        denoiser: the diffusion head; ``sigma_data=None`` estimates it from training data.
        dsm: training noise levels of the denoiser; ``log_nu_mean=None`` centres them on the
            estimated ``sigma_data``.
        sde: the VP-SDE.
        train: optimisation of every network.
        dropout_rates: MC-dropout rates tried; the lowest lead-weighted validation CRPS wins.
        het_rates: rates tried for MC dropout with a heteroscedastic head.
        shared_masks: dropout masks shared over the ring (one sampled network per member).
        n_ensemble: networks of the deep ensemble, >= 2.
        sampler, sampler_steps: the fast sampler of the diffusion forecaster.
        reference_sampler, reference_steps: the slow reference sampler.
        check_states, check_members: initial states and members per sampler in the sampler
            check (the two-sample test on the one-step law).
        n_perm: permutations of the two-sample test.
        spread_error: the deliberate spread factor of the wrong sampler that the check must
            reject (its power demonstration).
        ablation: (sampler, n_steps) pairs compared on the first forecast step.
        tune_states, tune_members: validation states and members for the dropout rates.
        one_step_members: members of the one-step diagnostic ensembles.
        quantile_levels: the levels of the quantile (pinball) scores.
        variogram_p, variogram_d_max: order and largest site distance of the variogram score.
        chunk: states per network call.
        n_boot: bootstrap resamples.
        alpha: family-wise error rate of the scorecard (Holm) and level of every test.
        rank_leads: lead steps with rank histograms and PIT flatness tests.
        seed: the seed of the data and of the first training replicate.
        n_replicates: training seeds of every learned model (``seed, seed + 1, ...``).
        test_seed: 0 scores the data's own test states; another value draws a held-out set
            of the same size from fresh trajectories, to confirm the verdicts.
        threads: torch threads per track (1 is fastest on a shared 2-core machine).
    """

    name: str
    track: str = "gaussian"
    data: DataConfig = field(default_factory=lambda: DataConfig(n_test=500))
    M: int = 20
    n_leads: int = 40
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    denoiser: DenoiserConfig = field(default_factory=lambda: DenoiserConfig(sigma_data=None))
    dsm: DSMConfig = field(default_factory=lambda: DSMConfig(log_nu_mean=None))
    sde: VPSDE = field(default_factory=VPSDE)
    train: TrainConfig = _TRAIN
    dropout_rates: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4)
    het_rates: tuple[float, ...] = (0.05, 0.1)
    shared_masks: bool = True
    n_ensemble: int = 5
    sampler: str = "dpm_solver_2m"
    sampler_steps: int = 10
    reference_sampler: str = "euler_maruyama"
    reference_steps: int = 1000
    check_states: int = 100
    check_members: int = 10
    n_perm: int = 200
    spread_error: float = 1.1
    ablation: tuple[tuple[str, int], ...] = (
        ("euler_maruyama", 20),
        ("heun", 5),
        ("dpm_solver_2s", 5),
        ("dpm_solver_2m", 10),
        ("dpm_solver_2m", 20),
    )
    tune_states: int = 40
    tune_members: int = 10
    one_step_members: int = 32
    quantile_levels: tuple[float, ...] = (0.01, 0.99)
    variogram_p: float = 0.5
    variogram_d_max: int = 3
    chunk: int = 400
    n_boot: int = 1000
    alpha: float = 0.05
    rank_leads: tuple[int, ...] = (1, 10, 20, 40)
    seed: int = 0
    n_replicates: int = 1
    test_seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        check_choice("track", self.track, TRACKS)
        check_int("M", self.M)
        if self.M < 2:
            raise ValueError(f"M must be >= 2: the fair CRPS divides by M(M - 1), got M = {self.M}")
        check_int("n_leads", self.n_leads, low=1)
        check_int("n_ensemble", self.n_ensemble, low=2)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("reference_sampler", self.reference_sampler, SAMPLERS)
        check_int("sampler_steps", self.sampler_steps, low=1)
        check_int("reference_steps", self.reference_steps, low=1)
        check_int("check_states", self.check_states, low=2, high=self.data.n_test)
        check_int("check_members", self.check_members, low=2)
        check_int("n_perm", self.n_perm, low=19)
        check_real("spread_error", self.spread_error, low=0.0, low_open=True)
        check_int("tune_states", self.tune_states, low=2, high=self.data.n_val)
        check_int("tune_members", self.tune_members, low=2)
        check_int("one_step_members", self.one_step_members, low=2)
        check_int("chunk", self.chunk, low=1)
        check_int("n_boot", self.n_boot, low=10)
        check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("seed", self.seed, low=0)
        check_int("n_replicates", self.n_replicates, low=1)
        check_int("test_seed", self.test_seed, low=0)
        check_int("threads", self.threads, low=1)
        check_real("variogram_p", self.variogram_p, low=0.0, low_open=True)
        check_int("variogram_d_max", self.variogram_d_max, low=1)
        for sampler, n_steps in self.ablation:
            check_choice("ablation sampler", sampler, SAMPLERS)
            check_int("ablation n_steps", n_steps, low=1)
        for name in ("dropout_rates", "het_rates"):
            rates = getattr(self, name)
            if not rates or not all(0.0 < p < 1.0 for p in rates):
                raise ValueError(f"{name} must be rates in (0, 1), got {rates}")
        if not all(0.0 < a < 1.0 for a in self.quantile_levels):
            raise ValueError(f"quantile_levels must lie in (0, 1), got {self.quantile_levels}")
        for lead in self.rank_leads:
            check_int("rank_leads entry", lead, low=1, high=self.n_leads)
        if self.data.n_test < 2:
            raise ValueError(f"data.n_test must be >= 2 to bootstrap, got {self.data.n_test}")

    @property
    def system(self) -> Lorenz96:
        """The truth of the profile's track."""
        return TRACKS[self.track]

    @property
    def lead_time(self) -> list[float]:
        """The lead times τ = ℓΔ, ℓ = 1..n_leads, in time units."""
        return [round(lead * self.system.Delta, 10) for lead in range(1, self.n_leads + 1)]

    @property
    def train_seeds(self) -> list[int]:
        """The seeds of the training replicates, ``seed, seed + 1, ...``."""
        return [self.seed + r for r in range(self.n_replicates)]

    def with_seed(self, seed: int) -> Profile:
        """The same profile with ``seed`` for everything, the data included."""
        check_int("seed", seed, low=0)
        return dataclasses.replace(self, seed=seed, data=dataclasses.replace(self.data, seed=seed))


_TINY_DATA = DataConfig(
    n_train=400,
    n_val=40,
    n_test=6,
    n_climatology=200,
    train_trajectories=20,
    val_trajectories=10,
    climatology_trajectories=10,
)
_TINY_TRAIN = TrainConfig(steps=5, batch_size=8)

#: The benchmark's profiles by name (their track is ``"gaussian"``; :func:`get_profile` sets
#: another).
PROFILES: dict[str, Profile] = {
    "book": Profile(name="book"),
    "standard": Profile(
        name="standard",
        data=DataConfig(n_test=1000),
        M=50,
        n_replicates=3,
        check_states=200,
        check_members=20,
    ),
    "full": Profile(
        name="full",
        data=DataConfig(n_train=100_000, n_val=5_000, n_test=2000, train_trajectories=2_000),
        M=50,
        backbone=BackboneConfig(hidden=128, depth=3),
        denoiser=DenoiserConfig(head_hidden=64, sigma_data=None),
        train=TrainConfig(steps=10000, batch_size=128, lr=3e-3),
        dropout_rates=(0.02, 0.05, 0.1, 0.2, 0.3),
        het_rates=(0.02, 0.05, 0.1, 0.2),
        n_replicates=3,
        check_states=500,
        tune_states=200,
        one_step_members=128,
        n_boot=2000,
        threads=max(1, torch.get_num_threads()),
    ),
    "tiny": Profile(
        name="tiny",
        data=_TINY_DATA,
        M=3,
        n_leads=3,
        backbone=BackboneConfig(hidden=8, depth=1),
        denoiser=DenoiserConfig(head_hidden=8, sigma_data=None),
        train=_TINY_TRAIN,
        dropout_rates=(0.1, 0.2),
        het_rates=(0.1,),
        n_ensemble=2,
        sampler_steps=4,
        reference_steps=10,
        check_states=3,
        check_members=4,
        n_perm=19,
        ablation=(("euler_maruyama", 4), ("dpm_solver_2m", 4)),
        tune_states=4,
        tune_members=2,
        one_step_members=4,
        n_boot=50,
        rank_leads=(1, 3),
    ),
}


def track_names(track: str) -> list[str]:
    """The tracks that ``--track`` names: one of :data:`TRACKS`, or ``"all"`` for every one.

    ``"two_scale"`` (chapter 14's GenCast in miniature) is named in the protocol but not built
    yet; asking for it says so.
    """
    if track == "two_scale":
        raise ValueError(
            "track 'two_scale' (chapter 14, GenCast in miniature) is not built yet; "
            f"choose one of {sorted(TRACKS)} or 'all'"
        )
    if track == "all":
        return list(TRACKS)
    check_choice("track", track, [*TRACKS, "all"])
    return [track]


def get_profile(
    name: str, seed: int | None = None, *, track: str = "gaussian", test_seed: int = 0
) -> Profile:
    """The profile called ``name`` ("book", "standard", "full" or "tiny") on ``track``, with
    ``seed`` if given and the test states of ``test_seed``."""
    check_choice("profile", name, PROFILES)
    check_choice("track", track, TRACKS)
    profile = dataclasses.replace(PROFILES[name], track=track, test_seed=test_seed)
    return profile if seed is None else profile.with_seed(seed)


def profile_config(profile: Profile) -> dict[str, Any]:
    """The ``config`` entry of a track's results: headline settings, the truth, every field."""
    settings = dataclasses.asdict(profile)
    settings.pop("name")
    return {
        "profile": profile.name,
        "system": dataclasses.asdict(profile.system),
        "sigma": profile.system.sigma_xi,
        "n_test": profile.data.n_test,
        "Delta": profile.system.Delta,
        **settings,
    }
