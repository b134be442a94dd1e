"""The one-cycle policy (Smith & Topin, "Super-Convergence", 2017): one rise and one long anneal.

The semantics, names and defaults of ``torch.optim.lr_scheduler.OneCycleLR``, as an immutable value.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._ops import Ops
from ._spec import Formula, Spec
from ._validate import (
    as_group_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_real_or_groups,
    check_same_groups,
    show,
)

MAX_TOTAL_STEPS = 2**53
"""The phase ends are float64 numbers (torch's); beyond 2**53 a step would be compared inexactly."""

ANNEAL_STRATEGIES = ("cos", "linear")


class Phase(NamedTuple):
    """Steps ``start_step .. end_step`` anneal each quantity between two named endpoints."""

    start_step: float
    end_step: float
    lr: tuple[str, str]
    momentum: tuple[str, str]


def one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool) -> tuple[Phase, ...]:
    """torch's phases: their last steps are ``pct*total - 1``, (``2*pct*total - 2``,) ``total - 1``."""
    rise = float(pct_start * total_steps) - 1
    if three_phase:
        fall = float(2 * pct_start * total_steps) - 2
        return (
            Phase(0.0, rise, ("initial", "max"), ("max", "base")),
            Phase(rise, fall, ("max", "initial"), ("base", "max")),
            Phase(fall, total_steps - 1, ("initial", "min"), ("max", "max")),
        )
    return (
        Phase(0.0, rise, ("initial", "max"), ("max", "base")),
        Phase(rise, total_steps - 1, ("max", "min"), ("base", "max")),
    )


def one_cycle_formula(
    xp: Ops,
    *,
    total_steps: int,
    phases: Sequence[Phase],
    anneal_strategy: str,
    quantity: str,
    values: dict[str, Any],
) -> Formula:
    r"""``step -> value`` of ``quantity``: piecewise annealing between named endpoints, torch's way.

    The step holds at ``total_steps - 1`` (the final value) beyond the end. A step belongs to the first
    phase whose ``end_step`` it does not exceed (the last phase takes the rest); with
    ``pct = (step - start_step) / (end_step - start_step)``::

        "cos":    end + (start - end) / 2 * (cos(pi * pct) + 1)
        "linear": (end - start) * pct + start

    Only the phases some step can select take part, and only the chosen phase is annealed.
    """
    last = total_steps - 1
    minimum, where, cos = xp.minimum, xp.where, xp.cos
    pi = math.pi
    cosine = anneal_strategy == "cos"

    def phase_of(phase: Phase) -> Formula:
        """``step -> (pct, start, end)`` within ``phase``."""
        start, end = (values[name] for name in getattr(phase, quantity))
        first_step, width = phase.start_step, phase.end_step - phase.start_step

        def arguments(step: Any) -> Any:
            return (step - first_step) / width, start, end

        return xp.jit(arguments)

    def up_to(end_step: float, within: Formula, beyond: Formula) -> Formula:
        def arguments(step: Any) -> Any:
            pct, start, end = within(step)
            pct_beyond, start_beyond, end_beyond = beyond(step)
            inside = step <= end_step
            return (
                where(inside, pct, pct_beyond),
                where(inside, start, start_beyond),
                where(inside, end, end_beyond),
            )

        return xp.jit(arguments)

    # The phase's pct and endpoints are chosen first and annealed once: one cosine per step, not one
    # per phase (``where`` evaluates every branch). The chosen phase's numbers are the same, so the
    # value is the same float64 expression as torch's.
    in_use = sorted({_phase_of(step, phases) for step in _boundary_steps(phases, last)})
    chosen = phase_of(phases[in_use[-1]])
    for index in reversed(in_use[:-1]):
        chosen = up_to(phases[index].end_step, phase_of(phases[index]), chosen)

    def value(step: Any) -> Any:
        pct, start, end = chosen(minimum(step, last))
        if cosine:
            return end + (start - end) / 2.0 * (cos(pi * pct) + 1)
        return (end - start) * pct + start

    return value


def _phase_of(step: int, phases: Sequence[Phase]) -> int:
    """The phase torch puts ``step`` in: the first one whose end it does not pass, else the last."""
    return next((i for i, phase in enumerate(phases) if step <= phase.end_step), len(phases) - 1)


def _boundary_steps(phases: Sequence[Phase], last: int) -> list[int]:
    """The integer steps in ``[0, last]`` on both sides of every phase end: each phase in use has one."""
    candidates = {0, last}
    for phase in phases:
        for step in (math.floor(phase.end_step), math.floor(phase.end_step) + 1):
            if 0 <= step <= last:
                candidates.add(step)
    return sorted(candidates)


@dataclass(frozen=True)
class OneCycleLR(Spec):
    r"""The one-cycle learning rate policy, with momentum annealed the opposite way.

    The same parameters, defaults and values as ``torch.optim.lr_scheduler.OneCycleLR``. The lr rises
    from ``initial = max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of the steps
    (the peak is at step ``pct_start * total_steps - 1``), then anneals to
    ``min = initial / final_div_factor`` at step ``total_steps - 1``; momentum goes from
    ``max_momentum`` down to ``base_momentum`` and back. ``three_phase=True`` is the paper's three
    phases: up, back down to ``initial`` at ``2 * pct_start * total_steps - 2``, then to ``min``.
    Each phase anneals by cosine ("cos") or linearly ("linear"); see ``one_cycle_formula``.

    Past the end, the value holds at its final one: ``lr_at(step) == lr_at(total_steps - 1)`` for every
    larger step. (torch's scheduler allows one step more, extrapolating the last phase, and raises
    after; ``cyclr.torch.OneCycleLR`` raises as torch does.)

    Args:
        max_lr: the peak learning rate; a float or one per parameter group.
        total_steps: the number of steps in the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs: with ``steps_per_epoch``, ``total_steps = epochs * steps_per_epoch``.
        steps_per_epoch: see ``epochs``.
        pct_start: the fraction of the steps spent rising (0 to 1).
        anneal_strategy: "cos" or "linear".
        cycle_momentum: whether momentum is annealed inversely to the lr.
        base_momentum: momentum at the peak lr; a float or one per group.
        max_momentum: momentum at the start and the end; a float or one per group.
        div_factor: ``initial = max_lr / div_factor`` (> 0).
        final_div_factor: ``min = initial / final_div_factor`` (> 0).
        three_phase: the paper's three-phase variant.

    Limits: ``total_steps`` (or ``epochs * steps_per_epoch``) is at most ``2**53``: the phase ends are
    float64 numbers, as in torch, and every step up to there compares exactly on every path. Steps
    beyond the end hold the final value, at any size.

    Raises:
        TypeError: a parameter has the wrong type (a bool or float count, also for ``total_steps``
            given with ``epochs`` and ``steps_per_epoch``; a string rate; ...).
        ValueError: a value breaks its rule: non-positive step counts, ``total_steps`` above ``2**53``,
            an initial lr ``max_lr / div_factor`` or a final lr ``initial / final_div_factor`` that
            overflows to inf, numbers beyond a float (``10**400``), ``total_steps`` disagreeing with
            ``epochs * steps_per_epoch``, neither given, pct_start outside [0, 1], a phase of zero steps
            (``pct_start * total_steps == 1``: torch divides by zero there), NaN/inf/negative rates,
            non-positive div factors, unknown anneal_strategy, group sequences of different lengths.

    Examples:
        >>> spec = OneCycleLR(max_lr=0.1, total_steps=100)
        >>> spec.lr_at(29), spec.lr_at(99)
        (0.1, 4e-07)
    """

    max_lr: float | Sequence[float]
    total_steps: int | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    cycle_momentum: bool = True
    base_momentum: float | Sequence[float] = 0.85
    max_momentum: float | Sequence[float] = 0.95
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def normalize(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        normalize("total_steps", self._resolve_total_steps())
        normalize("epochs", None)
        normalize("steps_per_epoch", None)
        for name in ("max_lr", "base_momentum", "max_momentum"):
            normalize(name, check_real_or_groups(name, getattr(self, name), minimum=0.0))
        normalize("pct_start", check_real("pct_start", self.pct_start, minimum=0.0, maximum=1.0))
        normalize("anneal_strategy", check_choice("anneal_strategy", self.anneal_strategy, ANNEAL_STRATEGIES))
        normalize("cycle_momentum", check_bool("cycle_momentum", self.cycle_momentum))
        normalize("three_phase", check_bool("three_phase", self.three_phase))
        normalize("div_factor", check_real("div_factor", self.div_factor, above=0.0))
        normalize("final_div_factor", check_real("final_div_factor", self.final_div_factor, above=0.0))
        self._check_derived_lrs()
        first = self.phases[0]
        if first.end_step == first.start_step:
            raise ValueError(
                f"pct_start * total_steps must not be 1 (pct_start={self.pct_start}, "
                f"total_steps={self.total_steps}): the rising phase would have zero steps"
            )
        groups = check_same_groups(
            max_lr=self.max_lr, base_momentum=self.base_momentum, max_momentum=self.max_momentum
        )
        normalize("_groups", groups)

    def _check_derived_lrs(self) -> None:
        """``initial = max_lr / div_factor`` and ``min = initial / final_div_factor`` must be floats."""
        for i, top in enumerate(self.max_lr if isinstance(self.max_lr, tuple) else (self.max_lr,)):
            name = "max_lr" if not isinstance(self.max_lr, tuple) else f"max_lr[{i}]"
            initial = top / self.div_factor
            if not initial <= sys.float_info.max:
                raise ValueError(
                    f"{name} / div_factor (the initial lr) must be finite, got {name}={top!r} / "
                    f"div_factor={self.div_factor!r} = inf; use a larger div_factor"
                )
            if not initial / self.final_div_factor <= sys.float_info.max:
                raise ValueError(
                    f"{name} / div_factor / final_div_factor (the final lr) must be finite, got "
                    f"{initial!r} / final_div_factor={self.final_div_factor!r} = inf; use a larger "
                    f"final_div_factor"
                )

    def _resolve_total_steps(self) -> int:
        if self.total_steps is not None:
            total = check_int("total_steps", self.total_steps, minimum=1)
        per_epoch = self.epochs is not None or self.steps_per_epoch is not None
        if per_epoch:
            if self.epochs is None or self.steps_per_epoch is None:
                raise ValueError(
                    f"epochs and steps_per_epoch go together, got epochs={self.epochs!r}, "
                    f"steps_per_epoch={self.steps_per_epoch!r}"
                )
            epochs = check_int("epochs", self.epochs, minimum=1)
            steps_per_epoch = check_int("steps_per_epoch", self.steps_per_epoch, minimum=1)
            if self.total_steps is not None and total != epochs * steps_per_epoch:
                raise ValueError(
                    f"total_steps={show(total)} disagrees with epochs * steps_per_epoch = "
                    f"{show(epochs)} * {show(steps_per_epoch)}; give one or the other"
                )
            total = epochs * steps_per_epoch
            if total > MAX_TOTAL_STEPS:
                raise ValueError(
                    f"epochs * steps_per_epoch (total_steps) must be <= 2**53 (the phase ends are float64), "
                    f"got {show(epochs)} * {show(steps_per_epoch)} = {show(total)}"
                )
            return total
        if self.total_steps is None:
            raise ValueError("give total_steps, or epochs and steps_per_epoch")
        return check_int(
            "total_steps", total, minimum=1, maximum=MAX_TOTAL_STEPS, why=" (the phase ends are float64)"
        )

    @property
    def phases(self) -> tuple[Phase, ...]:
        """The phases, each with its last step and its endpoints."""
        assert self.total_steps is not None
        return one_cycle_phases(self.total_steps, self.pct_start, self.three_phase)

    def _endpoint_values(self, quantity: str) -> dict[str, Any]:
        if quantity == "lr":
            top = as_group_array(self.max_lr, self.groups)  # type: ignore[arg-type]
            initial = top / self.div_factor
            return {"initial": initial, "max": top, "min": initial / self.final_div_factor}
        return {
            "base": as_group_array(self.base_momentum, self.groups),  # type: ignore[arg-type]
            "max": as_group_array(self.max_momentum, self.groups),  # type: ignore[arg-type]
        }

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum" and not self.cycle_momentum:
            return None
        assert self.total_steps is not None
        return one_cycle_formula(
            xp,
            total_steps=self.total_steps,
            phases=self.phases,
            anneal_strategy=self.anneal_strategy,
            quantity=quantity,
            values=self._endpoint_values(quantity),
        )
