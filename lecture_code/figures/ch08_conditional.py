"""Figures of chapter 8, "Conditional diffusion".

The builders run the samplers of :mod:`lecture_code.score.samplers` with the guided denoisers of
:mod:`lecture_code.score.guidance`, the exact Gaussian-field denoisers and the trained network of
:mod:`lecture_code.score.super_resolution`, and hand the numbers to
:mod:`lecture_code.plots.conditional`.

Book: chapter 8, "Conditional diffusion" (:doc:`/book/part2/08_conditional`).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.figures import register
from lecture_code.plots import conditional as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.score import guidance, random_fields, super_resolution
from lecture_code.score.denoisers import mixture_denoiser
from lecture_code.score.samplers import sample
from lecture_code.score.sde import VPSDE, prior_sample
from lecture_code.seeding import generator_for

CHAPTER = "book/part2/08_conditional"

#: The label of the guidance study, the guidance weights shown, and the sampler with its steps.
LABEL = 0
OMEGAS = (0.0, 1.0, 4.0)
CFG_SAMPLER, CFG_STEPS = "heun", 40
#: The super-resolution setting: sites, blocks, exponent, sampler and steps.
SR_CONFIG = super_resolution.SuperResolutionConfig()
SR_SAMPLER, SR_STEPS = "heun", 50
#: Outpainting: the period of the target field, the window, the overlap and the field length.
OUT_PERIOD, OUT_WINDOW, OUT_OVERLAP, OUT_LENGTH = 1024, 64, 16, 256
#: Steps of the sampler per outpainted patch.
OUT_STEPS = 50


def outpainting_window_covariance(length: int = OUT_WINDOW) -> torch.Tensor:
    """``(length, length)``: the covariance of ``length`` consecutive sites of the periodic field
    of :data:`OUT_PERIOD` sites with the exponent of :data:`SR_CONFIG`."""
    spectrum = random_fields.power_law_spectrum(OUT_PERIOD, SR_CONFIG.alpha)
    return random_fields.circulant_covariance(spectrum)[:length, :length]


@register(
    "ch08_cfg",
    chapter=CHAPTER,
    caption="Classifier-free guidance on the labelled toy mixture, all exact: samples of the "
    "guided sampler (blue) against draws of the tilted law (green) for three guidance weights.",
)
def build_cfg(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.42), layout="constrained")
    axes = fig.subplots(1, len(OMEGAS), sharey=True)
    mixture, sde = toy_mixture(), VPSDE()
    conditional = guidance.component_denoiser(mixture, LABEL, sde)
    unconditional = mixture_denoiser(mixture, sde)
    for ax, omega in zip(axes, OMEGAS, strict=True):
        g = generator_for(seed, "ch08", "fig-cfg", str(omega))
        denoiser = guidance.classifier_free_guidance(conditional, unconditional, omega)
        x_T = prior_sample(sde, (1000, 2), g).double()
        x, _ = sample(CFG_SAMPLER, denoiser, sde, x_T, CFG_STEPS, g)
        centres, masses, h = guidance.gridded_tilted_law(mixture, LABEL, omega)
        reference = guidance.sample_gridded_law(centres, masses, h, 1000, g)
        plots.plot_guided_samples(ax, x, reference)
        ax.set_title(rf"$\omega = {omega:g}$")
    axes[0].legend(loc="upper right", fontsize="small", markerscale=4)
    return fig


def _sr_example(seed: int) -> dict[str, torch.Tensor]:
    sde = VPSDE()
    spectrum = random_fields.power_law_spectrum(SR_CONFIG.n, SR_CONFIG.alpha)
    cov = random_fields.circulant_covariance(spectrum)
    g = generator_for(seed, "ch08", "fig-sr")
    truth = random_fields.sample_field(spectrum, 1, g)
    y = random_fields.block_average(truth, SR_CONFIG.m)
    mean = (y @ random_fields.conditional_gain(cov, SR_CONFIG.m).T)[0]
    cond_cov = random_fields.conditional_covariance(cov, SR_CONFIG.m)
    net, _ = super_resolution.trained_super_resolution(SR_CONFIG, sde, verbose=False)
    x_T = prior_sample(sde, (4, SR_CONFIG.n), g).double()
    denoiser = super_resolution.network_denoiser(net, y.expand(4, -1), sde)
    x, _ = sample(SR_SAMPLER, denoiser, sde, x_T, SR_STEPS, g)
    return {
        "truth": truth[0],
        "y": y[0],
        "mean": mean,
        "std": cond_cov.diagonal().sqrt(),
        "samples": x,
    }


@register(
    "ch08_super_resolution",
    chapter=CHAPTER,
    caption="Super-resolution of a Gaussian random field: the low-resolution input (steps), the "
    "exact conditional mean with a band of two standard deviations (green), and four samples of "
    "the learned conditional diffusion model (blue).",
)
def build_super_resolution(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.4), layout="constrained")
    ax = fig.subplots()
    ex = _sr_example(seed)
    plots.plot_field_band(ax, ex["y"], ex["mean"], ex["std"], ex["samples"], truth=ex["truth"])
    ax.legend(fontsize="small", loc="upper right")
    return fig


@register(
    "ch08_spectra",
    chapter=CHAPTER,
    caption="Power spectra of super-resolved fields, averaged over inputs: the true spectrum, the "
    "diffusion sampler with the exact conditional denoiser, the learned model, and the "
    "piecewise-constant upsampling of the input.",
)
def build_spectra(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.6, aspect=0.8), layout="constrained")
    ax = fig.subplots()
    sde = VPSDE()
    n, m = SR_CONFIG.n, SR_CONFIG.m
    spectrum = random_fields.power_law_spectrum(n, SR_CONFIG.alpha)
    cov = random_fields.circulant_covariance(spectrum)
    g = generator_for(seed, "ch08", "fig-spectra")
    truth = random_fields.sample_field(spectrum, 1000, g)
    y = random_fields.block_average(truth, m)
    means = y @ random_fields.conditional_gain(cov, m).T
    cond_cov = random_fields.conditional_covariance(cov, m)
    net, _ = super_resolution.trained_super_resolution(SR_CONFIG, sde, verbose=False)
    x_T = prior_sample(sde, (1000, n), g).double()
    exact, _ = sample(
        SR_SAMPLER,
        super_resolution.gaussian_field_denoiser(means, cond_cov, sde),
        sde,
        x_T,
        SR_STEPS,
        g,
    )
    learned, _ = sample(
        SR_SAMPLER, super_resolution.network_denoiser(net, y, sde), sde, x_T, SR_STEPS, g
    )
    k = slice(1, n // 2 + 1)
    lines = {
        "true $P(k)$": spectrum[k],
        "exact denoiser": random_fields.power_spectrum(exact)[k],
        "learned": random_fields.power_spectrum(learned)[k],
        "upsampled input": random_fields.power_spectrum(random_fields.upsample(y, n))[k],
    }
    colors = {
        "true $P(k)$": COLORS["data"],
        "exact denoiser": COLORS["oracle"],
        "learned": COLORS["model"],
        "upsampled input": COLORS["reference"],
    }
    plots.plot_spectra(ax, torch.arange(1, n // 2 + 1), lines, colors)
    return fig


@register(
    "ch08_outpainting",
    chapter=CHAPTER,
    caption="Outpainting: one field four windows long, made patch by patch with an overlap "
    "(top) and without (bottom); dotted lines mark the seams.",
)
def build_outpainting(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.45), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    cov = outpainting_window_covariance()
    for ax, overlap in zip(axes, (OUT_OVERLAP, 0), strict=True):
        g = generator_for(seed, "ch08", "fig-outpaint")
        fields, seams = super_resolution.outpaint(
            cov, OUT_LENGTH, overlap, VPSDE(), 1, OUT_STEPS, g
        )
        plots.plot_outpainted(ax, fields[0], seams)
        ax.set_title(f"overlap {overlap}", fontsize="small")
    return fig


# --- measurements the chapter makes (kept here so that no chapter cell defines a function) ---
def conditional_errors(
    xs: torch.Tensor,
    mean: torch.Tensor,
    cov: torch.Tensor,
    y: torch.Tensor,
    n_low: int,
) -> tuple[float, float, float]:
    """Figures of merit of conditional samples ``xs: (B, n)`` against the exact conditional
    ``N(mean, cov)`` given the low-resolution ``y: (B, n_low)``: the largest error of the mean in
    conditional standard deviations, the largest error of the covariance, and the rms error of
    the block averages against ``y`` (consistency)."""
    sd = cov.diagonal().sqrt()
    mean_err = ((xs.mean(0) - mean) / sd).abs().max().item()
    cov_err = (torch.cov(xs.T) - cov).abs().max().item()
    consistency = (random_fields.block_average(xs, n_low) - y).pow(2).mean().sqrt().item()
    return mean_err, cov_err, consistency


def power_partial_sum(n: int, alpha: float) -> torch.Tensor:
    r""":math:`\sum_{k=1}^{n/2} k^{-\alpha}`, the variance sum of a power-law spectrum on ``n``
    sites (up to its constant)."""
    return (torch.arange(1, n // 2 + 1, dtype=torch.float64) ** (-alpha)).sum()
