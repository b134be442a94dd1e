"""Smith's cyclical learning rates (CLR): triangular, triangular2 and exp_range, with inverse momentum.

Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017; the semantics, names and
defaults of ``torch.optim.lr_scheduler.CyclicLR``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ._ops import NUMPY, PYTHON, Ops
from ._spec import CycleTable, Formula, Spec
from ._validate import (
    INT64_MAX,
    as_group_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_real_or_groups,
    check_same_groups,
    show,
)

MODES = ("triangular", "triangular2", "exp_range")
SCALE_MODES = ("cycle", "iterations")
WAVEFORMS = ("triangular", "cosine", "welch")
MODE_SCALE_MODE = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}
EXPONENT_CAP = 2**63
"""From this exponent on, ``gamma ** n`` is 0.0 in float64 for every float ``gamma < 1``."""


def cyclic_formula(
    xp: Ops,
    *,
    step_size_up: int,
    step_size_down: int,
    waveform: str,
    scaling: str,
    gamma: float,
    scale_fn: Callable[[int], float] | None,
    start: Any,
    delta: Any,
) -> Formula:
    r"""The cyclical schedule, ``step -> start + (delta * shape) * scale``, for the namespace ``xp``.

    With ``T = step_size_up + step_size_down``, in exact integer arithmetic::

        cycle  = step // T                                  (0-based: torch's ``cycle`` is cycle + 1)
        offset = step - cycle * T
        ramp   = min(offset / step_size_up, (T - offset) / step_size_down)    0 -> 1 (at up) -> 0

    The waveform shapes the ramp, the scaling shrinks the amplitude::

        shape = ramp                          "triangular" (Bartlett window; torch's)
              = (1 - cos(pi * ramp)) / 2      "cosine"     (Hann window)
              = ramp * (2 - ramp)             "welch"      (parabolic window)
        scale = 1                             "triangular"
              = 2 ** -cycle                   "triangular2"
              = gamma ** step                 "exp_range" (factored, below)
              = scale_fn(cycle + 1)           "cycle"       (a custom scale_fn)
              = scale_fn(step)                "iterations"  (a custom scale_fn)

    The learning rate is ``start=base_lr, delta=max_lr - base_lr``; the momentum, which moves the other
    way, ``start=max_momentum, delta=base_momentum - max_momentum``. Each shape is exactly 1 at
    ``offset == step_size_up``.

    "exp_range" is evaluated, on every path, as::

        start + (delta * (shape * gamma ** offset)) * gamma ** (cycle * T)

    (each power C's ``pow``), so that a cycle's values are one periodic row times one factor per cycle:
    ``precompute`` costs one ``pow`` per cycle, plus one per offset of a cycle, and equals ``spec(step)``
    bit for bit. The two roundings of the factored power keep it within 2 ulp of ``gamma ** step``;
    where ``gamma ** (cycle * T)`` underflows the value is ``start`` (never NaN). The exponent
    ``cycle * T`` is capped at the first multiple of ``T`` from ``2**63`` on (``EXPONENT_CAP``), where
    ``gamma ** n`` is 0 for every float ``gamma < 1`` (``(1 - 2**-53) ** 2**63 = e**-1024``) and 1 for
    ``gamma == 1``: exact, and a Python int step past ``2**1024`` needs no float conversion. The cap
    is never reached by an int64 step.
    """
    up, down = step_size_up, step_size_down
    period = up + down
    minimum, cos, ldexp, power, apply = xp.minimum, xp.cos, xp.ldexp, xp.power, xp.apply
    pi = math.pi
    # Decided once, not per step: branches on constants cost nothing in numba and little in Python.
    hann, welch = waveform == "cosine", waveform == "welch"
    # exp_range's exponent cycle * period, capped where every gamma < 1 has underflowed (see above).
    last_cycle = -(-EXPONENT_CAP // period)
    constant, halving = scaling == "triangular", scaling == "triangular2"
    exponential, by_cycle = scaling == "exp_range", scaling == "cycle"

    def value(step: Any) -> Any:
        cycle = step // period
        offset = step - cycle * period
        shape = minimum(offset / up, (period - offset) / down)
        if hann:
            shape = (1 - cos(pi * shape)) / 2
        elif welch:
            shape = shape * (2 - shape)
        if constant:
            scale = 1.0
        elif halving:  # past cycle 1075, 2**-cycle is 0 in float64: bound the exponent for every backend
            scale = ldexp(1.0, -minimum(cycle, 1100))
        elif exponential:  # gamma**step, factored: one factor per offset, one per cycle (see above)
            shape = shape * power(gamma, offset)
            scale = power(gamma, minimum(cycle, last_cycle) * period)
        elif by_cycle:
            scale = apply(scale_fn, cycle + 1)  # type: ignore[arg-type]  # set in this branch
        else:
            scale = apply(scale_fn, step)  # type: ignore[arg-type]
        return start + (delta * shape) * scale

    return value


def checked_scale_fn(
    scale_fn: Callable[[int], float], scale_mode: str, period: int
) -> Callable[[int], float]:
    """``scale_fn`` whose every value is checked: a finite real number in [0, 1], returned as a float.

    A scale in [0, 1] keeps the lr between ``base_lr`` and ``max_lr`` (and the momentum between its
    bounds); anything else (a bool, NaN, inf, a negative number, 1.5) is a ValueError naming the
    argument and, for the "cycle" scale_mode, the steps of that cycle.
    """

    def checked(x: int) -> float:
        value = scale_fn(x)
        number = None
        if isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        ):
            try:
                number = float(value)
            except (OverflowError, ValueError):
                number = None
        if number is None or not 0.0 <= number <= 1.0:
            if scale_mode == "cycle":
                where = f"cycle {x}, steps {(x - 1) * period} to {x * period - 1}"
            else:
                where = f"step {x}"
            raise ValueError(
                f"scale_fn({x}) returned {show(value)} ({where}); a custom scale_fn must return a finite "
                f"number in [0, 1], so that the lr stays between base_lr and max_lr"
            )
        return number

    return checked


@dataclass(frozen=True)
class CyclicLR(Spec):
    r"""A cyclical learning rate (Smith 2017), with momentum cycled the opposite way.

    The same parameters, defaults and values as ``torch.optim.lr_scheduler.CyclicLR``, as an immutable
    value with no optimizer. Each cycle rises for ``step_size_up`` steps from ``base_lr`` to ``max_lr``
    and falls for ``step_size_down`` steps back; the mode shrinks the amplitude::

        lr(step)       = base_lr      + ((max_lr - base_lr)             * shape(offset)) * scale
        momentum(step) = max_momentum + ((base_momentum - max_momentum) * shape(offset)) * scale

    where ``offset = step mod (step_size_up + step_size_down)`` is computed with integers (exact at any
    step) and ``scale`` is 1 ("triangular"), ``2**-(cycle-1)`` ("triangular2", with torch's 1-based cycle)
    or ``gamma**step`` ("exp_range"). See ``cyclic_formula`` for the waveforms.

    Args:
        base_lr: lower boundary of the cycle; a float or one per parameter group.
        max_lr: upper boundary; a float or one per parameter group. May be below ``base_lr``.
        step_size_up: steps in the rising half of a cycle (a positive integer).
        step_size_down: steps in the falling half; None means ``step_size_up``.
        mode: "triangular", "triangular2" or "exp_range"; ignored when ``scale_fn`` is given.
        gamma: the exp_range factor per step, in (0, 1]: the amplitude shrinks as ``gamma**step``
            (torch accepts gamma > 1, which grows the lr past ``max_lr`` and overflows to inf).
        scale_fn: a custom amplitude scale, ``scale_fn(x) -> float`` with a Python int ``x``; it
            overrides ``mode``. It must return a finite number in [0, 1] (so the lr stays between
            ``base_lr`` and ``max_lr``): on the Python and NumPy paths any other value raises a
            ValueError naming ``x``; numba (where it must be jitted) and the JAX/Keras adapters (where
            it gets a tensor) cannot raise, and ``precompute(backend="numba")`` refuses a non-finite
            result. It cannot be serialized by ``to_dict``.
        scale_mode: "cycle" (``x`` is torch's 1-based cycle number) or "iterations" (``x`` is the step).
            None means the mode's own: "cycle" for triangular/triangular2 and for a custom
            ``scale_fn``, "iterations" for exp_range.
        cycle_momentum: whether momentum cycles between ``max_momentum`` and ``base_momentum``.
        base_momentum: momentum at the peak of the lr; a float or one per parameter group.
        max_momentum: momentum at the start of a cycle; a float or one per parameter group.
        waveform: "triangular" (torch's), "cosine" (Hann) or "welch" (parabolic).

    Limits: the period ``step_size_up + step_size_down`` must be below ``2**63`` (the NumPy and numba
    paths hold it, and the steps, in int64); every step then is exact on every path. Python ints
    beyond ``2**63`` are exact on the scalar path.

    Raises:
        TypeError: a parameter has the wrong type (a bool or float step size, a string lr, ...).
        ValueError: a value breaks its rule (non-positive step size, a period of ``2**63`` steps or
            more, NaN/inf/negative lr or momentum or one beyond a float such as ``10**400``, unknown
            mode, gamma outside (0, 1], a scale_mode that contradicts the mode, sequences of different
            lengths); at a step, a custom ``scale_fn`` value outside [0, 1].

    Examples:
        >>> spec = CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
        >>> spec.lr_at(1000), spec.momentum_at(1000)
        (0.0035, 0.8500000000000001)
        >>> spec.lr_at([0, 2000, 4000])
        array([0.001, 0.006, 0.001])
    """

    base_lr: float | Sequence[float] = 1e-3
    max_lr: float | Sequence[float] = 6e-3
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: Callable[[int], float] | None = None
    scale_mode: str | None = None
    cycle_momentum: bool = True
    base_momentum: float | Sequence[float] = 0.8
    max_momentum: float | Sequence[float] = 0.9
    waveform: str = "triangular"
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def normalize(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("base_lr", "max_lr", "base_momentum", "max_momentum"):
            normalize(name, check_real_or_groups(name, getattr(self, name), minimum=0.0))
        up = check_int("step_size_up", self.step_size_up, minimum=1)
        normalize("step_size_up", up)
        down = up if self.step_size_down is None else self.step_size_down
        down = check_int("step_size_down", down, minimum=1)
        normalize("step_size_down", down)
        if up + down > INT64_MAX:
            raise ValueError(
                f"step_size_up + step_size_down (the period) must be < 2**63, the int64 the NumPy and numba "
                f"paths hold it in, got {show(up)} + {show(down)}"
            )
        normalize("mode", check_choice("mode", self.mode, MODES))
        gamma = check_real("gamma", self.gamma, above=0.0)
        if gamma > 1.0:
            raise ValueError(
                f"gamma must be in (0, 1], got {show(self.gamma)}: exp_range scales the amplitude by "
                f"gamma**step, and a growing amplitude would take the lr past max_lr (the upper "
                f"boundary) and on to inf"
            )
        normalize("gamma", gamma)
        if self.scale_fn is not None and not callable(self.scale_fn):
            raise TypeError(f"scale_fn must be callable or None, got {show(self.scale_fn)}")
        if isinstance(self.scale_fn, Spec):  # callable, but it returns (lr, momentum), not a scale
            raise TypeError(
                f"scale_fn must be a function x -> scale in [0, 1], got a {type(self.scale_fn).__name__} "
                f"spec (a spec maps a step to (lr, momentum)); to follow one schedule by another, use "
                f"cyclr.join"
            )
        if self.scale_mode is not None:
            normalize("scale_mode", check_choice("scale_mode", self.scale_mode, SCALE_MODES))
        if self.scale_fn is None:
            own = MODE_SCALE_MODE[self.mode]
            if self.scale_mode not in (None, own):
                raise ValueError(
                    f"scale_mode={self.scale_mode!r} contradicts mode={self.mode!r}, which scales by "
                    f"{own!r}; leave scale_mode=None, or pass a scale_fn to choose how it scales"
                )
            normalize("scale_mode", own)
        elif self.scale_mode is None:
            normalize("scale_mode", "cycle")
        normalize("cycle_momentum", check_bool("cycle_momentum", self.cycle_momentum))
        normalize("waveform", check_choice("waveform", self.waveform, WAVEFORMS))
        groups = check_same_groups(
            base_lr=self.base_lr,
            max_lr=self.max_lr,
            base_momentum=self.base_momentum,
            max_momentum=self.max_momentum,
        )
        normalize("_groups", groups)

    @property
    def period(self) -> int:
        """Steps in one cycle: ``step_size_up + step_size_down``."""
        assert self.step_size_down is not None
        return self.step_size_up + self.step_size_down

    @property
    def _scaling(self) -> str:
        return self.mode if self.scale_fn is None else str(self.scale_mode)

    def _endpoints(self, quantity: str) -> tuple[Any, Any]:
        if quantity == "lr":
            low, high = self.base_lr, self.max_lr
        else:
            low, high = self.max_momentum, self.base_momentum
        start = as_group_array(low, self.groups)  # type: ignore[arg-type]
        return start, as_group_array(high, self.groups) - start  # type: ignore[arg-type]

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum" and not self.cycle_momentum:
            return None
        start, delta = self._endpoints(quantity)
        return self._unit_formula(xp, self._scaling, start, delta)

    def _unit_formula(self, xp: Ops, scaling: str, start: Any, delta: Any) -> Formula:
        assert self.step_size_down is not None
        scale_fn = self.scale_fn
        if scale_fn is not None and (xp is PYTHON or xp is NUMPY):  # the paths that can raise
            scale_fn = checked_scale_fn(scale_fn, str(self.scale_mode), self.period)
        return cyclic_formula(
            xp,
            step_size_up=self.step_size_up,
            step_size_down=self.step_size_down,
            waveform=self.waveform,
            scaling=scaling,
            gamma=self.gamma,
            scale_fn=scale_fn,
            start=start,
            delta=delta,
        )

    def _step_scaled_table(self, start: int, num_steps: int) -> CycleTable | None:
        """A custom ``scale_fn`` in "iterations" mode: the periodic part of the formula as a table.

        The value is ``start + (delta * shape[offset]) * scale_fn(step)``: the shape depends only on the
        offset in the cycle, so it is computed once (one cycle, or the range's own steps when the range
        is shorter than a cycle) and the compiled fill calls ``scale_fn`` alone per step. ``scale`` is
        empty (the factor is the step's own). None for every other scaling.
        """
        if self.scale_fn is None or self.scale_mode != "iterations":
            return None
        unit = self._unit_formula(NUMPY, "triangular", start=0.0, delta=1.0)  # 0 + (1 * shape) * 1: shape
        period = self.period
        if num_steps >= period:
            shape = unit(np.arange(period, dtype=np.int64))
            return CycleTable(period, start % period, np.asarray(shape, dtype=np.float64), np.empty(0))
        # shorter than a cycle: the range's own shapes, as one "cycle" the fill never wraps around
        shape = unit(np.arange(num_steps, dtype=np.int64) + start)
        return CycleTable(max(num_steps, 1), 0, np.asarray(shape, dtype=np.float64), np.empty(0))

    def _cycle_table(self, start: int, num_steps: int) -> CycleTable | None:
        period = self.period
        if self._scaling == "iterations" or num_steps < 2 * period:
            return None  # the scale changes inside a cycle, or there is little to repeat
        first, last = start // period, (start + num_steps - 1) // period
        if last * period + self.step_size_up > INT64_MAX:
            return None  # the last cycle's peak, where the scale is read, is past int64
        unit = partial(self._unit_formula, NUMPY, start=0.0, delta=1.0)
        if self._scaling == "exp_range":
            # In cycle 0, 0 + (1 * (shape * gamma**offset)) * gamma**0 is the factored row exactly;
            # each cycle's factor is the formula's gamma**(cycle * period), the same pow.
            row = unit("exp_range")(np.arange(period, dtype=np.int64))
            cycles = np.arange(first, last + 1, dtype=np.int64) * period
            factor = NUMPY.power(self.gamma, cycles)
            return CycleTable(period, start - first * period, row, np.asarray(factor, dtype=np.float64))
        # 0 + (1 * shape) * 1 == shape; and shape == 1 at the peak, so the value there is the scale.
        shape = unit("triangular")(np.arange(period, dtype=np.int64))
        peaks = np.arange(first, last + 1, dtype=np.int64) * period + self.step_size_up
        scale = np.asarray(unit(self._scaling)(peaks), dtype=np.float64)
        return CycleTable(period, start - first * period, shape, np.broadcast_to(scale, peaks.shape))
