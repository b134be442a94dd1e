"""Eager validation: every check names the parameter, the rule and the value it got.

Nothing is coerced silently: a bool is not a number, a float is not a step count, a NaN is not a rate.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Sequence

import numpy as np

Groupable = float | tuple[float, ...]


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int; TypeError unless it is an integer, ValueError below ``minimum``."""
    if _is_bool(value) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float within the given bounds (``above`` is exclusive)."""
    if _is_bool(value) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if above is not None and result <= above:
        raise ValueError(f"{name} must be > {above}, got {value!r}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return result


def check_real_or_groups(name: str, value: Any, **bounds: float) -> Groupable:
    """A float, or a non-empty sequence of floats (one per parameter group), each checked."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or a sequence of them, got {value!r}")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (Sequence, np.ndarray)):
        if len(value) == 0:
            raise ValueError(f"{name} must not be an empty sequence")
        return tuple(check_real(f"{name}[{i}]", v, **bounds) for i, v in enumerate(value))
    return check_real(name, value, **bounds)


def check_same_groups(**values: Groupable) -> int | None:
    """The number of parameter groups the sequences agree on; None when every value is a scalar."""
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"per-group sequences must have the same length: {described}")
    return next(iter(lengths.values()), None)


def as_group_array(value: Groupable, groups: int | None) -> float | np.ndarray:
    """A scalar stays a Python float; with groups, a float64 array of shape (groups,)."""
    if groups is None:
        assert isinstance(value, float)
        return value
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (groups,)).copy()


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` must be one of ``choices``; the error suggests the closest one."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {list(choices)}, got {value!r}")
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}{hint}")
    return value


def check_steps(value: Any, name: str = "step") -> int | np.ndarray:
    """A step count: a non-negative int (returned as int) or an integer array (returned as int64)."""
    if type(value) is int or (
        isinstance(value, (numbers.Integral, np.integer)) and not _is_bool(value)
    ):
        value = int(value)
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return value
    if _is_bool(value):
        raise TypeError(f"{name} must be an integer or an integer array, got {value!r} (bool)")
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        kind = f"array of dtype {array.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"{name} must be an integer or an array of integers, got {value!r} ({kind})")
    if array.size:
        if array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} must be < 2**63, got {array.max()}")
        if array.dtype.kind == "i" and array.min() < 0:
            raise ValueError(f"{name} must be >= 0, got {array.min()}")
    return array.astype(np.int64, copy=False)
