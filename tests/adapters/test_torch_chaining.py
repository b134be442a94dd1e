"""cyclr.torch.CosineAnnealingLR composes with torch's schedulers on one optimizer, as torch's does."""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as Torch

import cyclr
import cyclr.torch as ct


def make_optimizer(lrs=(0.05, 0.5)):
    model = torch.nn.Linear(2, 2 * len(lrs))
    params = list(model.parameters())
    return torch.optim.SGD([{"params": [params[i % 2]], "lr": lr} for i, lr in enumerate(lrs)], lr=0.1)


PARTNERS = {  # torch's chainable schedulers
    "StepLR": lambda opt: Torch.StepLR(opt, step_size=3, gamma=0.1),
    "MultiStepLR": lambda opt: Torch.MultiStepLR(opt, milestones=[2, 5, 9], gamma=0.1),
    "ExponentialLR": lambda opt: Torch.ExponentialLR(opt, gamma=0.9),
    "LinearLR": lambda opt: Torch.LinearLR(opt, start_factor=0.4, total_iters=4),
}


def lrs_after_each_step(build, steps: int, chained: bool):
    optimizer = make_optimizer()
    schedulers = build(optimizer)
    values = [[g["lr"] for g in optimizer.param_groups]]
    chain = Torch.ChainedScheduler(schedulers) if chained else None
    for _ in range(steps):
        optimizer.step()
        if chain is not None:
            chain.step()
        else:
            for scheduler in schedulers:
                scheduler.step()
        values.append([g["lr"] for g in optimizer.param_groups])
    return values


@pytest.mark.parametrize("chained", [False, True])
@pytest.mark.parametrize("cosine_first", [True, False])
@pytest.mark.parametrize("partner", list(PARTNERS))
@pytest.mark.parametrize("T_max", [1, 4, 10])
def test_cosine_annealing_chains_with_torchs_schedulers_exactly_as_torchs(
    partner, cosine_first, chained, T_max
):
    def build(cosine_class):
        def schedulers(optimizer):
            if cosine_first:
                cosine = cosine_class(optimizer, T_max=T_max, eta_min=1e-4)
                return [cosine, PARTNERS[partner](optimizer)]
            other = PARTNERS[partner](optimizer)
            return [other, cosine_class(optimizer, T_max=T_max, eta_min=1e-4)]

        return schedulers

    ours = lrs_after_each_step(build(ct.CosineAnnealingLR), 40, chained)
    theirs = lrs_after_each_step(build(Torch.CosineAnnealingLR), 40, chained)
    assert ours == theirs  # the same recursion on the same floats: bit for bit


def test_construction_keeps_the_lr_another_scheduler_set():
    optimizer = make_optimizer()
    Torch.LinearLR(optimizer, start_factor=0.4, total_iters=4)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.02, 0.2])
    before = [g["lr"] for g in optimizer.param_groups]
    cosine = ct.CosineAnnealingLR(optimizer, T_max=10)
    assert [g["lr"] for g in optimizer.param_groups] == before
    assert cosine.get_last_lr() == before
    assert cosine.base_lrs == [0.05, 0.5]  # the groups' initial lrs, as torch's


def test_sequential_lr_restarts_it_at_its_milestone_from_the_closed_form():
    def run(cosine_class):
        optimizer = make_optimizer()
        first = Torch.ConstantLR(optimizer, factor=0.5, total_iters=3)
        second = cosine_class(optimizer, T_max=6)
        sequence = Torch.SequentialLR(optimizer, [first, second], milestones=[3])
        values = []
        for _ in range(12):
            optimizer.step()
            sequence.step()
            values.append([g["lr"] for g in optimizer.param_groups])
        return values

    assert run(ct.CosineAnnealingLR) == run(Torch.CosineAnnealingLR)


def test_the_generic_scheduler_over_the_spec_stays_the_closed_form():
    optimizer = make_optimizer((0.1,))
    spec = cyclr.CosineAnnealingLR(base_lr=0.1, T_max=7, eta_min=1e-3)
    scheduler = ct.Scheduler(optimizer, spec)
    for step in range(1, 50):
        optimizer.step()
        scheduler.step()
        assert optimizer.param_groups[0]["lr"] == spec.lr_at(step)
