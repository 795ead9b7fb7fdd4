"""The chapters' budget: run each in a fresh kernel and report its wall time and peak memory.

Usage::

    python -m tests.book.budget [--threads N] [--markdown] [--warm-cache] [PATH.md ...]

Every page of ``_toc.yml`` (or the chapters named) runs top to bottom in its own kernel, started
fresh, as a reader runs it: ``make budget`` is ``python -m tests.book.budget --threads 1``, the view
of a Binder reader, whose notebook gets one CPU. With ``--threads N`` the kernel and every
thread and process it starts are pinned to N CPUs, and the thread pools of torch, OpenMP and the
BLAS libraries are given N threads.

A chapter starts with an empty model cache (``LECTURE_CODE_CACHE`` points at a new folder), as
on Binder, where a reader who opens a chapter first trains what it needs; ``--warm-cache`` uses
the project's cache instead. The wall time is the time from the first cell to the end of the
last; peak memory is the largest resident set of the kernel and its child processes (the
kernel's own high-water mark, and the sum over its children sampled every 50 ms).

A chapter over budget, more than ``--max-minutes`` (5 with ``--threads 1``, as on Binder, else
the contract's 3; twice that for chapter 13, see ``TIME_FACTOR``) or ``--max-gb`` (1.5 GB), or
one whose cells fail, is marked in the table and makes the command exit with status 1.
``--markdown`` prints the table for the README.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from tests.book.book_toc import ROOT, toc_sources

#: Environment variables that size the thread pools of torch (OpenMP), MKL, OpenBLAS, numexpr.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
#: The contract: minutes on this 2-core machine, minutes on Binder's one CPU, and memory.
MAX_MINUTES = 3.0
MAX_MINUTES_BINDER = 5.0
MAX_GB = 1.5
#: Pages allowed longer, as a multiple of the time budget: chapter 13 runs the whole book profile
#: of the benchmark cold (its issue allows 6 minutes on 2 cores, twice the 3 of every chapter).
TIME_FACTOR = {"book/part3/13_benchmark.md": 2.0}


@dataclass(frozen=True)
class ChapterRun:
    """One chapter executed in a fresh kernel.

    Attributes:
        path: the chapter's MyST file.
        title: its first level-one heading.
        wall: seconds from the start of the first cell to the end of the last.
        peak_gb: peak resident memory of the kernel and its children, in GB (10^9 bytes).
        error: why the chapter did not run to the end (``None`` when it did).
        cells: the number of code cells (a page without any is not timed).
    """

    path: Path
    title: str
    wall: float
    peak_gb: float
    error: str | None = None
    cells: int = 1

    @property
    def name(self) -> str:
        """The path from the project's root (or the full path of a file elsewhere)."""
        return (
            self.path.relative_to(ROOT).as_posix() if ROOT in self.path.parents else str(self.path)
        )

    def problems(self, max_minutes: float, max_gb: float) -> list[str]:
        """What is wrong with this run: failed, over time, over memory (empty when nothing)."""
        found = [f"failed: {self.error}"] if self.error else []
        limit = max_minutes * TIME_FACTOR.get(self.name, 1.0)
        if self.wall > 60 * limit:
            found.append(f"over {limit:g} min")
        if self.peak_gb > max_gb:
            found.append(f"over {max_gb:g} GB")
        return found


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _high_water_mark(pid: int) -> int:
    """The process's peak resident set size in bytes (``VmHWM``), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _pin(process: psutil.Process, cpus: set[int]) -> None:
    """Pin every thread of ``process`` and of its children to ``cpus``.

    ``sched_setaffinity`` acts on one thread, so each thread is pinned by its id; threads and
    processes started later inherit the mask of the thread that starts them.
    """
    for member in _tree(process):
        for thread in Path(f"/proc/{member.pid}/task").iterdir():
            try:
                os.sched_setaffinity(int(thread.name), cpus)
            except (ProcessLookupError, PermissionError):
                pass  # the thread ended in between


def run_chapter(
    path: Path, threads: int | None = None, warm_cache: bool = False, timeout: int = 900
) -> ChapterRun:
    """Execute the chapter ``path`` in a fresh kernel and measure it.

    Args:
        path: a MyST notebook.
        threads: pin the kernel to this many CPUs and size its thread pools to match
            (``None``: as the machine gives).
        warm_cache: use the project's model cache instead of an empty one.
        timeout: seconds allowed per cell.
    """
    path = path.resolve()
    notebook = jupytext.read(path)
    if not any(cell.cell_type == "code" for cell in notebook.cells):
        return ChapterRun(path, _title(path), 0.0, 0.0, None, cells=0)
    env = dict(os.environ)
    if threads is not None:
        env.update({key: str(threads) for key in THREAD_VARIABLES})
    with tempfile.TemporaryDirectory(prefix="budget-cache-") as empty_cache:
        if not warm_cache:
            env["LECTURE_CODE_CACHE"] = empty_cache
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        peak, error, wall = 0, None, 0.0
        done = threading.Event()
        with client.setup_kernel(env=env):
            kernel = psutil.Process(client.km.provisioner.process.pid)
            if threads is not None:
                _pin(kernel, set(sorted(os.sched_getaffinity(0))[:threads]))

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    children = 0
                    for child in _tree(kernel)[1:]:
                        try:
                            children += child.memory_info().rss
                        except psutil.NoSuchProcess:
                            pass
                    peak = max(peak, _high_water_mark(kernel.pid) + children)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            try:
                for index, cell in enumerate(notebook.cells):
                    client.execute_cell(cell, index)
            except CellTimeoutError:
                error = f"a cell ran longer than {timeout} s"
            except CellExecutionError as failure:
                error = f"{failure.ename}: {failure.evalue}"[:200]
            wall = time.perf_counter() - start
            peak = max(peak, _high_water_mark(kernel.pid))
            done.set()
            sampler.join()
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    return ChapterRun(path, _title(path), wall, peak / 1e9, error, cells)


def text_table(runs: list[ChapterRun], max_minutes: float, max_gb: float) -> str:
    """The runs as a plain-text table, one line per chapter and a total."""
    lines = [f"{'chapter':<44} {'wall (s)':>9} {'peak (GB)':>10}  budget"]
    for run in runs:
        if not run.cells:
            lines.append(f"{run.name:<44} {'':>9} {'':>10}  no code cells")
            continue
        problems = run.problems(max_minutes, max_gb)
        verdict = "; ".join(problems) if problems else "ok"
        lines.append(f"{run.name:<44} {run.wall:>9.1f} {run.peak_gb:>10.2f}  {verdict}")
    total = sum(run.wall for run in runs)
    lines.append(f"{'all chapters, one after the other':<44} {total:>9.1f}")
    return "\n".join(lines)


def markdown_table(runs: list[ChapterRun], max_minutes: float, max_gb: float) -> str:
    """The runs as a Markdown table, chapters linked from the project's root (the README)."""
    lines = [
        "| chapter | wall time | peak memory | within budget |",
        "|---|---:|---:|---|",
    ]
    for run in runs:
        if not run.cells:
            lines.append(f"| [{run.title}]({run.name}) | | | no code cells |")
            continue
        problems = run.problems(max_minutes, max_gb)
        verdict = "**" + "; ".join(problems) + "**" if problems else "yes"
        lines.append(
            f"| [{run.title}]({run.name}) | {run.wall:.1f} s | {run.peak_gb:.2f} GB | {verdict} |"
        )
    total = sum(run.wall for run in runs)
    timed = sum(1 for run in runs if run.cells)
    lines.append(f"| all {timed} pages with code, one after the other | {total / 60:.1f} min | | |")
    return "\n".join(lines)


def describe_setting(threads: int | None, warm_cache: bool) -> str:
    """One sentence saying how and where the table was measured."""
    cpus = "as many CPUs as the machine gives" if threads is None else f"{threads} CPU"
    cache = "the project's model cache" if warm_cache else "an empty model cache"
    return (
        f"Measured on {datetime.date.today().isoformat()} with "
        f"`python -m tests.book.budget{'' if threads is None else f' --threads {threads}'}`: each "
        f"page in a fresh kernel pinned to {cpus}, thread pools of "
        f"{'default size' if threads is None else threads}, {cache}; "
        f"{psutil.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.book.budget",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="chapters (default: every page)")
    parser.add_argument("--threads", type=int, default=None, help="pin the kernel to N CPUs")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--warm-cache", action="store_true", help="use the project's cache")
    parser.add_argument("--max-minutes", type=float, default=None, help="time budget")
    parser.add_argument("--max-gb", type=float, default=MAX_GB, help="memory budget (GB)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if args.threads is not None and not 1 <= args.threads <= len(os.sched_getaffinity(0)):
        parser.error(f"--threads must be between 1 and the CPUs available, got {args.threads}")
    max_minutes = args.max_minutes or (MAX_MINUTES_BINDER if args.threads == 1 else MAX_MINUTES)
    paths = [Path(p).resolve() for p in args.paths] or toc_sources()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such chapter: {missing}")

    progress = sys.stderr if args.markdown else sys.stdout
    print(describe_setting(args.threads, args.warm_cache), file=progress, flush=True)
    print(f"budget: {max_minutes:g} minutes and {args.max_gb:g} GB", file=progress, flush=True)
    runs = []
    for path in paths:
        run = run_chapter(path, args.threads, args.warm_cache, args.timeout)
        runs.append(run)
        problems = run.problems(max_minutes, args.max_gb)
        measured = f"{run.wall:>7.1f} s {run.peak_gb:>6.2f} GB" if run.cells else f"{'':>20}"
        verdict = "; ".join(problems) or ("ok" if run.cells else "no code cells")
        print(f"{run.name:<44} {measured}  {verdict}", file=progress, flush=True)
    if args.markdown:
        print(markdown_table(runs, max_minutes, args.max_gb))
        print()
        print(describe_setting(args.threads, args.warm_cache))
    else:
        print()
        print(text_table(runs, max_minutes, args.max_gb))
    over = [run.name for run in runs if run.problems(max_minutes, args.max_gb)]
    if over:
        print(f"over budget or failed: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
