"""The figure command: regenerate every figure of the book.

Usage::

    python -m lecture_code.figures [--list] [--only NAME ...] [--out DIR]
                                   [--format png,pdf,svg] [--seed N] [--style book|slide]

Writes ``DIR/NAME.FORMAT`` for the book style and ``DIR/NAME-slide.FORMAT`` for slides (16:9,
large type). The same seed gives byte-identical PNG files. ``make figures`` runs it with the
defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from lecture_code.figures import FORMATS, load_catalogue, make_figure, save_figure
from lecture_code.seeding import DEFAULT_SEED
from lecture_code.style import STYLES


def _formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(
            f"--format must be a comma-separated list of {', '.join(FORMATS)}, got {text!r}"
        )
    return formats


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lecture_code.figures", description="Regenerate the book's figures."
    )
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="render only these figures")
    parser.add_argument("--out", type=Path, default=Path("figures"), help="output folder")
    parser.add_argument("--format", type=_formats, default=["png", "pdf"], help="png,pdf,svg")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (>= 0)")
    parser.add_argument("--style", choices=sorted(STYLES), default="book", help="book or slide")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    registry = load_catalogue()
    if args.list:
        width = max((len(n) for n in registry), default=0)
        for name, spec in sorted(registry.items()):
            print(f"{name:<{width}}  {spec.chapter}  {spec.caption}")
        return 0
    names = sorted(registry) if args.only is None else args.only
    unknown = [n for n in names if n not in registry]
    if unknown:
        print(f"unknown figure(s) {unknown}; known: {sorted(registry)}", file=sys.stderr)
        return 2
    suffix = "" if args.style == "book" else f"-{args.style}"
    written = []
    for name in tqdm(names, desc="figures", unit="fig"):
        fig = make_figure(name, seed=args.seed, style=args.style)
        written += save_figure(fig, args.out / f"{name}{suffix}", args.format, style=args.style)
    print(f"wrote {len(written)} files for {len(names)} figures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
