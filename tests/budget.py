"""Execute chapters in fresh kernels and report wall time and peak memory of each.

Usage::

    python -m tests.budget [--threads N] [PATH.md ...]    # default: every page in _toc.yml

Each chapter runs in its own kernel, started fresh, as a reader would run it. With
``--threads 1`` the kernel is pinned to one CPU and its thread pools to one thread, as on Binder.
Peak memory is the largest resident set size of the kernel process and its children, sampled
every 50 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import jupytext
import psutil
from nbclient import NotebookClient

from tests.book_toc import ROOT, toc_sources

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_chapter(path: Path, threads: int | None = None, timeout: int = 900) -> tuple[float, float]:
    """Execute ``path`` in a fresh kernel; return (wall seconds, peak RSS in GB)."""
    notebook = jupytext.read(path)
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    if threads is not None:
        for key in _THREAD_VARIABLES:
            os.environ[key] = str(threads)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    peak = 0
    done = threading.Event()
    try:
        with client.setup_kernel():
            kernel = psutil.Process(client.km.provisioner.process.pid)
            if threads is not None:
                kernel.cpu_affinity(list(range(threads)))

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    try:
                        peak = max(peak, _tree_rss(kernel))
                    except psutil.NoSuchProcess:
                        return
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            wall = time.perf_counter() - start
            done.set()
            sampler.join()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return wall, peak / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.budget", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--threads", type=int, default=None, help="pin the kernel to N CPUs")
    args = parser.parse_args(argv)
    paths = args.paths or toc_sources()
    print(f"{'chapter':<45} {'wall (s)':>9} {'peak (GB)':>10}")
    for path in paths:
        wall, peak = run_chapter(Path(path).resolve(), threads=args.threads)
        name = Path(path).resolve().relative_to(ROOT).as_posix()
        print(f"{name:<45} {wall:>9.1f} {peak:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
