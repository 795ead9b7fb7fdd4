"""Argument checks whose errors name the bad value and what was expected.

The book's functions are read next to their derivations, so a wrong input should fail at the
door with a sentence a student can act on, never broadcast silently into a wrong answer. Each
helper raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message of the
form ``"<name> must be <expectation>, got <value>"``, and otherwise returns the value.

Shapes are written with symbols, as in the docstrings: ``("B", "D")`` accepts any batch size and
dimension, ``("B", 2)`` fixes the last axis at 2. Passing the same ``dims`` dictionary to several
calls binds each symbol on first use, so two tensors that must share ``B`` are checked against
each other.

The batch axis comes first everywhere. A per-sample scalar (a noise level, a coefficient of the
schedule at each row's step) multiplies a batch of any rank through :func:`per_sample`, the one
place that knows how to broadcast it: no function assumes the rank of the data.

Book: preface, section "Running the code".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path

import torch

__all__ = [
    "ShapeSpec",
    "check_choice",
    "check_file",
    "check_int",
    "check_positive",
    "check_real",
    "check_same_shape",
    "check_tensor",
    "per_sample",
]

ShapeSpec = Sequence[int | str | None]


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return repr(value)


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either end may be open-ended with ``None``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be an integer <= {high}, got {value}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` in the interval given by ``low``, ``high``.

    ``low_open=True`` excludes ``low`` itself; ``high_open=True`` excludes ``high``.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def check_choice(name: str, value: object, choices: Iterable[object]) -> object:
    """``value`` if it is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_tensor(
    name: str,
    x: object,
    shape: ShapeSpec | None = None,
    *,
    dims: MutableMapping[str, int] | None = None,
    finite: bool = True,
    floating: bool = True,
) -> torch.Tensor:
    """``x`` if it is a tensor of the given symbolic ``shape``, finite and floating point.

    Args:
        name: the argument's name in the caller, used in the message.
        x: the value to check.
        shape: one entry per axis: an ``int`` fixes the size, a ``str`` names a symbol bound in
            ``dims`` (or on first use), ``None`` accepts any size. ``None`` skips the check.
        dims: symbol -> size, shared between calls to check several tensors against each other.
        finite: reject NaN and infinite entries.
        floating: require a floating-point dtype.

    Returns:
        ``x`` unchanged.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if shape is not None:
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        if x.ndim != len(shape):
            raise ValueError(
                f"{name} must have shape {expected} ({len(shape)} axes), "
                f"got shape {tuple(x.shape)} ({x.ndim} axes)"
            )
        bound = dims if dims is not None else {}
        for axis, (size, spec) in enumerate(zip(x.shape, shape, strict=True)):
            if spec is None:
                continue
            if isinstance(spec, str):
                if spec in bound and bound[spec] != size:
                    raise ValueError(
                        f"{name} must have shape {expected} with {spec} = {bound[spec]}, "
                        f"got shape {tuple(x.shape)} (axis {axis} is {size})"
                    )
                bound.setdefault(spec, size)
            elif size != spec:
                raise ValueError(
                    f"{name} must have shape {expected}, "
                    f"got shape {tuple(x.shape)} (axis {axis} is {size}, expected {spec})"
                )
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{name} must be finite, got {bad} NaN or infinite entries "
            f"out of {x.numel()} (shape {tuple(x.shape)})"
        )
    return x


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise unless ``a`` and ``b`` have identical shapes (no broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_positive(name: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` if every entry is positive; the error names the first entry that is not."""
    if not bool((x <= 0).any()):
        return x
    if x.ndim == 0:
        raise ValueError(f"{name} must be positive, got {name} = {x.item()}")
    index = tuple(int(i) for i in (x <= 0).nonzero()[0])
    raise ValueError(
        f"{name} must be positive, got {name}[{', '.join(map(str, index))}] = {x[index].item()}"
    )


def per_sample(values: torch.Tensor, x: torch.Tensor, *, name: str = "values") -> torch.Tensor:
    """Per-sample scalars shaped to multiply ``x: (B, ...)`` row by row, whatever its rank.

    Args:
        values: ``()`` (one scalar for the whole batch) or ``(B,)`` (one per row of ``x``).
        x: ``(B, ...)``, the batch the scalars multiply.
        name: the argument the values came from, used in the message.

    Returns:
        ``values`` itself when it is ``()``, else ``values`` reshaped to ``(B, 1, ..., 1)``
        with as many axes as ``x``. The dtype is unchanged: the caller decides the precision.
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(values)}")
    if values.ndim == 0:
        return values
    if values.ndim != 1 or x.ndim < 1 or values.shape[0] != x.shape[0]:
        batch = x.shape[0] if x.ndim >= 1 else "the batch"
        raise ValueError(
            f"{name} must be a single number or have shape (B,) with B = {batch} (the batch "
            f"axis of a tensor of shape {tuple(x.shape)}), got shape {tuple(values.shape)}"
        )
    return values.reshape(-1, *([1] * (x.ndim - 1)))


def check_file(name: str, path: str | Path) -> Path:
    """``path`` as a ``Path`` if it names an existing file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name} must be an existing file, got {str(path)!r}")
    return path
