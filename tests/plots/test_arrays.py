"""Plotting functions see one kind of data: float arrays, whatever they were given."""

from __future__ import annotations

import numpy as np
import torch

from lecture_code.plots.arrays import as_array


def test_tensors_lists_and_arrays_become_the_same_float64_array():
    expected = np.array([0.5, 1.0, 2.0])
    for values in (
        torch.tensor([0.5, 1.0, 2.0], dtype=torch.float32),
        torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True),
        [0.5, 1, 2],
        np.array([0.5, 1.0, 2.0], dtype=np.float32),
    ):
        array = as_array(values)
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, expected)


def test_a_tensor_that_needs_gradients_is_detached_not_refused():
    x = torch.linspace(0, 1, 5, requires_grad=True)
    assert as_array(x**2).shape == (5,)
