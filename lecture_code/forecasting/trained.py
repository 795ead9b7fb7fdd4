"""The trained networks of Part III, kept in the cache: the data, and one call that trains (or
loads) every network a chapter or the benchmark needs.

Training is the slow part of Part III, and chapters 11, 12 and 13 use the same networks. Each
network is one :class:`NetworkJob`: a frozen record of everything it depends on (the truth, the
data, the backbone, the optimisation, the seed, and for the denoiser its head, its training
noise levels and the SDE). The job's ``repr`` is the network's key in
:func:`lecture_code.cache.cached`, together with the source of the packages up to this one, so a
network is trained once per job and code, whichever chapter asks first, and a change to any
setting or to the code trains it again.

:func:`trained_networks` is the entry point: it turns the seed into the training generator of
each job, so every network has its own random stream (initial weights, minibatches, dropout
masks, noise) and training one never shifts another.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`), section "Training";
chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`); chapter 13,
"The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from lecture_code.cache import cached
from lecture_code.forecasting.conditional_spread import estimate_sigma_data
from lecture_code.forecasting.data import DataConfig, Lorenz96Data, make_data
from lecture_code.forecasting.fit import (
    Scaling,
    TrainConfig,
    fit_denoiser,
    fit_gaussian_network,
    fit_mean_network,
)
from lecture_code.forecasting.lorenz96 import Lorenz96
from lecture_code.forecasting.losses import DSMConfig
from lecture_code.forecasting.networks import (
    BackboneConfig,
    DenoiserConfig,
    RingDenoiser,
    RingMLP,
)
from lecture_code.score.sde import VPSDE
from lecture_code.seeding import generator_for, make_generator
from lecture_code.validation import check_choice, check_int, check_real

__all__ = ["KINDS", "NetworkJob", "TrainedNetworks", "cached_data", "trained_networks"]

#: Kinds of network of Part III, in order the MSE network (with dropout for MC dropout), the
#: Gaussian-output network (one per deep-ensemble member), the conditional denoiser and the
#: Gaussian-output network trained with dropout (heteroscedastic MC dropout).
KINDS = ("mean", "gaussian", "denoiser", "het")


def cached_data(system: Lorenz96, config: DataConfig, *, verbose: bool = False) -> Lorenz96Data:
    """:func:`lecture_code.forecasting.data.make_data` of ``system`` and ``config``, cached.

    Args:
        system: the truth.
        config: sizes, spacings and seed of the data.
        verbose: say whether the data were loaded or made.
    """
    result = cached(
        "l96_data",
        (system, config),
        lambda: dataclasses.asdict(make_data(system, config)),
        layer="forecasting",
        verbose=verbose,
    )
    return Lorenz96Data(**result)


@dataclass(frozen=True)
class NetworkJob:
    """Everything one trained network depends on; its ``repr`` is the network's cache key.

    Attributes:
        kind: one of :data:`KINDS`.
        system: the truth the data come from.
        data: the data's settings (the training pairs are ``data.n_train`` transitions).
        backbone: the shared ring backbone.
        train: the optimisation.
        seed: the seed of the network's random stream.
        dropout: dropout rate of an MSE or heteroscedastic network (0 for none).
        shared_masks: dropout masks shared over the ring (one sampled network per row).
        member: index of a Gaussian network in the deep ensemble.
        denoiser, dsm, sde: the denoiser's head, its training noise levels and the VP-SDE whose
            range of noise levels it is trained on (``kind == "denoiser"`` only).
    """

    kind: str
    system: Lorenz96
    data: DataConfig
    backbone: BackboneConfig
    train: TrainConfig
    seed: int
    dropout: float = 0.0
    shared_masks: bool = False
    member: int = 0
    denoiser: DenoiserConfig | None = None
    dsm: DSMConfig | None = None
    sde: VPSDE | None = None

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        check_int("seed", self.seed, low=0)
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_int("member", self.member, low=0)
        parts = (self.denoiser, self.dsm, self.sde)
        if self.kind == "denoiser" and any(part is None for part in parts):
            raise ValueError(
                "a denoiser job needs denoiser, dsm and sde, got "
                f"denoiser={self.denoiser}, dsm={self.dsm}, sde={self.sde}"
            )

    @property
    def label(self) -> str:
        """The network's name in the cache and in timings, such as ``mean_p0.1``,
        ``gaussian_0`` or ``denoiser``."""
        if self.kind in ("mean", "het"):
            return f"{self.kind}_p{self.dropout:g}"
        return f"gaussian_{self.member}" if self.kind == "gaussian" else "denoiser"

    def build(self, generator: torch.Generator) -> torch.nn.Module:
        """An untrained network of the job's architecture, its weights drawn from
        ``generator`` (to load trained weights into)."""
        if self.kind == "mean":
            return self.backbone.build(1, 1, generator, self.dropout, self.shared_masks)
        if self.kind in ("gaussian", "het"):
            return self.backbone.build(1, 2, generator, self.dropout, self.shared_masks)
        assert self.denoiser is not None  # checked in __post_init__
        return self.denoiser.build(self.backbone, generator)


def _fit(
    job: NetworkJob,
    data: Lorenz96Data,
    scaling: Scaling,
    generator: torch.Generator,
    progress: bool,
) -> dict[str, Any]:
    """Train the network of ``job`` on ``data``: its state dict and the seconds it took."""
    pairs = (data.u_train, data.u_train_next, scaling)
    start = time.perf_counter()
    network: torch.nn.Module
    if job.kind == "mean":
        network = fit_mean_network(
            *pairs,
            job.backbone,
            job.dropout,
            job.train,
            generator,
            shared_masks=job.shared_masks,
            progress=progress,
        )
    elif job.kind in ("gaussian", "het"):
        network = fit_gaussian_network(
            *pairs,
            job.backbone,
            job.train,
            generator,
            dropout=job.dropout,
            shared_masks=job.shared_masks,
            progress=progress,
        )
    else:
        assert job.denoiser is not None and job.dsm is not None and job.sde is not None
        network = fit_denoiser(
            *pairs,
            job.backbone,
            job.denoiser,
            job.dsm,
            (job.sde.nu_min, job.sde.nu_max),
            job.train,
            generator,
            progress=progress,
        )
    return {"state_dict": network.state_dict(), "seconds": time.perf_counter() - start}


@dataclass
class TrainedNetworks:
    """The trained networks of one call of :func:`trained_networks`.

    Attributes:
        scaling: the normalisation of states and residuals (from the training data).
        mean: the MSE networks, by dropout rate.
        gaussian: the Gaussian-output networks (the first is "gaussian", all of them form the
            deep ensemble).
        denoiser: the conditional denoiser (``None`` if it was not asked for).
        seconds: the training time of each network, as recorded when it was trained.
        loaded: whether each network came from the cache.
        het: the heteroscedastic dropout networks, by dropout rate.
        sigma_data: the denoiser's sigma_data (estimated from the training
            data when its configuration left it ``None``), or ``None`` without a denoiser.
    """

    scaling: Scaling
    mean: dict[float, RingMLP]
    gaussian: list[RingMLP]
    denoiser: RingDenoiser | None
    seconds: dict[str, float] = field(default_factory=dict)
    loaded: dict[str, bool] = field(default_factory=dict)
    het: dict[float, RingMLP] = field(default_factory=dict)
    sigma_data: float | None = None


def trained_networks(
    system: Lorenz96,
    data_config: DataConfig,
    backbone: BackboneConfig,
    seed: int,
    *,
    data: Lorenz96Data | None = None,
    mean: TrainConfig | None = None,
    dropout_rates: Sequence[float] = (0.0,),
    gaussian: TrainConfig | None = None,
    n_gaussian: int = 1,
    diffusion: TrainConfig | None = None,
    denoiser: DenoiserConfig | None = None,
    dsm: DSMConfig | None = None,
    sde: VPSDE | None = None,
    heteroscedastic: TrainConfig | None = None,
    het_rates: Sequence[float] = (),
    shared_masks: bool = False,
    progress: bool = True,
) -> TrainedNetworks:
    """Train (or load from the cache) the networks asked for, each on its own.

    A kind of network is trained when its optimisation settings are given: ``mean`` (one MSE
    network per rate of ``dropout_rates``), ``gaussian`` (``n_gaussian`` Gaussian-output
    networks) and ``diffusion`` (the conditional denoiser with ``denoiser``, ``dsm`` and
    ``sde``, their defaults when ``None``). Each network is cached on its own, so a chapter that
    needs only the denoiser trains only the denoiser, and the benchmark later finds it in the
    cache. Training runs with the caller's torch threads
    (:func:`lecture_code.runtime.torch_threads`).

    Args:
        system: the truth.
        data_config: the data's settings.
        backbone: the shared backbone of every network.
        seed: the seed of the networks' streams: network ``(kind, member)`` draws from
            ``generator_for(seed, "benchmark", "train", kind, member)``.
        data: the data of ``system`` and ``data_config`` (made, or loaded from the cache, if
            ``None``).
        mean, gaussian, diffusion: the optimisation of each kind, or ``None`` to skip it.
        dropout_rates: the rates of the MSE networks.
        n_gaussian: Gaussian networks, >= 1.
        denoiser, dsm, sde: the denoiser's settings; ``denoiser.sigma_data = None`` is
            estimated from the training pairs
            (:func:`lecture_code.forecasting.conditional_spread.estimate_sigma_data`) before
            the job is made, so that the cache key holds the number.
        heteroscedastic: the optimisation of the Gaussian-output networks trained with dropout
            at each rate of ``het_rates`` (heteroscedastic MC dropout), or ``None``.
        shared_masks: dropout masks shared over the ring, for the MSE networks with dropout and
            the heteroscedastic ones.
        progress: progress bars while training.
    """
    check_int("n_gaussian", n_gaussian, low=1)
    data = cached_data(system, data_config) if data is None else data
    scaling = Scaling.fit(data.u_train, data.u_train_next)
    common = {"system": system, "data": data_config, "backbone": backbone, "seed": seed}
    seconds: dict[str, float] = {}
    loaded: dict[str, bool] = {}

    def load(job: NetworkJob) -> torch.nn.Module:
        built: list[bool] = []

        def build() -> dict[str, Any]:
            built.append(True)
            # The stream's label names the benchmark, where training lived before it moved
            # here; it is kept so that the networks, and every number of the book, stay put.
            generator = generator_for(job.seed, "benchmark", "train", job.kind, job.member)
            return _fit(job, data, scaling, generator, progress)

        result = cached(f"l96_{job.label}", job, build, layer="forecasting", verbose=False)
        network = job.build(make_generator(0))  # the weights drawn here are overwritten
        network.load_state_dict(result["state_dict"])
        seconds[job.label] = float(result["seconds"])
        loaded[job.label] = not built
        return network.eval()

    mean_networks = {}
    if mean is not None:
        for p in dropout_rates:
            # a network without dropout has no masks to share: one job whatever shared_masks
            shared = shared_masks and p > 0
            job = NetworkJob(kind="mean", train=mean, dropout=p, shared_masks=shared, **common)
            mean_networks[p] = load(job)
    het_networks = {}
    if heteroscedastic is not None:
        for p in het_rates:
            job = NetworkJob(
                kind="het", train=heteroscedastic, dropout=p, shared_masks=shared_masks, **common
            )
            het_networks[p] = load(job)
    gaussian_networks = []
    if gaussian is not None:
        for e in range(n_gaussian):
            job = NetworkJob(kind="gaussian", train=gaussian, member=e, **common)
            gaussian_networks.append(load(job))
    denoiser_network, sigma_data = None, None
    if diffusion is not None:
        head = DenoiserConfig() if denoiser is None else denoiser
        if head.sigma_data is None:
            estimate = estimate_sigma_data(data.u_train, data.u_train_next, scaling)
            head = dataclasses.replace(head, sigma_data=round(estimate, 6))
        sigma_data = head.sigma_data
        job = NetworkJob(
            kind="denoiser",
            train=diffusion,
            denoiser=head,
            dsm=DSMConfig() if dsm is None else dsm,
            sde=VPSDE() if sde is None else sde,
            **common,
        )
        denoiser_network = load(job)
    return TrainedNetworks(
        scaling,
        mean_networks,  # type: ignore[arg-type]
        gaussian_networks,  # type: ignore[arg-type]
        denoiser_network,  # type: ignore[arg-type]
        seconds,
        loaded,
        het_networks,  # type: ignore[arg-type]
        sigma_data,
    )
