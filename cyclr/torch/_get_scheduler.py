"""``get_scheduler``: transformers' ``get_scheduler`` (names, signature, errors, values) on cyclr specs.

transformers builds each schedule as a ``LambdaLR``: a Python factor of the step times each group's
initial lr. Here each name is a cyclr spec with the same values (``get_spec``), driven by
``cyclr.torch.Scheduler``: the spec is public (``scheduler.spec``), so the same schedule runs in JAX,
Keras, numba and the CLI, and ``step()`` reads precomputed blocks instead of calling a lambda per group.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from torch.optim import Optimizer

from .._spec import Spec
from .._validate import check_int, check_real, show
from ..compose import join, warmup
from ..cosine_decay import CosineDecay
from ..inverse_sqrt import InverseSqrt
from ..wsd import WarmupStableDecay
from ._checks import _check_optimizer
from ._scheduler import Scheduler

NAMES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
    "greedy",
)
"""transformers' ``SchedulerType`` values, in its order."""

METRIC_DRIVEN = {
    "reduce_lr_on_plateau": "torch.optim.lr_scheduler.ReduceLROnPlateau",
    "greedy": "transformers.optimization.GreedyLR",
}

# The keyword arguments each schedule function of transformers takes beyond the optimizer and the two
# step counts (last_epoch: the Scheduler's); anything else is transformers' TypeError.
_KWARGS: dict[str, tuple[str, ...]] = {
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"),
    "constant": (),
    "constant_with_warmup": (),
    "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "warmup_stable_decay": (
        "num_decay_steps",
        "num_stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    ),
}
_IGNORED_KWARGS = ("constant", "constant_with_warmup")  # transformers drops their kwargs


def _name(name: Any) -> str:
    """transformers' ``SchedulerType(name)``: a name or the enum (its value is the name)."""
    value = getattr(name, "value", name)
    if not isinstance(value, str) or value not in NAMES:
        shown = value if isinstance(value, str) else show(value)
        raise ValueError(f"{shown} is not a valid SchedulerType, please select one of {list(NAMES)}")
    return value


def _groups(base_lr: Any) -> float | tuple[float, ...]:
    if isinstance(base_lr, Sequence) and not isinstance(base_lr, str):
        values = tuple(base_lr)
        return values[0] if len(values) == 1 else values
    return base_lr


def _scaled(base_lr: float | tuple[float, ...], factor: float) -> float | tuple[float, ...]:
    """``base_lr * factor`` per group, as transformers' LambdaLR multiplies each group's lr."""
    if isinstance(base_lr, tuple):
        return tuple(lr * factor for lr in base_lr)
    return base_lr * factor


def _with_warmup(spec: Spec, num_warmup_steps: int) -> Spec:
    """transformers' ``step / max(1, num_warmup_steps)`` ramp from 0 in front of ``spec``."""
    return warmup(spec, num_warmup_steps) if num_warmup_steps > 0 else spec


def _decay_steps(name: str, num_warmup_steps: int, num_training_steps: int) -> int:
    if num_training_steps <= num_warmup_steps:
        raise ValueError(
            f"{name} needs num_training_steps > num_warmup_steps (the decay has num_training_steps - "
            f"num_warmup_steps steps), got num_training_steps={num_training_steps}, "
            f"num_warmup_steps={num_warmup_steps}"
        )
    return num_training_steps - num_warmup_steps


def _min_lr_rate(kwargs: Mapping[str, Any], default_lr: float | None) -> float:
    min_lr, min_lr_rate = kwargs.get("min_lr"), kwargs.get("min_lr_rate")
    if min_lr is not None and min_lr_rate is not None:
        raise ValueError("Only one of min_lr or min_lr_rate should be set")
    if min_lr is not None:
        return min_lr / _default_lr(default_lr, "min_lr")
    if min_lr_rate is None:
        raise ValueError("One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`")
    return min_lr_rate


def _default_lr(default_lr: float | None, what: str) -> float:
    if default_lr is None:
        raise ValueError(
            f"{what} is relative to the optimizer's default lr (transformers reads "
            f"optimizer.defaults['lr']): pass default_lr to get_spec for a spec with parameter groups"
        )
    return default_lr


def get_spec(
    name: Any,
    base_lr: float | Sequence[float],
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: Mapping[str, Any] | None = None,
    *,
    default_lr: float | None = None,
) -> Spec:
    """The cyclr spec of transformers' schedule ``name``: ``get_scheduler``'s schedule, as a value.

    transformers multiplies a factor of the step by each group's initial lr; the spec has those lrs as
    its ``base_lr`` (one per group when there are several), and the factor as its shape:

    ==========================  ====================================================================
    name                        spec (``W = num_warmup_steps``, ``N = num_training_steps``)
    ==========================  ====================================================================
    constant                    ``Constant(base_lr)``
    constant_with_warmup        ``warmup(Constant(base_lr), W)``
    linear                      ``warmup(PolynomialDecay(base_lr, N - W), W)``
    polynomial                  ``warmup(PolynomialDecay(base_lr, N - W, end_lr=lr_end, power), W)``
    cosine                      ``warmup(CosineDecay(base_lr, N - W, num_cycles, after="continue"), W)``
    cosine_with_restarts        ``warmup(CosineDecay(.., hard_restarts=True, after="zero"), W)``
    inverse_sqrt                ``warmup(InverseSqrt(base_lr, timescale), W)``
    cosine_with_min_lr          ``warmup(CosineDecay(.., alpha=min_lr_rate, after="continue"), W)``
    cosine_warmup_with_min_lr   ``warmup(CosineDecay(.., alpha=min_lr_rate), W - 1, base_lr / W)``
    warmup_stable_decay         ``WarmupStableDecay(base_lr, W, num_decay_steps, N, ...)``
    ==========================  ====================================================================

    (No warmup when ``W == 0``. ``cosine_warmup_with_min_lr`` rises to ``base_lr`` one step early and
    counts its decay from 1: with ``W < 2`` or ``warmup_lr_rate`` its spec is built accordingly.)

    Args:
        name: a transformers scheduler name, or its ``SchedulerType``.
        base_lr: each group's initial lr: a float, or one per group.
        num_warmup_steps: warmup steps (every name but "constant" needs it).
        num_training_steps: total steps (every decay needs it; "warmup_stable_decay" may have
            ``num_stable_steps`` instead).
        scheduler_specific_kwargs: the schedule's own arguments, as transformers takes them
            (``num_cycles``, ``lr_end``, ``power``, ``timescale``, ``min_lr``, ``min_lr_rate``,
            ``warmup_lr_rate``, ``num_decay_steps``, ``num_stable_steps``, ``warmup_type``,
            ``decay_type``, ``min_lr_ratio``).
        default_lr: the optimizer's default lr, which transformers divides ``lr_end`` (polynomial) and
            ``min_lr`` by; defaults to ``base_lr`` when that is one float.

    Returns:
        A cyclr spec; ``spec.lr_at(k)`` is the lr transformers' scheduler sets after ``k`` steps.

    Raises:
        ValueError: an unknown name (transformers' message); "reduce_lr_on_plateau" and "greedy" (they
            follow a metric, not the step: no pure function of the step reproduces them);
            transformers' errors for a missing ``num_warmup_steps``/``num_training_steps``, for
            ``lr_end`` not below the initial lr and for ``min_lr``/``min_lr_rate``; a decay with
            ``num_training_steps <= num_warmup_steps`` (transformers gives a meaningless schedule:
            a cosine alternating between its extremes); the specs' own errors.
        TypeError: a keyword the schedule does not take (as transformers); a step count that is not
            an integer; ``scheduler_specific_kwargs`` not a mapping.

    Examples:
        >>> import cyclr.torch
        >>> spec = cyclr.torch.get_spec("cosine", 0.1, num_warmup_steps=10, num_training_steps=110)
        >>> spec.lr_at(5), spec.lr_at(10), round(spec.lr_at(60), 12)
        (0.05, 0.1, 0.05)
    """
    name = _name(name)
    if name in METRIC_DRIVEN:
        raise ValueError(
            f"{name} is driven by a metric ({METRIC_DRIVEN[name]} changes the lr when the loss stops "
            f"improving), not a pure function of the step, so it has no cyclr spec; use "
            f"{METRIC_DRIVEN[name]} itself"
        )
    from ..decay import Constant, PolynomialDecay  # S1's module (issue 12)

    base = _groups(base_lr)
    if default_lr is None and not isinstance(base, tuple):
        default_lr = base
    if scheduler_specific_kwargs is not None and not isinstance(scheduler_specific_kwargs, Mapping):
        raise TypeError(
            f"scheduler_specific_kwargs must be a dict of keyword arguments or None, got "
            f"{show(scheduler_specific_kwargs)} ({type(scheduler_specific_kwargs).__name__})"
        )
    kwargs = dict(scheduler_specific_kwargs or {})
    if name not in _IGNORED_KWARGS:
        unknown = sorted(set(kwargs) - set(_KWARGS[name]))
        if unknown:
            raise TypeError(
                f"{name} got unexpected scheduler_specific_kwargs {unknown}; it takes {list(_KWARGS[name])}"
            )
    if name == "constant":
        return Constant(base)
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires `num_warmup_steps`, please provide that argument.")
    W = check_int("num_warmup_steps", num_warmup_steps, minimum=0)
    if name == "constant_with_warmup":
        return _with_warmup(Constant(base), W)
    if name == "inverse_sqrt":
        timescale = kwargs.get("timescale")
        if timescale is None:
            timescale = W or 10_000
        return _with_warmup(InverseSqrt(base, timescale), W)
    if name == "warmup_stable_decay":
        if "num_decay_steps" not in kwargs:
            raise TypeError("warmup_stable_decay requires num_decay_steps in scheduler_specific_kwargs")
        N = num_training_steps
        if N is not None and kwargs.get("num_stable_steps") is not None:
            warnings.warn(
                "Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used.",
                stacklevel=3,
            )
            N = None
        return WarmupStableDecay(base, W, num_training_steps=N, **kwargs)
    if num_training_steps is None:
        raise ValueError(f"{name} requires `num_training_steps`, please provide that argument.")
    N = check_int("num_training_steps", num_training_steps, minimum=0)
    D = _decay_steps(name, W, N)
    if name == "linear":
        return _with_warmup(PolynomialDecay(base, D), W)
    if name == "polynomial":
        lr_end, power = kwargs.get("lr_end", 1e-7), kwargs.get("power", 1.0)
        lr_init = _default_lr(default_lr, "lr_end")
        if not lr_init > lr_end:
            raise ValueError(f"lr_end ({lr_end}) must be smaller than initial lr ({lr_init})")
        end = _scaled(base, lr_end / lr_init)
        return _with_warmup(PolynomialDecay(base, D, end_lr=end, power=power), W)
    num_cycles = kwargs.get("num_cycles", 1 if name == "cosine_with_restarts" else 0.5)
    if name == "cosine":
        return _with_warmup(CosineDecay(base, D, num_cycles=num_cycles, after="continue"), W)
    if name == "cosine_with_restarts":
        decay = CosineDecay(base, D, num_cycles=num_cycles, hard_restarts=True, after="zero")
        return _with_warmup(decay, W)
    alpha = _min_lr_rate(kwargs, default_lr)
    if name == "cosine_with_min_lr":
        return _with_warmup(CosineDecay(base, D, alpha, num_cycles=num_cycles, after="continue"), W)
    # cosine_warmup_with_min_lr: warmup (step + 1) / W (or warmup_lr_rate + (1 - warmup_lr_rate) * step /
    # (W - 1)), reaching base_lr at step W - 1; the decay's progress is (step - W + 1) / (N - W).
    rate = kwargs.get("warmup_lr_rate")
    if rate is not None:
        rate = check_real("warmup_lr_rate", rate, minimum=0.0, maximum=1.0)
    if W == 0 or (W == 1 and rate is not None):
        decay = CosineDecay(base, D, alpha, num_cycles=num_cycles, after="continue", offset=1)
        if W == 0:
            return decay
        assert rate is not None
        return join([Constant(_scaled(base, rate)), decay], [1])
    decay = CosineDecay(base, D, alpha, num_cycles=num_cycles, after="continue")
    if W == 1:
        return decay
    return warmup(decay, W - 1, _scaled(base, 1.0 / W if rate is None else rate))


def get_scheduler(
    name: Any,
    optimizer: Optimizer,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: Mapping[str, Any] | None = None,
) -> Scheduler:
    """transformers' ``get_scheduler``, on cyclr: the same names, signature, errors and values.

    Returns a ``cyclr.torch.Scheduler`` over ``get_spec(name, lrs, ...)``, where ``lrs`` are the
    optimizer's group lrs now (each group's initial lr, as transformers' LambdaLR takes them). Its ``spec``
    is the schedule as a value: ``cyclr.jax.lr_schedule(scheduler.spec)`` is the same schedule in JAX.
    Give it to a transformers ``Trainer`` with ``optimizers=(optimizer, scheduler)``.

    Args:
        name: a transformers scheduler name or ``SchedulerType`` (see ``get_spec`` for the specs).
        optimizer: the torch optimizer.
        num_warmup_steps, num_training_steps, scheduler_specific_kwargs: as transformers'. Resume
            with ``load_state_dict`` (the Trainer does); ``last_epoch`` is not taken.

    Returns:
        A ``cyclr.torch.Scheduler``.

    Raises:
        ValueError, TypeError: those of ``get_spec``, and of ``Scheduler`` (a non-optimizer);
            TypeError: ``last_epoch`` in ``scheduler_specific_kwargs``.

    Examples:
        >>> import torch, cyclr.torch
        >>> opt = torch.optim.AdamW(torch.nn.Linear(2, 1).parameters(), lr=1e-3)
        >>> scheduler = cyclr.torch.get_scheduler("linear", opt, num_warmup_steps=2, num_training_steps=10)
        >>> opt.step(); scheduler.step(); scheduler.get_last_lr()
        [0.0005]
        >>> type(scheduler.spec).__name__
        'Warmup'
    """
    _check_optimizer(optimizer)
    if "last_epoch" in (scheduler_specific_kwargs or {}):
        raise TypeError(
            "last_epoch is not taken here: the base lrs are the optimizer's current lrs; to resume, "
            "build the scheduler the same way and load its state_dict (as the Trainer does)"
        )
    spec = get_spec(
        name,
        [float(group["lr"]) for group in optimizer.param_groups],
        num_warmup_steps,
        num_training_steps,
        scheduler_specific_kwargs,
        default_lr=float(optimizer.defaults["lr"]),
    )
    return Scheduler(optimizer, spec)
