r"""The KL divergence between two Gaussians, in closed form.

Every term of the variational bound of chapter 3 but the last is a KL divergence between
Gaussians. For :math:`\mathcal{N}(\boldsymbol{\mu}_q, \boldsymbol{\Sigma}_q)` and
:math:`\mathcal{N}(\boldsymbol{\mu}_p, \boldsymbol{\Sigma}_p)` in :math:`D` dimensions
(eq. (elbo-kl-general)),

.. math::

    D_{\mathrm{KL}} = \frac12\Big[\operatorname{tr}(\boldsymbol{\Sigma}_p^{-1}
    \boldsymbol{\Sigma}_q) + (\boldsymbol{\mu}_p - \boldsymbol{\mu}_q)^\top
    \boldsymbol{\Sigma}_p^{-1}(\boldsymbol{\mu}_p - \boldsymbol{\mu}_q) - D
    + \log\frac{\det\boldsymbol{\Sigma}_p}{\det\boldsymbol{\Sigma}_q}\Big]

(:func:`gaussian_kl_full`), and for isotropic covariances :math:`v_q\mathbf{I}`,
:math:`v_p\mathbf{I}` the trace and the determinants reduce to :math:`Dv_q/v_p` and
:math:`D\log(v_p/v_q)` (eq. (elbo-kl-isotropic), :func:`gaussian_kl`), the form that the
denoising terms of the bound use. With a learned diagonal covariance (section "Learning the
variances") the general form applies coordinate by coordinate.

Book: chapter 3, "The reverse process and the ELBO"
(:doc:`/book/part1/03_reverse_process_elbo`), section "KL divergence between Gaussians", eqs.
(elbo-kl-general), (elbo-kl-isotropic).
"""

from __future__ import annotations

import torch

from lecture_code.validation import check_positive, check_tensor

__all__ = ["gaussian_kl", "gaussian_kl_full"]


def gaussian_kl(
    mean_q: torch.Tensor, var_q: torch.Tensor, mean_p: torch.Tensor, var_p: torch.Tensor
) -> torch.Tensor:
    r""":math:`D_{\mathrm{KL}}\big(\mathcal{N}(\boldsymbol{\mu}_q, v_q\mathbf{I}) \,\Vert\,
    \mathcal{N}(\boldsymbol{\mu}_p, v_p\mathbf{I})\big)` (eq. (elbo-kl-isotropic)):

    .. math::

        \frac{1}{2}\Big[D\log\frac{v_p}{v_q} + D\frac{v_q}{v_p} - D
        + \frac{\lVert\boldsymbol{\mu}_q - \boldsymbol{\mu}_p\rVert^2}{v_p}\Big].

    Args:
        mean_q: ``(B, D)``, mean of the first Gaussian.
        var_q: ``(B,)`` positive, its variance.
        mean_p: ``(B, D)``, mean of the second Gaussian.
        var_p: ``(B,)`` positive, its variance.

    Returns:
        ``(B,)``, non-negative, zero exactly when the two Gaussians are equal.
    """
    dims: dict[str, int] = {}
    check_tensor("mean_q", mean_q, ("B", "D"), dims=dims)
    check_tensor("mean_p", mean_p, ("B", "D"), dims=dims)
    _check_variance("var_q", var_q, dims)
    _check_variance("var_p", var_p, dims)
    D = mean_q.shape[1]
    ratio = var_q / var_p
    # log(v_p / v_q) = -log(ratio); ratio - 1 - log(ratio) >= 0 is the variance mismatch.
    variance_part = 0.5 * D * (ratio - 1.0 - torch.log(ratio))
    return variance_part + ((mean_q - mean_p) ** 2).sum(dim=1) / (2 * var_p)


def gaussian_kl_full(
    mean_q: torch.Tensor, cov_q: torch.Tensor, mean_p: torch.Tensor, cov_p: torch.Tensor
) -> torch.Tensor:
    r""":math:`D_{\mathrm{KL}}\big(\mathcal{N}(\boldsymbol{\mu}_q, \boldsymbol{\Sigma}_q)
    \,\Vert\, \mathcal{N}(\boldsymbol{\mu}_p, \boldsymbol{\Sigma}_p)\big)` for full
    covariances (eq. (elbo-kl-general)), with the inverse and the determinants from Cholesky
    factors :math:`\boldsymbol{\Sigma} = \mathbf{L}\mathbf{L}^\top`.

    Args:
        mean_q: ``(B, D)``, mean of the first Gaussian.
        cov_q: ``(B, D, D)`` symmetric positive definite, its covariance.
        mean_p: ``(B, D)``, mean of the second Gaussian.
        cov_p: ``(B, D, D)`` symmetric positive definite, its covariance.

    Returns:
        ``(B,)`` float64, non-negative.

    Raises:
        ValueError: naming the first covariance that is not positive definite.
    """
    dims: dict[str, int] = {}
    for name, value, shape in (
        ("mean_q", mean_q, ("B", "D")),
        ("mean_p", mean_p, ("B", "D")),
        ("cov_q", cov_q, ("B", "D", "D")),
        ("cov_p", cov_p, ("B", "D", "D")),
    ):
        check_tensor(name, value, shape, dims=dims)
    chol = {}
    for name, cov in (("cov_q", cov_q), ("cov_p", cov_p)):
        chol[name], info = torch.linalg.cholesky_ex(cov.to(torch.float64))
        if bool((info != 0).any()):
            i = int((info != 0).nonzero()[0, 0])
            raise ValueError(f"{name}[{i}] must be positive definite, got {cov[i].tolist()}")
    L_q, L_p = chol["cov_q"], chol["cov_p"]
    # tr(S_p^-1 S_q) = |L_p^-1 L_q|_F^2 and the Mahalanobis term = |L_p^-1 Delta|^2.
    trace = (torch.linalg.solve_triangular(L_p, L_q, upper=False) ** 2).sum(dim=(1, 2))
    delta = (mean_p - mean_q).to(torch.float64)[:, :, None]
    mahalanobis = (torch.linalg.solve_triangular(L_p, delta, upper=False) ** 2).sum(dim=(1, 2))
    log_det = 2 * (L_p.diagonal(dim1=1, dim2=2).log() - L_q.diagonal(dim1=1, dim2=2).log())
    return 0.5 * (trace + mahalanobis - mean_q.shape[1] + log_det.sum(1))


def _check_variance(name: str, var: torch.Tensor, dims: dict[str, int]) -> None:
    check_tensor(name, var, ("B",), dims=dims)
    check_positive(name, var)
