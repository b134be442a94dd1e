"""The inverse square-root decay of transformers' ``get_inverse_sqrt_schedule`` (big_vision's rsqrt)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._ops import PYTHON, Ops
from ._spec import Formula, _LrOnly
from ._validate import INT64_MAX, as_group_array, check_int, check_real_or_groups

_PYTHON_FLOAT_STEPS = 2**1000
"""From here on a Python int step divided by the timescale may pass the largest float: the Python path
takes logarithms of the integers instead (exact to 1e-13; NumPy and numba steps never get here)."""


def inverse_sqrt_formula(xp: Ops, *, base: Any, timescale: int) -> Formula:
    r"""``step -> base / sqrt((step + timescale) / timescale)``, as ``base / sqrt(step / timescale + 1)``.

    transformers writes it with ``shift = timescale - num_warmup_steps`` on the absolute step; counted
    from the end of the warmup (``cyclr.warmup``) the shift is the timescale. The square root is C's
    ``pow(x, 0.5)`` (``Ops`` has no sqrt; both are correctly rounded or within an ulp).
    """
    power = xp.power

    def value(step: Any) -> Any:
        return base * (1.0 / power(step / timescale + 1.0, 0.5))

    if xp is not PYTHON:
        return value

    def python_value(step: int) -> Any:
        if step < _PYTHON_FLOAT_STEPS:
            return value(step)
        return base * math.exp(-0.5 * (math.log(step + timescale) - math.log(timescale)))

    return python_value


@dataclass(frozen=True)
class InverseSqrt(_LrOnly):
    r"""An inverse square-root decay from ``base_lr``, with a timescale::

        lr(step) = base_lr / sqrt((step + timescale) / timescale)

    ``lr(0) = base_lr``, ``lr(3 * timescale) = base_lr / 2``: the rsqrt schedule of transformers'
    ``get_inverse_sqrt_schedule`` (with ``cyclr.warmup(spec, num_warmup_steps)`` in front; its default
    ``timescale`` is ``num_warmup_steps``, or 10,000 without a warmup: ``cyclr.torch.get_spec`` applies
    it). It never ends: the lr keeps falling, toward 0. No momentum.

    Args:
        base_lr: the lr at step 0, from which it falls as 1 / sqrt; a float or one per parameter group.
        timescale: the steps over which the lr falls by ``1 / sqrt(2)`` from step 0 (a positive integer).

    Limits: exact to rounding at every step; Python int steps past ``2**1000`` are computed from the
    integers' logarithms (to 1e-13 relative).

    Raises:
        TypeError: a parameter has the wrong type (a float ``timescale``, a bool, a string).
        ValueError: ``timescale < 1`` or ``>= 2**63``; NaN/inf/negative rates.

    Examples:
        >>> spec = InverseSqrt(base_lr=0.1, timescale=100)
        >>> spec.lr_at(0), spec.lr_at(300)
        (0.1, 0.05)
    """

    base_lr: float | Sequence[float]
    timescale: int = 10_000
    _groups: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        timescale = check_int(
            "timescale", self.timescale, minimum=1, maximum=INT64_MAX, why=" (int64, the steps' type)"
        )
        object.__setattr__(self, "timescale", timescale)
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        return inverse_sqrt_formula(xp, base=base, timescale=self.timescale)
