"""Cosine decays: the one formula behind optax's, Keras' and transformers' cosine schedules.

``CosineDecay`` is a cosine from ``base_lr`` down to a floor ``alpha * base_lr`` over ``decay_steps``
steps; its parameters reach every anchor's variant: optax ``cosine_decay_schedule`` (``alpha``,
``exponent``, held after the end), Keras ``CosineDecay`` (``alpha``), transformers' ``cosine``
(``num_cycles``, continuing after the end), ``cosine_with_restarts`` (hard restarts, 0 after the end) and
``cosine_with_min_lr`` (``alpha`` is ``min_lr_rate``). ``CosineDecayRestarts`` is Keras' schedule of the
same name: SGDR's restarts (the closed-form position of ``cyclr.cosine``) with a floor and a decaying
peak. A warmup in front is ``cyclr.warmup``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ._ops import PYTHON, Ops
from ._spec import Formula, _LrOnly
from ._validate import (
    INT64_MAX,
    as_group_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_real_or_groups,
    show,
)
from .cosine import warm_restarts_position

AFTERS = ("hold", "continue", "zero")
_TINY = 2.0**-100  # below every nonzero 0.5 * (1 + cos(x)) (>= 2**-54), and a normal float32
_INT64 = " (the NumPy and numba paths hold it in int64)"
_FLOAT_PHASE_STEPS = 2**1000  # past it, step / decay_steps may pass the largest float (Python ints only)
_MAX_CYCLES = 2**31
_INT32_PRODUCTS = 2**31  # integer products beyond this wrap under JAX/Keras (int32): take the float form


def cosine_decay_formula(
    xp: Ops,
    *,
    base: Any,
    decay_steps: int,
    alpha: float,
    exponent: float,
    num_cycles: float,
    hard_restarts: bool,
    after: str,
    offset: int,
) -> Formula:
    r"""``step -> base * ((1 - alpha) * f(t) ** exponent + alpha)``, with ``t = step + offset``.

    ``f`` is the cosine factor of transformers' schedules, with ``progress = t / decay_steps``::

        f = 0.5 * (1 + cos(pi * num_cycles * 2 * progress))            smooth
        f = 0.5 * (1 + cos(pi * ((num_cycles * progress) mod 1)))      hard restarts

    ``after`` says what happens from ``t = decay_steps`` on: "hold" clips ``t`` at ``decay_steps``
    (optax, Keras), "continue" lets the formula run (transformers' ``cosine``), "zero" gives 0
    (transformers' ``cosine_with_restarts``). The position in the cosine is reduced with integers where
    the wave has an integer period (``2 * num_cycles`` an integer, smooth; ``num_cycles`` an integer,
    hard), so it is exact at any step; otherwise it is the float64 ``progress``, as transformers has it.
    """
    cos, where, minimum, maximum, power = xp.cos, xp.where, xp.minimum, xp.maximum, xp.power
    D = decay_steps
    half_waves = 2.0 * num_cycles
    if hard_restarts:
        integral = num_cycles.is_integer() and num_cycles * D < _INT32_PRODUCTS
        cycles = int(num_cycles) if integral else 0
        scale = math.pi
    else:
        integral = half_waves.is_integer() and 2 * D <= INT64_MAX
        scale = math.pi * num_cycles * 2.0  # transformers' math.pi * float(num_cycles) * 2.0, one rounding
    period = D if hard_restarts else 2 * D  # of the wave in t, when it is integral
    last = D - offset  # the step at which t reaches decay_steps
    continuing, zero, powered = after == "continue", after == "zero", exponent != 1.0

    def position(step: Any) -> Any:
        """``t = step + offset``, clipped at ``decay_steps`` (hold, zero) or reduced by the period."""
        if continuing:
            return step + offset
        return minimum(step, last) + offset

    def reduced(step: Any) -> Any:
        return step - (step // period) * period + offset

    def wave(t: Any) -> Any:
        return 0.5 * (1.0 + cos(scale * (t / D)))

    def restart(t: Any) -> Any:
        within = t - (t // D) * D
        return 0.5 * (1.0 + cos(scale * (((cycles * within) % D) / D)))

    def restart_float(t: Any) -> Any:
        return 0.5 * (1.0 + cos(scale * ((num_cycles * (t / D)) % 1.0)))

    where_t = xp.jit(reduced if continuing and integral else position)
    shape = xp.jit((restart if integral else restart_float) if hard_restarts else wave)

    def value(step: Any) -> Any:
        f = shape(where_t(step))
        if powered:
            f = where(f > _TINY, power(maximum(f, _TINY), exponent), 0.0)
        lr = base * ((1.0 - alpha) * f + alpha)
        if zero:
            return where(step >= last, 0.0 * lr, lr)
        return lr

    if xp is not PYTHON or not continuing or integral:
        return value

    def python_value(step: int) -> Any:
        if step >= _FLOAT_PHASE_STEPS:
            raise ValueError(
                f"step must be < 2**1000 for a CosineDecay continuing past its end with num_cycles="
                f"{num_cycles} (a float position in the wave, as transformers has it), got {show(step)}"
            )
        return value(step)

    return python_value


@dataclass(frozen=True)
class CosineDecay(_LrOnly):
    r"""A cosine decay from ``base_lr`` to the floor ``alpha * base_lr`` over ``decay_steps`` steps::

        progress = (step + offset) / decay_steps
        f        = 0.5 * (1 + cos(pi * num_cycles * 2 * progress))           (smooth)
                 = 0.5 * (1 + cos(pi * ((num_cycles * progress) mod 1)))     (hard_restarts=True)
        lr(step) = base_lr * ((1 - alpha) * f ** exponent + alpha)

    The defaults are optax's ``cosine_decay_schedule`` and Keras' ``CosineDecay``: half a cosine
    (``num_cycles=0.5``), held at ``alpha * base_lr`` from ``decay_steps`` on. transformers'
    schedules: ``cosine`` is ``after="continue"`` (the cosine keeps going: it rises again after
    ``decay_steps``), ``cosine_with_restarts`` is ``hard_restarts=True, num_cycles=k, after="zero"``,
    ``cosine_with_min_lr`` is ``alpha=min_lr_rate`` (``min_lr / base_lr``), and
    ``cosine_warmup_with_min_lr`` counts its decay from 1 (``offset=1``); each with ``cyclr.warmup`` in
    front (``cyclr.torch.get_spec`` builds them). No momentum.

    Args:
        base_lr: the lr at step 0, the top of the cosine; a float or one per parameter group.
        decay_steps: steps from ``base_lr`` to the floor (transformers' ``num_training_steps -
            num_warmup_steps``); a positive integer.
        alpha: the floor as a fraction of ``base_lr``, in [0, 1] (optax/Keras ``alpha``,
            transformers' ``min_lr_rate``).
        exponent: the power of the cosine factor (optax's ``exponent``), > 0.
        num_cycles: waves over ``decay_steps``: 0.5 is half a cosine (smooth), the number of restarts
            with ``hard_restarts``; > 0.
        hard_restarts: jump back to ``base_lr`` ``num_cycles`` times (transformers'
            ``cosine_with_restarts``).
        after: from ``decay_steps`` on, "hold" the last value (optax, Keras), "continue" the formula
            (transformers' ``cosine``), or "zero" (transformers' ``cosine_with_restarts``).
        offset: steps added before the formula: 1 for transformers' ``cosine_warmup_with_min_lr``,
            whose decay's first step has progress ``1 / decay_steps``; an integer in [0, decay_steps].

    Limits: the position in the wave is computed with integers and is exact at every step when
    ``2 * num_cycles`` (smooth) or ``num_cycles`` (hard) is an integer. Otherwise, with
    ``after="continue"``, the cosine's argument is the float64 product transformers computes, whose
    error grows with the step (about ``1e-16 * step / decay_steps``); with "hold" or "zero" it stays
    below ``decay_steps`` and is exact to rounding; a Python int step from ``2**1000`` on is then a
    ValueError (where ``step / decay_steps`` may pass the largest float). See docs/limits.md.

    Raises:
        TypeError: a parameter has the wrong type (a float ``decay_steps``, a bool rate, a string).
        ValueError: ``decay_steps < 1`` or ``>= 2**62``; ``alpha`` outside [0, 1]; ``exponent <= 0``;
            ``num_cycles <= 0`` or ``> 2**31``; ``after`` not one of hold/continue/zero;
            ``hard_restarts`` with ``after="hold"`` (the end of the last cycle is a restart: say
            "zero" or "continue");
            ``offset`` outside [0, decay_steps]; NaN/inf/negative rates.

    Examples:
        >>> spec = CosineDecay(base_lr=0.1, decay_steps=100, alpha=0.1)
        >>> spec.lr_at(0), round(spec.lr_at(50), 12), round(spec.lr_at(100), 12), round(spec.lr_at(500), 12)
        (0.1, 0.055, 0.01, 0.01)
        >>> round(CosineDecay(0.1, 100, after="continue").lr_at(200), 12)
        0.1
    """

    base_lr: float | Sequence[float]
    decay_steps: int
    alpha: float = 0.0
    exponent: float = 1.0
    num_cycles: float = 0.5
    hard_restarts: bool = False
    after: str = "hold"
    offset: int = 0
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        decay_steps = check_int(
            "decay_steps",
            self.decay_steps,
            minimum=1,
            maximum=2**62 - 1,
            why=" (2 * decay_steps, the period of the cosine, is held in int64)",
        )
        object.__setattr__(self, "decay_steps", decay_steps)
        object.__setattr__(self, "alpha", check_real("alpha", self.alpha, minimum=0.0, maximum=1.0))
        object.__setattr__(self, "exponent", check_real("exponent", self.exponent, above=0.0))
        num_cycles = check_real("num_cycles", self.num_cycles, above=0.0, maximum=_MAX_CYCLES)
        object.__setattr__(self, "num_cycles", num_cycles)
        hard = check_bool("hard_restarts", self.hard_restarts)
        object.__setattr__(self, "hard_restarts", hard)
        after = check_choice("after", self.after, AFTERS)
        if hard and after == "hold":
            raise ValueError(
                "after must be 'zero' (transformers' cosine_with_restarts) or 'continue' with "
                "hard_restarts=True: the last cycle ends on a restart, so there is no last value to "
                "hold, got after='hold'"
            )
        object.__setattr__(self, "after", after)
        offset = check_int("offset", self.offset, minimum=0)
        if offset > decay_steps:
            raise ValueError(
                f"offset must be <= decay_steps ({decay_steps}): the decay would start past its end, "
                f"got {show(offset)}"
            )
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        return cosine_decay_formula(
            xp,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
            decay_steps=self.decay_steps,
            alpha=self.alpha,
            exponent=self.exponent,
            num_cycles=self.num_cycles,
            hard_restarts=self.hard_restarts,
            after=self.after,
            offset=self.offset,
        )


def sgdr_restarts(first_decay_steps: int, t_mul: float) -> bool:
    """Whether the restarts are SGDR's integer closed form: an integer ``t_mul > 1`` whose integers
    (``first_decay_steps * t_mul`` at most) fit int32 and stay exact for every int64 step
    (``t_mul <= first_decay_steps``); the other restarts are located in an exact table."""
    integer = t_mul > 1 and float(t_mul).is_integer()
    return integer and t_mul <= first_decay_steps and first_decay_steps * t_mul < _INT32_PRODUCTS


MAX_FRACTIONAL_RESTARTS = 2048
"""The most restarts below ``2**63`` that a fractional ``t_mul`` may have (their starts are a table)."""


@functools.lru_cache(maxsize=256)
def fractional_restart_starts(first_decay_steps: int, t_mul: float, end: int = INT64_MAX) -> tuple[int, ...]:
    r"""The first step of restarts 1, 2, ... below ``end``, for a fractional ``t_mul``, exactly.

    Keras' ``i = floor(log(1 + c (t_mul - 1)) / log(t_mul))`` with ``c = step / first_decay_steps`` is
    the largest ``i`` with ``s_i <= step``, ``s_i = first_decay_steps * (t_mul**i - 1) / (t_mul - 1)``.
    ``t_mul`` is a float, so an exact rational: restart ``i`` begins at the integer ``ceil(s_i)``, found
    here with rational arithmetic, where a float logarithm may put a step on either side.

    Raises:
        ValueError: more than ``MAX_FRACTIONAL_RESTARTS`` restarts below ``end``.
    """
    growth = Fraction(t_mul)
    starts: list[int] = []
    power = growth
    while True:
        start = math.ceil(first_decay_steps * (power - 1) / (growth - 1))
        if start > end:
            return tuple(starts)
        starts.append(start)
        if len(starts) > MAX_FRACTIONAL_RESTARTS:
            raise ValueError(
                f"a fractional t_mul must give at most {MAX_FRACTIONAL_RESTARTS} restarts below 2**63 (their "
                f"first steps are a table), got t_mul={t_mul} with first_decay_steps={first_decay_steps}; "
                f"use a larger t_mul or an integer one"
            )
        power *= growth


def keras_restarts_formula(
    xp: Ops, *, base: Any, first_decay_steps: int, t_mul: float, m_mul: float, alpha: float
) -> Formula:
    r"""Keras' ``CosineDecayRestarts``: ``base * ((1 - alpha) * m_mul**i * (1 + cos(pi * x)) / 2 + alpha)``.

    ``i`` is the restart and ``x`` the fraction of it done. With an integer ``t_mul`` restarts begin at
    SGDR's steps ``first_decay_steps * (t_mul**i - 1) / (t_mul - 1)``, located with integers
    (``cyclr.cosine.warm_restarts_position``): exact at any step. With a fractional ``t_mul`` the restart
    is found in the exact table of ``fractional_restart_starts`` and the fraction is Keras' float
    formula, ``x = (c - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i`` with ``c = step / first_decay_steps``.
    """
    cos, log, floor, power, maximum = xp.cos, xp.log, xp.floor, xp.power, xp.maximum
    F = first_decay_steps
    pi = math.pi
    whole = sgdr_restarts(F, t_mul)
    log_mult = math.log(t_mul) if t_mul > 1 else 1.0
    if whole:
        position = xp.jit(warm_restarts_position(xp, T_0=F, T_mult=int(t_mul)))
    elif t_mul > 1:
        starts = fractional_restart_starts(F, t_mul)
        restart_of = xp.step_function(starts, list(range(len(starts) + 1)))

    def flat(step: Any) -> tuple[Any, Any]:
        restart = step // F
        return restart, (step - restart * F) / F

    def integral(step: Any) -> tuple[Any, Any]:
        t_cur, grown = position(step)
        # grown = t_mul**i exactly; i from its logarithm (within 1e-12 of an integer: rounded)
        restart = floor(log(grown) / log_mult + 0.5)
        return restart, t_cur / (F * (grown * 1.0))

    def geometric(step: Any) -> tuple[Any, Any]:
        restart = restart_of(step)
        grown = power(t_mul, restart * 1.0)
        return restart, (step / F - (1.0 - grown) / (1.0 - t_mul)) / grown

    restart_and_fraction = xp.jit(flat if t_mul == 1.0 else integral if whole else geometric)
    decaying = m_mul != 1.0

    def value(step: Any) -> Any:
        restart, fraction = restart_and_fraction(step)
        peak = 0.5 * power(m_mul, maximum(restart, 0) * 1.0) if decaying else 0.5
        return base * ((1.0 - alpha) * (peak * (1.0 + cos(pi * fraction))) + alpha)

    if xp is not PYTHON or t_mul == 1.0:
        return value
    assert whole or starts

    def python_value(step: int) -> Any:
        if step <= INT64_MAX:
            return value(step)
        if whole:  # Python ints past int64: the restart's length as an integer (a float may overflow)
            t_cur, grown = position(step)
            restart = round(math.log(grown) / log_mult)
            peak = 0.5 * math.pow(m_mul, restart) if decaying else 0.5
            return base * ((1.0 - alpha) * (peak * (1.0 + math.cos(pi * (t_cur / (F * grown))))) + alpha)
        # Beyond the table (Python ints only): the restart by exact rational comparisons.
        growth, restart = Fraction(t_mul), len(starts)
        while math.ceil(F * (growth ** (restart + 1) - 1) / (growth - 1)) <= step:
            restart += 1
        # The position in the restart as an exact rational, rounded once: its numerator and the
        # restart's length pass the largest float long before the fraction leaves [0, 1).
        grown = growth**restart
        fraction = float((Fraction(step, F) * (growth - 1) - (grown - 1)) / ((growth - 1) * grown))
        peak = 0.5 * math.pow(m_mul, restart) if decaying else 0.5
        return base * ((1.0 - alpha) * (peak * (1.0 + math.cos(pi * fraction))) + alpha)

    return python_value


@dataclass(frozen=True)
class CosineDecayRestarts(_LrOnly):
    r"""Keras' ``CosineDecayRestarts``: cosine decays restarting after ``first_decay_steps``,
    ``t_mul`` times longer each time, each peak ``m_mul`` times the last, over a floor::

        lr(step) = base_lr * ((1 - alpha) * m_mul**i * (1 + cos(pi * x)) / 2 + alpha)

    where ``i`` is the restart and ``x`` the fraction of it done (restart ``i`` lasts
    ``first_decay_steps * t_mul**i`` steps). The floor ``alpha * base_lr`` is not scaled by
    ``m_mul**i`` (as in Keras). With ``t_mul = T_mult`` and ``m_mul = 1`` the restarts are SGDR's
    (``CosineAnnealingWarmRestarts(base_lr, T_0=first_decay_steps, T_mult, eta_min=alpha*base_lr)``,
    equal to rounding). No momentum.

    Args:
        base_lr: the lr at step 0, the first restart's peak; a float or one per parameter group.
        first_decay_steps: the length of the first decay (a positive integer).
        t_mul: each period is ``t_mul`` times the previous one (a real >= 1; Keras' default 2.0).
        m_mul: each restart's peak is ``m_mul`` times the previous one (a real in [0, 1]; Keras' 1.0).
        alpha: the floor as a fraction of ``base_lr``, in [0, 1].

    Limits: the restarts are placed exactly at every step. With an integer ``t_mul`` (2.0 is one)
    up to ``first_decay_steps`` (and ``first_decay_steps * t_mul < 2**31``) they are SGDR's, located
    with integers in closed form. Otherwise restart ``i`` begins at the integer
    ``ceil(first_decay_steps * (t_mul**i - 1) / (t_mul - 1))``, computed once with rational arithmetic
    (``fractional_restart_starts``) and looked up; Keras' float ``floor(log(...))`` can put a step
    that lies exactly on a restart on either side (its float32 run often does). The fraction of the
    restart is then Keras' float formula, so values agree with Keras in float64 to 1e-12 of
    ``base_lr``. Such a ``t_mul`` may have at most 2,048 restarts below ``2**63`` (``t_mul >= 1.0216``
    or so). See docs/limits.md.

    Raises:
        TypeError: a parameter has the wrong type.
        ValueError: ``first_decay_steps < 1`` or ``>= 2**63``; ``t_mul < 1`` (periods that shrink end
            in infinitely many restarts before a finite step); a fractional ``t_mul`` with more than
            2,048 restarts below ``2**63``;
            ``m_mul`` or ``alpha`` outside [0, 1]; NaN/inf/negative rates.

    Examples:
        >>> spec = CosineDecayRestarts(base_lr=0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
        >>> spec.lr_at(0), spec.lr_at(10), spec.lr_at(30)
        (0.1, 0.05, 0.025)
    """

    base_lr: float | Sequence[float]
    first_decay_steps: int
    t_mul: float = 2.0
    m_mul: float = 1.0
    alpha: float = 0.0
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        F = check_int("first_decay_steps", self.first_decay_steps, minimum=1, maximum=INT64_MAX, why=_INT64)
        object.__setattr__(self, "first_decay_steps", F)
        t_mul = check_real("t_mul", self.t_mul, minimum=1.0)
        if t_mul > 1 and not sgdr_restarts(F, t_mul):
            fractional_restart_starts(F, t_mul)  # the table, and its size checked, now
        object.__setattr__(self, "t_mul", t_mul)
        object.__setattr__(self, "m_mul", check_real("m_mul", self.m_mul, minimum=0.0, maximum=1.0))
        object.__setattr__(self, "alpha", check_real("alpha", self.alpha, minimum=0.0, maximum=1.0))
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        return keras_restarts_formula(
            xp,
            base=as_group_array(self.base_lr, self.groups),  # type: ignore[arg-type]
            first_decay_steps=self.first_decay_steps,
            t_mul=self.t_mul,
            m_mul=self.m_mul,
            alpha=self.alpha,
        )
