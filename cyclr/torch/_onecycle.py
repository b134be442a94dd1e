"""The drop-in for ``torch.optim.lr_scheduler.OneCycleLR``, over a ``cyclr.OneCycleLR`` spec."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch  # noqa: F401 (the docstring examples use it)
from torch.optim import Optimizer

from .._spec import from_dict
from .._validate import check_choice, check_int
from ..onecycle import ANNEAL_STRATEGIES
from ..onecycle import OneCycleLR as OneCycleSpec
from ._checks import _check_optimizer, _one_or_per_group, _per_group, _plain, _torch_count
from ._scheduler import Scheduler
from ._state import _check_state, _load


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
    return str(check_choice("anneal_strategy", value, ANNEAL_STRATEGIES))


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


def _legacy_anneal_strategy(function: Any) -> str:
    """The strategy of torch 2.0/2.1's ``"anneal_func"`` state: its ``_annealing_cos`` or
    ``_annealing_linear`` (a function or a bound method; torch's or this class's)."""
    name = getattr(function, "__name__", None)
    strategies = {"_annealing_cos": "cos", "_annealing_linear": "linear"}
    if name not in strategies:
        raise ValueError(
            "the state's anneal_func must be OneCycleLR's _annealing_cos or _annealing_linear, "
            f"got {function!r}"
        )
    return strategies[name]


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
        capturable: keep the step on the device of the optimizer's lr tensors and compute the values there
            with torch operations, for a compiled or CUDA-graph-captured step (see ``Scheduler``); past
            ``total_steps`` it gives the spec's last value instead of raising (that check needs the host).

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
        *,
        capturable: bool = False,
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
            cycle_momentum=_plain(cycle_momentum),
            div_factor=_plain(div_factor),
            final_div_factor=_plain(final_div_factor),
            three_phase=_plain(three_phase),
            **{name: _one_or_per_group(values) for name, values in momenta.items()},
        )
        last_epoch = check_int("last_epoch", last_epoch, minimum=-1)
        if last_epoch + 1 > total_steps:
            raise _past_the_end(last_epoch + 1, total_steps)
        super().__init__(
            optimizer, spec, last_epoch, capturable=capturable
        )  # validates the rest, then writes the first step
        div_factor, final_div_factor = _plain(div_factor), _plain(final_div_factor)
        self.base_lrs = [top / div_factor for top in max_lrs]
        self._anneal_func_type = anneal_strategy  # torch's attribute (the spec decides the values)
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

    @staticmethod
    def _annealing_cos(start: float, end: float, pct: float) -> float:
        """torch's cosine anneal from ``start`` to ``end`` as ``pct`` goes from 0 to 1 (torch's
        attribute, for code that calls it; cyclr's values come from the spec's formula)."""
        cos_out = math.cos(math.pi * pct) + 1
        return end + (start - end) / 2.0 * cos_out

    @staticmethod
    def _annealing_linear(start: float, end: float, pct: float) -> float:
        """torch's linear anneal from ``start`` to ``end`` as ``pct`` goes from 0 to 1 (torch's attribute)."""
        return (end - start) * pct + start

    # -- torch's state layout, and the spec -------------------------------------------------------------

    _TORCH_KEYS = frozenset(
        {
            "total_steps", "_schedule_phases", "_anneal_func_type", "cycle_momentum", "use_beta1", "base_lrs",
            "last_epoch", "_step_count", "_last_lr", "_is_initial", "_get_lr_called_within_step",
            "anneal_func", "verbose",  # torch 2.0 and 2.1 saved the anneal function; up to 2.6, verbose
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
            "cycle_momentum": self.cycle_momentum,
        }
        if hasattr(self, "_anneal_func_type"):  # torch's state has it unless the attribute was deleted
            state["_anneal_func_type"] = self._anneal_func_type
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
        if "anneal_func" in state:  # torch 2.0/2.1: the function itself, in place of its name
            legacy = _legacy_anneal_strategy(state.pop("anneal_func"))
            state.setdefault("_anneal_func_type", legacy)
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
        self._anneal_func_type = spec.anneal_strategy
