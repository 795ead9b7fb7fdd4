"""Trained models kept on disk, keyed by configuration and code.

Training is the slow part of a chapter. A chapter (or the figure command, or the benchmark)
asks :func:`cached` for the result of a build, and gets it from disk when a build with the same
name, the same configuration and the same source code has run before. Any change to the
configuration's fields or to the code the build depends on changes the key, so the model is
retrained: a stale model can never be loaded by mistake.

The cache lives in ``_build/cache/`` of the project (so ``make clean`` empties it), or in the
folder named by the environment variable ``LECTURE_CODE_CACHE``.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

import lecture_code

ENV_VAR = "LECTURE_CODE_CACHE"

# How Python's default repr shows an object's address: "<function f at 0x7f3a...>".
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def cache_dir() -> Path:
    """The folder that holds cached builds (created on first use)."""
    if os.environ.get(ENV_VAR):
        folder = Path(os.environ[ENV_VAR])
    else:
        root = Path(lecture_code.__file__).resolve().parents[1]
        if (root / "pyproject.toml").is_file():
            folder = root / "_build" / "cache"
        else:  # an installed copy: fall back to the user's cache folder
            folder = Path.home() / ".cache" / "lecture_code"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _package_sources() -> list[Path]:
    root = Path(lecture_code.__file__).resolve().parent
    return sorted(p for p in root.rglob("*.py") if "figures" not in p.relative_to(root).parts)


def code_fingerprint(modules: Iterable[ModuleType] | None = None) -> str:
    """SHA-256 of the source of ``modules`` (default: every module of the package except the
    figure catalogue, whose edits change pictures, not trained weights)."""
    digest = hashlib.sha256()
    if modules is None:
        for path in _package_sources():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    else:
        for module in modules:
            digest.update(module.__name__.encode())
            digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def cache_key(name: str, config: Any, modules: Iterable[ModuleType] | None = None) -> str:
    """The key of a build: its name, its configuration's ``repr`` and the code fingerprint.

    A frozen dataclass's ``repr`` lists every field, so any change of setting changes the key.
    A ``repr`` that shows a memory address (an object without a ``repr`` of its own, such as a
    function or a network) would give a new key in every run, so it is refused.
    """
    text = repr(config)
    if _ADDRESS.search(text):
        raise ValueError(
            f"the configuration of {name!r} must have a repr without memory addresses (use a "
            f"frozen dataclass of numbers and strings), got {text}"
        )
    digest = hashlib.sha256()
    digest.update(name.encode())
    digest.update(text.encode())
    digest.update(code_fingerprint(modules).encode())
    return digest.hexdigest()[:20]


def cached(
    name: str,
    config: Any,
    build: Callable[[], dict[str, Any]],
    *,
    modules: Iterable[ModuleType] | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Return ``build()``, computed once per (name, configuration, code).

    Args:
        name: a short name for the build, used in the file name ("ch04_denoiser").
        config: the build's settings; its ``repr`` enters the key (use a frozen dataclass).
        build: computes the result, a dictionary of tensors, numbers, strings and lists
            (whatever ``torch.load(weights_only=True)`` can read back).
        modules: the modules whose source the result depends on (default: the whole package).
        verbose: print whether the result was loaded or built.
    """
    key = cache_key(name, config, modules)
    path = cache_dir() / f"{name}-{key}.pt"
    if path.is_file():
        if verbose:
            print(f"loaded {name} from the cache ({path.name})")
        return torch.load(path, weights_only=True)
    result = build()
    if not isinstance(result, dict):
        raise TypeError(f"build() of {name!r} must return a dict, got {type(result).__name__}")
    # Write to a file of this process's own and rename it: the rename is atomic, so a run
    # killed mid-write leaves no half file, and two runs building the same key at once (the
    # book build and nbval) do not write over each other's unfinished file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(result, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    if verbose:
        print(f"built {name} and cached it ({path.name})")
    return result
