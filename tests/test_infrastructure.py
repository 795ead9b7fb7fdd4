"""Unit tests of the infrastructure modules: seeding, validation, verification, style.

The cache has its own tests (``tests/test_cache.py``), and so does the runtime
(``tests/test_runtime.py``).
"""

from __future__ import annotations

import math

import pytest
import torch

from lecture_code import seeding, validation, verification
from lecture_code.plots import style


# --- seeding -------------------------------------------------------------------------------
def test_same_seed_same_draws_and_different_seeds_differ():
    a = torch.randn(5, generator=seeding.make_generator(3))
    b = torch.randn(5, generator=seeding.make_generator(3))
    c = torch.randn(5, generator=seeding.make_generator(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_derived_streams_are_distinct_and_reproducible():
    assert seeding.derive_seed(0, "train") == seeding.derive_seed(0, "train")
    assert seeding.derive_seed(0, "train") != seeding.derive_seed(0, "test")
    assert seeding.derive_seed(0, "train") != seeding.derive_seed(1, "train")
    assert 0 <= seeding.derive_seed(7, "x", 3) < 2**63


def test_global_random_state_is_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    torch.randn(10, generator=seeding.generator_for(0, "anything"))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed_is_named(seed):
    with pytest.raises((ValueError, TypeError), match="seed"):
        seeding.make_generator(seed)


# --- validation ----------------------------------------------------------------------------
def test_check_tensor_accepts_and_binds_symbols():
    dims: dict[str, int] = {}
    x = torch.zeros(4, 2)
    assert validation.check_tensor("x", x, ("B", 2), dims=dims) is x
    assert dims == {"B": 4}
    with pytest.raises(
        ValueError, match=r"y must have shape \(B, 2\) with B = 4, got shape \(3, 2\)"
    ):
        validation.check_tensor("y", torch.zeros(3, 2), ("B", 2), dims=dims)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (torch.zeros(4, 3), r"x must have shape \(B, 2\), got shape \(4, 3\) \(axis 1 is 3"),
        (torch.zeros(4), r"x must have shape \(B, 2\) \(2 axes\), got shape \(4,\) \(1 axes\)"),
        (torch.tensor([[0.0, float("nan")]]), r"x must be finite, got 1 NaN"),
        (torch.zeros(2, 2, dtype=torch.long), r"x must be a floating-point tensor"),
        ([[0.0, 1.0]], r"x must be a torch.Tensor, got \[\[0.0, 1.0\]\]"),
    ],
)
def test_check_tensor_names_the_bad_value(value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        validation.check_tensor("x", value, ("B", 2))


def test_check_real_intervals():
    assert validation.check_real("beta", 0.5, low=0, high=1, low_open=True, high_open=True) == 0.5
    with pytest.raises(ValueError, match=r"beta must lie in \(0, 1\), got 1.0"):
        validation.check_real("beta", 1.0, low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(ValueError, match="beta must be a finite number, got nan"):
        validation.check_real("beta", math.nan)
    with pytest.raises(TypeError, match="beta must be a real number"):
        validation.check_real("beta", "0.1")


def test_check_int_and_choice_and_file(tmp_path):
    assert validation.check_int("T", 10, low=1) == 10
    with pytest.raises(ValueError, match="T must be an integer >= 1, got 0"):
        validation.check_int("T", 0, low=1)
    with pytest.raises(ValueError, match=r"style must be one of \['book', 'slide'\], got 'x'"):
        validation.check_choice("style", "x", ["book", "slide"])
    with pytest.raises(FileNotFoundError, match="results must be an existing file"):
        validation.check_file("results", tmp_path / "missing.json")
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"
    ):
        validation.check_same_shape("a", torch.zeros(2), "b", torch.zeros(3))


def test_check_positive_names_the_first_entry_that_is_not():
    good = torch.tensor([[1.0, 2.0], [0.5, 3.0]])
    assert validation.check_positive("x", good) is good
    x = torch.tensor([[1.0, 2.0], [0.5, -3.0]])
    with pytest.raises(ValueError, match=r"var must be positive, got var\[1, 1\] = -3.0"):
        validation.check_positive("var", x)
    with pytest.raises(ValueError, match=r"sigma must be positive, got sigma = 0.0"):
        validation.check_positive("sigma", torch.tensor(0.0))


def test_per_sample_broadcasts_one_value_per_row_over_any_rank():
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    for shape in ((3,), (3, 2), (3, 2, 4)):
        x = torch.ones(shape)
        out = validation.per_sample(v, x) * x
        assert out.shape == shape
        # row b is multiplied by v[b] everywhere, brute force over the trailing entries
        for b in range(3):
            assert bool((out[b] == v[b]).all())
    # one value for the whole batch passes through; the dtype is never changed
    scalar = torch.tensor(2.0, dtype=torch.float64)
    assert validation.per_sample(scalar, torch.ones(3, 2)) is scalar
    assert validation.per_sample(v, torch.ones(3, 2, dtype=torch.float32)).dtype == torch.float64


@pytest.mark.parametrize(
    ("values", "x", "message"),
    [
        (
            torch.ones(2),
            torch.ones(3, 2),
            r"t must be a single number or have shape \(B,\) with B = 3",
        ),
        (torch.ones(3, 1), torch.ones(3, 2), r"got shape \(3, 1\)"),
        (torch.ones(3), torch.tensor(1.0), r"the batch axis of a tensor of shape \(\)"),
        (1.5, torch.ones(3), r"t must be a torch.Tensor, got 1.5"),
    ],
)
def test_per_sample_names_a_wrong_shape(values, x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        validation.per_sample(values, x, name="t")


# --- verification --------------------------------------------------------------------------
def test_monte_carlo_tolerance_is_z_standard_errors():
    assert verification.monte_carlo_tolerance(2.0, 400, z=3.0) == pytest.approx(0.3)
    assert verification.monte_carlo_tolerance(torch.tensor([1.0, 2.0]), 4, z=1.0) == pytest.approx(
        1.0
    )


def test_verify_close_passes_fails_and_refuses_broadcasting(capsys):
    assert verification.verify_close("c", 1.05, 1.0, 0.1) == pytest.approx(0.05)
    assert "checked c" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="FAILED c"):
        verification.verify_close("c", 1.5, 1.0, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        verification.verify_close("c", torch.zeros(3), torch.zeros(1), 0.1)
    with pytest.raises(AssertionError, match="non-finite"):
        verification.verify_close("c", float("nan"), 0.0, 1.0)


def test_verify_close_reports_where_a_tensor_differs_most(capsys):
    estimate = torch.zeros(3, 4)
    estimate[2, 1] = 0.04
    verification.verify_close("grid", estimate, torch.zeros(3, 4), 0.1)
    out = capsys.readouterr().out
    assert "12 values, worst at (2, 1): estimate 0.04, reference 0" in out
    assert "0.4 of it" in out
    verification.verify_close("pair", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.01]), 0.1)
    assert "estimate [1, 2], reference [1, 2.01]" in capsys.readouterr().out


def test_long_reports_are_broken_to_fit_the_code_column(capsys):
    verification.verify_close("a claim that is long enough " * 3, 1.0, 1.0, 0.1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) <= 100 for line in lines)


def test_verify_rejects_measures_the_margin_and_refuses_a_toothless_check(capsys):
    assert verification.verify_rejects("wrong", 1.5, 1.0, 0.1) == pytest.approx(5.0)
    assert "misses by 5 tolerances" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="no teeth"):
        verification.verify_rejects("wrong", 1.2, 1.0, 0.1, factor=3.0)
    with pytest.raises(ValueError, match="same shape"):
        verification.verify_rejects("wrong", torch.zeros(2), torch.zeros(3), 0.1)


def test_verify_less():
    assert verification.verify_less(
        "bound", torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.1]), quiet=True
    ) == pytest.approx(0.1)
    with pytest.raises(AssertionError, match="FAILED bound"):
        verification.verify_less("bound", 2.0, 1.0, quiet=True)
    # An infinite or NaN side would compare as a pass or fail for no reason: it is refused.
    with pytest.raises(AssertionError, match="non-finite"):
        verification.verify_less("bound", 1.0, float("inf"), quiet=True)
    with pytest.raises(ValueError, match="same shape"):
        verification.verify_less("bound", torch.zeros(2), torch.zeros(3), quiet=True)


# --- style ---------------------------------------------------------------------------------
def test_slide_style_is_16_to_9_with_larger_type():
    w, h = style.figsize("slide")
    assert w / h == pytest.approx(16 / 9, rel=1e-3)
    assert style.STYLES["slide"]["font.size"] > style.STYLES["book"]["font.size"]
    assert style.figsize("book", 0.5, aspect=1.0) == pytest.approx((3.2, 3.2))
    with pytest.raises(ValueError, match="style must be one of"):
        style.figsize("poster")
