r"""Guidance: conditional sampling by transforming the denoiser, and what it samples.

**Conditioning the denoiser.** A model of :math:`p(\mathbf{x} \mid y)` is a denoiser told the
condition, :math:`\hat{\mathbf{x}}_0(\mathbf{x}_t, t \mid y) = \mathbb{E}[\mathbf{x}_0 \mid
\mathbf{x}_t, y]`; every sampler of chapter 7 runs it unchanged, as a closure over :math:`y`.

**Classifier guidance** (Dhariwal and Nichol 2021). Bayes' rule splits the conditional score
(eq. (cond-bayes-score)),

.. math::
    \nabla\log p_t(\mathbf{x} \mid y) = \nabla\log p_t(\mathbf{x}) + \nabla\log p_t(y \mid
    \mathbf{x}),

and guidance scales the classifier's term by :math:`1 + \omega`. Since the score is
:math:`(a\hat{\mathbf{x}}_0 - \mathbf{x}_t)/\sigma^2` (eq. (tweedie-vp)), adding
:math:`\mathbf{g}` to the score adds :math:`\sigma^2\mathbf{g}/a` to the denoiser
(:func:`classifier_guidance`, eq. (cond-classifier-guidance)).

**Classifier-free guidance** (Ho and Salimans 2022). With a conditional and an unconditional
denoiser, :math:`\nabla\log p_t(y \mid \mathbf{x}) = \nabla\log p_t(\mathbf{x} \mid y) -
\nabla\log p_t(\mathbf{x})`, so the guided score is :math:`(1 + \omega)\nabla\log p_t(\mathbf{x}
\mid y) - \omega\nabla\log p_t(\mathbf{x})`, and, the score being affine in the denoiser with
the same coefficients for both,

.. math::
    \hat{\mathbf{x}}_0^{\omega} = (1 + \omega)\,\hat{\mathbf{x}}_0(\mathbf{x}_t, t \mid y) -
    \omega\,\hat{\mathbf{x}}_0(\mathbf{x}_t, t)

(:func:`classifier_free_guidance`, eq. (cond-cfg)). **Convention**: Ho and Salimans' weight,
here :math:`\omega \ge 0`; :math:`\omega = 0` is the plain conditional model. At :math:`t = 0`
the guided score is that of the *tilted law* :math:`\pi_\omega(\mathbf{x}) \propto
p(\mathbf{x})\,p(y \mid \mathbf{x})^{1 + \omega}` (eq. (cond-tilted)), but at :math:`t > 0` it
is not the score of the noised tilted law, so the sampler does not draw :math:`\pi_\omega`.

**The labelled mixture.** For the toy mixture with the component as the label :math:`y`,
everything is exact: the conditional denoiser is the component's Gaussian posterior mean
(:func:`component_denoiser`), the classifier is the noised mixture's responsibility
:math:`r_y` (:func:`mixture_classifier_gradient`), and :math:`\pi_\omega` is computed on a fine
grid (:func:`gridded_tilted_law`) and drawn from it (:func:`sample_gridded_law`).

References:
    P. Dhariwal, A. Nichol, "Diffusion models beat GANs on image synthesis", NeurIPS 2021,
    arXiv:2105.05233.
    J. Ho, T. Salimans, "Classifier-free diffusion guidance", NeurIPS 2021 workshop, 2022,
    arXiv:2207.12598.

Book: chapter 8, "Conditional diffusion" (:doc:`/book/part2/08_conditional`), section
"Guidance", eqs. (cond-bayes-score), (cond-classifier-guidance), (cond-cfg), (cond-tilted).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.toy_data import square_grid
from lecture_code.score.denoisers import Denoiser
from lecture_code.score.sde import VPSDE
from lecture_code.validation import check_int, check_real, check_tensor, per_sample

__all__ = [
    "check_weight",
    "classifier_free_guidance",
    "classifier_guidance",
    "component_denoiser",
    "discrete_law_denoiser",
    "gridded_tilted_law",
    "label_fraction",
    "mixture_classifier_gradient",
    "sample_gridded_law",
    "tilted_log_density",
]

#: ``gradient(x_t: (B, D), t: (B,)) -> (B, D)``: :math:`\nabla_{\mathbf{x}}\log p_t(y \mid
#: \mathbf{x}_t)` for a fixed label.
ClassifierGradient = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_weight(omega: object) -> float:
    r"""The guidance weight :math:`\omega` as a float, refused unless finite and :math:`\ge 0`
    (Ho and Salimans' convention: 0 is the conditional model, larger is stronger guidance)."""
    return check_real("omega (the guidance weight)", omega, low=0.0)


def _check_label(mixture: GaussianMixture, y: object) -> int:
    return check_int("y (the component label)", y, low=0, high=mixture.C - 1)


def classifier_free_guidance(
    conditional: Denoiser, unconditional: Denoiser, omega: float
) -> Denoiser:
    r"""The guided denoiser :math:`(1 + \omega)\hat{\mathbf{x}}_0(\cdot \mid y) -
    \omega\hat{\mathbf{x}}_0`, eq. (cond-cfg).

    Args:
        conditional: ``(x_t: (B, ...), t: (B,)) -> (B, ...)``, the denoiser told the label.
        unconditional: the same signature, the denoiser not told it.
        omega: the guidance weight :math:`\omega \ge 0`.
    """
    omega = check_weight(omega)

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (1 + omega) * conditional(x_t, t) - omega * unconditional(x_t, t)

    return denoiser


def classifier_guidance(
    denoiser: Denoiser, gradient: ClassifierGradient, sde: VPSDE, omega: float
) -> Denoiser:
    r"""The unconditional denoiser guided by a classifier, eq. (cond-classifier-guidance):
    :math:`\hat{\mathbf{x}}_0 + (1 + \omega)\,\sigma^2\,\nabla\log p_t(y \mid \mathbf{x}_t)/a`,
    the denoiser whose score is :math:`\nabla\log p_t(\mathbf{x}) + (1 + \omega)\nabla\log
    p_t(y \mid \mathbf{x})`.

    Args:
        denoiser: the unconditional denoiser, ``(B, D), (B,) -> (B, D)``.
        gradient: :math:`\nabla\log p_t(y \mid \mathbf{x}_t)`, same signature.
        sde: the process, for :math:`a(t)` and :math:`\sigma(t)`.
        omega: the guidance weight :math:`\omega \ge 0`.
    """
    omega = check_weight(omega)

    def guided(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = per_sample(sde.scale(t).to(x_t.dtype), x_t, name="t")
        s = per_sample(sde.sigma(t).to(x_t.dtype), x_t, name="t")
        return denoiser(x_t, t) + (1 + omega) * s**2 / a * gradient(x_t, t)

    return guided


def component_denoiser(mixture: GaussianMixture, y: int, sde: VPSDE) -> Denoiser:
    r"""The exact conditional denoiser of the labelled mixture: component :math:`y` is
    :math:`\mathcal{N}(\boldsymbol{\mu}_y, \boldsymbol{\Sigma}_y)`, so

    .. math::
        \hat{\mathbf{x}}_0(\mathbf{x}_t, t \mid y) = \boldsymbol{\mu}_y +
        a\boldsymbol{\Sigma}_y(a^2\boldsymbol{\Sigma}_y + \sigma^2\mathbf{I})^{-1}(\mathbf{x}_t
        - a\boldsymbol{\mu}_y),

    the posterior mean of a Gaussian prior under :math:`\mathbf{x}_t \mid \mathbf{x}_0 \sim
    \mathcal{N}(a\mathbf{x}_0, \sigma^2\mathbf{I})` (chapter 3's Gaussian conditioning).

    Args:
        mixture: the labelled data law.
        y: the label, a component index in ``0..C-1``.
        sde: the process.
    """
    y = _check_label(mixture, y)
    mean, cov = mixture.means[y], mixture.covs[y]
    eye = torch.eye(mixture.D, dtype=torch.float64)

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", mixture.D), dims=dims)
        check_tensor("t", t, ("B",), dims=dims)
        a = sde.scale(t)[:, None, None]
        s = sde.sigma(t)[:, None, None]
        gain = a * cov @ torch.linalg.inv(a**2 * cov + s**2 * eye)  # (B, D, D)
        diff = x_t.to(torch.float64) - a[:, :, 0] * mean
        return (mean + torch.einsum("bij,bj->bi", gain, diff)).to(x_t.dtype)

    return denoiser


def mixture_classifier_gradient(mixture: GaussianMixture, y: int, sde: VPSDE) -> ClassifierGradient:
    r""":math:`\nabla_{\mathbf{x}}\log p_t(y \mid \mathbf{x}_t) = \nabla\log r_y(\mathbf{x}_t)`,
    the gradient of the log responsibility of component :math:`y` in the noised mixture
    (eq. (gen-noised-mixture)), by automatic differentiation.

    Args:
        mixture: the labelled data law.
        y: the label.
        sde: the process.
    """
    y = _check_label(mixture, y)

    def gradient(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        dims: dict[str, int] = {}
        check_tensor("x_t", x_t, ("B", mixture.D), dims=dims)
        check_tensor("t", t, ("B",), dims=dims)
        out = torch.empty(x_t.shape, dtype=torch.float64)
        times, inverse = torch.unique(t.to(torch.float64), return_inverse=True)
        for j, time in enumerate(times.tolist()):
            rows = inverse == j
            noised = mixture.noised(float(sde.scale(time)), float(sde.sigma(time)))
            x = x_t[rows].detach().to(torch.float64).requires_grad_(True)
            log_r = torch.log_softmax(
                torch.log(noised.weights) + noised.component_log_prob(x), dim=1
            )[:, y]
            (out[rows],) = torch.autograd.grad(log_r.sum(), x)
        return out.to(x_t.dtype)

    return gradient


def tilted_log_density(
    mixture: GaussianMixture, y: int, omega: float, x: torch.Tensor
) -> torch.Tensor:
    r"""``(B,)``: :math:`\log p(\mathbf{x}) + (1 + \omega)\log r_y(\mathbf{x})`, the log of the
    unnormalised tilted law of eq. (cond-tilted); with :math:`\omega = 0` it is
    :math:`\log w_y + \log p(\mathbf{x} \mid y)`.

    Args:
        mixture: the labelled data law.
        y: the label.
        omega: the guidance weight :math:`\omega \ge 0`.
        x: ``(B, D)`` points.
    """
    y = _check_label(mixture, y)
    omega = check_weight(omega)
    log_joint = torch.log(mixture.weights) + mixture.component_log_prob(x)  # (B, C)
    log_p = torch.logsumexp(log_joint, dim=1)
    return log_p + (1 + omega) * (log_joint[:, y] - log_p)


def gridded_tilted_law(
    mixture: GaussianMixture, y: int, omega: float, half_width: float = 3.0, n_cells: int = 400
) -> tuple[torch.Tensor, torch.Tensor, float]:
    r"""The tilted law :math:`\pi_\omega` on the midpoints of a square grid of cells covering
    :math:`[-L, L]^2`: cell masses :math:`\propto \pi_\omega(\mathbf{x}_i)h^2`, normalised.

    Args:
        mixture: the labelled data law (two-dimensional).
        y: the label.
        omega: the guidance weight.
        half_width: :math:`L`, large enough that the mass outside is negligible.
        n_cells: cells per axis.

    Returns:
        ``(centres: (n_cells^2, 2), masses: (n_cells^2,), h)`` with ``masses`` summing to 1 and
        ``h`` the cell width.
    """
    n_cells = check_int("n_cells", n_cells, low=2)
    _, centres = square_grid(half_width, n_cells)
    log_w = tilted_log_density(mixture, y, omega, centres)
    return centres, torch.softmax(log_w, dim=0), 2 * half_width / n_cells


def sample_gridded_law(
    centres: torch.Tensor, masses: torch.Tensor, h: float, n: int, generator: torch.Generator
) -> torch.Tensor:
    r"""``(n, D)`` draws of a gridded law: a cell with probability ``masses``, then a uniform
    point in it (the piecewise-constant density that the grid represents).

    Args:
        centres: ``(M, D)`` cell midpoints.
        masses: ``(M,)`` probabilities, non-negative, summing to 1.
        h: the cell width, positive.
        n: number of draws.
        generator: the source of randomness.
    """
    dims: dict[str, int] = {}
    check_tensor("centres", centres, ("M", "D"), dims=dims)
    check_tensor("masses", masses, ("M",), dims=dims)
    if bool((masses < 0).any()):
        raise ValueError(f"masses must be >= 0, got minimum {float(masses.min())}")
    h = check_real("h", h, low=0.0, low_open=True)
    n = check_int("n", n, low=1)
    cells = torch.multinomial(masses, n, replacement=True, generator=generator)
    jitter = torch.rand(n, centres.shape[1], generator=generator, dtype=torch.float64) - 0.5
    return centres[cells].to(torch.float64) + h * jitter


def discrete_law_denoiser(centres: torch.Tensor, masses: torch.Tensor, sde: VPSDE) -> Denoiser:
    r"""The exact denoiser of the discrete law :math:`\sum_i m_i\,\delta_{\mathbf{x}_i}`:

    .. math::
        \hat{\mathbf{x}}_0(\mathbf{x}_t, t) = \sum_i \frac{m_i\,\mathcal{N}(\mathbf{x}_t;
        a\mathbf{x}_i, \sigma^2\mathbf{I})}{\sum_j m_j\,\mathcal{N}(\mathbf{x}_t;
        a\mathbf{x}_j, \sigma^2\mathbf{I})}\,\mathbf{x}_i .

    With the cells of :func:`gridded_tilted_law` it is the denoiser of the tilted law itself,
    noised the way the forward process noises data: the one that samples :math:`\pi_\omega`.

    Args:
        centres: ``(M, D)`` the atoms :math:`\mathbf{x}_i`.
        masses: ``(M,)`` their probabilities :math:`m_i`.
        sde: the process.
    """
    dims: dict[str, int] = {}
    check_tensor("centres", centres, ("M", "D"), dims=dims)
    check_tensor("masses", masses, ("M",), dims=dims)
    keep = masses > 1e-14 * float(masses.max())
    atoms, log_m = centres[keep].to(torch.float64), torch.log(masses[keep].to(torch.float64))

    def denoiser(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor("x_t", x_t, ("B", dims["D"]))
        a = sde.scale(t)[:, None]
        s = sde.sigma(t)[:, None]
        sq = torch.cdist(x_t.to(torch.float64) / a, atoms) ** 2  # |x_t/a - x_i|^2
        weights = torch.softmax(log_m - 0.5 * sq * a**2 / s**2, dim=1)
        return (weights @ atoms).to(x_t.dtype)

    return denoiser


def label_fraction(mixture: GaussianMixture, y: int, x: torch.Tensor) -> float:
    r"""The fraction of points whose most responsible component (largest :math:`r_c`) is
    :math:`y`: how much of a sample lies in the mode of the label."""
    y = _check_label(mixture, y)
    return float((mixture.responsibilities(x).argmax(dim=1) == y).double().mean())
