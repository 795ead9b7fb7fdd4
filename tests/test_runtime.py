"""Threads are restored after a block, progress bars never flood a log file, and a timing
ratio is the median of interleaved repeats."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from lecture_code import runtime


def test_torch_threads_sets_and_restores_even_after_an_error():
    before = torch.get_num_threads()
    with runtime.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="inside"), runtime.torch_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n must be"):
        with runtime.torch_threads(0):
            pass


def test_no_bar_when_nobody_watches_and_the_items_are_unchanged():
    items = list(range(5))
    # pytest captures stderr: not a terminal, so the iterable comes back as it is
    assert runtime.progress(items, desc="x") is items
    assert runtime.progress(items, desc="x", enabled=False) is items


def test_a_log_file_gets_no_carriage_returns():
    code = (
        "from lecture_code.runtime import progress\n"
        "for _ in progress(range(2000), desc='steps'):\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "\r" not in result.stderr and result.stderr == ""


def test_median_speedup_sees_the_slower_function():
    def slow() -> None:
        time.sleep(0.004)

    def fast() -> None:
        time.sleep(0.001)

    median, ratios = runtime.median_speedup(slow, fast, repeats=5, calls=2)
    assert ratios.shape == (5,)
    assert median == pytest.approx(float(ratios.median()))
    assert median > 1.5  # 4 ms against 1 ms, whatever the load
    with pytest.raises(ValueError, match="repeats"):
        runtime.median_speedup(slow, fast, repeats=0)
