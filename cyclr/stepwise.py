"""torch's step-wise schedulers in closed form: ConstantLR, LinearLR, ExponentialLR, StepLR, MultiStepLR,
PolynomialLR.

The names, defaults and closed forms (``_get_closed_form_lr``) of ``torch.optim.lr_scheduler``'s classes,
with ``base_lr`` first. torch's ``step()`` multiplies the optimizer's lr by a ratio each step, which
drifts from the closed form by an ulp or more per step (measured in tests/test_stepwise.py); these
specs compute each step directly, so any step costs the same and nothing drifts. The exponential ones
share cyclr.decay's formulas: ``ExponentialLR`` is ``ExponentialDecay`` with a staircase of one step,
``StepLR`` one of ``step_size`` steps, ``PolynomialLR`` a ``PolynomialDecay`` to 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._ops import Ops
from ._spec import Formula, Spec, _LrOnly
from ._validate import as_group_array, check_real, check_real_or_groups, show
from .decay import (
    check_begin,
    check_boundaries,
    check_steps_count,
    exponential_formula,
    polynomial_formula,
    power_of,
    settled_exponent,
)


def _groups_of(base_lr: Any) -> int | None:
    return len(base_lr) if isinstance(base_lr, tuple) else None


def _check_base_lr(spec: Spec) -> Any:
    base_lr = check_real_or_groups("base_lr", spec.base_lr, minimum=0.0)  # type: ignore[attr-defined]
    object.__setattr__(spec, "base_lr", base_lr)
    object.__setattr__(spec, "_groups", _groups_of(base_lr))
    return base_lr


def check_decay_gamma(gamma: Any) -> float:
    """A decay factor in [0, 1]: above 1 the lr would grow without bound (torch's reaches inf)."""
    gamma = check_real("gamma", gamma, minimum=0.0)
    if gamma > 1.0:
        raise ValueError(
            f"gamma must be in [0, 1], got {show(gamma)}: the lr is multiplied by gamma without end, and a "
            f"gamma above 1 takes it to inf (torch accepts it)"
        )
    return gamma


def factor_formula(xp: Ops, *, total_iters: int, before: float, after: float, base: Any) -> Formula:
    """``step -> base * (before if step < total_iters else after)``: torch's ConstantLR."""
    where = xp.where

    def value(step: Any) -> Any:
        return base * where(step >= total_iters, after, before)

    return value


def linear_formula(xp: Ops, *, total_iters: int, start: float, slope: float, base: Any) -> Formula:
    """``step -> base * (start + slope * min(total_iters, step) / total_iters)``: torch's LinearLR, in its
    order of operations (``slope = end_factor - start_factor``; the product, then the division)."""
    minimum = xp.minimum
    length = float(total_iters)

    def value(step: Any) -> Any:
        return base * (start + slope * minimum(step, total_iters) / length)

    return value


def multistep_formula(xp: Ops, *, milestones: Sequence[int], gamma: float, base: Any) -> Formula:
    """``step -> base * gamma ** bisect_right(milestones, step)``: torch's MultiStepLR (a milestone given
    twice counts twice). The count comes from ``Ops.step_function`` over the distinct milestones."""
    distinct = sorted(set(milestones))
    counts = [sum(1 for m in milestones if m <= d) for d in distinct]
    passed = xp.step_function(distinct, [0, *counts])
    power = xp.jit(power_of(xp, gamma))

    def value(step: Any) -> Any:
        return base * power(passed(step))

    return value


@dataclass(frozen=True)
class ConstantLR(_LrOnly):
    r"""``base_lr * factor`` for the first ``total_iters`` steps, then ``base_lr``: torch's ``ConstantLR``.

    torch's closed form, in its order of operations::

        lr(step) = base_lr * (factor + (step >= total_iters) * (1 - factor))

    Args:
        base_lr: the lr after ``total_iters`` steps (torch's ``base_lrs``); a float or one per group.
        factor: the multiplier of the first ``total_iters`` steps, in [0, 1].
        total_iters: how many steps the factor applies (>= 0).

    Raises:
        TypeError: a parameter has the wrong type (a float ``total_iters``, a bool, a string).
        ValueError: ``factor`` outside [0, 1] (torch's rule) or NaN; ``total_iters < 0`` or
            ``>= 2**63``; NaN/inf/negative ``base_lr``.

    Examples:
        >>> spec = ConstantLR(base_lr=0.3, factor=0.5, total_iters=2)
        >>> spec.lr_at(0), spec.lr_at(1), spec.lr_at(2)
        (0.15, 0.15, 0.3)
    """

    base_lr: float | Sequence[float]
    factor: float = 1.0 / 3
    total_iters: int = 5
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_base_lr(self)
        object.__setattr__(self, "factor", check_real("factor", self.factor, minimum=0.0, maximum=1.0))
        object.__setattr__(self, "total_iters", check_begin("total_iters", self.total_iters))

    def _lr_formula(self, xp: Ops) -> Formula:
        return factor_formula(
            xp,
            total_iters=self.total_iters,
            before=self.factor,
            after=self.factor + (1 - self.factor),  # torch's sum: 1.0, or an ulp beside it
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class LinearLR(_LrOnly):
    r"""The lr multiplied by a factor moving linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then held: torch's ``LinearLR`` (a linear warmup when ``start_factor < 1``).

    torch's closed form, in its order of operations::

        lr(step) = base_lr * (start_factor
                              + (end_factor - start_factor) * min(total_iters, step) / total_iters)

    Args:
        base_lr: the lr the factors multiply (torch's ``base_lrs``); a float or one per group.
        start_factor: the factor at step 0, in (0, 1] (torch's rule).
        end_factor: the factor from ``total_iters`` on, in [0, 1].
        total_iters: the steps from ``start_factor`` to ``end_factor`` (a positive integer; torch's
            closed form divides by it, and cyclr refuses 0).

    Raises:
        TypeError: a parameter has the wrong type (a float ``total_iters``, a bool, a string).
        ValueError: ``start_factor`` outside (0, 1]; ``end_factor`` outside [0, 1]; ``total_iters < 1``
            or ``>= 2**63``; NaN/inf/negative ``base_lr``.

    Examples:
        >>> spec = LinearLR(base_lr=0.1, start_factor=0.5, total_iters=4)
        >>> spec.lr_at(0), spec.lr_at(2), spec.lr_at(4), spec.lr_at(100)
        (0.05, 0.07500000000000001, 0.1, 0.1)
    """

    base_lr: float | Sequence[float]
    start_factor: float = 1.0 / 3
    end_factor: float = 1.0
    total_iters: int = 5
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_base_lr(self)
        start = check_real("start_factor", self.start_factor, above=0.0, maximum=1.0)
        object.__setattr__(self, "start_factor", start)
        end = check_real("end_factor", self.end_factor, minimum=0.0, maximum=1.0)
        object.__setattr__(self, "end_factor", end)
        object.__setattr__(self, "total_iters", check_steps_count("total_iters", self.total_iters))

    def _lr_formula(self, xp: Ops) -> Formula:
        return linear_formula(
            xp,
            total_iters=self.total_iters,
            start=self.start_factor,
            slope=self.end_factor - self.start_factor,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class ExponentialLR(_LrOnly):
    r"""``base_lr * gamma ** step``: torch's ``ExponentialLR`` in closed form.

    The power is C's ``pow`` of the exact integer step on every path (torch's ``gamma ** last_epoch``).
    Once it has underflowed to 0 (``gamma ** step < 2**-1100``) the value no longer changes, and the
    step is capped there (exactly), so any Python int step works.

    Args:
        base_lr: the lr at step 0, multiplied by ``gamma`` at each step; a float or one per group.
        gamma: the factor per step, in [0, 1] (torch accepts more, which grows the lr to inf).

    Raises:
        TypeError: ``gamma`` or ``base_lr`` is not a real number.
        ValueError: ``gamma`` outside [0, 1] or NaN; NaN/inf/negative ``base_lr``.

    Examples:
        >>> spec = ExponentialLR(base_lr=0.1, gamma=0.5)
        >>> spec.lr_at(0), spec.lr_at(3), spec.lr_at(10**100)
        (0.1, 0.0125, 0.0)
    """

    base_lr: float | Sequence[float]
    gamma: float
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_base_lr(self)
        object.__setattr__(self, "gamma", check_decay_gamma(self.gamma))

    def _lr_formula(self, xp: Ops) -> Formula:
        return exponential_formula(
            xp,
            decay_rate=self.gamma,
            decay_steps=1,
            staircase=True,
            begin=0,
            step_cap=settled_exponent(self.gamma, None, None),
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
            end=None,
        )


@dataclass(frozen=True)
class StepLR(_LrOnly):
    r"""``base_lr * gamma ** (step // step_size)``: torch's ``StepLR`` in closed form.

    The exponent is an exact integer, the power C's ``pow`` on every path (torch's closed form). Once
    it has underflowed to 0 the step is capped there (exactly), so any Python int step works.

    Args:
        base_lr: the lr of the first ``step_size`` steps; a float or one per parameter group.
        step_size: the steps between decays (a positive integer).
        gamma: the factor of each decay, in [0, 1] (torch accepts more, which grows the lr to inf).

    Raises:
        TypeError: a parameter has the wrong type (a float ``step_size``, a bool, a string).
        ValueError: ``step_size < 1`` or ``>= 2**63``; ``gamma`` outside [0, 1]; NaN/inf/negative
            ``base_lr``.

    Examples:
        >>> spec = StepLR(base_lr=0.1, step_size=30, gamma=0.5)
        >>> spec.lr_at(29), spec.lr_at(30), spec.lr_at(60)
        (0.1, 0.05, 0.025)
    """

    base_lr: float | Sequence[float]
    step_size: int
    gamma: float = 0.1
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_base_lr(self)
        object.__setattr__(self, "step_size", check_steps_count("step_size", self.step_size))
        object.__setattr__(self, "gamma", check_decay_gamma(self.gamma))

    def _lr_formula(self, xp: Ops) -> Formula:
        return exponential_formula(
            xp,
            decay_rate=self.gamma,
            decay_steps=self.step_size,
            staircase=True,
            begin=0,
            step_cap=settled_exponent(self.gamma, None, None) * self.step_size,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
            end=None,
        )


@dataclass(frozen=True)
class MultiStepLR(_LrOnly):
    r"""``base_lr * gamma ** (number of milestones <= step)``: torch's ``MultiStepLR`` in closed form.

    torch's closed form (``bisect_right`` over the sorted milestones): the lr is multiplied by
    ``gamma`` at each milestone, and a milestone listed twice multiplies twice. The count is an exact
    integer (a search), the power C's ``pow``.

    Args:
        base_lr: the lr before the first milestone; a float or one per parameter group.
        milestones: the steps of the decays: integers in ``[0, 2**63)``, in increasing order (a repeat
            counts twice, as in torch; torch sorts them, cyclr asks for them sorted).
        gamma: the factor of each decay (>= 0; above 1 the lr grows at each milestone, and
            ``base_lr * gamma ** len(milestones)`` must be a finite float).

    Raises:
        TypeError: ``milestones`` is not a sequence of integers (a float or a bool in it); ``gamma`` or
            ``base_lr`` is not a real number.
        ValueError: a milestone negative or ``>= 2**63``; milestones out of order; ``gamma`` negative
            or NaN; ``base_lr * gamma ** len(milestones)`` beyond the largest float; NaN/inf/negative
            ``base_lr``.

    Examples:
        >>> spec = MultiStepLR(base_lr=0.1, milestones=[30, 80], gamma=0.5)
        >>> spec.lr_at(29), spec.lr_at(30), spec.lr_at(80)
        (0.1, 0.05, 0.025)
    """

    base_lr: float | Sequence[float]
    milestones: Sequence[int]
    gamma: float = 0.1
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = _check_base_lr(self)
        milestones = check_boundaries("milestones", self.milestones, strictly=False)
        object.__setattr__(self, "milestones", milestones)
        gamma = check_real("gamma", self.gamma, minimum=0.0)
        object.__setattr__(self, "gamma", gamma)
        if gamma > 1.0:
            top = max(base_lr) if isinstance(base_lr, tuple) else base_lr
            try:
                highest = top * gamma ** len(milestones)
            except OverflowError:
                highest = float("inf")
            if not highest < float("inf"):
                raise ValueError(
                    f"base_lr * gamma ** len(milestones) must be a finite float (the lr after the last "
                    f"milestone), got base_lr={show(top)}, gamma={show(gamma)}, {len(milestones)} milestones"
                )

    def _lr_formula(self, xp: Ops) -> Formula:
        return multistep_formula(
            xp,
            milestones=self.milestones,
            gamma=self.gamma,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class PolynomialLR(_LrOnly):
    r"""``base_lr * (1 - min(total_iters, step) / total_iters) ** power``: torch's ``PolynomialLR`` in
    closed form (0 from ``total_iters`` on).

    ``PolynomialDecay(base_lr, total_iters, end_lr=0.0, power=power)`` computes the same numbers (its
    ``+ 0.0`` and ``- 0.0`` are exact): one formula, ``cyclr.decay.polynomial_formula``.

    Args:
        base_lr: the lr at step 0; a float or one per parameter group.
        total_iters: the steps of the decay (a positive integer; torch divides by it).
        power: the exponent (> 0; torch accepts any, and a negative one is inf at the end).

    Raises:
        TypeError: a parameter has the wrong type (a float ``total_iters``, a bool, a string).
        ValueError: ``total_iters < 1`` or ``>= 2**63``; ``power <= 0``, NaN or infinite; NaN/inf/negative
            ``base_lr``.

    Examples:
        >>> spec = PolynomialLR(base_lr=0.1, total_iters=4, power=2.0)
        >>> spec.lr_at(0), spec.lr_at(2), spec.lr_at(4)
        (0.1, 0.025, 0.0)
    """

    base_lr: float | Sequence[float]
    total_iters: int = 5
    power: float = 1.0
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_base_lr(self)
        object.__setattr__(self, "total_iters", check_steps_count("total_iters", self.total_iters))
        object.__setattr__(self, "power", check_real("power", self.power, above=0.0))

    def _lr_formula(self, xp: Ops) -> Formula:
        return polynomial_formula(
            xp,
            decay_steps=self.total_iters,
            power=self.power,
            begin=0,
            cycle=False,
            start=0.0,
            delta=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
        )
