"""The model cache is keyed by name, configuration and code, and never serves a stale build."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import pytest
import torch

from lecture_code import cache


@dataclass(frozen=True)
class _Inner:
    hidden: int = 16


@dataclass(frozen=True)
class _Settings:
    steps: int = 100
    lr: float = 1e-3
    inner: _Inner = _Inner()


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_key_changes_with_name_and_with_any_field_even_a_nested_one():
    key = cache.cache_key("net", _Settings(), [cache])
    assert key == cache.cache_key("net", _Settings(), [cache])
    assert key != cache.cache_key("other", _Settings(), [cache])
    assert key != cache.cache_key("net", _Settings(steps=101), [cache])
    assert key != cache.cache_key("net", _Settings(lr=1.0001e-3), [cache])
    assert key != cache.cache_key("net", _Settings(inner=_Inner(hidden=17)), [cache])


def test_key_changes_when_the_source_of_a_module_it_depends_on_changes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    source = tmp_path / "cache_probe_module.py"
    source.write_text("def f(x):\n    return 2 * x\n")
    module = importlib.import_module("cache_probe_module")
    try:
        before = cache.cache_key("net", _Settings(), [module])
        source.write_text("def f(x):\n    return 3 * x\n")  # a changed formula
        module = importlib.reload(module)
        assert cache.cache_key("net", _Settings(), [module]) != before
        source.write_text("def f(x):\n    return 2 * x\n")  # and back
        module = importlib.reload(module)
        assert cache.cache_key("net", _Settings(), [module]) == before
    finally:
        sys.modules.pop("cache_probe_module", None)


def test_default_fingerprint_covers_the_package_but_not_the_figure_catalogue():
    names = {path.name for path in cache._package_sources()}
    assert {"cache.py", "seeding.py", "checks.py"} <= names
    assert not any("figures" in path.parts for path in cache._package_sources())


def test_a_configuration_whose_repr_shows_an_address_is_refused():
    with pytest.raises(ValueError, match="repr without memory addresses"):
        cache.cache_key("net", {"activation": torch.tanh, "init": lambda w: w}, [cache])


def test_loaded_result_is_bitwise_the_built_one_and_nothing_else_is_left(folder):
    generator = torch.Generator().manual_seed(0)
    result = {"weights": torch.randn(3, 4, generator=generator), "loss": [0.5, 0.25], "tag": "x"}
    built = cache.cached("net", _Settings(), lambda: result, modules=[cache], verbose=False)
    loaded = cache.cached("net", _Settings(), dict, modules=[cache], verbose=False)
    assert torch.equal(loaded["weights"], built["weights"])
    assert loaded["loss"] == [0.5, 0.25] and loaded["tag"] == "x"
    assert [p.suffix for p in folder.iterdir()] == [".pt"]  # no temporary file is left


def test_a_failed_build_leaves_no_file_and_the_next_call_builds_again(folder):
    def broken() -> dict:
        raise RuntimeError("training diverged")

    with pytest.raises(RuntimeError, match="training diverged"):
        cache.cached("net", _Settings(), broken, modules=[cache], verbose=False)
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(TypeError, match="must return a dict"):
        cache.cached("net", _Settings(), lambda: [1, 2], modules=[cache], verbose=False)
    rebuilt = cache.cached("net", _Settings(), lambda: {"a": 1}, modules=[cache], verbose=False)
    assert rebuilt == {"a": 1}
