"""torch DistributedDataParallel with a cyclr scheduler: two processes (gloo on 127.0.0.1, a free port,
``torch.multiprocessing`` spawn with the specs passed as arguments), the same lrs on both ranks, rank 0
saving a checkpoint mid-run, and every rank resuming from it to the uninterrupted run's lrs and weights.

Bounded: every collective times out after 60 s and the spawn is killed after 120 s. One spawn serves
every spec (module fixture): starting two processes costs most of this module's time.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.distributed
from _stacks import CYCLIC, ONE_CYCLE, assert_same_weights, free_port, run_processes
from _workers import ddp_train_save_resume

import cyclr

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")

WORLD = 2
STEPS = 10
SAVE_AT = 4


def used(spec: Any) -> Any:
    """The spec after evaluation on every path (its caches filled): it must still pickle through spawn."""
    spec(3), spec.lr_at(5), spec.precompute(6)
    return spec


SPECS = {
    "cyclic": used(CYCLIC),
    "onecycle": used(ONE_CYCLE),
    "warmup-then-cyclic": used(cyclr.warmup(CYCLIC, warmup_steps=3, start_lr=0.0)),
    "cyclic-then-onecycle": used(cyclr.join([CYCLIC, ONE_CYCLE], boundaries=[5])),  # across the save
}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: Any) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("ddp")
    run_processes(
        ddp_train_save_resume, (WORLD, free_port(), SPECS, STEPS, SAVE_AT, str(out)), WORLD, timeout=120
    )
    return [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD)]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_rank_trains_with_the_spec_values(ranks, name):
    spec = SPECS[name]
    for rank in ranks:
        assert rank[name]["whole"] == [(step, *map(float, spec(step))) for step in range(STEPS)]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_both_ranks_hold_the_same_lrs_and_weights(ranks, name):
    # DDP averages the gradients: the same lrs give the same weights on both ranks.
    assert ranks[0][name]["whole"] == ranks[1][name]["whole"]
    assert_same_weights(ranks[0][name]["weights"], ranks[1][name]["weights"])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_rank_resumes_from_rank0s_checkpoint_exactly(ranks, name):
    for rank in ranks:
        result = rank[name]
        assert result["resumed"] == result["whole"][SAVE_AT:]
        assert_same_weights(result["resumed_weights"], result["weights"])
        assert result["resumed_scheduler"] == result["scheduler"]
