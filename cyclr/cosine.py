"""Cosine annealing (Loshchilov & Hutter, "SGDR", 2017): with warm restarts, and without.

The semantics, names and defaults of ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` and
``CosineAnnealingLR``, in closed form: the restart index and the offset inside the period are computed
directly with integers, so any step costs the same and nothing drifts.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._ops import PYTHON, Ops
from ._spec import Formula, _LrOnly
from ._validate import INT64_MAX, as_group_array, check_int, check_real, check_real_or_groups, show

_INT64 = " (the NumPy and numba paths hold it in int64)"
_HALF_MAX = sys.float_info.max / 2  # 8.99e307: the largest float whose double is finite
_FLOAT_PERIODS = 2**1020  # periods below this are floats, and so is pi times a step inside them


def check_amplitude(base_lr: Any, eta_min: float) -> None:
    """``base_lr - eta_min`` (per group), doubled inside ``1 + cos``, must stay finite."""
    for i, lr in enumerate(base_lr if isinstance(base_lr, tuple) else (base_lr,)):
        if not abs(lr - eta_min) <= _HALF_MAX:
            where = "base_lr" if not isinstance(base_lr, tuple) else f"base_lr[{i}]"
            raise ValueError(
                f"|{where} - eta_min| must be <= {_HALF_MAX:.6g} (the formula doubles it, and twice that "
                f"is not a float), got {where}={show(lr)}, eta_min={show(eta_min)}"
            )


def warm_restarts_position(xp: Ops, *, T_0: int, T_mult: int) -> Formula:
    r"""``step -> (T_cur, T_mult**i)``: the steps since the last restart, and the growth of restart ``i``.

    Restart ``i`` begins at ``T_0 * (T_mult**i - 1) / (T_mult - 1)`` (at ``i * T_0`` when
    ``T_mult == 1``) and lasts ``T_i = T_0 * T_mult**i`` steps; ``T_cur`` counts the steps since it
    began. With ``q = floor(step * (T_mult - 1) / T_0) + 1``, the restart index is the largest ``i``
    with ``T_mult**i <= q``: a float logarithm gives it to within one, and integer divisions settle it
    without forming a power above ``q``. The largest integers formed are ``q`` and
    ``(step mod T_0) * (T_mult - 1)``: with int32 steps (the JAX and Keras adapters) the position is
    exact while both are below ``2**31``, and with int64 steps (NumPy, numba) while both are below
    ``2**63``: at every step when ``T_mult <= T_0`` (and ``T_0 * T_mult`` fits), for example ``T_0=10,
    T_mult=2``; from about ``2**63 * T_0 / (T_mult - 1)`` on otherwise. Python ints are exact at any step.
    ``cyclr._limits.exact_steps`` gives the first step past the limit.
    """
    log, floor, where, maximum = xp.log, xp.floor, xp.where, xp.maximum
    log_mult = math.log(T_mult) if T_mult > 1 else 1.0

    def position(step: Any) -> Any:
        if T_mult == 1:
            return step - (step // T_0) * T_0, 1
        whole, part = step // T_0, step % T_0  # q without forming step * (T_mult - 1)
        q = whole * (T_mult - 1) + part * (T_mult - 1) // T_0 + 1
        # The index is within one of the logarithm's: start one below it (T_mult**below <= q, so no
        # power formed here exceeds q), then count the next two powers that still fit, by division.
        below = maximum(floor(log(q) / log_mult) - 1, 0)
        power = T_mult**below
        up = q // T_mult
        restart = below + where(power <= up, 1, 0) + where(power <= up // T_mult, 1, 0)
        power = T_mult**restart
        return step - T_0 * ((power - 1) // (T_mult - 1)), power

    return position


def warm_restarts_formula(xp: Ops, *, T_0: int, T_mult: int, start: Any, delta: Any) -> Formula:
    r"""``step -> start + delta * (1 + cos(pi * T_cur / T_i)) / 2``, restarting after ``T_0, T_0*T_mult``...

    ``T_cur`` and ``T_i = T_0 * T_mult**i`` come from ``warm_restarts_position``; ``T_i`` is formed as a
    float (it may pass the integer range where ``T_cur`` does not). For the learning rate,
    ``start = eta_min`` and ``delta = base_lr - eta_min`` (torch's order of operations, so values agree
    with torch's bit for bit).
    """
    cos = xp.cos
    pi = math.pi
    position = xp.jit(warm_restarts_position(xp, T_0=T_0, T_mult=T_mult))

    def value(step: Any) -> Any:
        t_cur, power = position(step)
        t_i = T_0 * (power * 1.0)
        return start + delta * (1 + cos(pi * t_cur / t_i)) / 2

    if xp is not PYTHON:
        return value  # int64 and int32 powers are far below the largest float
    float_powers = _FLOAT_PERIODS // T_0  # T_0 * power below 2**1020: pi * T_cur and T_i are floats

    def python_value(step: int) -> Any:
        t_cur, power = position(step)
        if power <= float_powers:
            angle = pi * t_cur / (T_0 * (power * 1.0))  # torch's expression, as ``value``
        else:  # a period past the largest float (a step past about 1e308): the integers' ratio,
            angle = pi * (t_cur / (T_0 * power))  # correctly rounded by Python's int / int, in [0, 1)
        return start + delta * (1 + cos(angle)) / 2

    return python_value


def cosine_annealing_formula(xp: Ops, *, T_max: int, start: Any, delta: Any) -> Formula:
    r"""``step -> start + delta * (1 + cos(pi * step / T_max)) / 2``, torch's closed form.

    The cosine keeps going past ``T_max``: the lr climbs back to ``base_lr`` at ``2 * T_max`` and
    repeats with period ``2 * T_max``. The step is first reduced modulo ``2 * T_max`` with integers,
    which leaves the value unchanged and keeps the cosine's argument small at any step.
    """
    cos = xp.cos
    pi = math.pi
    period = 2 * T_max

    def value(step: Any) -> Any:
        step = step - (step // period) * period
        return start + delta * (1 + cos(pi * step / T_max)) / 2

    return value


@dataclass(frozen=True)
class CosineAnnealingWarmRestarts(_LrOnly):
    r"""Cosine annealing with warm restarts (SGDR): the lr falls from ``base_lr`` toward ``eta_min``
    along half a cosine, then jumps back, each period ``T_mult`` times longer than the last.

    The same values as ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` stepped once per step::

        lr(step) = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    Restarts happen at steps ``T_0, T_0 + T_0*T_mult, ...``; the restart index is computed in closed
    form (``warm_restarts_formula``), so ``lr_at(2**40)`` costs what ``lr_at(1)`` does, and is exact
    (torch's explicit-epoch path uses ``math.log`` and misplaces some restarts). No momentum.

    Args:
        base_lr: the lr at each restart; a float or one per parameter group.
        T_0: steps until the first restart (a positive integer).
        T_mult: each period is ``T_mult`` times the previous one (an integer >= 1).
        eta_min: the floor the cosine approaches (>= 0).

    Limits: ``T_0`` and ``T_mult`` must be below ``2**63`` (int64). The Python-int path (``lr_at(int)``)
    is exact at every step; the NumPy and numba paths are exact for steps below
    ``cyclr._limits.exact_steps(spec)`` (every int64 step when ``T_mult <= T_0``: see
    ``warm_restarts_position``); array steps beyond it are computed on the Python-int path, and
    ``precompute`` does the same for the steps of its range beyond it. The JAX and Keras adapters
    (int32 counts) refuse a spec whose limit is below ``2**31`` (docs/limits.md).

    Raises:
        TypeError: a parameter has the wrong type (e.g. a float ``T_0``, a bool, a string).
        ValueError: ``T_0 < 1``, ``T_mult < 1``, ``T_0`` or ``T_mult`` >= ``2**63``; NaN/inf/negative
            rates or rates beyond a float (``10**400``); ``|base_lr - eta_min| > 8.98e307`` (the
            formula doubles it).

    Examples:
        >>> spec = CosineAnnealingWarmRestarts(base_lr=0.1, T_0=10, T_mult=2)
        >>> spec.lr_at(0), spec.lr_at(10), spec.lr_at(30)
        (0.1, 0.1, 0.1)
    """

    base_lr: float | Sequence[float]
    T_0: int
    T_mult: int = 1
    eta_min: float = 0.0
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        object.__setattr__(self, "T_0", check_int("T_0", self.T_0, minimum=1, maximum=INT64_MAX, why=_INT64))
        T_mult = check_int("T_mult", self.T_mult, minimum=1, maximum=INT64_MAX, why=_INT64)
        object.__setattr__(self, "T_mult", T_mult)
        object.__setattr__(self, "eta_min", check_real("eta_min", self.eta_min, minimum=0.0))
        check_amplitude(base_lr, self.eta_min)
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def position(self, step: int) -> tuple[int, int]:
        """``(T_cur, T_i)`` at ``step``: the steps since the last restart, and that period's length
        (torch's attributes of the same names), from the formula's own closed form.

        Examples:
            >>> CosineAnnealingWarmRestarts(base_lr=0.1, T_0=10, T_mult=2).position(35)
            (5, 40)
        """
        t_cur, power = warm_restarts_position(PYTHON, T_0=self.T_0, T_mult=self.T_mult)(
            check_int("step", step, minimum=0)
        )
        return t_cur, self.T_0 * power

    def restart_steps(self, count: int) -> list[int]:
        """The first ``count`` steps at which the lr restarts at ``base_lr``.

        Examples:
            >>> CosineAnnealingWarmRestarts(base_lr=0.1, T_0=10, T_mult=2).restart_steps(3)
            [10, 30, 70]
        """
        count = check_int("count", count, minimum=0)
        steps, step, length = [], 0, self.T_0
        for _ in range(count):
            step += length
            length *= self.T_mult
            steps.append(step)
        return steps

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        return warm_restarts_formula(
            xp, T_0=self.T_0, T_mult=self.T_mult, start=self.eta_min, delta=base - self.eta_min
        )


@dataclass(frozen=True)
class CosineAnnealingLR(_LrOnly):
    r"""Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` steps, torch's closed form::

        lr(step) = eta_min + (base_lr - eta_min) * (1 + cos(pi * step / T_max)) / 2

    Like torch's closed form, the cosine keeps going past ``T_max``: the lr rises back to ``base_lr``
    at ``2 * T_max`` and the schedule repeats with that period (hold the lr yourself, or use
    ``cyclr.join`` with a constant, if you want it to stay at ``eta_min``). torch's ``step()`` uses a
    recursive form that drifts from this closed form: an error committed next to a minimum grows by up
    to ``4 * T_max**2 / pi**2`` by the next maximum, about 1e-12 relative for ``T_max=174`` and 8e-12
    for ``T_max=1000`` when ``eta_min`` is close to ``base_lr`` (the bound is derived in
    tests/test_cosine.py); this one does not drift. No momentum.

    Args:
        base_lr: the starting lr; a float or one per parameter group.
        T_max: steps from ``base_lr`` down to ``eta_min`` (a positive integer).
        eta_min: the lowest lr (>= 0).

    Raises:
        TypeError: a parameter has the wrong type (a float or bool ``T_max``, a string rate).
        ValueError: ``T_max < 1`` or ``T_max >= 2**62`` (the period ``2 * T_max`` is held in int64);
            NaN/inf/negative rates or rates beyond a float (``10**400``);
            ``|base_lr - eta_min| > 8.98e307`` (the formula doubles it).

    Examples:
        >>> spec = CosineAnnealingLR(base_lr=0.1, T_max=100)
        >>> spec.lr_at(0), spec.lr_at(50), spec.lr_at(100)
        (0.1, 0.05, 0.0)
    """

    base_lr: float | Sequence[float]
    T_max: int
    eta_min: float = 0.0
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        # The cosine repeats every 2 * T_max steps, reduced with integers: 2 * T_max must fit in int64.
        T_max = check_int(
            "T_max",
            self.T_max,
            minimum=1,
            maximum=2**62 - 1,
            why=" (2 * T_max, the period, is held in int64)",
        )
        object.__setattr__(self, "T_max", T_max)
        object.__setattr__(self, "eta_min", check_real("eta_min", self.eta_min, minimum=0.0))
        check_amplitude(base_lr, self.eta_min)
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        return cosine_annealing_formula(xp, T_max=self.T_max, start=self.eta_min, delta=base - self.eta_min)
