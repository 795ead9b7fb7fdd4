"""The budget runner measures what it says: a fresh kernel, pinned, with its memory peak."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.book import budget

_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def _chapter(folder: Path, name: str, *cells: str) -> Path:
    body = "".join(f"\n```{{code-cell}} ipython3\n{cell}\n```\n" for cell in cells)
    path = folder / f"{name}.md"
    path.write_text(f"{_HEADER}\n# {name}\n{body}")
    return path


@pytest.mark.slow
def test_a_chapter_runs_pinned_to_one_cpu_with_an_empty_cache_and_its_peak_is_seen(tmp_path):
    # The cell checks its own setting: one CPU, one torch thread, a fresh cache folder. Then it
    # holds 400 MB for a moment and frees them, so only the peak can see them.
    path = _chapter(
        tmp_path,
        "pinned",
        "import os, time, torch\n"
        "from lecture_code.cache import cache_dir\n"
        "assert len(os.sched_getaffinity(0)) == 1, os.sched_getaffinity(0)\n"
        "assert torch.get_num_threads() == 1, torch.get_num_threads()\n"
        "assert not any(cache_dir().iterdir()), list(cache_dir().iterdir())\n"
        "block = torch.ones(50_000_000, dtype=torch.float64)\n"
        "time.sleep(0.3)\n"
        "del block",
    )
    run = budget.run_chapter(path, threads=1)
    assert run.error is None, run.error
    assert run.title == "pinned"
    assert run.peak_gb > 0.4 + 0.1  # the block and the kernel with torch loaded
    assert 0.3 < run.wall < 60
    assert run.problems(max_minutes=5, max_gb=10) == []
    assert run.problems(max_minutes=0.001, max_gb=0.1) == ["over 0.001 min", "over 0.1 GB"]


@pytest.mark.slow
def test_a_failing_chapter_is_reported_and_fails_the_command(tmp_path, capsys):
    path = _chapter(tmp_path, "broken", "x = 1", "raise ValueError('a wrong formula')")
    run = budget.run_chapter(path)
    assert run.error == "ValueError: a wrong formula"
    assert run.problems(5, 1.5) == ["failed: ValueError: a wrong formula"]
    assert budget.main([str(path), "--markdown"]) == 1
    out = capsys.readouterr().out
    assert "| [broken](" in out and "**failed: ValueError: a wrong formula**" in out
    assert "Measured on" in out


def test_tables_mark_what_is_over_budget():
    runs = [
        budget.ChapterRun(Path("/x/a.md"), "A", wall=10.0, peak_gb=0.5),
        budget.ChapterRun(Path("/x/b.md"), "B", wall=400.0, peak_gb=1.6),
    ]
    text = budget.text_table(runs, max_minutes=5, max_gb=1.5)
    assert "over 5 min; over 1.5 GB" in text and text.count(" ok") == 1
    markdown = budget.markdown_table(runs, max_minutes=5, max_gb=1.5)
    assert "| [A](/x/a.md) | 10.0 s | 0.50 GB | yes |" in markdown
    assert "| [B](/x/b.md) | 400.0 s | 1.60 GB | **over 5 min; over 1.5 GB** |" in markdown
    assert "| all 2 pages with code, one after the other | 6.8 min | | |" in markdown


def test_a_page_without_code_is_not_timed(tmp_path):
    path = tmp_path / "prose.md"
    path.write_text(f"{_HEADER}\n# Prose\n\nNo code here.\n")
    run = budget.run_chapter(path)
    assert (run.cells, run.wall, run.error) == (0, 0.0, None)
    assert "| [Prose](" in budget.markdown_table([run], 5, 1.5)
    assert "no code cells" in budget.markdown_table([run], 5, 1.5)


def test_chapter_13_has_twice_the_time_and_no_more_memory():
    chapter_13 = budget.ROOT / "book" / "part3" / "13_benchmark.md"
    assert budget.TIME_FACTOR == {"book/part3/13_benchmark.md": 2.0}
    run = budget.ChapterRun(chapter_13, "13. The benchmark", wall=300.0, peak_gb=1.6)
    assert run.problems(max_minutes=3, max_gb=1.5) == ["over 1.5 GB"]
    slow = budget.ChapterRun(chapter_13, "13. The benchmark", wall=361.0, peak_gb=1.0)
    assert slow.problems(max_minutes=3, max_gb=1.5) == ["over 6 min"]
    other = budget.ChapterRun(budget.ROOT / "book" / "x.md", "X", wall=300.0, peak_gb=1.0)
    assert other.problems(max_minutes=3, max_gb=1.5) == ["over 3 min"]
