"""Float64-accurate schedules in float32 frameworks: exact int32 numbers and double-float32 numbers.

JAX (without x64) and Keras compute in float32. Running a cyclr formula there on plain float32 numbers is
wrong three ways: the position in the cycle drifts once the step passes 2**24; ``gamma ** step`` is off by
thousands of ulps after ten thousand steps (``gamma = 0.99994`` is not a float32, and the error of its
logarithm grows with the step); and ``start + (delta * shape) * scale`` loses every digit when the result
is much smaller than ``start`` (``base_lr > max_lr`` at the peak, or momentum falling to a
``base_momentum`` of 0), because ``start`` and ``delta`` were each rounded to float32.

So the adapters run the core's single formula (``spec._formula(xp, quantity)``) on two number types of
their own, through an ``Ops`` namespace built here from a framework's tensor functions:

* ``Int``: an int32 tensor. ``+ - * // %`` are exact integer arithmetic (within int32); a Python int
  constant beyond int32 moves the computation to ``Float2``, exactly.
* ``Float2``: an unevaluated sum ``hi + lo`` of two float32 tensors with ``|lo| <= ulp(hi) / 2``
  ("double-float", Dekker 1971), about 48 significant bits. Sums use Knuth's TwoSum; products are
  assembled from the products of 12-bit halves, which float32 computes exactly, so a compiler that fuses
  multiply-adds (XLA does, on CPU and GPU) cannot change them; halves are cut by masking bits, not by
  Veltkamp's multiply. ``cos``, ``log``, ``power`` (through ``exp``) are double-float series. Constants
  (the spec's float64 numbers) enter split into ``hi + lo``; two constants are folded in float64.

The result is rounded to float32 once, at the end. Exact cases stay exact: ``offset / step_size_up`` is 1
at the peak, ``cos(pi)`` is -1, ``start + (-start) * 1`` is 0. Each operation is good to about ``2**-46``
relative (``exp`` of a large argument to ``2**-40``), so the float32 result is the float64 value
correctly rounded, give or take an ulp, unless the formula itself cancels more than about ``2**22``-fold
(see docs/jax.md). Values below float32's smallest normal number (1.2e-38) may be flushed to zero by the
framework (XLA does). Integer intermediates beyond int32 wrap, as int32 arithmetic does.

A framework supplies ``Tensors``: conversions, ``where``, ``floor``, a bit cast and a float32 ``log``.
Python's operators do the rest. ``cyclr.jax`` builds one from ``jax.numpy``, ``cyclr.keras`` from
``keras.ops``; this module imports neither.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._ops import Ops

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class Tensors(NamedTuple):
    """A framework's float32/int32 tensor functions; arithmetic and comparisons are Python operators."""

    name: str
    """The framework, for error messages: "JAX", "Keras"."""
    float32: Callable[[Any], Any]
    """A number, a NumPy array or a tensor as a float32 tensor (int32 tensors rounded to nearest)."""
    int32: Callable[[Any], Any]
    """A tensor (or number) cast to int32."""
    where: Callable[[Any, Any, Any], Any]
    floor: Callable[[Any], Any]
    """float32 -> float32."""
    bits: Callable[[Any], Any]
    """float32 -> int32 with the same bits."""
    from_bits: Callable[[Any], Any]
    """int32 -> float32 with the same bits."""
    bitwise_and: Callable[[Any, Any], Any]
    log: Callable[[Any], Any]
    """float32 natural logarithm (a first guess, refined in double-float)."""
    opaque: Callable[[Any], Any]
    """The identity, hidden from the compiler's algebra: XLA rewrites ``(x + c) - c`` to ``x`` for a
    constant ``c``, which would erase the rounding error that TwoSum computes. Identity where nothing
    rewrites float expressions (eager PyTorch)."""


def _is_number(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.number, np.ndarray)) and not isinstance(x, (bool, np.bool_))


# -- error-free transformations on float32 tensors (or float32-valued Python floats) ---------------------


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``s + e == a + b`` exactly, ``s = fl(a + b)`` (Knuth)."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _quick_two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``s + e == a + b`` exactly, given ``|a| >= |b|`` or ``a == 0`` (Dekker)."""
    s = a + b
    return s, b - (s - a)


_HALF_MASK = -4096  # 0xFFFFF000: sign, exponent and the top 11 stored bits of the significand


def _split(t: Tensors, x: Any) -> tuple[Any, Any]:
    """``x == high + low`` with at most 12 significant bits each, so their products are exact in float32."""
    if isinstance(x, float):
        high = float((np.float32(x).view(np.int32) & np.int32(_HALF_MASK)).view(np.float32))
        return high, x - high
    high = t.from_bits(t.bitwise_and(t.bits(x), _HALF_MASK))
    return high, x - high


def _two_prod(t: Tensors, a: Any, b: Any) -> tuple[Any, Any]:
    """``p + e == a * b`` to ``2**-48`` relative, from exact products of halves (safe under FMA fusion)."""
    a_high, a_low = _split(t, a)
    b_high, b_low = _split(t, b)
    middle, middle_error = _two_sum(a_high * b_low, a_low * b_high)
    p, e = _two_sum(a_high * b_high, middle)
    return p, e + (middle_error + a_low * b_low)


# -- the number types ---------------------------------------------------------------------------------


class Float2:
    """A real number ``hi + lo`` held as two float32 tensors (or, for constants, float32-valued floats).

    ``const`` is the float64 value when the number is a constant known at trace time.
    """

    __slots__ = ("t", "hi", "lo", "const")
    __array_ufunc__ = None  # ``ndarray + Float2`` calls Float2.__radd__ instead of looping over the array

    def __init__(self, t: Tensors, hi: Any, lo: Any = 0.0, const: np.ndarray | None = None) -> None:
        self.t, self.hi, self.lo, self.const = t, hi, lo, const

    # conversions

    @staticmethod
    def constant(t: Tensors, value: Any) -> Float2:
        """A float64 number or array, split into float32 ``hi + lo``."""
        exact = np.asarray(value, dtype=np.float64)
        hi = exact.astype(np.float32)
        lo = (exact - hi).astype(np.float32)
        if exact.ndim == 0:
            return Float2(t, float(hi), float(lo), exact)
        return Float2(t, t.float32(hi), t.float32(lo), exact)

    def _lift(self, other: Any) -> Float2:
        return lift(self.t, other)

    # arithmetic

    def __add__(self, other: Any) -> Float2:
        y = self._lift(other)
        if self.const is not None and y.const is not None:
            return Float2.constant(self.t, self.const + y.const)
        x = self
        if x.const is not None:
            x, y = y, x  # the constant second, and opaque: see Tensors.opaque
        if y.const is not None:
            y = Float2(self.t, self.t.opaque(self.t.float32(y.hi)), self.t.opaque(self.t.float32(y.lo)))
        s, e = _two_sum(x.hi, y.hi)
        low, low_error = _two_sum(x.lo, y.lo)
        s, e = _quick_two_sum(s, e + low)
        return Float2(self.t, *_quick_two_sum(s, e + low_error))

    __radd__ = __add__

    def __neg__(self) -> Float2:
        return Float2(self.t, -self.hi, -self.lo, None if self.const is None else -self.const)

    def __sub__(self, other: Any) -> Float2:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Float2:
        return self._lift(other) + (-self)

    def __mul__(self, other: Any) -> Float2:
        y = self._lift(other)
        if self.const is not None and y.const is not None:
            return Float2.constant(self.t, self.const * y.const)
        for a, b in ((self, y), (y, self)):
            if b.const is not None and b.const.ndim == 0 and _is_power_of_two(float(b.const)):
                factor = float(b.const)  # exact scaling
                return a if factor == 1.0 else Float2(self.t, a.hi * factor, a.lo * factor)
        p, e = _two_prod(self.t, self.hi, y.hi)
        e = e + (self.hi * y.lo + self.lo * y.hi)
        return Float2(self.t, *_quick_two_sum(p, e))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Float2:
        y = self._lift(other)
        if self.const is not None and y.const is not None:
            return Float2.constant(self.t, self.const / y.const)
        if y.const is not None and y.const.ndim == 0 and _is_power_of_two(float(y.const)):
            return self * (1.0 / float(y.const))
        # Long division, two float32 digits; exact when the quotient is a float32 (offset / up at the peak).
        q1 = self.hi / y.hi
        r = self - y * Float2(self.t, q1)
        q2 = r.hi / y.hi
        return Float2(self.t, *_quick_two_sum(q1, q2))

    def __rtruediv__(self, other: Any) -> Float2:
        return self._lift(other) / self

    def __floordiv__(self, other: Any) -> Int:
        return floor(self / other)

    def __rfloordiv__(self, other: Any) -> Int:
        return floor(self._lift(other) / self)

    def __mod__(self, other: Any) -> Float2:
        return self - floor(self / other) * other

    def __rmod__(self, other: Any) -> Float2:
        return self._lift(other) % self

    def __pow__(self, other: Any) -> Float2:
        return power(self, other)

    def __rpow__(self, other: Any) -> Float2:
        return power(self._lift(other), self)

    def __abs__(self) -> Float2:
        return _where(self.t, self.hi < 0, -self, self)

    # comparisons (the sign of an exact-enough difference)

    def _difference(self, other: Any) -> Any:
        return (self - other).hi

    def __lt__(self, other: Any) -> Any:
        return self._difference(other) < 0

    def __le__(self, other: Any) -> Any:
        return self._difference(other) <= 0

    def __gt__(self, other: Any) -> Any:
        return self._difference(other) > 0

    def __ge__(self, other: Any) -> Any:
        return self._difference(other) >= 0

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._difference(other) == 0

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._difference(other) != 0

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"a {self.t.name} schedule value has no truth value while it is traced: a formula must use "
            f"xp.where / xp.minimum, not Python's if, and/or"
        )

    def __repr__(self) -> str:
        return f"Float2(hi={self.hi!r}, lo={self.lo!r})"


class Int:
    """An integer held as an int32 tensor: exact ``+ - * // %`` (the caller keeps results within int32)."""

    __slots__ = ("t", "value")
    __array_ufunc__ = None

    def __init__(self, t: Tensors, value: Any) -> None:
        self.t, self.value = t, value

    def to_float2(self) -> Float2:
        """The same integer, exactly: ``high + low`` with ``low`` the bottom 16 bits."""
        low = self.t.bitwise_and(self.value, 0xFFFF)
        high = self.value - low  # a multiple of 2**16, exact in float32; |high| >= |low| unless high == 0
        return Float2(self.t, *_quick_two_sum(self.t.float32(high), self.t.float32(low)))

    def _integer(self, other: Any) -> Any:
        """``other`` as an int32 operand, or None when it needs the float path."""
        if isinstance(other, Int):
            return other.value
        if isinstance(other, (int, np.integer)) and not isinstance(other, (bool, np.bool_)):
            return int(other) if INT32_MIN <= other <= INT32_MAX else None
        return None

    def _binary(
        self, other: Any, integer_op: Callable[[Any, Any], Any], float_op: Callable[[Any, Any], Any]
    ) -> Any:
        value = self._integer(other)
        if value is None:
            return float_op(self.to_float2(), other)
        return Int(self.t, integer_op(self.value, value))

    def __add__(self, other: Any) -> Any:
        return self._binary(other, lambda a, b: a + b, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self._binary(other, lambda a, b: a - b, lambda a, b: a - b)

    def __rsub__(self, other: Any) -> Any:
        return self._binary(other, lambda a, b: b - a, lambda a, b: b - a)

    def __mul__(self, other: Any) -> Any:
        return self._binary(other, lambda a, b: a * b, lambda a, b: a * b)

    __rmul__ = __mul__

    def __neg__(self) -> Int:
        return Int(self.t, -self.value)

    def __abs__(self) -> Int:
        return Int(self.t, self.t.where(self.value < 0, -self.value, self.value))

    def __floordiv__(self, other: Any) -> Int:
        if isinstance(other, (int, np.integer)) and not (INT32_MIN <= other <= INT32_MAX):
            # |self| <= 2**31 <= |other|: the quotient is 0 or -1, by the signs.
            negative = (self.value < 0) if other > 0 else (self.value > 0)
            return Int(self.t, self.t.where(negative, -1, 0))
        return self._binary(other, lambda a, b: a // b, lambda a, b: a // b)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._binary(other, lambda a, b: b // a, lambda a, b: b // a)

    def __mod__(self, other: Any) -> Any:
        if isinstance(other, (Float2, float, np.floating)):
            return self.to_float2() % other
        return self - (self // other) * other

    def __rmod__(self, other: Any) -> Any:
        return other - (other // self) * self

    def __truediv__(self, other: Any) -> Float2:
        return self.to_float2() / other

    def __rtruediv__(self, other: Any) -> Float2:
        return lift(self.t, other) / self.to_float2()

    def __pow__(self, other: Any) -> Any:
        if _is_integer_like(other) and not isinstance(other, Int) and 0 <= other <= 64:
            result = Int(self.t, self.value * 0 + 1)
            for _ in range(int(other)):
                result = result * self
            return result
        return power(self, other)

    def __rpow__(self, other: Any) -> Any:
        if isinstance(other, (int, np.integer)) and not isinstance(other, (bool, np.bool_)):
            return _integer_power(self.t, int(other), self)
        return power(other, self)

    def _compare(self, other: Any, op: Callable[[Any, Any], Any]) -> Any:
        value = self._integer(other)
        if value is None:
            return op(self.to_float2(), other)
        return op(self.value, value)

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(other, lambda a, b: a != b)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"a {self.t.name} step has no truth value while it is traced: a formula must use "
            f"xp.where / xp.minimum, not Python's if, and/or"
        )

    def __index__(self) -> int:
        raise TypeError(f"a {self.t.name} step is a tensor, not a Python int")

    def __repr__(self) -> str:
        return f"Int({self.value!r})"


def lift(t: Tensors, x: Any) -> Float2:
    """Any number (Float2, Int, Python or NumPy number or array, float tensor) as a Float2."""
    if isinstance(x, Float2):
        return x
    if isinstance(x, Int):
        return x.to_float2()
    if _is_number(x):
        return Float2.constant(t, x)
    if isinstance(x, (bool, np.bool_)):
        return Float2.constant(t, float(x))
    return Float2(t, t.float32(x))  # a tensor, such as a scale_fn's result


def _integer_power(t: Tensors, base: int, exponent: Int) -> Int:
    """``base ** exponent`` for an exponent >= 0, exact in int32 (binary powering: one factor per bit).

    As with NumPy's integers, a negative exponent is not supported and a result beyond int32 wraps.
    """
    e = exponent.value
    if base in (0, 1, -1):
        return Int(t, t.where(e == 0, 1, t.where(t.bitwise_and(e, 1) == 0, base * base, base)))
    result, factor, bit = e * 0 + 1, base, 0
    while abs(factor) <= INT32_MAX and bit < 31:  # a larger factor would overflow whenever its bit is set
        result = t.where(t.bitwise_and(e, 1 << bit) != 0, result * factor, result)
        factor, bit = factor * factor, bit + 1
    return Int(t, result)


def _is_power_of_two(x: float) -> bool:
    return math.isfinite(x) and x > 0 and math.frexp(x)[0] == 0.5


def _is_integer_like(x: Any) -> bool:
    return isinstance(x, Int) or (isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)))


def _tensors_of(*values: Any) -> Tensors:
    return next(value.t for value in values if isinstance(value, (Float2, Int)))


# -- the Ops functions ----------------------------------------------------------------------------------


def _traced(*values: Any) -> bool:
    return any(isinstance(value, (Float2, Int)) for value in values)


def _where(t: Tensors, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true`` where ``condition`` holds, else ``if_false``; an Int when both are integers."""
    if isinstance(condition, (bool, np.bool_)):
        return if_true if condition else if_false
    if _is_integer_like(if_true) and _is_integer_like(if_false):
        a = if_true.value if isinstance(if_true, Int) else _saturated(int(if_true))
        b = if_false.value if isinstance(if_false, Int) else _saturated(int(if_false))
        return Int(t, t.where(condition, a, b))
    a, b = lift(t, if_true), lift(t, if_false)
    return Float2(t, t.where(condition, a.hi, b.hi), t.where(condition, a.lo, b.lo))


def _saturated(x: int) -> int:
    """An integer constant clipped to int32. A constant past int32 (a join boundary at 2**40) is chosen
    by ``where`` only where an int32 step has reached it, which no int32 step does; clipping keeps the
    tensor int32 instead of failing to build it."""
    return min(max(x, INT32_MIN), INT32_MAX)


def floor(x: Any) -> Any:
    """The largest integer <= x, as an Int (int32)."""
    if isinstance(x, Int):
        return x
    if not isinstance(x, Float2):
        return math.floor(x)
    t = x.t
    if x.const is not None:
        return Int(t, t.int32(np.floor(x.const).astype(np.int32)))
    floor_hi = t.floor(x.hi)
    # When hi is not an integer, hi + lo cannot reach the next integer (|lo| <= ulp(hi) / 2).
    floor_lo = t.floor(x.lo + floor_hi * 0.0)
    return Int(t, t.int32(floor_hi) + t.int32(t.where(floor_hi == x.hi, floor_lo, 0.0)))


def _clip(t: Tensors, n: Any, low: int, high: int) -> Any:
    return t.where(n < low, low, t.where(n > high, high, n))


def _power_of_two(t: Tensors, n: Any) -> tuple[Any, Any]:
    """``2.0 ** n == f1 * f2`` for an int32 tensor ``n``, each factor built from its bits (exact)."""
    n1 = _clip(t, n, -126, 127)
    n2 = _clip(t, n - n1, -126, 127)
    return t.from_bits((n1 + 127) * 8388608), t.from_bits((n2 + 127) * 8388608)


def ldexp(x: Any, exponent: Any) -> Any:
    """``x * 2**exponent``, exact (up to float32's range)."""
    if not isinstance(exponent, Int):
        if not isinstance(x, (Float2, Int)):
            return math.ldexp(x, exponent)
        return lift(x.t, x) * math.ldexp(1.0, int(exponent))  # a power of two: exact scaling
    t = exponent.t
    f1, f2 = _power_of_two(t, exponent.value)
    y = lift(t, x)
    return Float2(t, (y.hi * f1) * f2, (y.lo * f1) * f2)


_LN2 = math.log(2.0)
_INV_FACTORIALS = [1.0 / math.factorial(k) for k in range(14)]


def _exp(y: Float2) -> Float2:
    """``e ** y`` in double-float: ``2**n * exp(r)``, ``|r| <= ln(2) / 2``, a Taylor series in r."""
    t = y.t
    y = _where(t, y.hi < -110.0, -110.0, _where(t, y.hi > 90.0, 90.0, y))  # beyond: 0 and inf anyway
    n = t.floor(y.hi * (1.0 / _LN2) + 0.5)
    r = y - Float2(t, n) * _LN2
    # Terms from r**8 / 8! on are below 2**-27: float32 is enough for them.
    head = r.hi
    tail: Any = _INV_FACTORIALS[13]
    for k in range(12, 7, -1):
        tail = tail * head + _INV_FACTORIALS[k]
    series = Float2(t, tail)
    for k in range(7, -1, -1):
        series = series * r + _INV_FACTORIALS[k]
    f1, f2 = _power_of_two(t, t.int32(n))
    return Float2(t, (series.hi * f1) * f2, (series.lo * f1) * f2)


def _log(x: Float2) -> Float2:
    """Natural log of a positive double-float: ``e * ln(2) + log(m)``, one Newton step on ``exp``."""
    t = x.t
    exponent = t.bitwise_and(t.bits(x.hi), 0x7F800000) // 8388608 - 127
    f1, f2 = _power_of_two(t, -exponent)
    mantissa = Float2(t, (x.hi * f1) * f2, (x.lo * f1) * f2)  # in [1, 2)
    guess = Float2(t, t.log(mantissa.hi))
    guess = guess + (mantissa * _exp(-guess) - 1.0)
    return Int(t, exponent).to_float2() * _LN2 + guess


def _cos(x: Float2) -> Float2:
    """``cos(x)`` in double-float: ``x = k * pi/2 + r``, ``|r| <= pi/4``, Taylor series of sin and cos."""
    t = x.t
    k = t.floor(x.hi * (2.0 / math.pi) + 0.5)
    r = x - Float2(t, k) * (math.pi / 2)
    quadrant = t.bitwise_and(t.int32(k), 3)
    r2 = r * r
    head = r2.hi
    # Terms from r**10 on are below 2**-25: float32 tails.
    cos_terms = [(-1) ** j / math.factorial(2 * j) for j in range(10)]
    sin_terms = [(-1) ** j / math.factorial(2 * j + 1) for j in range(10)]
    results = []
    for terms in (cos_terms, sin_terms):
        tail: Any = terms[9]
        for j in range(8, 4, -1):
            tail = tail * head + terms[j]
        series = Float2(t, tail)
        for j in range(4, -1, -1):
            series = series * r2 + terms[j]
        results.append(series)
    cosine, sine = results[0], results[1] * r
    return _where(
        t, quadrant == 0, cosine, _where(t, quadrant == 1, -sine, _where(t, quadrant == 2, -cosine, sine))
    )


def cos(x: Any) -> Any:
    """Cosine: Python's for a Python number, double-float for a traced one."""
    if not isinstance(x, (Float2, Int)):
        return math.cos(x)
    x = lift(x.t, x)
    if x.const is not None:
        return Float2.constant(x.t, np.cos(x.const))
    return _cos(x)


def log(x: Any) -> Any:
    """Natural logarithm: Python's for a Python number, double-float for a traced (positive) one."""
    if not isinstance(x, (Float2, Int)):
        return math.log(x)
    x = lift(x.t, x)
    if x.const is not None:
        return Float2.constant(x.t, np.log(x.const))
    return _log(x)


def power(base: Any, exponent: Any) -> Any:
    """``base ** exponent`` as C's ``pow``, in double-float: ``exp(exponent * log(base))``.

    A constant base (the common case: ``gamma ** step``) has its logarithm taken in float64 at trace
    time; the exponent is then exact (an Int) and the product ``step * log(gamma)`` is good to
    ``2**-47``, so the result is good to about ``2**-40`` relative at any int32 step.
    """
    if not _traced(base, exponent):
        return math.pow(base, exponent)
    t = _tensors_of(base, exponent)
    if isinstance(base, Float2) and base.const is not None and base.const.ndim == 0:
        base = float(base.const)
    if not _traced(base):
        if np.ndim(base) != 0:
            raise TypeError(f"power: a constant base must be a scalar, got shape {np.shape(base)}")
        base = float(base)
        if base == 1.0:
            return Float2.constant(t, 1.0)
        if base == 0.0:
            return _where(t, exponent == 0, 1.0, _where(t, exponent > 0, 0.0, math.inf))
        magnitude = _exp(lift(t, exponent) * Float2.constant(t, math.log(abs(base))))
        if base > 0:
            return magnitude
        whole = floor(exponent)
        signed = _where(t, (whole % 2) == 0, magnitude, -magnitude)
        return signed if isinstance(exponent, Int) else _where(t, exponent == whole, signed, math.nan)
    return _exp(lift(t, exponent) * _log(lift(t, base)))


def _beyond_int32(x: Any) -> bool:
    """A Python or NumPy integer constant outside int32, which no ``Int`` can reach."""
    return _is_integer_like(x) and not isinstance(x, Int) and not INT32_MIN <= int(x) <= INT32_MAX


def float32_ops(t: Tensors) -> Ops:
    """The ``Ops`` namespace that runs a cyclr formula on ``Int`` steps and ``Float2`` values."""

    def where_(condition: Any, if_true: Any, if_false: Any) -> Any:
        return _where(t, condition, if_true, if_false)

    def minimum(a: Any, b: Any) -> Any:
        if isinstance(a, Int) and _beyond_int32(b) or isinstance(b, Int) and _beyond_int32(a):
            # An int32 tensor against a constant past int32 (OneCycleLR's last step, 2**40): decided.
            big, small = (b, a) if isinstance(a, Int) else (a, b)
            return small if big > 0 else big
        return _where(t, a <= b, a, b) if _traced(a, b) else min(a, b)

    def maximum(a: Any, b: Any) -> Any:
        if isinstance(a, Int) and _beyond_int32(b) or isinstance(b, Int) and _beyond_int32(a):
            big, small = (b, a) if isinstance(a, Int) else (a, b)
            return big if big > 0 else small
        return _where(t, a >= b, a, b) if _traced(a, b) else max(a, b)

    def apply(fn: Callable[[Any], Any], x: Any) -> Any:
        return lift(t, call_user(t.name, fn, x.value if isinstance(x, Int) else x))

    return Ops(
        minimum=minimum,
        maximum=maximum,
        where=where_,
        cos=cos,
        log=log,
        floor=floor,
        ldexp=ldexp,
        power=power,
        apply=apply,
    )


def check_int32_counts(caller: str, framework: str, spec: Any) -> None:
    """Refuse, when the adapter is built, a spec whose integer arithmetic overflows int32 at some count.

    The float32 paths hold the step in int32 (``Int``), so every count below ``2**31`` must be exact;
    ``cyclr._limits.exact_steps(spec, 32)`` says up to where it is (only SGDR with ``T_mult > T_0``
    falls short).
    """
    from ._limits import describe_limit, exact_steps

    limit = exact_steps(spec, 32)
    if limit <= INT32_MAX:
        raise ValueError(
            f"{caller}: {describe_limit(spec)} is exact under {framework} only for counts below {limit}: "
            f"its restart arithmetic forms integers past int32 (2**31 - 1) from there, and {framework}'s "
            f"step count is int32. Choose T_mult <= T_0 (every int32 count is then exact), or use the "
            f"spec on the NumPy/Python paths (exact up to 2**63 and beyond)"
        )


def call_user(framework: str, fn: Callable[[Any], Any], argument: Any) -> Any:
    """``fn(argument)`` for a user's function (a custom ``scale_fn``) on a traced tensor; clear TypeErrors."""
    try:
        return fn(argument)
    except TypeError as error:
        name = getattr(fn, "__name__", None) or repr(fn)
        reason = (str(error).splitlines() or [""])[0]
        raise TypeError(
            f"scale_fn={name} cannot run on a {framework} integer tensor (a traced step): a custom scale_fn "
            f"must be written with {framework} tensor functions, e.g. a where() instead of Python's if "
            f"({type(error).__name__}: {reason})"
        ) from error


def evaluate(t: Tensors, formula: Callable[[Any], Any], steps: Any) -> Any:
    """``formula`` at the int32 tensor ``steps``, rounded to a float32 tensor of the broadcast shape."""
    value = formula(Int(t, steps))
    zeros = t.float32(steps) * 0.0  # gives constants and group vectors the shape of the steps
    if isinstance(value, Float2):
        return value.hi + zeros  # hi is hi + lo rounded to nearest
    if isinstance(value, Int):
        return t.float32(value.value) + zeros
    return t.float32(np.float32(value)) + zeros
