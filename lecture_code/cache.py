"""Trained models kept on disk, keyed by configuration and code.

Training is the slow part of a chapter. A chapter (or the figure command, or the benchmark)
asks :func:`cached` for the result of a build, and gets it from disk when a build with the same
name, the same configuration and the same source code has run before. Any change to the
configuration's fields or to the code the build depends on changes the key, so the model is
retrained: a stale model can never be loaded by mistake.

**Which code.** Imports in :mod:`lecture_code` run one way, through the *layers* of
:data:`LAYERS`: the support modules at the top of the package, then Part I (``ddpm``), Part II
(``score``), Part III (``forecasting``) and the benchmark. A result computed in one layer can
therefore depend only on the source of that layer and the layers before it, and that is what
its key holds (:func:`layer_sources`). Nobody keeps a list of modules by hand, so a helper added
to a module that a build uses can never be forgotten; the price is that an edit anywhere in a
layer retrains what depends on it, which is the safe direction. Drawing code (``plots``,
``figures``) never enters a key: it changes pictures, not weights.

The cache lives in ``_build/cache/`` of the project (so ``make clean`` empties it), or in the
folder named by the environment variable ``LECTURE_CODE_CACHE``.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

import lecture_code
from lecture_code.validation import check_choice

__all__ = [
    "ENV_VAR",
    "LAYERS",
    "cache_dir",
    "cache_key",
    "cached",
    "code_fingerprint",
    "import_closure",
    "layer_sources",
]

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


#: Layers of the package in import order, each importing only those before it; ``"support"``
#: is the modules at the top of the package (seeding, validation, verification, ...).
LAYERS = ("support", "ddpm", "score", "forecasting", "benchmark")


def layer_sources(layer: str) -> list[Path]:
    """The source files a result computed in ``layer`` can depend on: that layer and every
    layer before it in :data:`LAYERS`, sorted by path.

    Args:
        layer: one of :data:`LAYERS`.
    """
    check_choice("layer", layer, LAYERS)
    root = Path(lecture_code.__file__).resolve().parent
    paths = sorted(root.glob("*.py"))
    for package in LAYERS[1 : LAYERS.index(layer) + 1]:
        paths += sorted((root / package).glob("*.py"))
    return paths


def _module_path(root: Path, name: str) -> Path | None:
    """The source file of the module ``name`` of :mod:`lecture_code`, or None if it is none."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and path.is_file():
            return path
    return root / "__init__.py" if not parts else None


def import_closure(modules: Iterable[str]) -> list[Path]:
    """The source files of ``modules`` and of every :mod:`lecture_code` module they import,
    directly or through others, sorted by path.

    Imports are read from each file's syntax tree, those inside functions included, so nobody
    keeps the list by hand; importing a module runs its packages' ``__init__`` files, so they
    count too. A module that the benchmark never imports (a chapter's new helper, a figure)
    is not in the closure of the benchmark's command, and editing it leaves the committed
    results fresh.

    Args:
        modules: dotted names, e.g. ``["lecture_code.benchmark.__main__"]``.
    """
    root = Path(lecture_code.__file__).resolve().parent
    modules = list(modules)
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen or not (name == "lecture_code" or name.startswith("lecture_code.")):
            continue
        path = _module_path(root, name)
        if path is None:
            if name in modules:
                raise ValueError(f"modules must name modules of lecture_code, got {name!r}")
            continue  # ``from lecture_code.x import f``: f is a name, not a module
        seen[name] = path
        todo += [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
                todo += [f"{node.module}.{alias.name}" for alias in node.names]
    return sorted(set(seen.values()))


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` without its string statements: the docstrings of the module, its classes and
    functions, and the strings that document attributes. They are prose, not code."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [
                stmt
                for stmt in body
                if not (
                    isinstance(stmt, ast.Expr)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                )
            ]
    return tree


def code_fingerprint(sources: Iterable[Path]) -> str:
    """SHA-256 of the code of the files ``sources``: each one's name and its syntax tree, in
    the order given.

    The tree is taken without docstrings, and a syntax tree holds no comments, layout or line
    numbers, so mending a sentence or wrapping a line keeps every cached model and committed
    result; a change to any statement, name or constant changes the fingerprint.
    """
    digest = hashlib.sha256()
    for path in sources:
        tree = _strip_docstrings(ast.parse(path.read_bytes(), filename=str(path)))
        digest.update(path.name.encode())
        digest.update(ast.dump(tree, annotate_fields=False).encode())
    return digest.hexdigest()


def cache_key(name: str, config: Any, layer: str) -> str:
    """The key of a build: its name, its configuration's ``repr`` and the fingerprint of the
    code of ``layer`` (:func:`layer_sources`).

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
    digest.update(code_fingerprint(layer_sources(layer)).encode())
    return digest.hexdigest()[:20]


def cached(
    name: str,
    config: Any,
    build: Callable[[], dict[str, Any]],
    *,
    layer: str,
    verbose: bool = True,
) -> dict[str, Any]:
    """Return ``build()``, computed once per (name, configuration, code).

    Args:
        name: a short name for the build, used in the file name ("ch04_denoiser").
        config: the build's settings; its ``repr`` enters the key (use a frozen dataclass).
        build: computes the result, a dictionary of tensors, numbers, strings and lists
            (whatever ``torch.load(weights_only=True)`` can read back).
        layer: the layer of :data:`LAYERS` whose code computes the result; its source and that
            of every layer before it enter the key.
        verbose: print whether the result was loaded or built.
    """
    key = cache_key(name, config, layer)
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
