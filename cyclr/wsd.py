"""Warmup-stable-decay (WSD): warm up, hold the peak, then decay over the last steps.

The schedule of transformers' ``get_wsd_schedule``, with its warmup types and decay types (linear,
cosine, 1-sqrt), its floor ``min_lr_ratio``, and the stable phase given directly or as what remains of
``num_training_steps``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._ops import Ops
from ._spec import Formula, _LrOnly
from ._validate import (
    INT64_MAX,
    as_group_array,
    check_choice,
    check_int,
    check_real,
    check_real_or_groups,
    show,
)

SHAPES = ("linear", "cosine", "1-sqrt")
WARMUP_TYPES = DECAY_TYPES = SHAPES  # the choices of warmup_type and decay_type (the CLI shows them)


def wsd_factor_formula(
    xp: Ops,
    *,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    warmup_type: str,
    decay_type: str,
    min_lr_ratio: float,
    num_cycles: float,
) -> Formula:
    r"""``step -> factor`` of transformers' WSD lambda, phase by phase (``m = min_lr_ratio``)::

        warmup  (step < W):        p = step / W,             m + (1 - m) * rise(p)
        stable  (step < W + S):    1
        decay   (step < W + S + D): p = (step - W - S) / D,   m + (1 - m) * fall(p)
        after:                     m

    with ``rise`` = p, ``(1 - cos(pi p)) / 2`` or ``1 - sqrt(1 - p)`` and ``fall`` = ``1 - p``,
    ``(1 + cos(2 pi num_cycles p)) / 2`` or ``1 - sqrt(p)``. Every phase is evaluated on a step clipped
    into it (so each stays finite wherever ``where`` evaluates it) and the phase holding the step is
    selected.
    """
    cos, where, minimum, maximum, power = xp.cos, xp.where, xp.minimum, xp.maximum, xp.power
    W, S, D, m = warmup_steps, stable_steps, decay_steps, min_lr_ratio
    decay_start, end = W + S, W + S + D
    decay_scale = math.pi * num_cycles * 2.0  # transformers' math.pi * float(num_cycles) * 2.0
    rise_linear, rise_cosine = warmup_type == "linear", warmup_type == "cosine"
    fall_linear, fall_cosine = decay_type == "linear", decay_type == "cosine"

    def warm(step: Any) -> Any:
        p = minimum(step, W - 1) / W
        if rise_linear:
            f = p
        elif rise_cosine:
            f = 0.5 * (1.0 - cos(math.pi * p))
        else:
            f = 1.0 - power(1.0 - p, 0.5)  # 1 - p >= 1 / W: no square root of 0
        return f * (1.0 - m) + m

    def decay(step: Any) -> Any:
        k = minimum(maximum(step - decay_start, 0), D - 1)
        p = k / D
        if fall_linear:
            f = 1.0 - p
        elif fall_cosine:
            f = 0.5 * (1.0 + cos(decay_scale * p))
        else:  # sqrt(0) taken apart: the double-float sqrt of JAX/Keras goes through log
            f = where(k > 0, 1.0 - power(maximum(k, 1) / D, 0.5), 1.0)
        return f * (1.0 - m) + m

    warm_factor, decay_factor = xp.jit(warm), xp.jit(decay)
    has_warmup, has_stable, has_decay = W > 0, S > 0, D > 0

    def factor(step: Any) -> Any:
        value: Any = m
        if has_decay:
            value = where(step < end, decay_factor(step), value)
        if has_stable:
            value = where(step < decay_start, 1.0, value)
        if has_warmup:
            value = where(step < W, warm_factor(step), value)
        return value

    return factor


@dataclass(frozen=True)
class WarmupStableDecay(_LrOnly):
    r"""Warmup-stable-decay: ``num_warmup_steps`` of warmup from ``min_lr_ratio * base_lr``, a stable
    phase at ``base_lr``, ``num_decay_steps`` of decay to ``min_lr_ratio * base_lr``, then that floor::

        lr(step) = base_lr * factor(step)      (factor: see ``wsd_factor_formula``)

    transformers' ``get_wsd_schedule`` with the same arguments. The stable phase is
    ``num_stable_steps``, or ``num_training_steps - num_warmup_steps - num_decay_steps`` when only
    the total is given. No momentum.

    Args:
        base_lr: the peak lr (of the stable phase); a float or one per parameter group.
        num_warmup_steps: steps of warmup (an integer >= 0).
        num_decay_steps: steps of decay (an integer >= 0).
        num_training_steps: the total steps; None when ``num_stable_steps`` is given.
        num_stable_steps: steps at ``base_lr``; None to take what ``num_training_steps`` leaves.
        warmup_type: the warmup's shape: "linear", "cosine" or "1-sqrt".
        decay_type: the decay's shape: "linear", "cosine" or "1-sqrt".
        min_lr_ratio: the floor (start of the warmup, end of the decay) as a fraction of ``base_lr``,
            in [0, 1].
        num_cycles: waves of the cosine decay over ``num_decay_steps`` (0.5: half a cosine); > 0.

    Raises:
        TypeError: a parameter has the wrong type (a float step count, a bool, a non-string type).
        ValueError: a negative step count; neither ``num_training_steps`` nor ``num_stable_steps``;
            both, disagreeing (transformers warns and takes ``num_stable_steps``; here that is an
            error); a negative stable phase (``num_training_steps`` below warmup + decay); a total
            beyond ``2**63 - 1`` (int64); an unknown warmup or decay type; ``min_lr_ratio`` outside
            [0, 1]; ``num_cycles <= 0`` or ``> 2**31``; NaN/inf/negative rates.

    Examples:
        >>> spec = WarmupStableDecay(1.0, num_warmup_steps=2, num_decay_steps=2, num_training_steps=8,
        ...                          decay_type="linear")
        >>> spec.lr_at(list(range(9))).tolist()
        [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """

    base_lr: float | Sequence[float]
    num_warmup_steps: int
    num_decay_steps: int
    num_training_steps: int | None = None
    num_stable_steps: int | None = None
    warmup_type: str = "linear"
    decay_type: str = "cosine"
    min_lr_ratio: float = 0.0
    num_cycles: float = 0.5
    _groups: int | None = field(init=False, repr=False, compare=False)
    _stable: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base_lr = check_real_or_groups("base_lr", self.base_lr, minimum=0.0)
        object.__setattr__(self, "base_lr", base_lr)
        W = check_int("num_warmup_steps", self.num_warmup_steps, minimum=0)
        D = check_int("num_decay_steps", self.num_decay_steps, minimum=0)
        object.__setattr__(self, "num_warmup_steps", W)
        object.__setattr__(self, "num_decay_steps", D)
        N = self.num_training_steps
        S = self.num_stable_steps
        if N is None and S is None:
            raise ValueError("one of num_training_steps or num_stable_steps must be given, got neither")
        if N is not None:
            N = check_int("num_training_steps", N, minimum=0)
            object.__setattr__(self, "num_training_steps", N)
        if S is not None:
            S = check_int("num_stable_steps", S, minimum=0)
            object.__setattr__(self, "num_stable_steps", S)
        if N is not None and S is not None and W + S + D != N:
            raise ValueError(
                f"num_training_steps must be num_warmup_steps + num_stable_steps + num_decay_steps "
                f"when both are given, got num_training_steps={N} != {W} + {S} + {D}"
            )
        if S is None:
            assert N is not None
            S = N - W - D
            if S < 0:
                raise ValueError(
                    f"num_training_steps must be >= num_warmup_steps + num_decay_steps (the stable phase "
                    f"cannot be negative), got num_training_steps={N} < {W} + {D}"
                )
        if W + S + D > INT64_MAX:
            raise ValueError(
                f"num_warmup_steps + num_stable_steps + num_decay_steps must be <= 2**63 - 1 (int64, the "
                f"steps' type), got {show(W + S + D)}"
            )
        object.__setattr__(self, "_stable", S)
        object.__setattr__(self, "warmup_type", check_choice("warmup_type", self.warmup_type, WARMUP_TYPES))
        object.__setattr__(self, "decay_type", check_choice("decay_type", self.decay_type, DECAY_TYPES))
        ratio = check_real("min_lr_ratio", self.min_lr_ratio, minimum=0.0, maximum=1.0)
        object.__setattr__(self, "min_lr_ratio", ratio)
        object.__setattr__(
            self, "num_cycles", check_real("num_cycles", self.num_cycles, above=0.0, maximum=2**31)
        )
        object.__setattr__(self, "_groups", len(base_lr) if isinstance(base_lr, tuple) else None)

    @property
    def stable_steps(self) -> int:
        """The stable phase's length (``num_stable_steps``, or what ``num_training_steps`` leaves).

        Examples:
            >>> spec = WarmupStableDecay(0.1, num_warmup_steps=10, num_decay_steps=20, num_training_steps=100)
            >>> spec.stable_steps
            70
        """
        return self._stable

    def _lr_formula(self, xp: Ops) -> Formula:
        base = as_group_array(self.base_lr, self.groups)  # type: ignore[arg-type]
        factor = xp.jit(
            wsd_factor_formula(
                xp,
                warmup_steps=self.num_warmup_steps,
                stable_steps=self._stable,
                decay_steps=self.num_decay_steps,
                warmup_type=self.warmup_type,
                decay_type=self.decay_type,
                min_lr_ratio=self.min_lr_ratio,
                num_cycles=self.num_cycles,
            )
        )

        def value(step: Any) -> Any:
            return base * factor(step)

        return value
