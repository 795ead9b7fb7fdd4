"""Randomness as an argument.

Every random function in :mod:`lecture_code` takes a ``generator: torch.Generator`` and draws
from it alone, so a result depends only on its inputs. Only entry points (a chapter, the figure
command, the benchmark) turn an integer seed into a generator, with :func:`make_generator`.
No function here touches the global random state.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import hashlib

import torch

from lecture_code.validation import check_int

__all__ = ["DEFAULT_SEED", "derive_seed", "generator_for", "make_generator"]

#: The seed every chapter and figure uses unless told otherwise.
DEFAULT_SEED = 0


def make_generator(seed: int = DEFAULT_SEED) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``.

    Args:
        seed: a non-negative integer.

    Returns:
        A fresh generator; two generators made from the same seed give the same draws.
    """
    check_int("seed", seed, low=0)
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    return generator


def derive_seed(seed: int, *labels: str | int) -> int:
    """A seed for one named stream, derived from ``seed`` and ``labels``.

    Independent pieces of an experiment (training data, initial weights, test states) get their
    own streams, so adding draws to one does not shift the others. The derivation hashes the
    labels, so ``derive_seed(0, "train")`` and ``derive_seed(0, "test")`` are unrelated.

    Args:
        seed: the experiment's seed, a non-negative integer.
        labels: names of the stream, e.g. ``("lorenz96", "test")``.

    Returns:
        An integer in ``[0, 2**63)``.
    """
    check_int("seed", seed, low=0)
    text = "/".join([str(seed), *map(str, labels)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator_for(seed: int, *labels: str | int) -> torch.Generator:
    """``make_generator(derive_seed(seed, *labels))``: a generator for one named stream."""
    return make_generator(derive_seed(seed, *labels))
