"""The figure command: regenerate every figure of the book.

Usage::

    python -m lecture_code.figures [--list] [--only NAME ...] [--out DIR] [--dpi DPI]
                                   [--format png,pdf,svg] [--seed N] [--style book|slide]

Writes ``DIR/NAME.FORMAT`` for the book style and ``DIR/NAME-slide.FORMAT`` for slides (16:9,
large type), chapter by chapter in the order of the book, with a progress bar that names the
figure being drawn. The same seed gives byte-identical PNG files. ``make figures`` runs it with
the defaults (every figure, PNG and PDF, into ``figures/``).

Book: preface, section "Regenerating the figures".
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from tqdm import tqdm

from lecture_code.figures import FORMATS, FigureSpec, load_catalogue, make_figure, save_figure
from lecture_code.plots.style import STYLES
from lecture_code.runtime import interactive
from lecture_code.seeding import DEFAULT_SEED


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
    parser.add_argument("--dpi", type=float, default=None, help="PNG resolution (default: style)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    if args.dpi is not None and not args.dpi > 0:
        parser.error(f"--dpi must be positive, got {args.dpi}")
    return args


def in_book_order(registry: dict[str, FigureSpec]) -> list[FigureSpec]:
    """The registered figures chapter by chapter as the book shows them (by name when the
    book's table of contents is not at hand, as in an installed copy of the package)."""
    try:
        from lecture_code.figures.gallery import gallery_sections

        ordered = [spec for section in gallery_sections() for spec in section.figures]
    except (FileNotFoundError, ImportError):
        ordered = []
    if sorted(s.name for s in ordered) != sorted(registry):
        ordered = [registry[name] for name in sorted(registry)]
    return ordered


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    registry = load_catalogue()
    ordered = in_book_order(registry)
    if args.list:
        width = max((len(n) for n in registry), default=0)
        for spec in ordered:
            print(f"{spec.name:<{width}}  {spec.chapter}  {spec.caption}")
        return 0
    if args.only is not None:
        unknown = [n for n in args.only if n not in registry]
        if unknown:
            print(f"unknown figure(s) {unknown}; known: {sorted(registry)}", file=sys.stderr)
            return 2
        ordered = [registry[name] for name in dict.fromkeys(args.only)]
    # Embedding fonts in a PDF makes fontTools warn about the time stamps inside DejaVu's font
    # files; the warning says nothing about the figure.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    suffix = "" if args.style == "book" else f"-{args.style}"
    written = []
    start = time.perf_counter()
    # A person at a terminal gets a bar naming the figure being drawn; a log file gets one line
    # per figure instead of the bar's carriage-return redraws.
    watched = interactive()
    with tqdm(ordered, desc="figures", unit="fig", file=sys.stderr, disable=not watched) as bar:
        for number, spec in enumerate(bar, start=1):
            bar.set_postfix_str(spec.name)
            if not watched:
                print(f"figure {number}/{len(ordered)}: {spec.name}", file=sys.stderr, flush=True)
            fig = make_figure(spec.name, seed=args.seed, style=args.style)
            written += save_figure(
                fig, args.out / f"{spec.name}{suffix}", args.format, args.style, args.dpi
            )
    seconds = time.perf_counter() - start
    print(
        f"wrote {len(written)} files for {len(ordered)} figures to {args.out} in {seconds:.0f} s "
        f"(seed {args.seed}, style {args.style})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
