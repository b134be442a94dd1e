"""Where a spec's integer arithmetic stays exact: the step range of the int64 and int32 paths.

The position in a cycle is computed with integers. Python's ints never overflow, so the scalar path
(``lr_at(int)``, ``spec(int)``) is exact at every step, ``2**100`` included. The NumPy and numba paths
hold steps and the integers derived from them in int64; the JAX and Keras adapters (float32) in int32.
Every spec is built so that its constants fit in int64 (the constructors refuse the rest), and for all
but one family every int64 step is then exact. The exception is SGDR with ``T_mult > 1``:
``warm_restarts_position`` forms ``q = floor(step * (T_mult - 1) / T_0) + 1``, which outgrows the step
when ``T_mult - 1 > T_0``. ``exact_steps(spec, bits)`` is the first step at which some integer the
formula forms no longer fits in ``bits``-bit signed integers; below it every path gives the exact
value. docs/limits.md lists each limit.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the spec classes are imported where they are used: no import circle with _spec
    from ._spec import Spec


def exact_steps(spec: Spec, bits: int = 64) -> int:
    """The first step at which ``spec``'s integer arithmetic overflows ``bits``-bit signed integers.

    ``2**(bits - 1)`` when every step that such an integer holds is exact.

    Examples:
        >>> import cyclr
        >>> exact_steps(cyclr.CyclicLR()) == 2**63
        True
        >>> exact_steps(cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000))
        9232604641496273
    """
    from .compose import Join, Warmup
    from .cosine import CosineAnnealingWarmRestarts

    end = 2 ** (bits - 1)
    if isinstance(spec, CosineAnnealingWarmRestarts):
        return _warm_restarts_steps(spec.T_0, spec.T_mult, end)
    if isinstance(spec, Warmup):
        return min(end, spec.warmup_steps + exact_steps(spec.spec, bits))
    if isinstance(spec, Join):
        starts = (0, *spec.boundaries)
        ends = (*spec.boundaries, end)
        for part, first, last in zip(spec.specs, starts, ends, strict=True):
            limit = first + exact_steps(part, bits)
            if limit < last:
                return min(limit, end)
        return end
    return end


@functools.lru_cache(maxsize=1024)
def _warm_restarts_steps(T_0: int, T_mult: int, end: int) -> int:
    """The first step at which SGDR's position formula forms an integer >= ``end``.

    With ``whole, part = divmod(step, T_0)`` it forms ``whole * (T_mult - 1)``, ``part * (T_mult - 1)``
    and ``q = whole * (T_mult - 1) + part * (T_mult - 1) // T_0 + 1``; every later integer (powers of
    ``T_mult`` up to ``q``, the restart's first step) is at most ``max(q, step)``. ``q`` grows with
    the step and ``part <= min(step, T_0 - 1)``, so the first failing step is found by bisection.
    """
    if T_mult == 1:
        return end

    def fails(step: int) -> bool:
        whole, part = divmod(step, T_0)
        q = whole * (T_mult - 1) + part * (T_mult - 1) // T_0 + 1
        return q >= end or min(step, T_0 - 1) * (T_mult - 1) >= end

    if not fails(end - 1):
        return end
    low, high = 0, end - 1  # fails(high); the answer is the least failing step
    while low < high:
        middle = (low + high) // 2
        if fails(middle):
            high = middle
        else:
            low = middle + 1
    return low


def describe_limit(spec: Spec) -> str:
    """Which parameters set ``limit``: "T_0=1, T_mult=1000" for SGDR, else the spec's class name."""
    parts: list[str] = []
    _collect(spec, parts)
    return ", ".join(parts) if parts else type(spec).__name__


def _collect(spec: Any, parts: list[str]) -> None:
    from .compose import Join, Warmup
    from .cosine import CosineAnnealingWarmRestarts

    if isinstance(spec, CosineAnnealingWarmRestarts) and spec.T_mult > 1:
        parts.append(f"CosineAnnealingWarmRestarts(T_0={spec.T_0}, T_mult={spec.T_mult})")
    elif isinstance(spec, Warmup):
        _collect(spec.spec, parts)
    elif isinstance(spec, Join):
        for part in spec.specs:
            _collect(part, parts)
