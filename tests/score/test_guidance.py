"""Guidance on the labelled mixture: the Bayes split, CFG = classifier guidance when exact, the
tilted law's normalisation and limits, and bad weights refused with their value named."""

from __future__ import annotations

import pytest
import torch

from lecture_code.ddpm.mixture import gaussian
from lecture_code.ddpm.toy_data import toy_mixture
from lecture_code.score import guidance
from lecture_code.score.denoisers import mixture_denoiser
from lecture_code.score.sde import VPSDE

SDE = VPSDE()


def _points(n: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = 1.5 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    t = 0.01 + 0.98 * torch.rand(n, generator=g, dtype=torch.float64)
    return x, t


def test_component_denoiser_is_the_mixture_denoiser_of_that_component():
    mixture = toy_mixture()
    x, t = _points()
    for y in range(mixture.C):
        single = gaussian(mixture.means[y], mixture.covs[y])
        expected = mixture_denoiser(single, SDE)(x, t)
        assert torch.allclose(guidance.component_denoiser(mixture, y, SDE)(x, t), expected)


def test_bayes_split_classifier_gradient_is_conditional_minus_unconditional_score():
    # grad log p_t(y | x) = grad log p_t(x | y) - grad log p_t(x), eq. (cond-bayes-score)
    mixture = toy_mixture()
    x, _ = _points()
    t = torch.full((x.shape[0],), 0.3, dtype=torch.float64)
    a, s = float(SDE.scale(0.3)), float(SDE.sigma(0.3))
    noised = mixture.noised(a, s)
    y = 1
    component = gaussian(noised.means[y], noised.covs[y])
    expected = component.score(x) - noised.score(x)
    got = guidance.mixture_classifier_gradient(mixture, y, SDE)(x, t)
    assert torch.allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("omega", [0.0, 0.5, 3.0])
def test_cfg_equals_classifier_guidance_with_exact_parts(omega):
    mixture = toy_mixture()
    x, t = _points()
    cond = guidance.component_denoiser(mixture, 2, SDE)
    unc = mixture_denoiser(mixture, SDE)
    cfg = guidance.classifier_free_guidance(cond, unc, omega)(x, t)
    grad = guidance.mixture_classifier_gradient(mixture, 2, SDE)
    cg = guidance.classifier_guidance(unc, grad, SDE, omega)(x, t)
    assert torch.allclose(cfg, cg, atol=1e-9)


def test_omega_zero_is_the_conditional_denoiser():
    mixture = toy_mixture()
    x, t = _points()
    cond = guidance.component_denoiser(mixture, 0, SDE)
    unc = mixture_denoiser(mixture, SDE)
    assert torch.equal(guidance.classifier_free_guidance(cond, unc, 0.0)(x, t), cond(x, t))


def test_tilted_law_at_omega_zero_is_the_component():
    # p(x) r_y(x) = w_y N(x; mu_y, Sigma_y)
    mixture = toy_mixture()
    x, _ = _points()
    got = guidance.tilted_log_density(mixture, 1, 0.0, x)
    expected = torch.log(mixture.weights[1]) + mixture.component_log_prob(x)[:, 1]
    assert torch.allclose(got, expected)


def test_gridded_tilted_law_is_normalised_and_has_the_component_mean_at_zero():
    mixture = toy_mixture()
    centres, masses, h = guidance.gridded_tilted_law(mixture, 0, 0.0, 3.5, 300)
    assert masses.sum().item() == pytest.approx(1.0)
    assert h == pytest.approx(7.0 / 300)
    mean = (masses[:, None] * centres).sum(0)
    assert torch.allclose(mean, mixture.means[0], atol=1e-3)


def test_sample_gridded_law_stays_in_the_cells():
    centres = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    masses = torch.tensor([0.0, 1.0], dtype=torch.float64)
    x = guidance.sample_gridded_law(centres, masses, 0.1, 500, torch.Generator().manual_seed(1))
    assert ((x - 1.0).abs() <= 0.05).all()


def test_discrete_law_denoiser_of_one_atom_returns_it():
    centres = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    den = guidance.discrete_law_denoiser(centres, torch.ones(1, dtype=torch.float64), SDE)
    x, t = _points(5)
    assert torch.allclose(den(x, t), centres.expand(5, 2))


def test_label_fraction_of_the_component_means():
    mixture = toy_mixture()
    assert guidance.label_fraction(mixture, 0, mixture.means) == pytest.approx(1 / 3)


def test_bad_weights_and_labels_are_named():
    mixture = toy_mixture()
    unc = mixture_denoiser(mixture, SDE)
    with pytest.raises(ValueError, match=r"omega.*-1\.0"):
        guidance.classifier_free_guidance(unc, unc, -1.0)
    with pytest.raises(ValueError, match="omega"):
        guidance.classifier_guidance(unc, unc, SDE, float("nan"))
    with pytest.raises(ValueError, match=r"label.*3"):
        guidance.component_denoiser(mixture, 3, SDE)
    with pytest.raises(ValueError, match="masses"):
        guidance.sample_gridded_law(
            torch.zeros(2, 2, dtype=torch.float64),
            torch.tensor([-0.5, 1.5], dtype=torch.float64),
            0.1,
            3,
            torch.Generator(),
        )
