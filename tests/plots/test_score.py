"""The drawing functions of chapter 5: one line per path, one bar per sampler, bad shapes named."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from lecture_code.plots.score import plot_mode_weights, plot_paths, plot_score_error


def test_one_line_per_path():
    ax = Figure().subplots()
    paths = np.zeros((11, 4, 2))
    assert plot_paths(ax, paths) is ax
    assert len(ax.lines) == 4
    with pytest.raises(ValueError, match="paths"):
        plot_paths(ax, np.zeros((11, 4)))


def test_one_bar_per_sampler_and_the_true_weight():
    ax = Figure().subplots()
    plot_mode_weights(ax, {"plain": (0.5, 0.01), "annealed": (0.78, 0.01)}, 0.8)
    assert len(ax.patches) == 2
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.5, 0.78])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["plain", "annealed"]


def test_score_error_on_log_axes_and_shapes_checked():
    ax = Figure().subplots()
    plot_score_error(ax, [0.1, 0.5], [0.2, 0.01], [0.01, 0.001])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="one shape"):
        plot_score_error(ax, [0.1, 0.5], [0.2], [0.01, 0.001])


def test_score_errors_of_two_models_share_one_axis_with_a_legend():
    ax = Figure().subplots()
    plot_score_error(ax, [0.1, 0.5], [0.2, 0.01], [0.01, 0.001], label="a")
    plot_score_error(ax, [0.1, 0.5], [0.3, 0.02], [0.01, 0.001], label="b", color="k")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
