r"""The experiments of chapter 4: a DDPM trained on the toy data, sampled with different numbers
of steps, and scored against fresh data.

Everything slow is cached on disk with :func:`lecture_code.cache.cached`, keyed by the frozen
settings (:class:`ToyConfig`, :class:`StudyConfig`) and the source of the modules the result
depends on, so the chapter and the figure command share one training run:

- :func:`trained_denoiser` runs algorithm (alg-ddpm-train)
  (:func:`lecture_code.ddpm.algorithms.train`) on a fixed training set;
- :func:`sample_study` runs algorithm (alg-ddpm-sample)
  (:func:`lecture_code.ddpm.algorithms.ancestral_sample`) with the linear schedule at each
  :math:`T` of the study, for the network and, for the mixture, for the exact noise predictor
  :class:`lecture_code.ddpm.denoiser.MixtureOracle`, and keeps snapshots of the reverse
  trajectories; for the mixture at the smallest :math:`T` it also isolates the step size
  (:func:`strided_schedule`) and the network's clamp of the noise level
  (:class:`lecture_code.ddpm.denoiser.NoiseLevelClamp`);
- :func:`score_study` compares each set of samples with fresh data (energy distance and sliced
  Wasserstein distance, :mod:`lecture_code.ddpm.sample_quality`), next to the data-against-data
  baseline and a moment-matched Gaussian.

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`), sections
"Training on the toy data", "How good are the samples?" and "Why many small steps".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lecture_code import cache
from lecture_code.ddpm import (
    algorithms,
    denoiser,
    forward,
    sample_quality,
    schedules,
    toy_data,
)
from lecture_code.ddpm.denoiser import Denoiser, MixtureOracle, NoiseLevelClamp
from lecture_code.ddpm.schedules import NoiseSchedule
from lecture_code.runtime import torch_threads
from lecture_code.seeding import generator_for
from lecture_code.validation import check_choice, check_int, check_real

__all__ = [
    "DATASETS",
    "ENERGY_FACTOR",
    "StudyConfig",
    "ToyConfig",
    "drift_field",
    "low_density_fraction",
    "new_denoiser",
    "noise_prediction_losses",
    "off_curve_fraction",
    "sample_data",
    "sample_study",
    "score_study",
    "strided_schedule",
    "trained_denoiser",
]

#: The toy data sets a model can be trained on.
DATASETS = ("swiss_roll", "mixture")

#: A sampler passes the check of chapter 4 when its mean energy distance to the data stays below
#: this multiple of the floor of a perfect model (see the chapter for the justification).
ENERGY_FACTOR = 3.0


@dataclass(frozen=True)
class ToyConfig:
    """Settings of one training run on toy data (every field enters the cache key).

    Attributes:
        data: ``"swiss_roll"`` or ``"mixture"`` (:mod:`lecture_code.ddpm.toy_data`).
        n_data: size of the fixed training set :math:`\\mathcal{D}`.
        T: number of steps of the training schedule.
        schedule: ``"linear"`` or ``"cosine"`` (:mod:`lecture_code.ddpm.schedules`).
        hidden: width of the network.
        depth: number of residual blocks.
        embed_dim: size of the noise-level embedding, ``2 * n_frequencies``.
        steps: number of optimiser steps.
        batch_size: data points per step.
        lr: peak learning rate.
        seed: seed of the training set, the initial weights and the training noise.
    """

    data: str = "swiss_roll"
    n_data: int = 20_000
    T: int = 1000
    schedule: str = "linear"
    hidden: int = 96
    depth: int = 3
    embed_dim: int = 32
    steps: int = 3000
    batch_size: int = 512
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("data", self.data, DATASETS)
        check_int("n_data", self.n_data, low=1)
        check_int("T", self.T, low=1)
        check_choice("schedule", self.schedule, ("linear", "cosine"))
        check_int("steps", self.steps, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)

    def make_schedule(self, T: int | None = None) -> NoiseSchedule:
        """The training schedule, or the same kind of schedule with ``T`` steps."""
        T = self.T if T is None else T
        if self.schedule == "linear":
            return schedules.linear_schedule(T)
        return schedules.cosine_schedule(T)


@dataclass(frozen=True)
class StudyConfig:
    """Settings of the sampling study.

    Attributes:
        n: points per comparison with the data.
        repeats: independent comparisons per sampler (``repeats * n`` samples are drawn).
        T_values: the numbers of sampling steps compared.
        snapshot_steps: the steps :math:`t` of the training schedule kept from the reverse
            trajectories (for the figure of the forward and reverse trajectories).
        n_snapshot: how many trajectories are kept.
        seed: seed of the noise of the samplers and of the fresh data.
    """

    n: int = 1500
    repeats: int = 3
    T_values: tuple[int, ...] = (10, 100, 1000)
    snapshot_steps: tuple[int, ...] = (0, 100, 250, 500, 1000)
    n_snapshot: int = 1500
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n", self.n, low=2)
        check_int("repeats", self.repeats, low=1)
        for T in self.T_values:
            check_int("T in T_values", T, low=1)
        check_int("n_snapshot", self.n_snapshot, low=1, high=self.n * self.repeats)


def sample_data(data: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` fresh points of a toy data set, ``(n, 2)`` float64."""
    check_choice("data", data, DATASETS)
    if data == "swiss_roll":
        return toy_data.swiss_roll(n, generator)
    return toy_data.toy_mixture().sample(n, generator)


def strided_schedule(schedule: NoiseSchedule, T: int) -> NoiseSchedule:
    r"""The schedule with ``T`` steps that visits every ``schedule.T / T``-th noise level of
    ``schedule``: :math:`\bar\alpha'_k = \bar\alpha_{k\,\text{schedule.T}/T}`, so
    :math:`\beta'_k = 1 - \bar\alpha'_k/\bar\alpha'_{k-1}`.

    It keeps the end point, :math:`\sum_k -\log(1 - \beta'_k) = -\log\bar\alpha_T`, and
    every noise level inside the range of ``schedule`` (no clamp, no cap on :math:`\beta`):
    only the size of the steps changes.

    Args:
        schedule: the fine schedule.
        T: the number of steps, a divisor of ``schedule.T``.
    """
    T = check_int("T", T, low=1, high=schedule.T)
    if schedule.T % T:
        raise ValueError(f"T must divide schedule.T = {schedule.T}, got T = {T}")
    alpha_bar = schedule.alpha_bar[:: schedule.T // T]
    return schedules.schedule_from_beta(1.0 - alpha_bar[1:] / alpha_bar[:-1])


def low_density_fraction(x: torch.Tensor, level: float) -> tuple[float, float]:
    r"""The fraction of the points ``x`` (``(n, 2)``) where the toy mixture's log-density is
    below ``level`` (the gaps between its modes), with its standard error (binomial)."""
    below = (toy_data.toy_mixture().log_prob(x) < level).double()
    p = float(below.mean())
    return p, (p * (1 - p) / below.numel()) ** 0.5


def off_curve_fraction(x: torch.Tensor, distance: float) -> tuple[float, float]:
    r"""The fraction of the points ``x`` (``(n, 2)``) farther than ``distance`` from the
    noise-free spiral of the swiss roll (:func:`lecture_code.ddpm.toy_data.swiss_roll_encode`),
    with its standard error (binomial)."""
    check_real("distance", distance, low=0.0, low_open=True)
    nearest = toy_data.swiss_roll_curve(toy_data.swiss_roll_encode(x))
    off = ((x.double() - nearest).norm(dim=1) > distance).double()
    p = float(off.mean())
    return p, (p * (1 - p) / off.numel()) ** 0.5


def new_denoiser(config: ToyConfig) -> Denoiser:
    """The untrained network of ``config``, initialised from its own seeded stream."""
    return Denoiser(
        D=2,
        hidden=config.hidden,
        depth=config.depth,
        embed_dim=config.embed_dim,
        generator=generator_for(config.seed, "ddpm", config.data, "init"),
    )


def trained_denoiser(config: ToyConfig, verbose: bool = True) -> tuple[Denoiser, torch.Tensor]:
    """The network trained with ``config``, from the cache when possible.

    Returns:
        ``(model, losses)``: the trained :class:`lecture_code.ddpm.denoiser.Denoiser` (eval mode)
        and the ``(steps,)`` training losses.
    """

    def build() -> dict[str, object]:
        x_data = sample_data(config.data, config.n_data, generator_for(config.seed, "data"))
        model = new_denoiser(config)
        losses = algorithms.train(
            model,
            config.make_schedule(),
            x_data,
            generator_for(config.seed, "ddpm", config.data, "train"),
            steps=config.steps,
            batch_size=config.batch_size,
            lr=config.lr,
        )
        return {"state_dict": model.state_dict(), "losses": losses}

    result = cache.cached(f"ddpm_{config.data}", config, build, layer="ddpm", verbose=verbose)
    model = new_denoiser(config)
    model.load_state_dict(result["state_dict"])
    model.eval()
    return model, result["losses"]


def sample_study(
    config: ToyConfig, study: StudyConfig = StudyConfig(), verbose: bool = True
) -> dict[str, torch.Tensor]:
    """Samples of the trained network (and of the exact predictor for the mixture) at every
    :math:`T` of ``study``, with fresh data to compare them with; cached.

    Returns:
        A dictionary of tensors, all ``(repeats * n, 2)`` float64 unless stated:
        ``"data"`` and ``"data_baseline"`` (two independent fresh data sets), ``"reference"``
        (``(50000, 2)``, a third, large one), ``"gaussian"``
        (the Gaussian with the data's mean and covariance), ``"model_T{T}"`` and, for the
        mixture, ``"oracle_T{T}"`` for each ``T`` and, at the smallest ``T``,
        ``"oracle_T{T}_clamped"``, ``"model_T{T}_strided"`` and ``"oracle_T{T}_strided"``
        (see :func:`strided_schedule`); ``"snapshots"``, ``(S, n_snapshot, 2)``,
        the network's reverse trajectories at ``study.snapshot_steps`` of the training
        schedule; and the distances of :func:`score_study`, under their own keys.
    """
    for t in study.snapshot_steps:
        check_int("a snapshot step", t, low=0, high=config.T)

    def build() -> dict[str, torch.Tensor]:
        model, _ = trained_denoiser(config, verbose=verbose)
        size = study.n * study.repeats
        out: dict[str, torch.Tensor] = {}
        data_stream = generator_for(study.seed, "study", config.data, "data")
        out["data"] = sample_data(config.data, size, data_stream)
        out["data_baseline"] = sample_data(config.data, size, data_stream)
        # The Gaussian with the data's mean and covariance, from a large fresh sample.
        reference = sample_data(config.data, 50_000, data_stream)
        out["reference"] = reference
        chol = torch.linalg.cholesky(torch.cov(reference.T))
        z = torch.randn(size, 2, generator=data_stream, dtype=torch.float64)
        out["gaussian"] = reference.mean(0) + z @ chol.T
        for T in study.T_values:
            schedule = config.make_schedule(T)
            stream = generator_for(study.seed, "study", config.data, "model", T)
            x_T = torch.randn(size, 2, generator=stream)
            keep = T == config.T
            path = algorithms.ancestral_sample(model, schedule, x_T, stream, return_trajectory=keep)
            if keep:
                steps = list(study.snapshot_steps)
                out["snapshots"] = path[steps, : study.n_snapshot].double()
                path = path[0]
            out[f"model_T{T}"] = path.double()
            if config.data == "mixture":
                oracle = MixtureOracle(toy_data.toy_mixture())
                stream = generator_for(study.seed, "study", config.data, "oracle", T)
                x_T = torch.randn(size, 2, generator=stream, dtype=torch.float64)
                out[f"oracle_T{T}"] = algorithms.ancestral_sample(oracle, schedule, x_T, stream)
        if config.data == "mixture":
            out.update(_isolate_small_T(model, config, study, size))
        out.update(score_study(out, study))
        return out

    return cache.cached(
        f"ddpm_study_{config.data}", (config, study), build, layer="ddpm", verbose=verbose
    )


def _isolate_small_T(
    model: Denoiser, config: ToyConfig, study: StudyConfig, size: int
) -> dict[str, torch.Tensor]:
    """At the smallest T: the exact predictor with the network's clamp, and both predictors
    with the strided schedule (same end point, no clamp, no cap)."""
    T = min(study.T_values)
    oracle = MixtureOracle(toy_data.toy_mixture())
    low, high = model.log_snr_range.tolist()
    runs = {
        f"oracle_T{T}_clamped": (NoiseLevelClamp(oracle, low, high), config.make_schedule(T)),
        f"model_T{T}_strided": (model, strided_schedule(config.make_schedule(), T)),
        f"oracle_T{T}_strided": (oracle, strided_schedule(config.make_schedule(), T)),
    }
    out = {}
    for key, (eps_model, schedule) in runs.items():
        stream = generator_for(study.seed, "study", config.data, key)
        x_T = torch.randn(size, 2, generator=stream, dtype=torch.float64)
        out[key] = algorithms.ancestral_sample(eps_model, schedule, x_T, stream)
    return out


def score_study(
    samples: dict[str, torch.Tensor], study: StudyConfig = StudyConfig()
) -> dict[str, torch.Tensor]:
    """Energy and sliced Wasserstein distances of every sample set of :func:`sample_study` to
    the fresh data, chunk by chunk.

    Chunk ``r`` of a sample set (``n`` points) is compared with chunk ``r`` of ``"data"``; the
    baseline compares chunk ``r`` of ``"data_baseline"`` with the same chunk of ``"data"``.

    Returns:
        For each sample set ``k`` (``"data_baseline"``, ``"gaussian"``, ``"model_T{T}"``,
        ``"oracle_T{T}"``): ``"energy/k"`` and ``"sliced/k"``, each ``(repeats,)`` float64; and
        ``"energy_floor"``, the expected energy distance of a perfect model
        (:func:`lecture_code.ddpm.sample_quality.energy_floor` of ``"reference"``), a 0-d tensor.
    """
    n, repeats = study.n, study.repeats
    data = samples["data"]
    scores: dict[str, torch.Tensor] = {
        "energy_floor": torch.tensor(sample_quality.energy_floor(samples["reference"], n, n))
    }
    scored = [
        key
        for key in samples
        if key in ("data_baseline", "gaussian") or key.startswith(("model_T", "oracle_T"))
    ]
    for key in scored:
        x = samples[key]
        energy, sliced = [], []
        for r in range(repeats):
            chunk, reference = x[r * n : (r + 1) * n], data[r * n : (r + 1) * n]
            energy.append(sample_quality.energy_distance(chunk, reference))
            directions = generator_for(study.seed, "sliced", r)
            sliced.append(sample_quality.sliced_wasserstein(chunk, reference, directions))
        scores[f"energy/{key}"] = torch.tensor(energy, dtype=torch.float64)
        scores[f"sliced/{key}"] = torch.tensor(sliced, dtype=torch.float64)
    return scores


def noise_prediction_losses(
    model: Denoiser, schedule: NoiseSchedule, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-sample :math:`\lVert\boldsymbol{\epsilon} - \boldsymbol{\epsilon}_\theta\rVert^2`
    of the network and of the exact predictor on the same fresh mixture draws
    (:math:`\mathbf{x}_0`, :math:`t \sim U\{1..T\}`, :math:`\boldsymbol{\epsilon}`).

    The exact predictor :math:`\mathbb{E}[\boldsymbol{\epsilon} \mid \mathbf{x}_t]` minimises the
    expected loss, so no network can beat its mean: their difference is the learning error.

    Returns:
        ``(network, oracle)``, each ``(n,)`` float64.
    """
    n = check_int("n", n, low=1)
    x_0 = toy_data.toy_mixture().sample(n, generator)
    t = torch.randint(1, schedule.T + 1, (n,), generator=generator)
    eps = torch.randn(x_0.shape, generator=generator, dtype=torch.float64)
    x_t = forward.q_sample(schedule, x_0, t, eps)
    log_snr = schedule.log_snr[t]
    with torch.no_grad(), torch_threads(1):
        eps_network = model(x_t, log_snr).double()
    eps_oracle = MixtureOracle(toy_data.toy_mixture())(x_t, log_snr)
    return ((eps - eps_network) ** 2).sum(1), ((eps - eps_oracle) ** 2).sum(1)


def drift_field(
    eps_model: denoiser.EpsModel, schedule: NoiseSchedule, t: int, lim: float, n_grid: int = 15
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The learned drift :math:`\boldsymbol{\mu}_\theta(\mathbf{x}_t, t) - \mathbf{x}_t` on a
    square grid (the bottom row of Sohl-Dickstein et al.'s figure 1).

    Args:
        eps_model: the noise predictor.
        schedule: the schedule.
        t: a step in :math:`[1, T]`.
        lim: the grid spans :math:`[-\text{lim}, \text{lim}]^2`.
        n_grid: points per axis.

    Returns:
        ``(points, drift)``, each ``(n_grid**2, 2)`` float64.
    """
    t = check_int("t", t, low=1, high=schedule.T)
    lim = check_real("lim", lim, low=0.0, low_open=True)
    axis = torch.linspace(-lim, lim, check_int("n_grid", n_grid, low=2), dtype=torch.float64)
    points = torch.cartesian_prod(axis, axis)
    steps = torch.full((points.shape[0],), t, dtype=torch.long)
    mu = algorithms.reverse_mean(eps_model, schedule, points, steps)
    return points, mu - points
