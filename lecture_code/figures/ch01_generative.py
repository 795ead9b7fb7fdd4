"""Figures of chapter 1, "Generative models and latent spaces".

The builders draw the toy data of :mod:`lecture_code.ddpm.toy_data` and hand it to
:mod:`lecture_code.plots.forward`.

Book: chapter 1, "Generative models and latent spaces" (:doc:`/book/part1/01_generative_models`).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import toy_data
from lecture_code.figures import register
from lecture_code.plots import forward as plots
from lecture_code.plots.style import COLORS, figsize
from lecture_code.seeding import generator_for

CHAPTER = "book/part1/01_generative_models"

#: Points drawn in each scatter panel.
N_POINTS = 2_000
#: The panels show [-LIMIT, LIMIT]^2.
LIMIT = 2.6
#: Grid cells per axis for density contours, and arrows per axis for the score field.
N_GRID = 200
N_ARROWS = 21


@register(
    "ch01_toy_data",
    chapter=CHAPTER,
    caption="The toy data of Parts I and II. Left: the swiss roll, each point coloured by its "
    "latent coordinate tau (the nearest point of the spiral, drawn as a line); right: samples "
    "of the three-component Gaussian mixture with contours of its exact density.",
)
def build_toy_data(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 1.0, aspect=0.48))
    left, right = fig.subplots(1, 2)
    x = toy_data.swiss_roll(N_POINTS, generator_for(seed, "ch01", "swiss_roll"))
    tau = toy_data.swiss_roll_encode(x)
    low, high = toy_data.SWISS_ROLL_TAU
    curve = toy_data.swiss_roll_curve(torch.linspace(low, high, 1000, dtype=torch.float64))
    plots.plot_points(left, x, values=tau, size=3, alpha=0.8, limit=LIMIT, title="swiss roll")
    plots.plot_curve(left, curve, color=COLORS["data"])
    mixture = toy_data.toy_mixture()
    samples = mixture.sample(N_POINTS, generator_for(seed, "ch01", "mixture"))
    axis, grid = toy_data.square_grid(LIMIT, N_GRID)
    log_p = mixture.log_prob(grid).reshape(N_GRID, N_GRID)
    plots.plot_points(right, samples, size=3, alpha=0.4, limit=LIMIT, title="Gaussian mixture")
    plots.plot_density_contours(right, axis, log_p, limit=LIMIT)
    return fig


@register(
    "ch01_mixture_score",
    chapter=CHAPTER,
    caption="The score of the Gaussian mixture, the gradient of its log density, over its "
    "density (shaded). Arrows show the direction, colour the magnitude: the score points "
    "uphill towards the nearest mode, and it is large far from the data and small near modes.",
)
def build_mixture_score(seed: int, style: str) -> Figure:
    fig = Figure(figsize=figsize(style, 0.8, aspect=0.8))
    ax = fig.subplots()
    mixture = toy_data.toy_mixture()
    axis, grid = toy_data.square_grid(LIMIT, N_GRID)
    log_p = mixture.log_prob(grid).reshape(N_GRID, N_GRID)
    plots.plot_density_contours(ax, axis, log_p, filled=True, levels=12, limit=LIMIT)
    _, tails = toy_data.square_grid(LIMIT, N_ARROWS)
    plots.plot_score_field(ax, tails, mixture.score(tails), limit=LIMIT)
    return fig
