"""No cyclr torch scheduler ever writes a non-finite lr or momentum into an optimizer: the step raises a
ValueError naming the step and the parameter, and nothing moves."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch

import cyclr
import cyclr.torch as ct
from cyclr._ops import Ops


def make_optimizer(groups: int = 1):
    params = list(torch.nn.Linear(2, 2).parameters())
    return torch.optim.SGD([{"params": [params[i]]} for i in range(groups)], lr=0.1, momentum=0.9)


@dataclasses.dataclass(frozen=True)
class Overflowing(cyclr.CosineAnnealingLR):
    """A pure-data spec (so its values are precomputed in blocks) whose lr is inf from ``at`` on."""

    at: int = 5

    def _formula(self, xp: Ops, quantity: str):
        inner = super()._formula(xp, quantity)
        if inner is None or quantity != "lr":
            return inner
        at = self.at
        return lambda step: xp.where(step >= at, inner(step) * math.inf, inner(step))


class MomentumNaN:
    """The bare spec contract, computed at every step: momentum NaN from step 3 on."""

    groups = None
    has_momentum = True

    def __call__(self, step):
        return 0.01, (math.nan if step >= 3 else 0.9)


def state(scheduler):
    group = scheduler.optimizer.param_groups[0]
    return scheduler.last_epoch, group["lr"], group["momentum"], scheduler.get_last_lr()


def test_the_message_names_the_group_of_a_per_group_spec():
    spec = Overflowing(base_lr=(0.1, 0.2), T_max=10, at=2)
    scheduler = ct.Scheduler(make_optimizer(2), spec)
    scheduler.optimizer.step()
    scheduler.step()
    with pytest.raises(ValueError, match=re.escape("gave lr=inf for param_groups[0] at step 2")):
        scheduler.step()


def assert_refused_at(scheduler, step: int, name: str):
    for _ in range(step - 1):
        scheduler.optimizer.step()
        scheduler.step()
    before = state(scheduler)
    for _ in range(2):  # and again: it stays refused, it never moves on
        with pytest.raises(
            ValueError, match=rf"gave {name}=(inf|nan|-inf).* at step {step}: a non-finite {name}"
        ):
            scheduler.step()
        assert state(scheduler) == before


@pytest.mark.parametrize("at", [5, 3000])  # inside the first precomputed block, and in a later one
def test_a_block_precomputed_spec_is_refused_at_the_first_non_finite_step(at):
    spec = Overflowing(base_lr=0.1, T_max=4000, at=at)
    assert np.isinf(spec.precompute(8, start=at - 2)[0][2:]).all()  # the spec does give inf there
    scheduler = ct.Scheduler(make_optimizer(), spec)
    assert scheduler._block_size > 0
    assert_refused_at(scheduler, at, "lr")


def test_a_spec_called_at_every_step_is_refused_for_its_momentum():
    assert_refused_at(ct.Scheduler(make_optimizer(), MomentumNaN()), 3, "momentum")


def test_a_non_finite_first_step_is_refused_before_the_optimizer_is_touched():
    optimizer = make_optimizer()
    with pytest.raises(ValueError, match=r"gave lr=inf at step 0"):
        ct.Scheduler(optimizer, Overflowing(base_lr=0.1, T_max=10, at=0))
    assert optimizer.param_groups[0]["lr"] == 0.1 and "initial_lr" not in optimizer.param_groups[0]


def test_the_cyclic_drop_in_refuses_a_scale_fn_that_overflows():
    def scale(cycle):  # a growing amplitude, as exp_range with gamma > 1 gives
        return math.inf if cycle >= 3 else 1.0

    scheduler = ct.CyclicLR(make_optimizer(2), base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=scale)
    # Cycle 3 starts at step 8: the core refuses scale_fn's value there, naming it and the steps.
    with pytest.raises(ValueError, match=re.escape("scale_fn(3) returned inf (cycle 3, steps 8 to 11)")):
        for _ in range(8):
            scheduler.optimizer.step()
            scheduler.step()
    assert all(
        math.isfinite(g["lr"]) and math.isfinite(g["momentum"]) for g in scheduler.optimizer.param_groups
    )


def test_the_cosine_recursion_refuses_a_non_finite_group_lr():
    optimizer = make_optimizer()
    scheduler = ct.CosineAnnealingLR(optimizer, T_max=10)
    optimizer.step()
    scheduler.step()
    optimizer.param_groups[0]["lr"] = math.inf  # something else wrote inf
    with pytest.raises(ValueError, match=r"gave lr=(inf|nan).* at step 2"):
        scheduler.step()
    assert scheduler.last_epoch == 1


def test_warm_restarts_at_a_fractional_position_check_too():
    optimizer = make_optimizer()
    scheduler = ct.CosineAnnealingWarmRestarts(optimizer, T_0=3)
    scheduler.base_lrs = [math.inf]  # torch's get_lr reads base_lrs; so does the fractional path
    with pytest.raises(ValueError, match=r"gave lr=(inf|nan).* at step 1"):
        scheduler.step(1.5)
    assert scheduler.last_epoch == 0 and optimizer.param_groups[0]["lr"] == 0.1
