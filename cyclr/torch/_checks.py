"""Checks shared by cyclr's torch schedulers: every one runs before the optimizer is touched.

The arguments are checked with torch's exception types where torch checks them (so code that catches
them keeps working), and turned into the plain Python values that state is kept in: a numpy scalar or
a one-element tensor argument becomes a Python float, int, bool or str.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from torch import Tensor
from torch.optim import Optimizer

from .._validate import check_int

_ORDER_DOCS = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


def _plain(value: Any) -> Any:
    """A numpy scalar or a one-element tensor as the Python value it holds; anything else as is.

    State (``base_lrs``, ``state_dict()``, the spec) must hold plain Python types: numpy scalars do not
    load under ``torch.load(weights_only=True)`` and are not JSON.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    return value


def _check_finite(step: int, name: str, values: Any) -> None:
    """Refuse a non-finite value before it is written: ``values`` is a float or a list, one per group."""
    for index, value in enumerate(values if isinstance(values, list) else [values]):
        if not math.isfinite(value):
            where = "" if not isinstance(values, list) else f" for param_groups[{index}]"
            raise ValueError(
                f"the schedule gave {name}={value!r}{where} at step {step}: a non-finite {name} is never "
                f"written into an optimizer (the scheduler stays at step {step - 1})"
            )


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _check_spec(spec: Any) -> None:
    """The spec contract: ``spec(step) -> (lr, momentum)``, ``spec.groups``, ``spec.has_momentum``."""
    if not callable(spec) or not hasattr(spec, "groups") or not hasattr(spec, "has_momentum"):
        raise TypeError(
            f"spec must be a cyclr schedule such as cyclr.CyclicLR(...) (callable step -> (lr, momentum), "
            f"with .groups and .has_momentum), got {spec!r} ({type(spec).__name__})"
        )
    groups = spec.groups
    if groups is not None and (isinstance(groups, bool) or not isinstance(groups, int) or groups < 1):
        raise TypeError(f"spec.groups must be None or a positive int, got {groups!r}")


def _check_groups(optimizer: Optimizer, spec: Any) -> None:
    groups, count = spec.groups, len(optimizer.param_groups)
    if groups is not None and groups != count:
        raise ValueError(
            f"spec must have the same number of groups as optimizer.param_groups: spec.groups is {groups}, "
            f"optimizer.param_groups has {count} (a spec without groups applies to every group)"
        )


def _momentum_key(optimizer: Optimizer, spec: Any) -> str | None:
    """Where momentum goes: "betas" (Adam-style beta1, torch's precedence), "momentum", or None."""
    if not spec.has_momentum:
        return None
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ValueError(
        f"optimizer must support momentum or beta1 with `cycle_momentum` option enabled: "
        f"{type(optimizer).__name__} has neither 'momentum' nor 'betas' in its defaults; "
        f"build the schedule with cycle_momentum=False"
    )


def _check_resumable(optimizer: Optimizer, last_epoch: int) -> None:
    if last_epoch == -1:
        return
    for index, group in enumerate(optimizer.param_groups):
        if "initial_lr" not in group:
            raise KeyError(
                f"param 'initial_lr' is not specified in param_groups[{index}] when resuming scheduler with "
                f"last_epoch >= 0: load the optimizer's state_dict first (it carries 'initial_lr'), or "
                f"pass last_epoch=-1 to start from step 0"
            )


def _check_values(spec: Any, step: int) -> None:
    """Call the spec once, before anything is written, and check the shapes and finiteness of its values."""
    lr, momentum = spec(step)
    groups = spec.groups
    wanted = "a float" if groups is None else f"{groups} values"
    for name, value in (("lr", lr), ("momentum", momentum)):
        if name == "momentum" and not spec.has_momentum:
            if value is not None:
                raise TypeError(f"spec({step}) gave a momentum, but spec.has_momentum is False: {value!r}")
            continue
        if value is None or (len(value) if hasattr(value, "__len__") else None) != groups:
            raise TypeError(f"spec({step}) must give {wanted} for {name}, got {value!r}")
        _check_finite(step, name, [float(v) for v in value] if groups is not None else float(value))


def _warn_if_out_of_order(scheduler: Any) -> None:
    """torch's check at the first user ``step()``: was ``optimizer.step()`` called, and not replaced?"""
    optimizer = scheduler.optimizer
    wrapped = hasattr(optimizer.step, "_wrapped_by_lr_sched") or hasattr(optimizer.step, "_with_counter")
    if not wrapped:
        warnings.warn(
            "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
            "initialization. Please, make sure to call `optimizer.step()` before "
            f"`lr_scheduler.step()`. See more details at {_ORDER_DOCS}",
            UserWarning,
            stacklevel=3,
        )
    elif not (getattr(optimizer, "_opt_called", False) or getattr(optimizer, "_step_count", 0) > 0):
        warnings.warn(
            "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
            "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
            "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
            "will result in PyTorch skipping the first value of the learning rate schedule. "
            f"See more details at {_ORDER_DOCS}",
            UserWarning,
            stacklevel=3,
        )


def _per_group(name: str, value: Any, optimizer: Optimizer) -> list[Any]:
    """torch's ``_format_param``: a list or tuple must have one value per group; a scalar is repeated."""
    count = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups: {len(value)} values, "
                f"{count} groups"
            )
        values = list(value)
    else:
        values = [value] * count
    return [_plain(v) for v in values]


def _one_or_per_group(values: list[Any]) -> Any:
    """What the core spec gets: one value when every group has the same (the fast path), else a tuple."""
    first = values[0]
    same = all(v is first or (isinstance(v, float) and type(v) is type(first) and v == first) for v in values)
    return first if same else tuple(values)


def _whole_steps(name: str, value: Any) -> Any:
    """torch takes ``float(step_size)``; cyclr counts whole steps: 2000.0 is 2000, 2000.5 is an error."""
    if isinstance(value, float) or (hasattr(value, "is_integer") and not isinstance(value, (bool, int))):
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number of steps, got {value!r}")
        return int(value)
    return _plain(value)


def _torch_count(
    name: str, value: Any, rule: str, minimum: int, *, non_number: type[Exception] = TypeError
) -> int:
    """An integer argument, refused with torch's exception types.

    torch refuses a number that is not an ``int >= minimum`` with ValueError (its ``isinstance`` check);
    something that is no number at all fails its comparison first (TypeError), or its ``isinstance``
    check first for ``epochs`` and ``steps_per_epoch`` (ValueError: ``non_number``). Unlike torch, numpy
    integers are integers, and a bool is not one.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if int(value) >= minimum:
            return int(value)
    elif not isinstance(value, numbers.Real):
        raise non_number(f"{name} must be {rule}, got {value!r} ({type(value).__name__})")
    raise ValueError(f"{name} must be {rule}, got {value!r}")


def _initial_lrs(optimizer: Optimizer, last_epoch: Any) -> list[Any]:
    """torch's ``base_lrs``: each group's ``"initial_lr"``, recorded by the first scheduler built on the
    optimizer (or loaded with its state), else its lr; resuming (``last_epoch >= 0``) requires it."""
    _check_resumable(optimizer, check_int("last_epoch", last_epoch, minimum=-1))
    return [_plain(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
