"""The command ``python -m lecture_code.benchmark``: run the benchmark and print a summary.

Usage::

    python -m lecture_code.benchmark [--profile book|full|tiny] [--out DIR] [--seed N]
                                     [--threads N] [--no-progress]

writes ``DIR/results.json`` (:mod:`lecture_code.benchmark.results`). Progress bars are drawn only
where a person watches standard error; ``python -m lecture_code.benchmark > log 2>&1`` writes a
log of whole lines, one per finished stage. The figures of the benchmark are drawn from the
book's results file by the figure command (``python -m lecture_code.figures --only ch13_crps
...``, :mod:`lecture_code.figures.ch13_benchmark`), since drawing code is not part of the
computation.

Book: chapter 13, "The benchmark".
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from lecture_code.benchmark.profiles import PROFILES, get_profile
from lecture_code.benchmark.run import REFERENCE, run_benchmark

__all__ = ["main", "summary"]


def main(argv: list[str] | None = None) -> int:
    """The command ``python -m lecture_code.benchmark``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m lecture_code.benchmark",
        description="Run the Lorenz-96 probabilistic-forecasting benchmark.",
    )
    parser.add_argument("--profile", default="book", help=f"one of {sorted(PROFILES)}")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the profile's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:
        parser.error(f"--profile must be one of {sorted(PROFILES)}, got {args.profile!r}")
    if args.seed is not None and args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    profile = get_profile(args.profile, args.seed)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        profile = dataclasses.replace(profile, threads=args.threads)
    words = sys.argv[1:] if argv is None else argv
    command = " ".join([parser.prog, *words])
    run = run_benchmark(profile, args.out, progress=not args.no_progress, command=command)
    print(summary(run.results))
    print(f"wrote {args.out / 'results.json'}")
    return 0


def summary(results: dict[str, Any]) -> str:
    """A short table: CRPS ratio to the oracle and spread-skill at a few lead times."""
    lead_time = results["lead_time"]
    picks = [i for i, tau in enumerate(lead_time) if round(tau, 6) in (0.05, 0.5, 1.0, 2.0)]
    picks = picks or [0, len(lead_time) - 1]
    lines = ["model                 " + "".join(f"  τ={lead_time[i]:<5g} ratio/ssr" for i in picks)]
    for name, entry in results["models"].items():
        if name == REFERENCE:
            continue
        cells = "".join(
            f"  {entry['crps_ratio'][i]:>8.3f} / {entry['ssr'][i]:<5.2f}   " for i in picks
        )
        lines.append(f"{name:<22}{cells}")
    oracle = [round(results["models"]["oracle"]["crps"][i], 4) for i in picks]
    lines.append(f"oracle CRPS: {oracle}")
    comparison = results["sampler_comparison"]
    lines.append(
        f"fast vs reference sampler (pooled over {comparison['n_states']} states and "
        f"{len(comparison['lead_time'])} leads): "
        f"{100 * comparison['pooled_relative_difference']:+.2f}% "
        f"(95% CI {100 * comparison['pooled_relative_difference_ci'][0]:+.2f}% .. "
        f"{100 * comparison['pooled_relative_difference_ci'][1]:+.2f}%)"
    )
    lines.append(
        f"total time: {results['timing_s']['total']:.1f} s wall, "
        f"{results['cpu_s']['total']:.1f} s CPU"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
