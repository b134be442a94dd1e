"""cyclr.torch schedulers as saved state: pickling, torch.save, mp.spawn, weights_only loads, torch's
old state formats, the attributes torch's own tests read, and plain Python types everywhere."""

from __future__ import annotations

import copy
import io
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch.optim import lr_scheduler as Torch

import cyclr
import cyclr.torch as ct


def make_optimizer(groups: int = 2, kind: str = "sgd", lr=0.1):
    model = torch.nn.Linear(3, 2 * groups)
    params = list(model.parameters())
    lrs = lr if isinstance(lr, list) else [lr] * groups
    param_groups = [{"params": [p], "lr": lrs[i % groups]} for i, p in enumerate(params[:groups])]
    if kind == "adam":
        return torch.optim.Adam(param_groups, lr=0.1)
    return torch.optim.SGD(param_groups, lr=0.1, momentum=0.9)


# Every scheduler kind: the generic Scheduler (over a plain spec and over a join), and the four drop-ins.
SCHEDULERS = {
    "scheduler": lambda opt: ct.Scheduler(opt, cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    "scheduler-join": lambda opt: ct.Scheduler(
        opt,
        cyclr.join(
            [
                cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False),
                cyclr.CosineAnnealingLR(base_lr=0.1, T_max=9),
            ],
            boundaries=[5],
        ),
    ),
    "cyclic": lambda opt: ct.CyclicLR(
        opt, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, mode="triangular2"
    ),
    "onecycle": lambda opt: ct.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=40, three_phase=True),
    "restarts": lambda opt: ct.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=1e-3),
    "cosine": lambda opt: ct.CosineAnnealingLR(opt, T_max=7, eta_min=1e-3),
}


def trajectory(scheduler, steps: int) -> list:
    """The values every group holds after each of ``steps`` steps (lr, momentum), and get_last_lr."""
    values = []
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        groups = scheduler.optimizer.param_groups
        values.append(
            ([g["lr"] for g in groups], [g.get("momentum") for g in groups], scheduler.get_last_lr())
        )
    return values


def plain(value) -> bool:
    """Only Python's own types, all the way down (what weights_only and JSON take)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    return value is None or type(value) in (int, float, bool, str)


@pytest.mark.parametrize("used", [0, 3, 17])
@pytest.mark.parametrize("kind", list(SCHEDULERS))
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "torch.save"])
def test_every_scheduler_is_copied_used_or_not_and_continues_identically(kind, used, how):
    scheduler = SCHEDULERS[kind](make_optimizer())
    trajectory(scheduler, used)
    if how == "pickle":
        copied = pickle.loads(pickle.dumps(scheduler))
    elif how == "deepcopy":
        copied = copy.deepcopy(scheduler)
    else:  # the usual checkpoint of objects: {optimizer, scheduler} together
        buffer = io.BytesIO()
        torch.save({"optimizer": scheduler.optimizer, "scheduler": scheduler}, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        copied = loaded["scheduler"]
        assert copied.optimizer is loaded["optimizer"]  # one optimizer, as saved
    assert copied.optimizer is not scheduler.optimizer
    assert copied.state_dict() == scheduler.state_dict()
    assert trajectory(copied, 20) == trajectory(scheduler, 20)


def test_a_copy_carries_no_cache():
    scheduler = SCHEDULERS["scheduler"](make_optimizer())
    trajectory(scheduler, 5)
    assert scheduler._block_stop > 0  # a precomputed block serves the steps ...
    state = scheduler.__getstate__()
    assert not any(key.startswith("_block") for key in state)  # ... and is never saved
    copied = pickle.loads(pickle.dumps(scheduler))
    assert copied._block is None and copied._block_stop == 0
    assert len(pickle.dumps(scheduler)) < 4000  # not 2048 floats


def spawned_worker(rank: int, spec, scheduler_state: dict, out: str) -> None:
    optimizer = make_optimizer(1)
    scheduler = ct.Scheduler(optimizer, spec)
    scheduler.load_state_dict(scheduler_state)
    lrs = [lr for lr, _, _ in trajectory(scheduler, 6)]
    torch.save({"rank": rank, "lrs": lrs, "spec": spec.to_dict()}, f"{out}/{rank}.pt")


def test_a_spec_and_a_state_pass_through_mp_spawn(tmp_path):
    spec = cyclr.OneCycleLR(max_lr=0.1, total_steps=30)
    reference = ct.Scheduler(make_optimizer(1), spec)
    trajectory(reference, 4)
    spec.lr_at(3)  # an evaluated spec (its formulas cached) pickles too
    mp.spawn(spawned_worker, args=(spec, reference.state_dict(), str(tmp_path)), nprocs=2, join=True)
    expected = [lr for lr, _, _ in trajectory(reference, 6)]
    for rank in range(2):
        result = torch.load(tmp_path / f"{rank}.pt", weights_only=True)
        assert result["spec"] == spec.to_dict()
        assert result["lrs"] == expected


def test_a_pickled_spec_loads_with_weights_only_once_cyclr_torch_is_imported():
    spec = cyclr.join(
        [cyclr.CyclicLR(step_size_up=3), cyclr.OneCycleLR(max_lr=0.1, total_steps=10)], boundaries=[6]
    )
    spec.lr_at(7)
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": {"spec": spec}}, buffer)  # as Lightning's save_hyperparameters()
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["hyper_parameters"]["spec"]
    assert loaded == spec and loaded.lr_at(7) == spec.lr_at(7)


def test_a_users_safe_globals_block_does_not_take_the_allowlist_away():
    with torch.serialization.safe_globals([cyclr.from_dict]):  # torch removes what it lists, on exit
        pass
    buffer = io.BytesIO()
    torch.save(cyclr.CyclicLR(step_size_up=3), buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == cyclr.CyclicLR(step_size_up=3)


WITHOUT_CYCLR_TORCH = """
import io, pickle, sys, torch, cyclr
buffer = io.BytesIO()
torch.save(cyclr.CyclicLR(step_size_up=3), buffer)
buffer.seek(0)
try:
    torch.load(buffer, weights_only=True)
except pickle.UnpicklingError as error:
    assert "from_dict" in str(error), error
else:
    sys.exit("loaded without the allowlist")
buffer.seek(0)
with torch.serialization.safe_globals([cyclr.from_dict]):
    assert torch.load(buffer, weights_only=True) == cyclr.CyclicLR(step_size_up=3)
assert "cyclr.torch" not in sys.modules
"""


def test_without_cyclr_torch_the_allowlist_is_one_line():
    result = subprocess.run([sys.executable, "-c", WITHOUT_CYCLR_TORCH], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_spec_keeping_a_numpy_bool_still_saves_plain_state():
    spec = cyclr.CyclicLR(step_size_up=3, cycle_momentum=np.True_)
    scheduler = ct.Scheduler(make_optimizer(1), spec)
    trajectory(scheduler, 4)
    state = scheduler.state_dict()
    assert plain(state), state
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == state


def test_the_generic_scheduler_over_a_one_cycle_spec_has_total_steps():
    """Accelerate guards schedulers with a total_steps attribute (stepping one-cycle ones to the end only)."""
    one_cycle = ct.Scheduler(make_optimizer(1), cyclr.OneCycleLR(max_lr=0.1, epochs=3, steps_per_epoch=4))
    assert one_cycle.total_steps == 12 and type(one_cycle.total_steps) is int
    assert not hasattr(ct.Scheduler(make_optimizer(1), cyclr.CyclicLR(step_size_up=3)), "total_steps")
    assert ct.OneCycleLR(make_optimizer(1), max_lr=0.1, total_steps=12).total_steps == 12


NUMPY_ARGUMENTS = {  # every argument a numpy scalar (and the optimizer's lr too)
    "cyclic": lambda opt: ct.CyclicLR(
        opt,
        np.float64(1e-3),
        np.float32(0.1),
        step_size_up=np.int64(3),
        step_size_down=np.float64(4.0),
        mode=np.str_("exp_range"),
        gamma=np.float64(0.99),
        cycle_momentum=np.True_,
        base_momentum=np.float64(0.8),
        max_momentum=[np.float64(0.9), np.float32(0.95)],
    ),
    "onecycle": lambda opt: ct.OneCycleLR(
        opt,
        max_lr=np.float64(0.1),
        total_steps=np.int64(20),
        pct_start=np.float64(0.25),
        anneal_strategy=np.str_("linear"),
        cycle_momentum=np.True_,
        base_momentum=np.float64(0.85),
        max_momentum=np.float64(0.95),
        div_factor=np.float64(10.0),
        final_div_factor=np.int64(100),
        three_phase=np.False_,
    ),
    "restarts": lambda opt: ct.CosineAnnealingWarmRestarts(
        opt, T_0=np.int64(3), T_mult=np.int32(2), eta_min=np.float64(1e-4)
    ),
    "cosine": lambda opt: ct.CosineAnnealingLR(opt, T_max=np.int64(6), eta_min=np.float32(0.001)),
}


@pytest.mark.parametrize("kind", list(NUMPY_ARGUMENTS))
def test_numpy_arguments_become_python_values_in_every_state(kind):
    scheduler = NUMPY_ARGUMENTS[kind](make_optimizer(lr=np.float64(0.05)))
    for steps in (0, 7):
        trajectory(scheduler, steps)
        state = scheduler.state_dict()
        assert plain(state), state
        assert plain(scheduler.base_lrs) and plain(scheduler.get_last_lr())
        assert plain(scheduler.spec.to_dict())
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        assert torch.load(buffer, weights_only=True) == state  # no allowlist needed


@pytest.mark.parametrize("used", [0, 9])
@pytest.mark.parametrize("kind", list(SCHEDULERS))
def test_every_state_dict_loads_under_weights_only_and_restores(kind, used):
    scheduler = SCHEDULERS[kind](make_optimizer())
    trajectory(scheduler, used)
    buffer = io.BytesIO()
    torch.save({"optimizer": scheduler.optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    optimizer = make_optimizer()
    optimizer.load_state_dict(saved["optimizer"])
    resumed = SCHEDULERS[kind](optimizer)
    resumed.load_state_dict(saved["scheduler"])
    assert trajectory(resumed, 15) == trajectory(scheduler, 15)


# -- a scheduler loaded from a state equals the one saved, attribute for attribute -----------------------

OTHER_ARGUMENTS = {  # built differently, then loaded: everything must come from the state
    "scheduler": lambda opt: ct.Scheduler(opt, cyclr.CyclicLR(base_lr=0.02, max_lr=0.3, step_size_up=5)),
    "cyclic": lambda opt: ct.CyclicLR(opt, base_lr=0.001, max_lr=0.5, step_size_up=7),
    "onecycle": lambda opt: ct.OneCycleLR(opt, max_lr=0.5, total_steps=40, three_phase=True),
    "restarts": lambda opt: ct.CosineAnnealingWarmRestarts(opt, T_0=100),
    "cosine": lambda opt: ct.CosineAnnealingLR(opt, T_max=3, eta_min=0.0),
}


@pytest.mark.parametrize("kind", list(OTHER_ARGUMENTS))
def test_a_loaded_scheduler_has_the_saved_ones_attributes(kind):
    optimizer = make_optimizer()
    scheduler = SCHEDULERS[kind](optimizer)
    trajectory(scheduler, 10)
    if kind == "restarts":
        scheduler.step(13.25)  # fractional T_cur: state too
    copied = OTHER_ARGUMENTS[kind](make_optimizer())
    copied.load_state_dict(scheduler.state_dict())
    for key, value in scheduler.__dict__.items():
        if key != "optimizer":
            assert copied.__dict__[key] == value, key
    assert copied.__dict__.keys() == scheduler.__dict__.keys()
    assert copied.get_last_lr() == scheduler.get_last_lr()


# -- torch's attributes and old state formats -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_scale_function_attributes_have_torchs_meaning(mode):
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode=mode, gamma=0.97)
    ours, theirs = ct.CyclicLR(make_optimizer(1), **kwargs), Torch.CyclicLR(make_optimizer(1), **kwargs)
    assert ours._scale_fn_custom is None and theirs._scale_fn_custom is None
    for x in [1, 2, 3, 10, 0.5, 77]:
        assert ours._scale_fn_ref(x) == theirs._scale_fn_ref(x)
        assert ours.scale_fn(x) == theirs.scale_fn(x)
    assert "_scale_fn_ref" not in ours.state_dict()


def test_a_custom_scale_fn_is_scale_fn_custom():
    def half(x):
        return 0.5

    ours = ct.CyclicLR(make_optimizer(1), base_lr=0.01, max_lr=0.1, scale_fn=half, scale_mode="iterations")
    assert ours._scale_fn_custom is half and ours._scale_fn_ref is None and ours.scale_fn(4) == 0.5


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_onecycle_anneal_attributes_have_torchs_meaning(strategy):
    kwargs = dict(max_lr=0.1, total_steps=20, anneal_strategy=strategy)
    ours, theirs = ct.OneCycleLR(make_optimizer(1), **kwargs), Torch.OneCycleLR(make_optimizer(1), **kwargs)
    assert ours._anneal_func_type == theirs._anneal_func_type == strategy
    assert ours.state_dict()["_anneal_func_type"] == strategy
    for start, end, pct in [(1.0, 0.1, 0.0), (0.004, 0.1, 0.3), (25.0, 0.5, 1 / 7), (0.1, 1e-6, 1.0)]:
        assert ours._annealing_cos(start, end, pct) == Torch.OneCycleLR._annealing_cos(start, end, pct)
        assert ours._annealing_linear(start, end, pct) == Torch.OneCycleLR._annealing_linear(start, end, pct)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("source", ["torch", "cyclr"])
def test_onecycle_loads_the_state_format_of_torch_2_0_and_2_1(strategy, source):
    """torch 2.0/2.1 kept the anneal function itself ("anneal_func") and "verbose" in the state."""
    kwargs = dict(max_lr=0.1, total_steps=20, anneal_strategy=strategy)
    reference = ct.OneCycleLR(make_optimizer(1), **kwargs)
    trajectory(reference, 6)
    legacy = {k: v for k, v in Torch.OneCycleLR(make_optimizer(1), **kwargs).state_dict().items()}
    legacy.update(last_epoch=6, _step_count=7, _last_lr=reference.get_last_lr(), verbose=False)
    del legacy["_anneal_func_type"]
    owner = Torch.OneCycleLR if source == "torch" else ct.OneCycleLR
    legacy["anneal_func"] = getattr(owner, f"_annealing_{strategy}")
    ours = ct.OneCycleLR(make_optimizer(1), **kwargs)
    ours.optimizer.load_state_dict(reference.optimizer.state_dict())
    ours.load_state_dict(legacy)
    assert ours._anneal_func_type == strategy
    assert trajectory(ours, 13) == trajectory(reference, 13)


def test_onecycle_refuses_an_anneal_func_it_does_not_know():
    ours = ct.OneCycleLR(make_optimizer(1), max_lr=0.1, total_steps=20)
    state = ours.state_dict()
    with pytest.raises(
        ValueError, match="anneal_func must be OneCycleLR's _annealing_cos or _annealing_linear"
    ):
        ours.load_state_dict({**state, "anneal_func": math.cos})
    assert ours.state_dict() == state


def test_onecycle_state_without_anneal_func_type_still_saves_and_loads():
    ours = ct.OneCycleLR(make_optimizer(1), max_lr=0.1, total_steps=20)
    del ours._anneal_func_type  # torch's legacy test deletes it
    state = ours.state_dict()
    assert "_anneal_func_type" not in state
    ours.load_state_dict(state)
    assert ours._anneal_func_type == "cos"
