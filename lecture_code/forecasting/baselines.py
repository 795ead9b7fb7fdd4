r"""The learned baselines of the benchmark: a deterministic network, MC dropout, a
Gaussian-output network and a deep ensemble.

Each predicts the normalised one-step residual :math:`(\mathbf{u}_{n+1} - \mathbf{u}_n -
\mu_r)/s_r` from :math:`\mathbf{u}_n` with a network of
:mod:`lecture_code.forecasting.networks`, and each reads its uncertainty from a different place:

- :class:`DeterministicForecaster`: a network trained on the mean-square error predicts the
  conditional mean; all members are equal (its CRPS is its mean absolute error);
- :class:`MCDropoutForecaster` (Gal and Ghahramani 2016): the same network with its dropout
  masks drawn afresh at every evaluation; the spread of the passes is read as uncertainty;
- :class:`HeteroscedasticDropoutForecaster` (Kendall and Gal 2017): MC dropout whose network
  also outputs a variance, trained on the Gaussian negative log-likelihood with dropout on;
  each draw is one sampled network plus its own Gaussian noise, so it carries both the
  epistemic spread of the masks and an aleatoric one;
- :class:`GaussianForecaster`: a network that outputs a mean and a variance per site, trained on
  the Gaussian negative log-likelihood, sampled independently at every step and site;
- :class:`DeepEnsembleForecaster` (Lakshminarayanan et al. 2017): several such networks; each
  member of the ensemble follows one network drawn at random for its whole path;
- :class:`PhysicsGaussianForecaster`, the benchmark's control "physics + Gaussian": the exact
  deterministic step plus i.i.d. Gaussian noise with one variance fitted on the training
  residuals (:func:`fit_physics_noise`). It knows the equations; it does not know the shape of
  the noise.

References:
    Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation: representing model
    uncertainty in deep learning", ICML 2016, arXiv:1506.02142.
    B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and scalable predictive uncertainty
    estimation using deep ensembles", NeurIPS 2017, arXiv:1612.01474.
    A. Kendall and Y. Gal, "What uncertainties do we need in Bayesian deep learning for
    computer vision?", NeurIPS 2017, arXiv:1703.04977.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

import torch
from torch import nn

from lecture_code.forecasting.dropout import Dropout, set_dropout
from lecture_code.forecasting.fit import Scaling
from lecture_code.forecasting.forecasters import NetworkForecaster
from lecture_code.forecasting.lorenz96 import Lorenz96, model_step
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "DeepEnsembleForecaster",
    "DeterministicForecaster",
    "GaussianForecaster",
    "HeteroscedasticDropoutForecaster",
    "MCDropoutForecaster",
    "PhysicsGaussianForecaster",
    "fit_physics_noise",
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
    r"""MC dropout (Gal and Ghahramani 2016): every member and every step is one pass of the
    MSE network with fresh dropout masks (drawn per site and hidden unit).

    This is the baseline of the lecture the book grows from: the spread of the passes is the
    whole forecast uncertainty. Gal and Ghahramani also add a constant "aleatoric" variance
    :math:`\tau^{-1}` to the predictive distribution; with it the forecaster becomes a
    Gaussian with a fitted variance, which :class:`GaussianForecaster` covers with a
    state-dependent variance. The benchmark keeps the baseline honest by choosing the dropout
    rate (at training and at inference) by the validation CRPS of whole rollouts
    (:func:`lecture_code.benchmark.assembly.tune_rate`).

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

    def _pass(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One pass with fresh masks: (N, K) -> (N, K, C)."""
        set_dropout(self.network, True, generator)
        try:
            return self.network(self.scaling.states(u))
        finally:
            set_dropout(self.network, False)

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self._pass(u, generator)[..., 0]


class HeteroscedasticDropoutForecaster(MCDropoutForecaster):
    r"""MC dropout with a heteroscedastic head (Kendall and Gal 2017): each draw is one pass
    with fresh masks, giving a mean :math:`\mu` and a log-variance :math:`\log v` per site, and
    then :math:`\mu + \sqrt v\,\xi`, :math:`\xi \sim \mathcal{N}(0, 1)` per site. The masks carry
    the uncertainty about the network (epistemic), :math:`v` the noise of the truth
    (aleatoric); the law of a draw is a mixture of Gaussians over masks.

    Args:
        network: a two-channel :class:`~lecture_code.forecasting.networks.RingMLP` (mean,
            log-variance) with ``dropout > 0``, trained on the Gaussian NLL with dropout on.
        scaling: the normalisation.
        K: number of sites.
        chunk: rows per network call.
    """

    name = "mc_dropout_het"

    def _draw(self, u: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = self._pass(u, generator)
        xi = torch.randn(out.shape[:-1], generator=generator)
        return out[..., 0] + torch.exp(0.5 * out[..., 1]) * xi


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
    """A deep ensemble (Lakshminarayanan et al. 2017) of Gaussian-output networks, sampled as
    its mixture: every member draws one network uniformly at random when its path starts and
    follows it for the whole path.

    Drawn this way the ``M`` members are independent draws from the mixture, exchangeable, as
    the fair scores assume. (Member ``m`` on network ``m mod E`` would make the members a
    stratified sample, not an i.i.d. one, and bias the fair CRPS's spread term.)

    :func:`lecture_code.forecasting.forecasters.rollout` calls :meth:`begin` before the first
    step, so the networks of all ``B * M`` paths are drawn once; :meth:`sample_next` on its
    own draws a fresh network for every member.

    Args:
        members: the :class:`GaussianForecaster` of each network (E >= 2).
    """

    name = "deep_ensemble"

    def __init__(self, members: list[GaussianForecaster]) -> None:
        if len(members) < 2:
            raise ValueError(f"a deep ensemble needs >= 2 networks, got {len(members)}")
        self.members = members
        self.K = members[0].K
        #: (B, M) network of each member's path, drawn by :meth:`begin`
        self.assignment: torch.Tensor | None = None

    def begin(self, B: int, M: int, generator: torch.Generator) -> None:
        """Draw the network of each of the ``B * M`` paths, uniformly among the E networks."""
        B, M = check_int("B", B, low=1), check_int("M", M, low=1)
        self.assignment = torch.randint(len(self.members), (B, M), generator=generator)

    def advance(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, M, K) -> (B, M, K): each member advanced by the network of its path."""
        check_tensor("x", x, ("B", "M", self.K))
        B, M = x.shape[0], x.shape[1]
        if self.assignment is None or tuple(self.assignment.shape) != (B, M):
            drawn = None if self.assignment is None else tuple(self.assignment.shape)
            raise ValueError(
                f"no networks drawn for {B} x {M} paths: call begin(B, M, generator) first "
                f"(drawn: {drawn})"
            )
        out = torch.empty(x.shape, dtype=torch.float64)
        for e, member in enumerate(self.members):
            ours = self.assignment == e  # (B, M)
            if bool(ours.any()):
                out[ours] = member.sample_next(x[ours], 1, generator)[:, 0]
        return out

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K): each member from a network drawn afresh for it."""
        u = check_tensor("u", u, ("B", self.K))
        M = check_int("M", M, low=1)
        self.begin(u.shape[0], M, generator)
        return self.advance(u.to(torch.float64)[:, None, :].expand(-1, M, -1), generator)


def fit_physics_noise(system: Lorenz96, u: torch.Tensor, u_next: torch.Tensor) -> float:
    r"""The one noise variance of the control "physics + Gaussian", fitted on training pairs:
    :math:`\hat v = \overline{(u_{n+1,k} - \Phi(\mathbf{u}_n)_k)^2}` over transitions and
    sites, :math:`\Phi` the exact deterministic model step (the maximum-likelihood variance of
    i.i.d. Gaussian noise about it).

    Args:
        system: the truth (its deterministic step is used).
        u, u_next: (N, K) training pairs.
    """
    if not isinstance(system, Lorenz96):
        raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
    dims: dict[str, int] = {}
    u = check_tensor("u", u, ("N", system.K), dims=dims)
    u_next = check_tensor("u_next", u_next, ("N", system.K), dims=dims)
    step = model_step(u.to(torch.float64), system, deterministic=True)
    return float(((u_next.to(torch.float64) - step) ** 2).mean())


class PhysicsGaussianForecaster:
    r"""The control "physics + Gaussian": the exact deterministic model step of the truth plus
    i.i.d. :math:`\mathcal{N}(0, v)` noise at every site and step.

    On the Gaussian track its one-step law is nearly the oracle's (white additive kicks through
    five RK4 substeps stay nearly Gaussian and nearly uncorrelated, chapter 9); on the bursty
    track it misses the skewed, correlated bursts.

    Args:
        system: the truth.
        variance: the noise variance :math:`v > 0` (:func:`fit_physics_noise`).
    """

    name = "physics_gaussian"

    def __init__(self, system: Lorenz96, variance: float) -> None:
        if not isinstance(system, Lorenz96):
            raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
        self.system = system
        self.variance = check_real("variance", variance, low=0.0, low_open=True)
        self.K = system.K

    def sample_next(self, u: torch.Tensor, M: int, generator: torch.Generator) -> torch.Tensor:
        """(B, K) -> (B, M, K) draws of the next state."""
        u = check_tensor("u", u, ("B", self.K))
        M = check_int("M", M, low=1)
        step = model_step(u.to(torch.float64), self.system, deterministic=True)
        noise = torch.randn((u.shape[0], M, self.K), generator=generator, dtype=torch.float64)
        return step[:, None, :] + self.variance**0.5 * noise
