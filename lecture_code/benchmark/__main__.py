"""The command ``python -m lecture_code.benchmark``: run the benchmark and print a summary.

Usage::

    python -m lecture_code.benchmark [--track gaussian|bursty|all]
                                     [--profile book|standard|full|tiny] [--out DIR]
                                     [--seed N] [--test-seed N] [--jobs N] [--no-progress]

writes ``DIR/results.json`` (:mod:`lecture_code.benchmark.results`). The tracks run in
parallel processes (``--jobs``, default one per track up to the number of CPUs). Progress bars
are drawn only where a person watches standard error; ``python -m lecture_code.benchmark > log
2>&1`` writes a log of whole lines, one per finished stage. The figures of the benchmark are
drawn from the results file by the figure command (``python -m lecture_code.figures --only
ch13_crps ...``, :mod:`lecture_code.figures.ch13_benchmark`).

Book: chapter 13, "The benchmark" (:doc:`/book/part3/13_benchmark`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lecture_code.benchmark.profiles import PROFILES, TRACKS, track_names
from lecture_code.benchmark.run import run_benchmark

__all__ = ["main", "summary"]


def main(argv: list[str] | None = None) -> int:
    """The command ``python -m lecture_code.benchmark``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m lecture_code.benchmark",
        description="Run the Lorenz-96 probabilistic-forecasting benchmark.",
    )
    parser.add_argument("--track", default="all", help=f"one of {[*TRACKS, 'all']}")
    parser.add_argument("--profile", default="book", help=f"one of {sorted(PROFILES)}")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the profile's)")
    parser.add_argument(
        "--test-seed", type=int, default=0, help="0: the test states; else held out"
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:
        parser.error(f"--profile must be one of {sorted(PROFILES)}, got {args.profile!r}")
    try:
        track_names(args.track)
    except ValueError as error:
        parser.error(f"--track: {error}")
    for name in ("seed", "test_seed"):
        value = getattr(args, name)
        if value is not None and value < 0:
            parser.error(f"--{name.replace('_', '-')} must be a non-negative integer, got {value}")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    words = sys.argv[1:] if argv is None else argv
    command = " ".join([parser.prog, *words])
    run = run_benchmark(
        args.profile,
        args.out,
        track=args.track,
        seed=args.seed,
        test_seed=args.test_seed,
        jobs=args.jobs,
        progress=not args.no_progress,
        command=command,
    )
    print(summary(run.results))
    print(f"wrote {args.out / 'results.json'}")
    return 0


def summary(results: dict[str, Any]) -> str:
    """A short table per track: CRPS ratio to the oracle and SSR at a few lead times, then
    every target with its value and verdict."""
    lines = []
    for track, entry in results["tracks"].items():
        lead_time = entry["lead_time"]
        picks = [i for i, tau in enumerate(lead_time) if round(tau, 6) in (0.05, 0.5, 1.0, 2.0)]
        picks = picks or [0, len(lead_time) - 1]
        lines.append(f"track {track}")
        lines.append(
            "  model             " + "".join(f"  τ={lead_time[i]:<5g} ratio/ssr" for i in picks)
        )
        for name, model in entry["models"].items():
            cells = "".join(
                f"  {model['crps_ratio'][i]:>8.3f} / {model['ssr'][i]:<5.2f}   " for i in picks
            )
            lines.append(f"  {name:<18}{cells}")
    lines.append("targets")
    for target in results["targets"]:
        value = target["value"]
        shown = "n/a" if value is None else f"{value:.4g}"
        verdict = "pass" if target["passed"] else "MISSED"
        lines.append(f"  {target['id']:<32} {shown:>10}  {verdict}")
    lines.append(f"total time: {results['timing_s']['total']:.1f} s wall")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
