"""Box-and-arrow diagrams: one box per node, one arrow per edge, and bad input named."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from lecture_code.plots.families import BOX_HEIGHT, NODE_KINDS, Edge, Node, plot_diagram


def _chain() -> tuple[list[Node], list[Edge]]:
    nodes = [
        Node("$x$", 0.0),
        Node("encoder", 2.0, kind="network", width=2.0),
        Node("$z$", 4.0, kind="latent"),
        Node("?", 6.0, kind="text"),
    ]
    return nodes, [Edge(0, 1), Edge(1, 2, "code"), Edge(2, 0, "back", bend=-0.4, dashed=True)]


def test_one_box_per_node_one_arrow_per_edge_and_every_label_written():
    nodes, edges = _chain()
    ax = Figure().subplots()
    assert plot_diagram(ax, nodes, edges, title="a chain") is ax
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == len(nodes) and len(arrows) == len(edges)
    texts = {t.get_text() for t in ax.texts}
    assert texts == {n.label for n in nodes} | {"code", "back"}
    assert ax.get_title(loc="left") == "a chain"
    assert [a.get_linestyle() for a in arrows][-1] == "--"
    # The kind decides the look: a network box is filled with the network colour.
    network = boxes[1]
    assert network.get_facecolor()[:3] == pytest.approx(
        tuple(int(NODE_KINDS["network"][0][i : i + 2], 16) / 255 for i in (1, 3, 5))
    )


def test_limits_hold_every_box_and_the_bent_arrow_with_its_label():
    nodes, edges = _chain()
    ax = Figure().subplots()
    plot_diagram(ax, nodes, edges)
    left, right = ax.get_xlim()
    low, high = ax.get_ylim()
    assert left < nodes[0].x - nodes[0].width / 2 and right > nodes[-1].x + nodes[-1].width / 2
    assert high > BOX_HEIGHT / 2
    # The back arrow from z (x = 4) to x (x = 0) with bend -0.4 dips 0.5 * 0.4 * 4 = 0.8 below
    # the boxes' centre line, and its label lies below that.
    assert low < -0.8
    assert not ax.axison


def test_bad_nodes_and_edges_are_named():
    nodes, _ = _chain()
    ax = Figure().subplots()
    with pytest.raises(ValueError, match=r"nodes\[0\].kind must be one of"):
        plot_diagram(ax, [Node("x", 0.0, kind="box")], [])
    with pytest.raises(ValueError, match=r"nodes\[0\].width"):
        plot_diagram(ax, [Node("x", 0.0, width=0.0)], [])
    with pytest.raises(ValueError, match=r"edges\[0\].end must be an integer"):
        plot_diagram(ax, nodes, [Edge(0, 7)])
    with pytest.raises(ValueError, match="at least one node"):
        plot_diagram(ax, [], [])
