"""Training (Algorithm 20.1) and ancestral sampling (Algorithm 20.2), and the cached experiments
of chapter 4."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.ddpm import algorithms, elbo, experiments, gaussian_reverse
from lecture_code.ddpm.denoiser import Denoiser, MixtureOracle
from lecture_code.ddpm.mixture import GaussianMixture
from lecture_code.ddpm.schedules import linear_schedule
from lecture_code.seeding import make_generator

M = torch.tensor([0.8, -0.4], dtype=torch.float64)
V_0 = 0.2
GAUSSIAN = GaussianMixture(
    torch.ones(1, dtype=torch.float64), M[None], V_0 * torch.eye(2, dtype=torch.float64)[None]
)


def _tiny_net(seed: int = 0) -> Denoiser:
    return Denoiser(D=2, hidden=16, depth=1, embed_dim=8, generator=make_generator(seed))


def _train_tiny(seed: int, steps: int = 5) -> tuple[Denoiser, torch.Tensor]:
    net = _tiny_net(seed)
    x_data = GAUSSIAN.sample(64, make_generator(seed))
    losses = algorithms.train(
        net, linear_schedule(20), x_data, make_generator(seed + 1), steps=steps, batch_size=16
    )
    return net, losses


def test_training_twice_with_the_same_seed_gives_the_same_weights():
    (a, loss_a), (b, loss_b), (c, _) = _train_tiny(0), _train_tiny(0), _train_tiny(1)
    assert torch.equal(loss_a, loss_b)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.output.weight, c.output.weight)


def test_training_lowers_the_loss_and_records_the_noise_range():
    net, losses = _train_tiny(2, steps=300)
    assert losses.shape == (300,) and bool(torch.isfinite(losses).all())
    assert losses[-50:].mean() < losses[:50].mean()
    s = linear_schedule(20)
    assert torch.allclose(net.log_snr_range, torch.tensor([s.log_snr[20], s.log_snr[1]]).float())
    assert not net.training


def test_minimise_follows_the_learning_rate_schedule_and_clips_gradients():
    # One parameter, loss (w - 3)^2 whatever the rows. Adam's step is lr * m_hat / sqrt(v_hat),
    # which is lr exactly (up to its epsilon) while the gradient keeps its sign: w moves by the
    # scheduled rate, and a zero rate does not move it.
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    seen_gradients = []

    def loss_fn(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        assert rows.shape == (4,) and int(rows.max()) < 10
        if model.weight.grad is not None:  # the previous step's gradient, after clipping
            seen_gradients.append(float(model.weight.grad.norm()))
        return ((model.weight - 3.0) ** 2).sum()

    rates = {0: 0.1, 1: 0.0, 2: 0.2}
    losses = algorithms.minimise(
        model, loss_fn, 10, 3, 4, rates.__getitem__, make_generator(0), grad_clip=0.5
    )
    assert losses.shape == (3,) and losses.dtype == torch.float32
    torch.testing.assert_close(losses, torch.tensor([9.0, 2.9**2, 2.9**2]))
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[0.3]]), rtol=0, atol=1e-6)
    # the raw gradients have norms 6 and 5.8: clipped to 0.5
    assert seen_gradients == pytest.approx([0.5, 0.5])
    assert not model.training


def test_minimise_stops_on_a_non_finite_loss_naming_the_step():
    model = torch.nn.Linear(1, 1)

    def loss_fn(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return model.weight.sum() * math.inf

    with pytest.raises(FloatingPointError, match=r"toy: the loss became -?(inf|nan) at step 0"):
        algorithms.minimise(
            model, loss_fn, 4, 2, 2, lambda step: 0.1, make_generator(0), desc="toy"
        )


def test_reverse_mean_of_the_exact_predictor_is_the_optimal_linear_mean():
    # For Gaussian data E[eps | x_t] turns eq. elbo-mu-eps into E[x_{t-1} | x_t] exactly.
    s = linear_schedule(25)
    model = gaussian_reverse.optimal_reverse(s, M, V_0)
    x_t = torch.randn(7, 2, dtype=torch.float64, generator=make_generator(3))
    t = torch.tensor([1, 2, 5, 10, 20, 24, 25])
    expected = model.mu_theta(x_t, t)
    assert torch.allclose(algorithms.reverse_mean(MixtureOracle(GAUSSIAN), s, x_t, t), expected)


def test_ancestral_sampling_with_the_exact_predictor_has_the_predicted_law():
    # Oracle sampling of Gaussian data is the linear chain of gaussian_reverse with
    # gamma_t^2 = beta_t, except that the last step adds no noise: x_0 has mean
    # slope_1 * mean_1 + offset_1 and variance slope_1^2 var_1.
    s = linear_schedule(20)
    model = gaussian_reverse.optimal_reverse(s, M, V_0, elbo.reverse_variance(s))
    mean_p, var_p = model.marginals()
    mean = model.slope[1] * mean_p[1] + model.offset[1]
    var = model.slope[1] ** 2 * var_p[1]
    n = 20_000
    g = make_generator(4)
    x_T = torch.randn(n, 2, dtype=torch.float64, generator=g)
    x_0 = algorithms.ancestral_sample(MixtureOracle(GAUSSIAN), s, x_T, g)
    assert torch.allclose(x_0.mean(0), mean, atol=5 * math.sqrt(var / n))
    assert torch.allclose(x_0.var(0), var.expand(2), atol=5 * var.item() * math.sqrt(2 / n))


def test_trajectory_ends_at_the_samples_and_starts_at_the_noise():
    s = linear_schedule(8)
    x_T = torch.randn(5, 2, dtype=torch.float64, generator=make_generator(5))
    oracle = MixtureOracle(GAUSSIAN)
    path = algorithms.ancestral_sample(oracle, s, x_T, make_generator(6), return_trajectory=True)
    x_0 = algorithms.ancestral_sample(oracle, s, x_T, make_generator(6))
    assert path.shape == (9, 5, 2)
    assert torch.equal(path[8], x_T) and torch.equal(path[0], x_0)
    assert bool(torch.isfinite(path).all())


def test_sampler_inputs_are_checked():
    s = linear_schedule(8)
    oracle = MixtureOracle(GAUSSIAN)
    with pytest.raises(ValueError, match=r"gamma2 must have shape \(9\)"):
        algorithms.ancestral_sample(oracle, s, torch.zeros(3, 2), make_generator(0), torch.ones(8))
    with pytest.raises(ValueError, match="x_T must be finite"):
        algorithms.ancestral_sample(oracle, s, torch.full((3, 2), math.inf), make_generator(0))
    with pytest.raises(ValueError, match=r"t must lie in \[1, T\] = \[1, 8\]"):
        algorithms.reverse_mean(oracle, s, torch.zeros(2, 2), torch.tensor([0, 1]))


# --- the experiments of chapter 4 -------------------------------------------------------------
def test_toy_config_names_bad_settings():
    with pytest.raises(ValueError, match=r"data must be one of \['swiss_roll', 'mixture'\]"):
        experiments.ToyConfig(data="moons")
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        experiments.ToyConfig(steps=0)


def test_trained_denoiser_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_CODE_CACHE", str(tmp_path))
    config = experiments.ToyConfig(
        data="mixture", n_data=64, T=10, hidden=8, depth=1, embed_dim=4, steps=3, batch_size=8
    )
    a, losses_a = experiments.trained_denoiser(config, verbose=False)
    assert len(list(tmp_path.iterdir())) == 1
    b, losses_b = experiments.trained_denoiser(config, verbose=False)
    assert torch.equal(losses_a, losses_b) and torch.equal(a.output.weight, b.output.weight)


def test_drift_field_shapes_and_the_drift_of_the_exact_predictor():
    s = linear_schedule(10)
    points, drift = experiments.drift_field(MixtureOracle(GAUSSIAN), s, 5, lim=2.0, n_grid=4)
    assert points.shape == drift.shape == (16, 2)
    model = gaussian_reverse.optimal_reverse(s, M, V_0)
    expected = model.mu_theta(points, torch.full((16,), 5)) - points
    assert torch.allclose(drift, expected)
