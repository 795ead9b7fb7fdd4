"""The notation table is a contract between the book and the code.

``book/notation.md`` holds one table per part (and a general one), with three columns: the
symbol, the name in the code, the meaning. Two rules are checked.

**Every code name resolves.** Each backticked name in the *code* column must be defined in
:mod:`lecture_code` as one of the following, found by reading the source with :mod:`ast` (no
import, so nothing runs):

1. a module, or a module-level name: a function, a class, or an assigned or annotated variable;
2. a parameter (positional, keyword-only, ``*args`` or ``**kwargs``) of a function or method
   whose own name does not start with an underscore;
3. a member of a class whose name does not start with an underscore: a method, a property, a
   class-level annotated or assigned name (a dataclass field, a constant), or an attribute that
   one of its methods assigns as ``self.<name> = ...``;
4. a shape symbol: a string in a shape specification passed to
   :func:`lecture_code.validation.check_tensor` (``("B", "D")``), since the docstrings write
   shapes with the same symbols.

Local variables do not count: a name a reader cannot look up is not part of the vocabulary.
A cell with a shape in backticks, such as ``(T+1, B, D)``, is not a name and is skipped.

**No symbol has two meanings in one part.** The symbols of a part's table, together with those
of the general table, are compared after a normalisation that keeps what distinguishes two
symbols and drops what does not: spaces and thin spaces go, a continuous argument ``(t)`` is
read as the subscript ``_t`` (so :math:`\\sigma(t)` and :math:`\\sigma_t` are one symbol), and a
numeric power is dropped (:math:`\\gamma_t^2` is :math:`\\gamma_t`, the variance of the same
quantity). Decorations (bar, tilde, hat, bold, calligraphic, a star), subscripts and other
arguments stay: :math:`\\bar\\alpha_t` is not :math:`\\alpha_t`, and :math:`q(\\mathbf{x}_t)` is
not :math:`q(\\mathbf{x}_0)`. A symbol that appears on two rows of one part is an error: one row
per symbol, one meaning per row. (What cannot be checked mechanically is whether two
*different* symbols are read as the same letter in the prose; that is for review.)

The checker is tested on planted errors below, so that it can fail.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTATION = ROOT / "book" / "notation.md"
PACKAGE = ROOT / "lecture_code"

_SHAPE_FUNCTIONS = {"check_tensor"}


@dataclass(frozen=True)
class Row:
    """One row of a notation table."""

    table: str
    line: int
    symbols: tuple[str, ...]
    names: tuple[str, ...]
    meaning: str


# --- reading the tables -----------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    """The cells of a markdown table row; ``|`` inside ``$...$`` or backticks is not a border."""
    cells, current, in_math, in_code = [], "", False, False
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    for char in body:
        if char == "$" and not in_code:
            in_math = not in_math
        elif char == "`" and not in_math:
            in_code = not in_code
        if char == "|" and not in_math and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def _split_top_level(text: str) -> list[str]:
    """Split at commas and semicolons outside braces, brackets and parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        if char in ",;" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def symbols_of(cell: str) -> tuple[str, ...]:
    """The symbols of a symbol cell: each ``$...$`` span, split at top-level commas; text
    outside math (``NFE``, ``PIT``) is a symbol of its own."""
    found: list[str] = []
    spans = re.findall(r"\$([^$]+)\$", cell)
    for span in spans:
        found.extend(_split_top_level(span))
    outside = re.sub(r"\$[^$]+\$", "", cell)
    found.extend(w for w in re.split(r"[,;\s]+", outside) if w)
    return tuple(found)


def names_of(cell: str) -> tuple[str, ...]:
    """The code names of a code cell: every backticked span that is a Python identifier."""
    return tuple(n for n in re.findall(r"`([^`]+)`", cell) if n.isidentifier())


def read_tables(text: str) -> list[Row]:
    """Every row of every ``| symbol | code | meaning |`` table, labelled by its section."""
    rows, section, in_table = [], "", False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            section, in_table = line[3:].strip(), False
            continue
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if [c.lower() for c in cells[:3]] == ["symbol", "code", "meaning"]:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        if len(cells) != 3:
            raise ValueError(f"notation.md:{number}: a row needs 3 cells, got {len(cells)}")
        rows.append(Row(section, number, symbols_of(cells[0]), names_of(cells[1]), cells[2]))
    return rows


# --- the names the code defines ---------------------------------------------------------------
def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = node.args
    every = args.posonlyargs + args.args + args.kwonlyargs
    names = {a.arg for a in every} | {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    return names - {"self", "cls"}


def _targets(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _shape_symbols(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name not in _SHAPE_FUNCTIONS:
            continue
        specs = [kw.value for kw in node.keywords if kw.arg == "shape"] + node.args[2:3]
        for spec in specs:
            if isinstance(spec, ast.Tuple):
                found |= {
                    e.value
                    for e in spec.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
    return found


def defined_names(sources: dict[str, str]) -> set[str]:
    """Every name the rule of the module docstring accepts, from ``{dotted module: source}``."""
    names: set[str] = set()
    for module, source in sources.items():
        names |= set(module.split("."))
        tree = ast.parse(source)
        names |= _shape_symbols(tree)
        for node in tree.body:
            names |= _targets(node)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
                if not node.name.startswith("_"):
                    names |= _parameters(node)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
                if node.name.startswith("_"):
                    continue
                for member in node.body:
                    names |= _targets(member)
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names.add(member.name)
                        if not member.name.startswith("_") or member.name in (
                            "__init__",
                            "__call__",
                        ):
                            names |= _parameters(member)
                        for inner in ast.walk(member):
                            for target in getattr(
                                inner, "targets", [getattr(inner, "target", None)]
                            ):
                                if (
                                    isinstance(target, ast.Attribute)
                                    and isinstance(target.value, ast.Name)
                                    and target.value.id == "self"
                                ):
                                    names.add(target.attr)
    return {n for n in names if n}


def package_sources() -> dict[str, str]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path.read_text()
        for path in sorted(PACKAGE.rglob("*.py"))
    }


# --- the two rules ----------------------------------------------------------------------------
def normalise(symbol: str) -> str:
    """The key under which two spellings of one symbol compare equal (see the docstring)."""
    s = re.sub(r"\\[,;!: ]|\s+", "", symbol)
    s = s.replace("(t)", "_t")
    return re.sub(r"\^\{?-?[0-9]+\}?", "", s)  # numeric powers


def unresolved_names(rows: list[Row], defined: set[str]) -> list[str]:
    return [
        f"notation.md:{row.line} ({row.table}): `{name}` is not defined in lecture_code"
        for row in rows
        for name in row.names
        if name not in defined
    ]


def conflicting_symbols(rows: list[Row]) -> list[str]:
    general = [r for r in rows if r.table == "General"]
    problems = []
    for table in dict.fromkeys(r.table for r in rows if r.table != "General"):
        seen: dict[str, Row] = {}
        for row in general + [r for r in rows if r.table == table]:
            for symbol in row.symbols:
                key = normalise(symbol)
                first = seen.setdefault(key, row)
                if first is not row:
                    problems.append(
                        f"{table}: ${symbol}$ on notation.md:{row.line} ({row.meaning[:40]!r}) "
                        f"and on notation.md:{first.line} ({first.meaning[:40]!r})"
                    )
    return problems


def test_the_notation_page_has_the_general_table_and_one_per_part():
    tables = {row.table for row in read_tables(NOTATION.read_text())}
    assert "General" in tables
    assert {t.split(" ")[1] for t in tables if t.startswith("Part ")} == {"I", "II", "III"}


def test_every_code_name_of_the_notation_table_exists_in_lecture_code():
    problems = unresolved_names(read_tables(NOTATION.read_text()), defined_names(package_sources()))
    assert not problems, "\n".join(problems)


def test_no_symbol_means_two_things_within_one_part():
    problems = conflicting_symbols(read_tables(NOTATION.read_text()))
    assert not problems, "\n".join(problems)


# --- the checker has teeth --------------------------------------------------------------------
_PLANTED = """
## General

| symbol | code | meaning |
|---|---|---|
| $D$ | `D` | dimension |

## Part I — Planted

| symbol | code | meaning |
|---|---|---|
| $a$, $a_t$ | `scale` | the scale |
| $\\sigma_t$ | `sigma` | the noise standard deviation |
| $\\boldsymbol{\\mu}_\\theta$, $\\sigma_t^2$ | `mu_theta`, `sigma2` | a reverse step |
| $\\bar\\alpha_t$ | `alpha_bar` | signal fraction |
| $\\alpha_t$ | `alpha` | one minus beta |
| $\\mathbf{x}_{0:T}$ | `x` | a path, shape `(T+1, B, D)` |
"""


def test_the_checker_fails_on_a_stale_name_and_on_a_symbol_with_two_meanings():
    rows = read_tables(_PLANTED)
    assert [r.table for r in rows].count("Part I — Planted") == 6
    # the planted stale name sigma2 (renamed gamma2 in the code) is caught, nothing else is
    defined = defined_names(package_sources())
    problems = unresolved_names(rows, defined)
    assert len(problems) == 1 and "`sigma2`" in problems[0]
    # sigma_t^2 and sigma_t are one symbol with two meanings; alpha_t and bar-alpha_t are two
    conflicts = conflicting_symbols(rows)
    assert len(conflicts) == 1 and "\\sigma_t^2" in conflicts[0]


def test_the_name_rule_accepts_exactly_the_documented_kinds(tmp_path):
    source = """
import torch
CONSTANT = 1
def public(alpha, *, beta=2, **gamma): local = 3
def _private(delta): pass
class Public:
    field: int = 0
    def __init__(self, epsilon): self.zeta = epsilon
    @property
    def eta(self): return 1
    def _hidden(self, theta): pass
class _Hidden:
    def method(self, iota): pass
def shapes(x): check_tensor("x", x, ("kappa", 3))
"""
    names = defined_names({"pkg.mod": source})
    for accepted in ("pkg", "mod", "CONSTANT", "public", "alpha", "beta", "gamma", "Public"):
        assert accepted in names
    for accepted in ("field", "epsilon", "zeta", "eta", "kappa", "shapes"):
        assert accepted in names
    for refused in ("local", "delta", "theta", "iota", "torch"):
        assert refused not in names


@pytest.mark.parametrize(
    ("spelling", "same_as"),
    [
        (r"\sigma(t)", r"\sigma_t"),
        (r"\gamma_t^2", r"\gamma_t"),
        (r"\sigma^{2}", r"\sigma"),
        (r"\mathbf{f}(\mathbf{x},\, t)", r"\mathbf{f}(\mathbf{x}, t)"),
    ],
)
def test_normalisation_identifies_spellings_of_one_symbol(spelling, same_as):
    assert normalise(spelling) == normalise(same_as)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (r"\bar\alpha_t", r"\alpha_t"),
        (r"\boldsymbol{\epsilon}^\star", r"\boldsymbol{\epsilon}"),
        (r"\mathbf{x}_0", r"\mathbf{x}_t"),
        (r"\mathbf{f}(\mathbf{u})", r"f"),
        (r"q(\mathbf{x}_t)", r"q(\mathbf{x}_0)"),
    ],
)
def test_normalisation_keeps_different_symbols_apart(one, other):
    assert normalise(one) != normalise(other)
