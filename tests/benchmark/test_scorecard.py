"""The scorecard: Holm's procedure against its definition and a worked example; its
family-wise error rate held under a global null where uncorrected tests fail; paired verdicts
that see a clear win and tie with a copy."""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code.benchmark.scorecard import (
    holm,
    holm_adjusted,
    normal_quantile,
    paired_test,
    scorecard,
)
from lecture_code.seeding import make_generator


def test_holm_on_a_worked_example():
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 -> stop: the last two are kept
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_matches_its_definition_and_its_adjusted_p_values():
    g = make_generator(0)
    for _ in range(50):
        p = (torch.rand(8, generator=g) ** 3).tolist()
        order = sorted(range(8), key=p.__getitem__)
        expected = [False] * 8
        for rank, i in enumerate(order):
            if p[i] > 0.05 / (8 - rank):
                break
            expected[i] = True
        assert holm(p) == expected
        assert [a <= 0.05 for a in holm_adjusted(p)] == expected


def test_holm_holds_the_family_wise_error_rate_where_uncorrected_tests_do_not():
    g = make_generator(1)
    reps, n = 400, 20
    z = torch.randn(reps, n, generator=g, dtype=torch.float64)
    p = torch.special.erfc(z.abs() / math.sqrt(2.0))
    any_holm = sum(any(holm(row.tolist())) for row in p) / reps
    any_raw = float((p <= 0.05).any(dim=1).double().mean())
    assert any_holm <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert any_raw == pytest.approx(1 - 0.95**n, abs=0.08)  # about 0.64


def test_a_paired_test_sees_a_clear_win_and_ties_a_copy():
    g = make_generator(2)
    base = torch.rand(300, 4, generator=g, dtype=torch.float64) + 1.0
    better = base - 0.05 + 0.01 * torch.randn(300, 4, generator=g, dtype=torch.float64)
    card = scorecard(
        {"crps": {"new": better, "old": base, "same": better.clone()}},
        "new",
        ["old", "same"],
        200,
        make_generator(3),
    )
    rows = card["cards"]["crps"]
    assert [r["verdict"] for r in rows["old"]] == ["better"] * 4
    assert [r["verdict"] for r in rows["same"]] == ["tie"] * 4
    assert card["summary"]["old"] == {"won": 100.0, "tied": 0.0, "lost": 0.0, "n": 4}
    assert card["n_targets"] == 8
    row = rows["old"][0]
    z = normal_quantile(0.975) + normal_quantile(0.8)
    assert row["detectable"] == pytest.approx(z * row["se"])
    assert row["ci"][0] <= row["difference"] <= row["ci"][1]


def test_p_values_are_uniform_under_the_null():
    g = make_generator(4)
    a = torch.randn(200, 500, generator=g, dtype=torch.float64)
    b = torch.randn(200, 500, generator=g, dtype=torch.float64)
    p = torch.tensor([r["p_value"] for r in paired_test(a, b, 20, make_generator(5))])
    for q in (0.1, 0.5, 0.9):
        assert float((p <= q).double().mean()) == pytest.approx(q, abs=0.07)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda x: scorecard({"crps": {"a": x}}, "new", ["a"], 10, make_generator(0)),
            "challenger 'new' has no 'crps' scores",
        ),
        (
            lambda x: scorecard({"crps": {"a": x}}, "a", ["a"], 10, make_generator(0)),
            "baselines must not include the challenger 'a'",
        ),
        (lambda x: paired_test(x, x[:, :2], 10, make_generator(0)), "baseline must have shape"),
        (lambda x: paired_test(x * math.nan, x, 10, make_generator(0)), "challenger"),
        (lambda x: holm([0.1], alpha=1.5), "alpha must lie in"),
    ],
)
def test_bad_input_is_named(call, match):
    x = torch.rand(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=match):
        call(x)
