"""Checks of the arrays of a recorded sweep, shared by ``suggest``, the plot and the result."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_vector(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d (one value per step), got shape {array.shape}")
    return array.astype(np.float64)


def check_sweep(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    lrs, losses = as_vector("lrs", lrs), as_vector("losses", losses)
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    bad = np.flatnonzero(~(np.isfinite(lrs) & (lrs > 0)))
    if bad.size:
        raise ValueError(f"lrs must be positive and finite, got {float(lrs[bad[0]])!r} at index {bad[0]}")
    falling = np.flatnonzero(np.diff(lrs) <= 0)
    if falling.size:
        i = falling[0] + 1
        raise ValueError(
            f"lrs must be strictly increasing (a sweep, in the order it ran), got {float(lrs[i])!r} at index "
            f"{i} after {float(lrs[i - 1])!r}"
        )
    return lrs, losses


def frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array
