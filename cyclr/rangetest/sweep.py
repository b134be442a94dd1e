r"""The sweep of a range test as a cyclr spec: ``start_lr -> end_lr`` in ``num_steps`` steps.

Being a spec, the sweep has the whole contract of every cyclr schedule (``lr_at`` on ints and arrays,
``precompute`` on both backends, ``cyclr.numba.compile``, ``to_dict``), so the same sweep runs through
every adapter.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from .._ops import Ops
from .._spec import Formula, Spec
from .._validate import check_choice, check_int
from ._checks import brief, real

__all__ = ["MAX_STEPS", "MODES", "SMALLEST_START", "LRRangeTest", "range_test_formula"]

MODES = ("exp", "linear")
SMALLEST_START = sys.float_info.min
"""The smallest ``start_lr``: the smallest normal float, 2.2250738585072014e-308. Below it a float
has fewer than 53 significant bits, and ``start_lr * ratio ** t`` is rounded to a few of them."""
MAX_STEPS = 2**53 + 1
"""The longest sweep: ``num_steps - 1 <= 2**53``, so that ``k / (num_steps - 1)`` divides exact floats
(and the scalar, numpy and numba paths agree bit for bit)."""


def range_test_formula(xp: Ops, *, start_lr: float, end_lr: float, num_steps: int, mode: str) -> Formula:
    r"""The sweep, ``step -> lr``, for the namespace ``xp``.

    With ``last = num_steps - 1`` and ``t = min(step, last) / last``::

        lr = start_lr * (end_lr / start_lr) ** t        "exp"    (evenly spaced in log(lr))
           = start_lr + (end_lr - start_lr) * t         "linear"

    capped at ``end_lr``, and exactly ``end_lr`` from ``step = last`` on: the sweep holds its end value.
    ``t = 0`` gives ``start_lr`` exactly (``x ** 0.0 == 1.0``, ``x + 0.0 == x``).
    """
    last = num_steps - 1
    minimum, where, power = xp.minimum, xp.where, xp.power
    ratio, delta = end_lr / start_lr, end_lr - start_lr
    exponential = mode == "exp"  # decided once, not per step

    def value(step: Any) -> Any:
        t = minimum(step, last) / last
        if exponential:
            swept = start_lr * power(ratio, t)
        else:
            swept = start_lr + delta * t
        return where(step >= last, end_lr, minimum(swept, end_lr))

    return value


@dataclass(frozen=True)
class LRRangeTest(Spec):
    r"""The learning-rate sweep of a range test: ``start_lr`` to ``end_lr`` in ``num_steps`` steps.

    Step ``k`` of the sweep, with ``last = num_steps - 1``::

        "exp":     lr(k) = start_lr * (end_lr / start_lr) ** (k / last)      (fastai, torch-lr-finder)
        "linear":  lr(k) = start_lr + (end_lr - start_lr) * k / last         (the paper's)

    ``lr(0) == start_lr`` and ``lr(last) == end_lr`` exactly. Past the sweep the lr holds at ``end_lr``
    (``lr(k) == end_lr`` for every ``k >= last``); torch-lr-finder's schedulers keep extrapolating
    instead, which overflows to inf for long runs. Momentum is not scheduled (``momentum_at`` is None).
    The same value for every parameter group.

    Args:
        start_lr: the first learning rate, a normal float (>= ``SMALLEST_START``, 2.2e-308).
        end_lr: the last learning rate (> start_lr, finite); in "exp" mode ``end_lr / start_lr``
            must be a finite float too (it is the sweep's ratio).
        num_steps: steps in the sweep, both ends included (an integer, 2 <= num_steps <= 2**53 + 1).
        mode: "exp" (evenly spaced in log(lr), the usual choice) or "linear".

    Every sweep built keeps its laws at every step: ``lr(0) == start_lr``, ``lr(k) == end_lr`` for
    ``k >= num_steps - 1``, non-decreasing in ``k``, finite and within ``[start_lr, end_lr]``.

    Raises:
        TypeError: a parameter has the wrong type (a float num_steps, a string or Decimal lr, ...).
        ValueError: an lr is NaN, inf, <= 0 or too large for a float (``10**400``); ``start_lr``
            subnormal; ``end_lr <= start_lr``; ``end_lr / start_lr`` overflows in "exp" mode;
            ``num_steps`` outside [2, 2**53 + 1]; unknown mode.

    Examples:
        >>> sweep = LRRangeTest(start_lr=1e-4, end_lr=1.0, num_steps=5)
        >>> sweep.lr_at([0, 1, 2, 3, 4, 10])
        array([1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00, 1.e+00])
    """

    start_lr: float = 1e-7
    end_lr: float = 10.0
    num_steps: int = 100
    mode: str = "exp"

    def __post_init__(self) -> None:
        def normalize(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        normalize("start_lr", real("start_lr", self.start_lr, above=0.0))
        if self.start_lr < SMALLEST_START:
            raise ValueError(
                f"start_lr must be a normal float, >= {SMALLEST_START!r}, got {self.start_lr!r}: a "
                f"subnormal lr has too few digits for a sweep to start from"
            )
        normalize("end_lr", real("end_lr", self.end_lr, above=0.0))
        if not self.end_lr > self.start_lr:
            raise ValueError(
                f"end_lr must be > start_lr: the sweep goes up, got start_lr={self.start_lr!r}, "
                f"end_lr={self.end_lr!r}"
            )
        normalize("num_steps", check_int("num_steps", self.num_steps, minimum=2))
        if self.num_steps > MAX_STEPS:
            raise ValueError(
                f"num_steps must be <= 2**53 + 1, so that each step's fraction k / (num_steps - 1) is "
                f"computed from exact floats on every path, got {brief(self.num_steps)}"
            )
        check_choice("mode", self.mode, MODES)
        if self.mode == "exp" and not math.isfinite(self.end_lr / self.start_lr):
            raise ValueError(
                f"end_lr / start_lr must be a finite float for mode 'exp' (the sweep's ratio), got "
                f"end_lr={self.end_lr!r}, start_lr={self.start_lr!r}: it overflows; raise start_lr or "
                f"lower end_lr"
            )

    @property
    def groups(self) -> int | None:
        return None

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum":
            return None
        return range_test_formula(
            xp, start_lr=self.start_lr, end_lr=self.end_lr, num_steps=self.num_steps, mode=self.mode
        )
