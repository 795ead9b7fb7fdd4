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


def test_the_command_refuses_an_unknown_profile(capsys):
    with pytest.raises(SystemExit):
        main(["--profile", "huge"])
    assert "--profile must be one of" in capsys.readouterr().err


def test_a_log_file_gets_whole_lines_and_no_progress_bars(tmp_path):
    # As `python -m lecture_code.benchmark --profile tiny --out DIR > log 2>&1`, from an empty
    # cache, so that training (with its progress bars, were they drawn) runs too.
    log, out = tmp_path / "log", str(tmp_path / "out")
    env = {**os.environ, "LECTURE_CODE_CACHE": str(tmp_path / "cache")}
    with log.open("w") as stream:
        done = subprocess.run(
            [sys.executable, "-m", "lecture_code.benchmark", "--profile", "tiny", "--out", out],
            cwd=ROOT,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text
    assert "[benchmark] rollout diffusion:" in text and "wrote " in text
    assert len(text.splitlines()) < 60
