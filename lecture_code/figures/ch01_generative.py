"""Figures of chapter 1, "Generative models and latent spaces".

The builders draw the toy data of :mod:`lecture_code.ddpm.toy_data` and hand it to
:mod:`lecture_code.plots.forward`; the schematic of the families of generative models is drawn
by :mod:`lecture_code.plots.families`.

Book: chapter 1, "Generative models and latent spaces" (:doc:`/book/part1/01_generative_models`).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from lecture_code.ddpm import toy_data
from lecture_code.figures import register
from lecture_code.plots import families as family_plots
from lecture_code.plots import forward as plots
from lecture_code.plots.families import Edge, Node
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
#: Label size of the schematic of the families, per style.
FONT = {"book": 8.0, "slide": 14.0}


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


# --- the families of generative models -------------------------------------------------------
def _families() -> list[tuple[str, list[Node], list[Edge]]]:
    """One box-and-arrow diagram per family: (title, nodes, edges)."""
    x, z, x_new = r"$\mathbf{x}$", r"$\mathbf{z}$", r"$\mathbf{x}'$"
    chain = [Edge(0, 1), Edge(1, 2), Edge(2, 3), Edge(3, 4)]
    vae = [
        Node(x, 0.0),
        Node(r"encoder $q_\phi(\mathbf{z}\mid\mathbf{x})$", 2.45, kind="network", width=2.9),
        Node(z, 4.9, kind="latent", width=0.6),
        Node(r"decoder $p_\theta(\mathbf{x}\mid\mathbf{z})$", 7.35, kind="network", width=2.9),
        Node(x_new, 9.8),
    ]
    gan = [
        Node(z, 0.0, kind="latent", width=0.6),
        Node(r"generator $G(\mathbf{z})$", 2.3, kind="network", width=2.6),
        Node(x_new, 4.6, width=0.6),
        Node(r"discriminator $d_\phi$", 7.0, kind="network", width=2.6),
        Node("real or generated?", 10.0, kind="text", width=2.4),
        Node(r"data $\mathbf{x}$", 4.6, 1.0, width=1.3),
    ]
    flow = [
        Node(x, 0.0),
        Node(r"invertible flow $F^{-1}$", 2.45, kind="network", width=2.9),
        Node(z, 4.9, kind="latent", width=0.6),
        Node(r"its inverse $F$", 7.35, kind="network", width=2.9),
        Node(x_new, 9.8),
    ]
    autoregressive = [
        Node(r"$x_1, \dots, x_{i-1}$", 0.6, width=1.8),
        Node(r"$p_\theta(x_i \mid x_1, \dots, x_{i-1})$", 4.0, kind="network", width=3.4),
        Node(r"$x_i$", 7.2, width=0.6),
    ]
    diffusion = [
        Node(r"$\mathbf{x}_0$", 0.0, width=0.6),
        Node(r"$\cdots$", 1.5, kind="text", width=0.6),
        Node(r"$\mathbf{x}_{t-1}$", 3.0, kind="latent", width=0.9),
        Node(r"$\mathbf{x}_t$", 5.8, kind="latent", width=0.9),
        Node(r"$\cdots$", 7.3, kind="text", width=0.6),
        Node(
            r"$\mathbf{x}_T \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$",
            9.2,
            kind="latent",
            width=2.2,
        ),
    ]
    # Noising arrows above (fixed, dashed), denoising arrows below (learned); the middle pair
    # carries the labels.
    forward = [Edge(i, i + 1, bend=-0.35, dashed=True) for i in range(5)]
    reverse = [Edge(i + 1, i, bend=-0.35) for i in range(5)]
    forward[2] = Edge(2, 3, r"add noise $q(\mathbf{x}_t\mid\mathbf{x}_{t-1})$", -0.35, True)
    reverse[2] = Edge(3, 2, r"denoise $p_\theta(\mathbf{x}_{t-1}\mid\mathbf{x}_t)$", -0.35)
    return [
        ("variational autoencoder (VAE)", vae, chain),
        ("generative adversarial network (GAN)", gan, [*chain, Edge(5, 3, bend=-0.2)]),
        ("normalising flow", flow, chain),
        (
            "autoregressive model",
            autoregressive,
            [
                Edge(0, 1),
                Edge(1, 2),
                Edge(2, 0, r"append $x_i$; repeat for $i = 1, \dots, D$", -0.3),
            ],
        ),
        ("diffusion model", diffusion, forward + reverse),
    ]


@register(
    "ch01_families",
    chapter=CHAPTER,
    caption="Five families of generative models as boxes and arrows: white boxes are data, "
    "yellow boxes latent or noise vectors, blue rounded boxes learned networks; dashed arrows "
    "are fixed steps that involve no learning.",
)
def build_families(seed: int, style: str) -> Figure:
    # A schematic: nothing is random, so the seed is not used.
    fig = Figure(figsize=figsize(style, 1.0))
    families = _families()
    grid = fig.add_gridspec(len(families), 1)
    axes = []
    for row, (title, nodes, edges) in enumerate(families):
        ax = fig.add_subplot(grid[row])
        family_plots.plot_diagram(ax, nodes, edges, title=title, fontsize=FONT[style])
        axes.append(ax)
    # One scale for every row: the same horizontal range, and each row as tall as it needs.
    left = min(ax.get_xlim()[0] for ax in axes)
    right = max(ax.get_xlim()[1] for ax in axes)
    for ax in axes:
        ax.set_xlim(left, right)
    heights = [ax.get_ylim()[1] - ax.get_ylim()[0] for ax in axes]
    grid.set_height_ratios(heights)
    if style == "book":
        # As tall as the diagrams at the width of the page, plus a line for each title.
        width = fig.get_figwidth()
        title_room = 3.0 * FONT[style] / 72
        fig.set_figheight(width * sum(heights) / (right - left) + len(axes) * title_room)
    return fig
