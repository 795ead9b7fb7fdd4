"""The model cache is keyed by name, configuration and code, and never serves a stale build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    key = cache.cache_key("net", _Settings(), "support")
    assert key == cache.cache_key("net", _Settings(), "support")
    assert key != cache.cache_key("other", _Settings(), "support")
    assert key != cache.cache_key("net", _Settings(steps=101), "support")
    assert key != cache.cache_key("net", _Settings(lr=1.0001e-3), "support")
    assert key != cache.cache_key("net", _Settings(inner=_Inner(hidden=17)), "support")
    assert key != cache.cache_key("net", _Settings(), "ddpm")


def test_fingerprint_changes_with_any_statement_never_with_prose_and_comes_back(tmp_path):
    sources = [tmp_path / "a.py", tmp_path / "b.py"]
    sources[0].write_text("def f(x):\n    return 2 * x\n")
    sources[1].write_text("C = 1\n")
    before = cache.code_fingerprint(sources)
    sources[0].write_text("def f(x):\n    return 3 * x\n")  # a changed formula
    assert cache.code_fingerprint(sources) != before
    sources[0].write_text("def f(x):\n    return 2 * x\n")  # and back
    assert cache.code_fingerprint(sources) == before
    # prose is not code: a docstring, a comment or a wrapped line keeps the fingerprint
    sources[0].write_text('def f(x):\n    """Twice x."""\n    return 2 * x  # why: none\n')
    assert cache.code_fingerprint(sources) == before
    sources[0].write_text("def f(x):\n    return (\n        2 * x\n    )\n")
    assert cache.code_fingerprint(sources) == before
    sources[0].write_text('def f(x):\n    return 2 * x\n\n\nS = "a string constant is code"\n')
    assert cache.code_fingerprint(sources) != before
    sources[0].write_text("def f(x):\n    return 2 * x\n")
    # the name is part of it: moving code to another module is a change of code
    sources[1].rename(tmp_path / "c.py")
    assert cache.code_fingerprint([sources[0], tmp_path / "c.py"]) != before


def test_a_layer_depends_on_itself_and_the_layers_before_it_never_on_drawing_code():
    def parts(layer: str) -> set[str]:
        root = cache.layer_sources("support")[0].parent
        return {p.relative_to(root).parts[0] for p in cache.layer_sources(layer)}

    support = parts("support")
    assert {"cache.py", "seeding.py", "validation.py", "verification.py"} <= support
    assert parts("ddpm") == support | {"ddpm"}
    assert parts("forecasting") == support | {"ddpm", "score", "forecasting"}
    assert parts("benchmark") == support | {"ddpm", "score", "forecasting", "benchmark"}
    assert not {"plots", "figures"} & parts("benchmark")
    with pytest.raises(ValueError, match=r"layer must be one of .* got 'plots'"):
        cache.layer_sources("plots")


def test_a_configuration_whose_repr_shows_an_address_is_refused():
    with pytest.raises(ValueError, match="repr without memory addresses"):
        cache.cache_key("net", {"activation": torch.tanh, "init": lambda w: w}, [cache])


def test_loaded_result_is_bitwise_the_built_one_and_nothing_else_is_left(folder):
    generator = torch.Generator().manual_seed(0)
    result = {"weights": torch.randn(3, 4, generator=generator), "loss": [0.5, 0.25], "tag": "x"}
    built = cache.cached("net", _Settings(), lambda: result, layer="support", verbose=False)
    loaded = cache.cached("net", _Settings(), dict, layer="support", verbose=False)
    assert torch.equal(loaded["weights"], built["weights"])
    assert loaded["loss"] == [0.5, 0.25] and loaded["tag"] == "x"
    assert [p.suffix for p in folder.iterdir()] == [".pt"]  # no temporary file is left


def test_a_failed_build_leaves_no_file_and_the_next_call_builds_again(folder):
    def broken() -> dict:
        raise RuntimeError("training diverged")

    with pytest.raises(RuntimeError, match="training diverged"):
        cache.cached("net", _Settings(), broken, layer="support", verbose=False)
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(TypeError, match="must return a dict"):
        cache.cached("net", _Settings(), lambda: [1, 2], layer="support", verbose=False)
    rebuilt = cache.cached("net", _Settings(), lambda: {"a": 1}, layer="support", verbose=False)
    assert rebuilt == {"a": 1}


def test_the_import_closure_is_what_python_itself_imports():
    """Brute force: import the benchmark's command in a fresh interpreter and list the modules of
    lecture_code that Python loaded; the closure read from the syntax trees must hold them all
    (it may hold more: imports inside functions that did not run)."""
    import subprocess
    import sys

    from lecture_code.benchmark.results import RESULTS_CODE

    code = (
        "import sys, importlib\n"
        f"for m in {list(RESULTS_CODE)!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items()\n"
        "    if n.split('.')[0] == 'lecture_code' and getattr(m, '__file__', None))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {Path(line).resolve() for line in out.stdout.split()}
    closure = set(cache.import_closure(RESULTS_CODE))
    assert loaded <= closure, sorted(str(p) for p in loaded - closure)
    root = cache.layer_sources("support")[0].parent
    names = {str(p.relative_to(root)) for p in closure}
    assert "benchmark/run.py" in names and "forecasting/shape_scores.py" in names
    # drawing code and modules the benchmark never imports stay out, so editing them keeps
    # the committed results fresh
    assert not any(n.startswith(("plots/", "figures/")) for n in names)
    assert "forecasting/chaos.py" not in names


def test_the_import_closure_refuses_a_name_outside_the_package():
    with pytest.raises(ValueError, match="modules must name modules of lecture_code, got"):
        cache.import_closure(["lecture_code.no_such_module"])
