"""The scheduler state: plain data, checked before anything is adopted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._validate import check_int
from ._checks import _check_groups, _momentum_key, _one_or_per_group, _per_group, _plain


def _spec_data(spec: Any) -> dict[str, Any] | None:
    """``spec.to_dict()``, or None when the spec holds a Python callable (or has no ``to_dict``)."""
    to_dict = getattr(spec, "to_dict", None)
    if to_dict is None:
        return None
    try:
        return _plain_data(to_dict())
    except ValueError:  # a custom scale_fn: code, not data (see Scheduler.state_dict)
        return None


def _plain_data(data: Any) -> Any:
    """``to_dict()`` data with Python types only: a numpy scalar a spec kept becomes its Python value, so
    the state loads under ``torch.load(weights_only=True)``."""
    if isinstance(data, dict):
        return {key: _plain_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain_data(value) for value in data]
    return _plain(data)


def _check_state(state_dict: Any, known: set[str]) -> dict[str, Any]:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    unknown = sorted(set(state_dict) - known)
    if unknown:
        raise ValueError(f"unknown keys in the scheduler state: {unknown}; expected some of {sorted(known)}")
    if "last_epoch" not in state_dict:
        raise KeyError("the scheduler state has no 'last_epoch'")
    return dict(state_dict)  # a copy: the caller's dict is never changed


def _state_base_lr(scheduler: Any, state: dict[str, Any]) -> Any:
    """The spec's ``base_lr`` from a state's ``base_lrs`` (one per group, as torch saves them)."""
    base_lrs = list(state.get("base_lrs", scheduler.base_lrs))
    return _one_or_per_group(_per_group("base_lrs", base_lrs, scheduler.optimizer))


def _load(scheduler: Any, spec: Any, state: dict[str, Any]) -> None:
    """The end of a drop-in's ``load_state_dict``: check that ``spec`` fits the optimizer, then adopt."""
    _check_groups(scheduler.optimizer, spec)
    momentum_key = _momentum_key(scheduler.optimizer, spec)
    last_epoch = check_int("last_epoch", state["last_epoch"], minimum=-1)
    step_count = check_int("_step_count", state.get("_step_count", scheduler._step_count), minimum=0)
    scheduler._restore(spec, momentum_key, last_epoch, step_count, state)
