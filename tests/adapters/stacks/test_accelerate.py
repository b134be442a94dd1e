"""Accelerate prepares and steps cyclr's schedulers: ``prepare(model, optimizer, loader, scheduler)`` in
one process, with gradient accumulation, ``save_state``/``load_state``, and two CPU processes (gloo on
127.0.0.1), where Accelerate steps a scheduler once per process per optimizer step and guards one-cycle
schedulers (``total_steps``) against stepping past their end.

torch's own classes of the same schedules run the same tests as the control.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

accelerate = pytest.importorskip("accelerate")

import torch  # noqa: E402
from _stacks import (  # noqa: E402
    ONE_CYCLE_TOTAL,
    assert_same_weights,
    assert_schedule,
    batch_for,
    expected,
    free_port,
    loss_of,
    make_scheduler,
    run_processes,
    sgd,
    tiny_model,
)
from _workers import accelerate_steps  # noqa: E402
from accelerate import Accelerator  # noqa: E402

KINDS = [
    "cyclic-generic",
    "cyclic-dropin",
    "cyclic-torch",
    "onecycle-generic",
    "onecycle-dropin",
    "onecycle-torch",
]
STEPS = 12


def loader(batches: int) -> torch.utils.data.DataLoader:
    """``batches`` batches of one index each: the loop's data come from ``batch_for(step)``."""
    return torch.utils.data.DataLoader(torch.arange(batches), batch_size=1)


def prepared(accelerator: Accelerator, kind: str, batches: int = STEPS) -> tuple[Any, ...]:
    model = tiny_model()
    optimizer = sgd(model)
    scheduler = make_scheduler(kind, optimizer)
    return (*accelerator.prepare(model, optimizer, loader(batches), scheduler), scheduler)


def train(
    accelerator: Accelerator, model: Any, optimizer: Any, batches: Any, scheduler: Any, start: int = 0
) -> list:
    """The loop of Accelerate's documentation; records ``(step, lr, momentum)`` before each step."""
    seen = []
    for step, _ in enumerate(batches, start):
        group = optimizer.param_groups[0]
        seen.append((step, group["lr"], group["momentum"]))
        optimizer.zero_grad()
        accelerator.backward(loss_of(model, batch_for(step)))
        optimizer.step()
        scheduler.step()
    return seen


@pytest.mark.parametrize("kind", KINDS)
def test_a_prepared_scheduler_steps_with_the_optimizer(kind):
    accelerator = Accelerator(cpu=True)
    model, optimizer, batches, scheduler, inner = prepared(accelerator, kind)
    assert isinstance(scheduler, accelerate.scheduler.AcceleratedScheduler) and scheduler.scheduler is inner
    seen = train(accelerator, model, optimizer, batches, scheduler)
    assert [step for step, _, _ in seen] == list(range(STEPS))
    assert_schedule(kind, seen)
    assert inner.last_epoch == STEPS
    assert scheduler.get_last_lr() == inner.get_last_lr()


@pytest.mark.parametrize("kind", ["cyclic-generic", "cyclic-dropin", "onecycle-dropin", "cyclic-torch"])
def test_gradient_accumulation_steps_the_scheduler_once_per_optimizer_step(kind):
    """Three micro-batches per optimizer step, under ``accelerator.accumulate``: the prepared scheduler
    steps only when the optimizer does."""
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=3)
    model, optimizer, batches, scheduler, inner = prepared(accelerator, kind, batches=12)
    seen = []
    for micro, _ in enumerate(batches):
        with accelerator.accumulate(model):
            group = optimizer.param_groups[0]
            seen.append((micro // 3, group["lr"], group["momentum"]))
            accelerator.backward(loss_of(model, batch_for(micro // 3, micro % 3, 3)))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    assert [step for step, _, _ in seen] == [step for step in range(4) for _ in range(3)]
    assert_schedule(kind, seen)
    assert inner.last_epoch == 4


@pytest.mark.parametrize("kind", [*KINDS, "sgdr-dropin", "cosine-dropin"])
def test_save_state_then_load_state_continues_exactly(kind, tmp_path):
    whole_accelerator = Accelerator(cpu=True)
    whole_model, *rest, whole_inner = prepared(whole_accelerator, kind)
    whole = train(whole_accelerator, whole_model, *rest)

    first_accelerator = Accelerator(cpu=True)
    model, optimizer, batches, scheduler, _ = prepared(first_accelerator, kind)
    first = train(first_accelerator, model, optimizer, itertools.islice(batches, 5), scheduler)  # mid-epoch
    first_accelerator.save_state(tmp_path / "state")

    accelerator = Accelerator(cpu=True)
    model, optimizer, batches, scheduler, inner = prepared(accelerator, kind)
    model.load_state_dict({name: torch.zeros_like(value) for name, value in model.state_dict().items()})
    assert inner.last_epoch == 0  # a fresh scheduler: load_state must bring the step back
    accelerator.load_state(tmp_path / "state")  # reads scheduler.bin with torch.load(weights_only=True)
    resumed = train(
        accelerator, model, optimizer, accelerator.skip_first_batches(batches, 5), scheduler, start=5
    )
    assert first + resumed == whole
    assert_same_weights(model, whole_model)
    assert inner.state_dict() == whole_inner.state_dict()


# -- two processes -------------------------------------------------------------------------------------

WORLD = 2
MULTI_KINDS = [
    "warmup-onecycle-generic",
    "cyclic-generic",
    "onecycle-generic",
    "onecycle-dropin",
    "onecycle-torch",
]
OPTIMIZER_STEPS = 8  # 16 scheduler steps on 2 processes: past the one-cycle's 12


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: Any) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("accelerate")
    run_processes(
        accelerate_steps, (WORLD, free_port(), MULTI_KINDS, OPTIMIZER_STEPS, str(out)), WORLD, timeout=120
    )
    return [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD)]


def test_two_processes_step_the_schedule_once_per_process_per_optimizer_step(two_processes):
    """Without ``split_batches`` optimizer step ``k`` on N processes uses ``schedule(N * k)``: the loader
    is split N ways, so a schedule sized for the unsplit loader ends with the training."""
    for rank in two_processes:
        result = rank["cyclic-generic"]
        assert result["error"] is None
        assert [values for _, *values in result["seen"]] == [
            list(expected("cyclic", WORLD * k)) for k in range(8)
        ]
        assert result["last_epoch"] == WORLD * OPTIMIZER_STEPS
    assert two_processes[0]["cyclic-generic"]["seen"] == two_processes[1]["cyclic-generic"]["seen"]


@pytest.mark.parametrize("kind", ["onecycle-generic", "onecycle-dropin", "onecycle-torch"])
def test_a_one_cycle_schedule_past_its_end_holds_its_last_step_without_raising(two_processes, kind):
    """Accelerate's guard steps a scheduler with ``total_steps`` only while ``_step_count <= total_steps``:
    the schedule stops at step ``total_steps`` and never raises (torch's class raises beyond it)."""
    for rank in two_processes:
        result = rank[kind]
        assert result["error"] is None
        steps = [min(WORLD * k, ONE_CYCLE_TOTAL) for k in range(OPTIMIZER_STEPS)]
        if kind == "onecycle-torch":  # torch extrapolates its last phase at total_steps: compare before it
            kept = [(s, *v) for s, (_, *v) in zip(steps, result["seen"], strict=True) if s < ONE_CYCLE_TOTAL]
            assert_schedule(kind, kept)
        else:
            assert [values for _, *values in result["seen"]] == [list(expected(kind, step)) for step in steps]
    assert two_processes[0][kind]["seen"] == two_processes[1][kind]["seen"]


def test_the_generic_scheduler_and_the_drop_in_behave_alike_under_the_guard(two_processes):
    """``Scheduler(opt, cyclr.OneCycleLR(...))`` and ``cyclr.torch.OneCycleLR`` meet the same guard: both
    expose ``total_steps`` and end at the same step, as torch's class does (without the attribute the
    generic one would step on to 16: the same lrs, another state)."""
    for rank in two_processes:
        generic, dropin, torch_class = (
            rank["onecycle-generic"],
            rank["onecycle-dropin"],
            rank["onecycle-torch"],
        )
        assert dropin["has_total_steps"] and torch_class["has_total_steps"]
        assert dropin["last_epoch"] == torch_class["last_epoch"] == ONE_CYCLE_TOTAL
        assert generic["seen"] == dropin["seen"]
        assert generic["has_total_steps"]
        assert generic["last_epoch"] == dropin["last_epoch"]


def test_a_composed_spec_ending_in_a_one_cycle_steps_on_past_its_end_holding_its_final_value(two_processes):
    """``warmup(one-cycle)`` has no ``total_steps``: the guard does not apply, the scheduler steps on
    (16 steps, past the spec's end at 14), and the spec's final value is held, on every rank alike."""
    for rank in two_processes:
        result = rank["warmup-onecycle-generic"]
        assert result["error"] is None and not result["has_total_steps"]
        assert result["last_epoch"] == WORLD * OPTIMIZER_STEPS
        wanted = [list(expected("warmup-onecycle-generic", WORLD * k)) for k in range(OPTIMIZER_STEPS)]
        assert [values for _, *values in result["seen"]] == wanted
        assert wanted[-1] == list(
            expected("onecycle-generic", ONE_CYCLE_TOTAL)
        )  # past the end: the last value
    assert two_processes[0]["warmup-onecycle-generic"] == two_processes[1]["warmup-onecycle-generic"]
