"""The assertions behind the book's verified claims: ``verify_*``.

Every derived result in the book is followed by a cell that computes it two independent ways
(closed form against simulation, identity against brute force, estimator against exact value)
and asserts that they agree. A wrong formula in the text or in the code then fails the build.

A Monte Carlo estimate never equals its target exactly, so each check carries a tolerance that
the sample size justifies. For a mean of ``n`` independent draws with standard deviation ``s``
the standard error is ``s / sqrt(n)``; :func:`monte_carlo_tolerance` returns ``z`` standard
errors. With ``z = 5`` a correct formula fails by chance with probability below ``6e-7`` per
check, while an error larger than the tolerance is caught every time. Because every chapter runs
with a fixed seed, a check that passes once passes always.

Two verbs, two modules: :mod:`lecture_code.verification` *verifies a claim* of the book
(``verify_close``, ``verify_less``; a failure raises ``AssertionError``), while
:mod:`lecture_code.validation` *checks an argument* at the door of a function (``check_int``,
``check_tensor``, ...; a bad value raises ``ValueError`` or ``TypeError``).

Book: preface, section "How to read the checks".
"""

from __future__ import annotations

import math
import textwrap

import torch

from lecture_code.validation import check_int, check_real

__all__ = ["monte_carlo_tolerance", "verify_close", "verify_less", "verify_rejects"]

# A report longer than this is broken after the claim, so that it fits the book's code column.
_LINE = 88


def monte_carlo_tolerance(std: float | torch.Tensor, n: int, z: float = 5.0) -> float:
    """``z * std / sqrt(n)``: ``z`` standard errors of a mean of ``n`` draws.

    Args:
        std: the standard deviation of one draw (a number, or a tensor whose largest entry is
            used, so that the tolerance covers every coordinate).
        n: the number of independent draws averaged.
        z: how many standard errors to allow.
    """
    if isinstance(std, torch.Tensor):
        std = float(std.max())
    check_real("std", std, low=0.0)
    check_int("n", n, low=1)
    check_real("z", z, low=0.0, low_open=True)
    return z * std / math.sqrt(n)


def _as_tensor(value: float | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64)


def _two_sides(
    claim: str,
    first: float | torch.Tensor,
    second: float | torch.Tensor,
    names: tuple[str, str],
    *,
    finite: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sides of a comparison as float64 tensors of one shape (no broadcasting), and,
    with ``finite``, both free of NaN and infinity (a NaN would compare as a silent pass)."""
    a, b = _as_tensor(first), _as_tensor(second)
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} of {claim!r} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if finite and not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise AssertionError(f"{claim}: non-finite values ({names[0]} {a}, {names[1]} {b})")
    return a, b


def _fmt(value: torch.Tensor) -> str:
    """A number as it is; a tensor of up to four entries as its list; else its shape."""
    if value.numel() == 1:
        return f"{value.item():.6g}"
    if value.numel() <= 4:
        return "[" + ", ".join(f"{v:.4g}" for v in value.flatten().tolist()) + "]"
    return f"{value.numel()} values"


def _worst(a: torch.Tensor, b: torch.Tensor) -> str:
    """Where the largest difference of two equal-shaped tensors sits, and its two values."""
    if a.numel() <= 4:
        return f"estimate {_fmt(a)}, reference {_fmt(b)}"
    flat = int((a - b).abs().flatten().argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape))
    where = index[0] if len(index) == 1 else index
    return (
        f"{a.numel()} values, worst at {where}: estimate {a.flatten()[flat].item():.6g}, "
        f"reference {b.flatten()[flat].item():.6g}"
    )


def _report(claim: str, detail: str) -> str:
    """``claim: detail`` on one line when it fits the code column, else the claim on its own
    line and the detail, indented, on as many lines as it needs."""
    line = f"{claim}: {detail}"
    if len(line) + len("checked ") <= _LINE:
        return line
    body = textwrap.fill(detail, _LINE, initial_indent="    ", subsequent_indent="    ")
    return f"{claim}:\n{body}"


def verify_close(
    claim: str,
    estimate: float | torch.Tensor,
    reference: float | torch.Tensor,
    tol: float,
    *,
    quiet: bool = False,
) -> float:
    """Assert ``max |estimate - reference| <= tol`` and report it.

    Args:
        claim: what is being checked, in words ("posterior mean, eq. (3.7)").
        estimate: the simulated or estimated value; any shape.
        reference: the exact value, with the same shape as ``estimate`` (no broadcasting).
        tol: the largest allowed absolute difference, justified by the sample size.
        quiet: do not print the one-line report.

    Returns:
        The largest absolute difference.

    Raises:
        AssertionError: naming the claim, both values and the tolerance.
    """
    check_real("tol", tol, low=0.0)
    a, b = _two_sides(claim, estimate, reference, ("estimate", "reference"))
    diff = float((a - b).abs().max())
    ratio = f" ({diff / tol:.2g} of it)" if tol > 0 else ""
    report = _report(
        claim, f"{_worst(a, b)}; max |difference| {diff:.3g} <= tolerance {tol:.3g}{ratio}"
    )
    if not diff <= tol:
        raise AssertionError("FAILED " + report.replace("<=", "exceeds"))
    if not quiet:
        print("checked", report)
    return diff


def verify_less(
    claim: str,
    smaller: float | torch.Tensor,
    larger: float | torch.Tensor,
    *,
    margin: float = 0.0,
    quiet: bool = False,
) -> float:
    """Assert ``smaller + margin <= larger`` elementwise and report the smallest gap.

    Used for inequalities such as the ELBO lying below the log-likelihood.

    Returns:
        The smallest value of ``larger - smaller``.
    """
    check_real("margin", margin)
    a, b = _two_sides(claim, smaller, larger, ("smaller side", "larger side"))
    gap = float((b - a).min())
    report = _report(claim, f"smallest gap {gap:.4g} (required >= {margin:.3g})")
    if not gap >= margin:
        raise AssertionError("FAILED " + report)
    if not quiet:
        print("checked", report)
    return gap


def verify_rejects(
    claim: str,
    wrong: float | torch.Tensor,
    reference: float | torch.Tensor,
    tol: float,
    *,
    factor: float = 3.0,
    quiet: bool = False,
) -> float:
    """Assert that a plausible wrong formula misses the reference by ``factor`` tolerances.

    This is the other half of a check with teeth: :func:`verify_close` shows that the right
    formula agrees within ``tol``; this shows that the same comparison, with the same ``tol``,
    would have caught the wrong one with room to spare.

    Args:
        claim: the wrong formula, in words ("a^2 Sigma instead of a Sigma").
        wrong: what the wrong formula gives; any shape.
        reference: the value the check compares against, with the same shape as ``wrong``.
        tol: the tolerance of the check that the right formula passes.
        factor: how many tolerances the wrong formula must miss by, at least.
        quiet: do not print the one-line report.

    Returns:
        The margin ``max |wrong - reference| / tol``: how many tolerances the wrong formula
        misses by (glue it next to the check).

    Raises:
        AssertionError: when the wrong formula would pass, or miss by less than ``factor``.
    """
    check_real("tol", tol, low=0.0, low_open=True)
    check_real("factor", factor, low=1.0)
    a, b = _two_sides(claim, wrong, reference, ("wrong value", "reference"))
    margin = float((a - b).abs().max()) / tol
    report = _report(
        claim, f"misses by {margin:.3g} tolerances (required >= {factor:.3g}); rejected"
    )
    if not margin >= factor:
        raise AssertionError("FAILED (the check has no teeth) " + report.replace("; rejected", ""))
    if not quiet:
        print("checked", report)
    return margin
