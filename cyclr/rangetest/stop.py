r"""The stop rule of a range test: the smoothed loss, and when it has diverged.

The smoothed loss is an exponential moving average with bias correction (``k`` counts from 0)::

    average(k)  = smooth * average(k-1) + (1 - smooth) * loss(k),   average(-1) = 0
    smoothed(k) = average(k) / (1 - smooth ** (k + 1))

computed as the equal running mean ``smoothed(k-1) + w * (loss(k) - smoothed(k-1))`` with
``w = (1 - smooth) / (1 - smooth ** (k + 1))``: a constant loss gives exactly that constant.

The sweep has diverged at step ``k`` when, with ``first = smoothed(0)`` and
``best = min(smoothed(0..k))``::

    smoothed(k) > first   and   smoothed(k) - best > (diverge_factor - 1) * |best|

For positive losses the second condition is the classic rule of fastai and torch-lr-finder,
``smoothed > diverge_factor * best``; written with ``|best|`` it keeps its meaning for a negative best,
where ``smoothed > diverge_factor * best`` holds at once for any smoothed loss at all. The first
condition (the loss is worse than where it started) keeps the rule from firing on noise when ``|best|``
is near zero: a loss that crosses zero, or a model that is trained already. Both are invariant to
scaling the loss by a positive factor.
"""

from __future__ import annotations

from typing import Any

from ._checks import real

__all__ = ["check_diverge_factor", "check_smooth", "has_diverged", "smoothed_next"]


def check_smooth(smooth: Any) -> float:
    """``smooth`` as a float in [0, 1); TypeError or ValueError naming it otherwise."""
    smooth = real("smooth", smooth, minimum=0.0)
    if smooth >= 1.0:
        raise ValueError(f"smooth must be in [0, 1): 1 would never move, got {smooth!r}")
    return smooth


def check_diverge_factor(diverge_factor: Any) -> float | None:
    """``diverge_factor`` as a finite float > 1, or None (never stop for divergence)."""
    if diverge_factor is None:
        return None
    return real("diverge_factor", diverge_factor, above=1.0)


def smoothed_next(previous: float, loss: float, step: int, smooth: float) -> float:
    """``smoothed(step)`` from ``smoothed(step - 1)`` (ignored at step 0) and ``loss(step)``.

    Examples:
        >>> smoothed_next(0.0, 2.0, 0, 0.9), smoothed_next(2.0, 2.0, 1, 0.9)
        (2.0, 2.0)
    """
    if step == 0:
        return loss
    weight = (1.0 - smooth) / (1.0 - smooth ** (step + 1))
    return previous + weight * (loss - previous)


def has_diverged(smoothed: float, first: float, best: float, diverge_factor: float | None) -> bool:
    """The rule above: ``smoothed > first and smoothed - best > (diverge_factor - 1) * |best|``.

    Examples:
        >>> has_diverged(4.5, 2.0, 1.0, 4.0), has_diverged(3.5, 2.0, 1.0, 4.0)
        (True, False)
    """
    if diverge_factor is None:
        return False
    return smoothed > first and smoothed - best > (diverge_factor - 1.0) * abs(best)
