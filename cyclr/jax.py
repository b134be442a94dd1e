"""The JAX / optax adapter: cyclr specs as optax schedules, ``count -> value``, traceable by jit and vmap.

An optax schedule is any callable from the step count (an int32 scalar, traced under ``jit``) to a value.
``lr_schedule(spec)`` and ``momentum_schedule(spec)`` are such callables, written in ``jax.numpy``: they
run the core's single formula (``spec._formula``) on JAX's ops; there is no schedule logic here.

* ``optax.sgd(learning_rate=cyclr.jax.lr_schedule(spec))``: the cyclical learning rate.
* ``optax.inject_hyperparams(optax.sgd)(learning_rate=lr_schedule(spec), momentum=momentum_schedule(spec))``:
  momentum cycled too; the same with ``optax.adam`` and ``b1=momentum_schedule(spec)`` cycles Adam's beta1.

Values are float32 (JAX's default). They are computed in double-float32 arithmetic (``cyclr._float32``)
and rounded once, so for every int32 count (up to ``2**31 - 1``, optax's saturating counter) the result
is within 2 float32 ulps of the float64 value ``spec.lr_at(count)``; a plain float32 evaluation loses the
position in the cycle past ``2**24`` steps and gets exp_range's ``gamma ** count`` wrong by thousands of
ulps. With ``jax.config.update("jax_enable_x64", True)`` the values are float64, computed directly.

Examples:
    >>> import optax, cyclr, cyclr.jax
    >>> spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    >>> optimizer = optax.sgd(learning_rate=cyclr.jax.lr_schedule(spec))
    >>> print(cyclr.jax.lr_schedule(spec)(1000))
    0.0035
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as error:
    raise ImportError(f'cyclr.jax needs JAX and optax: pip install "cyclr[jax]" ({error})') from error

from . import _adapter
from ._float32 import Tensors, call_user, check_int32_counts, evaluate, float32_ops
from ._ops import Ops
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
FLOAT32 = float32_ops(TENSORS)
"""Exact int32 steps and double-float32 values (see ``cyclr._float32``): the default."""


FLOAT64 = Ops(
    minimum=jnp.minimum,
    maximum=jnp.maximum,
    where=jnp.where,
    cos=jnp.cos,
    log=jnp.log,
    floor=lambda x: jnp.floor(x).astype(jnp.int64),
    ldexp=jnp.ldexp,
    # A float exponent: XLA's pow, as C's. (An integer exponent would be squared and multiplied.)
    power=lambda x, y: jnp.power(x, jnp.asarray(y, dtype=jnp.float64)),
    apply=lambda fn, x: call_user("JAX", fn, x),
)
"""Plain ``jax.numpy`` on int64 steps and float64 values, used when ``jax_enable_x64`` is on."""


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


def _schedule(caller: str, spec: Spec, quantity: str, group: int | None) -> Schedule:
    spec = _adapter.check_spec(caller, spec)
    check_int32_counts(f"cyclr.jax.{caller}", "JAX", spec)
    group = _adapter.check_group(spec, group, applies_to="optax applies one value to all parameters")
    formula32 = _adapter.formula(caller, spec, FLOAT32, quantity)
    formula64 = _adapter.formula(caller, spec, FLOAT64, quantity)
    grouped = spec.groups is not None

    def schedule(count: Any) -> jax.Array:
        count = jnp.asarray(count)
        if count.dtype == jnp.bool_ or not jnp.issubdtype(count.dtype, jnp.integer):
            raise TypeError(f"count must be an integer (optax's step count), got dtype {count.dtype}")
        steps = count[..., None] if grouped else count
        if jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64:  # jax_enable_x64 is on
            value = formula64(steps.astype(jnp.int64)) + jnp.zeros(steps.shape, jnp.float64)
        else:
            value = evaluate(TENSORS, formula32, steps.astype(jnp.int32))
        return value if group is None else value[..., group]

    schedule.__name__ = schedule.__qualname__ = f"cyclr_{quantity}_schedule"
    schedule.__doc__ = f"``count -> {quantity}`` of {spec!r}" + ("" if group is None else f", group {group}")
    if _adapter.holds_code(spec):
        # Trace once now, so that a scale_fn JAX cannot trace fails here, not inside a training step.
        jax.eval_shape(schedule, jax.ShapeDtypeStruct((), jnp.int32))
    return schedule
