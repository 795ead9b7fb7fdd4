r"""Chapter 12's study: the benchmark's diffusion forecaster, trained on a track of the book
profile and judged on one step and over paths against the oracle.

:func:`track_diffusion` trains (or loads from the cache, where the benchmark finds it again) the
conditional denoiser of the book profile and the Gaussian network beside which it is shown.
:func:`diffusion_study` measures what chapter 12 derives and claims:

- the preconditioning on the training data (eq. (edm-precond)): the deviations of the
  normalised residual from the encoder's centre, their spread against the
  :math:`\sigma_{\text{data}}` estimated from the training pairs and the truth's conditional
  spread, and the variance of the network's input and target at several noise levels;
- the weighted denoising loss of eq. (dsm-edm) on test pairs, level by level (1 is what the
  best denoiser of a Gaussian law achieves);
- the one-step law: :func:`lecture_code.forecasting.one_step.one_step_report` of the diffusion
  forecaster and the Gaussian network, their shapes from many members, and a two-sample test of
  each against the oracle's draws with its control (the oracle against itself);
- paths: spread and fair CRPS at every lead over the oracle's.

The module is not imported by the benchmark's command, so the committed results do not depend
on it.

Book: chapter 12, "A diffusion forecaster" (:doc:`/book/part3/12_diffusion_forecaster`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from lecture_code.benchmark.profiles import Profile, get_profile
from lecture_code.benchmark.scoring import climatological_tails
from lecture_code.cache import cached
from lecture_code.forecasting.baselines import GaussianForecaster
from lecture_code.forecasting.data import Lorenz96Data
from lecture_code.forecasting.diffusion_forecaster import DiffusionForecaster
from lecture_code.forecasting.forecasters import OracleForecaster, rollout
from lecture_code.forecasting.lorenz96 import model_step
from lecture_code.forecasting.metrics import crps_ensemble
from lecture_code.forecasting.one_step import law_shape, one_step_report
from lecture_code.forecasting.preconditioning import preconditioning
from lecture_code.forecasting.trained import TrainedNetworks, cached_data, trained_networks
from lecture_code.forecasting.two_sample import sampler_two_sample_test
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for
from lecture_code.validation import check_choice, check_int

__all__ = ["LOSS_LEVELS", "TrackDiffusion", "diffusion_study", "track_diffusion"]

#: Noise levels of the level-by-level loss, log-spaced over the range the sampler visits.
LOSS_LEVELS = tuple(float(x) for x in torch.logspace(-2, math.log10(20.0), 13))
#: Noise levels at which the preconditioned input and target are checked.
CHECK_LEVELS = (0.05, 0.25, 1.0, 5.0)


@dataclass
class TrackDiffusion:
    """The diffusion forecaster of one track, ready to forecast.

    Attributes:
        profile: the book profile on the track.
        data: its data.
        networks: the trained denoiser and Gaussian network.
        oracle: the truth's forecaster.
        diffusion: the forecaster with the profile's fast sampler.
        gaussian: the Gaussian network (the deep ensemble's first member).
    """

    profile: Profile
    data: Lorenz96Data
    networks: TrainedNetworks
    oracle: OracleForecaster
    diffusion: DiffusionForecaster
    gaussian: GaussianForecaster


@lru_cache(maxsize=2)
def track_diffusion(track: str) -> TrackDiffusion:
    """The book profile's diffusion forecaster on ``track``, trained or loaded from the cache.

    Args:
        track: ``"gaussian"`` or ``"bursty"``.
    """
    check_choice("track", track, ("gaussian", "bursty"))
    profile = get_profile("book", track=track)
    with torch_threads(profile.threads):
        data = cached_data(profile.system, profile.data)
        networks = trained_networks(
            profile.system,
            profile.data,
            profile.backbone,
            profile.seed,
            data=data,
            gaussian=profile.train,
            diffusion=profile.train,
            denoiser=profile.denoiser,
            dsm=profile.dsm,
            sde=profile.sde,
            progress=False,
        )
    assert networks.denoiser is not None  # asked for above
    K, chunk = profile.system.K, profile.chunk
    diffusion = DiffusionForecaster(
        networks.denoiser,
        networks.scaling,
        K,
        profile.sde,
        profile.sampler,
        profile.sampler_steps,
        chunk=chunk,
    )
    gaussian = GaussianForecaster(networks.gaussian[0], networks.scaling, K, chunk)
    return TrackDiffusion(
        profile, data, networks, OracleForecaster(profile.system), diffusion, gaussian
    )


def _preconditioning_check(
    study: TrackDiffusion, generator: torch.Generator, n_states: int
) -> dict[str, Any]:
    """Deviations of the training residuals from the encoder's centre, and the mean square of
    the preconditioned input and target at :data:`CHECK_LEVELS` with
    :math:`\\sigma_{\text{data}}` the RMS of the deviations (the derivation's premise)."""
    data, scaling, net = study.data, study.networks.scaling, study.networks.denoiser
    assert net is not None
    u, u_next = data.u_train[:n_states], data.u_train_next[:n_states]
    with torch.no_grad():
        m_hat, _ = net.condition(scaling.states(u))
    d = (scaling.residuals(u, u_next).to(torch.float64) - m_hat.to(torch.float64)).reshape(-1)
    rms = float(d.pow(2).mean().sqrt())
    levels: dict[str, dict[str, float]] = {}
    for nu in CHECK_LEVELS:
        c = preconditioning(nu, rms)
        eps = torch.randn(d.shape, generator=generator, dtype=torch.float64)
        x_in = c["c_in"] * (d + nu * eps)
        target = (d - c["c_skip"] * (d + nu * eps)) / c["c_out"]
        # second moments about the centre: the derivation's variances are taken about m
        levels[f"{nu:g}"] = {
            "input_ms": float(x_in.pow(2).mean()),
            "target_ms": float(target.pow(2).mean()),
        }
    return {
        "d": d,
        "rms_d": rms,
        "mean_d": float(d.mean()),
        "sigma_data": float(net.sigma_data),
        "levels": levels,
    }


def _loss_by_level(
    study: TrackDiffusion, generator: torch.Generator, n_states: int, copies: int
) -> dict[str, list[float]]:
    """The weighted loss of eq. (dsm-edm) of the trained denoiser on test pairs at each of
    :data:`LOSS_LEVELS`, with its standard error over states."""
    scaling, net = study.networks.scaling, study.networks.denoiser
    assert net is not None
    u = study.data.u_test[:n_states].to(torch.float64)
    u_next = model_step(u, study.profile.system, generator)  # one draw of the truth per state
    x_0 = scaling.residuals(u, u_next).to(torch.float32).repeat(copies, 1)
    sd = float(net.sigma_data)
    means, errors = [], []
    with torch.no_grad():
        condition = net.condition(scaling.states(u).repeat(copies, 1))
        for nu in LOSS_LEVELS:
            x_hat = x_0 + nu * torch.randn(x_0.shape, generator=generator)
            level = torch.full((x_0.shape[0],), nu)
            err = (net.denoise(x_hat, level, condition) - x_0).to(torch.float64) ** 2
            weight = (nu**2 + sd**2) / (nu * sd) ** 2
            per_state = (weight * err).mean(dim=1).reshape(copies, -1).mean(dim=0)
            means.append(float(per_state.mean()))
            errors.append(float(per_state.std() / per_state.numel() ** 0.5))
    return {"levels": list(LOSS_LEVELS), "loss": means, "se": errors}


@lru_cache(maxsize=4)
def diffusion_study(track: str, seed: int = 0, members: int = 19) -> dict[str, Any]:
    """The diffusion forecaster of ``track`` measured as chapter 12 needs.

    Args:
        track: ``"gaussian"`` or ``"bursty"``.
        seed: the seed of the study's random streams (the networks are the benchmark's).
        members: members per state of the one-step reports (``members + 1`` divisible by 5).

    Returns:
        ``precond`` (the preconditioning check), ``oracle_spread_normalised`` (the truth's
        conditional spread in the residual's units), ``loss`` (level by level), ``reports``
        (``diffusion`` and ``gaussian``), ``shapes`` (``oracle``, ``diffusion``, ``gaussian``,
        from ``4 * members`` draws on ``n_shape`` states), ``two_sample`` (each against the
        oracle, and the control), ``paths`` (per lead: spread and fair CRPS of diffusion and
        oracle), ``nfe`` and the sizes. Cached in memory and on disk
        (:func:`lecture_code.cache.cached`): the figures, the gallery and the chapter share it.
    """
    members = check_int("members", members, low=4)
    check_choice("track", track, ("gaussian", "bursty"))
    # on disk too: the gallery and nbval run the study in processes of their own
    return cached(
        "ch12_study",
        (track, seed, members),
        lambda: _study(track, seed, members),
        layer="benchmark",
        verbose=False,
    )


def _study(track: str, seed: int, members: int) -> dict[str, Any]:
    """:func:`diffusion_study`, computed."""
    study = track_diffusion(track)
    profile, data, oracle = study.profile, study.data, study.oracle
    forecasters = {"diffusion": study.diffusion, "gaussian": study.gaussian}
    u = data.u_test

    def stream(*labels: str) -> torch.Generator:
        return generator_for(seed, "ch12", track, *labels)

    out: dict[str, Any] = {"reports": {}, "two_sample": {}}
    n_shape, n_paths, n_test_members = 200, 16, 20
    with torch_threads(profile.threads):
        out["precond"] = _preconditioning_check(study, stream("precond"), 5000)
        exact = oracle.sample_next(u[:n_shape], 4 * members, stream("exact"))
        spread = exact.var(dim=1).mean().sqrt() / study.networks.scaling.r_std
        out["oracle_spread_normalised"] = float(spread)
        out["loss"] = _loss_by_level(study, stream("loss"), 500, 2)
        tails = climatological_tails(data.climatology, profile.quantile_levels)
        out["tails"] = tails
        for name, forecaster in forecasters.items():
            out["reports"][name] = one_step_report(
                oracle, forecaster, u, members, stream("report", name), tails=tails
            )
        out["shapes"] = {"oracle": law_shape(exact)}
        for name, forecaster in forecasters.items():
            draws = forecaster.sample_next(u[:n_shape], 4 * members, stream("shape", name))
            out["shapes"][name] = law_shape(draws)
        reference = oracle.sample_next(u[:n_shape], n_test_members, stream("two", "reference"))
        rivals = {"oracle": oracle, **forecasters}
        for name, forecaster in rivals.items():
            draws = forecaster.sample_next(u[:n_shape], n_test_members, stream("two", name))
            out["two_sample"][name] = sampler_two_sample_test(
                draws, reference, profile.n_perm, stream("perm", name)
            )
        out["nfe"] = study.diffusion.nfe
        u_0 = u[:n_paths]
        paths = {
            name: rollout(f, u_0, profile.M, profile.n_leads, stream("paths", name))
            for name, f in (("oracle", oracle), ("diffusion", study.diffusion))
        }
        truth = rollout(oracle, u_0, 1, profile.n_leads, stream("paths", "truth"))[:, :, 0]
        out["paths"] = {
            name: {
                "spread": ens.var(dim=2).mean(dim=(0, 2)).sqrt().tolist(),
                "crps": [
                    float(crps_ensemble(ens[:, lead], truth[:, lead]).mean())
                    for lead in range(profile.n_leads)
                ],
            }
            for name, ens in paths.items()
        }
    out["lead_time"] = profile.system.dt * profile.system.substeps
    out.update(
        n_states=int(u.shape[0]),
        n_shape=n_shape,
        n_paths=n_paths,
        members=members,
        shape_members=4 * members,
        test_members=n_test_members,
        M=profile.M,
        n_leads=profile.n_leads,
    )
    return out
