"""What the JAX and Keras adapters share: their argument checks and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._ops import Ops
from ._spec import Spec
from ._spec import _holds_code as holds_code  # noqa: F401 (the adapters' name for it)
from ._validate import check_int


def check_spec(caller: str, spec: Any) -> Spec:
    if not isinstance(spec, Spec):
        raise TypeError(f"{caller} expects a cyclr spec (such as cyclr.CyclicLR(...)), got {spec!r}")
    return spec


def check_group(spec: Spec, group: Any, *, applies_to: str) -> int | None:
    """``group`` must pick one of the spec's parameter groups, and must be None when it has none.

    ``applies_to`` says why one value is needed ("optax applies one learning rate to all parameters").
    """
    groups = spec.groups
    if group is None:
        if groups is not None:
            raise ValueError(
                f"the spec has {groups} parameter groups (list-valued parameters) but {applies_to}: pass "
                f"group=i (0 <= i < {groups}) to take one group's values, one optimizer per group"
            )
        return None
    group = check_int("group", group, minimum=0)
    if groups is None:
        raise ValueError(
            f"group={group} given, but the spec has no parameter groups (its values are scalars)"
        )
    if group >= groups:
        raise ValueError(f"group must be < {groups} (the spec's number of parameter groups), got {group}")
    return group


def formula(caller: str, spec: Spec, xp: Ops, quantity: str) -> Callable[[Any], Any]:
    """``spec._formula(xp, quantity)``; a clear ValueError when the spec does not schedule it."""
    value = spec._formula(xp, quantity)
    if value is None:
        raise ValueError(
            f"{caller}: this {type(spec).__name__} does not schedule momentum (spec.has_momentum is False; "
            f"for CyclicLR, cycle_momentum=False); use a fixed momentum instead"
        )
    return value
