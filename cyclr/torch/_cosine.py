"""The drop-ins for torch's ``CosineAnnealingWarmRestarts`` and ``CosineAnnealingLR``.

Both keep torch's stateful behaviour where code depends on it, and take their values from the core's
closed forms wherever torch's state agrees with them:

* ``CosineAnnealingWarmRestarts`` keeps torch's ``T_cur`` and ``T_i`` (assignable, fractional after
  ``step(epoch + i / iters)``); while they are the position of the step, the lr is the spec's.
* ``CosineAnnealingLR`` steps torch's recurrence on each group's current lr, so it chains with other
  schedulers on the same optimizer; ``Scheduler(opt, cyclr.CosineAnnealingLR(...))`` is the closed form.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import torch  # noqa: F401 (the docstring examples use it)
from torch import Tensor
from torch.optim import Optimizer

from .._ops import PYTHON
from .._validate import check_int
from ..cosine import CosineAnnealingLR as CosineSpec
from ..cosine import CosineAnnealingWarmRestarts as WarmRestartsSpec
from ..cosine import cosine_annealing_formula
from ._checks import _check_optimizer, _initial_lrs, _one_or_per_group, _plain, _torch_count, _whole_steps
from ._scheduler import Scheduler
from ._state import _check_state, _load, _state_base_lr


def _epoch(epoch: Any) -> int | float:
    """``step(epoch)``'s epoch: an integer >= 0, or a finite real number >= 0 (torch's fractional epochs)."""
    if isinstance(epoch, Tensor) and epoch.numel() == 1:
        epoch = epoch.item()
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
        raise TypeError(f"epoch must be a real number >= 0, got {epoch!r} ({type(epoch).__name__})")
    if isinstance(epoch, numbers.Integral):
        return check_int("epoch", epoch, minimum=0)
    value = float(epoch)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"epoch must be a finite number >= 0, got {epoch!r}")
    return value


def _eta_min(value: Any) -> Any:
    """torch's CosineAnnealingWarmRestarts refuses an ``eta_min`` that is no float or int with ValueError."""
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"eta_min must be a float or an int, got {value!r} ({type(value).__name__})")
    return value


def _position_state(name: str, value: Any, *, positive: bool) -> int | float:
    """A saved ``T_cur`` (a finite real >= 0) or ``T_i`` (a positive one), as a Python number."""
    value = _plain(value)
    rule = "a positive number" if positive else "a finite number >= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {rule}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return value if isinstance(value, int) else float(value)


class CosineAnnealingWarmRestarts(Scheduler):
    r"""``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` with torch's state and exact positions.

    SGDR (Loshchilov & Hutter 2017), with torch's signature, attributes and state. Each group's lr falls
    from its initial lr along half a cosine toward ``eta_min``, then restarts; each period is ``T_mult``
    times the last::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    with ``T_cur`` the steps since the last restart and ``T_i`` the current period (restarts at ``T_0``,
    ``T_0 + T_0 * T_mult``, ...). ``base_lr`` is the group's ``"initial_lr"`` (its lr, when no scheduler
    recorded one), torch's ``base_lrs``.

    As torch's, it keeps ``T_cur`` and ``T_i`` as state: ``step()`` adds one to ``T_cur`` (restarting
    when it reaches ``T_i``); ``step(epoch)`` jumps to ``epoch``, which may be fractional (torch's
    ``scheduler.step(epoch + i / iters)``, jumps backwards included); both may be assigned. Whenever they
    are the position of the step (always, for whole steps), the lr is the spec's (``self.spec``, a
    ``cyclr.CosineAnnealingWarmRestarts``): the restart is found in closed form with integers, so any
    step costs the same and jumps are exact. Otherwise (a fractional epoch, an assigned ``T_cur``) it
    is the formula above at ``T_cur`` and ``T_i``, as torch computes it.

    ``step(epoch)`` does not warn, as torch's does not for this scheduler. Its ``state_dict`` has
    torch's keys and loads both ways.

    Where it differs: whole-number positions are exact where torch's are not: its ``step(epoch)`` finds
    the restart with a float logarithm and misplaces some (``T_0=1, T_mult=3, epoch=121``), and
    resuming with ``last_epoch`` and ``T_mult > 1`` counts at most one restart. For a fractional epoch
    the restart is found from its whole part, exactly. ``T_0``, ``T_mult`` and ``eta_min`` are read-only
    (build a new scheduler to change them). A tensor lr gets the float64 value rounded once (torch
    computes in the tensor's float32). A negative or NaN ``eta_min`` raises (torch accepts it); numpy
    integers count as integers.

    Args:
        optimizer: the wrapped optimizer.
        T_0: steps until the first restart (a positive integer).
        T_mult: the factor by which each period grows (an integer >= 1).
        eta_min: the lr the cosine falls toward (>= 0).
        last_epoch: -1 to start; the index of the last step to resume (torch's convention).
        capturable: keep the step on the device of the optimizer's lr tensors and compute the values there
            with torch operations, for a compiled or CUDA-graph-captured step (see ``Scheduler``): the
            closed form ``spec(k)``, integer epochs only.

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
        >>> scheduler.step(1.5); scheduler.T_cur, scheduler.last_epoch
        (1.5, 1)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        *,
        capturable: bool = False,
    ) -> None:
        T_0 = _torch_count("T_0", T_0, "a positive integer", 1)
        T_mult = _torch_count("T_mult", T_mult, "an integer >= 1", 1)
        eta_min = _eta_min(eta_min)
        _check_optimizer(optimizer)
        base_lrs = _initial_lrs(optimizer, last_epoch)
        spec = WarmRestartsSpec(base_lr=_one_or_per_group(base_lrs), T_0=T_0, T_mult=T_mult, eta_min=eta_min)
        # torch's (T_cur, T_i) when they are not the position of last_epoch (a fractional epoch, an
        # assigned T_cur); None while they are, and then the spec gives them (and the lrs).
        self._position: tuple[Any, Any] | None = None
        super().__init__(optimizer, spec, last_epoch, capturable=capturable)
        self.base_lrs = base_lrs

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to ``epoch`` (fractional allowed, as torch), and set the lrs.

        As torch's, it does not warn: neither about ``epoch`` nor about the order of the calls. If it
        raises, nothing has changed.

        Raises:
            ValueError: ``epoch`` is negative, infinite or NaN; a computed lr is not finite.
            TypeError: ``epoch`` is not a real number.
        """
        if epoch is None and self._position is None and not self._constructing:  # the hot path
            step = self.last_epoch + 1
            self._last_lr = self._apply(step)  # first: if it raises, the scheduler has not moved
            self.last_epoch = step
            self._step_count += 1
            return
        if epoch is None and not self._constructing:  # torch's count, from an off-step position
            step = self.last_epoch + 1
            T_cur, T_i = self.T_cur, self.T_i
            T_cur += 1
            if T_cur >= T_i:
                T_cur, T_i = T_cur % T_i, T_i * self._spec.T_mult
        else:
            value = self.last_epoch + 1 if epoch is None else _epoch(epoch)
            step = math.floor(value)
            offset, T_i = self._spec.position(step)
            T_cur = offset if isinstance(value, int) else value - (step - offset)
        if (T_cur, T_i) == self._spec.position(step):
            self._last_lr = self._apply(step)
            position = None
        else:
            self._last_lr = self._write_lrs(step, self._cosine(T_cur, T_i))
            position = (T_cur, T_i)
        self._position = position
        self.last_epoch = step
        self._step_count += 1

    @property
    def T_cur(self) -> int | float:  # noqa: N802 (torch's name)
        """Steps since the last restart (torch's attribute, assignable; fractional after step(2.5))."""
        if self._position is not None:
            return self._position[0]
        return self._spec.position(max(self.last_epoch, 0))[0]

    @T_cur.setter
    def T_cur(self, value: Any) -> None:  # noqa: N802
        self._set_position(value, self.T_i)

    @property
    def T_i(self) -> int | float:  # noqa: N802
        """The length of the current period (torch's attribute; assignable)."""
        if self._position is not None:
            return self._position[1]
        return self._spec.position(max(self.last_epoch, 0))[1]

    @T_i.setter
    def T_i(self, value: Any) -> None:  # noqa: N802
        self._set_position(self.T_cur, value)

    def _set_position(self, T_cur: Any, T_i: Any) -> None:
        on_step = (T_cur, T_i) == self._spec.position(max(self.last_epoch, 0))
        self._position = None if on_step else (_plain(T_cur), _plain(T_i))

    def _cosine(self, T_cur: Any, T_i: Any) -> list[float]:
        """The lrs at a position that is not a step's: within a period, SGDR is cosine annealing over
        ``T_max = T_i`` (the core's formula), at ``T_cur``."""
        T_i = _position_state("T_i", T_i, positive=True)
        eta_min = self._spec.eta_min
        return [
            float(cosine_annealing_formula(PYTHON, T_max=T_i, start=eta_min, delta=base - eta_min)(T_cur))
            for base in self.base_lrs
        ]

    def get_lr(self) -> list[float | Tensor]:
        """The lrs at ``T_cur`` and ``T_i`` (the spec's at ``last_epoch`` while they are its position)."""
        if self._position is None:
            return super().get_lr()
        return self._cosine(*self._position)  # type: ignore[return-value]

    # -- torch's attributes, read from the spec ---------------------------------------------------------

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

    # -- torch's state layout ---------------------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "T_0", "T_i", "T_mult", "eta_min", "T_cur", "base_lrs", "last_epoch", "_step_count", "_last_lr",
            "_is_initial", "_get_lr_called_within_step", "verbose",
        }
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The state with torch's keys: ``T_0``, ``T_i``, ``T_mult``, ``eta_min``, ``T_cur``,
        ``base_lrs`` and the step. They define the schedule; it loads into torch's scheduler too."""
        return {
            "T_0": self.T_0,
            "T_i": _plain(self.T_i),
            "T_mult": self.T_mult,
            "eta_min": self.eta_min,
            "T_cur": _plain(self.T_cur),
            "base_lrs": [_plain(v) for v in self.base_lrs],
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class or by torch's (the schedule is rebuilt from it).

        ``T_cur`` and ``T_i`` are restored as saved, also when they are not the position of
        ``last_epoch`` (after torch's fractional ``step(epoch + i / iters)``, or its inexact jumps and
        resumes): the next ``step()`` continues from them, as torch's would. The optimizer and
        ``state_dict`` are not modified.

        Raises:
            TypeError, ValueError: a malformed or invalid state; nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS))
        spec = WarmRestartsSpec(
            base_lr=_state_base_lr(self, state),
            T_0=_plain(state.get("T_0", self.T_0)),
            T_mult=_plain(state.get("T_mult", self.T_mult)),
            eta_min=_plain(state.get("eta_min", self.eta_min)),
        )
        step = check_int("last_epoch", state["last_epoch"], minimum=-1)
        T_cur: int | float
        T_i: int | float
        T_cur, T_i = spec.position(max(step, 0))
        if "T_cur" in state:
            T_cur = _position_state("T_cur", state["T_cur"], positive=False) if step >= 0 else state["T_cur"]
        if "T_i" in state:
            T_i = _position_state("T_i", state["T_i"], positive=True)
        _load(self, spec, state)
        self._set_position(T_cur, T_i)


class CosineAnnealingLR(Scheduler):
    r"""``torch.optim.lr_scheduler.CosineAnnealingLR``: torch's chainable recurrence, with its closed form.

    With torch's signature, attributes and state. Each group's lr follows half a cosine from its initial
    lr down to ``eta_min`` over ``T_max`` steps, and on past ``T_max`` (back up at ``2 * T_max``)::

        closed form:   lr(k) = eta_min + (base_lr - eta_min) * (1 + cos(pi * k / T_max)) / 2
        step():        lr(k) = eta_min + (lr(k-1) - eta_min) * (1 + cos(pi * k / T_max))
                                                             / (1 + cos(pi * (k - 1) / T_max))

    As torch's, ``step()`` applies the recurrence to each group's *current* lr (the second line; at
    ``k = T_max + 1 (mod 2 * T_max)``, where its denominator is 0, torch's additive form), so it
    composes with other schedulers on the same optimizer (``ChainedScheduler``, or ``StepLR``,
    ``MultiStepLR``, ``ExponentialLR``, ``LinearLR`` stepped in turn), and its construction keeps the lr
    the group has. Alone, the recurrence drifts from the closed form by up to ~1e-12 relative over long
    runs, as torch's does. The closed form (the spec ``self.spec``, a ``cyclr.CosineAnnealingLR``) is
    what ``step(epoch)`` (torch's ``_get_closed_form_lr``), ``get_lr()``, resuming with ``last_epoch``
    and ``Scheduler(optimizer, cyclr.CosineAnnealingLR(...))`` give: use that for exact values.

    Where it differs: ``T_max`` must be a whole number of steps (``100.0`` is 100; torch also takes
    100.5), and ``T_max < 1`` raises at construction (torch: ZeroDivisionError at the first step for 0).
    A negative or NaN ``eta_min`` raises (torch accepts it). A tensor lr is read and written as a
    float64 value rounded once (torch computes in the tensor's dtype).

    Args:
        optimizer: the wrapped optimizer.
        T_max: steps from the initial lr down to ``eta_min``.
        eta_min: the lowest lr (>= 0).
        last_epoch: -1 to start; the index of the last step to resume (torch's convention).
        capturable: keep the step on the device of the optimizer's lr tensors and compute the values there
            with torch operations, for a compiled or CUDA-graph-captured step (see ``Scheduler``): the
            closed form ``spec(k)``, integer epochs only.

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

    _WRITES_STEP_0 = False  # torch's construction keeps the group's lr: that is what chaining needs

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        *,
        capturable: bool = False,
    ) -> None:
        _check_optimizer(optimizer)
        base_lrs = _initial_lrs(optimizer, last_epoch)
        spec = CosineSpec(
            base_lr=_one_or_per_group(base_lrs), T_max=_whole_steps("T_max", T_max), eta_min=_plain(eta_min)
        )
        super().__init__(optimizer, spec, last_epoch, capturable=capturable)
        self.base_lrs = base_lrs

    # A cache: torch's recurrence factor for the steps _factors_start + [0, len(_factors)).
    __slots__ = ("_factors", "_factors_start")

    _FACTORS = 1024  # steps per cached block of factors

    def _reset_cache(self) -> None:
        super()._reset_cache()
        self._block_size = 0  # the recurrence reads the groups, never a precomputed block of lrs
        self._factors: list[float | None] = []
        self._factors_start = 0

    def _fill_factors(self, step: int) -> None:
        """torch's factor ``(1 + cos(pi * k / T_max)) / (1 + cos(pi * (k - 1) / T_max))`` for a block of
        steps, in torch's operations (the same floats); None where torch adds instead (its denominator is
        exactly 0 there), NaN where the denominator rounds to 0 elsewhere (``T_max`` over ~1e8: torch
        raises ZeroDivisionError; here the NaN lr is refused by name)."""
        T_max, cos, pi, size = self._spec.T_max, math.cos, math.pi, self._FACTORS
        # 1 + cos(pi * k / T_max) for k = step - 1, ..., step + size - 1: each is one factor's
        # numerator and the next one's denominator (the same floats torch computes twice).
        terms = [1 + cos(pi * k / T_max) for k in range(step - 1, step + size)]
        factors: list[float | None] = [
            above / below if below != 0 else math.nan for below, above in zip(terms, terms[1:], strict=False)
        ]
        period = 2 * T_max
        first = step + (T_max + 1 - step) % period  # the first k >= step with (k - 1 - T_max) % period == 0
        for k in range(first, step + size, period):
            factors[k - step] = None
        self._factors, self._factors_start = factors, step

    def _apply(self, step: int) -> list[float | Tensor]:
        """torch's ``step()``: the recurrence on each group's current lr (see the class docstring).

        This runs at every step: the common case (float lrs, finite values, a cached factor) is plain
        loops; everything else goes to ``_apply_in_general``, which gives the same values.
        """
        offset = step - self._factors_start
        factors = self._factors
        if self._constructing or not 0 <= offset < len(factors) or factors[offset] is None:
            return self._apply_in_general(step)
        factor, eta_min = factors[offset], self._spec.eta_min
        groups = self.optimizer.param_groups
        lrs = []
        for group in groups:
            lr = group["lr"]
            if type(lr) is not float:
                return self._apply_in_general(step)
            lr = factor * (lr - eta_min) + eta_min
            if lr - lr != 0.0:  # inf or nan
                return self._apply_in_general(step)
            lrs.append(lr)
        index = 0
        for group in groups:  # every value checked: now written
            group["lr"] = lrs[index]
            index += 1
        return lrs

    def _apply_in_general(self, step: int) -> list[float | Tensor]:
        groups = self.optimizer.param_groups
        if self._constructing:
            if step == 0:
                return [g["lr"].clone() if isinstance(g["lr"], Tensor) else _plain(g["lr"]) for g in groups]
            return super()._apply(step)  # resuming at last_epoch + 1: torch's closed form
        offset = step - self._factors_start
        if not 0 <= offset < len(self._factors):
            self._fill_factors(step)
            offset = 0
        factor, eta_min = self._factors[offset], self._spec.eta_min
        if factor is None:
            T_max = self._spec.T_max
            lrs = [
                float(g["lr"]) + (base - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                for g, base in zip(groups, self.base_lrs, strict=True)
            ]
        else:
            lrs = [factor * (float(g["lr"]) - eta_min) + eta_min for g in groups]
        return self._write_lrs(step, lrs)  # checks that every lr is finite, writes floats and tensors

    def _jump(self, step: int) -> list[float | Tensor]:
        return super()._apply(step)  # step(epoch): the closed form, as torch's _get_closed_form_lr

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
         "_get_lr_called_within_step", "verbose"}
    )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The state with torch's keys: ``T_max``, ``eta_min``, ``base_lrs`` and the step. They define the
        schedule; it loads into torch's scheduler too."""
        return {
            "T_max": self.T_max,
            "eta_min": self.eta_min,
            "base_lrs": [_plain(v) for v in self.base_lrs],
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state saved by this class or by torch's (the schedule is rebuilt from it). The
        optimizer and ``state_dict`` are not modified; the next ``step()`` continues the recurrence from
        the groups' lrs (restore the optimizer's state_dict too).

        Raises:
            TypeError, ValueError: a malformed or invalid state; nothing is changed then.
            KeyError: the state has no ``"last_epoch"``.
        """
        state = _check_state(state_dict, set(self._TORCH_KEYS))
        spec = CosineSpec(
            base_lr=_state_base_lr(self, state),
            T_max=_whole_steps("T_max", state.get("T_max", self.T_max)),
            eta_min=_plain(state.get("eta_min", self.eta_min)),
        )
        _load(self, spec, state)
