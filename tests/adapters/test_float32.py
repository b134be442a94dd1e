"""cyclr._float32: exact int32 and double-float32 numbers, run on JAX tensors, eager and jitted.

The adapters' float32 exactness rests on these: every operation to about 2**-46, exact cases exact, and the
compiler (XLA) not allowed to simplify the error-free transformations away.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyclr._float32 import Float2, Int, cos, floor, ldexp, log, power
from cyclr.jax import FLOAT32, TENSORS

RNG = np.random.default_rng(20170301)


def double_float(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 values as (hi, lo) float32 arrays."""
    hi = values.astype(np.float32)
    return hi, (values - hi).astype(np.float32)


def value_of(x: Float2) -> np.ndarray:
    return np.asarray(x.hi, dtype=np.float64) + np.asarray(x.lo, dtype=np.float64)


def run(operation, *arrays: np.ndarray, jit: bool) -> np.ndarray:
    """``operation`` on Float2 arguments built from float64 arrays, eager or jitted, as float64."""

    def on_parts(*parts):
        args = [Float2(TENSORS, parts[2 * i], parts[2 * i + 1]) for i in range(len(arrays))]
        result = operation(*args)
        return result.hi, result.lo

    parts = [part for array in arrays for part in double_float(array)]
    hi, lo = (jax.jit(on_parts) if jit else on_parts)(*parts)
    return np.asarray(hi, dtype=np.float64) + np.asarray(lo, dtype=np.float64)


def representable(values: np.ndarray) -> np.ndarray:
    """The values a double-float holds exactly (so that the reference is exact)."""
    hi, lo = double_float(values)
    return hi.astype(np.float64) + lo.astype(np.float64)


A = representable(RNG.uniform(-3, 3, 4096))
B = representable(RNG.uniform(0.1, 3, 4096) * RNG.choice([-1, 1], 4096))

OPERATIONS = {
    "add": (lambda x, y: x + y, lambda a, b: a + b),
    "sub": (lambda x, y: x - y, lambda a, b: a - b),
    "mul": (lambda x, y: x * y, lambda a, b: a * b),
    "div": (lambda x, y: x / y, lambda a, b: a / b),
    "constant minus": (lambda x, y: 2 - x, lambda a, b: 2 - a),
    "times a constant": (lambda x, y: x * 0.006, lambda a, b: a * 0.006),
}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_arithmetic_to_2_to_the_minus_46(name, jit):
    operation, reference = OPERATIONS[name]
    result = run(operation, A, B, jit=jit)
    exact = reference(A, B)
    assert np.max(np.abs(result - exact) / np.abs(exact)) < 2.0**-45


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_functions(jit):
    angles = representable(RNG.uniform(-10, 10, 4096))
    assert np.max(np.abs(run(cos, angles, jit=jit) - np.cos(angles))) < 2.0**-44
    # Down to e**-60: below 2**-100 the low half falls under float32's normal range, and XLA flushes it.
    exponents = representable(RNG.uniform(-60, 80, 4096))
    result = run(lambda x: power(math.e, x), exponents, jit=jit)
    assert np.max(np.abs(result / np.exp(exponents) - 1)) < 2.0**-39  # |x| * 2**-47 for |x| <= 80
    positive = representable(10 ** RNG.uniform(-25, 25, 4096))  # lo stays a normal float32
    assert np.max(np.abs(run(log, positive, jit=jit) - np.log(positive))) < 2.0**-40
    bases = representable(RNG.uniform(0.01, 10, 4096))
    result = run(lambda x: power(x, 2.5), bases, jit=jit)
    assert np.max(np.abs(result / bases**2.5 - 1)) < 2.0**-40


def test_the_compiler_does_not_simplify_the_rounding_errors_away():
    """XLA rewrites ``(x + c) - c`` to ``x`` for a constant c: TwoSum with a constant needs a barrier."""

    def constant_minus(hi, lo):
        result = 2 - Float2(TENSORS, hi, lo)
        return result.hi, result.lo

    hi, lo = double_float(np.array([0.3, 1.7, 1e-3]))
    np.testing.assert_array_equal(jax.jit(constant_minus)(hi, lo)[1], constant_minus(hi, lo)[1])
    assert np.all(np.asarray(jax.jit(constant_minus)(hi, lo)[1]) != 0)


def test_exact_cases_stay_exact():
    def values(steps):
        offset = Int(TENSORS, steps)
        shape = offset / 2000  # 1 at the peak
        return (shape.hi, shape.lo), (cos(math.pi * shape).hi,), ((0.9 + (0.1 - 0.9) * shape).hi,)

    (ratio_hi, ratio_lo), (cosine,), (momentum,) = jax.jit(values)(jnp.array([2000], jnp.int32))
    assert float(ratio_hi[0]) == 1.0 and float(ratio_lo[0]) == 0.0
    assert float(cosine[0]) == -1.0
    assert float(momentum[0]) == np.float32(0.1)


INT32 = st.integers(-(2**31), 2**31 - 1)


@given(st.lists(INT32, min_size=8, max_size=8), st.integers(1, 2**40), st.integers(-(2**40), -2))
def test_integers_are_exact(values, positive, negative):
    x = np.array(values, dtype=np.int64)
    n = Int(TENSORS, jnp.asarray(x, jnp.int32))

    def as_int64(result):
        """An Int's values; a Float2 (where the result passed int32) holds integers exactly too."""
        if isinstance(result, Float2):
            return value_of(result).astype(np.int64)
        return np.asarray(result.value, dtype=np.int64)

    for divisor in (1, 7, 2**20, positive, negative):
        np.testing.assert_array_equal(as_int64(n // divisor), x // divisor)
        np.testing.assert_array_equal(as_int64(n % divisor), x % divisor)
        np.testing.assert_array_equal(np.asarray(n < divisor), x < divisor)
    # With a constant past int32, the sum moves to double-float, exactly.
    np.testing.assert_array_equal(as_int64(n + 2**40), x + 2**40)
    np.testing.assert_array_equal(as_int64(n - 2**40), x - 2**40)
    np.testing.assert_array_equal(value_of(n.to_float2()), x.astype(np.float64))
    small = Int(TENSORS, jnp.asarray(np.abs(x) % 20, jnp.int32))
    np.testing.assert_array_equal(as_int64(3**small), 3 ** (np.abs(x) % 20))


def test_floor_ldexp_and_where():
    x = Float2(TENSORS, jnp.float32(3.0), jnp.float32(-1e-8))  # just below 3
    assert int(floor(x).value) == 2
    assert int(floor(Float2(TENSORS, jnp.float32(3.0), jnp.float32(1e-8))).value) == 3
    exponents = Int(TENSORS, jnp.array([0, -1, -126, -140, -200, 5], jnp.int32))
    scaled = np.asarray(ldexp(1.0, exponents).hi, dtype=np.float64)
    np.testing.assert_array_equal(scaled[[0, 1, 2, 5]], [1.0, 0.5, 2.0**-126, 32.0])
    assert np.all(scaled[3:5] < 2.0**-126)  # below float32's normal range: flushed or subnormal
    chosen = FLOAT32.where(jnp.array([True, False]), Int(TENSORS, jnp.array([1, 2], jnp.int32)), 7)
    np.testing.assert_array_equal(np.asarray(chosen.value), [1, 7])


def test_a_traced_value_in_a_python_if_is_an_error():
    with pytest.raises(TypeError, match="no truth value while it is traced"):
        bool(Float2(TENSORS, jnp.float32(1.0)))
    with pytest.raises(TypeError, match="use xp.where"):
        if Int(TENSORS, jnp.int32(1)):
            pass
