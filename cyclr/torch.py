"""The PyTorch adapter: a torch ``LRScheduler`` that sets an optimizer's lr and momentum from a cyclr spec.

Two schedulers, both subclasses of ``torch.optim.lr_scheduler.LRScheduler`` (so Lightning, Accelerate and
the transformers Trainer accept them):

* ``Scheduler(optimizer, spec)`` drives any cyclr spec: after ``k`` calls of ``step()`` every parameter
  group holds ``spec(k)``: its lr, and its momentum (SGD's ``momentum``, or Adam's ``betas[0]``).
* ``CyclicLR(optimizer, base_lr, max_lr, ...)`` is a drop-in for ``torch.optim.lr_scheduler.CyclicLR``:
  the same signature, attributes and state_dict, built as ``Scheduler`` over a ``cyclr.CyclicLR`` spec.

The scheduler holds one number, the step (``last_epoch``); it computes nothing itself. Values are
written the way torch writes them: a float replaces a float, a tensor (``lr=torch.tensor(0.01)``, the
way to keep a compiled ``optimizer.step`` from recompiling) is filled in place.
"""

from __future__ import annotations

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
from ._validate import check_int
from .cyclic import MODES
from .cyclic import CyclicLR as CyclicSpec

__all__ = ["CyclicLR", "Scheduler"]

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

    Example:
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
        if block is not None and 0 <= offset < self._block_size:  # inline: the common case
            lr = block[0][offset]
            momentum = None if block[1] is None else block[1][offset]
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
            if self._block is None or not 0 <= offset < size:
                lr, momentum = self._spec.precompute(size, start=step)
                self._block = (lr.tolist(), None if momentum is None else momentum.tolist())
                self._block_start, offset = step, 0
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

        Example:
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

    Example:
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
