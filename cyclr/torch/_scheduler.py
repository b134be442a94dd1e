"""The generic torch scheduler: any cyclr spec applied to an optimizer's parameter groups."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch  # noqa: F401 (the docstring examples use it)
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import EPOCH_DEPRECATION_WARNING, LRScheduler

from .._spec import from_dict
from .._validate import check_int
from ._capturable import _step_wrapper, check_capturable, make_capturable
from ._checks import (
    _check_finite,
    _check_groups,
    _check_optimizer,
    _check_resumable,
    _check_spec,
    _check_values,
    _momentum_key,
    _plain,
    _warn_if_out_of_order,
)
from ._state import _check_state, _spec_data

_BLOCK_VALUES = 2048  # values per quantity in one precomputed block (steps x groups)
_BLOCK_STEPS_BELOW = 2**62  # precompute counts steps in int64; beyond, spec(step) takes Python ints


class Scheduler(LRScheduler):
    r"""A torch learning-rate scheduler that applies any cyclr spec to an optimizer's parameter groups.

    After construction the scheduler is at step 0; each ``step()`` adds one. At step ``k``::

        group["lr"]                             = lr         where (lr, momentum) = spec(k)
        group["momentum"]  (or group["betas"][0]) = momentum   when the spec schedules momentum

    With a spec built from per-group lists (``spec.groups == G``) group ``g`` gets entry ``g``; a spec
    without groups gives every group the same value. Adam-style optimizers (``"betas"`` in their defaults)
    get the momentum as beta1, as in torch's CyclicLR. A float in the group is replaced; a tensor
    (``lr=torch.tensor(0.01)``, or tensor betas) is filled in place, so a compiled ``optimizer.step``
    sees the same tensor and does not recompile.

    It behaves as a torch scheduler: ``last_epoch`` is the step, ``get_last_lr()`` the lrs it last set,
    ``step(epoch)`` jumps (with torch's deprecation warning), ``last_epoch=N`` resumes (at step ``N + 1``,
    torch's convention; groups must carry ``"initial_lr"``, as loaded from the optimizer's state_dict).
    Its state is the step and the spec: see ``state_dict``.

    Args:
        optimizer: a ``torch.optim.Optimizer``.
        spec: a cyclr schedule (``cyclr.CyclicLR(...)`` or any object with the spec contract: callable
            ``step -> (lr, momentum)``, ``.groups``, ``.has_momentum``, and ``.to_dict()`` to be saved).
        last_epoch: -1 to start at step 0; ``N >= 0`` to resume, landing on step ``N + 1``.
        capturable: False (the default) computes on the host. True keeps the step count in an int64
            tensor on the device of the groups' lr tensors, and ``step()`` is torch operations on that
            device, copying lr and momentum into the groups' tensors in place: no host synchronisation,
            so it runs inside ``torch.compile(fullgraph=True)`` and a CUDA-graph capture. Reading
            ``last_epoch``, ``_step_count`` or ``get_last_lr()`` synchronises. See docs/torch.md,
            "Compiled and graph-captured steps", and ``cyclr/torch/_capturable.py``.

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; ``spec`` lacks the spec contract; ``last_epoch`` is
            not an integer; ``capturable`` is not a bool; with ``capturable=True``: ``spec`` is not a
            cyclr spec, or a group's lr (or the momentum or beta1 the spec schedules) is a Python float,
            not a tensor (the message says how to build the optimizer).
        ValueError: ``spec.groups`` differs from ``len(optimizer.param_groups)``; the spec schedules
            momentum but the optimizer has neither ``"momentum"`` nor ``"betas"``; ``last_epoch < -1``;
            with ``capturable=True``: a tensor to write is not one floating-point element, requires
            grad, or is on another device than the first group's lr.
        KeyError: ``last_epoch >= 0`` and a group has no ``"initial_lr"`` (as torch).

    Nothing is written to the optimizer unless every check passes.

    Examples:
        >>> import torch, cyclr, cyclr.torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> scheduler = cyclr.torch.Scheduler(opt, cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4))
        >>> opt.step(); scheduler.step(); scheduler.get_last_lr(), opt.param_groups[0]["momentum"]
        ([0.0325], 0.875)
    """

    # The precomputed block is a cache: it lives in slots, outside ``__dict__``, so it is never saved,
    # pickled or compared (torch's tests compare the ``__dict__`` of a stepped and a loaded scheduler).
    # The tensor path's plan (the group tensors it writes, one call for all) and its float64 block, and
    # the lrs of the last step, made into tensors only when read (``_last_lr``), are caches too.
    __slots__ = (
        "_block",
        "_block_arrays",
        "_block_size",
        "_block_start",
        "_block_stop",
        "_capture",
        "_constructing",
        "_pending",
        "_plan",
        "_tblock",
    )

    # torch's schedulers write step 0 at construction; a chainable one keeps the group's lr instead.
    _WRITES_STEP_0 = True

    def __init__(
        self, optimizer: Optimizer, spec: Any, last_epoch: int = -1, *, capturable: bool = False
    ) -> None:
        _check_optimizer(optimizer)
        _check_spec(spec)
        last_epoch = check_int("last_epoch", last_epoch, minimum=-1)
        if not isinstance(capturable, bool):
            raise TypeError(f"capturable must be True or False, got {capturable!r}")
        _check_groups(optimizer, spec)
        momentum_key = _momentum_key(optimizer, spec)
        _check_resumable(optimizer, last_epoch)
        _check_values(spec, last_epoch + 1)
        if capturable:
            check_capturable(optimizer, spec, momentum_key)
        # Every check passed: from here on the optimizer is changed.
        self.optimizer = optimizer
        if capturable:
            make_capturable(self, optimizer, last_epoch)
        _step_wrapper(optimizer)  # before torch's: a wrapper dynamo traces (see _capturable.py)
        self._bind(spec, momentum_key)
        if last_epoch == -1 and self._WRITES_STEP_0:
            self._apply(0)  # as torch: "initial_lr" records the lr of step 0
        # torch's machinery: "initial_lr", the optimizer.step() wrapper behind the order warning, step 0.
        super().__init__(optimizer, last_epoch)
        self.base_lrs: list[float | Tensor] = self._values("lr", 0)

    def _bind(self, spec: Any, momentum_key: str | None) -> None:
        self._spec = spec
        self._groups: int | None = spec.groups
        self._momentum_key = momentum_key
        self._reset_cache()

    def _reset_cache(self) -> None:
        if getattr(self, "_pending", None) is not None:
            self._materialize()
        self._pending: tuple[Any, list[Tensor], bool] | None = None
        self._plan: _Plan | None = None
        self._tblock: np.ndarray | None = None
        self._block_arrays: tuple[Any, Any] | None = None
        self._constructing = False  # True during the step that torch's __init__ takes
        spec = self._spec
        # A spec that is pure data (immutable) is read from blocks of precomputed steps, converted to
        # Python floats once per block: per step that saves the formula's Python (~0.7 us) and, for a
        # per-group spec, numpy on arrays of a few groups (~2 us a call). The values are the same, bit for
        # bit: precompute == spec(step) is part of the spec contract. A spec holding code (a custom
        # scale_fn, which may keep state) is called at every step, as torch calls it.
        self._block_size = 0
        if hasattr(spec, "precompute") and _spec_data(spec) is not None:
            self._block_size = max(16, _BLOCK_VALUES // (self._groups or 1))
        self._block_start = 0
        self._block_stop = 0  # the block serves steps _block_start + [0, _block_stop)
        self._block: tuple[list[Any], list[Any] | None] | None = None

    def _initial_step(self) -> None:
        self._constructing = True
        try:
            super()._initial_step()
        finally:
            self._constructing = False

    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle or deep-copy: ``__dict__`` (the cache in slots is rebuilt on use)."""
        if self._pending is not None:
            self._materialize()
        return dict(self.__dict__)

    # ``get_last_lr()`` holds copies of tensor lrs. Cloning a tensor costs about as much as filling it, so
    # the tensor path leaves the step's lrs (Python floats) in ``_pending`` and makes the tensors only
    # when ``_last_lr`` is read: ``torch.tensor(lr, dtype, device)`` rounds the float once, as ``fill_``
    # did, so the copies equal the tensors as written, bit for bit, whatever happens to those since.
    @property
    def _last_lr(self) -> list[float | Tensor]:
        if self._pending is not None:
            self._materialize()
        try:
            return self.__dict__["_last_lr"]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError("_last_lr") from None

    @_last_lr.setter
    def _last_lr(self, value: Any) -> None:
        if type(value) is tuple:  # the tensor path's (lrs, tensors, per_group): made on read
            self._pending = value
            return
        self._pending = None
        self.__dict__["_last_lr"] = value

    def _materialize(self) -> None:
        lrs, tensors, per_group = self._pending  # type: ignore[misc]
        self._pending = None
        values = lrs if per_group else [lrs] * len(tensors)
        self.__dict__["_last_lr"] = [
            torch.tensor(v, dtype=t.dtype, device=t.device) for v, t in zip(values, tensors, strict=True)
        ]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_cache()

    @property
    def total_steps(self) -> int:
        """The one-cycle spec's ``total_steps`` (as torch's OneCycleLR has it, so Accelerate's guard
        for one-cycle schedulers applies); other specs have no end, and no such attribute.

        Raises:
            AttributeError: the spec has no ``total_steps`` (``hasattr`` is False).
        """
        total = getattr(self._spec, "total_steps", None)
        if total is None:
            raise AttributeError(
                f"{type(self).__name__!r} over a {type(self._spec).__name__} has no total_steps"
            )
        return int(total)

    @property
    def spec(self) -> Any:
        """The cyclr spec this scheduler applies (immutable; ``load_state_dict`` may replace it)."""
        return self._spec

    # -- stepping -------------------------------------------------------------------------------------

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or, deprecated as in torch, jump to step ``epoch``) and set the values.

        Call it after ``optimizer.step()``. The first call after construction checks the order, as torch
        does, and warns when ``optimizer.step()`` was not called first.

        Raises:
            TypeError, ValueError: ``epoch`` is not a non-negative integer.
        """
        count = self._step_count
        if epoch is None and count > 1:  # the hot path
            step = self.last_epoch + 1
            written = self._apply(step)  # first: if it raises, the scheduler has not moved
            if type(written) is tuple:  # the tensor path's pending _last_lr (see _last_lr)
                self._pending = written
            else:
                self._pending = None
                self.__dict__["_last_lr"] = written
            self.last_epoch = step
            self._step_count = count + 1
            return
        step = self.last_epoch + 1 if epoch is None else check_int("epoch", epoch, minimum=0)
        if count == 1:
            _warn_if_out_of_order(self)
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._last_lr = self._apply(step) if epoch is None else self._jump(step)
        self.last_epoch = step
        self._step_count = count + 1

    def _update_lr(self, epoch: int | None = None) -> None:
        # torch's SequentialLR calls this to restart a scheduler at a milestone (epoch=0).
        step = self.last_epoch + 1 if epoch is None else check_int("epoch", epoch, minimum=0)
        self._last_lr = self._apply(step) if epoch is None else self._jump(step)
        self.last_epoch = step

    def _jump(self, step: int) -> list[float | Tensor]:
        """``step(epoch)``: the values of step ``epoch`` (torch's closed form, ``_get_closed_form_lr``)."""
        return self._apply(step)

    def _apply(self, step: int) -> list[float | Tensor]:
        """Write ``spec(step)`` into the parameter groups; return the lrs as ``get_last_lr`` holds them.

        A float is replaced, a tensor filled in place (torch's ``_update_param_group_val``). This runs at
        every step, so the common case (float values, a spec without groups) is its straight line.
        """
        groups = self.optimizer.param_groups
        lr: Any
        momentum: Any
        block, offset = self._block, step - self._block_start
        if 0 <= offset < self._block_stop:  # inline: the common case (a block is there when it serves)
            lr = block[0][offset]  # type: ignore[index]
            if self._momentum_key is None:
                # no momentum and float lrs (transformers' schedules on AdamW): what the general loop
                # below does, without its branches; a tensor lr met half-way, or groups that do not match
                # the spec's, leave it to the general loop (which writes every group, the same values)
                if self._groups is None:
                    for group in groups:
                        if type(group["lr"]) is not float:
                            break
                        group["lr"] = lr
                    else:
                        return [lr] * len(groups)
                elif len(groups) == self._groups:
                    for group, value in zip(groups, lr):  # noqa: B905  # lengths checked above
                        if type(group["lr"]) is not float:
                            break
                        group["lr"] = value
                    else:
                        return list(lr)
            momentum = None if block[1] is None else block[1][offset]  # type: ignore[index]
            plan = self._plan
            if plan is not None:
                one = plan.one
                if one is not None and len(groups) == 1 and (group := groups[0])["lr"] is one:
                    # one group, one tensor (its lr); a momentum, if any, is a float: the common case
                    per_group = self._groups is not None
                    if plan.mode:
                        current = group["momentum"]
                        if type(current) is float or not isinstance(current, Tensor):
                            group["momentum"] = momentum[0] if per_group else momentum
                            one.fill_(lr[0] if per_group else lr)
                            return (lr, plan.lrs, per_group)  # type: ignore[return-value]
                    else:
                        one.fill_(lr[0] if per_group else lr)
                        return (lr, plan.lrs, per_group)  # type: ignore[return-value]
                    self._plan = None  # a tensor momentum now: planned again at the next step
                elif (
                    plan.groups is groups
                    and len(groups) == plan.count
                    and all(map(operator.is_, map(_LR, groups), plan.lrs))
                ):
                    written = self._apply_tensors(plan, offset, lr, momentum)
                    if written is not None:
                        return written
                elif plan is not _NO_PLAN:
                    self._plan = None  # the groups changed: planned again at the next step
            elif groups and type(first := groups[0]["lr"]) is not float and isinstance(first, Tensor):
                plan = self._plan = _plan(groups, self._momentum_key, self._groups)
                if plan is not _NO_PLAN:
                    return self._apply(step)
        else:
            lr, momentum = self._values_at(step)
        per_group = self._groups is not None
        if per_group and len(groups) != self._groups:
            raise ValueError(
                f"optimizer.param_groups has {len(groups)} groups, but the spec has {self._groups}: "
                f"was a group added after the scheduler was built?"
            )
        key = self._momentum_key
        tensors = False
        for index, group in enumerate(groups):
            value = lr[index] if per_group else lr
            current = group["lr"]
            if type(current) is not float and isinstance(current, Tensor):
                current.fill_(value)
                tensors = True
            else:
                group["lr"] = value
            if key is None:
                continue
            value = momentum[index] if per_group else momentum
            if key == "momentum":
                current = group["momentum"]
                if type(current) is not float and isinstance(current, Tensor):
                    current.fill_(value)
                else:
                    group["momentum"] = value
            else:
                betas = group["betas"]
                if type(betas[0]) is not float and isinstance(betas[0], Tensor):
                    betas[0].fill_(value)
                else:
                    group["betas"] = (value, *betas[1:])
        if tensors:  # get_last_lr holds copies of tensor lrs, never the group's own tensors
            current_lrs = [group["lr"] for group in groups]
            return [v.clone() if isinstance(v, Tensor) else v for v in current_lrs]
        return list(lr) if per_group else [lr] * len(groups)  # a copy: a block's row stays intact

    def _apply_tensors(self, plan: _Plan, offset: int, lr: Any, momentum: Any) -> Any:
        """The tensor path: write block row ``offset`` into the plan's tensors in one call (the group
        tensors stay the same objects, filled in place), and non-tensor momenta as ``_apply`` does.

        Returns the pending ``_last_lr`` (see ``_last_lr``), or None when the groups no longer fit the
        plan (``_apply`` then writes every value, the same ones, on its general path).
        """
        per_group = self._groups is not None
        mode = plan.mode
        if mode:  # momenta that are not tensors are replaced, as floats
            groups = plan.groups
            if mode == 1:  # "momentum"
                for index, group in enumerate(groups):
                    current = group["momentum"]
                    if type(current) is not float and isinstance(current, Tensor):
                        self._plan = None
                        return None
                    group["momentum"] = momentum[index] if per_group else momentum
            else:  # "betas"
                for index, group in enumerate(groups):
                    betas = group["betas"]
                    current = betas[0]
                    if type(current) is not float and isinstance(current, Tensor):
                        self._plan = None
                        return None
                    group["betas"] = (momentum[index] if per_group else momentum, *betas[1:])
        elif plan.momenta is not None and not all(
            map(operator.is_, [_beta1(group, self._momentum_key) for group in plan.groups], plan.momenta)
        ):
            self._plan = None
            return None
        if plan.single:
            plan.targets[0].fill_(lr[0] if per_group else lr)
        else:
            tblock = self._tblock
            if tblock is None:
                tblock = self._tblock = plan.block(self._block_arrays)
            plan.stage[:] = tblock[offset]  # numpy into the staging row the sources view (a copy, exact)
            torch._foreach_copy_(plan.targets, plan.sources)
        return (lr, plan.lrs, per_group)

    def _values_at(self, step: int) -> tuple[Any, Any]:
        """``spec(step)`` as Python floats (a list of them per quantity for a per-group spec), finite.

        Raises:
            ValueError: the spec gives a non-finite lr or momentum at ``step`` (nothing is written).
        """
        size = self._block_size
        if size and step < _BLOCK_STEPS_BELOW:
            offset = step - self._block_start
            if self._block is None or not 0 <= offset < self._block_stop:
                self._fill_block(step, size)
                offset = 0
            if offset < self._block_stop:
                lrs, momenta = self._block  # type: ignore[misc]
                return lrs[offset], (None if momenta is None else momenta[offset])
        lr, momentum = self._spec(step)
        if self._groups is None:
            lr, momentum = float(lr), (None if momentum is None else float(momentum))
        else:
            lr, momentum = lr.tolist(), (None if momentum is None else momentum.tolist())
        _check_finite(step, "lr", lr)
        if momentum is not None:
            _check_finite(step, "momentum", momentum)
        return lr, momentum

    def _fill_block(self, step: int, size: int) -> None:
        """Precompute ``size`` steps from ``step``; the block stops before the first non-finite value,
        which ``_values_at`` then meets on its checked path (and refuses)."""
        lr, momentum = self._spec.precompute(size, start=step)
        finite = np.isfinite(lr) if momentum is None else np.isfinite(lr) & np.isfinite(momentum)
        if finite.ndim > 1:
            finite = finite.all(axis=tuple(range(1, finite.ndim)))
        stop = size if finite.all() else int(np.argmin(finite))
        self._block = (lr[:stop].tolist(), None if momentum is None else momentum[:stop].tolist())
        self._block_arrays = (lr[:stop], None if momentum is None else momentum[:stop])
        self._tblock = None  # the tensor path's float64 block, made from these on first use
        if self._plan is _NO_PLAN:
            self._plan = None  # groups that did not fit the tensor path are looked at once a block
        self._block_start, self._block_stop = step, stop

    def _write_lrs(self, step: int, lrs: list[float]) -> list[float | Tensor]:
        """Write one lr per group (the drop-ins that compute lrs themselves); return ``get_last_lr``'s.

        Raises:
            ValueError: an lr is not finite (nothing is written).
        """
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(
                f"optimizer.param_groups has {len(groups)} groups, but the scheduler has {len(lrs)} lrs: "
                f"was a group added after the scheduler was built?"
            )
        _check_finite(step, "lr", lrs)
        last: list[float | Tensor] = []
        for group, value in zip(groups, lrs, strict=True):
            current = group["lr"]
            if isinstance(current, Tensor):
                current.fill_(value)
                last.append(current.clone())
            else:
                group["lr"] = value
                last.append(value)
        return last

    def _values(self, quantity: str, step: int) -> list[Any]:
        """``spec``'s lr or momentum at ``step``, one Python float per parameter group."""
        value = self._spec(step)[0 if quantity == "lr" else 1]
        if self._groups is None:
            return [float(value)] * len(self.optimizer.param_groups)
        return [float(v) for v in value]

    def get_lr(self) -> list[float | Tensor]:
        """The learning rates of step ``last_epoch``, one float per group, from the spec (no side effects).

        Unlike torch's ``CyclicLR.get_lr`` it writes nothing and does not warn; ``get_last_lr()`` gives
        what was written (tensors for tensor lrs).
        """
        return self._values("lr", self.last_epoch)  # type: ignore[return-value]

    def _get_closed_form_lr(self) -> list[float | Tensor]:
        return self.get_lr()

    # -- state ----------------------------------------------------------------------------------------

    _STATE_KEYS = frozenset({"last_epoch", "_step_count", "_last_lr", "base_lrs", "spec"})

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: the step (``last_epoch``, ``_step_count``), ``_last_lr``, ``base_lrs``,
        and ``"spec"``, the spec as ``spec.to_dict()`` data.

        A spec holding a Python callable (a custom ``scale_fn``) cannot be written as data; its
        ``"spec"`` is None, and ``load_state_dict`` then keeps the spec the scheduler was built with:
        build it with the same spec before loading. Save the optimizer's state_dict alongside: it holds
        the current lr, momentum and ``"initial_lr"``.

        Examples:
            >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
            >>> from cyclr import CyclicLR
            >>> state = Scheduler(opt, CyclicLR(step_size_up=3, cycle_momentum=False)).state_dict()
            >>> state["last_epoch"], state["spec"]["schedule"]
            (0, 'CyclicLR')
        """
        return {
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
            "base_lrs": [_plain(v) for v in self.base_lrs],
            "spec": _spec_data(self._spec),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a ``state_dict()``: the step, and the spec when the state holds one (as torch's
        schedulers restore their parameters). The optimizer is not touched (load its own state_dict);
        the next ``step()`` continues exactly where the saved scheduler would have; ``state_dict`` is not
        modified.

        Raises:
            TypeError, ValueError: a malformed state (unknown keys, a bad ``last_epoch``, spec data that
                ``cyclr.from_dict`` rejects), or a saved spec that does not fit this optimizer (groups,
                momentum); nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._STATE_KEYS))
        last_epoch = check_int("last_epoch", state["last_epoch"], minimum=-1)
        step_count = check_int("_step_count", state.get("_step_count", self._step_count), minimum=0)
        data = state.get("spec")
        spec = self._spec if data is None else from_dict(data)
        _check_groups(self.optimizer, spec)
        momentum_key = _momentum_key(self.optimizer, spec)
        self._restore(spec, momentum_key, last_epoch, step_count, state)

    def _restore(
        self, spec: Any, momentum_key: str | None, last_epoch: int, step_count: int, state: dict[str, Any]
    ) -> None:
        """Adopt a validated state (the last step of ``load_state_dict``: nothing here can fail)."""
        self._bind(spec, momentum_key)
        self.last_epoch = last_epoch
        self._step_count = step_count
        if "_last_lr" in state:
            self._last_lr = [v if isinstance(v, Tensor) else _plain(v) for v in state["_last_lr"]]
        if "base_lrs" in state:
            self.base_lrs = [_plain(v) for v in state["base_lrs"]]


_LR = operator.itemgetter("lr")
_TENSOR_DTYPES = (torch.float32, torch.float64)


def _beta1(group: dict[str, Any], key: str | None) -> Any:
    return group["momentum"] if key == "momentum" else group["betas"][0]


def _fits(value: Any) -> bool:
    """A tensor the tensor path writes: float32/float64 on the CPU, outside autograd. ``copy_`` from a
    float64 value rounds it once to the tensor's dtype, as ``fill_`` does; other tensors are filled."""
    return (
        isinstance(value, Tensor)
        and value.dtype in _TENSOR_DTYPES
        and value.device.type == "cpu"
        and not value.requires_grad
    )


class _Plan:
    """The tensor path's plan: which group tensors it writes (``targets``: every group's lr, then every
    group's momentum or beta1 when those are tensors), and a float64 staging row whose elements
    (``sources``) ``torch._foreach_copy_`` copies into them in one call."""

    __slots__ = (
        "groups",
        "one",
        "count",
        "lrs",
        "momenta",
        "mode",
        "targets",
        "stage",
        "sources",
        "single",
        "columns",
    )

    def __init__(
        self,
        groups: list[dict[str, Any]],
        lrs: list[Tensor],
        momenta: list[Tensor] | None,
        per_group: bool,
        key: str | None = None,
    ) -> None:
        self.groups = groups
        self.count = len(lrs)
        self.lrs = lrs
        self.momenta = momenta
        # 0: no momentum or tensor momenta (targets); 1: float "momentum" replaced; 2: float beta1 replaced
        self.mode = 0 if key is None or momenta is not None else (1 if key == "momentum" else 2)
        self.targets = lrs + (momenta or [])
        self.single = len(self.targets) == 1
        # the one-group fast path of ``_apply``: the group's lr tensor, a momentum absent or "momentum"
        self.one = lrs[0] if self.single and self.mode in (0, 1) else None
        staging = torch.empty(len(self.targets), dtype=torch.float64)
        self.stage = staging.numpy()  # the same memory: numpy writes a row into it faster than torch
        self.sources = list(staging.unbind(0))
        count = len(lrs)
        # (quantity, group) of each target: quantity 0 is lr, 1 momentum; group None for a spec without
        # groups (one column for every group).
        self.columns = [
            (q, g if per_group else None) for q in range(1 + (momenta is not None)) for g in range(count)
        ]

    def block(self, arrays: Any) -> np.ndarray:
        """The float64 block, one column per target, from the block's numpy arrays (exact: float64)."""
        columns = [arrays[q] if g is None else arrays[q][:, g] for q, g in self.columns]
        return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float64)


_NO_PLAN = _Plan([], [], None, False)  # groups that do not fit: ``_apply`` fills tensors one by one
_NO_PLAN.groups = None  # type: ignore[assignment]


def _plan(groups: list[dict[str, Any]], key: str | None, spec_groups: int | None) -> _Plan:
    """The plan when every group's lr (and momentum or beta1, where those are tensors) is a distinct
    tensor the tensor path writes; ``_NO_PLAN`` otherwise."""
    lrs = [group["lr"] for group in groups]
    if not all(map(_fits, lrs)):
        return _NO_PLAN
    momenta = None
    if key is not None:
        values = [_beta1(group, key) for group in groups]
        if all(map(_fits, values)):
            momenta = values
        elif any(isinstance(value, Tensor) for value in values):
            return _NO_PLAN
    targets = lrs + (momenta or [])
    if len({id(t) for t in targets}) != len(targets):  # a tensor shared by two groups: filled in turn
        return _NO_PLAN
    return _Plan(groups, lrs, momenta, spec_groups is not None, key)
