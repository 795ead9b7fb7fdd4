r"""One-dimensional periodic Gaussian random fields, their block averages and their exact
conditionals.

**The field.** On a ring of :math:`n` sites, a stationary zero-mean Gaussian field
:math:`\mathbf{x} \in \mathbb{R}^n` has a circulant covariance :math:`C_{ij} = \Gamma(i - j)`,
diagonalised by the discrete Fourier transform :math:`X_k = \sum_j x_j e^{-2\pi i jk/n}`:
:math:`\mathbb{E}\,X_k\bar X_{k'} = n P(k)\,\delta_{kk'}` and

.. math::
    \Gamma(r) = \frac1n\sum_{k=0}^{n-1} P(k)\,e^{2\pi i kr/n}

(eq. (cond-correlation)). The power-law spectrum is :math:`P(k) = A\,|k|^{-\alpha}` for
:math:`k \ne 0` (with :math:`|k|` the distance of :math:`k` to 0 on the ring of frequencies) and
:math:`P(0) = 0`, the amplitude :math:`A` chosen so that :math:`\Gamma(0) = 1`
(:func:`power_law_spectrum`, eq. (cond-power-law)). **Integrability**: on a finite grid every
:math:`\alpha` gives a finite variance, but the field has a continuum limit (a fixed box, the
grid refined, :math:`n \to \infty`) only if :math:`\sum_{k \ge 1} k^{-\alpha} < \infty`, that is
:math:`\alpha > 1`; for :math:`\alpha \le 1` the variance of a point grows without bound as the
grid is refined, so such exponents are refused.

**Sampling by FFT.** With white noise :math:`\boldsymbol{\epsilon} \sim \mathcal{N}(\mathbf{0},
\mathbf{I})`, :math:`\mathbf{x} = \mathcal{F}^{-1}\big[\sqrt{P}\,
\mathcal{F}\boldsymbol{\epsilon}\big]` has
covariance :math:`\mathcal{F}^{-1}\operatorname{diag}(P)\mathcal{F}`, the circulant above
(:func:`sample_field`).

**Block averages and the exact conditional.** The low-resolution field is the mean over blocks
of :math:`n/m` sites, :math:`\mathbf{y} = \mathbf{B}\mathbf{x}` with :math:`B_{ij} = m/n`
on block :math:`i` (:func:`block_matrix`, :func:`block_average`). The pair
:math:`(\mathbf{x}, \mathbf{y})` is jointly Gaussian, so (eq. (cond-gaussian-conditional))

.. math::
    \mathbf{x} \mid \mathbf{y} \sim \mathcal{N}\big(\mathbf{G}\mathbf{y},\ \mathbf{C} -
    \mathbf{G}\mathbf{B}\mathbf{C}\big), \qquad \mathbf{G} = \mathbf{C}\mathbf{B}^\top
    (\mathbf{B}\mathbf{C}\mathbf{B}^\top)^{+},

with the pseudo-inverse because :math:`P(0) = 0` makes the block averages sum to zero, so
:math:`\mathbf{B}\mathbf{C}\mathbf{B}^\top` has rank :math:`m - 1`
(:func:`conditional_gain`, :func:`conditional_covariance`).

**Estimators.** :func:`power_spectrum` (the periodogram :math:`|X_k|^2/n` averaged over draws)
and :func:`correlation_function` (products at lag :math:`r` averaged over draws and sites).

Book: chapter 8, "Conditional diffusion" (:doc:`/book/part2/08_conditional`), section
"Super-resolution of a Gaussian random field", eqs. (cond-power-law), (cond-correlation),
(cond-gaussian-conditional).
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "block_average",
    "block_matrix",
    "check_exponent",
    "circulant_covariance",
    "conditional_covariance",
    "conditional_gain",
    "correlation_function",
    "expected_periodogram",
    "power_law_spectrum",
    "power_spectrum",
    "sample_field",
    "sample_gaussian",
    "structure_function",
    "upsample",
]


def check_exponent(alpha: object) -> float:
    r"""The spectral exponent :math:`\alpha`, refused unless :math:`\alpha > 1` (the variance
    :math:`\sum_k k^{-\alpha}` of the continuum limit converges)."""
    alpha = check_real("alpha", alpha)
    if not alpha > 1.0:
        raise ValueError(
            f"alpha must be > 1 for a field with a continuum limit (sum of k^-alpha over k >= 1 "
            f"converges only for alpha > 1), got alpha = {alpha}"
        )
    return alpha


def power_law_spectrum(n: int, alpha: float) -> torch.Tensor:
    r"""``(n,)`` float64: :math:`P(k) = A\,|k|^{-\alpha}` at the FFT frequencies
    :math:`k = 0, \dots, n - 1` (:math:`|k| = \min(k, n - k)`), :math:`P(0) = 0`, and
    :math:`A` such that the variance of a site, :math:`\frac1n\sum_k P(k)`, is 1,
    eq. (cond-power-law).

    Args:
        n: the number of sites, even and ``>= 4``.
        alpha: the exponent, ``> 1``.
    """
    n = check_int("n", n, low=4)
    if n % 2:
        raise ValueError(f"n must be even, got n = {n}")
    alpha = check_exponent(alpha)
    k = torch.arange(n, dtype=torch.float64)
    distance = torch.minimum(k, n - k)
    spectrum = torch.zeros(n, dtype=torch.float64)
    spectrum[1:] = distance[1:] ** (-alpha)
    return spectrum * n / spectrum.sum()


def _check_spectrum(spectrum: torch.Tensor) -> torch.Tensor:
    spectrum = check_tensor("spectrum", spectrum, ("n",)).to(torch.float64)
    if bool((spectrum < 0).any()):
        raise ValueError(f"spectrum must be >= 0, got minimum {float(spectrum.min())}")
    if not torch.allclose(spectrum[1:], spectrum[1:].flip(0)):
        raise ValueError("spectrum must be symmetric, P(k) = P(n - k), for a real field")
    return spectrum


def circulant_covariance(spectrum: torch.Tensor) -> torch.Tensor:
    r"""``(n, n)``: :math:`C_{ij} = \Gamma(i - j)` with :math:`\Gamma` of eq. (cond-correlation),
    :math:`\Gamma = \mathcal{F}^{-1}P` (real, since :math:`P` is symmetric).

    Args:
        spectrum: ``(n,)`` the power spectrum :math:`P(k)` at the FFT frequencies.
    """
    spectrum = _check_spectrum(spectrum)
    xi = torch.fft.ifft(spectrum.to(torch.complex128)).real
    n = spectrum.numel()
    lags = (torch.arange(n)[:, None] - torch.arange(n)[None, :]) % n
    return xi[lags]


def sample_field(
    spectrum: torch.Tensor, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    r"""``(n_samples, n)`` float64 draws of the field, :math:`\mathcal{F}^{-1}[\sqrt{P}\,
    \mathcal{F}\boldsymbol{\epsilon}]` with white noise :math:`\boldsymbol{\epsilon}`.

    Args:
        spectrum: ``(n,)`` the power spectrum.
        n_samples: number of fields.
        generator: the source of the white noise.
    """
    spectrum = _check_spectrum(spectrum)
    n_samples = check_int("n_samples", n_samples, low=1)
    white = torch.randn(n_samples, spectrum.numel(), generator=generator, dtype=torch.float64)
    return torch.fft.ifft(spectrum.sqrt() * torch.fft.fft(white, dim=1), dim=1).real


def _check_lengths(n: int, m: int) -> int:
    n = check_int("n (the high-resolution length)", n, low=1)
    m = check_int("m (the low-resolution length)", m, low=1)
    if n % m:
        raise ValueError(
            f"the low-resolution length m = {m} must divide the high-resolution length n = {n}"
        )
    return n // m


def block_matrix(n: int, m: int) -> torch.Tensor:
    r"""``(m, n)`` float64: the block average :math:`\mathbf{B}`, :math:`B_{ij} = 1/b` for site
    :math:`j` in block :math:`i` (sites :math:`ib, \dots, ib + b - 1`), :math:`b = n/m`."""
    b = _check_lengths(n, m)
    return torch.repeat_interleave(torch.eye(m, dtype=torch.float64), b, dim=1) / b


def block_average(x: torch.Tensor, m: int) -> torch.Tensor:
    r"""``(B, m)``: the means of ``x: (B, n)`` over ``m`` consecutive blocks of :math:`n/m`
    sites, :math:`\mathbf{y} = \mathbf{B}\mathbf{x}`."""
    x = check_tensor("x", x, ("B", "n"))
    b = _check_lengths(x.shape[1], m)
    return x.reshape(x.shape[0], m, b).mean(dim=2)


def upsample(y: torch.Tensor, n: int) -> torch.Tensor:
    r"""``(B, n)``: each block value of ``y: (B, m)`` repeated :math:`n/m` times (piecewise
    constant, :math:`b\,\mathbf{B}^\top\mathbf{y}`); block-averages back to ``y``."""
    y = check_tensor("y", y, ("B", "m"))
    b = _check_lengths(n, y.shape[1])
    return torch.repeat_interleave(y, b, dim=1)


def conditional_gain(cov: torch.Tensor, m: int) -> torch.Tensor:
    r"""``(n, m)``: :math:`\mathbf{G} = \mathbf{C}\mathbf{B}^\top(\mathbf{B}\mathbf{C}
    \mathbf{B}^\top)^{+}`, so that :math:`\mathbb{E}[\mathbf{x} \mid \mathbf{y}] =
    \mathbf{G}\mathbf{y}`, eq. (cond-gaussian-conditional).

    Args:
        cov: ``(n, n)`` the covariance :math:`\mathbf{C}` of the field.
        m: the low-resolution length, a divisor of ``n``.
    """
    cov = check_tensor("cov", cov, ("n", "n")).to(torch.float64)
    A = block_matrix(cov.shape[0], m)
    cross = cov @ A.T  # Cov(x, y)
    return cross @ torch.linalg.pinv(A @ cross, hermitian=True, rtol=1e-10)


def conditional_covariance(cov: torch.Tensor, m: int) -> torch.Tensor:
    r"""``(n, n)``: :math:`\mathbf{C} - \mathbf{G}\mathbf{B}\mathbf{C}`, the covariance of
    :math:`\mathbf{x}` given its block averages (the same for every :math:`\mathbf{y}`),
    eq. (cond-gaussian-conditional); symmetrised."""
    cov = check_tensor("cov", cov, ("n", "n")).to(torch.float64)
    out = cov - conditional_gain(cov, m) @ block_matrix(cov.shape[0], m) @ cov
    return 0.5 * (out + out.T)


def sample_gaussian(
    mean: torch.Tensor, cov: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    r"""``(B, n)``: one draw of :math:`\mathcal{N}(\mathbf{m}_b, \boldsymbol{\Sigma})` per row of
    ``mean: (B, n)``, by the eigendecomposition :math:`\boldsymbol{\Sigma} =
    \mathbf{U}\boldsymbol{\Lambda}\mathbf{U}^\top` (which allows a singular
    :math:`\boldsymbol{\Sigma}`; eigenvalues below :math:`10^{-12}` of the largest are set to
    zero)."""
    dims: dict[str, int] = {}
    mean = check_tensor("mean", mean, ("B", "n"), dims=dims).to(torch.float64)
    cov = check_tensor("cov", cov, ("n", "n"), dims=dims).to(torch.float64)
    eigenvalues, U = torch.linalg.eigh(cov)
    # Eigenvalues at rounding level are zero: a singular covariance stays exactly singular.
    eigenvalues = torch.where(eigenvalues > 1e-12 * eigenvalues.max(), eigenvalues, 0.0)
    z = torch.randn(mean.shape, generator=generator, dtype=torch.float64)
    return mean + (z * eigenvalues.sqrt()) @ U.T


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    r"""``(n,)``: the periodogram :math:`\hat P(k) = |X_k|^2/n` averaged over the draws
    ``x: (B, n)``; unbiased for :math:`P(k)` of a periodic stationary field."""
    x = check_tensor("x", x, ("B", "n")).to(torch.float64)
    return (torch.fft.fft(x, dim=1).abs() ** 2).mean(dim=0) / x.shape[1]


def expected_periodogram(cov: torch.Tensor) -> torch.Tensor:
    r"""``(n,)``: :math:`\mathbb{E}|X_k|^2/n = \mathbf{f}_k^{\mathsf H}\mathbf{C}\mathbf{f}_k/n`
    for a field of covariance ``cov: (n, n)``, periodic or not (for a circulant
    :math:`\mathbf{C}` it is :math:`P(k)`)."""
    cov = check_tensor("cov", cov, ("n", "n")).to(torch.float64)
    n = cov.shape[0]
    F = torch.fft.fft(torch.eye(n, dtype=torch.complex128), dim=0)  # rows f_k^H
    return torch.einsum("ki,ij,kj->k", F, cov.to(torch.complex128), F.conj()).real / n


def correlation_function(
    x: torch.Tensor, max_lag: int, *, periodic: bool = True, start: torch.Tensor | None = None
) -> torch.Tensor:
    r"""``(max_lag + 1,)``: :math:`\hat\Gamma(r) = \operatorname{mean}\,x_j x_{j+r}` over the draws
    and over the sites :math:`j` (all of them, wrapping around, when ``periodic``; else those
    with :math:`j + r < n`; or only the sites ``start``, to look across chosen places such as
    seams).

    Args:
        x: ``(B, n)`` draws of a zero-mean field.
        max_lag: the largest lag, ``< n``.
        periodic: wrap around the ring.
        start: ``(J,)`` long, the sites :math:`j` to average over (then :math:`j + r` must stay
            below :math:`n`).
    """
    x = check_tensor("x", x, ("B", "n")).to(torch.float64)
    n = x.shape[1]
    max_lag = check_int("max_lag", max_lag, low=0, high=n - 1)
    out = torch.empty(max_lag + 1, dtype=torch.float64)
    for r in range(max_lag + 1):
        if start is not None:
            if int(start.max()) + r >= n:
                raise ValueError(f"start + lag must stay below n = {n}, got lag {r}")
            out[r] = (x[:, start] * x[:, start + r]).mean()
        elif periodic:
            out[r] = (x * torch.roll(x, -r, dims=1)).mean()
        else:
            out[r] = (x[:, : n - r] * x[:, r:]).mean()
    return out


def structure_function(x: torch.Tensor, max_lag: int, across: list[int]) -> torch.Tensor:
    r"""``(max_lag,)``: the structure function :math:`\tfrac12\operatorname{mean}(x_{j+r} -
    x_j)^2` for
    :math:`r = 1, \dots, \text{max\_lag}`, over the draws and over the pairs that straddle one of
    the sites ``across`` (:math:`j < s \le j + r`). For a stationary field
    it is :math:`\Gamma(0) - \Gamma(r)`: the correlation function seen through differences,
    which the largest scales hardly touch.

    Args:
        x: ``(B, n)`` draws.
        max_lag: the largest lag, ``>= 1``.
        across: sites :math:`s` (a seam lies between :math:`s - 1` and :math:`s`), with
            ``max_lag <= s <= n - max_lag``.
    """
    x = check_tensor("x", x, ("B", "n")).to(torch.float64)
    n = x.shape[1]
    max_lag = check_int("max_lag", max_lag, low=1, high=n - 1)
    if not across or any(not max_lag <= s <= n - max_lag for s in across):
        raise ValueError(
            f"across must list sites s with {max_lag} <= s <= {n - max_lag}, got {across}"
        )
    out = torch.empty(max_lag, dtype=torch.float64)
    for r in range(1, max_lag + 1):
        j = torch.tensor([s - i for s in across for i in range(1, r + 1)])
        out[r - 1] = 0.5 * ((x[:, j + r] - x[:, j]) ** 2).mean()
    return out
