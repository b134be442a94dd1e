"""The PyTorch adapter: a torch ``LRScheduler`` that sets an optimizer's lr and momentum from a cyclr spec.

Schedulers that subclass ``torch.optim.lr_scheduler.LRScheduler`` (so Lightning, Accelerate and the
transformers Trainer accept them):

* ``Scheduler(optimizer, spec)`` drives any cyclr spec: after ``k`` calls of ``step()`` every parameter
  group holds ``spec(k)``: its lr, and its momentum (SGD's ``momentum``, or Adam's ``betas[0]``).
* Drop-ins for torch's schedulers of the same names, with torch's signatures, attributes and state_dict
  keys, each built as ``Scheduler`` over the cyclr spec of the same name: ``CyclicLR``, ``OneCycleLR``,
  ``CosineAnnealingWarmRestarts`` and ``CosineAnnealingLR``.

The scheduler holds one number, the step (``last_epoch``); it computes nothing itself. Values are
written the way torch writes them: a float replaces a float, a tensor (``lr=torch.tensor(0.01)``, the
way to keep a compiled ``optimizer.step`` from recompiling) is filled in place.
"""

from __future__ import annotations

import numbers
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:
    import torch  # noqa: F401 (the docstring examples use it)
    from torch import Tensor
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import EPOCH_DEPRECATION_WARNING, LRScheduler
except ImportError as error:  # torch missing, or installed but broken: say which, and how to install it
    raise ImportError(
        f"cyclr.torch needs PyTorch, which could not be imported ({error}); install it with: "
        f'pip install "cyclr[torch]"',
        name="torch",
    ) from error

from ._spec import from_dict
from ._validate import check_choice, check_int
from .cosine import CosineAnnealingLR as CosineSpec
from .cosine import CosineAnnealingWarmRestarts as WarmRestartsSpec
from .cyclic import MODES
from .cyclic import CyclicLR as CyclicSpec
from .onecycle import ANNEAL_STRATEGIES
from .onecycle import OneCycleLR as OneCycleSpec

__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "Scheduler", "find_lr"]

_BLOCK_VALUES = 2048  # values per quantity in one precomputed block (steps x groups)
_BLOCK_STEPS_BELOW = 2**62  # precompute counts steps in int64; beyond, spec(step) takes Python ints
_ORDER_DOCS = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


# -- validation: every check runs before the optimizer is touched ---------------------------------------


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
    """Call the spec once, before anything is written, and check the shapes it returns."""
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


def _spec_data(spec: Any) -> dict[str, Any] | None:
    """``spec.to_dict()``, or None when the spec holds a Python callable (or has no ``to_dict``)."""
    to_dict = getattr(spec, "to_dict", None)
    if to_dict is None:
        return None
    try:
        return to_dict()
    except ValueError:  # a custom scale_fn: code, not data (see Scheduler.state_dict)
        return None


def _check_state(state_dict: Any, known: set[str]) -> dict[str, Any]:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    unknown = sorted(set(state_dict) - known)
    if unknown:
        raise ValueError(f"unknown keys in the scheduler state: {unknown}; expected some of {sorted(known)}")
    if "last_epoch" not in state_dict:
        raise KeyError("the scheduler state has no 'last_epoch'")
    return dict(state_dict)  # a copy: the caller's dict is never changed


def _warn_if_out_of_order(scheduler: Scheduler) -> None:
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


# -- the generic scheduler ------------------------------------------------------------------------------


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

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; ``spec`` lacks the spec contract; ``last_epoch`` is
            not an integer.
        ValueError: ``spec.groups`` differs from ``len(optimizer.param_groups)``; the spec schedules
            momentum but the optimizer has neither ``"momentum"`` nor ``"betas"``; ``last_epoch < -1``.
        KeyError: ``last_epoch >= 0`` and a group has no ``"initial_lr"`` (as torch).

    Nothing is written to the optimizer unless every check passes.

    Examples:
        >>> import torch, cyclr, cyclr.torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> scheduler = cyclr.torch.Scheduler(opt, cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4))
        >>> opt.step(); scheduler.step(); scheduler.get_last_lr(), opt.param_groups[0]["momentum"]
        ([0.0325], 0.875)
    """

    def __init__(self, optimizer: Optimizer, spec: Any, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        _check_spec(spec)
        last_epoch = check_int("last_epoch", last_epoch, minimum=-1)
        _check_groups(optimizer, spec)
        momentum_key = _momentum_key(optimizer, spec)
        _check_resumable(optimizer, last_epoch)
        _check_values(spec, last_epoch + 1)
        # Every check passed: from here on the optimizer is changed.
        self.optimizer = optimizer
        self._bind(spec, momentum_key)
        if last_epoch == -1:
            self._apply(0)  # as torch: "initial_lr" records the lr of step 0
        # torch's machinery: "initial_lr", the optimizer.step() wrapper behind the order warning, step 0.
        super().__init__(optimizer, last_epoch)
        self.base_lrs: list[float | Tensor] = self._values("lr", 0)

    def _bind(self, spec: Any, momentum_key: str | None) -> None:
        self._spec = spec
        self._groups: int | None = spec.groups
        self._momentum_key = momentum_key
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
            self._last_lr = self._apply(step)  # first: if it raises, the scheduler has not moved
            self.last_epoch = step
            self._step_count = count + 1
            return
        step = self.last_epoch + 1 if epoch is None else check_int("epoch", epoch, minimum=0)
        if count == 1:
            _warn_if_out_of_order(self)
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._last_lr = self._apply(step)
        self.last_epoch = step
        self._step_count = count + 1

    def _update_lr(self, epoch: int | None = None) -> None:
        # torch's SequentialLR calls this to restart a scheduler at a milestone (epoch=0).
        step = self.last_epoch + 1 if epoch is None else check_int("epoch", epoch, minimum=0)
        self._last_lr = self._apply(step)
        self.last_epoch = step

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
            momentum = None if block[1] is None else block[1][offset]  # type: ignore[index]
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

    def _values_at(self, step: int) -> tuple[Any, Any]:
        """``spec(step)`` as Python floats (a list of them per quantity for a per-group spec)."""
        size = self._block_size
        if size and step < _BLOCK_STEPS_BELOW:
            offset = step - self._block_start
            if self._block is None or not 0 <= offset < self._block_stop:
                lr, momentum = self._spec.precompute(size, start=step)
                self._block = (lr.tolist(), None if momentum is None else momentum.tolist())
                self._block_start, self._block_stop, offset = step, size, 0
            lrs, momenta = self._block
            return lrs[offset], (None if momenta is None else momenta[offset])
        lr, momentum = self._spec(step)
        if self._groups is None:
            return lr, momentum
        return lr.tolist(), (None if momentum is None else momentum.tolist())

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
            >>> state = Scheduler(opt, CyclicSpec(step_size_up=3, cycle_momentum=False)).state_dict()
            >>> state["last_epoch"], state["spec"]["schedule"]
            (0, 'CyclicLR')
        """
        return {
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
            "base_lrs": list(self.base_lrs),
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
            self._last_lr = list(state["_last_lr"])
        if "base_lrs" in state:
            self.base_lrs = list(state["base_lrs"])


# -- the drop-in for torch.optim.lr_scheduler.CyclicLR --------------------------------------------------


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
    return [v.item() if isinstance(v, Tensor) and v.numel() == 1 else v for v in values]


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
    return value


@dataclass(frozen=True)
class _CyclicArgs:
    """torch's CyclicLR arguments, formatted per group as torch keeps them."""

    base_lrs: list[Any]
    max_lrs: list[Any]
    step_size_up: Any
    step_size_down: Any
    mode: Any
    gamma: Any
    scale_fn: Callable[[int], float] | None
    scale_mode: Any
    cycle_momentum: Any
    base_momentums: list[Any] | None
    max_momentums: list[Any] | None

    def spec(self) -> CyclicSpec:
        """The core spec (it validates every value). torch ignores ``mode`` when a ``scale_fn`` is
        given and ``scale_mode`` when none is, so neither reaches the spec then."""
        momentum = {}
        if self.base_momentums is not None and self.max_momentums is not None:  # cycle_momentum was truthy
            momentum = dict(
                base_momentum=_one_or_per_group(self.base_momentums),
                max_momentum=_one_or_per_group(self.max_momentums),
            )
        custom = self.scale_fn is not None
        return CyclicSpec(
            base_lr=_one_or_per_group(self.base_lrs),
            max_lr=_one_or_per_group(self.max_lrs),
            step_size_up=self.step_size_up,
            step_size_down=self.step_size_down,
            mode=self.mode if not custom or self.mode in MODES else "triangular",
            gamma=self.gamma,
            scale_fn=self.scale_fn,
            scale_mode=self.scale_mode if custom else None,
            cycle_momentum=self.cycle_momentum,
            **momentum,
        )


def _scale_fn_state(scale_fn: Any) -> dict[str, Any] | None:
    """torch's rule: a function or lambda saves nothing; a callable object saves its ``__dict__``."""
    if scale_fn is None or isinstance(scale_fn, types.FunctionType):
        return None
    return dict(getattr(scale_fn, "__dict__", {}))


class CyclicLR(Scheduler):
    r"""``torch.optim.lr_scheduler.CyclicLR`` with cyclr's exact arithmetic, at a fraction of the cost.

    The same signature, defaults, attributes and behaviour as torch's CyclicLR (Smith 2017): each cycle
    rises for ``step_size_up`` steps from ``base_lr`` to ``max_lr`` and falls for ``step_size_down``::

        lr(k)       = base_lr      + ((max_lr - base_lr)             * shape(k mod T)) * scale
        momentum(k) = max_momentum + ((base_momentum - max_momentum) * shape(k mod T)) * scale

    with ``T = step_size_up + step_size_down``, ``shape`` the triangle 0 -> 1 -> 0 and ``scale`` set by
    ``mode`` or ``scale_fn``; see ``cyclr.CyclicLR``, the spec it builds (``self.spec``). Values equal
    torch's to ~1e-15 relative (torch's float cycle position rounds; cyclr's integer one does not).

    Like torch it writes lr and momentum (or Adam's beta1 through ``betas``) at construction, records
    ``"initial_lr"``, ``"max_momentum"`` and ``"base_momentum"`` in the groups, exposes ``base_lrs``,
    ``max_lrs``, ``total_size``, ``step_ratio``, ``mode``, ``gamma``, ``scale_mode``, ``cycle_momentum``,
    ``use_beta1``, ``base_momentums``, ``max_momentums`` (the last three only with ``cycle_momentum``),
    and its ``state_dict`` has torch's keys, so checkpoints load both ways between the two classes.

    Where it differs: step sizes must be whole numbers (2000.0 is accepted as 2000; torch also takes
    2000.5); invalid values that torch accepts silently (negative or NaN rates, ``gamma <= 0``, an
    unknown ``scale_mode`` with a ``scale_fn``, a non-bool ``cycle_momentum``) raise; tensor betas are
    filled in place (torch replaces beta1 with a float); ``load_state_dict`` does not modify its argument.

    Args:
        optimizer: the wrapped optimizer.
        base_lr: lower boundary of the cycle; a float or a list with one per parameter group.
        max_lr: upper boundary; a float or one per group.
        step_size_up: steps in the rising half of a cycle.
        step_size_down: steps in the falling half; None means ``step_size_up``.
        mode: "triangular", "triangular2" or "exp_range"; ignored when ``scale_fn`` is given.
        gamma: the exp_range factor per step.
        scale_fn: a custom amplitude scale ``x -> float``; it overrides ``mode``.
        scale_mode: "cycle" or "iterations": what ``scale_fn`` receives (used only with a ``scale_fn``).
        cycle_momentum: whether momentum cycles inversely to the lr.
        base_momentum: momentum at the lr's peak; a float or one per group.
        max_momentum: momentum at the start of a cycle; a float or one per group.
        last_epoch: -1 to start; the index of the last batch to resume (torch's convention).

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; a value has the wrong type (a string rate, ...).
        ValueError: a list's length differs from ``len(optimizer.param_groups)``; an invalid ``mode``
            without ``scale_fn``; ``cycle_momentum=True`` with an optimizer that has neither momentum nor
            betas; a value breaks its rule (non-positive or fractional step size, ...).
        KeyError: ``last_epoch >= 0`` and the groups lack ``"initial_lr"`` (as torch).

    Examples:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> scheduler = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
        >>> opt.step(); scheduler.step(); scheduler.get_last_lr(), scheduler.total_size
        ([0.0325], 8.0)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[int], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        up = _whole_steps("step_size_up", step_size_up)
        args = _CyclicArgs(
            base_lrs=_per_group("base_lr", base_lr, optimizer),
            max_lrs=_per_group("max_lr", max_lr, optimizer),
            step_size_up=up,
            step_size_down=up if step_size_down is None else _whole_steps("step_size_down", step_size_down),
            mode=mode,
            gamma=gamma,
            scale_fn=scale_fn,
            scale_mode=scale_mode,
            cycle_momentum=cycle_momentum,
            base_momentums=_per_group("base_momentum", base_momentum, optimizer) if cycle_momentum else None,
            max_momentums=_per_group("max_momentum", max_momentum, optimizer) if cycle_momentum else None,
        )
        spec = args.spec()
        super().__init__(optimizer, spec, last_epoch)  # validates the rest, then writes step 0
        self._args = args
        self.base_lrs = list(args.base_lrs)
        if cycle_momentum and last_epoch == -1:
            assert args.base_momentums is not None and args.max_momentums is not None
            for group, high, low in zip(
                optimizer.param_groups, args.max_momentums, args.base_momentums, strict=True
            ):
                group["max_momentum"] = high
                group["base_momentum"] = low

    # -- torch's attributes, read from the arguments (change the schedule by building a new scheduler) --

    @property
    def max_lrs(self) -> list[Any]:
        """The upper boundary of each group (torch's attribute)."""
        return list(self._args.max_lrs)

    @property
    def total_size(self) -> float:
        """Steps in a cycle, ``step_size_up + step_size_down``, as a float like torch's."""
        return float(self._spec.period)

    @property
    def step_ratio(self) -> float:
        """``step_size_up / total_size`` (torch's attribute)."""
        return self._spec.step_size_up / self.total_size

    @property
    def mode(self) -> Any:
        """The mode as given (torch's attribute)."""
        return self._args.mode

    @property
    def gamma(self) -> Any:
        """The exp_range factor as given (torch's attribute)."""
        return self._args.gamma

    @property
    def scale_mode(self) -> str:
        """What the scale receives: "cycle" or "iterations" (the mode's own when no scale_fn is given)."""
        return str(self._spec.scale_mode)

    @property
    def cycle_momentum(self) -> bool:
        """Whether momentum cycles (torch's attribute)."""
        return bool(self._args.cycle_momentum)

    @property
    def use_beta1(self) -> bool:
        """Whether momentum goes to Adam's ``betas[0]``; like torch, only there with ``cycle_momentum``."""
        self._require_momentum("use_beta1")
        return self._momentum_key == "betas"

    @property
    def base_momentums(self) -> list[Any]:
        """The momentum at the lr's peak, per group; only there with ``cycle_momentum``."""
        self._require_momentum("base_momentums")
        return list(self._args.base_momentums or ())

    @property
    def max_momentums(self) -> list[Any]:
        """The momentum at the start of a cycle, per group; only there with ``cycle_momentum``."""
        self._require_momentum("max_momentums")
        return list(self._args.max_momentums or ())

    def _require_momentum(self, name: str) -> None:
        if not self._args.cycle_momentum:
            raise AttributeError(f"'CyclicLR' object has no attribute {name!r}: cycle_momentum is False")

    # -- torch's state layout -------------------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode", "cycle_momentum",
            "use_beta1", "base_momentums", "max_momentums", "base_lrs", "last_epoch", "_step_count",
            "_last_lr", "_scale_fn_custom", "_is_initial", "_get_lr_called_within_step",
        }
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The state with torch's CyclicLR keys: the arguments, the step, and ``_scale_fn_custom``.

        A ``scale_fn`` that is a function or lambda saves None; a callable object saves a copy of its
        ``__dict__``, which ``load_state_dict`` puts back into this scheduler's ``scale_fn`` object (torch's
        rule). The state loads into ``torch.optim.lr_scheduler.CyclicLR`` too, and theirs into this.
        """
        args = self._args
        state: dict[str, Any] = {
            "max_lrs": list(args.max_lrs),
            "total_size": self.total_size,
            "step_ratio": self.step_ratio,
            "mode": args.mode,
            "gamma": args.gamma,
            "scale_mode": self.scale_mode,
            "cycle_momentum": args.cycle_momentum,
        }
        if args.cycle_momentum:
            state["use_beta1"] = self.use_beta1
            state["base_momentums"] = self.base_momentums
            state["max_momentums"] = self.max_momentums
        state["base_lrs"] = list(self.base_lrs)
        state["last_epoch"] = self.last_epoch
        state["_step_count"] = self._step_count
        state["_last_lr"] = list(self._last_lr)
        state["_scale_fn_custom"] = _scale_fn_state(args.scale_fn)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class or by torch's CyclicLR (the schedule is rebuilt from it).

        A saved ``_scale_fn_custom`` (a callable object's ``__dict__``) updates this scheduler's
        ``scale_fn`` object; a saved None keeps the ``scale_fn`` it was built with. The optimizer and
        ``state_dict`` are not modified.

        Raises:
            TypeError, ValueError: a malformed or invalid state (checked in full before anything
                changes), or a ``_scale_fn_custom`` state while this scheduler has no ``scale_fn``.
            KeyError: a required key is missing.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS))
        current = self._args
        fn_state = state.get("_scale_fn_custom")
        if fn_state is not None and (current.scale_fn is None or not hasattr(current.scale_fn, "__dict__")):
            raise ValueError(
                "the state holds a scale_fn object's state (_scale_fn_custom), but this scheduler was built "
                f"with scale_fn={current.scale_fn!r}: build it with the same kind of scale_fn object"
            )
        total = state["total_size"]
        if not (isinstance(total, (int, float)) and float(total).is_integer() and total >= 2):
            raise ValueError(f"total_size must be a whole number of steps >= 2, got {total!r}")
        up = round(state["step_ratio"] * total)
        cycle_momentum = state["cycle_momentum"]
        args = _CyclicArgs(
            base_lrs=_per_group("base_lrs", list(state["base_lrs"]), self.optimizer),
            max_lrs=_per_group("max_lrs", list(state["max_lrs"]), self.optimizer),
            step_size_up=up,
            step_size_down=int(total) - up,
            mode=state["mode"],
            gamma=state["gamma"],
            scale_fn=current.scale_fn,
            scale_mode=state["scale_mode"],
            cycle_momentum=cycle_momentum,
            base_momentums=(
                _per_group("base_momentums", list(state["base_momentums"]), self.optimizer)
                if cycle_momentum
                else None
            ),
            max_momentums=(
                _per_group("max_momentums", list(state["max_momentums"]), self.optimizer)
                if cycle_momentum
                else None
            ),
        )
        spec = args.spec()
        _check_groups(self.optimizer, spec)
        momentum_key = _momentum_key(self.optimizer, spec)
        last_epoch = check_int("last_epoch", state["last_epoch"], minimum=-1)
        step_count = check_int("_step_count", state.get("_step_count", self._step_count), minimum=0)
        # Validated: adopt.
        if fn_state is not None:
            current.scale_fn.__dict__.update(fn_state)  # type: ignore[union-attr]
        self._args = args
        self._restore(spec, momentum_key, last_epoch, step_count, state)


# -- the drop-ins for torch's OneCycleLR, CosineAnnealingWarmRestarts and CosineAnnealingLR ---------------


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


def _pct_start(value: Any) -> float:
    """torch's rule, a float in [0, 1] (ValueError), except that any real number in [0, 1] is taken:
    ``pct_start=1`` (an int) or a numpy float is the same fraction.

    torch multiplies it by ``total_steps`` before checking it: a string then fails as a ValueError
    (``float("0.30.3...")``), another non-number as a TypeError; so here.
    """
    rule = "a float between 0 and 1"
    if not isinstance(value, numbers.Real):
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"pct_start must be {rule}, got {value!r} ({type(value).__name__})")
    if isinstance(value, bool) or not 0 <= float(value) <= 1:  # NaN fails the comparison
        raise ValueError(f"pct_start must be {rule}, got {value!r}")
    return float(value)


def _anneal_strategy(value: Any) -> str:
    """torch refuses anything but "cos" and "linear" with ValueError, strings or not."""
    if not isinstance(value, str):
        raise ValueError(f"anneal_strategy must be one of {list(ANNEAL_STRATEGIES)}, got {value!r}")
    return check_choice("anneal_strategy", value, ANNEAL_STRATEGIES)


def _initial_lrs(optimizer: Optimizer, last_epoch: Any) -> list[Any]:
    """torch's ``base_lrs``: each group's ``"initial_lr"``, recorded by the first scheduler built on the
    optimizer (or loaded with its state), else its lr; resuming (``last_epoch >= 0``) requires it."""
    _check_resumable(optimizer, check_int("last_epoch", last_epoch, minimum=-1))
    values = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
    return [v.item() if isinstance(v, Tensor) and v.numel() == 1 else v for v in values]


def _state_base_lr(scheduler: Scheduler, state: dict[str, Any]) -> Any:
    """The spec's ``base_lr`` from a state's ``base_lrs`` (one per group, as torch saves them)."""
    base_lrs = list(state.get("base_lrs", scheduler.base_lrs))
    return _one_or_per_group(_per_group("base_lrs", base_lrs, scheduler.optimizer))


def _load(scheduler: Scheduler, spec: Any, state: dict[str, Any]) -> None:
    """The end of a drop-in's ``load_state_dict``: check that ``spec`` fits the optimizer, then adopt."""
    _check_groups(scheduler.optimizer, spec)
    momentum_key = _momentum_key(scheduler.optimizer, spec)
    last_epoch = check_int("last_epoch", state["last_epoch"], minimum=-1)
    step_count = check_int("_step_count", state.get("_step_count", scheduler._step_count), minimum=0)
    scheduler._restore(spec, momentum_key, last_epoch, step_count, state)


_LR_KEYS = {"initial": "initial_lr", "max": "max_lr", "min": "min_lr"}
_MOMENTUM_KEYS = {"max": "max_momentum", "base": "base_momentum"}


def _torch_phases(spec: OneCycleSpec) -> list[dict[str, Any]]:
    """torch's ``_schedule_phases``: each phase's last step and the group keys that hold its endpoints."""
    return [
        {
            "end_step": phase.end_step,
            "start_lr": _LR_KEYS[phase.lr[0]],
            "end_lr": _LR_KEYS[phase.lr[1]],
            "start_momentum": _MOMENTUM_KEYS[phase.momentum[0]],
            "end_momentum": _MOMENTUM_KEYS[phase.momentum[1]],
        }
        for phase in spec.phases
    ]


def _past_the_end(step: int, total_steps: int) -> ValueError:
    """torch's error, word for word."""
    return ValueError(f"Tried to step {step} times. The specified number of total steps is {total_steps}")


class OneCycleLR(Scheduler):
    r"""``torch.optim.lr_scheduler.OneCycleLR`` over a ``cyclr.OneCycleLR`` spec: torch's values, bit for bit.

    The one-cycle policy (Smith & Topin 2017) with torch's signature, defaults and attributes. The lr
    rises from ``initial = max_lr / div_factor`` to ``max_lr`` at step ``pct_start * total_steps - 1``
    and anneals to ``min = initial / final_div_factor`` at step ``total_steps - 1`` (``three_phase``:
    back to ``initial`` at ``2 * pct_start * total_steps - 2`` first); momentum, or Adam's beta1, goes
    from ``max_momentum`` to ``base_momentum`` and back. In a phase from ``start`` to ``end``, with
    ``pct`` the fraction of it done::

        "cos":    end + (start - end) / 2 * (cos(pi * pct) + 1)
        "linear": (end - start) * pct + start

    Like torch it writes ``"initial_lr"``, ``"max_lr"``, ``"min_lr"`` (and ``"max_momentum"``,
    ``"base_momentum"``) into the groups, and step 0's lr and momentum; exposes ``total_steps``,
    ``base_lrs`` (the initial lrs), ``cycle_momentum`` and ``use_beta1``; its ``state_dict`` has torch's
    keys, so checkpoints load both ways (see ``load_state_dict``). ``self.spec`` is the schedule.

    **The end.** As torch, ``step()`` may reach step ``total_steps``, the last call of the usual loop of
    ``epochs * steps_per_epoch`` batches, and raises torch's ``ValueError("Tried to step ...")`` beyond it,
    leaving the scheduler where it was. At step ``total_steps`` the lr holds its final value ``min``
    (the spec's value there), where torch extrapolates the last phase: the cosine turns back up and
    the linear anneal falls below ``min``, to a negative lr with the default div factors unless the
    last phase spans over 250,000 steps (10,000 with ``three_phase``; pytorch#91765). That lr is set
    after the last batch and normally never used; if it is, holding keeps it in the schedule's range.
    Raising there too would break every loop that works with torch.

    Where it differs otherwise: ``pct_start * total_steps == 1`` (a rising phase of zero steps) and zero
    div factors are a ValueError at construction (torch: ZeroDivisionError); negative or NaN values and
    a non-bool ``cycle_momentum`` or ``three_phase`` raise where torch accepts them; ``pct_start`` may be
    any real number in [0, 1] (torch wants a float: ``pct_start=1`` is a ValueError there); numpy
    integers count as integers; tensor betas are filled in place. Resuming with ``last_epoch=N`` takes
    the schedule from the arguments (torch reads it back from the groups' ``"max_lr"``, ``"initial_lr"``,
    ``"min_lr"`` and momenta: the same when the arguments are).

    Args:
        optimizer: the wrapped optimizer.
        max_lr: the peak lr; a float or one per parameter group.
        total_steps: the steps in the cycle; when given, ``epochs`` and ``steps_per_epoch`` are ignored.
        epochs: with ``steps_per_epoch``, ``total_steps = epochs * steps_per_epoch``.
        steps_per_epoch: see ``epochs``.
        pct_start: the fraction of the steps spent rising, in [0, 1].
        anneal_strategy: "cos" or "linear".
        cycle_momentum: whether momentum (or beta1) is annealed inversely to the lr.
        base_momentum: the momentum at the peak lr; a float or one per group.
        max_momentum: the momentum at the start and the end; a float or one per group.
        div_factor: ``initial = max_lr / div_factor``.
        final_div_factor: ``min = initial / final_div_factor``.
        three_phase: the paper's three phases instead of fastai's two.
        last_epoch: -1 to start; the index of the last batch to resume (torch's convention).

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; ``total_steps`` is not a number, ``pct_start`` is
            neither a number nor a string; a value has the wrong type (a string rate, a non-bool
            ``three_phase``, ...).
        ValueError: no ``total_steps`` and not both ``epochs`` and ``steps_per_epoch``; a count that is
            not a positive integer; ``pct_start`` outside [0, 1], a bool or a string; an unknown
            ``anneal_strategy``; a list whose length differs from ``len(optimizer.param_groups)``;
            ``cycle_momentum=True`` with an optimizer that has neither momentum nor betas;
            ``pct_start * total_steps == 1``; a value breaks its rule; ``last_epoch >= total_steps``.
        KeyError: ``last_epoch >= 0`` and the groups lack ``"initial_lr"`` (as torch).

    Examples:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> scheduler = OneCycleLR(opt, max_lr=0.1, total_steps=10)
        >>> for _ in range(2): opt.step(); scheduler.step()
        >>> scheduler.get_last_lr(), opt.param_groups[0]["momentum"], opt.param_groups[0]["min_lr"]
        ([0.1], 0.85, 4e-07)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        # torch's checks, in torch's order and with its exception types; the spec checks the rest.
        if total_steps is not None:
            total_steps = _torch_count("total_steps", total_steps, "a positive integer", 1)
        elif epochs is not None and steps_per_epoch is not None:
            rule = "a positive integer"
            total_steps = _torch_count("epochs", epochs, rule, 1, non_number=ValueError) * _torch_count(
                "steps_per_epoch", steps_per_epoch, rule, 1, non_number=ValueError
            )
        else:
            raise ValueError(
                f"give total_steps, or both epochs and steps_per_epoch; got total_steps=None, "
                f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
            )
        pct_start = _pct_start(pct_start)
        anneal_strategy = _anneal_strategy(anneal_strategy)
        max_lrs = _per_group("max_lr", max_lr, optimizer)
        momenta: dict[str, list[Any]] = {}
        if cycle_momentum:  # torch formats the momenta only then
            momenta = {
                "max_momentum": _per_group("max_momentum", max_momentum, optimizer),
                "base_momentum": _per_group("base_momentum", base_momentum, optimizer),
            }
        spec = OneCycleSpec(
            max_lr=_one_or_per_group(max_lrs),
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            cycle_momentum=cycle_momentum,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            **{name: _one_or_per_group(values) for name, values in momenta.items()},
        )
        last_epoch = check_int("last_epoch", last_epoch, minimum=-1)
        if last_epoch + 1 > total_steps:
            raise _past_the_end(last_epoch + 1, total_steps)
        super().__init__(optimizer, spec, last_epoch)  # validates the rest, then writes the first step
        self.base_lrs = [top / div_factor for top in max_lrs]
        if last_epoch == -1:  # torch's group keys, where its get_lr reads the endpoints
            for index, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = self.base_lrs[index]
                group["max_lr"] = max_lrs[index]
                group["min_lr"] = self.base_lrs[index] / final_div_factor
                for name, values in momenta.items():
                    group[name] = values[index]

    def _values_at(self, step: int) -> tuple[Any, Any]:
        # Every step a block does not serve comes here, and blocks stop at total_steps: past it, raise
        # before anything moves (the scheduler stays at its last step), at no cost to the other steps.
        total = self._spec.total_steps
        if step > total:
            raise _past_the_end(step, total)
        values = super()._values_at(step)
        self._block_stop = min(self._block_stop, total + 1 - self._block_start)
        return values

    # -- torch's attributes, read from the spec --------------------------------------------------------

    @property
    def total_steps(self) -> int:
        """The steps in the cycle; ``step()`` may reach it, and raises beyond it (torch's attribute)."""
        return int(self._spec.total_steps)

    @property
    def cycle_momentum(self) -> bool:
        """Whether momentum (or beta1) is annealed (torch's attribute)."""
        return bool(self._spec.cycle_momentum)

    @property
    def use_beta1(self) -> bool:
        """Whether momentum goes to Adam's ``betas[0]``; like torch, only there with ``cycle_momentum``."""
        if not self._spec.cycle_momentum:
            raise AttributeError("'OneCycleLR' object has no attribute 'use_beta1': cycle_momentum is False")
        return self._momentum_key == "betas"

    # -- torch's state layout, and the spec -------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "total_steps", "_schedule_phases", "_anneal_func_type", "cycle_momentum", "use_beta1", "base_lrs",
            "last_epoch", "_step_count", "_last_lr", "_is_initial", "_get_lr_called_within_step",
        }
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """torch's OneCycleLR state (``total_steps``, ``_schedule_phases``, ``_anneal_func_type``,
        ``cycle_momentum``, ``use_beta1``, ``base_lrs``, the step), plus ``"spec"``: the spec as data.

        torch keeps ``max_lr``, the div factors and the momenta in the optimizer's groups, not in its
        state; ``"spec"`` holds them, so this state restores the schedule by itself. It loads into
        ``torch.optim.lr_scheduler.OneCycleLR`` too (which reads the values from the optimizer's
        groups, saved with the optimizer's state_dict).
        """
        spec = self._spec
        state: dict[str, Any] = {
            "total_steps": self.total_steps,
            "_schedule_phases": _torch_phases(spec),
            "_anneal_func_type": spec.anneal_strategy,
            "cycle_momentum": self.cycle_momentum,
        }
        if self.cycle_momentum:
            state["use_beta1"] = self.use_beta1
        state["base_lrs"] = list(self.base_lrs)
        state["last_epoch"] = self.last_epoch
        state["_step_count"] = self._step_count
        state["_last_lr"] = list(self._last_lr)
        state["spec"] = spec.to_dict()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class, or by torch's OneCycleLR.

        This class's state holds the spec, which replaces this scheduler's (the checkpoint decides, as in
        torch). torch's state holds the step and the schedule's shape but not its values (torch reads
        those from the optimizer's groups): it loads into a scheduler built with the same arguments,
        and a state whose ``total_steps``, phases, ``anneal_strategy`` or ``cycle_momentum`` differ
        from this scheduler's is refused. The optimizer and ``state_dict`` are not modified.

        Raises:
            TypeError, ValueError: a malformed state, a spec that is no one-cycle spec or does not fit
                the optimizer, or a torch state for another schedule; nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS) | {"spec"})
        data = state.get("spec")
        if data is not None:
            spec = from_dict(data)
            if not isinstance(spec, OneCycleSpec):
                raise ValueError(f"the state's spec is a {type(spec).__name__}, not a OneCycleLR")
        else:  # torch's state: it must describe this scheduler's schedule
            spec = self._spec
            ours = {
                "total_steps": spec.total_steps,
                "_schedule_phases": _torch_phases(spec),
                "_anneal_func_type": spec.anneal_strategy,
                "cycle_momentum": spec.cycle_momentum,
            }
            for key, value in ours.items():
                if key in state and (bool(state[key]) if key == "cycle_momentum" else state[key]) != value:
                    raise ValueError(
                        f"the state's {key} is {state[key]!r}, this scheduler's is {value!r}: torch's "
                        f"OneCycleLR state does not hold the schedule's values, so load it into a "
                        f"scheduler built with the same arguments"
                    )
        _load(self, spec, state)


def _whole_epoch(epoch: Any) -> int:
    """``step(epoch)``'s epoch: a whole number >= 0 (3.0 is 3); a fractional one is refused, with the way
    to get torch's ``step(epoch + i / iters)`` schedule in whole steps."""
    if isinstance(epoch, numbers.Real) and not isinstance(epoch, numbers.Integral):
        if not float(epoch).is_integer():
            raise ValueError(
                f"epoch must be a whole number of steps, got {epoch!r}: cyclr.torch."
                f"CosineAnnealingWarmRestarts counts whole steps. For torch's step(epoch + i / iters), build "
                f"it with T_0 * iters (and the same T_mult) and call step() once per batch: the same "
                f"schedule, without rounding"
            )
        epoch = int(float(epoch))
    return check_int("epoch", epoch, minimum=0)


def _eta_min(value: Any) -> Any:
    """torch's CosineAnnealingWarmRestarts refuses an ``eta_min`` that is no float or int with ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"eta_min must be a float or an int, got {value!r} ({type(value).__name__})")
    return value


class CosineAnnealingWarmRestarts(Scheduler):
    r"""``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` in closed form: torch's values, bit for bit.

    SGDR (Loshchilov & Hutter 2017), with torch's signature, attributes and state. Each group's lr falls
    from its initial lr along half a cosine toward ``eta_min``, then restarts; each period is ``T_mult``
    times the last::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    with ``T_cur`` the steps since the last restart and ``T_i`` the current period (restarts at ``T_0``,
    ``T_0 + T_0 * T_mult``, ...). ``base_lr`` is the group's ``"initial_lr"`` (its lr, when no scheduler
    recorded one), torch's ``base_lrs``. The spec (``self.spec``, a ``cyclr.CosineAnnealingWarmRestarts``)
    finds the restart in closed form: any step costs the same, and jumps are exact.

    Exposes ``T_0``, ``T_mult``, ``eta_min``, ``T_cur``, ``T_i`` and ``base_lrs``; its ``state_dict`` has
    torch's keys and loads both ways. ``step(epoch)`` jumps to step ``epoch`` without a warning, as
    torch's does for this scheduler, and ``step()`` then continues from there.

    Where it differs: ``step(epoch)`` takes whole epochs (``3.0`` is 3). torch's ``step(epoch + i / iters)``
    is the same schedule as building with ``T_0 * iters`` and calling ``step()`` once per batch, which is
    what to do instead; a fractional epoch raises a ValueError saying so. Jumps and resumes are exact
    where torch's are not: its ``step(epoch)`` finds the restart with a float logarithm and misplaces
    some (``T_0=1, T_mult=3, epoch=121``), and resuming with ``last_epoch`` and ``T_mult > 1`` counts
    at most one restart. A tensor lr gets the float64 value rounded once (torch computes in the tensor's
    float32). A negative or NaN ``eta_min`` raises (torch accepts it); numpy integers count as integers.

    Args:
        optimizer: the wrapped optimizer.
        T_0: steps until the first restart (a positive integer).
        T_mult: the factor by which each period grows (an integer >= 1).
        eta_min: the lr the cosine falls toward (>= 0).
        last_epoch: -1 to start; the index of the last step to resume (torch's convention).

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; ``T_0`` or ``T_mult`` is not a number.
        ValueError: ``T_0`` is not a positive integer; ``T_mult`` is not an integer >= 1; ``eta_min`` is
            not a float or int, or is negative or NaN; a group's lr is not a valid rate.
        KeyError: ``last_epoch >= 0`` and the groups lack ``"initial_lr"`` (as torch).

    Examples:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
        >>> for _ in range(8): opt.step(); scheduler.step()
        >>> scheduler.get_last_lr(), scheduler.T_cur, scheduler.T_i
        ([0.05], 4, 8)
    """

    def __init__(
        self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        T_0 = _torch_count("T_0", T_0, "a positive integer", 1)
        T_mult = _torch_count("T_mult", T_mult, "an integer >= 1", 1)
        eta_min = _eta_min(eta_min)
        _check_optimizer(optimizer)
        base_lrs = _initial_lrs(optimizer, last_epoch)
        spec = WarmRestartsSpec(base_lr=_one_or_per_group(base_lrs), T_0=T_0, T_mult=T_mult, eta_min=eta_min)
        super().__init__(optimizer, spec, last_epoch)
        self.base_lrs = base_lrs

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to step ``epoch`` (a whole number; ``3.0`` is 3), and set the lrs.

        As torch's, it does not warn: neither about ``epoch`` nor about the order of the calls.

        Raises:
            ValueError: ``epoch`` is negative or fractional (see the class docstring for torch's
                fractional epochs).
            TypeError: ``epoch`` is not a number.
        """
        step = self.last_epoch + 1 if epoch is None else _whole_epoch(epoch)
        self._last_lr = self._apply(step)  # first: if it raises, the scheduler has not moved
        self.last_epoch = step
        self._step_count += 1

    # -- torch's attributes, read from the spec and the step ---------------------------------------------

    @property
    def T_0(self) -> int:  # noqa: N802 (torch's name)
        """Steps until the first restart (torch's attribute)."""
        return int(self._spec.T_0)

    @property
    def T_mult(self) -> int:  # noqa: N802
        """The factor by which each period grows (torch's attribute)."""
        return int(self._spec.T_mult)

    @property
    def eta_min(self) -> float:
        """The lr the cosine falls toward (torch's attribute)."""
        return float(self._spec.eta_min)

    @property
    def T_cur(self) -> int:  # noqa: N802
        """Steps since the last restart, at ``last_epoch`` (torch's attribute)."""
        return self._spec.position(max(self.last_epoch, 0))[0]

    @property
    def T_i(self) -> int:  # noqa: N802
        """The length of the current period, at ``last_epoch`` (torch's attribute)."""
        return self._spec.position(max(self.last_epoch, 0))[1]

    # -- torch's state layout ---------------------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "T_0", "T_i", "T_mult", "eta_min", "T_cur", "base_lrs", "last_epoch", "_step_count", "_last_lr",
            "_is_initial", "_get_lr_called_within_step",
        }
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The state with torch's keys: ``T_0``, ``T_i``, ``T_mult``, ``eta_min``, ``T_cur``,
        ``base_lrs`` and the step. They define the schedule; it loads into torch's scheduler too."""
        T_cur, T_i = self._spec.position(max(self.last_epoch, 0))
        return {
            "T_0": self.T_0,
            "T_i": T_i,
            "T_mult": self.T_mult,
            "eta_min": self.eta_min,
            "T_cur": T_cur,
            "base_lrs": list(self.base_lrs),
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class or by torch's (the schedule is rebuilt from it).

        The step decides where the schedule is; ``T_cur`` and ``T_i`` must agree with it. They do not
        after torch's fractional ``step(epoch + i / iters)`` (or its inexact jumps and resumes), and such
        a state is refused. The optimizer and ``state_dict`` are not modified.

        Raises:
            TypeError, ValueError: a malformed or invalid state, or one whose ``T_cur``, ``T_i`` are not
                those of its ``last_epoch``; nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS))
        spec = WarmRestartsSpec(
            base_lr=_state_base_lr(self, state),
            T_0=state.get("T_0", self.T_0),
            T_mult=state.get("T_mult", self.T_mult),
            eta_min=state.get("eta_min", self.eta_min),
        )
        step = check_int("last_epoch", state["last_epoch"], minimum=-1)
        if step >= 0 and "T_cur" in state:
            position = spec.position(step)
            if (state["T_cur"], state.get("T_i", position[1])) != position:
                raise ValueError(
                    f"the state's T_cur={state['T_cur']!r}, T_i={state.get('T_i')!r} are not those of its "
                    f"last_epoch={step} (T_cur={position[0]}, T_i={position[1]}): it was stepped with a "
                    f"fractional or inexact epoch, which cyclr's whole steps cannot continue"
                )
        _load(self, spec, state)


class CosineAnnealingLR(Scheduler):
    r"""``torch.optim.lr_scheduler.CosineAnnealingLR`` as the closed form torch's ``step()`` approximates.

    With torch's signature, attributes and state. Each group's lr follows half a cosine from its initial
    lr down to ``eta_min`` over ``T_max`` steps::

        lr(k) = eta_min + (base_lr - eta_min) * (1 + cos(pi * k / T_max)) / 2

    and, like torch's, the cosine goes on past ``T_max`` (back up to ``base_lr`` at ``2 * T_max``).
    ``base_lr`` is the group's ``"initial_lr"`` (its lr, when no scheduler recorded one). torch's ``step()``
    computes the lr recursively from the group's current lr, which drifts from this closed form by up
    to ~1e-12 relative over long runs; these values are the closed form at every step (torch's own
    ``step(epoch)`` formula), from the spec ``self.spec``, a ``cyclr.CosineAnnealingLR``.

    Where it differs: it is not chainable. Its lr is a function of the step alone, so it overwrites an lr
    that something else changed (torch's recursion carries such a change along, e.g. in a
    ``ChainedScheduler``). ``T_max`` must be a whole number of steps (``100.0`` is 100; torch also takes
    100.5), and ``T_max < 1`` raises at construction (torch: ZeroDivisionError at the first step for 0).
    A negative or NaN ``eta_min`` raises (torch accepts it).

    Args:
        optimizer: the wrapped optimizer.
        T_max: steps from the initial lr down to ``eta_min``.
        eta_min: the lowest lr (>= 0).
        last_epoch: -1 to start; the index of the last step to resume (torch's convention).

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; ``T_max`` or ``eta_min`` is not a number.
        ValueError: ``T_max`` is not a positive whole number; ``eta_min`` is negative or NaN.
        KeyError: ``last_epoch >= 0`` and the groups lack ``"initial_lr"`` (as torch).

    Examples:
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = CosineAnnealingLR(opt, T_max=4)
        >>> for _ in range(2): opt.step(); scheduler.step()
        >>> scheduler.get_last_lr(), scheduler.spec.lr_at(4)
        ([0.05], 0.0)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        base_lrs = _initial_lrs(optimizer, last_epoch)
        spec = CosineSpec(
            base_lr=_one_or_per_group(base_lrs), T_max=_whole_steps("T_max", T_max), eta_min=eta_min
        )
        super().__init__(optimizer, spec, last_epoch)
        self.base_lrs = base_lrs

    @property
    def T_max(self) -> int:  # noqa: N802 (torch's name)
        """Steps from the initial lr down to ``eta_min`` (torch's attribute)."""
        return int(self._spec.T_max)

    @property
    def eta_min(self) -> float:
        """The lowest lr (torch's attribute)."""
        return float(self._spec.eta_min)

    _TORCH_KEYS = frozenset(
        {"T_max", "eta_min", "base_lrs", "last_epoch", "_step_count", "_last_lr", "_is_initial",
         "_get_lr_called_within_step"}
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The state with torch's keys: ``T_max``, ``eta_min``, ``base_lrs`` and the step. They define the
        schedule; it loads into torch's scheduler too."""
        return {
            "T_max": self.T_max,
            "eta_min": self.eta_min,
            "base_lrs": list(self.base_lrs),
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class or by torch's (the schedule is rebuilt from it). The
        optimizer and ``state_dict`` are not modified.

        Raises:
            TypeError, ValueError: a malformed or invalid state; nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS))
        spec = CosineSpec(
            base_lr=_state_base_lr(self, state),
            T_max=_whole_steps("T_max", state.get("T_max", self.T_max)),
            eta_min=state.get("eta_min", self.eta_min),
        )
        _load(self, spec, state)


# -- the LR range test on a torch model -----------------------------------------------------------------


def _batches(data: Any) -> Any:
    """Batches from ``data`` for as long as they are asked for: a re-iterable source (a DataLoader, a list)
    starts over when it runs out; a one-shot iterator just ends."""
    restartable = iter(data) is not data
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty or not restartable:
            return


def _set_lr(optimizer: Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        current = group["lr"]
        if isinstance(current, Tensor):
            current.fill_(lr)
        else:
            group["lr"] = lr


def find_lr(
    model: torch.nn.Module,
    optimizer: Optimizer,
    loss_fn: Callable[[Any, Any], Any],
    data: Any,
    **sweep: Any,
) -> Any:
    r"""Run the LR range test on a torch model, then put the model and the optimizer back as they were.

    For ``k = 0, 1, ...`` until the sweep stops (see ``cyclr.find_lr``): set every group's lr to the
    sweep's ``lr(k)``, take the next batch ``(inputs, targets)`` from ``data``, and train on it::

        optimizer.zero_grad(); loss = loss_fn(model(inputs), targets); loss.backward(); optimizer.step()

    ``data`` is any iterable of ``(inputs, targets)`` pairs (a ``DataLoader``); a re-iterable one starts
    over when it runs out before the sweep does, a one-shot iterator ends the sweep ("incomplete").
    Afterwards (also when something raises) the model's parameters and buffers, the gradients, the
    optimizer's whole state (momentum buffers, step counts, every group's lr and other settings), the
    model's train/eval mode and torch's random number generators are restored bit for bit: training
    after the test continues exactly as if it had not run. Batches are used as they come (move them to
    the model's device in ``loss_fn``'s caller, e.g. with a ``collate_fn``, or write your own
    ``train_step`` for ``cyclr.find_lr``).

    Args:
        model: the ``torch.nn.Module`` to sweep.
        optimizer: its optimizer (any ``torch.optim.Optimizer``).
        loss_fn: ``loss_fn(model(inputs), targets) -> 0-d loss tensor``.
        data: an iterable of ``(inputs, targets)`` batches.
        **sweep: ``start_lr``, ``end_lr``, ``num_steps``, ``mode``, ``smooth``, ``diverge_factor``,
            ``progress``, as ``cyclr.find_lr`` takes them.

    Returns:
        A ``cyclr.RangeTestResult``: ``.suggestion.base_lr``, ``.suggestion.max_lr``, ``.plot()``, ...

    Raises:
        TypeError: ``model`` is not a Module, ``optimizer`` not an Optimizer, ``loss_fn`` not callable, a
            batch is not an ``(inputs, targets)`` pair, or a sweep argument is wrong (as ``cyclr.find_lr``).
        ValueError: a sweep argument breaks its rule; ``data`` holds no batch.

    Anything ``loss_fn`` or the model raises is raised again, after the state is restored.

    Examples:
        >>> import torch, cyclr.torch
        >>> model = torch.nn.Linear(3, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> batches = [(torch.randn(16, 3), torch.randn(16, 1)) for _ in range(10)]
        >>> before = [p.clone() for p in model.parameters()]
        >>> result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.mse_loss, batches,
        ...                              end_lr=1.0, num_steps=30, progress=False)
        >>> all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
        True
    """
    from .rangetest import find_lr as sweep_with

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_optimizer(optimizer)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(outputs, targets), got {loss_fn!r}")
    batches = _batches(data)

    def train_step(lr: float) -> Any:
        _set_lr(optimizer, lr)
        batch = next(batches)  # StopIteration when a one-shot iterator ends: the sweep is "incomplete"
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            kind = type(batch).__name__
            if isinstance(batch, (tuple, list)):
                kind = f"a {kind} of {len(batch)}"
            raise TypeError(
                f"each batch must be an (inputs, targets) pair, got {kind}; for other batches, write a "
                f"train_step(lr) -> loss and call cyclr.find_lr"
            )
        inputs, targets = batch
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    saved = _TrainingState.capture(model, optimizer)
    try:
        model.train()
        return sweep_with(train_step, **sweep)
    finally:
        saved.restore(model, optimizer)


def _copy(value: Any) -> Any:
    """A snapshot of a state value: tensors cloned, containers copied, the rest as is."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(item) for item in value)
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _put_back(current: Any, saved: Any) -> Any:
    """``saved`` as the value to store, written into ``current``'s tensors where they match: a tensor that
    something else holds on to (a compiled step, a scheduler) stays the same object."""
    if isinstance(saved, Tensor):
        if isinstance(current, Tensor) and current.shape == saved.shape and current.dtype == saved.dtype:
            with torch.no_grad():
                current.copy_(saved)
            return current
        return saved.clone()
    if isinstance(saved, (tuple, list)) and isinstance(current, (tuple, list)) and len(current) == len(saved):
        return type(saved)(_put_back(c, v) for c, v in zip(current, saved))
    return _copy(saved)


@dataclass
class _TrainingState:
    """Everything a few training steps change, copied: restoring it makes them never have happened.

    Restored in place (tensors keep their identity: a compiled ``optimizer.step`` and a scheduler holding
    a tensor lr keep working), except what did not exist before, which is removed.
    """

    model: dict[str, Tensor]
    gradients: list[Tensor | None]
    optimizer_state: dict[Any, dict[str, Any]]
    groups: list[dict[str, Any]]
    training: bool
    rng: Tensor
    cuda_rng: list[Tensor] | None

    @classmethod
    def capture(cls, model: torch.nn.Module, optimizer: Optimizer) -> _TrainingState:
        return cls(
            model={name: value.detach().clone() for name, value in model.state_dict(keep_vars=True).items()},
            gradients=[None if p.grad is None else p.grad.detach().clone() for p in model.parameters()],
            optimizer_state={parameter: _copy(dict(entries)) for parameter, entries in optimizer.state.items()},
            groups=[{key: _copy(value) for key, value in group.items() if key != "params"}
                    for group in optimizer.param_groups],
            training=model.training,
            rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        )

    def restore(self, model: torch.nn.Module, optimizer: Optimizer) -> None:
        with torch.no_grad():
            for name, value in model.state_dict(keep_vars=True).items():
                value.copy_(self.model[name])
        for parameter, gradient in zip(model.parameters(), self.gradients):
            parameter.grad = gradient
        for parameter in [p for p in optimizer.state if p not in self.optimizer_state]:
            del optimizer.state[parameter]  # momentum buffers the sweep created
        for parameter, saved in self.optimizer_state.items():
            live = optimizer.state[parameter]
            for key in [key for key in live if key not in saved]:
                del live[key]
            for key, value in saved.items():
                live[key] = _put_back(live.get(key), value)
        for group, saved in zip(optimizer.param_groups, self.groups):
            for key in [key for key in group if key != "params" and key not in saved]:
                del group[key]
            for key, value in saved.items():
                group[key] = _put_back(group.get(key), value)
        model.train(self.training)
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
