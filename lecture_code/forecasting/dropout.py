r"""Dropout whose masks come from an explicit generator, drawn per site or shared over the ring.

MC dropout (Gal and Ghahramani 2016) reads a network with dropout as an approximate posterior
over networks: each mask is one sampled network. The ring networks of
:mod:`lecture_code.forecasting.networks` apply *one* shared MLP at every site, so one sampled
network drops the same hidden units at every site: its mask is shared over the ring
(``shared=True``). Masks drawn per site instead (``shared=False``, what ``nn.Dropout`` does)
give every site its own network; their noise averages out over neighbouring sites and is
independent between sites, which is not what the posterior over one network means.

References:
    Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation: representing model
    uncertainty in deep learning", ICML 2016, arXiv:1506.02142.
    N. Srivastava et al., "Dropout: a simple way to prevent neural networks from overfitting",
    JMLR 15, 2014.

Book: chapter 11, "Uncertainty baselines" (:doc:`/book/part3/11_baselines`).
"""

from __future__ import annotations

import torch
from torch import nn

from lecture_code.validation import check_real

__all__ = ["Dropout", "set_dropout"]


class Dropout(nn.Module):
    """Inverted dropout (Srivastava et al. 2014) whose masks come from an explicit generator.

    In training mode each entry is zeroed with probability ``p`` and the rest are scaled by
    ``1 / (1 - p)``, so the mean activation is unchanged; in eval mode it is the identity.
    Unlike ``nn.Dropout`` it draws from ``self.generator`` (set by :func:`set_dropout`), not
    from PyTorch's global generator, so MC-dropout forecasts are reproducible from a seed.

    Args:
        p: the dropout probability, in [0, 1).
        shared: for an input (B, K, H) draw one mask (B, 1, H) per row, shared by the K sites
            (one sampled network per row); otherwise one per entry.
    """

    def __init__(self, p: float, shared: bool = False) -> None:
        super().__init__()
        self.p = check_real("p", p, low=0.0, high=1.0, high_open=True)
        self.shared = bool(shared)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(...) -> (...), masked in training mode."""
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0], 1, *x.shape[2:]) if self.shared and x.ndim >= 3 else x.shape
        keep = torch.rand(shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p:g}, shared={self.shared}"


def set_dropout(
    module: nn.Module, active: bool, generator: torch.Generator | None = None
) -> nn.Module:
    """Switch every :class:`Dropout` layer of ``module`` on (``active=True``: masks are drawn
    from ``generator``, as in training and in MC dropout) or off (the deterministic network),
    leaving the rest of the module in eval mode. Returns ``module``."""
    module.eval()
    for layer in module.modules():
        if isinstance(layer, Dropout):
            layer.train(active)
            layer.generator = generator if active else None
    return module
