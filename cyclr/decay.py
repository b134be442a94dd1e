"""The decays of optax, Keras and transformers: constant, polynomial (linear), exponential, inverse time
and piecewise constant, each one closed-form spec that starts at step 0.

A warmup in front is ``cyclr.warmup(spec, warmup_steps, start_lr)``; longer compositions are
``cyclr.join``. Each formula is written once against an ``Ops`` namespace and follows the anchor
libraries' order of operations, so float64 values agree with optax's and Keras' to an ulp or two (see
docs/migration.md for the mapping of every argument).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._ops import PYTHON, Ops
from ._spec import Formula, Spec
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
    denominator of the cycle is a float product, as Keras forms it. ``power == 1`` skips the power
    (``pow(x, 1) == x`` exactly, so every path still agrees); ``frac == 0`` gives 0 without a power.
    """
    maximum, minimum, where, power_of = xp.maximum, xp.minimum, xp.where, xp.power
    steps = decay_steps
    linear = power == 1.0

    def value(step: Any) -> Any:
        s = maximum(step - begin, 0)
        if cycle:
            multiple = maximum(s // steps + where(s % steps > 0, 1, 0), 1)  # ceil(s / steps), 1 at 0
            frac = 1 - s / (steps * (multiple * 1.0))
        else:
            frac = 1 - minimum(s, steps) / steps
        shape = frac if linear else where(frac > 0, power_of(frac, power), 0.0)
        return delta * shape + start

    return value


@dataclass(frozen=True)
class Constant(Spec):
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

    @property
    def groups(self) -> int | None:
        return self._groups

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum":
            return None
        return constant_formula(xp, value=as_group_array(self.base_lr, self.groups))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PolynomialDecay(Spec):
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

    @property
    def groups(self) -> int | None:
        return self._groups

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum":
            return None
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
