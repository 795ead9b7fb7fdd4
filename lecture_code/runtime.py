"""How long-running code uses the machine: torch threads, and progress bars that keep logs
readable.

**Threads.** The book's networks are small (a few thousand rows, a hundred columns): splitting a
matrix product across threads costs more in synchronisation than it saves, and on a shared
machine a busy second core stalls every operation. :func:`torch_threads` runs a block with a
given number of intra-op threads and restores the previous number afterwards, so a chapter that
calls it leaves the kernel as it found it.

**Progress bars.** A bar redraws itself with a carriage return many times a second. On a
terminal that is what a person wants; in a log file (``python -m lecture_code.benchmark > log
2>&1``) every redraw is kept, and the log fills with thousands of half lines. :func:`progress`
draws the bar only when standard error is a terminal or a notebook; elsewhere it writes nothing
per step, and long jobs report their stages in whole lines instead.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

import torch

from lecture_code.validation import check_int

__all__ = ["interactive", "progress", "torch_threads"]

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
