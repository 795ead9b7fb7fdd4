"""One conversion for every plotting function: tensors, lists and arrays become float arrays.

Plotting functions accept what the computing modules return (``torch.Tensor``) as well as plain
lists and NumPy arrays; :func:`as_array` is the single place where they become the
``numpy.ndarray`` of floats that matplotlib draws.

Book: preface, section "Regenerating the figures".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["ArrayLike", "as_array"]

#: What a plotting function accepts as data.
ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def as_array(values: ArrayLike) -> np.ndarray:
    """``values`` as a float64 NumPy array (a tensor is detached and moved to the CPU first)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)
