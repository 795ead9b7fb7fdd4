"""The per-lead scores: against the metrics they are made of, with intervals that cover, and
the oracle's normalisation; the PIT flatness test keeps its size and sees a spread error."""

from __future__ import annotations

import pytest
import torch

from lecture_code.benchmark.scoring import (
    crps_per_site,
    per_state_scores,
    pit_flatness,
    score_forecasts,
)
from lecture_code.forecasting.calibration import ensemble_mean_rmse, spread_skill_ratio
from lecture_code.forecasting.metrics import crps_ensemble, energy_score
from lecture_code.forecasting.shape_scores import quantile_score, variogram_score
from lecture_code.seeding import make_generator


def _forecasts(B=40, L=3, M=5, K=8, seed=0):
    """Three ensembles around one truth, of spread 1, 3 and 1.5, and the truth."""
    g = make_generator(seed)
    truth = torch.randn(B, L, K, dtype=torch.float64, generator=g)
    centre = truth + torch.randn(B, L, K, dtype=torch.float64, generator=g)
    spread = {"oracle": 1.0, "climatology": 3.0, "model": 1.5}
    forecasts = {
        name: centre[:, :, None] + s * torch.randn(B, L, M, K, dtype=torch.float64, generator=g)
        for name, s in spread.items()
    }
    return forecasts, truth


def test_crps_per_site_is_the_crps_of_each_state_and_lead():
    forecasts, truth = _forecasts()
    scores = crps_per_site(forecasts["model"], truth)
    assert scores.shape == (40, 3, 8)
    for b, lead in ((0, 0), (5, 2), (11, 1)):
        expected = crps_ensemble(forecasts["model"][b : b + 1, lead], truth[b : b + 1, lead])[0]
        torch.testing.assert_close(scores[b, lead], expected, rtol=0, atol=1e-15)


def test_per_state_scores_are_the_metrics_of_each_state():
    forecasts, truth = _forecasts()
    f, y = forecasts["model"][:, 1], truth[:, 1]
    scores = per_state_scores(forecasts["model"], truth)
    torch.testing.assert_close(scores["quantile_01"][:, 1], quantile_score(f, y, 0.01).mean(-1))
    torch.testing.assert_close(scores["quantile_99"][:, 1], quantile_score(f, y, 0.99).mean(-1))
    torch.testing.assert_close(scores["energy"][:, 1], energy_score(f, y))
    torch.testing.assert_close(scores["variogram"][:, 1], variogram_score(f, y, 0.5, 3))
    with pytest.raises(ValueError, match="M >= 2 members"):
        per_state_scores(forecasts["model"][:, :, :1], truth)


def test_scores_match_the_calibration_module_and_their_intervals_cover_them():
    forecasts, truth = _forecasts()
    models, per_state = score_forecasts(
        forecasts, truth, n_boot=200, rank_leads=(1, 3), generator=make_generator(1)
    )
    entry = models["model"]
    for lead in range(3):
        f, y = forecasts["model"][:, lead], truth[:, lead]
        assert entry["ssr"][lead] == pytest.approx(spread_skill_ratio(f, y), rel=1e-10)
        assert entry["rmse"][lead] == pytest.approx(ensemble_mean_rmse(f, y), rel=1e-10)
        for key in ("crps", "rmse", "ssr", "quantile_01", "energy", "variogram", "crps_ratio"):
            low, high = entry[f"{key}_ci"][lead]
            assert low <= entry[key][lead] <= high, key
    assert models["oracle"]["crps_ratio"] == pytest.approx([1.0] * 3)
    assert models["oracle"]["crps_ratio_ci"] == [[pytest.approx(1.0)] * 2] * 3  # paired: exact
    assert models["oracle"]["gap"] == pytest.approx([0.0] * 3)
    assert models["climatology"]["gap"] == pytest.approx([1.0] * 3)
    assert set(entry["rank_histogram"]) == set(entry["pit"]) == {"1", "3"}
    assert sum(entry["rank_histogram"]["1"]) == 40 * 8
    assert set(per_state["model"]) >= {"crps", "mse", "spread2"}


def test_the_pit_test_keeps_its_size_and_rejects_an_under_dispersed_ensemble():
    g = make_generator(3)
    B, M, K = 600, 20, 40
    truth = torch.randn(B, K, dtype=torch.float64, generator=g)
    calibrated = torch.randn(B, M, K, dtype=torch.float64, generator=g)
    narrow = 0.7 * calibrated
    rejections = 0
    for rep in range(40):
        y = torch.randn(B, K, dtype=torch.float64, generator=g)
        rejections += pit_flatness(calibrated, y, make_generator(rep))["p_value"] < 0.05
    assert rejections <= 6  # binomial(40, 0.05): P(>= 7) < 0.01
    assert pit_flatness(narrow, truth, make_generator(0))["p_value"] < 1e-3


def test_the_references_must_be_scored():
    forecasts, truth = _forecasts()
    del forecasts["climatology"]
    with pytest.raises(ValueError, match="must include 'climatology'"):
        score_forecasts(forecasts, truth, n_boot=50, rank_leads=(), generator=make_generator(0))
