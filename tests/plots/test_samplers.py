"""The drawing functions of chapter 7: grids on a log axis, error against NFE one line per
sampler, sample clouds; bad shapes and unknown samplers refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from lecture_code.plots.samplers import (
    SAMPLER_LOOKS,
    plot_cloud,
    plot_error_vs_nfe,
    plot_grid_levels,
)
from lecture_code.score.grids import karras_grid, log_snr_grid
from lecture_code.score.samplers import SAMPLERS
from lecture_code.score.sde import VPSDE


def test_every_sampler_has_its_own_look():
    assert set(SAMPLER_LOOKS) == set(SAMPLERS)
    colours = [colour for _, colour, _ in SAMPLER_LOOKS.values()]
    markers = [marker for _, _, marker in SAMPLER_LOOKS.values()]
    assert len(set(colours)) == len(colours) and len(set(markers)) == len(markers)


def test_grid_levels_one_line_per_grid_without_the_zero_on_a_log_axis():
    sde = VPSDE()
    ax = Figure().subplots()
    grids = {"log-SNR": log_snr_grid(sde, 6), "Karras": karras_grid(sde, 6)}
    assert plot_grid_levels(ax, grids) is ax
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), karras_grid(sde, 6)[:-1].numpy())
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(6))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["log-SNR", "Karras"]
    with pytest.raises(ValueError, match="grid 'bad' must be 1-D and end with 0"):
        plot_grid_levels(ax, {"bad": [3.0, 1.0]})
    with pytest.raises(ValueError, match="grid 'flat' must be 1-D"):
        plot_grid_levels(ax, {"flat": np.zeros((2, 2))})


def test_error_vs_nfe_one_line_per_sampler_log_axes_orders_in_the_legend_and_a_floor():
    ax = Figure().subplots()
    nfe = [4, 8, 16]
    curves = {"ddim": (nfe, [0.4, 0.2, 0.1]), "dpm_solver_2m": (nfe, [0.16, 0.04, 0.01])}
    assert (
        plot_error_vs_nfe(ax, curves, orders={"ddim": 1.0, "dpm_solver_2m": 2.004}, floor=1e-3)
        is ax
    )
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) == 3  # two samplers and the floor
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.16, 0.04, 0.01])
    assert ax.lines[0].get_color() == SAMPLER_LOOKS["ddim"][1]
    assert list(ax.lines[2].get_ydata()) == [1e-3, 1e-3]  # the horizontal floor
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["DDIM, order 1.00", "DPM-Solver++(2M), order 2.00", "learned score's floor"]


def test_error_vs_nfe_dashed_family_has_no_labels_and_legend_can_be_off():
    ax = Figure().subplots()
    plot_error_vs_nfe(ax, {"heun": ([3, 7], [0.1, 0.02])}, dashed=True, legend=False)
    assert ax.lines[0].get_linestyle() == "--" and ax.get_legend() is None
    assert ax.lines[0].get_label().startswith("_")  # not in a legend


def test_error_vs_nfe_refuses_bad_shapes_and_unknown_samplers():
    ax = Figure().subplots()
    with pytest.raises(ValueError, match=r"nfe and error of 'ddim' must be one 1-D shape"):
        plot_error_vs_nfe(ax, {"ddim": ([1, 2, 3], [0.1, 0.2])})
    with pytest.raises(ValueError, match="one 1-D shape"):
        plot_error_vs_nfe(ax, {"ddim": (np.ones((2, 2)), np.ones((2, 2)))})
    with pytest.raises(ValueError, match=r"unknown sampler 'rk45'; expected one of"):
        plot_error_vs_nfe(ax, {"rk45": ([1, 2], [0.1, 0.2])})


def test_cloud_draws_every_point_in_a_square_window_and_refuses_other_shapes():
    ax = Figure().subplots()
    points = np.random.default_rng(0).normal(size=(50, 2))
    assert plot_cloud(ax, points, title="DDIM", limit=3.0) is ax
    assert len(ax.collections) == 1 and ax.collections[0].get_offsets().shape == (50, 2)
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-3.0, 3.0)
    assert ax.get_title() == "DDIM"
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\), got \(50, 3\)"):
        plot_cloud(ax, np.zeros((50, 3)), title="bad")
