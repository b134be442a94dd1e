"""The array namespaces that every schedule formula is written against.

A cyclr formula is written once, as a closure factory ``formula(xp, **constants) -> value(step)``, using
Python's arithmetic operators and the few functions of an ``Ops`` namespace ``xp``. Each execution path
supplies its own namespace, so the same source runs

* on Python ints and floats (``PYTHON``: the scalar ``lr_at`` path and the torch adapter),
* on NumPy arrays (``NUMPY``: whole schedules at once),
* compiled by numba (``cyclr.numba`` builds a namespace of jitted functions),
* traced by JAX or Keras (the adapters build theirs from ``jax.numpy`` and ``keras.ops``).

Every ``where`` evaluates both branches, so formulas keep each branch finite for every step.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np


class Ops(NamedTuple):
    """The functions a formula may call, beyond Python's arithmetic operators."""

    minimum: Callable[[Any, Any], Any]
    maximum: Callable[[Any, Any], Any]
    where: Callable[[Any, Any, Any], Any]
    cos: Callable[[Any], Any]
    log: Callable[[Any], Any]
    floor: Callable[[Any], Any]
    """Round down to an integer (an integer dtype for arrays)."""
    ldexp: Callable[[Any, Any], Any]
    """``ldexp(x, e) = x * 2**e``, exact."""
    power: Callable[[Any, Any], Any]
    """``power(x, y) = x**y`` for a float base, computed as C's ``pow``."""
    apply: Callable[[Callable[[int], float], Any], Any]
    """``apply(fn, x)``: a user's scalar function (such as ``scale_fn``) at every element of ``x``."""
    jit: Callable[[Callable[[Any], Any]], Callable[[Any], Any]] = lambda formula: formula  # noqa: E731
    """Prepare another spec's formula for calling from this one (numba compiles it; others: as is)."""


def _minimum(a: Any, b: Any) -> Any:
    return a if a <= b else b


def _maximum(a: Any, b: Any) -> Any:
    return a if a >= b else b


def _where(condition: Any, if_true: Any, if_false: Any) -> Any:
    return if_true if condition else if_false


def _call(fn: Callable[[int], float], x: int) -> float:
    return fn(x)


PYTHON = Ops(
    minimum=_minimum,
    maximum=_maximum,
    where=_where,
    cos=math.cos,
    log=math.log,
    floor=math.floor,
    ldexp=math.ldexp,
    power=math.pow,
    apply=_call,
)


def _np_floor(x: Any) -> np.ndarray:
    return np.floor(x).astype(np.int64)


def _np_apply(fn: Callable[[int], float], x: Any) -> np.ndarray:
    """Call ``fn`` once per distinct element of ``x``, with a Python int, as torch does."""
    values, inverse = np.unique(np.asarray(x), return_inverse=True)
    results = np.array([float(fn(int(v))) for v in values], dtype=np.float64)
    return results[inverse].reshape(np.shape(x))


NUMPY = Ops(
    minimum=np.minimum,
    maximum=np.maximum,
    where=np.where,
    cos=np.cos,
    log=np.log,
    floor=_np_floor,
    ldexp=np.ldexp,
    # np.power takes a SIMD path that can differ from C's pow by an ulp; float_power calls pow itself.
    power=np.float_power,
    apply=_np_apply,
)
