"""Plotting functions for chapter 9, "Lorenz-96 and chaos".

Each function takes data already computed by :mod:`lecture_code.forecasting.lorenz96` and
:mod:`lecture_code.forecasting.chaos` and a ``matplotlib`` ``Axes``, draws on it and returns it;
none integrates the system. The figure builders in
:mod:`lecture_code.figures.ch09_lorenz96` wire the two together.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.ticker import NullFormatter

from lecture_code.plots.arrays import ArrayLike, as_array
from lecture_code.plots.style import CMAP_DIVERGING, COLORS

__all__ = [
    "plot_autocorrelation",
    "plot_convergence",
    "plot_error_growth",
    "plot_histogram",
    "plot_hovmoller",
    "plot_one_step",
    "plot_ring",
    "plot_running_lyapunov",
    "plot_standardised_histogram",
    "plot_state",
]


def plot_ring(ax: Axes, u: ArrayLike, *, limit: float) -> Axes:
    """One state drawn on its ring: site ``k`` at angle ``2π k / K``, coloured by ``u_k``.

    The radius is ``1 + u_k / limit``, so the dashed unit circle is ``u = 0``.

    Args:
        ax: where to draw (equal aspect is set here).
        u: (K,) one state.
        limit: colour and radius scale: values in ``[-limit, limit]``.
    """
    u = as_array(u)
    K = u.shape[0]
    angle = 2 * np.pi * np.arange(K) / K
    radius = 1 + u / limit
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(circle), np.sin(circle), color=COLORS["climatology"], linestyle="--", lw=1)
    closed = np.append(np.arange(K), 0)
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    ax.plot(x[closed], y[closed], color=COLORS["data"], lw=1)
    ax.scatter(
        x,
        y,
        c=u,
        cmap=CMAP_DIVERGING,
        norm=Normalize(-limit, limit),
        s=30,
        zorder=3,
        edgecolors=COLORS["data"],
        linewidths=0.3,
    )
    reach = 1 + float(np.abs(u).max()) / limit
    for k in (0, K // 4, K // 2, 3 * K // 4):
        ax.annotate(
            f"$k={k}$",
            ((reach + 0.35) * np.cos(angle[k]), (reach + 0.35) * np.sin(angle[k])),
            ha="center",
            va="center",
            fontsize="small",
        )
    ax.text(
        0,
        0,
        "dashed:\n$u_k = 0$",
        ha="center",
        va="center",
        fontsize="small",
        color=COLORS["climatology"],
    )
    ax.set_aspect("equal")
    ax.set_xlim(-reach - 0.6, reach + 0.6)
    ax.set_ylim(-reach - 0.6, reach + 0.6)
    ax.axis("off")
    return ax


def plot_state(ax: Axes, u: ArrayLike, *, F: float, mean: float) -> Axes:
    """``u_k`` against the site ``k``, with the fixed point ``F`` and the attractor mean.

    Args:
        ax: where to draw.
        u: (K,) one state.
        F: the forcing (the fixed point ``u = F``).
        mean: the long-run mean of ``u_k`` on the attractor.
    """
    u = as_array(u)
    k = np.arange(u.shape[0] + 1)
    ax.plot(
        k,
        np.append(u, u[0]),
        marker="o",
        markersize=3,
        color=COLORS["data"],
        label="one state (site $K$ = site 0)",
    )
    ax.axhline(F, color=COLORS["reference"], linestyle="--", label=f"fixed point $u = F = {F:g}$")
    ax.axhline(mean, color=COLORS["climatology"], linestyle=":", label="attractor mean")
    ax.set_xlabel("site $k$")
    ax.set_ylabel("$u_k$")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small")
    return ax


def plot_hovmoller(ax: Axes, time: ArrayLike, u: ArrayLike, *, limit: float) -> Axes:
    """Hovmöller diagram: ``u_k(t)`` with sites across and time upwards.

    Args:
        ax: where to draw.
        time: (N,) times of the rows.
        u: (N, K) one trajectory.
        limit: the colour scale covers ``[-limit, limit]`` (diverging, zero is white).
    """
    time, u = as_array(time), as_array(u)
    K = u.shape[1]
    image = ax.pcolormesh(
        np.arange(K),
        time,
        u,
        cmap=CMAP_DIVERGING,
        norm=Normalize(-limit, limit),
        shading="nearest",
    )
    ax.set_xlabel("site $k$")
    ax.set_ylabel("time $t$")
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label="$u_k(t)$")
    return ax


def plot_convergence(
    ax: Axes, dts: ArrayLike, errors: Mapping[str, ArrayLike], orders: Mapping[str, float]
) -> Axes:
    """Error at a fixed time against the step, on log-log axes, with reference slopes.

    Args:
        ax: where to draw.
        dts: (S,) steps.
        errors: method name -> (S,) errors.
        orders: method name -> the measured slope, shown in the legend and as a guide line
            through the method's smallest-step point.
    """
    dts = as_array(dts)
    colors = [COLORS["model"], COLORS["reference"], COLORS["oracle"]]
    for color, (name, error) in zip(colors, errors.items(), strict=False):
        error = as_array(error)
        ax.loglog(
            dts, error, marker="o", color=color, label=f"{name}: measured slope {orders[name]:.2f}"
        )
        guide = error[-1] * (dts / dts[-1]) ** round(orders[name])
        ax.loglog(dts, guide, color=color, linestyle=":", lw=1)
    ax.set_xticks(dts, [f"{dt:g}" for dt in dts], rotation=30)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"step $\delta$")
    ax.set_ylabel(r"max error at $t = 0.5$")
    ax.legend(title="dotted: slope 1 and 4", fontsize="small")
    return ax


def plot_histogram(ax: Axes, u: ArrayLike, *, mean: float, std: float) -> Axes:
    """Density histogram of ``u_k`` on the attractor, with its mean and ± one std.

    Args:
        ax: where to draw.
        u: (N,) samples of one site (or pooled over sites).
        mean: the mean to mark.
        std: the standard deviation to mark.
    """
    ax.hist(as_array(u), bins=60, density=True, color=COLORS["climatology"], alpha=0.8)
    ax.axvline(mean, color=COLORS["data"], label=f"mean {mean:.2f}")
    for sign in (-1, 1):
        ax.axvline(
            mean + sign * std,
            color=COLORS["data"],
            linestyle=":",
            label=f"mean ± std ({std:.2f})" if sign > 0 else None,
        )
    ax.set_xlabel("$u_k$")
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax


def plot_autocorrelation(ax: Axes, lag_time: ArrayLike, acf: ArrayLike, *, mark: float) -> Axes:
    """Autocorrelation against lag time, with one lag marked.

    Args:
        ax: where to draw.
        lag_time: (L,) lags in time units.
        acf: (L,) autocorrelation.
        mark: a lag to mark (the stride between training transitions).
    """
    ax.plot(as_array(lag_time), as_array(acf), color=COLORS["data"])
    ax.axhline(0.0, color=COLORS["climatology"], lw=1)
    ax.axvline(mark, color=COLORS["model"], linestyle="--", label=f"stride {mark:g}")
    ax.set_xlabel(r"lag (time units)")
    ax.set_ylabel("autocorrelation")
    ax.legend(fontsize="small")
    return ax


def plot_running_lyapunov(
    ax: Axes,
    time: ArrayLike,
    running: ArrayLike,
    *,
    estimate: float,
    published: tuple[float, float],
) -> Axes:
    """Running estimates of λ_1 for several runs, their final mean and a published range.

    Args:
        ax: where to draw.
        time: (N,) averaging time.
        running: (B, N) running estimate of each run.
        estimate: the final estimate (mean over runs).
        published: (low, high) range from the literature, shaded.
    """
    time, running = as_array(time), as_array(running)
    ax.axhspan(*published, color=COLORS["oracle"], alpha=0.2, label="published range")
    for b in range(running.shape[0]):
        ax.plot(
            time,
            running[b],
            color=COLORS["model"],
            lw=0.8,
            alpha=0.6,
            label="independent runs" if b == 0 else None,
        )
    ax.axhline(
        estimate,
        color=COLORS["data"],
        linestyle="--",
        label=rf"mean of the runs, $\lambda_1 = {estimate:.2f}$",
    )
    ax.set_ylim(0.0, 3.5)
    ax.set_xlabel("averaging time (time units)")
    ax.set_ylabel(r"running estimate of $\lambda_1$")
    ax.legend(fontsize="small", loc="upper right")
    return ax


def plot_error_growth(
    ax: Axes,
    time: ArrayLike,
    rms: Mapping[str, ArrayLike],
    *,
    amplitude: Mapping[str, float],
    lam: float,
    saturation: float,
) -> Axes:
    """Root-mean-square distance of perturbed members from their control against lead time.

    Args:
        ax: where to draw (log y axis).
        time: (N,) lead times.
        rms: label -> (N,) geometric-mean RMS distance.
        amplitude: label -> the initial perturbation size d_0, for the line ``d_0 exp(lam t)``.
        lam: the leading Lyapunov exponent.
        saturation: the climatological level ``sqrt(2) * std``.
    """
    time = as_array(time)
    colors = [COLORS["model"], COLORS["reference"], COLORS["oracle"]]
    for color, (label, values) in zip(colors, rms.items(), strict=False):
        ax.semilogy(time, as_array(values), color=color, label=label)
        growth = amplitude[label] * np.exp(lam * time)
        visible = growth < 3 * saturation
        ax.semilogy(time[visible], growth[visible], color=color, linestyle=":", lw=1)
    ax.axhline(
        saturation, color=COLORS["data"], linestyle="--", label=r"saturation $\sqrt{2}\,$std"
    )
    ax.plot(
        [],
        [],
        color=COLORS["climatology"],
        linestyle=":",
        label=rf"$d_0\, e^{{\lambda_1 \tau}}$, $\lambda_1 = {lam:.2f}$",
    )
    ax.set_xlabel(r"lead time $\tau$ (time units)")
    ax.set_ylabel("RMS distance from control")
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_one_step(
    ax: Axes,
    members: ArrayLike,
    deterministic: float,
    *,
    gaussian: tuple[float, float] | None,
    title: str,
) -> Axes:
    """The oracle's members at one site against the deterministic forecast.

    Args:
        ax: where to draw.
        members: (M,) the oracle's values at one site.
        deterministic: the deterministic forecast at that site.
        gaussian: (mean, std) of a Gaussian to overlay, or ``None``.
        title: the panel title.
    """
    members = as_array(members)
    heights, _, _ = ax.hist(
        members,
        bins=40,
        density=True,
        color=COLORS["oracle"],
        alpha=0.6,
        label=f"oracle, $M = {members.shape[0]}$",
    )
    if gaussian is not None:
        mu, sd = gaussian
        z = np.linspace(members.min(), members.max(), 300)
        ax.plot(
            z,
            np.exp(-0.5 * ((z - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)),
            color=COLORS["data"],
            label=r"Gaussian, variance $\sigma_\xi^2\Delta$",
        )
    ax.axvline(deterministic, color=COLORS["deterministic"], lw=2, label="deterministic forecast")
    ax.set_ylim(0, 1.55 * float(np.max(heights)))  # room for the legend above the bars
    ax.set_title(title)
    ax.set_xlabel("$u_k$")
    ax.set_ylabel("density")
    ax.legend(fontsize="small", loc="upper left")
    return ax


def plot_standardised_histogram(ax: Axes, z: ArrayLike, *, title: str) -> Axes:
    """A histogram of standardised values on a log density axis, with the N(0, 1) density.

    Args:
        ax: where to draw.
        z: (n,) standardised values (mean 0, variance 1).
        title: the panel title.
    """
    z = as_array(z)
    edges = np.linspace(min(-6.0, float(z.min())), max(6.0, float(z.max())), 80)
    ax.hist(z, bins=edges, density=True, color=COLORS["oracle"], alpha=0.6, label="oracle")
    grid = np.linspace(edges[0], edges[-1], 400)
    ax.plot(
        grid,
        np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi),
        color=COLORS["data"],
        label=r"$\mathcal{N}(0, 1)$",
    )
    ax.set_yscale("log")
    ax.set_ylim(0.5 / z.shape[0], 1.0)
    ax.set_title(title)
    ax.set_xlabel("standardised residual")
    ax.set_ylabel("density")
    ax.legend(fontsize="small", loc="upper right")
    return ax
