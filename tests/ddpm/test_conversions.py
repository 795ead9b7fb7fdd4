"""The conversions between the noise, the clean data and the score (chapters 3-5).

For Gaussian data every exact prediction is known in closed form, independently of the
conversions: :math:`\\mathbb{E}[\\mathbf{x}_0 \\mid \\mathbf{x}_t]`, :math:`\\mathbb{E}[
\\boldsymbol{\\epsilon} \\mid \\mathbf{x}_t]` and the score of the noised law all follow from
conditioning a joint Gaussian. Each conversion must map one onto the other.
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.conversions import (
    eps_from_score,
    eps_from_x_0,
    score_from_eps,
    score_from_x_0,
    x_0_from_eps,
    x_0_from_score,
)
from lecture_code.seeding import make_generator

MU, V = 0.7, 0.3  # x_0 ~ N(MU, V) in every coordinate


def _exact(x_t: torch.Tensor, a: torch.Tensor, s: torch.Tensor):
    """E[x_0 | x_t], E[eps | x_t] and the score of x_t = a x_0 + s eps, per row."""
    a, s = a[:, None, None], s[:, None, None]
    var_t = a**2 * V + s**2
    score = -(x_t - a * MU) / var_t
    x_0 = MU + a * V / var_t * (x_t - a * MU)
    eps = s / var_t * (x_t - a * MU)  # Cov(eps, x_t) / Var(x_t) (x_t - E x_t)
    return x_0, eps, score


@pytest.fixture
def batch():
    g = make_generator(0)
    x_t = torch.randn(5, 3, 2, dtype=torch.float64, generator=g)  # any rank after the batch
    alpha_bar = torch.tensor([0.999, 0.9, 0.5, 0.1, 0.001], dtype=torch.float64)
    return x_t, alpha_bar.sqrt(), (1 - alpha_bar).sqrt()


def test_each_conversion_maps_one_exact_prediction_onto_another(batch):
    x_t, a, s = batch
    x_0, eps, score = _exact(x_t, a, s)
    torch.testing.assert_close(x_0_from_eps(x_t, eps, a, s), x_0)
    torch.testing.assert_close(eps_from_x_0(x_t, x_0, a, s), eps)
    torch.testing.assert_close(eps_from_score(score, s), eps)
    torch.testing.assert_close(score_from_eps(eps, s), score)
    torch.testing.assert_close(x_0_from_score(x_t, score, a, s), x_0)  # Tweedie
    torch.testing.assert_close(score_from_x_0(x_t, x_0, a, s), score)


def test_a_wrong_power_of_sigma_in_tweedie_fails_the_check(batch):
    # the check has teeth: sigma instead of sigma^2 in Tweedie's formula misses by far
    x_t, a, s = batch
    x_0, _, score = _exact(x_t, a, s)
    wrong = (x_t + s[:, None, None] * score) / a[:, None, None]
    assert (wrong - x_0).abs().max() > 0.1


def test_one_coefficient_for_the_whole_batch_and_the_dtype_of_the_state():
    x_t = torch.randn(4, 2, generator=make_generator(1))  # float32
    eps = torch.randn(4, 2, generator=make_generator(2))
    a, s = math.sqrt(0.4), math.sqrt(0.6)
    out = x_0_from_eps(x_t, eps, a, s)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, (x_t - s * eps) / a)
    same = x_0_from_eps(x_t, eps, torch.tensor(a, dtype=torch.float64), torch.tensor(s))
    torch.testing.assert_close(same, out)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: score_from_x_0(torch.ones(2, 1), torch.ones(2, 1), 1.0, 0.0),
            "sigma must be positive",
        ),
        (
            lambda: x_0_from_eps(
                torch.ones(2, 1), torch.ones(2, 1), torch.tensor([1.0, -1.0]), 1.0
            ),
            r"scale must be positive, got scale\[1\] = -1.0",
        ),
        (
            lambda: x_0_from_score(torch.ones(3, 2), torch.ones(3, 1), 1.0, 1.0),
            r"x_t and score must have the same shape",
        ),
        (
            lambda: eps_from_score(torch.ones(3, 2), torch.ones(2)),
            r"sigma must be a single number or have shape \(B,\) with B = 3",
        ),
    ],
)
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
