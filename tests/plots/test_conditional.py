"""The drawing functions of chapter 8: what each draws, and bad shapes named."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from lecture_code.plots.conditional import (
    plot_field_band,
    plot_guided_samples,
    plot_outpainted,
    plot_spectra,
)


def test_guided_samples_two_scatters():
    ax = Figure().subplots()
    assert plot_guided_samples(ax, np.zeros((5, 2)), np.ones((7, 2))) is ax
    assert len(ax.collections) == 2
    with pytest.raises(ValueError, match="samples"):
        plot_guided_samples(ax, np.zeros((5, 3)), np.ones((7, 2)))


def test_field_band_draws_band_mean_samples_and_steps():
    ax = Figure().subplots()
    plot_field_band(ax, np.zeros(4), np.zeros(16), np.ones(16), np.zeros((3, 16)))
    assert len(ax.collections) == 1  # the band
    assert len(ax.lines) == 1 + 3 + 1  # mean, samples, steps
    with pytest.raises(ValueError, match="divide"):
        plot_field_band(ax, np.zeros(5), np.zeros(16), np.ones(16), np.zeros((3, 16)))


def test_spectra_on_log_axes_with_a_legend():
    ax = Figure().subplots()
    plot_spectra(ax, [1, 2, 3], {"a": [1, 0.5, 0.3], "b": [1, 0.4, 0.2]})
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="shape"):
        plot_spectra(ax, [1, 2, 3], {"a": [1, 0.5]})


def test_outpainted_marks_each_seam():
    ax = Figure().subplots()
    plot_outpainted(ax, np.zeros(100), [30, 60])
    assert len(ax.lines) == 1 + 2
    with pytest.raises(ValueError, match="seams"):
        plot_outpainted(ax, np.zeros(100), [100])
