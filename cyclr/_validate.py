"""Eager validation: every check names the parameter, the rule and the value it got.

Nothing is coerced silently: a bool is not a number, a float is not a step count, a NaN is not a rate.
Every accepted value is stored as a plain Python type (int, float, bool, str, tuple), so a spec's
``to_dict()`` is JSON data whatever NumPy scalars it was built from. Values too large for a float
(``10**400``, a huge ``Fraction``) are refused with a ValueError naming the parameter.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

Groupable = float | tuple[float, ...]

INT64_MAX = 2**63 - 1
"""The largest step, and the largest derived integer, that the NumPy and numba paths hold (int64)."""


def show(value: Any) -> str:
    """``repr(value)`` for an error message, kept short: a 400-digit integer is described, not printed."""
    if isinstance(value, numbers.Integral) and not _is_bool(value) and abs(int(value)) >= 10**20:
        magnitude = abs(int(value))
        bits = magnitude.bit_length() - 1
        # str() of an int past 4,300 digits raises (Python's limit): count the digits without it
        digits = int(bits * 0.30102999566398120) + 1
        digits += magnitude >= 10**digits
        sign = "-" if int(value) < 0 else ""
        return f"an integer of {digits} digits (about {sign}2**{bits})"
    try:
        text = repr(value)
    except Exception:  # a repr that fails (a huge Fraction's repr may exceed Python's digit limit)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """Return ``value`` as a Python int; TypeError unless it is an integer (a bool or a float is not),
    ValueError below ``minimum`` or above ``maximum`` (``why`` says where that limit comes from)."""
    if _is_bool(value) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {show(value)} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {show(value)}")
    if maximum is not None and value > maximum:
        limit = _power_of_two(maximum)
        raise ValueError(f"{name} must be <= {limit}{why}, got {show(value)}")
    return value


def _power_of_two(value: int) -> str:
    """``2**63 - 1`` rather than 9223372036854775807 in messages."""
    for exponent in range(1, 128):
        if value == 2**exponent:
            return f"2**{exponent}"
        if value == 2**exponent - 1:
            return f"2**{exponent} - 1"
    return str(value)


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite Python float within the given bounds (``above`` is exclusive).

    Python and NumPy reals are accepted (a 0-d array is its element); a bool, a string, a
    ``decimal.Decimal`` (not a ``numbers.Real``) or a complex is a TypeError. A number whose float is
    NaN or infinite, or which is too large for a float (``10**400``), is a ValueError.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if _is_bool(value) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {show(value)} ({type(value).__name__})")
    try:
        result = float(value)
    except (OverflowError, ValueError):  # 10**400, Fraction(10**400): beyond the largest float
        raise ValueError(
            f"{name} must be finite, got {show(value)} (beyond the largest float, 1.8e308)"
        ) from None
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {show(value)}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {show(value)}")
    if above is not None and result <= above:
        raise ValueError(f"{name} must be > {above}, got {show(value)}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {show(value)}")
    return result


def check_real_or_groups(name: str, value: Any, **bounds: float) -> Groupable:
    """A float, or a non-empty sequence of floats (one per parameter group), each checked."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or a sequence of them, got {show(value)}")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (Sequence, np.ndarray)):
        if len(value) == 0:
            raise ValueError(f"{name} must not be an empty sequence")
        return tuple(check_real(f"{name}[{i}]", v, **bounds) for i, v in enumerate(value))
    return check_real(name, value, **bounds)


def check_same_groups(**values: Any) -> int | None:
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
    """``value`` as a Python bool: True/False or a NumPy bool; anything else (1, "yes") is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {show(value)} ({type(value).__name__})")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` (a str or NumPy str) as a Python str, one of ``choices``; the error suggests the closest."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {list(choices)}, got {show(value)}")
    value = str(value)
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{name} must be one of {list(choices)}, got {show(value)}{hint}")
    return value


def check_steps(value: Any, name: str = "step") -> int | np.ndarray:
    """A step count: a non-negative integer (returned as a Python int) or an integer array (int64).

    Accepted: a Python or NumPy integer (any size: the Python path is exact beyond int64); an integer
    NumPy array of any shape; a (nested) list or tuple of integers, an empty one included (an empty
    float64 result). Refused: bools and floats (TypeError, also inside arrays and lists), negative
    steps and array elements beyond int64 (ValueError).
    """
    if type(value) is int or (isinstance(value, (numbers.Integral, np.integer)) and not _is_bool(value)):
        value = int(value)
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {show(value)}")
        return value
    if _is_bool(value):
        raise TypeError(f"{name} must be an integer or an integer array, got {value!r} (bool)")
    from_sequence = isinstance(value, (list, tuple))
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError) as error:  # a ragged list
        raise TypeError(
            f"{name} must be an integer or an array of integers, got {show(value)} ({error})"
        ) from None
    if from_sequence and array.dtype.kind in "iu" and _holds_bool(value):  # numpy turns [True, 2] into [1, 2]
        raise TypeError(
            f"{name} must be an integer or an array of integers, got {show(value)} (a bool inside)"
        )
    if from_sequence and array.size == 0:
        return np.zeros(array.shape, dtype=np.int64)
    if from_sequence and array.dtype == object and _all_integers(array):
        big = max(abs(int(v)) for v in array.flat)
        raise ValueError(
            f"{name} must be < 2**63 and >= 0 in an array (arrays hold int64 steps), got {show(big)}; "
            f"pass a Python int for the exact value at a larger step"
        )
    if array.dtype.kind not in "iu":
        kind = f"array of dtype {array.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"{name} must be an integer or an array of integers, got {show(value)} ({kind})")
    if array.size:
        if array.dtype.kind == "u" and array.max() > INT64_MAX:
            raise ValueError(
                f"{name} must be < 2**63 in an array (arrays hold int64 steps), got {array.max()}; "
                f"pass a Python int for the exact value at a larger step"
            )
        if array.dtype.kind == "i" and array.min() < 0:
            raise ValueError(f"{name} must be >= 0, got {array.min()}")
    return array.astype(np.int64, copy=False)


def _holds_bool(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_bool(item) for item in value)
    return _is_bool(value) or (isinstance(value, np.ndarray) and value.dtype == np.bool_)


def _all_integers(array: np.ndarray) -> bool:
    return all(isinstance(v, (numbers.Integral, np.integer)) and not _is_bool(v) for v in array.flat)
