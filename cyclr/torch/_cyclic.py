"""The drop-in for ``torch.optim.lr_scheduler.CyclicLR``, over a ``cyclr.CyclicLR`` spec."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch  # noqa: F401 (the docstring examples use it)
from torch.optim import Optimizer

from .._validate import check_int
from ..cyclic import MODES
from ..cyclic import CyclicLR as CyclicSpec
from ._checks import (
    _check_groups,
    _check_optimizer,
    _momentum_key,
    _one_or_per_group,
    _per_group,
    _plain,
    _whole_steps,
)
from ._scheduler import Scheduler
from ._state import _check_state


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
        capturable: keep the step on the device of the optimizer's lr tensors and compute the values there
            with torch operations, for a compiled or CUDA-graph-captured step (see ``Scheduler``).

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
        *,
        capturable: bool = False,
    ) -> None:
        _check_optimizer(optimizer)
        up = _whole_steps("step_size_up", step_size_up)
        args = _CyclicArgs(
            base_lrs=_per_group("base_lr", base_lr, optimizer),
            max_lrs=_per_group("max_lr", max_lr, optimizer),
            step_size_up=up,
            step_size_down=up if step_size_down is None else _whole_steps("step_size_down", step_size_down),
            mode=_plain(mode),
            gamma=_plain(gamma),
            scale_fn=scale_fn,
            scale_mode=_plain(scale_mode),
            cycle_momentum=_plain(cycle_momentum),
            base_momentums=_per_group("base_momentum", base_momentum, optimizer) if cycle_momentum else None,
            max_momentums=_per_group("max_momentum", max_momentum, optimizer) if cycle_momentum else None,
        )
        spec = args.spec()
        super().__init__(
            optimizer, spec, last_epoch, capturable=capturable
        )  # validates the rest, then writes step 0
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

    @property
    def _scale_fn_custom(self) -> Callable[[int], float] | None:
        """The ``scale_fn`` given, or None (torch's attribute)."""
        return self._args.scale_fn

    @property
    def _scale_fn_ref(self) -> Callable[[float], float] | None:
        """torch's attribute: the built-in mode's scale function, None with a custom ``scale_fn``.

        It is torch's function for code that reads it; cyclr's values come from the spec's formula.
        """
        if self._args.scale_fn is not None:
            return None
        if self._args.mode == "triangular2":
            return self._triangular2_scale_fn
        if self._args.mode == "exp_range":
            return partial(self._exp_range_scale_fn, self._args.gamma)
        return self._triangular_scale_fn

    @staticmethod
    def _triangular_scale_fn(x: float) -> float:
        return 1.0

    @staticmethod
    def _triangular2_scale_fn(x: float) -> float:
        return 1 / (2.0 ** (x - 1))

    @staticmethod
    def _exp_range_scale_fn(gamma: float, x: float) -> float:
        return gamma**x

    def scale_fn(self, x: Any) -> float:
        """The amplitude scale at ``x`` (a cycle or an iteration, per ``scale_mode``), as torch's method."""
        custom = self._args.scale_fn
        return custom(x) if custom is not None else self._scale_fn_ref(x)  # type: ignore[misc]

    def _require_momentum(self, name: str) -> None:
        if not self._args.cycle_momentum:
            raise AttributeError(f"'CyclicLR' object has no attribute {name!r}: cycle_momentum is False")

    # -- torch's state layout -------------------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode", "cycle_momentum",
            "use_beta1", "base_momentums", "max_momentums", "base_lrs", "last_epoch", "_step_count",
            "_last_lr", "_scale_fn_custom", "_is_initial", "_get_lr_called_within_step", "verbose",
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
