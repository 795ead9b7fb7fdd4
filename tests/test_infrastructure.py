"""Unit tests of the infrastructure modules: seeding, validation, checks, cache, style."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from lecture_code import cache, checks, seeding, validation
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


# --- checks --------------------------------------------------------------------------------
def test_monte_carlo_tolerance_is_z_standard_errors():
    assert checks.monte_carlo_tolerance(2.0, 400, z=3.0) == pytest.approx(0.3)
    assert checks.monte_carlo_tolerance(torch.tensor([1.0, 2.0]), 4, z=1.0) == pytest.approx(1.0)


def test_verify_close_passes_fails_and_refuses_broadcasting(capsys):
    assert checks.verify_close("c", 1.05, 1.0, 0.1) == pytest.approx(0.05)
    assert "checked c" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="FAILED c"):
        checks.verify_close("c", 1.5, 1.0, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        checks.verify_close("c", torch.zeros(3), torch.zeros(1), 0.1)
    with pytest.raises(AssertionError, match="non-finite"):
        checks.verify_close("c", float("nan"), 0.0, 1.0)


def test_verify_less():
    assert checks.verify_less(
        "bound", torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.1]), quiet=True
    ) == pytest.approx(0.1)
    with pytest.raises(AssertionError, match="FAILED bound"):
        checks.verify_less("bound", 2.0, 1.0, quiet=True)


# --- cache ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Config:
    width: int = 8


def test_cache_builds_once_and_rebuilds_when_the_configuration_changes(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    calls = []

    def build(value):
        def run():
            calls.append(value)
            return {"weights": torch.full((2,), float(value))}

        return run

    first = cache.cached("toy", _Config(8), build(1), verbose=False)
    again = cache.cached("toy", _Config(8), build(2), verbose=False)
    other = cache.cached("toy", _Config(9), build(3), verbose=False)
    assert calls == [1, 3]
    assert torch.equal(first["weights"], again["weights"])
    assert torch.equal(other["weights"], torch.full((2,), 3.0))


def test_cache_key_depends_on_code():
    import lecture_code.checks as module_a
    import lecture_code.seeding as module_b

    assert cache.cache_key("x", _Config(), [module_a]) != cache.cache_key(
        "x", _Config(), [module_b]
    )


# --- style ---------------------------------------------------------------------------------
def test_slide_style_is_16_to_9_with_larger_type():
    w, h = style.figsize("slide")
    assert w / h == pytest.approx(16 / 9, rel=1e-3)
    assert style.STYLES["slide"]["font.size"] > style.STYLES["book"]["font.size"]
    assert style.figsize("book", 0.5, aspect=1.0) == pytest.approx((3.2, 3.2))
    with pytest.raises(ValueError, match="style must be one of"):
        style.figsize("poster")
