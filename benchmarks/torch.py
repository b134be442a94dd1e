"""The PyTorch adapter: each drop-in's ``step()`` against torch's own scheduler of the same name.

``cyclr.torch.CyclicLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts`` and ``CosineAnnealingLR`` against
``torch.optim.lr_scheduler``'s: both drive an SGD-with-momentum (or Adam) optimizer with the same
arguments, timed in the same run; ``step()`` alone, since ``optimizer.step()`` costs the same under either.
The tensor-lr rows (each group its own ``lr=torch.tensor(0.1)``) are medians of interleaved rounds, with
the run-to-run noise of each side in the row. The capturable rows time a whole (compiled) training step:
``capturable=True`` inside the compiled function against the host ``step()`` after a compiled
``optimizer.step()``.
"""

from __future__ import annotations

import statistics
import timeit
import warnings
from collections.abc import Callable
from typing import Any

from ._timing import Row, alternating_rounds, per_call, spread

GOAL = ">= 3x faster"


def _halving(cycle: int) -> float:
    return 0.5 ** (cycle - 1)


def _optimizer(groups: int, kind: str = "sgd", tensor_lr: bool = False) -> Any:
    import torch

    # each group its own lr tensor (an optimizer's default tensor lr would be one tensor shared by all)
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": torch.tensor(0.1) if tensor_lr else 0.1}
        for _ in range(groups)
    ]
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def _step_time(make: Callable[[Any], Any], groups: int, kind: str, tensor_lr: bool) -> float:
    optimizer = _optimizer(groups, kind, tensor_lr)
    scheduler = make(optimizer)
    optimizer.step()
    scheduler.step()  # past the first step's order check, in the steady state
    return per_call("step()", namespace={"step": scheduler.step})


def rows() -> list[Row]:
    import torch

    import cyclr.torch

    per_group = {"base_lr": [0.001 * (i + 1) for i in range(10)]}
    cases = [
        ("1 group", 1, "sgd", False, {}, GOAL),
        ("10 groups", 10, "sgd", False, {}, GOAL),
        ("10 groups, per-group lists", 10, "sgd", False, per_group, GOAL),
        ("1 group, Adam (beta1)", 1, "adam", False, {}, ""),
        ("1 group, custom scale_fn (called every step)", 1, "sgd", False, {"scale_fn": _halving}, ""),
    ]
    result = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for what, groups, kind, tensor_lr, extra, goal in cases:
            kwargs = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000, **extra}
            ours = _step_time(lambda opt, k=kwargs: cyclr.torch.CyclicLR(opt, **k), groups, kind, tensor_lr)
            peer = _step_time(
                lambda opt, k=kwargs: torch.optim.lr_scheduler.CyclicLR(opt, **k), groups, kind, tensor_lr
            )
            result.append(Row(f"CyclicLR.step(), {what}", ours, "torch CyclicLR.step()", peer, goal))
        result += _family_rows()
        result += _tensor_rows()
        result += _capturable_rows()
    return result


ROUNDS = 41  # interleaved rounds per tensor-lr row; the median decides, the spread is the noise shown
PER_ROUND = 2000  # step() calls per round


def _tensor_rows() -> list[Row]:
    """Tensor lrs, one per group, 1 and 10 groups: CyclicLR, OneCycleLR and the generic Scheduler against
    torch's CyclicLR/OneCycleLR. Rounds of ours and torch's alternate, so drift hits both alike."""
    import torch

    import cyclr
    import cyclr.torch

    cyclic = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}
    onecycle = {"max_lr": 0.01, "total_steps": 10**9}
    cases = [
        ("CyclicLR", lambda o: cyclr.torch.CyclicLR(o, **cyclic), torch.optim.lr_scheduler.CyclicLR, cyclic),
        (
            "OneCycleLR",
            lambda o: cyclr.torch.OneCycleLR(o, **onecycle),
            torch.optim.lr_scheduler.OneCycleLR,
            onecycle,
        ),
        (
            "Scheduler(cyclr.CyclicLR)",
            lambda o: cyclr.torch.Scheduler(o, cyclr.CyclicLR(**cyclic)),
            torch.optim.lr_scheduler.CyclicLR,
            cyclic,
        ),
    ]
    result = []
    for name, ours_make, torch_class, kwargs in cases:
        peer_name = torch_class.__name__
        for groups in (1, 10):
            steps = []
            for make in (ours_make, lambda o, c=torch_class, k=kwargs: c(o, **k)):
                optimizer = _optimizer(groups, "sgd", tensor_lr=True)
                scheduler = make(optimizer)
                optimizer.step()
                scheduler.step()
                steps.append(timeit.Timer("step()", globals={"step": scheduler.step}))
            ours, peer = alternating_rounds(*steps, ROUNDS, PER_ROUND)
            what = (
                f"{name}.step(), {groups} group{'s' if groups > 1 else ''}, tensor lrs "
                f"(median of {ROUNDS}; noise ours {spread(ours)}, torch {spread(peer)})"
            )
            result.append(
                Row(what, statistics.median(ours), f"torch {peer_name}.step()", statistics.median(peer), GOAL)
            )
    return result


def _family_rows() -> list[Row]:
    """The one-cycle and cosine drop-ins; cycles long enough that the timing loops never reach the end."""
    import torch

    import cyclr.torch

    family = [
        ("OneCycleLR", {"max_lr": 0.01, "total_steps": 10**9}, [(1, "sgd"), (10, "sgd"), (1, "adam")]),
        ("CosineAnnealingWarmRestarts", {"T_0": 1000, "T_mult": 2}, [(1, "sgd"), (10, "sgd")]),
        ("CosineAnnealingLR", {"T_max": 10**6}, [(1, "sgd"), (10, "sgd")]),
    ]
    result = []
    for name, kwargs, cases in family:
        ours_class, torch_class = getattr(cyclr.torch, name), getattr(torch.optim.lr_scheduler, name)
        for groups, kind in cases:
            what = f"{groups} group{'s' if groups > 1 else ''}" + (", Adam (beta1)" if kind == "adam" else "")
            ours = _step_time(lambda opt, k=kwargs, c=ours_class: c(opt, **k), groups, kind, False)
            peer = _step_time(lambda opt, k=kwargs, c=torch_class: c(opt, **k), groups, kind, False)
            result.append(Row(f"{name}.step(), {what}", ours, f"torch {name}.step()", peer, GOAL))
    return result


CAPTURABLE_ROUNDS = 21  # interleaved rounds per capturable row
CAPTURABLE_PER_ROUND = 200  # training steps per round


def _capturable_rows() -> list[Row]:
    """A training step (Adam's step, then the scheduler's) with ``capturable=True`` inside one compiled
    function, against the host ``step()`` after a compiled ``optimizer.step()`` (torch's documented way
    to compile an optimizer, with tensor lr and betas so that it does not recompile). The gradients are
    set once: the step is the optimizer's update and the schedule. Compilation is outside the timing;
    rounds of the two alternate."""
    import torch

    import cyclr
    import cyclr.torch

    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    result = []
    for width in (16, 256):

        def training(capturable: bool, width: int = width) -> Callable[[], None]:
            model = torch.nn.Linear(width, width)
            for p in model.parameters():
                p.grad = torch.full_like(p, 1e-3)
            optimizer = torch.optim.Adam(
                model.parameters(), lr=torch.tensor(0.001), betas=(torch.tensor(0.9), torch.tensor(0.999))
            )
            scheduler = cyclr.torch.Scheduler(optimizer, spec, capturable=capturable)
            if capturable:

                @torch.compile
                def compiled_step() -> None:
                    optimizer.step()
                    scheduler.step()

                return compiled_step

            @torch.compile
            def optimizer_step() -> None:
                optimizer.step()

            def host_step() -> None:
                optimizer_step()
                scheduler.step()

            return host_step

        steps = []
        for capturable in (True, False):
            step = training(capturable)
            for _ in range(3):  # compile, and the optimizer's second compile (its state exists then)
                step()
            steps.append(timeit.Timer("step()", globals={"step": step}))
        ours, peer = alternating_rounds(*steps, CAPTURABLE_ROUNDS, CAPTURABLE_PER_ROUND)
        what = (
            f"compiled Adam + capturable Scheduler.step(), one training step, Linear({width}, {width}) "
            f"(median of {CAPTURABLE_ROUNDS}; noise ours {spread(ours)}, peer {spread(peer)})"
        )
        peer_name = "compiled Adam step + host Scheduler.step()"
        result.append(Row(what, statistics.median(ours), peer_name, statistics.median(peer)))
    return result
