"""The per-lead scores: against the metrics they are made of, and the oracle's normalisation."""

from __future__ import annotations

import pytest
import torch

from lecture_code.benchmark.scoring import crps_per_site, score_forecasts
from lecture_code.forecasting.metrics import crps_ensemble
from lecture_code.seeding import make_generator


def _forecasts(B=12, L=3, M=5, K=4, seed=0):
    """Three ensembles around one truth, of spread 1, 3 and 1.5, and the truth."""
    g = make_generator(seed)
    truth = torch.randn(B, L, K, dtype=torch.float64, generator=g)
    spread = {"oracle": 1.0, "climatology": 3.0, "model": 1.5}
    forecasts = {
        name: truth[:, :, None] + scale * torch.randn(B, L, M, K, dtype=torch.float64, generator=g)
        for name, scale in spread.items()
    }
    return forecasts, truth


def test_crps_per_site_is_the_crps_of_each_state_and_lead():
    forecasts, truth = _forecasts()
    scores = crps_per_site(forecasts["model"], truth)
    assert scores.shape == (12, 3, 4)
    for b, lead in ((0, 0), (5, 2), (11, 1)):
        expected = crps_ensemble(forecasts["model"][b : b + 1, lead], truth[b : b + 1, lead])[0]
        torch.testing.assert_close(scores[b, lead], expected, rtol=0, atol=1e-15)


def test_scores_are_normalised_by_the_oracle_and_climatology():
    forecasts, truth = _forecasts()
    models = score_forecasts(
        forecasts, truth, n_boot=50, rank_leads=(1, 3), generator=make_generator(1)
    )
    assert models["oracle"]["crps_ratio"] == pytest.approx([1.0] * 3)
    assert models["oracle"]["gap"] == pytest.approx([0.0] * 3)
    assert models["climatology"]["gap"] == pytest.approx([1.0] * 3)
    crps = crps_per_site(forecasts["model"], truth).mean(dim=(0, 2))
    assert models["model"]["crps"] == pytest.approx(crps.tolist(), rel=1e-12)
    assert set(models["model"]["rank_histogram"]) == {"1", "3"}
    assert sum(models["model"]["rank_histogram"]["1"]) == 12 * 4


def test_the_references_must_be_scored():
    forecasts, truth = _forecasts()
    del forecasts["climatology"]
    with pytest.raises(ValueError, match="forecasts must include 'climatology'"):
        score_forecasts(forecasts, truth, n_boot=50, rank_leads=(), generator=make_generator(0))
