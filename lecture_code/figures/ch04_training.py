"""Figures of chapter 4, "Training and sampling".

The builders take the cached networks and samples of :mod:`lecture_code.ddpm.experiments` (the
same files the chapter uses, so the figures cost no training when the chapter has run), the
forward chain of :mod:`lecture_code.ddpm.forward` and the drift of the learned reverse step, and
hand them to :mod:`lecture_code.plots.reverse` and :mod:`lecture_code.plots.forward`.

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import experiments, forward
from lecture_code.ddpm.experiments import StudyConfig, ToyConfig
from lecture_code.figures import register
from lecture_code.plots import forward as points_plots
from lecture_code.plots import reverse as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part1/04_training_sampling"

#: The panels show [-LIMIT, LIMIT]^2.
LIMIT = 3.0
#: Points drawn per scatter panel.
N_SHOWN = 1500
#: Arrows per axis of the drift panels, and the smallest step whose drift is shown (at t = 1
#: the drift is tiny and only points next to the data have been seen in training).
N_GRID = 9
DRIFT_T_MIN = 10
#: Fresh draws that estimate the loss of the exact predictor.
N_LOSS = 20_000


def _configs(seed: int) -> tuple[ToyConfig, ToyConfig, StudyConfig]:
    return (
        ToyConfig(data="swiss_roll", seed=seed),
        ToyConfig(data="mixture", seed=seed),
        StudyConfig(seed=seed),
    )


@register(
    "ch04_trajectories",
    chapter=CHAPTER,
    caption="The swiss roll, after Sohl-Dickstein et al. (2015), figure 1. Top: the forward "
    "chain from the data. Middle: the learned reverse chain from noise, run with "
    "T = 1000 steps. Bottom: the direction of the learned drift mu_theta(x_t, t) - x_t on a "
    "grid, coloured by log10 of its size on one scale for the row (colour bar), over the "
    "reverse states of the same step; the t = 0 column shows the drift of step t = 10.",
)
def build_trajectories(seed: int, style: str) -> Figure:
    roll, _, study = _configs(seed)
    model, _ = experiments.trained_denoiser(roll, verbose=False)
    samples = experiments.sample_study(roll, study, verbose=False)
    schedule = roll.make_schedule()
    steps = list(study.snapshot_steps)
    x_0 = experiments.sample_data("swiss_roll", N_SHOWN, generator_for(seed, "ch04", "fwd"))
    forward_path = forward.forward_chain_at(schedule, x_0, steps, generator_for(seed, "ch04"))
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.66))
    axes = fig.subplots(3, len(steps), sharex=True, sharey=True)
    fields = [
        experiments.drift_field(
            model, schedule, max(t, DRIFT_T_MIN), lim=LIMIT - 0.4, n_grid=N_GRID
        )
        for t in steps
    ]
    sizes = torch.cat([drift.norm(dim=1) for _, drift in fields]).clamp(min=1e-12).log10()
    log10_range = (float(sizes.min()), float(sizes.max()))
    for j, t in enumerate(steps):
        title = rf"$t = {t}$"
        points_plots.plot_points(axes[0, j], forward_path[j], size=1, limit=LIMIT, title=title)
        reverse = samples["snapshots"][j, :N_SHOWN]
        points_plots.plot_points(axes[1, j], reverse, color=COLORS["model"], size=1, limit=LIMIT)
        # The reverse states of the same step, under the arrows, show where the drift matters.
        points_plots.plot_points(
            axes[2, j], reverse, color=COLORS["model"], size=1.5, alpha=0.35, limit=LIMIT
        )
        points, drift = fields[j]
        plots.plot_drift(axes[2, j], points, drift, limit=LIMIT, log10_range=log10_range)
    for ax in axes.flat:
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax, label in zip(axes[:, 0], ("forward $q$", r"reverse $p_\theta$", "drift"), strict=True):
        ax.set_ylabel(label)
    bar = fig.colorbar(axes[2, -1].collections[-1], ax=axes[2, :], shrink=0.9, pad=0.01)
    bar.set_label(r"$\log_{10}$ |drift|", fontsize="small")
    return fig


@register(
    "ch04_loss",
    chapter=CHAPTER,
    caption="Training losses of the two networks (batch losses, faint, and their running mean). "
    "The dashed line is the loss of the exact noise predictor of the mixture, the smallest "
    "loss any network can reach on the mixture.",
)
def build_loss(seed: int, style: str) -> Figure:
    roll, mixture, _ = _configs(seed)
    _, losses_roll = experiments.trained_denoiser(roll, verbose=False)
    model, losses_mixture = experiments.trained_denoiser(mixture, verbose=False)
    _, oracle = experiments.noise_prediction_losses(
        model, mixture.make_schedule(), N_LOSS, generator_for(seed, "ch04", "loss")
    )
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.45))
    ax = fig.subplots()
    plots.plot_loss_curves(
        ax,
        {"swiss roll": losses_roll, "mixture": losses_mixture},
        floors={"exact predictor, mixture": float(oracle.mean())},
    )
    ax.set_ylim(0.2, 1.2)
    return fig


@register(
    "ch04_samples",
    chapter=CHAPTER,
    caption="Fresh data (top) against samples of the trained networks (bottom), drawn with "
    f"ancestral sampling and T = 1000 steps; {N_SHOWN:,} points each.",
)
def build_samples(seed: int, style: str) -> Figure:
    roll, mixture, study = _configs(seed)
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.95))
    axes = fig.subplots(2, 2, sharex=True, sharey=True)
    for j, (config, name) in enumerate(((roll, "swiss roll"), (mixture, "mixture"))):
        samples = experiments.sample_study(config, study, verbose=False)
        T = config.T
        points_plots.plot_points(
            axes[0, j], samples["data"][:N_SHOWN], size=1.5, limit=LIMIT, title=f"{name}: data"
        )
        points_plots.plot_points(
            axes[1, j],
            samples[f"model_T{T}"][:N_SHOWN],
            color=COLORS["model"],
            size=1.5,
            limit=LIMIT,
            title=f"{name}: samples",
        )
    for ax in axes[0]:
        ax.set_xlabel("")
    for ax in axes[:, 1]:
        ax.set_ylabel("")
    return fig


@register(
    "ch04_steps",
    chapter=CHAPTER,
    caption="Why many small steps. Top: samples of the mixture network with T = 10, 100 and "
    "1000 sampling steps (the network, trained once, is told the noise level). Bottom: energy "
    "distance to fresh data against T for the network and for the exact noise predictor "
    "(mean and standard deviation over repeats), with the data-against-data baseline, "
    "the expected value for a perfect model and the largest value the chapter accepts.",
)
def build_steps(seed: int, style: str) -> Figure:
    _, mixture, study = _configs(seed)
    samples = experiments.sample_study(mixture, study, verbose=False)
    scores = samples  # the study caches its distances next to its samples
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.75))
    top = [chr(ord("a") + i) for i in range(len(study.T_values))]
    axes = fig.subplot_mosaic([top, ["curve"] * len(top)], height_ratios=[1.0, 0.9])
    for key, T in zip(top, study.T_values, strict=True):
        points_plots.plot_points(
            axes[key],
            samples[f"model_T{T}"][:N_SHOWN],
            color=COLORS["model"],
            size=1.0,
            limit=LIMIT,
            title=f"network, $T = {T}$",
        )
    for key in top[1:]:
        axes[key].set_ylabel("")
    curves = {}
    for label, prefix in (("network", "model"), ("exact predictor", "oracle")):
        values = [scores[f"energy/{prefix}_T{T}"] for T in study.T_values]
        curves[label] = (
            torch.stack([v.mean() for v in values]),
            torch.stack([v.std() for v in values]),
        )
    base = scores["energy/data_baseline"]
    floor = float(scores["energy_floor"])
    plots.plot_quality_vs_steps(
        axes["curve"],
        study.T_values,
        curves,
        float(base.mean()),
        ylabel="energy distance to data",
        floor=floor,
        threshold=experiments.ENERGY_FACTOR * floor,
    )
    axes["curve"].legend(ncols=2, fontsize="small")
    return fig
