"""``check_real`` for the range test's parameters, with a number too large for a float a ValueError.

``float(10**400)`` and ``float(Fraction(10**400))`` raise OverflowError: here that is a ValueError that
names the parameter and shows the value briefly (a 5,000-digit int is not printed whole).
"""

from __future__ import annotations

from typing import Any

from .._validate import check_real


def brief(value: Any) -> str:
    """``repr(value)``, shortened to 60 characters (Python refuses to print ints past 4,300 digits)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 60 else f"{text[:28]}...{text[-12:]} ({len(text)} characters)"


def real(name: str, value: Any, **bounds: float) -> float:
    """``check_real(name, value, **bounds)``; ValueError where the value is too large for a float.

    Examples:
        >>> real("end_lr", 10**400)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: end_lr must be finite, got an integer of 401 digits (about 2**1328) (beyond the ...
    """
    try:
        return check_real(name, value, **bounds)
    except OverflowError:
        raise ValueError(
            f"{name} must be a finite float, got {brief(value)}: too large for a float"
        ) from None
