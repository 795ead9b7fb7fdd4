r"""Score matching: three objectives that fit a score model :math:`\mathbf{s}(\mathbf{x})` to
the score :math:`\nabla_{\mathbf{x}}\log p(\mathbf{x})` of the data, and Tweedie's formula.

Every objective is returned *per sample*, ``(B,)``, so that the chapter can average it, take
its standard error, and difference two objectives on the same draws (common random numbers).

- Explicit score matching (eq. (score-esm)), which needs the true score:
  :math:`J_{\text{ESM}}(\mathbf{s}) = \tfrac12\mathbb{E}\lVert\mathbf{s}(\mathbf{x}) -
  \nabla\log p(\mathbf{x})\rVert^2` (:func:`explicit_score_matching`).
- Implicit score matching (Hyvärinen 2005, eq. (score-ism)), which does not:
  :math:`J_{\text{ISM}}(\mathbf{s}) = \mathbb{E}[\operatorname{tr}\nabla\mathbf{s}(\mathbf{x})
  + \tfrac12\lVert\mathbf{s}(\mathbf{x})\rVert^2]`, equal to :math:`J_{\text{ESM}}` minus half
  the Fisher information :math:`F(p) = \mathbb{E}\lVert\nabla\log p\rVert^2` (eq.
  (score-ism-equiv)) (:func:`implicit_score_matching`; the divergence
  :math:`\operatorname{tr}\nabla\mathbf{s}` by automatic differentiation, :func:`divergence`,
  or by random projections :math:`\mathbf{v}^\top\nabla\mathbf{s}\,\mathbf{v}`,
  :func:`sliced_divergence`).
- Denoising score matching (Vincent 2011, eq. (score-dsm)): with
  :math:`\tilde{\mathbf{x}} = a\mathbf{x} + \sigma\boldsymbol{\epsilon}`,
  :math:`J_{\text{DSM}}(\mathbf{s}) = \tfrac12\mathbb{E}\lVert\mathbf{s}(\tilde{\mathbf{x}}) +
  \boldsymbol{\epsilon}/\sigma\rVert^2`, equal to the explicit objective for the noised law
  plus the constant :math:`V_\sigma` (eq. (score-dsm-equiv)) (:func:`denoising_score_matching`).

Tweedie's formula (eq. (score-tweedie)), :math:`\mathbb{E}[\mathbf{x} \mid \tilde{\mathbf{x}}]
= (\tilde{\mathbf{x}} + \sigma^2\nabla\log q(\tilde{\mathbf{x}}))/a`, is
:func:`lecture_code.ddpm.conversions.x_0_from_score`; :func:`posterior_mean_importance`
computes the same posterior mean without the score, by self-normalised importance sampling over
data draws, as the independent side of its check. :func:`relative_error` measures a learned
score against the exact one.

References: A. Hyvärinen, "Estimation of non-normalized statistical models by score matching",
JMLR 6 (2005); P. Vincent, "A connection between score matching and denoising autoencoders",
Neural Computation 23 (2011); Y. Song, S. Garg, J. Shi, S. Ermon, "Sliced score matching",
UAI 2019, arXiv:1905.07088; B. Efron, "Tweedie's formula and selection bias", JASA 106 (2011).

Book: chapter 5, "Score matching" (:doc:`/book/part2/05_score_matching`), sections "Explicit
and implicit score matching", "Denoising score matching" and "Tweedie's formula", eqs.
(score-esm), (score-ism), (score-ism-equiv), (score-dsm), (score-dsm-equiv), (score-tweedie).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lecture_code.ddpm.conversions import score_from_eps
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.validation import check_int, check_real, check_same_shape, check_tensor

__all__ = [
    "ScoreFn",
    "denoising_score_matching",
    "divergence",
    "eps_model_score",
    "explicit_score_matching",
    "implicit_score_matching",
    "posterior_mean_importance",
    "relative_error",
    "score_error_by_level",
    "sliced_divergence",
]

#: A score model ``s(x)``: ``(B, D) -> (B, D)``, differentiable in ``x``.
ScoreFn = Callable[[torch.Tensor], torch.Tensor]


def explicit_score_matching(score: torch.Tensor, true_score: torch.Tensor) -> torch.Tensor:
    r"""``(B,)``: :math:`\tfrac12\lVert\mathbf{s}(\mathbf{x}) - \nabla\log p(\mathbf{x})
    \rVert^2` per draw, whose mean is :math:`J_{\text{ESM}}` (eq. (score-esm)).

    Args:
        score: ``(B, D)`` the model's score at the draws.
        true_score: ``(B, D)`` the true score at the same draws.
    """
    check_tensor("score", score, (None, None))
    check_tensor("true_score", true_score, (None, None))
    check_same_shape("score", score, "true_score", true_score)
    return 0.5 * ((score - true_score) ** 2).sum(dim=1)


def divergence(score_fn: ScoreFn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The score and its divergence :math:`\operatorname{tr}\nabla\mathbf{s}(\mathbf{x}) =
    \sum_i \partial s_i/\partial x_i`, exactly, by one backward pass per dimension.

    Args:
        score_fn: ``s(x)``, ``(B, D) -> (B, D)``, each row depending on its own row of ``x``.
        x: ``(B, D)`` points.

    Returns:
        ``(s, div)``: ``(B, D)`` the score (detached) and ``(B,)`` the divergence.
    """
    check_tensor("x", x, (None, None))
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        s = score_fn(x)
        check_tensor("score_fn(x)", s, tuple(x.shape))
        div = torch.zeros(x.shape[0], dtype=s.dtype)
        for i in range(x.shape[1]):
            # Rows are independent, so the gradient of the column sum is row i's derivative.
            (grad,) = torch.autograd.grad(s[:, i].sum(), x, retain_graph=True)
            div = div + grad[:, i]
    return s.detach(), div.detach()


def sliced_divergence(
    score_fn: ScoreFn, x: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One random projection of the divergence, :math:`\mathbf{v}^\top\nabla\mathbf{s}(\mathbf{x})
    \,\mathbf{v}`, by a single backward pass; for :math:`\mathbb{E}\,\mathbf{v}\mathbf{v}^\top =
    \mathbf{I}` its mean over :math:`\mathbf{v}` is :math:`\operatorname{tr}\nabla\mathbf{s}`
    (sliced score matching, Song et al. 2019).

    Args:
        score_fn: ``s(x)``, ``(B, D) -> (B, D)``, row by row.
        x: ``(B, D)`` points.
        v: ``(B, D)`` one projection direction per point.

    Returns:
        ``(s, proj)``: ``(B, D)`` the score (detached) and ``(B,)`` the projections.
    """
    check_tensor("x", x, (None, None))
    check_tensor("v", v, tuple(x.shape))
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        s = score_fn(x)
        check_tensor("score_fn(x)", s, tuple(x.shape))
        # d/dx (v . s(x)) = (grad s)^T v; dotted with v again gives v^T (grad s) v.
        (grad,) = torch.autograd.grad((v.to(s.dtype) * s).sum(), x)
    return s.detach(), (grad * v.to(grad.dtype)).sum(dim=1).detach()


def implicit_score_matching(score_fn: ScoreFn, x: torch.Tensor) -> torch.Tensor:
    r"""``(B,)``: :math:`\operatorname{tr}\nabla\mathbf{s}(\mathbf{x}) + \tfrac12\lVert
    \mathbf{s}(\mathbf{x})\rVert^2` per draw, whose mean is :math:`J_{\text{ISM}}`
    (eq. (score-ism)); no true score needed.

    Args:
        score_fn: ``s(x)``, ``(B, D) -> (B, D)``, row by row.
        x: ``(B, D)`` draws of the data.
    """
    s, div = divergence(score_fn, x)
    return div + 0.5 * (s**2).sum(dim=1)


def denoising_score_matching(
    score_fn: ScoreFn, x: torch.Tensor, eps: torch.Tensor, scale: float, sigma: float
) -> torch.Tensor:
    r"""``(B,)``: :math:`\tfrac12\lVert\mathbf{s}(\tilde{\mathbf{x}}) + \boldsymbol{\epsilon}
    /\sigma\rVert^2` per draw with :math:`\tilde{\mathbf{x}} = a\mathbf{x} +
    \sigma\boldsymbol{\epsilon}`, whose mean is :math:`J_{\text{DSM}}` (eq. (score-dsm)); the
    target :math:`-\boldsymbol{\epsilon}/\sigma = \nabla_{\tilde{\mathbf{x}}}\log
    q(\tilde{\mathbf{x}} \mid \mathbf{x})` is the score of the noising kernel.

    Args:
        score_fn: ``s(x_tilde)``, ``(B, D) -> (B, D)``.
        x: ``(B, D)`` clean draws.
        eps: ``(B, D)`` standard Gaussian noise.
        scale: :math:`a > 0`.
        sigma: :math:`\sigma > 0`.
    """
    check_tensor("x", x, (None, None))
    check_tensor("eps", eps, tuple(x.shape))
    scale = check_real("scale", scale, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    s = score_fn(scale * x + sigma * eps)
    check_tensor("score_fn(x_tilde)", s, tuple(x.shape))
    return 0.5 * ((s + eps / sigma) ** 2).sum(dim=1)


def posterior_mean_importance(
    x_tilde: torch.Tensor, x_data: torch.Tensor, scale: float, sigma: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r""":math:`\mathbb{E}[\mathbf{x} \mid \tilde{\mathbf{x}}]` by self-normalised importance
    sampling: data draws :math:`\mathbf{x}_j \sim p` weighted by the likelihood
    :math:`q(\tilde{\mathbf{x}} \mid \mathbf{x}_j) \propto \exp(-\lVert\tilde{\mathbf{x}} -
    a\mathbf{x}_j\rVert^2/2\sigma^2)`, since :math:`p(\mathbf{x} \mid \tilde{\mathbf{x}})
    \propto q(\tilde{\mathbf{x}} \mid \mathbf{x})\,p(\mathbf{x})` (Bayes).

    With normalised weights :math:`w_j`, the estimate is :math:`\hat{\boldsymbol{\mu}} =
    \sum_j w_j\mathbf{x}_j`, its standard error (delta method) :math:`\sqrt{\sum_j w_j^2
    (\mathbf{x}_j - \hat{\boldsymbol{\mu}})^2}` per coordinate, and the effective sample size
    :math:`1/\sum_j w_j^2`.

    Args:
        x_tilde: ``(M, D)`` the noised points conditioned on.
        x_data: ``(N, D)`` independent draws of the data.
        scale: :math:`a > 0`.
        sigma: :math:`\sigma > 0`.

    Returns:
        ``(mean, se, ess)``: ``(M, D)``, ``(M, D)`` and ``(M,)``, float64.
    """
    dims: dict[str, int] = {}
    x_tilde = check_tensor("x_tilde", x_tilde, ("M", "D"), dims=dims).to(torch.float64)
    x_data = check_tensor("x_data", x_data, ("N", "D"), dims=dims).to(torch.float64)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    log_w = -((x_tilde[:, None, :] - scale * x_data[None]) ** 2).sum(dim=2) / (2 * sigma**2)
    w = torch.softmax(log_w, dim=1)  # (M, N)
    mean = w @ x_data
    se = torch.sqrt(torch.einsum("mn,mnd->md", w**2, (x_data[None] - mean[:, None]) ** 2))
    return mean, se, 1.0 / (w**2).sum(dim=1)


def relative_error(score: torch.Tensor, true_score: torch.Tensor) -> tuple[float, float]:
    r"""The relative score error :math:`\mathbb{E}\lVert\mathbf{s} - \nabla\log q\rVert^2 /
    \mathbb{E}\lVert\nabla\log q\rVert^2` from draws, with its standard error (delta method for
    a ratio of means).

    Args:
        score: ``(B, D)`` the model's score at draws of :math:`q`.
        true_score: ``(B, D)`` the exact score at the same draws.

    Returns:
        ``(ratio, se)``.
    """
    check_tensor("score", score, (None, None))
    check_tensor("true_score", true_score, tuple(score.shape))
    num = ((score - true_score) ** 2).sum(dim=1).double()
    den = (true_score**2).sum(dim=1).double()
    ratio = float(num.mean() / den.mean())
    # The ratio of means linearised: its error is the mean of (num - ratio * den) / E[den].
    residual = (num - ratio * den) / den.mean()
    return ratio, float(residual.std() / math.sqrt(num.numel()))


def score_error_by_level(
    score_at_level: Callable[[torch.Tensor, float, float], torch.Tensor],
    mixture: GaussianMixture,
    scales: torch.Tensor,
    sigmas: torch.Tensor,
    n: int,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""The relative error (:func:`relative_error`) of a model's score against the exact score
    of the noised mixture :math:`q_{a,\sigma}` (the law of :math:`a\mathbf{x} +
    \sigma\boldsymbol{\epsilon}`), level by level, on ``n`` fresh draws per level.

    Args:
        score_at_level: ``score_at_level(x, a, sigma) -> (B, D)``, the model's score of
            :math:`q_{a,\sigma}` at ``x`` (``(B, D)`` float64); :func:`eps_model_score` turns a
            noise predictor into one.
        mixture: the clean data.
        scales: ``(L,)`` the scales :math:`a` of the levels.
        sigmas: ``(L,)`` their noise standard deviations :math:`\sigma`.
        n: draws per level.
        generator: the source of the draws.

    Returns:
        ``(L, 2)`` float64: the relative error and its standard error per level.
    """
    dims: dict[str, int] = {}
    check_tensor("scales", scales, ("L",), dims=dims)
    check_tensor("sigmas", sigmas, ("L",), dims=dims)
    n = check_int("n", n, low=2)
    rows = []
    for a, sigma in zip(scales.tolist(), sigmas.tolist(), strict=True):
        noised = mixture.noised(a, sigma)
        x = noised.sample(n, generator)
        with torch.no_grad():
            score = score_at_level(x, a, sigma).double()
        check_tensor("score_at_level(x, a, sigma)", score, tuple(x.shape))
        rows.append(relative_error(score, noised.score(x)))
    return torch.tensor(rows, dtype=torch.float64)


def eps_model_score(
    eps_model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, float, float], torch.Tensor]:
    r"""The score :math:`-\hat{\boldsymbol{\epsilon}}(\mathbf{x}, \lambda)/\sigma` of a noise
    predictor, as a ``score_at_level(x, a, sigma)`` for :func:`score_error_by_level`
    (eq. (score-conversions)), with :math:`\lambda = \log(a^2/\sigma^2)`.

    Args:
        eps_model: ``eps_model(x_t, log_snr)``, ``(B, D), (B,) -> (B, D)`` (a
            :class:`lecture_code.ddpm.denoiser.Denoiser`, evaluated in float32).
    """

    def score_at_level(x: torch.Tensor, a: float, sigma: float) -> torch.Tensor:
        log_snr = torch.full((x.shape[0],), math.log(a**2 / sigma**2))
        return score_from_eps(eps_model(x.float(), log_snr).double(), sigma)

    return score_at_level
