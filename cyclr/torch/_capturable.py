"""The capturable schedulers: ``capturable=True``, the step count and the values on the optimizer's device.

A host scheduler computes the lr in Python and writes a Python float into the optimizer; code compiled by
``torch.compile`` then sees a new constant at every step, and a CUDA graph replays the lr it captured.
A capturable scheduler keeps the step count in an int64 tensor on the device of the optimizer's lr
tensors, and ``step()`` is torch operations only::

    step += 1                      (in place, on the device)
    lr, momentum = spec(step)      (the spec's one formula, evaluated by ``cyclr._array_api.evaluate``)
    copy lr (and momentum) into every group's lr (and momentum or beta1) tensor, in place

so it is traced by ``torch.compile`` (no graph break, no guard on a Python number, so no recompile) and
captured by ``torch.cuda.graph`` (no host synchronisation, no ``.item()``). What torch's schedulers keep
as Python ints (``last_epoch``, ``_step_count``) and the lrs of ``get_last_lr()`` are properties read from
the device here: reading them synchronises, as any read of a device value does; ``step()`` never reads.

Two facts of torch 2.13 that this module works around (see docs/torch.md, "Compiled and graph-captured
steps"):

* torch's ``LRScheduler.__init__`` wraps ``optimizer.step`` in a function defined in
  ``torch/optim/lr_scheduler.py``, a file dynamo refuses to trace: a compiled ``optimizer.step()`` breaks
  the graph there. cyclr's schedulers install ``_step_wrapper`` first, the same function (it sets
  ``optimizer._opt_called``, which the step-order warning reads) defined here, and marked as torch's, so
  torch does not wrap it again; an existing torch wrapper is replaced by it.
* under ``torch.compile`` an in-place ``copy_()`` or ``fill_()`` into a 0-d float64 CPU tensor held by
  a Python object can be dropped silently (the lr stays frozen). The values are written with
  ``torch._foreach_copy_``, which is not affected (tests/adapters/test_torch_capturable.py steps a
  compiled function 1,000 times and checks every value).

The class of a capturable scheduler is a subclass made once per scheduler class (``capturable_class``):
``type(s).__name__`` and ``isinstance`` are unchanged, and pickles name the scheduler's own class.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import EPOCH_DEPRECATION_WARNING

from .._array_api import evaluate
from .._spec import Spec
from .._validate import check_int
from ._checks import _warn_if_out_of_order

# -- the optimizer.step wrapper ------------------------------------------------------------------------


class _Called:
    """``optimizer._opt_called``: true once the wrapped ``optimizer.step`` has run.

    An object, not torch's ``True``: dynamo drops an attribute assignment on an optimizer inside compiled
    code (torch 2.13: ``opt._opt_called = True`` in a fully traced step leaves no attribute), but it
    replays the mutation of this object, which the wrapper holds.
    """

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)


def _step_wrapper(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` as torch's ``LRScheduler`` does, in a function dynamo traces.

    The wrapper marks ``optimizer._opt_called`` true (the step-order warning reads it) and calls the
    optimizer's own ``step``; it carries ``_wrapped_by_lr_sched`` so torch's schedulers leave it alone. A
    wrapper of torch's (a torch scheduler built first) is replaced; a ``step`` that is no bound method of
    the optimizer (the user's own) is left to torch, which wraps it as before.
    """
    step = optimizer.step
    if getattr(step, "_cyclr_wrapper", False):
        return
    if getattr(step, "_wrapped_by_lr_sched", False):
        func = getattr(step, "__wrapped__", None)  # torch's wrapper: functools.wraps(the class function)
    elif getattr(step, "__self__", None) is optimizer:
        func = step.__func__  # type: ignore[attr-defined]
    else:
        return
    if not callable(func):
        return
    reference = weakref.ref(optimizer)  # as torch: the optimizer does not keep itself alive
    called = _Called(bool(getattr(optimizer, "_opt_called", False)))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        called.value = True
        return func(reference(), *args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    wrapper._cyclr_wrapper = True  # type: ignore[attr-defined]
    optimizer._opt_called = called  # type: ignore[attr-defined]
    optimizer.step = wrapper  # type: ignore[method-assign]


# -- the checks ------------------------------------------------------------------------------------------


def _tensor_or_refuse(value: Any, where: str, fix: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"capturable=True needs tensor values in the optimizer's groups: {where} is {value!r} "
            f"({type(value).__name__}); {fix}"
        )
    if not value.is_floating_point() or value.numel() != 1:
        raise ValueError(
            f"capturable=True needs a one-element floating-point tensor in {where}, got dtype "
            f"{value.dtype} and shape {tuple(value.shape)}"
        )
    if value.requires_grad:
        raise ValueError(f"capturable=True cannot write {where}: it requires grad")
    return value


def _targets(
    optimizer: Optimizer, momentum_key: str | None, grouped: bool = False
) -> tuple[list[Tensor], list[Tensor] | None]:
    """Every group's lr tensor, and its momentum (or beta1) tensor where the spec schedules momentum.

    Groups may share a tensor (torch's default for a tensor lr given once) unless the spec is ``grouped``.

    Raises:
        TypeError: a value is not a tensor (with the way to make it one).
        ValueError: a tensor that is not one floating-point element, requires grad, lives on another
            device than the first group's lr, or is shared by groups the spec gives different values.
    """
    groups = optimizer.param_groups
    lrs = [
        _tensor_or_refuse(
            group["lr"],
            f"param_groups[{index}]['lr']",
            "build the optimizer with a tensor lr, e.g. torch.optim.Adam(params, lr=torch.tensor(0.001)) "
            "(on the device the step runs on; torch's capturable optimizers need one too)",
        )
        for index, group in enumerate(groups)
    ]
    momenta = None
    if momentum_key == "momentum":
        momenta = [
            _tensor_or_refuse(
                group["momentum"],
                f"param_groups[{index}]['momentum']",
                "build the optimizer with momentum=torch.tensor(0.9), or the schedule with "
                "cycle_momentum=False",
            )
            for index, group in enumerate(groups)
        ]
    elif momentum_key == "betas":
        momenta = [
            _tensor_or_refuse(
                group["betas"][0],
                f"param_groups[{index}]['betas'][0]",
                "build the optimizer with betas=(torch.tensor(0.9), torch.tensor(0.999)) "
                "(torch.optim.Adam(..., capturable=True) for a compiled or captured step), or the "
                "schedule with cycle_momentum=False",
            )
            for index, group in enumerate(groups)
        ]
    device = lrs[0].device
    for name, tensors in (("lr", lrs), ("momentum", momenta or [])):
        seen: dict[int, int] = {}
        for index, tensor in enumerate(tensors):
            if tensor.device != device:
                raise ValueError(
                    f"capturable=True computes every value on one device: param_groups[{index}]'s {name} "
                    f"is on {tensor.device}, param_groups[0]'s lr on {device}"
                )
            first = seen.setdefault(id(tensor), index)
            if grouped and first != index:
                raise ValueError(
                    f"param_groups[{first}] and param_groups[{index}] share one {name} tensor, but the spec "
                    f'gives each group its own value: give each group its own tensor (an "{name}" entry '
                    f"in each group's dict)"
                )
    return lrs, momenta


def _check_spec(spec: Any) -> Spec:
    if not isinstance(spec, Spec):
        raise TypeError(
            f"capturable=True needs a cyclr spec (such as cyclr.CyclicLR(...)), whose formula runs on "
            f"tensors; got {type(spec).__name__}"
        )
    return spec


# -- the device evaluation -------------------------------------------------------------------------------


def _device_values(spec: Spec, quantity: str, groups: int) -> Callable[[Tensor], list[Tensor]] | None:
    """``step -> [value of group 0, ..., value of group G-1]``: 0-d tensors on the step's device.

    The spec's formula on torch, by ``cyclr._array_api.evaluate`` with ``check=False`` (no read of the
    step on the host): float64 where the device has it, else within 2 float32 ulps of the float64 value.
    """
    if quantity == "momentum" and not spec.has_momentum:
        return None
    grouped = spec.groups is not None

    def values(step: Tensor) -> list[Tensor]:
        value = evaluate(spec, quantity, step, check=False)
        if grouped:
            return list(value.unbind(0))
        return [value] * groups

    return values


class _Writer:
    """The values of a step and where they go: the spec's lr and momentum, as device formulas."""

    __slots__ = ("lr", "momentum", "device", "key")

    def __init__(self, spec: Spec, optimizer: Optimizer, momentum_key: str | None) -> None:
        lrs, _ = _targets(optimizer, momentum_key)
        count = len(optimizer.param_groups)
        self.device = lrs[0].device
        self.key = momentum_key
        self.lr = _device_values(spec, "lr", count)
        self.momentum = _device_values(spec, "momentum", count) if momentum_key else None


# -- the mixin -------------------------------------------------------------------------------------------


class Capturable:
    """What a capturable scheduler changes in its class: the step on the device (see the module)."""

    # ``Scheduler`` provides these (declared for the type checker).
    optimizer: Optimizer
    _spec: Any
    _momentum_key: str | None
    _capture: _Writer | None  # a slot of Scheduler's: a cache
    # The state ``make_capturable`` adds to the scheduler's ``__dict__``.
    _step_tensor: Tensor  # the step count, int64, on the device
    _count_offset: int  # _step_count - last_epoch (changed only by jumps and loads)
    _order_checked: bool  # whether the first eager step has checked the order
    _last_tensor: Tensor  # the lrs written last, float64, one per group, on the device
    _position: Any  # CosineAnnealingWarmRestarts' position off the step (None here)

    def _reset_cache(self) -> None:
        super()._reset_cache()  # type: ignore[misc]
        # The writer (the device formulas) is a cache in a slot: built for the spec bound, rebuilt when
        # unpickled or loaded, never saved.
        self._capture = _Writer(_check_spec(self._spec), self.optimizer, self._momentum_key)

    # -- the step count and the last lrs, on the device --------------------------------------------------

    @property
    def last_epoch(self) -> int:
        """The step (torch's attribute): read from the device (a synchronisation); never read by step()."""
        return int(self._step_tensor)

    @last_epoch.setter
    def last_epoch(self, value: int) -> None:
        # Assigned from outside (torch's SequentialLR: ``last_epoch -= 1``): the count of step() calls
        # stays, as the host scheduler's ``_step_count`` does.
        count = self._step_count
        self._step_tensor.fill_(value)
        self._count_offset = count - value

    @property
    def _step_count(self) -> int:
        return int(self._step_tensor) + self._count_offset

    @_step_count.setter
    def _step_count(self, value: int) -> None:
        self._count_offset = value - int(self._step_tensor)

    @property
    def _last_lr(self) -> list[Tensor]:
        """The lrs the last step wrote: one tensor per group, of the group's dtype, on its device."""
        targets = [group["lr"] for group in self.optimizer.param_groups]
        return [
            value.to(dtype=target.dtype, copy=True).reshape(target.shape)
            for value, target in zip(self._last_tensor.unbind(0), targets, strict=True)
        ]

    @_last_lr.setter
    def _last_lr(self, value: Any) -> None:
        values = [float(v) for v in value]
        self._last_tensor.copy_(torch.tensor(values, dtype=torch.float64))

    # -- stepping ----------------------------------------------------------------------------------------

    def _initial_step(self) -> None:
        # torch's construction step: step 0 (or last_epoch + 1), written; the count starts at 1.
        self._step_tensor.add_(1)
        self._count_offset = 1 - int(self._step_tensor)
        self._order_checked = False
        self._write()

    def step(self, epoch: int | None = None) -> None:
        """Advance one step on the device and write the values there: torch operations only.

        ``step(epoch)`` (deprecated, as in torch) jumps to step ``epoch``: it runs eagerly (an ``epoch``
        inside compiled code is a constant, one compile per value). The step-order warning is given by
        the first eager step; compiled code and a CUDA-graph capture skip the check.

        Raises:
            TypeError, ValueError: ``epoch`` is not a non-negative integer.
        """
        eager = not torch.compiler.is_compiling() and not _capturing()
        if eager and not self._order_checked:
            self._order_checked = True
            if self._step_count == 1:
                _warn_if_out_of_order(self)
        if epoch is not None:
            step = check_int("epoch", epoch, minimum=0)
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
            count = self._step_count
            self._step_tensor.fill_(step)
            self._count_offset = count + 1 - step
        else:
            self._step_tensor.add_(1)
        self._write()

    def _update_lr(self, epoch: int | None = None) -> None:
        # torch's SequentialLR restarts a scheduler at a milestone with epoch=0 (the count stays).
        if epoch is None:
            self._step_tensor.add_(1)
            self._count_offset -= 1
        else:
            count = self._step_count
            self._step_tensor.fill_(check_int("epoch", epoch, minimum=0))
            self._count_offset = count - int(self._step_tensor)
        self._write()

    def _write(self) -> None:
        """Evaluate the spec at the device step; copy the values into the groups' tensors."""
        capture = self._capture
        assert capture is not None
        step = self._step_tensor
        groups = self.optimizer.param_groups
        lrs = capture.lr(step)  # type: ignore[misc]
        targets = [group["lr"] for group in groups]
        sources = [v.view(t.shape) for v, t in zip(lrs, targets, strict=True)]
        if capture.momentum is not None:
            momenta = capture.momentum(step)
            key = capture.key
            tensors = [group["momentum"] if key == "momentum" else group["betas"][0] for group in groups]
            targets += tensors
            sources += [v.view(t.shape) for v, t in zip(momenta, tensors, strict=True)]
        # Not copy_()/fill_() one by one: under torch.compile those into a 0-d float64 CPU tensor can be
        # dropped; _foreach_copy_ is written back (and it is one call, not one per group).
        torch._foreach_copy_(targets, sources)
        self._last_tensor.copy_(torch.stack(lrs))

    def _set_position(self, T_cur: Any, T_i: Any) -> None:  # noqa: N803 (torch's names)
        # CosineAnnealingWarmRestarts: a T_cur or T_i that is not the step's position is kept on the host
        # (``_position``); the device step has none. The step's own position is accepted.
        super()._set_position(T_cur, T_i)  # type: ignore[misc]
        if self.__dict__.get("_position") is None:
            return
        self._position = None
        raise ValueError(
            f"a capturable {type(self).__name__} follows whole steps on the device: T_cur and T_i cannot "
            f"be assigned (got T_cur={T_cur!r}, T_i={T_i!r}); build it with capturable=False for that"
        )

    # -- state ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The host scheduler's state (the same keys, plain Python values: ``_last_lr`` as floats)."""
        state = super().state_dict()  # type: ignore[misc]
        state["_last_lr"] = [float(v) for v in self._last_lr]
        return state

    def __reduce_ex__(self, protocol: Any) -> Any:
        base = type(self).__mro__[2]  # (capturable subclass, Capturable, the scheduler's class, ...)
        return (_rebuild, (base,), self.__getstate__())  # type: ignore[attr-defined]


def _capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


_CLASSES: dict[type, type] = {}


def capturable_class(cls: type) -> type:
    """The capturable subclass of a scheduler class (made once): ``Capturable`` first in its MRO."""
    made = _CLASSES.get(cls)
    if made is None:
        made = type(cls.__name__, (Capturable, cls), {"__slots__": (), "__module__": cls.__module__})
        made.__qualname__ = cls.__qualname__
        _CLASSES[cls] = made
    return made


def _rebuild(base: type) -> Any:
    """Unpickle a capturable scheduler: an instance of ``base``'s capturable subclass (state follows)."""
    scheduler: Any = object.__new__(base)
    scheduler.__class__ = capturable_class(base)
    return scheduler


def check_capturable(optimizer: Optimizer, spec: Any, momentum_key: str | None) -> None:
    """The checks of ``capturable=True``, before anything changes: a cyclr spec, tensors to write.

    Raises:
        TypeError: ``spec`` is not a cyclr spec; a group's lr (or scheduled momentum) is not a tensor; a
            custom ``scale_fn`` that cannot run on torch tensors.
        ValueError: a tensor that cannot be written (see ``_targets``); a custom ``scale_fn`` value
            outside [0, 1] at step 0.
    """
    _check_spec(spec)
    lrs, _ = _targets(optimizer, momentum_key, spec.groups is not None)
    # One evaluation on the device, checked, before anything changes: a custom scale_fn that cannot run
    # on torch tensors fails here (TypeError), not in the middle of the construction.
    step = torch.zeros((), dtype=torch.int64, device=lrs[0].device)
    for quantity in ("lr", "momentum") if momentum_key else ("lr",):
        evaluate(spec, quantity, step, check=True)


def make_capturable(scheduler: Any, optimizer: Optimizer, last_epoch: int) -> None:
    """Turn a scheduler under construction capturable (checked by ``check_capturable``): switch its
    class, and put the step on the lrs' device (before torch's ``__init__`` sets ``last_epoch``)."""
    lrs = [group["lr"] for group in optimizer.param_groups]
    scheduler.__class__ = capturable_class(type(scheduler))
    device = lrs[0].device
    scheduler._step_tensor = torch.tensor(last_epoch, dtype=torch.int64, device=device)
    scheduler._count_offset = 0
    scheduler._order_checked = False
    scheduler._last_tensor = torch.zeros(len(lrs), dtype=torch.float64, device=device)
