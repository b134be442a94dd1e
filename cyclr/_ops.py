"""The array namespaces that every schedule formula is written against.

A cyclr formula is written once, as a closure factory ``formula(xp, **constants) -> value(step)``, using
Python's arithmetic operators and the few functions of an ``Ops`` namespace ``xp``. Each execution path
supplies its own namespace, so the same source runs

* on Python ints and floats (``PYTHON``: the scalar ``lr_at`` path and the torch adapter),
* on NumPy arrays (``NUMPY``: whole schedules at once),
* compiled by numba (``cyclr.numba`` builds a namespace of jitted functions),
* traced by JAX or Keras (the adapters build theirs from ``jax.numpy`` and ``keras.ops``).

Every ``where`` evaluates both branches, so formulas keep each branch finite for every step.

Composed schedules (``cyclr.compose``) dispatch on the step with two more functions, each built once for
a fixed table: ``step_function(boundaries, values)`` (which piece holds the step: a binary search where
the namespace can branch, a chain of ``where`` where it cannot) and ``switch(branches)`` (call only the
chosen piece's formula where the namespace can; evaluate each and select where it cannot). Neither nests
closures, so neither the Python stack nor a compiler's work grows with the number of pieces.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

INT64_MAX = 2**63 - 1

StepFunction = Callable[[Any], Any]
"""``step -> values[k]`` for the piece ``k`` holding ``step`` (see ``Ops.step_function``)."""
Switch = Callable[[Any, Any], Any]
"""``(index, operand) -> branches[index](operand)`` (see ``Ops.switch``)."""


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
    lookup: Callable[[Sequence[int], Sequence[int]], StepFunction] | None = None
    """Builds ``step_function`` for this namespace; None: a chain of ``where`` (``where_lookup``)."""
    select: Callable[[Sequence[Callable[[Any], Any]]], Switch] | None = None
    """Builds ``switch`` for this namespace; None: every branch evaluated, then ``where``
    (``where_select``)."""

    def step_function(self, boundaries: Sequence[int], values: Sequence[int]) -> StepFunction:
        """``step -> values[k]`` where ``boundaries[k-1] <= step < boundaries[k]``: a step function.

        ``boundaries`` increase strictly; ``values`` has one more entry (``values[0]`` below the first
        boundary, ``values[-1]`` from the last one on). The table is fixed when this is built.
        """
        return (self.lookup or (lambda b, v: where_lookup(self, b, v)))(boundaries, values)

    def switch(self, branches: Sequence[Callable[[Any], Any]]) -> Switch:
        """``(index, operand) -> branches[index](operand)``, elementwise for arrays of indices."""
        return (self.select or (lambda b: where_select(self, b)))(branches)


def where_lookup(xp: Ops, boundaries: Sequence[int], values: Sequence[int]) -> StepFunction:
    """``Ops.step_function`` for a namespace that cannot branch (traced code): one ``where`` per boundary."""
    boundaries, values = tuple(boundaries), tuple(values)
    where = xp.where

    def lookup(step: Any) -> Any:
        result: Any = values[0]
        for boundary, value in zip(boundaries, values[1:], strict=True):
            result = where(step >= boundary, value, result)
        return result

    return lookup


def where_select(xp: Ops, branches: Sequence[Callable[[Any], Any]]) -> Switch:
    """``Ops.switch`` for a namespace that cannot branch: every branch at ``operand``, then ``where``."""
    branches = tuple(branches)
    where = xp.where

    def switch(index: Any, operand: Any) -> Any:
        result = branches[0](operand)
        for k in range(1, len(branches)):
            result = where(index == k, branches[k](operand), result)
        return result

    return switch


def _minimum(a: Any, b: Any) -> Any:
    return a if a <= b else b


def _maximum(a: Any, b: Any) -> Any:
    return a if a >= b else b


def _where(condition: Any, if_true: Any, if_false: Any) -> Any:
    return if_true if condition else if_false


def _call(fn: Callable[[int], float], x: int) -> float:
    return fn(x)


def _python_lookup(boundaries: Sequence[int], values: Sequence[int]) -> StepFunction:
    boundaries, values = tuple(boundaries), tuple(values)

    def lookup(step: int) -> Any:
        return values[bisect_right(boundaries, step)]

    return lookup


def _python_select(branches: Sequence[Callable[[Any], Any]]) -> Switch:
    branches = tuple(branches)

    def switch(index: int, operand: Any) -> Any:
        return branches[index](operand)

    return switch


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
    lookup=_python_lookup,
    select=_python_select,
)


def _np_floor(x: Any) -> np.ndarray:
    return np.floor(x).astype(np.int64)


def _np_apply(fn: Callable[[int], float], x: Any) -> np.ndarray:
    """Call ``fn`` once per distinct element of ``x``, with a Python int, as torch does."""
    values, inverse = np.unique(np.asarray(x), return_inverse=True)
    results = np.array([float(fn(int(v))) for v in values], dtype=np.float64)
    return results[inverse].reshape(np.shape(x))


def int64_table(boundaries: Sequence[int], values: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The table as int64 arrays, without the boundaries an int64 step never reaches (>= 2**63)."""
    kept = [boundary for boundary in boundaries if boundary <= INT64_MAX]
    return np.array(kept, dtype=np.int64), np.array(values[: len(kept) + 1], dtype=np.int64)


def _np_lookup(boundaries: Sequence[int], values: Sequence[int]) -> StepFunction:
    table, results = int64_table(boundaries, values)

    def lookup(step: Any) -> np.ndarray:
        return results[np.searchsorted(table, step, side="right")]

    return lookup


def _np_select(branches: Sequence[Callable[[Any], Any]]) -> Switch:
    """Each branch on the elements that chose it (grouped specs' steps carry a trailing axis of 1)."""
    branches = tuple(branches)

    def switch(index: Any, operand: Any) -> np.ndarray:
        index, operand = np.broadcast_arrays(np.asarray(index), np.asarray(operand))
        trailing = operand.ndim >= 1 and operand.shape[-1] == 1
        lead = operand.shape[:-1] if trailing else operand.shape
        flat_index = index.reshape(-1)
        flat_operand = operand.reshape(-1, 1) if trailing else operand.reshape(-1)
        parts = []
        for k in np.unique(flat_index):
            rows = np.flatnonzero(flat_index == k)
            chosen = flat_operand[rows]
            value = np.asarray(branches[int(k)](chosen), dtype=np.float64)
            parts.append((rows, np.broadcast_to(value, np.broadcast_shapes(value.shape, chosen.shape))))
        tail = (
            np.broadcast_shapes(*(value.shape[1:] for _, value in parts))
            if parts
            else operand.shape[len(lead) :]
        )
        result = np.empty((flat_index.size, *tail))
        for rows, value in parts:
            result[rows] = value
        return result.reshape((*lead, *tail))

    return switch


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
    lookup=_np_lookup,
    select=_np_select,
)
