"""The command ``python -m lecture_code.benchmark``: its arguments and its log.

A log file is not a terminal: progress bars must not redraw themselves into it, so a run with
standard error sent to a file writes whole lines only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lecture_code.benchmark.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "huge"], "--profile must be one of"),
        (["--track", "windy"], "--track: track must be one of"),
        (["--track", "two_scale"], "track 'two_scale' (chapter 14"),
        (["--test-seed", "-1"], "--test-seed must be a non-negative integer, got -1"),
        (["--jobs", "0"], "--jobs must be >= 1, got 0"),
    ],
)
def test_the_command_refuses_bad_arguments_by_name(capsys, argv, message):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_a_log_file_gets_whole_lines_and_no_progress_bars(tmp_path):
    # As `python -m lecture_code.benchmark --profile tiny --out DIR > log 2>&1`, from an empty
    # cache, so that training (with its progress bars, were they drawn) runs too.
    log, out = tmp_path / "log", str(tmp_path / "out")
    env = {**os.environ, "LECTURE_CODE_CACHE": str(tmp_path / "cache")}
    command = [
        sys.executable,
        "-m",
        "lecture_code.benchmark",
        "--profile",
        "tiny",
        "--track",
        "bursty",
        "--out",
        out,
    ]
    with log.open("w") as stream:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT, timeout=600
        )
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text
    assert "[benchmark bursty] rollout diffusion:" in text and "wrote " in text
    assert "bursty.sampler" in text
    assert len(text.splitlines()) < 80
