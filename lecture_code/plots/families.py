r"""Box-and-arrow diagrams: how each family of generative models turns noise into data.

A diagram is a list of :class:`Node` (a box with a label, placed by its centre) and a list of
:class:`Edge` (an arrow from one node to another, straight or bent, solid or dashed, with an
optional label). :func:`plot_diagram` draws them on an ``Axes`` without axes or ticks. The
kind of a node fixes its look in every diagram of the book, so that a reader can tell at a
glance what is data, what is a latent variable and what is a learned network
(:data:`NODE_KINDS`). The figure builder of chapter 1 (``ch01_families``) lays out one diagram
per family: variational autoencoder, generative adversarial network, normalising flow,
autoregressive model and diffusion model.

Book: chapter 1, "Generative models and latent spaces" (:doc:`/book/part1/01_generative_models`),
section "A map of generative models".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from lecture_code.plots.style import COLORS
from lecture_code.validation import check_choice, check_int, check_real

__all__ = ["NODE_KINDS", "Edge", "Node", "plot_diagram"]

#: How each kind of node looks, as (face colour, edge colour, rounded corners). A ``"data"``
#: node is a data vector (white box), a ``"latent"`` node a latent or noise vector (pale
#: yellow), a ``"network"`` node a learned network (pale blue, rounded), and a ``"text"`` node a
#: label without a box, for an ellipsis or the output of a classifier.
NODE_KINDS: dict[str, tuple[str, str, bool]] = {
    "data": ("#FFFFFF", COLORS["data"], False),
    "latent": ("#FBF6C8", COLORS["data"], False),
    "network": ("#D6E6F2", COLORS["model"], True),
    "text": ("none", "none", False),
}


@dataclass(frozen=True)
class Node:
    """One box of a diagram.

    Attributes:
        label: the text in the box (matplotlib mathtext, ``"$\\mathbf{z}$"``, is allowed).
        x: horizontal position of the centre, in the diagram's own units.
        y: vertical position of the centre.
        kind: one of :data:`NODE_KINDS`.
        width: width of the box, in the diagram's units.
    """

    label: str
    x: float
    y: float = 0.0
    kind: str = "data"
    width: float = 1.0


@dataclass(frozen=True)
class Edge:
    """One arrow of a diagram.

    Attributes:
        start: index of the node the arrow leaves.
        end: index of the node it points to.
        label: text written beside the middle of the arrow ("" for none).
        bend: curvature (matplotlib's ``arc3`` radius; 0 is straight, positive bends to the
            right of the direction of travel).
        dashed: a dashed arrow, for a fixed (not learned) step such as adding noise.
    """

    start: int
    end: int
    label: str = ""
    bend: float = 0.0
    dashed: bool = False


#: Height of every box, in the diagram's units.
BOX_HEIGHT = 0.62
#: Room kept for the label of an arrow, beyond the arrow's apex, in the diagram's units.
LABEL_ROOM = 0.32


def plot_diagram(
    ax: Axes,
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    *,
    title: str | None = None,
    fontsize: float | None = None,
) -> Axes:
    """Draw the boxes ``nodes`` joined by the arrows ``edges``.

    The axes get equal scales, no frame and no ticks; their limits enclose every box with a
    small margin. Arrows start and end at the boundaries of their boxes.

    Args:
        ax: where to draw.
        nodes: the boxes; an edge refers to a node by its index in this sequence.
        edges: the arrows.
        title: written at the left, above the diagram.
        fontsize: size of the labels (matplotlib's default when ``None``).

    Raises:
        ValueError: naming a node of unknown kind, a width that is not positive, or an edge
            whose end points are not nodes.
    """
    if not nodes:
        raise ValueError("a diagram needs at least one node, got none")
    patches = []
    # The vertical extent: every box, every arrow's apex and every edge label.
    ys = [n.y + h for n in nodes for h in (-BOX_HEIGHT / 2, BOX_HEIGHT / 2)]
    for i, node in enumerate(nodes):
        check_choice(f"nodes[{i}].kind", node.kind, NODE_KINDS)
        check_real(f"nodes[{i}].width", node.width, low=0.0, low_open=True)
        face, edge, rounded = NODE_KINDS[node.kind]
        style = "round,pad=0.02,rounding_size=0.15" if rounded else "square,pad=0.02"
        box = FancyBboxPatch(
            (node.x - node.width / 2, node.y - BOX_HEIGHT / 2),
            node.width,
            BOX_HEIGHT,
            boxstyle=style,
            facecolor=face,
            edgecolor=edge,
            linewidth=0.0 if node.kind == "text" else 1.0,
            zorder=2,
        )
        ax.add_patch(box)
        patches.append(box)
        ax.text(node.x, node.y, node.label, ha="center", va="center", fontsize=fontsize, zorder=3)
    for j, edge in enumerate(edges):
        check_int(f"edges[{j}].start", edge.start, low=0, high=len(nodes) - 1)
        check_int(f"edges[{j}].end", edge.end, low=0, high=len(nodes) - 1)
        a, b = nodes[edge.start], nodes[edge.end]
        arrow = FancyArrowPatch(
            (a.x, a.y),
            (b.x, b.y),
            patchA=patches[edge.start],
            patchB=patches[edge.end],
            arrowstyle="-|>",
            mutation_scale=10,
            connectionstyle=f"arc3,rad={edge.bend}",
            linestyle="--" if edge.dashed else "-",
            color=COLORS["data"],
            linewidth=0.9,
            zorder=1,
        )
        ax.add_patch(arrow)
        # arc3 puts the control point of a quadratic Bezier curve at the chord's midpoint plus
        # bend * (dy, -dx); the curve passes half-way between the midpoint and that point.
        dx, dy = b.x - a.x, b.y - a.y
        mx = (a.x + b.x) / 2 + 0.5 * edge.bend * dy
        my = (a.y + b.y) / 2 - 0.5 * edge.bend * dx
        ys.append(my)
        if edge.label:
            above = my >= (a.y + b.y) / 2
            ax.text(
                mx,
                my + (0.1 if above else -0.1),
                edge.label,
                ha="center",
                va="bottom" if above else "top",
                fontsize=None if fontsize is None else 0.85 * fontsize,
                zorder=3,
            )
            ys.append(my + (LABEL_ROOM if above else -LABEL_ROOM))
    xs = [n.x - n.width / 2 for n in nodes] + [n.x + n.width / 2 for n in nodes]
    ax.set_xlim(min(xs) - 0.2, max(xs) + 0.2)
    ax.set_ylim(min(ys) - 0.1, max(ys) + 0.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title, loc="left")
    return ax
