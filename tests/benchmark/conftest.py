"""The tiny profile run once for the benchmark's tests (seconds), with its own empty cache."""

from __future__ import annotations

import json

import pytest

from lecture_code.benchmark.__main__ import main


@pytest.fixture(scope="package")
def tiny_run(tmp_path_factory):
    """The tiny profile on every track run twice from the command line into fresh folders, one
    empty cache: first with one worker process per track, then in this process.

    Returns:
        ``(folder, first results, second results)``; ``folder / "cache"`` holds the cache.
    """
    folder = tmp_path_factory.mktemp("benchmark")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LECTURE_CODE_CACHE", str(folder / "cache"))
        code = main(
            ["--profile", "tiny", "--out", str(folder / "a"), "--no-progress", "--jobs", "2"]
        )
        assert code == 0
        main(["--profile", "tiny", "--out", str(folder / "b"), "--no-progress", "--jobs", "1"])
    first = json.loads((folder / "a" / "results.json").read_text())
    second = json.loads((folder / "b" / "results.json").read_text())
    return folder, first, second
