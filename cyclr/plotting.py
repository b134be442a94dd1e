"""Plots of a schedule: lr and momentum against the step, with cycle boundaries marked.

matplotlib is an optional extra (``pip install "cyclr[plot]"``), imported inside the functions only.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ._spec import Spec
from ._validate import check_int
from .compose import Join, Warmup
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cosine_decay import CosineDecay, CosineDecayRestarts
from .cyclic import CyclicLR
from .decay import ExponentialDecay, InverseTimeDecay, PiecewiseConstant, PolynomialDecay
from .inverse_sqrt import InverseSqrt
from .onecycle import OneCycleLR
from .rangetest import LRRangeTest
from .stepwise import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from .wsd import WarmupStableDecay

MAX_PLOT_STEPS = 10_000_000
"""The most steps ``plot`` draws: one point per step; more is memory, not ink."""
INT64_MAX = 2**63 - 1


def require_matplotlib() -> Any:
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as pyplot
    except ImportError as error:  # pragma: no cover - exercised in a subprocess test
        raise ImportError('plotting needs matplotlib: pip install "cyclr[plot]"') from error
    return pyplot


DEFAULT_LENGTH = 1000
"""The steps shown for a schedule without a length of its own (``Constant``, a custom subclass)."""


def _with_tail(end: int) -> int:
    """Up to ``end`` (where a schedule settles) and a quarter more, to show it holding; at least 1."""
    return max(end + end // 4, 1)


def _tenfold(periods_per_tenfold: float, steps_per_period: int, begin: int = 0) -> int:
    """Steps up to the one where a decay has fallen tenfold (at most a million periods after ``begin``;
    one period for a decay that never changes: ``periods_per_tenfold`` infinite), that step included."""
    periods = min(math.ceil(periods_per_tenfold), 10**6) if math.isfinite(periods_per_tenfold) else 1
    return begin + max(periods, 1) * steps_per_period + 1


def _exponential_periods(rate: float) -> float:
    """Periods for ``rate ** p`` to change tenfold (a rate of 1 never changes: one period)."""
    return math.log(10) / abs(math.log(rate)) if rate not in (0.0, 1.0) else 1.0


def _three_restarts(first: int, growth: float) -> int:
    """The end of three restarts, ``first * (1 + growth + growth**2)``, exactly (a float ``growth``
    is a rational), however large."""
    ratio = Fraction(growth)
    return math.ceil(first * (1 + ratio + ratio * ratio))


_LENGTHS: dict[type, Any] = {
    CyclicLR: lambda spec: 2 * spec.period,
    OneCycleLR: lambda spec: spec.total_steps,
    CosineAnnealingWarmRestarts: lambda spec: spec.restart_steps(3)[-1],
    CosineAnnealingLR: lambda spec: 2 * spec.T_max,
    LRRangeTest: lambda spec: spec.num_steps,
    PolynomialDecay: lambda spec: (
        spec.begin + (2 * spec.decay_steps if spec.cycle else _with_tail(spec.decay_steps))
    ),
    ExponentialDecay: lambda spec: _tenfold(
        _exponential_periods(spec.decay_rate), spec.decay_steps, spec.begin
    ),
    InverseTimeDecay: lambda spec: _tenfold(
        9 / spec.decay_rate if spec.decay_rate > 0 else math.inf, spec.decay_steps
    ),
    PiecewiseConstant: lambda spec: _with_tail(spec.boundaries[-1]) if spec.boundaries else DEFAULT_LENGTH,
    ConstantLR: lambda spec: 2 * spec.total_iters or DEFAULT_LENGTH,
    LinearLR: lambda spec: _with_tail(spec.total_iters),
    PolynomialLR: lambda spec: _with_tail(spec.total_iters),
    ExponentialLR: lambda spec: _tenfold(_exponential_periods(spec.gamma), 1),
    StepLR: lambda spec: 4 * spec.step_size,
    MultiStepLR: lambda spec: _with_tail(spec.milestones[-1]) if spec.milestones else DEFAULT_LENGTH,
    CosineDecay: lambda spec: (
        2 * spec.decay_steps if spec.after == "continue" else _with_tail(spec.decay_steps)
    ),
    CosineDecayRestarts: lambda spec: _three_restarts(spec.first_decay_steps, spec.t_mul),
    InverseSqrt: lambda spec: 99 * spec.timescale + 1,  # lr(99 * timescale) = base_lr / 10
    WarmupStableDecay: lambda spec: _with_tail(
        spec.num_warmup_steps + spec.stable_steps + spec.num_decay_steps
    ),
}
"""Each family's length: what shows its shape (two cycles, the whole one-cycle, three restarts, a decay
to its end and a little of its hold, or a tenfold fall for the decays that never end)."""


def natural_length(spec: Spec) -> int:
    """A number of steps that shows the schedule's shape: two cycles, the whole one-cycle, three
    restarts, a decay to its end and a quarter more, a decay that never ends until it has fallen tenfold.

    Examples:
        >>> natural_length(CyclicLR(step_size_up=100))
        400
        >>> natural_length(StepLR(0.1, step_size=30))
        120
    """
    if isinstance(spec, Warmup):
        return spec.warmup_steps + natural_length(spec.spec)
    if isinstance(spec, Join):
        return (
            spec.boundaries[-1] + natural_length(spec.specs[-1])
            if spec.boundaries
            else natural_length(spec.specs[0])
        )
    for family in type(spec).__mro__:  # a subclass of a family shows as that family
        if family in _LENGTHS:
            return min(max(int(_LENGTHS[family](spec)), 1), INT64_MAX)  # steps are int64 beyond Python
    return DEFAULT_LENGTH


def describe(spec: Spec) -> str:
    """A short title: the family, with composition spelled out.

    Examples:
        >>> import cyclr
        >>> describe(cyclr.warmup(cyclr.CyclicLR(mode="triangular2"), 100))
        'warmup 100 steps, then CyclicLR (triangular2)'
    """
    if isinstance(spec, Warmup):
        return f"warmup {spec.warmup_steps} steps, then {describe(spec.spec)}"
    if isinstance(spec, Join):
        return ", then ".join(describe(part) for part in spec.specs)
    if isinstance(spec, CyclicLR):
        detail = spec.mode if spec.scale_fn is None else "custom scale_fn"
        if spec.waveform != "triangular":
            detail += f", {spec.waveform} waveform"
        return f"CyclicLR ({detail})"
    return type(spec).__name__


def cycle_boundaries(spec: Spec, start: int, stop: int) -> list[int]:
    """The steps in ``[start, stop)`` where a cycle, restart or phase begins (where the shape turns).

    Examples:
        >>> cycle_boundaries(CyclicLR(step_size_up=100), 0, 450)
        [0, 200, 400]
    """
    marks: list[int] = []
    if isinstance(spec, CyclicLR):
        marks = list(range(-(-start // spec.period) * spec.period, stop, spec.period))
    elif isinstance(spec, OneCycleLR):
        marks = [0] + [int(np.floor(phase.end_step)) + 1 for phase in spec.phases[:-1]]
    elif isinstance(spec, CosineAnnealingWarmRestarts):
        marks, step, length = [0], 0, spec.T_0
        while step + length < stop:
            step, length = step + length, length * spec.T_mult
            marks.append(step)
    elif isinstance(spec, CosineAnnealingLR):
        marks = list(range(-(-start // spec.T_max) * spec.T_max, stop, spec.T_max))
    elif isinstance(spec, Warmup):
        inner = cycle_boundaries(
            spec.spec, max(0, start - spec.warmup_steps), max(0, stop - spec.warmup_steps)
        )
        marks = [0] + [spec.warmup_steps + mark for mark in inner]
    elif isinstance(spec, Join):
        starts = [0, *spec.boundaries]
        ends = [*spec.boundaries, stop]
        for begin, end, part in zip(starts, ends, spec.specs, strict=True):
            inner = cycle_boundaries(part, max(0, start - begin), max(0, min(end, stop) - begin))
            marks += [begin + mark for mark in inner if begin + mark < end]
    return sorted({mark for mark in marks if start <= mark < stop})


def plot(spec: Spec, num_steps: int | None = None, ax: Any = None, *, start: int = 0) -> Any:
    """Plot lr (left axis) and momentum (right axis, when scheduled) against the step.

    Cycle boundaries are marked with dotted vertical lines. Parameter groups get one line each.

    Args:
        spec: any cyclr spec.
        num_steps: how many steps to draw (default: ``natural_length(spec)``).
        ax: a matplotlib Axes to draw on (default: a new figure).
        start: the first step drawn; ``start + num_steps - 1`` must fit int64 (at most ``2**63 - 1``).

    Returns:
        The Axes holding the lr curve (the momentum axis is its ``twinx()``).

    Raises:
        ImportError: matplotlib is not installed (``pip install "cyclr[plot]"``).
        ValueError: ``num_steps`` is not a positive integer or is over ``MAX_PLOT_STEPS``; ``start`` is
            negative; the last step is beyond int64.

    Examples:
        >>> import cyclr
        >>> ax = cyclr.plot(cyclr.CyclicLR(step_size_up=100))
        >>> ax.get_ylabel()
        'learning rate'
    """
    pyplot = require_matplotlib()
    if not isinstance(spec, Spec):
        raise TypeError(f"plot expects a cyclr spec, got {type(spec).__name__}")
    num_steps = natural_length(spec) if num_steps is None else check_int("num_steps", num_steps, minimum=1)
    start = check_int("start", start, minimum=0)
    if num_steps > MAX_PLOT_STEPS:
        raise ValueError(f"num_steps must be at most {MAX_PLOT_STEPS} (one point per step), got {num_steps}")
    if start + num_steps - 1 > INT64_MAX:
        raise ValueError(
            f"start + num_steps - 1 must be at most 2**63 - 1 = {INT64_MAX} (steps are int64 "
            f"on the numpy path), got {start + num_steps - 1}"
        )
    if ax is None:
        _, ax = pyplot.subplots(figsize=(8, 3.5))
    steps = np.arange(start, start + num_steps)
    lr, momentum = spec.precompute(num_steps, start=start)
    ax.plot(steps, lr, color="tab:blue", label="lr")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(describe(spec))
    for mark in cycle_boundaries(spec, start, start + num_steps):
        ax.axvline(mark, color="0.6", linestyle=":", linewidth=1)
    if momentum is not None:
        twin = ax.twinx()
        twin.plot(steps, momentum, color="tab:orange", label="momentum")
        twin.set_ylabel("momentum", color="tab:orange")
    return ax
