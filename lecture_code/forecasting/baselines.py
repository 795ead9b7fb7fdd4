r"""The learned baselines of the benchmark: a deterministic network, MC dropout, a
Gaussian-output network and a deep ensemble.

Each predicts the normalised one-step residual :math:`(\mathbf{u}_{n+1} - \mathbf{u}_n -
\mu_r)/s_r` from :math:`\mathbf{u}_n` with a network of
:mod:`lecture_code.forecasting.networks`, and each reads its uncertainty from a different place:

- :class:`DeterministicForecaster`: a network trained on the mean-square error predicts the
  conditional mean; all members are equal (its CRPS is its mean absolute error);
- :class:`MCDropoutForecaster` (Gal and Ghahramani 2016): the same network with its dropout
  masks drawn afresh at every evaluation; the spread of the passes is read as uncertainty;
- :class:`GaussianForecaster`: a network that outputs a mean and a variance per site, trained on
  the Gaussian negative log-likelihood, sampled independently at every step and site;
- :class:`DeepEnsembleForecaster` (Lakshminarayanan et al. 2017): several such networks, each
  member of the ensemble following one of them for its whole path.

References:
    Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation: representing model
    uncertainty in deep learning", ICML 2016, arXiv:1506.02142.
    B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and scalable predictive uncertainty
    estimation using deep ensembles", NeurIPS 2017, arXiv:1612.01474.

Book: chapter 11, "Uncertainty baselines".
"""

from __future__ import annotations

import torch
from torch import nn

from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.forecasters import NetworkForecaster
from lecture_code.forecasting.networks import Dropout, set_dropout
from lecture_code.validation import check_int, check_tensor

__all__ = [
    "DeepEnsembleForecaster",
    "DeterministicForecaster",
    "GaussianForecaster",
    "MCDropoutForecaster",
]


class DeterministicForecaster(NetworkForecaster):
    """The conditional mean of a :class:`~lecture_code.forecasting.networks.RingMLP` trained on the
    mean-square error (dropout, if any, switched off); all ``M`` members are equal.

    Args:
        network: maps (B, K) normalised states to (B, K, 1) normalised mean residuals.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
    """

    name = "deterministic"

    def __init__(self, network: nn.Module, scaling: Scaling, K: int, chunk: int = 400) -> None:
        super().__init__(scaling, K, chunk)
        self.network = set_dropout(network, False)

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.network(self.scaling.states(u))[..., 0]

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K): the mean next state, repeated M times."""
        u = check_tensor("u", u, ("B", self.K))
        M = check_int("M", M, low=1)
        mean = super().sample_next(u, 1, generator)
        return mean.expand(-1, M, -1).clone()

    def advance(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, M, K) -> (B, M, K); the members are equal, so only the first is computed."""
        check_tensor("x", x, ("B", "M", self.K))
        return self.sample_next(x[:, 0], x.shape[1], generator)


class MCDropoutForecaster(NetworkForecaster):
    """MC dropout (Gal and Ghahramani 2016): every member and every step is one pass of the
    MSE network with fresh dropout masks (drawn per site and hidden unit).

    This is the baseline of the lecture the book grows from: the spread of the passes is the
    whole forecast uncertainty. Gal and Ghahramani also add a constant "aleatoric" variance
    :math:`\tau^{-1}` to the predictive distribution; with it the forecaster becomes a
    Gaussian with a fitted variance, which :class:`GaussianForecaster` covers with a
    state-dependent variance. The benchmark keeps the baseline honest by choosing the dropout
    rate (at training and at inference) by the validation CRPS of whole rollouts
    (:func:`lecture_code.benchmark.assembly.tune_dropout`).

    Args:
        network: a :class:`~lecture_code.forecasting.networks.RingMLP` with ``dropout > 0``.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
    """

    name = "mc_dropout"

    def __init__(self, network: nn.Module, scaling: Scaling, K: int, chunk: int = 400) -> None:
        super().__init__(scaling, K, chunk)
        if not any(isinstance(layer, Dropout) and layer.p > 0 for layer in network.modules()):
            raise ValueError("network must contain dropout layers with p > 0, found none")
        self.network = network

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        set_dropout(self.network, True, generator)
        try:
            return self.network(self.scaling.states(u))[..., 0]
        finally:
            set_dropout(self.network, False)


class GaussianForecaster(NetworkForecaster):
    """A network with a mean and a log-variance per site, sampled independently per site:
    :math:`r_k = \\mu_k + e^{\\frac12 \\log v_k}\\,\\xi_k`.

    Args:
        network: maps (B, K) normalised states to (B, K, 2): mean and log-variance of the
            normalised residual.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
        name: the label in results.
    """

    def __init__(
        self,
        network: nn.Module,
        scaling: Scaling,
        K: int,
        chunk: int = 400,
        name: str = "gaussian",
    ) -> None:
        super().__init__(scaling, K, chunk)
        self.network = set_dropout(network, False)
        self.name = name

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = self.network(self.scaling.states(u))
        xi = torch.randn(out.shape[:-1], generator=generator)
        return out[..., 0] + torch.exp(0.5 * out[..., 1]) * xi


class DeepEnsembleForecaster:
    """A deep ensemble (Lakshminarayanan et al. 2017) of Gaussian-output networks: member ``m``
    follows network ``m mod E`` for its whole path, so the spread holds both each network's
    variance and the networks' disagreement.

    Args:
        members: the :class:`GaussianForecaster` of each network (E >= 2).
    """

    name = "deep_ensemble"

    def __init__(self, members: list[GaussianForecaster]) -> None:
        if len(members) < 2:
            raise ValueError(f"a deep ensemble needs >= 2 networks, got {len(members)}")
        self.members = members

    def advance(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, M, K) -> (B, M, K): member ``m`` advanced by network ``m mod E``."""
        check_tensor("x", x, ("B", "M", self.members[0].K))
        out = torch.empty(x.shape, dtype=torch.float64)
        for e, member in enumerate(self.members):
            ours = x[:, e :: len(self.members)]
            if ours.shape[1] == 0:
                continue
            flat = ours.reshape(-1, x.shape[2])
            out[:, e :: len(self.members)] = member.sample_next(flat, 1, generator).reshape(
                ours.shape
            )
        return out

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K), member ``m`` drawn from network ``m mod E``."""
        u = check_tensor("u", u, ("B", self.members[0].K))
        M = check_int("M", M, low=1)
        return self.advance(u.to(torch.float64)[:, None, :].expand(-1, M, -1), generator)
