"""The functions the multi-process tests spawn (importable by name in a fresh process, as spawn needs).

Each rank writes what it saw to ``out/rank{r}.pt`` (plain types and tensors, read back with
``torch.load(weights_only=True)``); the test compares the ranks and the runs.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import torch
from _stacks import batch_for, loopback_environment, loss_of, make_scheduler, sgd, tiny_model

import cyclr.torch

TIMEOUT = datetime.timedelta(seconds=60)  # a collective that waits longer fails the run


def ddp_train_save_resume(
    rank: int, world_size: int, port: int, specs: dict[str, Any], steps: int, save_at: int, out: str
) -> None:
    """DDP over gloo on 127.0.0.1, for each of ``specs`` (which came through spawn's pickling): train
    ``steps`` steps with ``Scheduler(opt, spec)``, rank 0 saving a checkpoint after ``save_at``; then
    every rank builds a fresh model, optimizer and scheduler, loads that checkpoint and trains from
    ``save_at`` to ``steps``. One process group serves every spec (a spawn costs seconds)."""
    import torch.distributed as dist

    loopback_environment(rank, world_size, port)
    # Rendezvous through a file in the run's folder, not a TCP port: a port found free by the parent may
    # be taken before rank 0 binds it (a CI run once lost rank 0 to SIGABRT inside gloo's setup).
    dist.init_process_group(
        "gloo",
        init_method=(Path(out) / "rendezvous").resolve().as_uri(),
        rank=rank,
        world_size=world_size,
        timeout=TIMEOUT,
    )
    try:
        results = {
            name: _ddp_run(rank, world_size, spec, steps, save_at, Path(out) / f"{name}.pt")
            for name, spec in specs.items()
        }
        torch.save(results, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _ddp_run(
    rank: int, world_size: int, spec: Any, steps: int, save_at: int, checkpoint: Path
) -> dict[str, Any]:
    from torch.nn.parallel import DistributedDataParallel

    model = DistributedDataParallel(tiny_model())
    optimizer = sgd(model)
    scheduler = cyclr.torch.Scheduler(optimizer, spec)
    whole = _ddp_train(rank, world_size, model, optimizer, scheduler, range(steps), save_at, checkpoint)

    state = torch.load(checkpoint, weights_only=True)  # every rank reads rank 0's file
    fresh = tiny_model(seed=rank + 100)  # other weights: the checkpoint must replace them
    fresh.load_state_dict(state["model"])
    fresh = DistributedDataParallel(fresh)
    fresh_optimizer = sgd(fresh)
    # torch's order: build the scheduler (it writes step 0 into the groups), then load the optimizer (its
    # saved lr and momentum replace step 0's), then the scheduler (the step).
    fresh_scheduler = cyclr.torch.Scheduler(fresh_optimizer, spec)
    fresh_optimizer.load_state_dict(state["optimizer"])
    fresh_scheduler.load_state_dict(state["scheduler"])
    resumed = _ddp_train(rank, world_size, fresh, fresh_optimizer, fresh_scheduler, range(save_at, steps))
    return {
        "whole": whole, "resumed": resumed,
        "weights": {k: v.clone() for k, v in model.module.state_dict().items()},
        "resumed_weights": {k: v.clone() for k, v in fresh.module.state_dict().items()},
        "scheduler": scheduler.state_dict(), "resumed_scheduler": fresh_scheduler.state_dict(),
    }  # fmt: skip


def _ddp_train(
    rank: int, world_size: int, model: Any, optimizer: Any, scheduler: Any, steps: range,
    save_at: int | None = None, checkpoint: Path | None = None,
) -> list[tuple[int, float, float]]:  # fmt: skip
    """Train over ``steps`` (each rank on its own shard of the step's data); record ``(step, lr,
    momentum)``; after step ``save_at - 1`` rank 0 saves model, optimizer and scheduler state."""
    import torch.distributed as dist

    seen = []
    for step in steps:
        group = optimizer.param_groups[0]
        seen.append((step, group["lr"], group["momentum"]))
        optimizer.zero_grad()
        loss_of(model, batch_for(step, micro=rank, accumulate=world_size)).backward()
        optimizer.step()
        scheduler.step()
        if step + 1 == save_at:
            if rank == 0:
                state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict()}  # fmt: skip
                torch.save(state, checkpoint)
            dist.barrier()  # no rank reads the file before it is written
    return seen


def accelerate_steps(
    rank: int, world_size: int, port: int, kinds: list[str], optimizer_steps: int, out: str
) -> None:
    """An Accelerate run on ``world_size`` CPU processes (gloo, 127.0.0.1): for each scheduler kind,
    ``prepare`` a fresh model, optimizer, loader and scheduler and take ``optimizer_steps`` steps,
    recording the lr and momentum each step used and where the scheduler ends."""
    loopback_environment(rank, world_size, port)
    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs

    accelerator = Accelerator(
        cpu=True, kwargs_handlers=[InitProcessGroupKwargs(backend="gloo", timeout=TIMEOUT)]
    )
    assert accelerator.num_processes == world_size
    results: dict[str, Any] = {}
    for kind in kinds:
        model = tiny_model()
        optimizer = sgd(model)
        scheduler = make_scheduler(kind, optimizer)
        loader = torch.utils.data.DataLoader(torch.arange(world_size * optimizer_steps), batch_size=1)
        model, optimizer, loader, prepared = accelerator.prepare(model, optimizer, loader, scheduler)
        seen, error = [], None
        try:
            for step, _ in enumerate(loader):
                group = optimizer.param_groups[0]
                seen.append((step, group["lr"], group["momentum"]))
                optimizer.zero_grad()
                accelerator.backward(loss_of(model, batch_for(step, micro=rank, accumulate=world_size)))
                optimizer.step()
                prepared.step()
        except Exception as exception:  # noqa: BLE001 (recorded for the test to assert on)
            error = f"{type(exception).__name__}: {exception}"
        results[kind] = {
            "seen": seen, "error": error, "last_epoch": scheduler.last_epoch,
            "has_total_steps": hasattr(scheduler, "total_steps"),
        }  # fmt: skip
    accelerator.wait_for_everyone()
    torch.save(results, Path(out) / f"rank{rank}.pt")
    accelerator.end_training()
