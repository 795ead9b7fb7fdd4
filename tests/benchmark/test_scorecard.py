"""The scorecard: paired verdicts that see a real difference and call noise a tie."""

from __future__ import annotations

import pytest
import torch

from lecture_code.benchmark.scorecard import paired_verdicts, scorecard
from lecture_code.seeding import make_generator


def test_a_clear_win_a_clear_loss_and_a_tie():
    g = make_generator(0)
    hardness = torch.rand(200, 3, dtype=torch.float64, generator=g) * 10  # shared by both
    noise = 0.01 * torch.randn(200, 3, dtype=torch.float64, generator=g)
    baseline = hardness + 1.0
    challenger = hardness + 1.0 + noise + torch.tensor([-0.1, 0.1, 0.0], dtype=torch.float64)
    rows = paired_verdicts(challenger, baseline, 500, make_generator(1))
    assert [row["verdict"] for row in rows] == ["better", "worse", "tie"]
    # The pairing cancels the hardness of each state: the intervals are about 0.003 wide,
    # far narrower than the spread of either score.
    assert all(row["ci"][1] - row["ci"][0] < 0.01 for row in rows)
    assert rows[0]["relative"] == pytest.approx(-0.1 / float(baseline[:, 0].mean()), rel=0.05)


def test_the_challenger_is_a_parameter_and_never_its_own_baseline():
    per_state = {n: torch.rand(20, 2, dtype=torch.float64) for n in ("a", "b", "c")}
    card = scorecard(per_state, "b", ["a", "c", "missing"], 50, make_generator(2))
    assert list(card) == ["a", "c"]
    with pytest.raises(ValueError, match="challenger must be one of"):
        scorecard(per_state, "diffusion", ["a"], 50, make_generator(2))
    with pytest.raises(ValueError, match="baselines must not include the challenger 'b'"):
        scorecard(per_state, "b", ["a", "b"], 50, make_generator(2))
