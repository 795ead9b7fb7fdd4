"""Plotting functions for chapter 8: guided samples, super-resolved fields, power spectra and
outpainted fields.

Each function takes numbers computed by :mod:`lecture_code.score.guidance`,
:mod:`lecture_code.score.random_fields` or :mod:`lecture_code.score.super_resolution` and a
``matplotlib`` ``Axes``, draws on it and returns it. The figure builders in
``lecture_code.figures.ch08_conditional`` wire the two together.

Book: chapter 8, "Conditional diffusion" (:doc:`/book/part2/08_conditional`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import COLORS

__all__ = ["plot_field_band", "plot_guided_samples", "plot_outpainted", "plot_spectra"]


def plot_guided_samples(
    ax: Axes, samples: ArrayLike, reference: ArrayLike, *, limit: float = 3.0
) -> Axes:
    """Guided samples (model colour) over draws of the law they are meant to follow (oracle).

    Args:
        ax: where to draw.
        samples: ``(N, 2)`` the sampler's draws.
        reference: ``(M, 2)`` draws of the target law.
        limit: half-width of the square view.
    """
    s, r = as_array(samples), as_array(reference)
    for name, a in (("samples", s), ("reference", r)):
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"{name} must have shape (N, 2), got {a.shape}")
    ax.scatter(r[:, 0], r[:, 1], s=2, color=COLORS["oracle"], alpha=0.3, label="tilted law")
    ax.scatter(s[:, 0], s[:, 1], s=2, color=COLORS["model"], alpha=0.4, label="CFG samples")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    return ax


def plot_field_band(
    ax: Axes,
    low_res: ArrayLike,
    mean: ArrayLike,
    std: ArrayLike,
    samples: ArrayLike,
    *,
    truth: ArrayLike | None = None,
) -> Axes:
    """A low-resolution input as steps, the exact conditional mean with a band of two standard
    deviations, and a few samples.

    Args:
        ax: where to draw.
        low_res: ``(m,)`` the block averages.
        mean: ``(n,)`` the exact conditional mean.
        std: ``(n,)`` the exact conditional standard deviation.
        samples: ``(S, n)`` samples of the model.
        truth: ``(n,)`` the field the input was made from, if known.
    """
    y, mu, sd, x = as_array(low_res), as_array(mean), as_array(std), as_array(samples)
    n = mu.shape[0]
    if sd.shape != mu.shape or x.ndim != 2 or x.shape[1] != n or n % y.shape[0]:
        raise ValueError(
            f"mean and std must be (n,), samples (S, n), and len(low_res) must divide n; got "
            f"{mu.shape}, {sd.shape}, {x.shape}, {y.shape}"
        )
    sites = np.arange(n)
    ax.fill_between(
        sites,
        mu - 2 * sd,
        mu + 2 * sd,
        color=COLORS["oracle"],
        alpha=0.25,
        label="exact conditional, ±2 sd",
    )
    ax.plot(sites, mu, color=COLORS["oracle"], linewidth=1.2)
    for row in x:
        ax.plot(sites, row, color=COLORS["model"], linewidth=0.6, alpha=0.7)
    ax.step(
        np.arange(0, n + 1, n // y.shape[0]) - 0.5,
        np.append(y, y[-1]),
        where="post",
        color=COLORS["data"],
        linewidth=1.5,
        label="low-resolution input",
    )
    if truth is not None:
        ax.plot(
            sites,
            as_array(truth),
            color=COLORS["reference"],
            linestyle="--",
            linewidth=0.8,
            label="true field",
        )
    ax.set_xlabel("site $j$")
    return ax


def plot_spectra(
    ax: Axes,
    k: ArrayLike,
    spectra: Mapping[str, ArrayLike],
    colors: Mapping[str, str] | None = None,
) -> Axes:
    """Power spectra on log-log axes, one line per entry.

    Args:
        ax: where to draw.
        k: ``(K,)`` positive wavenumbers.
        spectra: label -> ``(K,)`` values.
        colors: label -> colour (default: the model colour).
    """
    kk = as_array(k)
    if not spectra:
        raise ValueError("spectra must hold at least one line, got none")
    for label, values in spectra.items():
        v = as_array(values)
        if v.shape != kk.shape:
            raise ValueError(f"spectrum {label!r} must have shape {kk.shape}, got {v.shape}")
        color = (colors or {}).get(label, COLORS["model"])
        ax.plot(kk, v, color=color, label=label, linewidth=1.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wavenumber $k$")
    ax.set_ylabel("$P(k)$")
    ax.legend(fontsize="small")
    return ax


def plot_outpainted(ax: Axes, field: ArrayLike, seams: Sequence[int], *, label: str = "") -> Axes:
    """One long field with its seams marked by vertical dotted lines.

    Args:
        ax: where to draw.
        field: ``(L,)`` the field.
        seams: the first site of each new patch.
        label: the legend label of the field.
    """
    f = as_array(field)
    if f.ndim != 1:
        raise ValueError(f"field must have shape (L,), got {f.shape}")
    if any(not 0 < s < f.shape[0] for s in seams):
        raise ValueError(
            f"seams must lie inside the field of length {f.shape[0]}, got {list(seams)}"
        )
    ax.plot(np.arange(f.shape[0]), f, color=COLORS["model"], linewidth=0.9, label=label or None)
    for s in seams:
        ax.axvline(s - 0.5, color=COLORS["reference"], linestyle=":", linewidth=1.0)
    ax.set_xlabel("site $j$")
    return ax
