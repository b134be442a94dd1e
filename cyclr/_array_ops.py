"""The ``Ops`` namespace of an array-API library in float64: exact int64 steps, float64 values.

A cyclr formula (``spec._formula(xp, quantity)``) is written with Python's operators, and NumPy's
promotion rules make them mean the right thing on NumPy arrays: ``int64 / int`` is a float64 quotient,
``int64 * 0.5`` a float64 product. The array API standard leaves both undefined (array-api-strict
refuses them) and torch answers in its default dtype, float32. So the formula runs here on two small
wrappers of the library's arrays, ``Int64`` and ``Float64``, whose operators say what NumPy's do:

* ``Int64`` with an ``Int64`` or a Python int: int64 arithmetic (``+ - * // %``, ``**`` by binary
  powering), exact within int64, the same integers as the NumPy path;
* anything with a float, and ``/``: both sides as float64 first (an int64 converted as NumPy converts
  it), then the library's float64 operation;
* comparisons give the library's bool arrays; a Python int beyond int64 compares by its sign, as no
  int64 step can reach it.

The functions: ``minimum``, ``maximum``, ``where``, ``cos``, ``log`` and ``floor`` are the standard's;
``ldexp`` (not in the standard) multiplies by powers of two built from the exponent's bits, exact;
``power`` is the library's ``pow`` of two float64 arrays; ``lookup`` is ``searchsorted`` then ``take``
on the int64 table; ``select`` is left to ``where_select`` (each joined piece evaluated at every step,
then chosen by ``where``: no branch on a value, so traced and lazy code stay whole); ``apply`` calls a
user's ``scale_fn`` once on the whole integer array (see ``cyclr._array_api``). Nothing here copies
to the host or branches on a value: the same code runs eagerly, under ``torch.compile``, and lazily
on dask arrays.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._ops import INT64_MAX, Ops, StepFunction, int64_table

INT64_MIN = -(2**63)


class Space:
    """Where arrays are made: an array-API namespace ``xp`` and a device (None: the library's default)."""

    __slots__ = ("xp", "device", "name", "pow")

    def __init__(self, xp: Any, device: Any, name: str, pow: Callable[[Any, Any], Any] | None = None) -> None:
        self.xp, self.device, self.name = xp, device, name
        self.pow = pow or xp.pow
        """float64 ``pow``: the namespace's, or (dask) NumPy's ``float_power``, C's ``pow``."""

    def ints(self, value: Any) -> Any:
        """A Python int, or a list of them, as an int64 array on the device."""
        if isinstance(value, list):
            return self.xp.asarray(value, dtype=self.xp.int64, device=self.device)
        # full(): a fill on the device, no copy from the host (a CUDA graph can capture it)
        return self.xp.full((), value, dtype=self.xp.int64, device=self.device)

    def floats(self, value: Any) -> Any:
        """A number, or a list of them, as a float64 array on the device."""
        if isinstance(value, list):
            return self.xp.asarray(value, dtype=self.xp.float64, device=self.device)
        return self.xp.full((), float(value), dtype=self.xp.float64, device=self.device)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.number)) and not isinstance(x, (bool, np.bool_))


class Float64:
    """A float64 array of the library: operators as NumPy's on float64 arrays."""

    __slots__ = ("s", "a")
    __array_ufunc__ = None  # ``ndarray * Float64`` calls Float64.__rmul__ (a group's constants)

    def __init__(self, s: Space, a: Any) -> None:
        self.s, self.a = s, a

    def _operand(self, y: Any) -> Any:
        """``y`` as something the library adds to a float64 array: a Python float or a float64 array."""
        return as_float(self.s, y)

    def __add__(self, y: Any) -> Float64:
        return Float64(self.s, self.a + self._operand(y))

    def __radd__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) + self.a)

    def __sub__(self, y: Any) -> Float64:
        return Float64(self.s, self.a - self._operand(y))

    def __rsub__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) - self.a)

    def __mul__(self, y: Any) -> Float64:
        return Float64(self.s, self.a * self._operand(y))

    def __rmul__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) * self.a)

    def __truediv__(self, y: Any) -> Float64:
        return Float64(self.s, self.a / self._operand(y))

    def __rtruediv__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) / self.a)

    def __floordiv__(self, y: Any) -> Float64:
        return Float64(self.s, self.a // self._operand(y))

    def __rfloordiv__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) // self.a)

    def __mod__(self, y: Any) -> Float64:
        return Float64(self.s, self.a % self._operand(y))

    def __rmod__(self, y: Any) -> Float64:
        return Float64(self.s, self._operand(y) % self.a)

    def __pow__(self, y: Any) -> Float64:
        return power(self, y)

    def __rpow__(self, y: Any) -> Float64:
        return power(y, self)

    def __neg__(self) -> Float64:
        return Float64(self.s, -self.a)

    def __abs__(self) -> Float64:
        return Float64(self.s, self.s.xp.abs(self.a))

    def __lt__(self, y: Any) -> Any:
        return self.a < self._operand(y)

    def __le__(self, y: Any) -> Any:
        return self.a <= self._operand(y)

    def __gt__(self, y: Any) -> Any:
        return self.a > self._operand(y)

    def __ge__(self, y: Any) -> Any:
        return self.a >= self._operand(y)

    def __eq__(self, y: Any) -> Any:  # type: ignore[override]
        return self.a == self._operand(y)

    def __ne__(self, y: Any) -> Any:  # type: ignore[override]
        return self.a != self._operand(y)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"a {self.s.name} schedule value has no truth value: a formula must use xp.where / "
            f"xp.minimum, not Python's if, and/or"
        )

    def __repr__(self) -> str:
        return f"Float64({self.a!r})"


class Int64:
    """An int64 array of the library: exact integer arithmetic, floats as NumPy promotes them."""

    __slots__ = ("s", "a")
    __array_ufunc__ = None

    def __init__(self, s: Space, a: Any) -> None:
        self.s, self.a = s, a

    def real(self) -> Float64:
        """The same numbers as float64 (rounded to nearest beyond 2**53, as NumPy's cast)."""
        return Float64(self.s, self.s.xp.astype(self.a, self.s.xp.float64))

    def _integer(self, y: Any) -> Any:
        """``y`` as an int64 operand (an int64 array or a Python int), or None: a float operation."""
        if isinstance(y, Int64):
            return y.a
        if _is_int(y):
            y = int(y)
            if not INT64_MIN <= y <= INT64_MAX:
                raise OverflowError(f"the integer {y} is beyond int64 (an array step is int64)")
            return y
        if isinstance(y, np.ndarray) and y.dtype.kind in "iu":
            return self.s.ints(y.tolist())
        return None

    def _binary(self, y: Any, op: Callable[[Any, Any], Any]) -> Any:
        value = self._integer(y)
        if value is None:
            return op(self.real(), y)
        return Int64(self.s, op(self.a, value))

    def _reversed(self, y: Any, op: Callable[[Any, Any], Any]) -> Any:
        value = self._integer(y)
        if value is None:
            return op(y, self.real())
        if not isinstance(value, Int64) and not hasattr(value, "dtype"):
            value = self.s.ints(value)  # a Python int on the left: an array, so the library's operator runs
        return Int64(self.s, op(value, self.a))

    def __add__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: a + b)

    def __radd__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: b + a)

    def __sub__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: a - b)

    def __rsub__(self, y: Any) -> Any:
        return self._reversed(y, lambda a, b: a - b)

    def __mul__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: a * b)

    def __rmul__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: b * a)

    def __floordiv__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: a // b)

    def __rfloordiv__(self, y: Any) -> Any:
        return self._reversed(y, lambda a, b: a // b)

    def __mod__(self, y: Any) -> Any:
        return self._binary(y, lambda a, b: a % b)

    def __rmod__(self, y: Any) -> Any:
        return self._reversed(y, lambda a, b: a % b)

    def __truediv__(self, y: Any) -> Float64:
        return self.real() / y

    def __rtruediv__(self, y: Any) -> Float64:
        return y / self.real()

    def __neg__(self) -> Int64:
        return Int64(self.s, -self.a)

    def __abs__(self) -> Int64:
        return Int64(self.s, self.s.xp.abs(self.a))

    def __pow__(self, y: Any) -> Any:
        if _is_int(y) and 0 <= y <= 64:
            result: Any = self.a * 0 + 1
            for _ in range(int(y)):
                result = result * self.a
            return Int64(self.s, result)
        return power(self, y)

    def __rpow__(self, y: Any) -> Any:
        if _is_int(y):
            return _integer_power(self.s, int(y), self)
        return power(y, self)

    def _compare(self, y: Any, op: Callable[[Any, Any], Any]) -> Any:
        if _is_int(y) and not INT64_MIN <= int(y) <= INT64_MAX:
            # No int64 step reaches a constant beyond int64: the comparison is decided by its sign.
            return op(self.s.xp.zeros_like(self.a), 1 if y > 0 else -1)
        value = self._integer(y)
        if value is None:
            return op(self.real(), y)
        return op(self.a, value)

    def __lt__(self, y: Any) -> Any:
        return self._compare(y, lambda a, b: a < b)

    def __le__(self, y: Any) -> Any:
        return self._compare(y, lambda a, b: a <= b)

    def __gt__(self, y: Any) -> Any:
        return self._compare(y, lambda a, b: a > b)

    def __ge__(self, y: Any) -> Any:
        return self._compare(y, lambda a, b: a >= b)

    def __eq__(self, y: Any) -> Any:  # type: ignore[override]
        return self._compare(y, lambda a, b: a == b)

    def __ne__(self, y: Any) -> Any:  # type: ignore[override]
        return self._compare(y, lambda a, b: a != b)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"a {self.s.name} step array has no truth value: a formula must use xp.where / xp.minimum, "
            f"not Python's if, and/or"
        )

    def __index__(self) -> int:
        raise TypeError(f"a {self.s.name} step is an array, not a Python int")

    def __repr__(self) -> str:
        return f"Int64({self.a!r})"


def as_float(s: Space, y: Any) -> Any:
    """``y`` as a float64 operand: a Python float, or a float64 array of the library."""
    if isinstance(y, Float64):
        return y.a
    if isinstance(y, Int64):
        return y.real().a
    if isinstance(y, (bool, np.bool_)):
        return float(y)
    if isinstance(y, np.ndarray):  # a group's constants (no NumPy call here: dynamo would trace it)
        return float(y[()]) if y.ndim == 0 else s.floats(y.tolist())  # a list: torch.compile traces it
    if _is_real(y):
        return float(y)
    return s.xp.astype(y, s.xp.float64, copy=False)  # the library's own array (a scale_fn's result)


def _integer_power(s: Space, base: int, exponent: Int64) -> Int64:
    """``base ** exponent`` for int64 exponents >= 0, exact within int64 (binary powering by the bits)."""
    xp, e = s.xp, exponent.a
    if base in (0, 1, -1):
        odd = (e & 1) != 0
        value = xp.where(e == 0, s.ints(1), xp.where(odd, s.ints(base), s.ints(base * base)))
        return Int64(s, value)
    result: Any = e * 0 + 1
    factor, bit, one = base, 0, s.ints(1)
    while abs(factor) <= INT64_MAX and bit < 63:  # a larger factor would overflow whenever its bit is set
        result = result * xp.where((e & (1 << bit)) != 0, s.ints(factor), one)
        factor, bit = factor * factor, bit + 1
    return Int64(s, result)


def _traced(*values: Any) -> bool:
    return any(isinstance(value, (Float64, Int64)) for value in values)


def _space(*values: Any) -> Space:
    return next(value.s for value in values if isinstance(value, (Float64, Int64)))


def _saturated(x: int) -> int:
    """An integer constant clipped to int64: chosen by ``where`` only where no int64 step reaches."""
    return min(max(x, INT64_MIN), INT64_MAX)


def where(s: Space, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true`` where ``condition`` holds, else ``if_false``; an Int64 when both are integers."""
    if isinstance(condition, (bool, np.bool_)):
        return if_true if condition else if_false
    xp = s.xp
    if (isinstance(if_true, Int64) or _is_int(if_true)) and (
        isinstance(if_false, Int64) or _is_int(if_false)
    ):
        a = if_true.a if isinstance(if_true, Int64) else s.ints(_saturated(int(if_true)))
        b = if_false.a if isinstance(if_false, Int64) else s.ints(_saturated(int(if_false)))
        return Int64(s, xp.where(condition, a, b))
    a, b = as_float(s, if_true), as_float(s, if_false)
    return Float64(s, xp.where(condition, _array(s, a), _array(s, b)))


def _array(s: Space, x: Any) -> Any:
    return s.floats(x) if isinstance(x, float) else x


def _extreme(pick_minimum: bool) -> Callable[[Any, Any], Any]:
    def extreme(a: Any, b: Any) -> Any:
        if not _traced(a, b):
            return min(a, b) if pick_minimum else max(a, b)
        for x, y in ((a, b), (b, a)):
            if isinstance(x, Int64) and _is_int(y) and not INT64_MIN <= int(y) <= INT64_MAX:
                # An int64 array against a constant past int64 (the capped exp_range cycle): decided.
                return x if (y > 0) == pick_minimum else y
        s = _space(a, b)
        xp = s.xp
        function = xp.minimum if pick_minimum else xp.maximum
        if (isinstance(a, Int64) or _is_int(a)) and (isinstance(b, Int64) or _is_int(b)):
            x = a.a if isinstance(a, Int64) else s.ints(int(a))
            y = b.a if isinstance(b, Int64) else s.ints(int(b))
            return Int64(s, function(x, y))
        return Float64(s, function(_array(s, as_float(s, a)), _array(s, as_float(s, b))))

    return extreme


def _unary(name: str, scalar: Callable[[float], float]) -> Callable[[Any], Any]:
    def function(x: Any) -> Any:
        if not _traced(x):
            return scalar(x)
        s = _space(x)
        return Float64(s, getattr(s.xp, name)(as_float(s, x)))

    function.__name__ = name
    return function


def floor(x: Any) -> Any:
    """The largest integer <= x, as an Int64."""
    if isinstance(x, Int64):
        return x
    if not isinstance(x, Float64):
        return math.floor(x)
    xp = x.s.xp
    return Int64(x.s, xp.astype(xp.floor(x.a), xp.int64))


def ldexp(x: Any, exponent: Any) -> Any:
    """``x * 2**exponent``: for an Int64 exponent, one exact power of two per bit of ``|exponent|``.

    Exponents are clipped to ``[-1100, 1100]``, beyond which every float64 has under- or overflowed.
    The factors are multiplied from the smallest up, so each partial product is an exact power of two
    until it falls below the smallest subnormal, 2**-1074, and becomes 0, as ``math.ldexp`` does.
    """
    if not isinstance(exponent, Int64):
        if not _traced(x):
            return math.ldexp(x, exponent)
        return x * math.ldexp(1.0, int(exponent))
    s = exponent.s
    xp = s.xp
    e = exponent.a
    zero, cap = s.ints(0), s.ints(1100)
    rise, fall = xp.minimum(xp.maximum(e, zero), cap), xp.minimum(xp.maximum(-e, zero), cap)
    # Each factor is 1 or a power of two, chosen before multiplying: no product overflows unless the
    # result does (2**1024 is applied as 2**512 twice, at the end).
    down: Any = s.floats(1.0)
    up: Any = s.floats(1.0)
    one = s.floats(1.0)
    for bit in range(10):
        down = down * xp.where((fall & (1 << bit)) != 0, s.floats(math.ldexp(1.0, -(1 << bit))), one)
        up = up * xp.where((rise & (1 << bit)) != 0, s.floats(math.ldexp(1.0, 1 << bit)), one)
    down = down * xp.where((fall & 1024) != 0, s.floats(math.ldexp(1.0, -1024)), one)
    half = xp.where((rise & 1024) != 0, s.floats(math.ldexp(1.0, 512)), one)
    y = as_float(s, x)
    return Float64(s, xp.where(e >= 0, ((y * up) * half) * half, y * down))


def power(base: Any, exponent: Any) -> Any:
    """``base ** exponent`` in float64: the library's ``pow`` (C's on most; see docs/arrays.md)."""
    if not _traced(base, exponent):
        return math.pow(base, exponent)
    s = _space(base, exponent)
    a, b = _array(s, as_float(s, base)), _array(s, as_float(s, exponent))
    return Float64(s, s.pow(a, b))


def array_ops(s: Space, apply: Callable[[Callable[[Any], Any], Any], Any]) -> Ops:
    """The ``Ops`` namespace of ``s``: the formula's arithmetic on ``Int64`` / ``Float64`` arrays.

    ``apply(fn, x)`` calls a user's function (``scale_fn``) on the library's integer array ``x``.
    """

    def lookup(boundaries: Sequence[int], values: Sequence[int]) -> StepFunction:
        table, results = int64_table(boundaries, values)
        table_array, results_array = s.ints(table.tolist()), s.ints(results.tolist())
        xp = s.xp

        def step_function(step: Any) -> Any:
            if not isinstance(step, Int64):
                return values[int(np.searchsorted(table, step, side="right"))]
            index = xp.searchsorted(table_array, step.a, side="right")
            shape = tuple(index.shape)
            flat = xp.take(results_array, xp.reshape(index, (-1,)), axis=0)
            return Int64(s, xp.reshape(flat, shape))

        return step_function

    return Ops(
        minimum=_extreme(True),
        maximum=_extreme(False),
        where=lambda condition, if_true, if_false: where(s, condition, if_true, if_false),
        cos=_unary("cos", math.cos),
        log=_unary("log", math.log),
        floor=floor,
        ldexp=ldexp,
        power=power,
        apply=apply,
        lookup=lookup,
    )


def constants_on_device(s: Space, formula: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``formula`` with the NumPy arrays its closures hold (a grouped spec's constants) moved to ``s``.

    A formula built for this namespace captures its per-group constants as NumPy arrays; moved once
    here, as ``Float64`` arrays on the device, they are not copied from the host at every call (a
    CUDA graph cannot capture such a copy) and torch.compile never meets a NumPy array. Only the cells
    of closures built for this namespace are rebound; the arrays themselves are not changed.
    """
    seen: set[int] = set()

    def visit(value: Any) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
            return
        for cell in getattr(value, "__closure__", None) or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(content, np.ndarray) and content.ndim and content.dtype.kind == "f":
                cell.cell_contents = Float64(s, s.floats(content.tolist()))
            elif isinstance(content, np.ndarray) and content.ndim and content.dtype.kind in "iu":
                cell.cell_contents = Int64(s, s.ints(content.tolist()))
            elif callable(content) or isinstance(content, (tuple, list)):
                visit(content)

    visit(formula)
    return formula
