"""The benchmark's forecasters, assembled from a profile's trained networks.

:func:`profile_networks` trains (or loads) the networks of one training replicate through
:func:`lecture_code.forecasting.trained.trained_networks`; :func:`tune_rate` picks a dropout
rate by the validation CRPS of whole rollouts *with the lead times weighted fairly*: each
lead's CRPS is divided by the mean over the candidate rates at that lead before averaging, so
that long leads, whose CRPS is ten times the first lead's, do not decide alone;
:func:`reference_forecasters` builds what needs no network (the oracle, climatology and the
control "physics + Gaussian"), :func:`learned_forecasters` the rest, keyed by their names.

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`); chapter 11, "Uncertainty
baselines" (:doc:`/book/part3/11_baselines`), and chapter 12, "A diffusion forecaster"
(:doc:`/book/part3/12_diffusion_forecaster`), for the forecasters themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from lecture_code.benchmark.profiles import Profile
from lecture_code.benchmark.scoring import crps_per_site
from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    DeterministicForecaster,
    GaussianForecaster,
    HeteroscedasticDropoutForecaster,
    MCDropoutForecaster,
    PhysicsGaussianForecaster,
    fit_physics_noise,
)
from lecture_code.forecasting.data import Lorenz96Data
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.forecasters import (
    ClimatologyForecaster,
    DivergedForecastError,
    Forecaster,
    OracleForecaster,
    rollout,
)
from lecture_code.forecasting.trained import TrainedNetworks, trained_networks
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "diffusion_forecaster",
    "learned_forecasters",
    "profile_networks",
    "reference_forecasters",
    "tune_rate",
]


def profile_networks(
    profile: Profile,
    data: Lorenz96Data | None = None,
    *,
    seed: int | None = None,
    progress: bool = True,
) -> TrainedNetworks:
    """Every network of ``profile`` for one training seed, trained or loaded from the cache.

    Args:
        profile: the settings (its track fixes the truth).
        data: the profile's data (made, or loaded from the cache, if ``None``).
        seed: the training seed (default: the profile's ``seed``).
        progress: progress bars while training.

    Returns:
        The MSE networks at rate 0 (the deterministic network, trained without dropout) and at
        each of ``profile.dropout_rates``, the heteroscedastic dropout networks, the
        ``n_ensemble`` Gaussian networks and the denoiser.
    """
    seed = profile.seed if seed is None else check_int("seed", seed, low=0)
    return trained_networks(
        profile.system,
        profile.data,
        profile.backbone,
        seed,
        data=data,
        mean=profile.train,
        dropout_rates=(0.0, *profile.dropout_rates),
        heteroscedastic=profile.train,
        het_rates=profile.het_rates,
        shared_masks=profile.shared_masks,
        gaussian=profile.train,
        n_gaussian=profile.n_ensemble,
        diffusion=profile.train,
        denoiser=profile.denoiser,
        dsm=profile.dsm,
        sde=profile.sde,
        progress=progress,
    )


def tune_rate(
    make: Callable[[float], Forecaster],
    rates: tuple[float, ...],
    u_0: torch.Tensor,
    truth: torch.Tensor,
    M: int,
    generators: Mapping[float, torch.Generator],
) -> tuple[float, dict[str, list[float] | float]]:
    r"""The dropout rate with the lowest lead-weighted fair CRPS on validation forecasts.

    With :math:`C_p(\ell)` the validation CRPS of rate :math:`p` at lead :math:`\ell`, the
    criterion is :math:`\frac1L\sum_\ell C_p(\ell)/\bar C(\ell)`, :math:`\bar C(\ell)` the mean
    over rates: every lead counts alike, whatever its scale.

    Args:
        make: rate -> the forecaster of that rate.
        rates: the candidate rates.
        u_0: (B, K) validation initial states (trajectories never used for testing).
        truth: (B, L, K) their verifying truth.
        M: members, >= 2.
        generators: rate -> the generator of its rollout.

    Returns:
        ``(best_rate, {"rates", "weighted", "crps_by_lead", "diverged"})``; a rate whose
        rollout overflows
        (:class:`~lecture_code.forecasting.forecasters.DivergedForecastError`) is listed in
        ``diverged`` and loses.
    """
    if not rates:
        raise ValueError("rates must name at least one dropout rate, got ()")
    dims: dict[str, int] = {}
    check_tensor("u_0", u_0, ("B", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "L", "K"), dims=dims)
    M = check_int("M", M, low=2)
    missing = [p for p in rates if p not in generators]
    if missing:
        raise ValueError(f"generators must hold one generator per rate, missing {missing}")
    by_lead, diverged = [], []
    for p in rates:
        try:
            forecasts = rollout(make(p), u_0, M, truth.shape[1], generators[p])
        except DivergedForecastError:
            # a rate whose members leave the attractor and overflow loses the tuning
            diverged.append(p)
            by_lead.append(torch.full((truth.shape[1],), math.inf, dtype=torch.float64))
            continue
        by_lead.append(crps_per_site(forecasts, truth).mean(dim=(0, 2)))
    if len(diverged) == len(rates):
        raise DivergedForecastError(
            f"every rate of {list(rates)} diverged on the validation states"
        )
    table = torch.stack(by_lead)  # (rates, L)
    finite = table[torch.isfinite(table).all(dim=1)]
    weighted = (table / finite.mean(dim=0)).mean(dim=1)
    best = rates[int(torch.argmin(weighted))]
    return best, {
        "rates": list(rates),
        "weighted": [w if math.isfinite(w) else None for w in weighted.tolist()],
        "crps_by_lead": [[c if math.isfinite(c) else None for c in row] for row in table.tolist()],
        "diverged": diverged,
    }


def reference_forecasters(profile: Profile, data: Lorenz96Data) -> dict[str, Forecaster]:
    """The forecasters without a network: the oracle, climatology and the control "physics +
    Gaussian" (the exact deterministic step plus one Gaussian variance fitted on the training
    residuals), in the order of the tables."""
    variance = fit_physics_noise(profile.system, data.u_train, data.u_train_next)
    chosen: list[Forecaster] = [
        OracleForecaster(profile.system),
        ClimatologyForecaster(data.climatology),
        PhysicsGaussianForecaster(profile.system, variance),
    ]
    return {f.name: f for f in chosen}


def diffusion_forecaster(
    profile: Profile, networks: TrainedNetworks, sampler: str, n_steps: int, name: str
) -> DiffusionForecaster:
    """The diffusion forecaster of ``networks`` with ``sampler`` at ``n_steps`` levels."""
    if networks.denoiser is None:
        raise ValueError("networks holds no denoiser: train it with profile_networks")
    return DiffusionForecaster(
        networks.denoiser,
        networks.scaling,
        profile.system.K,
        profile.sde,
        sampler,
        n_steps,
        chunk=profile.chunk,
        name=name,
    )


def learned_forecasters(
    profile: Profile, networks: TrainedNetworks, dropout_rate: float, het_rate: float
) -> dict[str, Forecaster]:
    """The learned forecasters of one training replicate, by name, in the order of the tables.

    Args:
        profile: the settings.
        networks: from :func:`profile_networks`.
        dropout_rate: the MC-dropout rate (from :func:`tune_rate`).
        het_rate: the rate of MC dropout with a heteroscedastic head.

    Returns:
        ``deterministic`` (the MSE network trained without dropout), ``mc_dropout``,
        ``mc_dropout_het``, ``gaussian``, ``deep_ensemble`` and ``diffusion`` (the fast
        sampler).
    """
    K, scaling, chunk = profile.system.K, networks.scaling, profile.chunk
    for rate, trained, what in (
        (dropout_rate, networks.mean, "dropout_rate"),
        (het_rate, networks.het, "het_rate"),
    ):
        if rate not in trained:
            raise ValueError(
                f"{what} must be one of the trained rates {sorted(trained)}, got {rate}"
            )
    if 0.0 not in networks.mean:
        raise ValueError("networks holds no MSE network trained without dropout (rate 0.0)")
    members = [
        GaussianForecaster(n, scaling, K, chunk, name=f"gaussian_{e}")
        for e, n in enumerate(networks.gaussian)
    ]
    chosen: list[Forecaster] = [
        DeterministicForecaster(networks.mean[0.0], scaling, K, chunk),
        MCDropoutForecaster(networks.mean[dropout_rate], scaling, K, chunk),
        HeteroscedasticDropoutForecaster(networks.het[het_rate], scaling, K, chunk),
        GaussianForecaster(networks.gaussian[0], scaling, K, chunk),
        DeepEnsembleForecaster(members),
        diffusion_forecaster(
            profile, networks, profile.sampler, profile.sampler_steps, "diffusion"
        ),
    ]
    return {f.name: f for f in chosen}
