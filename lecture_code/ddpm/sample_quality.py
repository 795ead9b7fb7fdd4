r"""Distances between two sets of samples, and the data-against-data baseline that gives them
a scale.

**Energy distance** (Székely and Rizzo 2013, eq. (train-energy)). For independent
:math:`\mathbf{X}, \mathbf{X}' \sim P` and :math:`\mathbf{Y}, \mathbf{Y}' \sim Q`,

.. math::

    \mathcal{E}(P, Q) = 2\,\mathbb{E}\lVert\mathbf{X} - \mathbf{Y}\rVert
    - \mathbb{E}\lVert\mathbf{X} - \mathbf{X}'\rVert
    - \mathbb{E}\lVert\mathbf{Y} - \mathbf{Y}'\rVert \;\ge\; 0,

with equality only when :math:`P = Q`. :func:`energy_distance` replaces each expectation by
the average over all pairs of the samples, diagonal included (a V-statistic). Its expectation
for samples of sizes :math:`n` and :math:`m` is :math:`\mathcal{E}(P, Q) +
\mathbb{E}\lVert\mathbf{X} - \mathbf{X}'\rVert/n + \mathbb{E}\lVert\mathbf{Y} -
\mathbf{Y}'\rVert/m`: positive even when :math:`P = Q` (eq. (train-energy-floor)). That
finite-sample floor, :math:`(1/n + 1/m)\,\mathbb{E}\lVert\mathbf{X} - \mathbf{X}'\rVert`, is
what :func:`data_baseline` measures with two independent samples of the data, and what
:func:`energy_floor` computes from one large sample. ``unbiased=True`` drops the diagonal (a
U-statistic) and removes the floor.

**How often a perfect model fails a threshold.** A sampler is accepted when the mean of ``k``
distances stays below a threshold; :func:`mean_exceedance_probability` is the bootstrap
estimate of the false-alarm rate, the probability that the mean of ``k`` draws from the
data-against-data values exceeds it.

**Sliced Wasserstein distance** (Bonneel et al. 2015, eq. (train-sliced)). Project both
samples on random unit directions :math:`\mathbf{d}`; in one dimension the optimal
transport between two samples of equal size pairs the sorted values, so

.. math::

    \mathrm{SW}_2(P, Q)^2 = \mathbb{E}_{\mathbf{d}}\,
    \frac{1}{n}\sum_{i=1}^n \big(\mathbf{d}^\top\mathbf{x}_{(i)} -
    \mathbf{d}^\top\mathbf{y}_{(i)}\big)^2,

with :math:`(i)` the :math:`i`-th smallest projection.

References: G. J. Székely, M. L. Rizzo, "Energy statistics: a class of statistics based on
distances", J. Stat. Plan. Inference 143 (2013); N. Bonneel, J. Rabin, G. Peyré, H. Pfister,
"Sliced and Radon Wasserstein barycenters of measures", J. Math. Imaging Vis. 51 (2015).

Book: chapter 4, "Training and sampling" (:doc:`/book/part1/04_training_sampling`), section
"How good are the samples?", eqs. (train-energy), (train-energy-floor), (train-sliced).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_code.validation import check_int, check_tensor

__all__ = [
    "Metric",
    "data_baseline",
    "energy_distance",
    "energy_floor",
    "mean_exceedance_probability",
    "mean_pair_distance",
    "sliced_wasserstein",
]

#: The type of a distance ``metric(x, y)`` between two samples, with ``x`` of shape ``(N, D)``
#: and ``y`` of shape ``(M, D)``, returning a float.
Metric = Callable[[torch.Tensor, torch.Tensor], float]


def energy_distance(x: torch.Tensor, y: torch.Tensor, unbiased: bool = False) -> float:
    r"""The energy distance between the samples ``x`` and ``y`` (eq. (train-energy)).

    Args:
        x: ``(N, D)`` draws from :math:`P`.
        y: ``(M, D)`` draws from :math:`Q` (``N`` and ``M`` may differ, ``D`` may not).
        unbiased: average the within-sample distances over distinct pairs only (U-statistic,
            mean exactly :math:`\mathcal{E}(P, Q)`, can be negative); default includes the
            zero diagonal (V-statistic, never negative).

    Returns:
        The estimate, a float (computed in float64).
    """
    dims: dict[str, int] = {}
    x = check_tensor("x", x, ("N", "D"), dims=dims).to(torch.float64)
    y = check_tensor("y", y, ("M", "D"), dims=dims).to(torch.float64)
    N, M = x.shape[0], y.shape[0]
    if unbiased and min(N, M) < 2:
        raise ValueError(f"the unbiased estimate needs at least 2 draws each, got N={N}, M={M}")
    xy = torch.cdist(x, y).mean()
    xx_sum = torch.cdist(x, x).sum()
    yy_sum = torch.cdist(y, y).sum()
    if unbiased:
        xx, yy = xx_sum / (N * (N - 1)), yy_sum / (M * (M - 1))
    else:
        xx, yy = xx_sum / N**2, yy_sum / M**2
    return float(2 * xy - xx - yy)


def sliced_wasserstein(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, n_projections: int = 256
) -> float:
    r""":math:`\mathrm{SW}_2` between two samples of equal size (eq. (train-sliced)).

    Args:
        x: ``(N, D)``.
        y: ``(N, D)``, the same size.
        generator: the source of the random directions.
        n_projections: number of directions :math:`\mathbf{d}`, uniform on the sphere.

    Returns:
        The estimate, a float (float64 inside).
    """
    dims: dict[str, int] = {}
    x = check_tensor("x", x, ("N", "D"), dims=dims).to(torch.float64)
    y = check_tensor("y", y, ("N", "D"), dims=dims).to(torch.float64)
    n_projections = check_int("n_projections", n_projections, low=1)
    d = torch.randn(x.shape[1], n_projections, generator=generator, dtype=torch.float64)
    d = d / d.norm(dim=0, keepdim=True)
    x_proj = torch.sort(x @ d, dim=0).values  # (N, n_projections)
    y_proj = torch.sort(y @ d, dim=0).values
    return float(((x_proj - y_proj) ** 2).mean().sqrt())


def mean_pair_distance(x: torch.Tensor) -> float:
    r"""An unbiased estimate of :math:`\mathbb{E}\lVert\mathbf{X} - \mathbf{X}'\rVert` from one
    sample: the mean distance between the first and the second half, row by row (``N / 2``
    independent pairs, no ``N x N`` matrix).

    Args:
        x: ``(N, D)`` independent draws, ``N >= 2``.
    """
    x = check_tensor("x", x, ("N", "D")).to(torch.float64)
    half = x.shape[0] // 2
    if half < 1:
        raise ValueError(f"x must hold at least 2 draws, got {x.shape[0]}")
    return float((x[:half] - x[half : 2 * half]).norm(dim=1).mean())


def energy_floor(reference: torch.Tensor, n: int, m: int) -> float:
    r"""The expected :func:`energy_distance` of two independent samples of sizes ``n`` and
    ``m`` from the same distribution (eq. (train-energy-floor)): :math:`(1/n + 1/m)\,
    \mathbb{E}\lVert\mathbf{X} - \mathbf{X}'\rVert`, the value a perfect model gets on average.

    Args:
        reference: ``(N, D)`` a large sample of the distribution (for
            :func:`mean_pair_distance`).
        n: size of the first sample; m: of the second.
    """
    n = check_int("n", n, low=1)
    m = check_int("m", m, low=1)
    return (1 / n + 1 / m) * mean_pair_distance(reference)


def data_baseline(
    draw: Callable[[int, torch.Generator], torch.Tensor],
    n: int,
    metric: Metric,
    generator: torch.Generator,
    repeats: int = 10,
) -> torch.Tensor:
    """The metric between two independent data samples of size ``n``, ``repeats`` times.

    A perfect model's samples are just another data sample, so this is the value a perfect
    model would get on average, and its spread is the scale of the noise of the comparison.

    Args:
        draw: ``draw(n, generator) -> (n, D)``, fresh data (e.g.
            :func:`lecture_code.ddpm.toy_data.swiss_roll`).
        n: the sample size, the same as the model's.
        metric: ``metric(x, y) -> float``.
        generator: the source of the data draws.
        repeats: number of independent pairs, ``>= 1``.

    Returns:
        ``(repeats,)`` float64 values.
    """
    n = check_int("n", n, low=1)
    repeats = check_int("repeats", repeats, low=1)
    values = [metric(draw(n, generator), draw(n, generator)) for _ in range(repeats)]
    return torch.tensor(values, dtype=torch.float64)


def mean_exceedance_probability(values: torch.Tensor, k: int, threshold: float) -> float:
    r"""The bootstrap probability that the mean of ``k`` draws (with replacement) from
    ``values`` exceeds ``threshold``, computed exactly over all :math:`N^k` ordered draws.

    Args:
        values: ``(N,)`` observed values (data-against-data distances, for a false-alarm rate).
        k: the number of values averaged, ``>= 1``, with :math:`N^k \le 10^7`.
        threshold: the acceptance threshold.

    Returns:
        The fraction of the :math:`N^k` means above ``threshold``.
    """
    values = check_tensor("values", values, ("N",)).to(torch.float64)
    k = check_int("k", k, low=1)
    N = values.shape[0]
    if N**k > 10**7:
        raise ValueError(f"N**k must be at most 1e7 for exact enumeration, got {N}**{k}")
    means = torch.zeros((), dtype=torch.float64)
    for _ in range(k):  # outer sum: means[i1, ..., ik] = sum_j values[i_j] / k
        means = means[..., None] + values / k
    return float((means > threshold).double().mean())
