"""The JAX / optax adapter: cyclr specs as optax schedules, ``count -> value``, traceable by jit and vmap.

An optax schedule is any callable from the step count (an int32 scalar, traced under ``jit``) to a value.
``lr_schedule(spec)`` and ``momentum_schedule(spec)`` are such callables, written in ``jax.numpy``: they
run the core's single formula (``spec._formula``) on JAX's ops; there is no schedule logic here.

* ``optax.sgd(learning_rate=cyclr.jax.lr_schedule(spec))``: the cyclical learning rate.
* ``optax.inject_hyperparams(optax.sgd)(learning_rate=lr_schedule(spec), momentum=momentum_schedule(spec))``:
  momentum cycled too; the same with ``optax.adam`` and ``b1=momentum_schedule(spec)`` cycles Adam's beta1.

Values are float32 (JAX's default). They are computed in more precision and rounded once: in float64
inside the float32 program on CPU and GPU (``FLOAT64_BACKENDS``; 64-bit types are enabled for the
schedule's own operations only), in double-float32 (``cyclr._float32``) on TPUs, which have no float64.
So for every int32 count (up to ``2**31 - 1``, optax's saturating counter) the result is within 2 float32
ulps of the float64 value ``spec.lr_at(count)`` (docs/jax.md has the error bounds); a plain float32
evaluation loses the position in the cycle past ``2**24`` steps, gets exp_range's ``gamma ** count``
wrong by thousands of ulps, and cancels where ``base_lr > max_lr`` or a cosine anneals to 0. With
``jax.config.update("jax_enable_x64", True)`` the values are float64, computed directly.

Examples:
    >>> import optax, cyclr, cyclr.jax
    >>> spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    >>> optimizer = optax.sgd(learning_rate=cyclr.jax.lr_schedule(spec))
    >>> print(cyclr.jax.lr_schedule(spec)(1000))
    0.0035
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as error:
    raise ImportError(f'cyclr.jax needs JAX and optax: pip install "cyclr[jax]" ({error})') from error

from . import _adapter
from ._float32 import INT32_MAX, Int, Tensors, call_user, check_int32_counts, evaluate, float32_ops
from ._ops import Ops, int64_table, where_lookup
from ._spec import Spec

__all__ = ["lr_schedule", "momentum_schedule"]

Schedule = Callable[[Any], jax.Array]
"""An optax schedule: a step count (int scalar or array) -> a float array of the same shape."""

TENSORS = Tensors(
    name="JAX",
    float32=lambda x: jnp.asarray(x, dtype=jnp.float32),
    int32=lambda x: jnp.asarray(x, dtype=jnp.int32),
    where=jnp.where,
    floor=jnp.floor,
    bits=lambda x: lax.bitcast_convert_type(x, jnp.int32),
    from_bits=lambda x: lax.bitcast_convert_type(x, jnp.float32),
    bitwise_and=jnp.bitwise_and,
    log=jnp.log,
    opaque=lax.optimization_barrier,
)
"""JAX's float32/int32 tensor functions, for ``cyclr._float32``."""

WHERE_CHAIN_MAX = 8
"""Up to this many boundaries a join finds its piece by a chain of ``where`` (cheapest for a few); from
more on by ``jnp.searchsorted``, whose size and compile time grow with ``log2`` of the table, not with it."""


def _searchsorted(table: Any, results: Any, step: Any) -> Any:
    return jnp.asarray(results)[jnp.searchsorted(jnp.asarray(table), step, side="right")]


def _lookup64(boundaries: Sequence[int], values: Sequence[int]) -> Callable[[Any], Any]:
    """``Ops.lookup`` on int64 steps: a chain of ``where`` for a few boundaries, else a binary search."""
    if len(boundaries) <= WHERE_CHAIN_MAX:
        return where_lookup(FLOAT64, boundaries, values)
    table, results = int64_table(boundaries, values)
    return lambda step: _searchsorted(table, results, step)


def _lookup32(boundaries: Sequence[int], values: Sequence[int]) -> Callable[[Any], Any]:
    """``Ops.lookup`` on ``Int`` (int32) steps: boundaries past int32, which no count reaches, dropped."""
    if len(boundaries) <= WHERE_CHAIN_MAX:
        return where_lookup(FLOAT32, boundaries, values)
    kept = [boundary for boundary in boundaries if boundary <= INT32_MAX]
    table = np.array(kept, dtype=np.int32)
    results = np.array([min(value, INT32_MAX) for value in values[: len(kept) + 1]], dtype=np.int32)
    return lambda step: Int(TENSORS, _searchsorted(table, results, step.value))


FLOAT32 = float32_ops(TENSORS)._replace(lookup=_lookup32)
"""Exact int32 steps and double-float32 values (see ``cyclr._float32``): on TPUs (no float64), and
wherever ``FLOAT64_BACKENDS`` does not name the backend."""


# -- float64 inside a float32 program --------------------------------------------------------------------

FLOAT64_BACKENDS = ("cpu", "gpu")
"""Backends (``jax.default_backend()``) where a float32 schedule computes in float64 and rounds once.
TPUs have no native float64: there the schedule computes in double-float32 (``FLOAT32``)."""

COS_ARGUMENT_MAX = 2.0**30 * math.pi
"""``_cos64`` reduces its argument exactly for ``|x| <= COS_ARGUMENT_MAX`` (``|k| < 2**31`` quarter turns).
cyclr's formulas take the cosine of ``pi`` times a position within a cycle, a few ``pi`` at most."""

# pi/2 as three 22-bit parts and the rest: k * part is exact for |k| < 2**31 (22 + 31 <= 53 bits).
_HALF_PI = (1.570796012878418, 3.139164164167596e-07, 6.223371969669989e-14, 2.0222662487959506e-21)
# fdlibm's minimax polynomials on |r| <= pi/4 (k_cos.c, k_sin.c): cos r = 1 - r**2/2 + r**4 C(r**2) and
# sin r = r + r**3 S(r**2), each within 2**-58 of the function.
_COS_C = (
    4.16666666666666019037e-02,
    -1.38888888888741095749e-03,
    2.48015872894767294178e-05,
    -2.75573143513906633035e-07,
    2.08757232129817482790e-09,
    -1.13596475577881948265e-11,
)
_SIN_S = (
    -1.66666666666666324348e-01,
    8.33333333332248946124e-03,
    -1.98412698298579493134e-04,
    2.75573137070700676789e-06,
    -2.50507602534068634195e-08,
    1.58969099521155010221e-10,
)


def _horner(coefficients: tuple[float, ...], z: Any) -> Any:
    result = coefficients[-1]
    for c in coefficients[-2::-1]:
        result = result * z + c
    return result


def _cos64(x: Any) -> Any:
    """``cos(x)`` in float64, to about ``2**-52`` relative to ``max(|cos x|, 2**-60)``.

    XLA's own float64 cosine costs five to six times as much on CPU. Cody and Waite's reduction
    ``x = k * pi/2 + r`` with ``pi/2`` in four parts is exact to ``2**-52 |r|`` for
    ``|x| <= COS_ARGUMENT_MAX`` (each product ``k * part`` is exact, and each subtraction is exact or
    rounds at the scale of ``r``); then fdlibm's polynomials for ``cos r`` and ``sin r`` on
    ``|r| <= pi/4``, and the quadrant ``k mod 4`` picks ``cos r, -sin r, -cos r`` or ``sin r``. A Python
    number gets C's ``cos``. Jitted on its own, so
    that JAX traces its forty operations once per shape, not once per schedule.
    """
    if isinstance(x, (int, float, np.number, np.ndarray)):
        return math.cos(x) if np.ndim(x) == 0 else np.cos(x)
    return _cos64_array(jnp.asarray(x, dtype=jnp.float64))


@jax.jit
def _cos64_array(x: jax.Array) -> jax.Array:
    k = lax.round(x * (2 / math.pi), lax.RoundingMethod.TO_NEAREST_EVEN)
    r = x
    for part in _HALF_PI:
        r = r - k * part
    z = r * r
    cosine = 1.0 + z * (-0.5 + z * _horner(_COS_C, z))
    sine = r + (r * z) * _horner(_SIN_S, z)
    quadrant = k.astype(jnp.int64)
    value = lax.select(lax.bitwise_and(quadrant, 1) == 1, sine, cosine)
    negative = lax.bitwise_and(lax.shift_right_arithmetic(quadrant + 1, jnp.int64(1)), 1) == 1  # 1, 2
    return lax.select(negative, -value, value)


_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's: n * hi exact
_EXP_TERMS = tuple(1.0 / math.factorial(j) for j in range(14))


@jax.jit
def _exp64(y: jax.Array) -> jax.Array:
    """``e ** y`` in float64, to ``2**-52`` relative: ``y = n ln2 + r``, ``|r| <= ln2 / 2``, Taylor to
    ``r**13`` (the rest is below ``2**-57``), scaled by ``2**n`` built from its bits, as two factors
    so that the results down to the bottom of float64's range are reached. 0 below ``-746``, inf above
    ``710``."""
    y = jnp.clip(y, -746.0, 710.0)
    n = lax.round(y * (1 / math.log(2)), lax.RoundingMethod.TO_NEAREST_EVEN)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    series = _horner(_EXP_TERMS, r)
    whole = n.astype(jnp.int64)
    half = lax.shift_right_arithmetic(whole, jnp.int64(1))
    factors = [
        lax.bitcast_convert_type(lax.shift_left(e + 1023, jnp.int64(52)), jnp.float64)
        for e in (half, whole - half)
    ]
    return (series * factors[0]) * factors[1]


def _power64(base: Any, exponent: Any) -> Any:
    """``base ** exponent``; for a constant positive base (``gamma ** count``), ``exp(exponent * log(base))``
    with the logarithm taken by C at trace time: within ``|exponent * log(base)| * 2**-52`` relative of
    C's ``pow``, ``2**-42`` wherever the value is a normal float32. XLA's own float64 ``pow`` costs five
    to six times as much on CPU."""
    if isinstance(base, (int, float, np.number)) and not isinstance(base, bool) and base > 0:
        if base == 1:
            return jnp.ones_like(jnp.asarray(exponent, dtype=jnp.float64))
        return _exp64(jnp.asarray(exponent, dtype=jnp.float64) * math.log(base))
    return jnp.power(base, jnp.asarray(exponent, dtype=jnp.float64))


FLOAT64 = Ops(
    minimum=jnp.minimum,
    maximum=jnp.maximum,
    where=jnp.where,
    cos=_cos64,
    log=jnp.log,
    floor=lambda x: jnp.floor(x).astype(jnp.int64),
    ldexp=jnp.ldexp,
    # A float exponent: XLA's pow, as C's. (An integer exponent would be squared and multiplied.)
    power=lambda x, y: jnp.power(x, jnp.asarray(y, dtype=jnp.float64)),
    apply=lambda fn, x: call_user("JAX", fn, x),
    lookup=lambda boundaries, values: _lookup64(boundaries, values),
)
"""``jax.numpy`` on int64 steps and float64 values, with ``jax_enable_x64`` on (the values float64)."""

FLOAT64_IN_FLOAT32 = FLOAT64._replace(power=_power64)
"""``FLOAT64`` inside a float32 schedule on the ``FLOAT64_BACKENDS``: rounded to float32 once, so
``gamma ** count`` may take the cheaper ``_power64``."""


def lr_schedule(spec: Spec, *, group: int | None = None) -> Schedule:
    """The spec's learning rate as an optax schedule: ``count -> spec.lr_at(count)``, in float32.

    Pass it wherever optax takes a learning rate, or to ``optax.inject_hyperparams``. The schedule is
    pure ``jax.numpy``: it can be jitted, vmapped and called on arrays of counts (any shape).

    Args:
        spec: a cyclr spec, such as ``cyclr.CyclicLR(...)``. A custom ``scale_fn`` receives a JAX int32
            array and must be written with ``jax.numpy`` (``jnp.where``, not Python's ``if``).
        group: with a grouped spec (list-valued ``base_lr``...), which group's values to take: optax
            applies one learning rate to all parameters, so build one optimizer per group (for example
            with ``optax.multi_transform``). Must be None for a spec without groups.

    Returns:
        ``schedule(count)``: ``count`` an integer scalar or array (optax's int32 step count) ->
        a float32 array of the same shape (float64 when ``jax_enable_x64`` is on). Counts must be
        >= 0 and < 2**31; within 2 float32 ulps of ``spec.lr_at(count)``.

    Raises:
        TypeError: ``spec`` is not a cyclr spec; ``group`` is not an integer; a custom ``scale_fn``
            cannot be traced by JAX (raised here: the schedule is traced once on construction); the
            schedule is called with a non-integer count.
        ValueError: a grouped spec without ``group``, or ``group`` out of range or given for a spec
            without groups; a spec whose integer arithmetic overflows int32 before count ``2**31``
            (SGDR with ``T_mult > T_0``, such as ``T_0=1, T_mult=1000``: see docs/limits.md).

    Examples:
        >>> import jax, jax.numpy as jnp, cyclr, cyclr.jax
        >>> schedule = cyclr.jax.lr_schedule(cyclr.CyclicLR(base_lr=0.1, max_lr=1.0, step_size_up=4))
        >>> print(jax.jit(schedule)(jnp.arange(9)))
        [0.1   0.325 0.55  0.775 1.    0.775 0.55  0.325 0.1  ]
    """
    return _schedule("lr_schedule", spec, "lr", group)


def momentum_schedule(spec: Spec, *, group: int | None = None) -> Schedule:
    """The spec's momentum as an optax schedule: ``count -> spec.momentum_at(count)``, in float32.

    optax takes momentum (``optax.sgd``'s ``momentum``, ``optax.adam``'s ``b1``) as a constant; to cycle
    it, inject it: ``optax.inject_hyperparams(optax.sgd)(learning_rate=lr_schedule(spec),
    momentum=momentum_schedule(spec))``. optax's Adam then debiases with the current ``b1``
    (``1 - b1**t``), as torch's Adam does when CyclicLR cycles ``betas[0]``.

    Args:
        spec: a cyclr spec that schedules momentum (``spec.has_momentum``).
        group: as for ``lr_schedule``.

    Returns:
        ``schedule(count) -> float32 array``, as for ``lr_schedule``.

    Raises:
        ValueError: the spec does not schedule momentum (for CyclicLR, ``cycle_momentum=False``); and
            the group and int32 errors of ``lr_schedule``.
        TypeError: as for ``lr_schedule``.

    Examples:
        >>> import cyclr, cyclr.jax
        >>> schedule = cyclr.jax.momentum_schedule(cyclr.CyclicLR(step_size_up=4))
        >>> print(schedule(2))
        0.85
    """
    return _schedule("momentum_schedule", spec, "momentum", group)


def _is_constant(value: Any) -> bool:
    """Whether a formula gave a value fixed when it was built (a Python or NumPy number, not traced)."""
    return not isinstance(value, jax.Array)


def _broadcast(value: Any, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """A constant formula's value, rounded once to ``dtype`` (NumPy rounds to nearest), at ``shape``."""
    array = np.asarray(value, dtype=np.float64).astype(dtype)
    return jnp.broadcast_to(array, np.broadcast_shapes(array.shape, shape))


def _schedule(caller: str, spec: Spec, quantity: str, group: int | None) -> Schedule:
    spec = _adapter.check_spec(caller, spec)
    check_int32_counts(f"cyclr.jax.{caller}", "JAX", spec)
    group = _adapter.check_group(spec, group, applies_to="optax applies one value to all parameters")
    formula32 = _adapter.formula(caller, spec, FLOAT32, quantity)
    formula64 = _adapter.formula(caller, spec, FLOAT64, quantity)
    formula64_in_32 = _adapter.formula(caller, spec, FLOAT64_IN_FLOAT32, quantity)
    grouped = spec.groups is not None

    def schedule(count: Any) -> jax.Array:
        count = jnp.asarray(count)
        if count.dtype == jnp.bool_ or not jnp.issubdtype(count.dtype, jnp.integer):
            raise TypeError(f"count must be an integer (optax's step count), got dtype {count.dtype}")
        steps = count[..., None] if grouped else count
        if jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64:  # jax_enable_x64 is on
            value = formula64(steps.astype(jnp.int64))
            value = _broadcast(value, steps.shape, np.float64) if _is_constant(value) else value
            value = value + jnp.zeros(steps.shape, jnp.float64)
        elif jax.default_backend() in FLOAT64_BACKENDS:
            with jax.enable_x64(True):  # float64 inside this float32 program, rounded once on the way out
                wide = steps.astype(jnp.int64)
                value = formula64_in_32(wide)
                if _is_constant(value):  # a constant schedule: rounded to float32 here, no float64 work
                    value = _broadcast(value, steps.shape, np.float32)
                else:
                    value = (value + jnp.zeros(wide.shape, jnp.float64)).astype(jnp.float32)
        else:
            value = evaluate(TENSORS, formula32, steps.astype(jnp.int32))
        return value if group is None else value[..., group]

    schedule.__name__ = schedule.__qualname__ = f"cyclr_{quantity}_schedule"
    schedule.__doc__ = f"``count -> {quantity}`` of {spec!r}" + ("" if group is None else f", group {group}")
    if _adapter.holds_code(spec):
        # Trace once now, so that a scale_fn JAX cannot trace fails here, not inside a training step.
        jax.eval_shape(schedule, jax.ShapeDtypeStruct((), jnp.int32))
    return schedule
