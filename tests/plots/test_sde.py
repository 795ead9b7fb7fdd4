"""The chapter-6 drawing functions: what they draw and the shapes they refuse."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from lecture_code.plots.sde import plot_density_vs_histogram, plot_identity, plot_paths


def test_density_vs_histogram_draws_curve_bars_and_legend():
    ax = Figure().subplots()
    x = np.linspace(-1, 1, 11)
    edges = np.linspace(-1, 1, 5)
    out = plot_density_vs_histogram(
        ax, x, np.ones(11), edges, np.ones(4), 0.1 * np.ones(4), label="pde",
        hist_label="particles", extra={"start": (x, x**2)}, title="t",
    )  # fmt: skip
    assert out is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"pde", "particles", "start"} <= set(labels)
    with pytest.raises(ValueError, match="one entry more"):
        plot_density_vs_histogram(
            ax, x, x, edges, np.ones(5), np.ones(5), label="a", hist_label="b"
        )


def test_paths_one_line_per_column_and_identity_diagonal():
    ax = Figure().subplots()
    plot_paths(ax, np.arange(5), np.zeros((5, 3)), title="paths")
    assert len(ax.lines) == 3 and ax.get_title(loc="left") == "paths"
    with pytest.raises(ValueError, match="shape"):
        plot_paths(ax, np.arange(5), np.zeros((4, 3)))
    ax = Figure().subplots()
    plot_identity(ax, np.arange(3.0), np.arange(3.0), xlabel="exact", ylabel="ode")
    assert len(ax.lines) == 2
