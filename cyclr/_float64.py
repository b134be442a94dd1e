"""int64 steps and float64 values on a framework's tensors, for step counters that are int64.

Keras on TensorFlow counts its optimizer's steps in int64 (``optimizer.iterations``; int32 on JAX and
PyTorch). The double-float32 path (``cyclr._float32``) holds the step in int32, so a count past
``2**31 - 1`` would wrap there, and a model that trains (or resumes) past it would get another step's
rate. TensorFlow computes in int64 and float64 on its CPU and GPU kernels and under XLA, so for an int64
step the adapter runs the core's single formula on int64 and float64 tensors instead, and rounds the
float64 value to float32 once: the float64 value to within the formula's own rounding (as the NumPy
path), then correctly rounded, within 1 float32 ulp of ``spec.lr_at(step)`` at every step the spec's
int64 arithmetic holds (``cyclr._limits.exact_steps(spec, 64)``: every int64 step but for SGDR with
``T_mult - 1 > T_0``, which the Keras adapter refuses anyway).

Framework tensors do not promote like NumPy (TensorFlow refuses ``int64_tensor * 0.5``), and Keras'
own promotion is not NumPy's either (``keras.ops.floor_divide`` of two int64 torch tensors gives int32),
so the numbers here are ``Wide`` values: a tensor of dtype int64 or float64, with Python's operators
doing what they do on NumPy's int64 and float64 (an integer with a float gives a float64, ``/`` gives a
float64, ``//`` and ``%`` of integers stay integers). Each operation casts both operands to the result's
dtype first, then applies the tensors' own operator (``//`` is a floor division on TensorFlow, PyTorch
and JAX alike), so no framework rule decides a dtype. ``cast``, ``where``, ``cos``, ``log``, ``abs``
and a float ``power`` come from ``ops`` (``keras.ops``, each checked to keep float64 and int64 on every
backend; ``keras.ops.floor`` does not on PyTorch, so ``floor`` is ``// 1.0``); this module imports no
framework.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ._float32 import call_user
from ._ops import Ops

INT, FLOAT = "int64", "float64"


def _kind(x: Any) -> str:
    """The dtype ``x`` (a Wide value, a Python or NumPy number or array) computes in: int64 or float64."""
    if isinstance(x, Wide):
        return x.dtype
    if isinstance(x, (bool, np.bool_)):
        return INT
    if isinstance(x, numbers.Integral) or (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer)):
        return INT
    return FLOAT


def _as(ops: Any, x: Any, dtype: str) -> Any:
    """``x`` (a Wide value, a Python or NumPy number or array, a tensor) as a tensor of ``dtype``."""
    if isinstance(x, Wide):
        return x.value if x.dtype == dtype else ops.cast(x.value, dtype)
    if isinstance(x, (numbers.Number, np.ndarray, np.generic)):
        return ops.convert_to_tensor(np.asarray(x, dtype=dtype))
    return ops.cast(x, dtype)  # a tensor (a custom scale_fn's result)


class Wide:
    """A number held as a framework tensor of dtype int64 or float64, with NumPy's promotion rules."""

    __slots__ = ("ops", "name", "value", "dtype")
    __array_ufunc__ = None  # ``ndarray * Wide`` calls Wide.__rmul__ instead of looping over the array

    def __init__(self, ops: Any, name: str, value: Any, dtype: str) -> None:
        self.ops, self.name, self.value, self.dtype = ops, name, value, dtype

    def _tensor(self, x: Any, dtype: str) -> Any:
        return _as(self.ops, x, dtype)

    def _wrap(self, value: Any, dtype: str) -> Wide:
        return Wide(self.ops, self.name, value, dtype)

    def _binary(
        self, other: Any, op: Callable[[Any, Any], Any], reflected: bool, dtype: str | None = None
    ) -> Wide:
        """``op(self, other)`` (``op(other, self)`` when reflected) in the common dtype, or in ``dtype``."""
        common = dtype or (INT if self.dtype == INT and _kind(other) == INT else FLOAT)
        a, b = self._tensor(self, common), self._tensor(other, common)
        return self._wrap(op(b, a) if reflected else op(a, b), common)

    def __add__(self, other: Any) -> Wide:
        return self._binary(other, operator.add, False)

    def __radd__(self, other: Any) -> Wide:
        return self._binary(other, operator.add, True)

    def __sub__(self, other: Any) -> Wide:
        return self._binary(other, operator.sub, False)

    def __rsub__(self, other: Any) -> Wide:
        return self._binary(other, operator.sub, True)

    def __mul__(self, other: Any) -> Wide:
        return self._binary(other, operator.mul, False)

    def __rmul__(self, other: Any) -> Wide:
        return self._binary(other, operator.mul, True)

    def __truediv__(self, other: Any) -> Wide:
        return self._binary(other, operator.truediv, False, FLOAT)

    def __rtruediv__(self, other: Any) -> Wide:
        return self._binary(other, operator.truediv, True, FLOAT)

    def __floordiv__(self, other: Any) -> Wide:
        return self._binary(other, operator.floordiv, False)

    def __rfloordiv__(self, other: Any) -> Wide:
        return self._binary(other, operator.floordiv, True)

    def __mod__(self, other: Any) -> Wide:
        return self._binary(other, operator.mod, False)

    def __rmod__(self, other: Any) -> Wide:
        return self._binary(other, operator.mod, True)

    def __pow__(self, other: Any) -> Wide:
        return self._binary(other, operator.pow, False)

    def __rpow__(self, other: Any) -> Wide:
        return self._binary(other, operator.pow, True)

    def __neg__(self) -> Wide:
        return self._wrap(-self.value, self.dtype)

    def __abs__(self) -> Wide:
        return self._wrap(self.ops.abs(self.value), self.dtype)

    def _compare(self, other: Any, op: Callable[[Any, Any], Any]) -> Any:
        common = INT if self.dtype == INT and _kind(other) == INT else FLOAT
        return op(self._tensor(self, common), self._tensor(other, common))  # a boolean tensor

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, operator.ge)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, operator.ne)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"a {self.name} step has no truth value while it is traced: a formula must use "
            f"xp.where / xp.minimum, not Python's if, and/or"
        )

    def __index__(self) -> int:
        raise TypeError(f"a {self.name} step is a tensor, not a Python int")

    def __repr__(self) -> str:
        return f"Wide({self.value!r}, {self.dtype})"


def float64_ops(ops: Any, name: str) -> Ops:
    """The ``Ops`` namespace that runs a cyclr formula on ``Wide`` int64 steps and float64 values.

    ``ops`` has the elementwise functions of ``keras.ops`` (``cast``, ``convert_to_tensor``, ``add``,
    ``where``, ``cos``...); ``name`` names the framework in error messages.
    """

    def _to(x: Any, dtype: str) -> Any:
        return _as(ops, x, dtype)

    def wide(x: Any, dtype: str) -> Wide:
        return Wide(ops, name, _to(x, dtype), dtype)

    def traced(*values: Any) -> bool:
        return any(isinstance(value, Wide) for value in values)

    def where(condition: Any, if_true: Any, if_false: Any) -> Any:
        if isinstance(condition, (bool, np.bool_)):
            return if_true if condition else if_false
        dtype = INT if _kind(if_true) == INT and _kind(if_false) == INT else FLOAT
        return Wide(ops, name, ops.where(condition, _to(if_true, dtype), _to(if_false, dtype)), dtype)

    def minimum(a: Any, b: Any) -> Any:
        return where(a <= b, a, b) if traced(a, b) else min(a, b)

    def maximum(a: Any, b: Any) -> Any:
        return where(a >= b, a, b) if traced(a, b) else max(a, b)

    def unary(scalar: Callable[[Any], Any], tensor: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def function(x: Any) -> Any:
            if not traced(x):
                return scalar(x)
            return Wide(ops, name, tensor(wide(x, FLOAT).value), FLOAT)

        return function

    def floor(x: Any) -> Any:
        if not traced(x):
            return math.floor(x)
        if x.dtype == INT:
            return x
        # ``// 1.0``, not ops.floor: keras.ops.floor gives float32 on PyTorch, whatever its input.
        return Wide(ops, name, ops.cast(x.value // 1.0, INT), INT)

    def ldexp(x: Any, exponent: Any) -> Any:
        if not traced(x, exponent):
            return math.ldexp(x, exponent)
        return wide(x, FLOAT) * power(2.0, exponent)  # 2.0 ** an integer: exact in float64

    def power(base: Any, exponent: Any) -> Any:
        if not traced(base, exponent):
            return math.pow(base, exponent)
        return Wide(ops, name, ops.power(_to(base, FLOAT), _to(exponent, FLOAT)), FLOAT)

    def apply(fn: Callable[[Any], Any], x: Any) -> Any:
        result = call_user(name, fn, x.value if isinstance(x, Wide) else x)
        return wide(result, FLOAT) if not isinstance(result, numbers.Real) else result

    return Ops(
        minimum=minimum,
        maximum=maximum,
        where=where,
        cos=unary(math.cos, ops.cos),
        log=unary(math.log, ops.log),
        floor=floor,
        ldexp=ldexp,
        power=power,
        apply=apply,
    )


def evaluate64(ops: Any, name: str, formula: Callable[[Any], Any], steps: Any) -> Any:
    """``formula`` at the int64 tensor ``steps`` in float64, rounded once to a float32 tensor of the
    broadcast shape."""
    value = formula(Wide(ops, name, steps, INT))
    zeros = ops.zeros_like(ops.cast(steps, FLOAT))  # gives constants and group vectors the steps' shape
    if isinstance(value, Wide):
        value = ops.cast(value.value, FLOAT)
    else:
        value = ops.convert_to_tensor(np.asarray(value, dtype=FLOAT))
    return ops.cast(ops.add(value, zeros), "float32")
