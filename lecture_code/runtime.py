"""How long-running code uses the machine: torch threads, and progress bars that keep logs
readable.

**Threads.** The book's networks are small (a few thousand rows, a hundred columns): splitting a
matrix product across threads costs more in synchronisation than it saves, and on a shared
machine a busy second core stalls every operation. :func:`torch_threads` runs a block with a
given number of intra-op threads and restores the previous number afterwards, so a chapter that
calls it leaves the kernel as it found it.

**Timings.** A claim such as "the rolled tendency is faster" is a wall-clock ratio, which depends
on the machine and, on a shared one, on the moment. :func:`median_speedup` interleaves the two
functions and reports the median ratio of several repeats, which a burst of load on one repeat
does not move; the book quotes it for the machine that built the page and asserts only that it
exceeds 1.

**Progress bars.** A bar redraws itself with a carriage return many times a second. On a
terminal that is what a person wants; in a log file (``python -m lecture_code.benchmark > log
2>&1``) every redraw is kept, and the log fills with thousands of half lines. :func:`progress`
draws the bar only when standard error is a terminal or a notebook; elsewhere it writes nothing
per step, and long jobs report their stages in whole lines instead.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import torch

from lecture_code.validation import check_int

__all__ = ["interactive", "median_speedup", "progress", "torch_threads"]

T = TypeVar("T")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number.

    Args:
        n: threads, >= 1.
    """
    check_int("n", n, low=1)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def interactive() -> bool:
    """Whether a person watches standard error: a terminal, or a Jupyter kernel's stream."""
    stream = sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return True
    # ipykernel replaces sys.stderr by an OutStream that the notebook front end renders
    return type(stream).__module__.startswith("ipykernel")


def progress(
    iterable: Iterable[T], *, desc: str, enabled: bool = True, total: int | None = None
) -> Iterable[T]:
    """``iterable`` with a progress bar when ``enabled`` and a person is watching.

    Args:
        iterable: what to iterate over.
        desc: the bar's label.
        enabled: the caller's wish (``progress=False`` turns every bar off).
        total: the length, when ``iterable`` has none.

    Returns:
        An iterable over the same items, in the same order.
    """
    if not (enabled and interactive()):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr)


def median_speedup(
    slow: Callable[[], object], fast: Callable[[], object], *, repeats: int = 11, calls: int = 5
) -> tuple[float, torch.Tensor]:
    """How many times faster ``fast()`` runs than ``slow()``: the median over ``repeats``.

    Each repeat times ``calls`` calls of each function back to back (interleaved, so that a
    change of load on a shared machine hits both alike) and records the ratio of the times;
    the median ignores the repeats that a burst of load spoiled. Wall-clock ratios depend on
    the machine, so the book quotes the median and asserts only that it exceeds 1.

    Returns:
        ``(median, ratios)``: the median ratio and the (repeats,) ratios of each repeat.
    """
    repeats = check_int("repeats", repeats, low=1)
    calls = check_int("calls", calls, low=1)
    fast(), slow()  # warm up: first calls allocate and dispatch
    ratios = []
    for _ in range(repeats):
        seconds = []
        for function in (slow, fast):
            start = time.perf_counter()
            for _ in range(calls):
                function()
            seconds.append(time.perf_counter() - start)
        ratios.append(seconds[0] / seconds[1])
    return statistics.median(ratios), torch.tensor(ratios, dtype=torch.float64)
