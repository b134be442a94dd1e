"""The decays of optax, Keras and transformers: constant, polynomial (linear), exponential, inverse time
and piecewise constant, each one closed-form spec that starts at step 0.

A warmup in front is ``cyclr.warmup(spec, warmup_steps, start_lr)``; longer compositions are
``cyclr.join``. Each formula is written once against an ``Ops`` namespace and follows the anchor
libraries' order of operations, so float64 values agree with optax's and Keras' to an ulp or two (see
docs/migration.md for the mapping of every argument).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._ops import PYTHON, Ops, _maximum
from ._spec import Formula, _LrOnly
from ._validate import (
    INT64_MAX,
    as_group_array,
    check_bool,
    check_int,
    check_real,
    check_real_or_groups,
    check_same_groups,
    show,
)

_INT64 = " (the NumPy and numba paths hold it in int64)"
FLOAT_STEPS = 2**1023
"""Python int steps from here on are refused by the formulas that convert the step to a float (the
largest float is below ``2**1024``); below it every path computes the anchor's float64 expression."""


def check_steps_count(name: str, value: Any) -> int:
    """A positive step count below ``2**63`` (0 is refused: it would divide by zero)."""
    return check_int(name, value, minimum=1, maximum=INT64_MAX, why=_INT64)


def check_begin(name: str, value: Any) -> int:
    """A non-negative step below ``2**63``."""
    return check_int(name, value, minimum=0, maximum=INT64_MAX, why=_INT64)


def float_steps(xp: Ops, formula: Formula, spec: str) -> Formula:
    """``formula``, refusing on the Python path a step that no float holds (``FLOAT_STEPS``, 2**1023).

    The NumPy, numba and float32 paths hold steps in int64 or int32 and never reach it.
    """
    if xp is not PYTHON:
        return formula

    def checked(step: Any) -> Any:
        if step >= FLOAT_STEPS:
            raise ValueError(
                f"step must be < 2**1023 for {spec} (its formula divides the step as a float, and no "
                f"float holds a larger one), got {show(step)}"
            )
        return formula(step)

    return checked


def constant_formula(xp: Ops, *, value: Any) -> Formula:
    """``step -> value``."""

    def constant(step: Any) -> Any:
        return value

    return constant


def polynomial_formula(
    xp: Ops, *, decay_steps: int, power: float, begin: int, cycle: bool, start: Any, delta: Any
) -> Formula:
    r"""``step -> delta * frac ** power + start``, the polynomial decay of optax and Keras.

    With ``s = max(step - begin, 0)`` (integers)::

        frac = 1 - min(s, decay_steps) / decay_steps                  cycle=False
        frac = 1 - s / (decay_steps * max(ceil(s / decay_steps), 1))  cycle=True (Keras' cycle)

    For the learning rate ``start = end_lr`` and ``delta = base_lr - end_lr``: optax's and Keras' order of
    operations, ``(base_lr - end_lr) * frac**power + end_lr``. ``ceil`` is integer arithmetic; the
    step is divided by a float, as optax and Keras divide (Python's ``int / int`` rounds differently
    from NumPy's past ``2**53``), the cycle's by the float product ``decay_steps * multiple``.
    ``power == 1`` skips the power (``pow(x, 1) == x`` exactly, so every path still agrees); ``frac == 0``
    gives 0 without a power. With ``cycle``, ``frac`` is clipped at 0: past ``2**53`` the two rounded
    floats may make it an ulp negative (Keras' value is then outside ``[end_lr, base_lr]``).
    """
    maximum, minimum, where, power_of = xp.maximum, xp.minimum, xp.where, xp.power
    steps, length = decay_steps, float(decay_steps)  # divide by a float: int / int is exact in Python only
    linear = power == 1.0

    def value(step: Any) -> Any:
        s = maximum(step - begin, 0)
        if cycle:
            multiple = maximum(s // steps + where(s % steps > 0, 1, 0), 1)  # ceil(s / steps), 1 at 0
            # s <= length * multiple exactly, but both are rounded to floats past 2**53, where their
            # quotient may pass 1 by an ulp: clipped, so the lr never leaves [end_lr, base_lr]
            frac = maximum(1 - s / (length * multiple), 0.0)
        else:
            frac = 1 - minimum(s, steps) / length
        shape = frac if linear else where(frac > 0, power_of(frac, power), 0.0)
        return delta * shape + start

    return value


@dataclass(frozen=True)
class Constant(_LrOnly):
    r"""A constant learning rate: ``lr(step) = base_lr`` at every step.

    optax's ``constant_schedule``, transformers' ``constant`` schedule; with ``cyclr.warmup`` in front,
    optax's ``warmup_constant_schedule`` and transformers' ``constant_with_warmup``. No momentum.

    Args:
        base_lr: the learning rate; a float or one per parameter group.

    Raises:
        TypeError: ``base_lr`` is not a real number or a sequence of them (a bool, a string).
        ValueError: ``base_lr`` is NaN, infinite, negative or beyond a float (``10**400``), or an empty
            sequence.

    Examples:
        >>> spec = Constant(base_lr=0.01)
        >>> spec.lr_at(0), spec.lr_at(10**30)
        (0.01, 0.01)
    """

    base_lr: float | Sequence[float]
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        return constant_formula(xp, value=as_group_array(self.base_lr, self.groups))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PolynomialDecay(_LrOnly):
    r"""A polynomial decay from ``base_lr`` to ``end_lr`` over ``decay_steps`` steps, from step ``begin``.

    optax's ``polynomial_schedule`` and ``linear_schedule`` (``power=1``), Keras' ``PolynomialDecay``
    (``cycle``), transformers' ``linear`` and ``polynomial`` decays (with ``cyclr.warmup`` in front)::

        s = max(step - begin, 0)
        t = min(s, decay_steps)
        lr(step) = (base_lr - end_lr) * (1 - t / decay_steps) ** power + end_lr

    The lr holds at ``end_lr`` from ``begin + decay_steps`` on. Before ``begin`` (and at it) the lr is
    ``(base_lr - end_lr) + end_lr``: ``base_lr``, to the ulp by which that sum may round, as in optax.
    ``cycle=True`` is Keras' cycle: the horizon grows to the first multiple of ``decay_steps`` at or
    above ``s`` (``decay_steps * ceil(s / decay_steps)``) and the lr decays toward ``end_lr`` along it,
    reaching it at each multiple (it does not restart at ``base_lr``). ``end_lr`` may exceed ``base_lr``
    (a linear increase, as optax's ``linear_schedule`` allows). No momentum.

    Args:
        base_lr: the lr at step 0 (up to ``begin``); a float or one per parameter group.
        decay_steps: the steps from ``base_lr`` to ``end_lr`` (a positive integer; optax accepts 0 and
            returns a constant, cyclr refuses it).
        end_lr: the lr at the end of the decay; a float or one per parameter group.
        power: the exponent of the decay (> 0; 1 is linear).
        begin: the steps before the decay begins (optax's ``transition_begin``).
        cycle: Keras' ``cycle``: after ``decay_steps`` keep decaying toward ``end_lr`` over the next
            multiple of ``decay_steps``, instead of holding ``end_lr``.

    Limits: every int64 step on every path; int32 counts under JAX and Keras. With ``cycle=True`` the
    Python path refuses steps from ``2**1023`` on (the step is divided as a float).

    Raises:
        TypeError: a parameter has the wrong type (a float ``decay_steps`` or ``begin``, a bool, a
            string rate, a non-bool ``cycle``).
        ValueError: ``decay_steps < 1``; ``decay_steps`` or ``begin`` >= ``2**63``; ``begin < 0``;
            NaN/inf/negative rates or rates beyond a float (``10**400``); ``power`` NaN, infinite or
            <= 0; per-group sequences of different lengths.

    Examples:
        >>> spec = PolynomialDecay(base_lr=0.1, decay_steps=100)
        >>> spec.lr_at(0), spec.lr_at(50), spec.lr_at(100), spec.lr_at(1000)
        (0.1, 0.05, 0.0, 0.0)
    """

    base_lr: float | Sequence[float]
    decay_steps: int
    end_lr: float | Sequence[float] = 0.0
    power: float = 1.0
    begin: int = 0
    cycle: bool = False
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        object.__setattr__(self, "decay_steps", check_steps_count("decay_steps", self.decay_steps))
        end_lr = check_real_or_groups("end_lr", self.end_lr, minimum=0.0)
        object.__setattr__(self, "end_lr", end_lr)
        object.__setattr__(self, "power", check_real("power", self.power, above=0.0))
        object.__setattr__(self, "begin", check_begin("begin", self.begin))
        object.__setattr__(self, "cycle", check_bool("cycle", self.cycle))
        object.__setattr__(self, "_groups", check_same_groups(base_lr=base_lr, end_lr=end_lr))

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        end = as_group_array(self.end_lr, self.groups)  # type: ignore[arg-type]
        formula = polynomial_formula(
            xp,
            decay_steps=self.decay_steps,
            power=self.power,
            begin=self.begin,
            cycle=self.cycle,
            start=end,
            delta=base - end,
        )
        return float_steps(xp, formula, "PolynomialDecay(cycle=True)") if self.cycle else formula


# -- exponential decays ----------------------------------------------------------------------------------

UNDERFLOW_BITS = 1100
"""``rate ** n`` for a rate below 1 is 0.0 once ``n * log2(rate) <= -1100`` (the smallest float is
``2**-1074``): from that exponent on the power no longer changes."""
GROWTH_BITS = 100
"""A rate above 1 may grow the lr at most ``2**100``-fold before ``end_lr`` caps it: the power stays a
finite float32 (below ``2**128``) under JAX and Keras, where ``0 * inf`` would be NaN."""


def settled_exponent(rate: float, lowest: float | None, end: float | None) -> int:
    """An exponent ``n`` from which ``base * rate ** p`` (clipped at ``end``) no longer changes, ``p >= n``.

    Below 1, ``rate ** n`` has underflowed to 0 (``UNDERFLOW_BITS``); at 0 and 1 the power is constant
    from ``p = 1`` on; above 1 (with ``end``), ``lowest * rate ** n >= end`` for the smallest positive
    base ``lowest``, with a margin of many ulps, so every group is held at ``end`` from there. Capping the
    exponent there changes no value, and keeps a Python int step of any size from becoming a float.
    """
    if rate in (0.0, 1.0):
        return 1
    if rate < 1.0:
        return math.ceil(UNDERFLOW_BITS / -math.log2(rate))
    if lowest is None:  # every base is 0: the lr is 0 at every step
        return 1
    assert end is not None
    needed = max((math.log2(end) - math.log2(lowest)) / math.log2(rate), 0.0)
    return math.ceil(needed * (1 + 2**-30)) + math.ceil(2**-30 / math.log2(rate)) + 1


def _scalar_only(xp: Ops) -> bool:
    """Whether ``xp.maximum`` compares scalars only (Python's, and numba's compiled copy of it), where
    per-group values need NumPy's elementwise ``maximum`` (which numba compiles too)."""
    return xp.maximum is _maximum or getattr(xp.maximum, "py_func", None) is _maximum


def power_of(xp: Ops, rate: float) -> Formula:
    """``p -> rate ** p`` (C's ``pow``) for a constant ``rate``; for ``rate == 0`` the same values (1 at
    ``p == 0``, else 0) by a comparison, so no traced path forms ``0 ** p``'s infinite branch."""
    power, where = xp.power, xp.where
    if rate == 0.0:
        return lambda p: where(p > 0, 0.0, 1.0)
    return lambda p: power(rate, p)


def exponential_formula(
    xp: Ops,
    *,
    decay_rate: float,
    decay_steps: int,
    staircase: bool,
    begin: int,
    step_cap: int,
    base: Any,
    end: Any,
) -> Formula:
    r"""``step -> base * decay_rate ** p``, clipped at ``end``: optax's and Keras' exponential decay.

    With ``s = min(max(step - begin, 0), step_cap)`` (integers)::

        p = s / decay_steps           (a float division, as optax and Keras divide)
        p = s // decay_steps          staircase (exact: torch's StepLR and ExponentialLR)
        lr = max(base * decay_rate ** p, end)    decay_rate < 1 (min when decay_rate >= 1)

    The power is C's ``pow`` on every path. ``step_cap`` is ``settled_exponent * decay_steps``: from
    there the value no longer changes, so the cap changes nothing and a Python int step never becomes a
    float too large for one. It is applied on the int64 paths only when it fits in int64 (no int64 step
    reaches it otherwise).
    """
    maximum, minimum, power = xp.maximum, xp.minimum, xp.jit(power_of(xp, decay_rate))
    step_maximum, step_minimum = maximum, minimum
    steps, length = decay_steps, float(decay_steps)
    cap = step_cap if (xp is PYTHON or step_cap <= INT64_MAX) else None
    if np.ndim(end) > 0 and _scalar_only(xp):  # per-group values are arrays: compare them elementwise
        maximum, minimum = np.maximum, np.minimum
    clip = None if end is None else (maximum if decay_rate < 1.0 else minimum)

    def value(step: Any) -> Any:
        s = step_maximum(step - begin, 0)
        if cap is not None:
            s = step_minimum(s, cap)
        p = s // steps if staircase else s / length
        lr = base * power(p)
        if clip is not None:
            lr = clip(lr, end)
        return lr

    return value


def check_growth(decay_rate: float, end_lr: Any) -> None:
    """A growing rate needs ``end_lr`` as its cap."""
    if decay_rate > 1.0 and end_lr is None:
        raise ValueError(
            f"decay_rate > 1 grows the lr without bound (to inf), so it needs end_lr as its cap, got "
            f"decay_rate={show(decay_rate)} and end_lr=None"
        )


def check_float32_growth(decay_rate: float, exponent: int) -> None:
    """The power at the settled exponent must stay a finite float32 (JAX, Keras): ``< 2**127``."""
    if decay_rate > 1.0 and exponent * math.log2(decay_rate) > 126:
        raise ValueError(
            f"decay_rate={show(decay_rate)} reaches end_lr in too few, too large steps: a power of it "
            f"beyond 2**126 would be infinite in float32 (JAX, Keras); choose decay_rate < 2**20 or an "
            f"end_lr closer to base_lr"
        )


def _positive(values: Any) -> list[float]:
    return [v for v in (values if isinstance(values, tuple) else (values,)) if v > 0.0]


@dataclass(frozen=True)
class ExponentialDecay(_LrOnly):
    r"""An exponential decay by ``decay_rate`` every ``decay_steps`` steps, from step ``begin``.

    optax's ``exponential_decay`` (``transition_begin``, ``staircase``, ``end_value``) and Keras'
    ``ExponentialDecay``::

        s = max(step - begin, 0)
        p = s / decay_steps                  (floor(s / decay_steps) when staircase)
        lr(step) = base_lr * decay_rate ** p
        lr(step) = max(lr(step), end_lr)     with end_lr, decay_rate < 1 (min() when decay_rate > 1)

    ``staircase`` computes the floor with integers. The power is C's ``pow`` on every path. Once the
    power has underflowed (``decay_rate ** p < 2**-1100``) or reached ``end_lr`` the value is
    settled, and the step is capped there (exactly: nothing changes), so any Python int step works.
    No momentum.

    Args:
        base_lr: the lr up to step ``begin``; a float or one per parameter group.
        decay_rate: the factor per ``decay_steps`` steps (> 0; above 1 only with ``end_lr`` as a cap).
        decay_steps: the steps over which the lr is multiplied by ``decay_rate`` (a positive integer).
        staircase: decay in whole steps of ``decay_steps`` (``p`` floored), instead of continuously.
        begin: the steps before the exponential decay begins (optax's ``transition_begin``).
        end_lr: None, or the floor of the lr (its ceiling when ``decay_rate > 1``): optax's
            ``end_value``; a float or one per parameter group.

    Limits: every step on every path. ``decay_rate > 1`` needs ``end_lr``, and ``end_lr`` at most
    ``2**100`` times the smallest positive ``base_lr`` (the power stays finite in float32).

    Raises:
        TypeError: a parameter has the wrong type (a float ``decay_steps`` or ``begin``, a bool rate,
            a non-bool ``staircase``).
        ValueError: ``decay_rate <= 0`` (optax and Keras accept 0: optax returns a constant, Keras
            drops to 0); ``decay_rate > 1`` without ``end_lr``, or too large for float32;
            ``decay_steps < 1``; ``decay_steps`` or ``begin`` >= ``2**63``; ``begin < 0``;
            NaN/inf/negative rates, rates beyond a float (``10**400``); sequences of different lengths.

    Examples:
        >>> spec = ExponentialDecay(base_lr=0.1, decay_rate=0.5, decay_steps=10)
        >>> spec.lr_at(0), spec.lr_at(10), spec.lr_at(20)
        (0.1, 0.05, 0.025)
        >>> ExponentialDecay(0.1, 0.5, 10, staircase=True).lr_at(19)
        0.05
    """

    base_lr: float | Sequence[float]
    decay_rate: float
    decay_steps: int
    staircase: bool = False
    begin: int = 0
    end_lr: float | Sequence[float] | None = None
    _groups: int | None = field(init=False, repr=False, compare=False)
    _step_cap: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        rate = check_real("decay_rate", self.decay_rate, above=0.0)
        object.__setattr__(self, "decay_rate", rate)
        object.__setattr__(self, "decay_steps", check_steps_count("decay_steps", self.decay_steps))
        object.__setattr__(self, "staircase", check_bool("staircase", self.staircase))
        object.__setattr__(self, "begin", check_begin("begin", self.begin))
        end_lr = None if self.end_lr is None else check_real_or_groups("end_lr", self.end_lr, minimum=0.0)
        object.__setattr__(self, "end_lr", end_lr)
        groups = check_same_groups(base_lr=base_lr, end_lr=end_lr)
        object.__setattr__(self, "_groups", groups)
        lowest = min(_positive(base_lr), default=None)
        highest_end = None if end_lr is None else max(end_lr if isinstance(end_lr, tuple) else (end_lr,))
        if rate > 1.0 and end_lr is not None and lowest is not None and highest_end is not None:
            if highest_end == 0.0 or math.log2(highest_end) - math.log2(lowest) > GROWTH_BITS:
                raise ValueError(
                    f"with decay_rate > 1, end_lr (the cap) must be in (0, 2**{GROWTH_BITS} * base_lr] "
                    f"(the power of decay_rate stays finite in float32), got end_lr={show(self.end_lr)}, "
                    f"base_lr={show(self.base_lr)}"
                )
        check_growth(rate, end_lr)
        exponent = settled_exponent(rate, lowest, highest_end)
        check_float32_growth(rate, exponent)
        object.__setattr__(self, "_step_cap", exponent * self.decay_steps)

    def _lr_formula(self, xp: Ops) -> Formula:
        return exponential_formula(
            xp,
            decay_rate=self.decay_rate,
            decay_steps=self.decay_steps,
            staircase=self.staircase,
            begin=self.begin,
            step_cap=self._step_cap,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
            end=None if self.end_lr is None else as_group_array(self.end_lr, self.groups),  # type: ignore[arg-type]
        )


# -- inverse time ----------------------------------------------------------------------------------------


def inverse_time_formula(
    xp: Ops, *, decay_rate: float, decay_steps: int, staircase: bool, base: Any
) -> Formula:
    r"""``step -> base / (1 + decay_rate * p)``, ``p = step / decay_steps`` (floored with integers when
    ``staircase``): Keras' ``InverseTimeDecay``, in its order of operations."""
    steps, length, rate = decay_steps, float(decay_steps), decay_rate

    def value(step: Any) -> Any:
        p = step // steps if staircase else step / length
        return base / (1 + rate * p)

    return value


@dataclass(frozen=True)
class InverseTimeDecay(_LrOnly):
    r"""The inverse-time decay of Keras' ``InverseTimeDecay``::

        p = step / decay_steps              (floor(step / decay_steps) when staircase)
        lr(step) = base_lr / (1 + decay_rate * p)

    ``staircase`` floors with integers. The lr falls without end (as ``1 / step``), so it never
    settles: the Python path refuses steps from ``2**1023`` on (the step is divided as a float); every
    int64 step is fine. Where ``decay_rate * p`` passes the largest float (``decay_rate > 1.9e289`` at
    int64 steps) the denominator is infinite and the lr 0, as in Keras' float64 arithmetic. No momentum.

    Args:
        base_lr: the lr at step 0, divided by ``1 + decay_rate * p`` after it; a float or one per
            parameter group.
        decay_rate: how fast the lr falls (>= 0; 0 is a constant lr).
        decay_steps: the steps per unit of ``p`` (a positive integer).
        staircase: ``p`` in whole units (floored), instead of continuously.

    Raises:
        TypeError: a parameter has the wrong type (a float ``decay_steps``, a bool rate, a non-bool
            ``staircase``).
        ValueError: ``decay_rate < 0``, NaN or infinite; ``decay_steps < 1`` (Keras divides by it) or
            ``>= 2**63``; NaN/inf/negative ``base_lr`` or beyond a float (``10**400``).

    Examples:
        >>> spec = InverseTimeDecay(base_lr=0.1, decay_rate=1.0, decay_steps=10)
        >>> spec.lr_at(0), spec.lr_at(10), spec.lr_at(30)
        (0.1, 0.05, 0.025)
    """

    base_lr: float | Sequence[float]
    decay_rate: float
    decay_steps: int
    staircase: bool = False
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        object.__setattr__(self, "decay_rate", check_real("decay_rate", self.decay_rate, minimum=0.0))
        object.__setattr__(self, "decay_steps", check_steps_count("decay_steps", self.decay_steps))
        object.__setattr__(self, "staircase", check_bool("staircase", self.staircase))
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        formula = inverse_time_formula(
            xp,
            decay_rate=self.decay_rate,
            decay_steps=self.decay_steps,
            staircase=self.staircase,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
        )
        return float_steps(xp, formula, "InverseTimeDecay")


# -- piecewise constant ----------------------------------------------------------------------------------


WHERE_PIECES = 8
"""Up to this many boundaries a piecewise-constant formula is a chain of ``where`` (one comparison per
boundary: the fastest form for NumPy arrays and compiled code); beyond it a search and a switch."""


def piecewise_formula(xp: Ops, *, boundaries: Sequence[int], values: Sequence[Any]) -> Formula:
    r"""``step -> values[k]``, ``k`` the number of ``boundaries <= step``: the value of the piece.

    ``boundaries`` increase strictly; ``values`` has one more entry. Up to ``WHERE_PIECES`` boundaries
    the value is chosen by a chain of ``where`` (boundaries no int64 step reaches are left out of the
    int64 and int32 paths); beyond, the piece is found by ``Ops.step_function`` (a bisection in Python,
    NumPy and numba) and its value chosen by ``Ops.switch``. Either way the value is ``values[k]``
    itself, so every path gives the same bits.
    """
    if not boundaries:
        return constant_formula(xp, value=values[0])
    if len(boundaries) <= WHERE_PIECES:
        where = xp.where
        kept = [k for k, b in enumerate(boundaries) if xp is PYTHON or b <= INT64_MAX]
        starts = tuple(boundaries[k] for k in kept)  # homogeneous tuples: numba compiles them too
        levels = tuple(values[k + 1] for k in kept)
        first, count = values[0], len(kept)

        def chain(step: Any) -> Any:
            result = first
            for k in range(count):
                result = where(step >= starts[k], levels[k], result)
            return result

        return chain
    piece = xp.step_function(boundaries, range(len(values)))
    branches = [xp.jit(constant_formula(xp, value=value)) for value in values]
    switch = xp.switch(branches)

    def value(step: Any) -> Any:
        return switch(piece(step), step)

    return value


def check_boundaries(name: str, value: Any, *, strictly: bool = True) -> tuple[int, ...]:
    """A sequence of step counts in [0, 2**63), increasing (strictly, unless ``strictly`` is False)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of integers, got {show(value)} ({type(value).__name__})")
    checked = tuple(check_begin(f"{name}[{i}]", item) for i, item in enumerate(value))
    for i in range(1, len(checked)):
        if checked[i] < checked[i - 1] or (strictly and checked[i] == checked[i - 1]):
            rule = "strictly increasing" if strictly else "in increasing order (repeats allowed)"
            raise ValueError(
                f"{name} must be {rule}, got {name}[{i - 1}]={checked[i - 1]}, {name}[{i}]={checked[i]}"
            )
    return checked


@dataclass(frozen=True)
class PiecewiseConstant(_LrOnly):
    r"""A piecewise-constant lr: ``base_lr * factors[k]`` on the ``k``-th piece between ``boundaries``.

    Keras' ``PiecewiseConstantDecay`` and optax's ``piecewise_constant_schedule``::

        k = number of boundaries b with b <= step          inclusive=False (optax: the new value at b)
        k = number of boundaries b with b <  step          inclusive=True  (Keras: step <= b keeps it)
        lr(step) = base_lr * factors[k]

    The two anchors differ at the boundary itself: optax changes the value at step ``b``, Keras one
    step later (its piece ``k`` includes its upper boundary). Keras'
    ``PiecewiseConstantDecay(boundaries, values)`` is ``PiecewiseConstant(1.0, boundaries, values,
    inclusive=True)``; optax's scales multiply, and ``factors`` hold their running products (see
    docs/migration.md). No momentum.

    Args:
        base_lr: the scale of every piece; a float or one per parameter group.
        boundaries: the steps where the lr changes: integers in ``[0, 2**63)``, strictly increasing.
        factors: the multiplier of each piece (>= 0), one more than ``boundaries``.
        inclusive: a boundary belongs to the piece before it (Keras), instead of the piece after it
            (optax, torch's MultiStepLR).

    Raises:
        TypeError: ``boundaries`` or ``factors`` is not a sequence, or holds a non-integer (a float, a
            bool) or a non-number; ``inclusive`` is not a bool.
        ValueError: boundaries negative, ``>= 2**63`` or not strictly increasing; ``len(factors) !=
            len(boundaries) + 1``; a factor NaN, infinite or negative; a product ``base_lr * factor``
            beyond the largest float; NaN/inf/negative ``base_lr``.

    Examples:
        >>> spec = PiecewiseConstant(0.1, boundaries=[10, 20], factors=[1.0, 0.5, 0.25])
        >>> spec.lr_at(9), spec.lr_at(10), spec.lr_at(20)
        (0.1, 0.05, 0.025)
        >>> PiecewiseConstant(0.1, [10, 20], [1.0, 0.5, 0.25], inclusive=True).lr_at(10)
        0.1
    """

    base_lr: float | Sequence[float]
    boundaries: Sequence[int]
    factors: Sequence[float]
    inclusive: bool = False
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        boundaries = check_boundaries("boundaries", self.boundaries)
        object.__setattr__(self, "boundaries", boundaries)
        if isinstance(self.factors, (str, bytes)) or not isinstance(self.factors, Sequence):
            raise TypeError(
                f"factors must be a sequence of numbers, got {show(self.factors)} "
                f"({type(self.factors).__name__})"
            )
        factors = tuple(check_real(f"factors[{i}]", f, minimum=0.0) for i, f in enumerate(self.factors))
        if len(factors) != len(boundaries) + 1:
            raise ValueError(
                f"factors must have one more entry than boundaries (one per piece), got "
                f"{len(factors)} factors and {len(boundaries)} boundaries"
            )
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "inclusive", check_bool("inclusive", self.inclusive))
        for lr in base_lr if isinstance(base_lr, tuple) else (base_lr,):
            for i, factor in enumerate(factors):
                if not math.isfinite(lr * factor):
                    raise ValueError(
                        f"base_lr * factors[{i}] must be a finite float, got base_lr={show(lr)}, "
                        f"factors[{i}]={show(factor)} (their product is beyond 1.8e308)"
                    )
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        shift = 1 if self.inclusive else 0  # step > b is step >= b + 1
        return piecewise_formula(
            xp,
            boundaries=[b + shift for b in self.boundaries],
            values=[base * factor for factor in self.factors],
        )
