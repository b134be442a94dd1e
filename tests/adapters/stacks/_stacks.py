"""What the training-stack tests share: a tiny model, synthetic data, and the schedules they drive.

Everything is small and deterministic (CPU, float32, fixed seeds), so two runs that take the same steps
with the same learning rates end with bit-identical weights: that is how "resumes exactly" is tested.
The data a step sees is a function of the step alone (``batch_for(step)``), never of a data loader's
position, so a resumed run sees what the uninterrupted run saw whatever the stack does with its loaders.

Examples:
    >>> x, y = batch_for(3)
    >>> tuple(x.shape), tuple(y.shape)
    ((4, 3), (4, 1))
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import torch

import cyclr
import cyclr.torch

FEATURES = 3
BATCH = 4
TABLE_ROWS = 64

_generator = torch.Generator().manual_seed(20261202)
_X = torch.randn(TABLE_ROWS, FEATURES, generator=_generator)
_Y = _X @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.1 * torch.randn(TABLE_ROWS, 1, generator=_generator)


def batch_for(step: int, micro: int = 0, accumulate: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic batch of optimizer step ``step`` (micro-batch ``micro`` of ``accumulate``)."""
    start = ((step * accumulate + micro) * BATCH) % TABLE_ROWS
    rows = torch.arange(start, start + BATCH) % TABLE_ROWS
    return _X[rows], _Y[rows]


def tiny_model(seed: int = 0) -> torch.nn.Module:
    """A 3 -> 8 -> 1 MLP with weights fixed by ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(FEATURES, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def loss_of(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


# The schedules under test: short cycles, so a run of a dozen steps crosses a turn of the triangle.
CYCLIC = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2, mode="triangular2")
ONE_CYCLE_TOTAL = 12
ONE_CYCLE = cyclr.OneCycleLR(max_lr=0.1, total_steps=ONE_CYCLE_TOTAL, pct_start=0.25)
WARMUP_ONE_CYCLE = cyclr.warmup(ONE_CYCLE, warmup_steps=2)  # ends at step ONE_CYCLE_TOTAL + 2


# The cosine family: the drop-ins take their base lr from the optimizer (sgd's lr=0.05).
SGDR = cyclr.CosineAnnealingWarmRestarts(base_lr=0.05, T_0=3, T_mult=2, eta_min=0.001)
COSINE = cyclr.CosineAnnealingLR(base_lr=0.05, T_max=8, eta_min=0.001)
SGD_MOMENTUM = 0.9  # what the group's momentum stays at under a schedule without momentum

# The schedulers whose values are torch's recursive float formulas, equal to the spec's to 1e-12 relative
# (not bit for bit): torch's own classes, and the chainable CosineAnnealingLR drop-in (issue 9, item 2).
RECURSIVE = ("cyclic-torch", "onecycle-torch", "sgdr-torch", "cosine-torch", "cosine-dropin")


def sgd(model: torch.nn.Module) -> torch.optim.SGD:
    """SGD with momentum, so that the schedules' momentum has somewhere to go."""
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def make_scheduler(kind: str, optimizer: torch.optim.Optimizer) -> Any:
    """A scheduler over ``CYCLIC`` or ``ONE_CYCLE``, built by the generic ``Scheduler``, cyclr's drop-in,
    or torch's own class (the control: a stack's behaviour that torch's class shows too is not cyclr's);
    ``-numpy``: ``CYCLIC`` from numpy scalars (``np.float64``, ``np.int64``, ``np.True_``)."""
    if kind == "cyclic-generic":
        return cyclr.torch.Scheduler(optimizer, CYCLIC)
    if kind == "cyclic-dropin":
        return cyclr.torch.CyclicLR(optimizer, **_cyclic_args())
    if kind == "cyclic-torch":
        return torch.optim.lr_scheduler.CyclicLR(optimizer, **_cyclic_args())
    if kind == "cyclic-numpy":  # numpy scalars as arguments, the way values come out of numpy code
        return cyclr.torch.Scheduler(
            optimizer, cyclr.CyclicLR(**_cyclic_args(numpy=True), cycle_momentum=np.True_)
        )
    if kind == "cyclic-dropin-numpy":
        return cyclr.torch.CyclicLR(optimizer, **_cyclic_args(numpy=True), cycle_momentum=np.True_)
    if kind == "onecycle-generic":
        return cyclr.torch.Scheduler(optimizer, ONE_CYCLE)
    if kind == "warmup-onecycle-generic":  # a composed spec ending in a one-cycle: no total_steps
        return cyclr.torch.Scheduler(optimizer, WARMUP_ONE_CYCLE)
    if kind == "onecycle-dropin":
        return cyclr.torch.OneCycleLR(optimizer, **_one_cycle_args())
    if kind == "onecycle-torch":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, **_one_cycle_args())
    if kind == "sgdr-generic":
        return cyclr.torch.Scheduler(optimizer, SGDR)
    if kind == "sgdr-dropin":
        return cyclr.torch.CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2, eta_min=0.001)
    if kind == "sgdr-torch":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2, eta_min=0.001)
    if kind == "cosine-generic":
        return cyclr.torch.Scheduler(optimizer, COSINE)
    if kind == "cosine-dropin":
        return cyclr.torch.CosineAnnealingLR(optimizer, T_max=8, eta_min=0.001)
    if kind == "cosine-torch":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8, eta_min=0.001)
    raise ValueError(f"kind must name a scheduler, got {kind!r}")


def _cyclic_args(numpy: bool = False) -> dict[str, Any]:
    real, whole = (np.float64, np.int64) if numpy else (float, int)
    return {
        "base_lr": real(0.01), "max_lr": real(0.1), "step_size_up": whole(3), "step_size_down": whole(2),
        "mode": "triangular2",
    }  # fmt: skip


def _one_cycle_args() -> dict[str, Any]:
    return {"max_lr": 0.1, "total_steps": ONE_CYCLE_TOTAL, "pct_start": 0.25}


def spec_of(kind: str) -> Any:
    if kind.startswith("warmup-onecycle"):
        return WARMUP_ONE_CYCLE
    family = kind.split("-")[0]
    return {"cyclic": CYCLIC, "onecycle": ONE_CYCLE, "sgdr": SGDR, "cosine": COSINE}[family]


def expected(kind: str, step: int) -> tuple[float, float]:
    """The (lr, momentum) of ``step``: the spec's value for cyclr's schedulers, and also for torch's
    (cyclr's specs give torch's values; the tests compare torch's to within 1e-12 relative)."""
    lr, momentum = spec_of(kind)(step)
    return float(lr), SGD_MOMENTUM if momentum is None else float(momentum)


def assert_schedule(kind: str, seen: list[tuple[int, float, float]]) -> None:
    """Every ``(step, lr, momentum)`` seen equals the spec's value at that step: exactly for cyclr, to
    1e-12 relative for the ``RECURSIVE`` ones (a float recursion rounds differently)."""
    assert seen, "no step was seen"
    for step, lr, momentum in seen:
        want_lr, want_momentum = expected(kind, step)
        if kind in RECURSIVE:
            assert abs(lr - want_lr) <= 1e-12 * abs(want_lr), (step, lr, want_lr)
            assert abs(momentum - want_momentum) <= 1e-12 * abs(want_momentum), (
                step,
                momentum,
                want_momentum,
            )
        else:
            assert (lr, momentum) == (want_lr, want_momentum), (step, lr, momentum, want_lr, want_momentum)


def assert_same_weights(
    a: torch.nn.Module | dict[str, torch.Tensor], b: torch.nn.Module | dict[str, torch.Tensor]
) -> None:
    """Bit-identical parameters (and buffers)."""
    first = a.state_dict() if isinstance(a, torch.nn.Module) else a
    second = b.state_dict() if isinstance(b, torch.nn.Module) else b
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def free_port() -> int:
    """A free TCP port on the loopback interface (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_processes(function: Any, args: tuple[Any, ...], processes: int = 2, timeout: float = 120.0) -> None:
    """``torch.multiprocessing`` spawn of ``function(rank, *args)`` on ``processes`` ranks, bounded in
    time: past ``timeout`` seconds every rank is killed and the test fails (no hung CI run).

    A rank that raises makes this raise (torch's ``ProcessRaisedException``, with the rank's traceback).
    """
    import time

    import torch.multiprocessing as mp

    context = mp.start_processes(function, args=args, nprocs=processes, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    while not context.join(timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
        if time.monotonic() > deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            raise TimeoutError(f"{processes} processes of {function.__name__} ran past {timeout} s")


def loopback_environment(rank: int, world_size: int, port: int) -> None:
    """The environment torch.distributed (and Accelerate) read, for a run on 127.0.0.1 only."""
    import os

    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world_size),
            "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(world_size),
            "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1",
        }
    )  # fmt: skip
    torch.set_num_threads(1)
