"""The benchmark's forecasters, assembled from a profile's trained networks.

:func:`profile_networks` trains (or loads) the networks of a profile through
:func:`lecture_code.forecasting.trained.trained_networks`; :func:`tune_dropout` picks the
MC-dropout rate by the validation CRPS of whole rollouts, so the baseline is chosen for the
task itself and not for one step; :func:`build_forecasters` wraps everything into the
forecasters of the benchmark, keyed by their names, from the best possible (the oracle) to the
challenger (the diffusion model) and its slow reference sampler.

Book: chapter 13, "The benchmark"; chapters 11 and 12 for the forecasters themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from lecture_code.benchmark.profiles import Profile
from lecture_code.benchmark.scoring import crps_per_site
from lecture_code.forecasting.baselines import (
    DeepEnsembleForecaster,
    DeterministicForecaster,
    GaussianForecaster,
    MCDropoutForecaster,
)
from lecture_code.forecasting.data import Lorenz96Data
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.forecasters import (
    ClimatologyForecaster,
    Forecaster,
    OracleForecaster,
    rollout,
)
from lecture_code.forecasting.trained import KINDS, TrainedNetworks, trained_networks
from lecture_code.validation import check_choice, check_int, check_tensor

__all__ = ["build_forecasters", "profile_networks", "tune_dropout"]


def profile_networks(
    profile: Profile,
    data: Lorenz96Data | None = None,
    *,
    which: tuple[str, ...] = KINDS,
    progress: bool = True,
) -> TrainedNetworks:
    """The networks of ``profile``, trained or loaded from the cache.

    Args:
        profile: the settings.
        data: the profile's data (made, or loaded from the cache, if ``None``).
        which: the kinds to train, some of :data:`lecture_code.forecasting.trained.KINDS`:
            ``"mean"`` (one MSE network per dropout rate), ``"gaussian"`` (one per
            deep-ensemble member) and ``"denoiser"``; the others are left empty.
        progress: progress bars while training.
    """
    for kind in which:
        check_choice("which entry", kind, KINDS)
    return trained_networks(
        profile.system,
        profile.data,
        profile.backbone,
        profile.seed,
        data=data,
        mean=profile.train_mean if "mean" in which else None,
        dropout_rates=profile.dropout_rates,
        gaussian=profile.train_gaussian if "gaussian" in which else None,
        n_gaussian=max(1, profile.n_ensemble),
        diffusion=profile.train_diffusion if "denoiser" in which else None,
        denoiser=profile.denoiser,
        dsm=profile.dsm,
        sde=profile.sde,
        progress=progress,
    )


def tune_dropout(
    networks: Mapping[float, nn.Module],
    scaling: Scaling,
    u_0: torch.Tensor,
    truth: torch.Tensor,
    M: int,
    generators: Mapping[float, torch.Generator],
    chunk: int = 400,
) -> tuple[float, dict[float, float]]:
    """The MC-dropout rate with the lowest fair CRPS on validation forecasts.

    Each rate's network forecasts ``L`` steps from the validation states ``u_0`` (from
    trajectories never used for training or testing) with ``M`` members; the CRPS is averaged
    over all lead times, so the rate is chosen for the task itself, not for one step.

    Args:
        networks: dropout rate -> the MSE network trained with it.
        scaling: the normalisation.
        u_0: (B, K) validation initial states.
        truth: (B, L, K) their verifying truth.
        M: members, >= 2.
        generators: dropout rate -> the generator of its rollout.
        chunk: rows per network call.

    Returns:
        ``(best_rate, {rate: validation CRPS})``.
    """
    if not networks:
        raise ValueError("networks holds no MSE networks: train them with which=('mean', ...)")
    dims: dict[str, int] = {}
    check_tensor("u_0", u_0, ("B", "K"), dims=dims)
    check_tensor("truth", truth, ("B", "L", "K"), dims=dims)
    M = check_int("M", M, low=2)
    missing = [p for p in networks if p not in generators]
    if missing:
        raise ValueError(f"generators must hold one generator per rate, missing {missing}")
    scores = {}
    for p, network in networks.items():
        forecaster = MCDropoutForecaster(network, scaling, dims["K"], chunk)
        forecasts = rollout(forecaster, u_0, M, truth.shape[1], generators[p])
        scores[p] = float(crps_per_site(forecasts, truth).mean())
    return min(scores, key=scores.__getitem__), scores


def build_forecasters(
    profile: Profile,
    networks: TrainedNetworks,
    climatology: torch.Tensor,
    dropout_rate: float | None = None,
    *,
    reference: bool = False,
) -> dict[str, Forecaster]:
    """The benchmark's forecasters, by name, for the networks that ``networks`` holds.

    The oracle and climatology are always there; ``"deterministic"`` and ``"mc_dropout"`` need
    the MSE network of ``dropout_rate``, ``"gaussian"`` (and ``"deep_ensemble"`` when the
    profile has one) the Gaussian networks, ``"diffusion"`` the denoiser.

    Args:
        profile: the settings (the truth, the samplers, the deep ensemble's size, the chunk).
        networks: from :func:`profile_networks`.
        climatology: (N, K) states of the truth for the climatology forecaster.
        dropout_rate: the MC-dropout rate (from :func:`tune_dropout`); the deterministic
            forecaster is the same network with dropout off. ``None``: no such forecasters.
        reference: add ``"diffusion_reference"``, the diffusion model with the slow sampler.

    Returns:
        name -> forecaster, keyed by each forecaster's ``name``, in the order of the tables.
    """
    K, scaling, chunk = profile.system.K, networks.scaling, profile.chunk
    chosen: list[Forecaster] = [
        OracleForecaster(profile.system),
        ClimatologyForecaster(climatology),
    ]
    if dropout_rate is not None:
        if dropout_rate not in networks.mean:
            raise ValueError(
                f"dropout_rate must be one of the trained rates {sorted(networks.mean)}, "
                f"got {dropout_rate}"
            )
        mean_network = networks.mean[dropout_rate]
        chosen.append(DeterministicForecaster(mean_network, scaling, K, chunk))
        chosen.append(MCDropoutForecaster(mean_network, scaling, K, chunk))
    if networks.gaussian:
        chosen.append(GaussianForecaster(networks.gaussian[0], scaling, K, chunk))
        if profile.n_ensemble >= 2:
            members = [GaussianForecaster(n, scaling, K, chunk) for n in networks.gaussian]
            chosen.append(DeepEnsembleForecaster(members))
    if networks.denoiser is not None:
        samplers = [(profile.sampler, profile.sampler_steps, "diffusion")]
        if reference:
            samplers.append(
                (profile.reference_sampler, profile.reference_steps, "diffusion_reference")
            )
        for sampler, n_steps, name in samplers:
            chosen.append(
                DiffusionForecaster(
                    networks.denoiser,
                    scaling,
                    K,
                    profile.sde,
                    sampler,
                    n_steps,
                    chunk=chunk,
                    name=name,
                )
            )
    return {forecaster.name: forecaster for forecaster in chosen}
