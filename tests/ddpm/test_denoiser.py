"""The noise-predicting MLP and the exact noise predictor of mixture data (chapter 4)."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm.denoiser import (
    Denoiser,
    MixtureOracle,
    embedding_frequencies,
    linear_layer,
    sinusoidal_embedding,
)
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.seeding import make_generator


def _net(seed: int = 0, **kwargs: int) -> Denoiser:
    settings = {"D": 2, "hidden": 16, "depth": 2, "embed_dim": 8, **kwargs}
    return Denoiser(**settings, generator=make_generator(seed))


def test_frequencies_are_geometric_between_their_end_points():
    varpi = embedding_frequencies(5, min_freq=0.05, max_freq=5.0)
    assert varpi.shape == (5,) and varpi.dtype == torch.float64
    torch.testing.assert_close(varpi[[0, -1]], torch.tensor([0.05, 5.0], dtype=torch.float64))
    ratios = varpi[1:] / varpi[:-1]
    torch.testing.assert_close(ratios, torch.full((4,), 100**0.25, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"max_freq must lie in \[0.05, inf\]"):
        embedding_frequencies(4, min_freq=0.05, max_freq=0.01)


def test_embedding_has_the_right_shape_and_lies_on_circles():
    log_snr = torch.linspace(-10, 10, 7)
    e = sinusoidal_embedding(log_snr, embedding_frequencies(4, dtype=torch.float32))
    assert e.shape == (7, 8)
    # each frequency contributes one (sin, cos) pair on the unit circle
    assert torch.allclose(e[:, :4] ** 2 + e[:, 4:] ** 2, torch.ones(7, 4), atol=1e-6)
    # column j is sin(varpi_j lambda), column n + j its cosine: brute force, one entry at a time
    varpi = embedding_frequencies(4, dtype=torch.float32)
    assert e[2, 1] == torch.sin(varpi[1] * log_snr[2]) and e[2, 5] == torch.cos(
        varpi[1] * log_snr[2]
    )
    with pytest.raises(ValueError, match=r"frequencies must have shape \(n_frequencies\)"):
        sinusoidal_embedding(log_snr, torch.ones(2, 2))


def test_embedding_separates_noise_levels():
    e = sinusoidal_embedding(torch.tensor([-10.0, -9.9, 9.9]), embedding_frequencies(16))
    assert (e[0] - e[1]).norm() > 0.1 and (e[0] - e[2]).norm() > 1.0


@pytest.mark.parametrize(("n_in", "n_out", "bias"), [(2, 16, True), (37, 5, True), (5, 32, False)])
def test_linear_layer_draws_what_nn_linear_draws_from_the_global_generator(n_in, n_out, bias):
    # nn.Linear's default law, U(-1/sqrt(n_in), 1/sqrt(n_in)) for weights then biases, drawn
    # from the global generator; linear_layer draws it from its argument, to the bit, so the
    # networks of Part III, once built inside a seeded global state, keep their weights.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        expected = torch.nn.Linear(n_in, n_out, bias=bias)
        before = torch.random.get_rng_state()
        layer = linear_layer(n_in, n_out, make_generator(5), bias=bias)
        assert torch.equal(torch.random.get_rng_state(), before)  # the global state is untouched
    assert torch.equal(layer.weight, expected.weight)
    assert (layer.bias is None) == (not bias)
    if bias:
        assert torch.equal(layer.bias, expected.bias)


def test_an_odd_embedding_size_is_refused():
    with pytest.raises(ValueError, match="embed_dim must be even"):
        _net(embed_dim=7)


def test_network_output_has_the_input_shape_and_is_finite():
    net = _net()
    x_t = torch.randn(5, 2, generator=make_generator(1))
    out = net(x_t, torch.linspace(-5, 5, 5))
    assert out.shape == (5, 2) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all())


def test_same_seed_same_weights_and_the_global_state_is_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a, b, c = _net(0), _net(0), _net(1)
    assert torch.equal(torch.rand(3), expected)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_noise_levels_outside_the_trained_range_are_clamped():
    net = _net()
    net.log_snr_range.copy_(torch.tensor([-10.0, 9.0]))
    x_t = torch.randn(2, 2, generator=make_generator(2))
    assert torch.equal(net(x_t, torch.tensor([-30.0, 20.0])), net(x_t, torch.tensor([-10.0, 9.0])))


def test_network_inputs_are_checked():
    net = _net()
    with pytest.raises(ValueError, match=r"x_t must have shape \(B, 2\)"):
        net(torch.zeros(3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"log_snr must have shape \(B\) with B = 3"):
        net(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="x_t must be finite"):
        net(torch.full((3, 2), math.nan), torch.zeros(3))


# --- the exact predictor --------------------------------------------------------------------
def test_oracle_is_minus_sigma_times_the_score_of_the_noised_mixture_row_by_row():
    data = toy_mixture()
    x_t = torch.randn(6, 2, dtype=torch.float64, generator=make_generator(3))
    # repeated levels share one evaluation inside the oracle; each row must get its own
    log_snr = torch.tensor([-6.0, 2.0, -6.0, 0.5, 2.0, 6.0], dtype=torch.float64)
    eps = MixtureOracle(data)(x_t, log_snr)
    for i in range(6):
        alpha_bar = torch.sigmoid(log_snr[i]).item()
        noised = data.noised(math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar))
        expected = -math.sqrt(1 - alpha_bar) * noised.score(x_t[i : i + 1])[0]
        assert torch.allclose(eps[i], expected, atol=1e-12)


def test_oracle_for_gaussian_data_is_the_linear_regression_of_the_noise():
    # x_0 ~ N(m, s^2 I): E[eps | x_t] = sqrt(1 - ab)(x_t - sqrt(ab) m) / (ab s^2 + 1 - ab).
    m, s2 = torch.tensor([0.5, -1.0], dtype=torch.float64), 0.3
    data = GaussianMixture(
        torch.ones(1, dtype=torch.float64), m[None], s2 * torch.eye(2, dtype=torch.float64)[None]
    )
    log_snr = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    x_t = torch.randn(3, 2, dtype=torch.float64, generator=make_generator(4))
    ab = torch.sigmoid(log_snr)[:, None]
    expected = torch.sqrt(1 - ab) * (x_t - torch.sqrt(ab) * m) / (ab * s2 + 1 - ab)
    assert torch.allclose(MixtureOracle(data)(x_t, log_snr), expected, atol=1e-12)


def test_oracle_has_a_smaller_mean_squared_error_than_perturbed_predictors():
    # E[eps | x_t] minimises E|eps - f(x_t)|^2 over all functions f.
    data = toy_mixture()
    n = 20_000
    g = make_generator(5)
    x_0 = data.sample(n, g)
    eps = torch.randn(n, 2, dtype=torch.float64, generator=g)
    log_snr = torch.zeros(n, dtype=torch.float64)  # alpha_bar = 1/2
    x_t = math.sqrt(0.5) * (x_0 + eps)
    best = MixtureOracle(data)(x_t, log_snr)
    loss = ((eps - best) ** 2).sum(1).mean()
    for perturbed in (0.9 * best, best + 0.1, best + 0.05 * torch.tanh(x_t)):
        assert ((eps - perturbed) ** 2).sum(1).mean() > loss


def test_noise_level_clamp_matches_the_network_clamp():
    """The wrapper clamps like Denoiser.forward: outside levels give the edge's prediction."""
    from lecture_code.ddpm.denoiser import MixtureOracle, NoiseLevelClamp
    from lecture_code.ddpm.toy_data import toy_mixture

    oracle = MixtureOracle(toy_mixture())
    clamped = NoiseLevelClamp(oracle, -3.0, 2.0)
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    low = torch.full((4,), -3.0, dtype=torch.float64)
    torch.testing.assert_close(clamped(x, low - 5), oracle(x, low))
    inside = torch.full((4,), 0.5, dtype=torch.float64)
    torch.testing.assert_close(clamped(x, inside), oracle(x, inside))
    with pytest.raises(ValueError, match="high"):
        NoiseLevelClamp(oracle, 1.0, 0.0)
