"""What the JAX and Keras adapter tests share: distance in float32 ulps, and one spec of every family."""

from __future__ import annotations

from typing import Any

import numpy as np
from catalogue import FAMILIES

import cyclr
from cyclr._spec import _REGISTRY
from cyclr.rangetest import LRRangeTest

SMALLEST_NORMAL = 2.0**-126


def float32_ulps(actual: Any, expected: Any, cancelling: float = 0.0) -> float:
    """The largest distance of ``actual`` from the float64 ``expected``, in float32 ulps of ``expected``.

    The ulp is the float32 spacing in the binade of ``expected`` (``2**-149`` at the bottom), so the
    float32 nearest to ``expected`` is within 0.5. Values that are both below float32's smallest normal
    number count as equal: XLA flushes those to zero.

    ``cancelling``: the magnitude of the numbers the value is computed from, where the schedule cancels
    (momentum falling to a ``base_momentum`` of 1e-12, say). Double-float32 carries about 48 bits, so
    its error there is ``2**-46`` of that magnitude, as float64's own is ``2**-53`` of it: an absolute
    ``2**-44 * cancelling`` is forgiven.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.size == 0:
        return 0.0
    _, exponent = np.frexp(np.abs(expected))
    ulp = np.maximum(np.ldexp(1.0, exponent - 24), 2.0**-149)
    flushed = (np.abs(expected) < SMALLEST_NORMAL) & (np.abs(actual) < SMALLEST_NORMAL)
    error = np.maximum(np.abs(actual - expected) - 2.0**-44 * cancelling, 0.0)
    distance = np.where(flushed, 0.0, error / ulp)
    return float(np.max(np.where(np.isnan(actual) & np.isnan(expected), 0.0, distance)))


# Counts where float32 arithmetic breaks: the end of exact integers (2**24), the top of int32.
LARGE_COUNTS = np.array(
    [
        *range(0, 5),
        *range(2**24 - 3, 2**24 + 4),
        2**24 + 12_345,
        *range(2**30 - 2, 2**30 + 3),
        987_654_321,
        *range(2**31 - 6, 2**31),
    ],
    dtype=np.int32,
)

# One spec of every family (and the compositions), for the tests that hold for any spec.
CATALOGUE = {
    **FAMILIES,
    "range-test-exp": LRRangeTest(start_lr=1e-7, end_lr=10.0, num_steps=100),
    "range-test-linear": LRRangeTest(start_lr=1e-4, end_lr=1.0, num_steps=50, mode="linear"),
}
CATALOGUE_STEPS = np.concatenate([np.arange(200), [1000, 12_345, 10**6, 2**24 + 1, 2**30, 2**31 - 1]]).astype(
    np.int32
)


def registered_families() -> set[str]:
    """Every public spec class the core registers (for from_dict)."""
    return {name for name in _REGISTRY if not name.startswith("_")}


def expected(spec: cyclr.Spec, quantity: str, counts: Any, group: int | None = None) -> np.ndarray:
    """The core's float64 values at ``counts``, of one group when the spec has groups."""
    steps = np.asarray(counts, dtype=np.int64)
    values = spec.lr_at(steps) if quantity == "lr" else spec.momentum_at(steps)
    return values if group is None else values[..., group]


def groups_of(spec: cyclr.Spec) -> list[int | None]:
    return [None] if spec.groups is None else list(range(spec.groups))
