"""The PyTorch adapter: each drop-in's ``step()`` against torch's own scheduler of the same name.

``cyclr.torch.CyclicLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts`` and ``CosineAnnealingLR`` against
``torch.optim.lr_scheduler``'s: both drive an SGD-with-momentum (or Adam) optimizer with the same
arguments, timed in the same run; ``step()`` alone, since ``optimizer.step()`` costs the same under either.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ._timing import Row, per_call

GOAL = ">= 3x faster"


def _halving(cycle: int) -> float:
    return 0.5 ** (cycle - 1)


def _optimizer(groups: int, kind: str = "sgd", tensor_lr: bool = False) -> Any:
    import torch

    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    lr = torch.tensor(0.1) if tensor_lr else 0.1
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


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
        ("1 group, tensor lr", 1, "sgd", True, {}, ""),
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
