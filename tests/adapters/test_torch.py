"""cyclr.torch: side by side with torch's own CyclicLR, the generic Scheduler, state, compile, and errors."""

from __future__ import annotations

import copy
import io
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close, torch_trajectory
from strategies import cyclic_kwargs
from torch._dynamo.testing import CompileCounter

import cyclr
import cyclr.torch
from cyclr.torch import CyclicLR, Scheduler

TorchCyclicLR = torch.optim.lr_scheduler.CyclicLR
STEPS = 500

# torch.compile's tracing triggers a deprecation inside torch itself (torch.jit.script_method).
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


def make_optimizer(groups: int = 1, kind: str = "sgd", lr: float | torch.Tensor = 0.1, **options):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, **{"momentum": 0.9, **options})
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, **options)
    return torch.optim.Adagrad(params, lr=lr, **options)  # neither momentum nor betas


def tensor_adam(params, lr=None):
    """Adam with a tensor lr and tensor betas: nothing a compiled step would recompile for."""
    lr = torch.tensor(0.01) if lr is None else lr
    return torch.optim.Adam(params, lr=lr, betas=(torch.tensor(0.9), torch.tensor(0.999)))


def run(scheduler, steps: int) -> list[tuple[list, list, list]]:
    """(lr, momentum or beta1, get_last_lr) of every group, before each optimizer step."""
    optimizer = scheduler.optimizer
    key = "betas" if "betas" in optimizer.defaults else "momentum"
    seen = []
    for _ in range(steps):
        groups = optimizer.param_groups
        momenta = [group[key][0] if key == "betas" else group.get(key) for group in groups]
        seen.append(([group["lr"] for group in groups], momenta, list(scheduler.get_last_lr())))
        optimizer.step()
        scheduler.step()
    return seen


def group_settings(optimizer) -> list[dict]:
    """Every group's hyperparameters (not its params), for checking that nothing was written."""
    return [
        copy.deepcopy({k: v for k, v in group.items() if k != "params"}) for group in optimizer.param_groups
    ]


def torch_error(make):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make()
    except Exception as error:  # noqa: BLE001 - the oracle's exception, whatever it is
        return error
    return None


# -- the module ----------------------------------------------------------------------------------------


def test_importing_without_torch_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        import cyclr
        assert cyclr.CyclicLR(step_size_up=4).lr_at(2) > 0  # the core works without torch
        try:
            import cyclr.torch
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("cyclr.torch imported without torch")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "cyclr[torch]"' in result.stdout


def test_a_broken_torch_install_is_named_too(tmp_path):
    (tmp_path / "torch.py").write_text(
        "raise ImportError('libtorch_cpu.so: cannot open shared object file')\n"
    )
    code = "import cyclr.torch"
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "libtorch_cpu.so" in result.stderr and 'pip install "cyclr[torch]"' in result.stderr


def test_both_are_torch_lr_schedulers():
    assert issubclass(Scheduler, torch.optim.lr_scheduler.LRScheduler)
    assert issubclass(CyclicLR, Scheduler)


# -- side by side with torch's CyclicLR ------------------------------------------------------------------


def compare_with_torch(kwargs: dict, groups: int, kind: str, steps: int = STEPS) -> None:
    ours = torch_trajectory(lambda opt: CyclicLR(opt, **kwargs), steps, groups=groups, optimizer=kind)
    theirs = torch_trajectory(lambda opt: TorchCyclicLR(opt, **kwargs), steps, groups=groups, optimizer=kind)
    assert_close(ours[0], theirs[0], what="lr")
    assert_close(ours[1], theirs[1], what="momentum" if kind == "sgd" else "beta1")


@given(cyclic_kwargs())
def test_matches_torch_on_sgd_with_momentum(kwargs):
    compare_with_torch(kwargs, groups=1, kind="sgd")


@given(cyclic_kwargs())
def test_matches_torch_on_adam_through_beta1(kwargs):
    compare_with_torch(kwargs, groups=1, kind="adam")


@given(cyclic_kwargs(groups=3), st.sampled_from(["sgd", "adam"]))
def test_matches_torch_with_per_group_lists(kwargs, kind):
    compare_with_torch(kwargs, groups=3, kind=kind)


@given(cyclic_kwargs(), st.integers(1, 3))
def test_get_last_lr_matches_torch(kwargs, groups):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = run(CyclicLR(make_optimizer(groups), **kwargs), 200)
        theirs = run(TorchCyclicLR(make_optimizer(groups), **kwargs), 200)
    assert all(last == lr for lr, _, last in ours)  # get_last_lr() gives what the groups hold
    assert_close([last for _, _, last in ours], [last for _, _, last in theirs])


def test_construction_writes_what_torch_writes():
    for kind in ("sgd", "adam"):
        ours, theirs = make_optimizer(2, kind), make_optimizer(2, kind)
        kwargs = dict(base_lr=[0.01, 0.02], max_lr=0.1, base_momentum=0.85, max_momentum=[0.95, 0.9])
        scheduler = CyclicLR(ours, **kwargs)
        TorchCyclicLR(theirs, **kwargs)
        assert group_settings(ours) == group_settings(theirs)  # lr, momentum/betas, initial_lr, ...
        assert scheduler.last_epoch == 0 and scheduler._step_count == 1


def test_exposes_torch_attributes():
    kwargs = dict(
        base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="exp_range", gamma=0.99
    )
    ours, theirs = (
        CyclicLR(make_optimizer(2, "adam"), **kwargs),
        TorchCyclicLR(make_optimizer(2, "adam"), **kwargs),
    )
    names = "base_lrs max_lrs total_size step_ratio mode gamma scale_mode cycle_momentum use_beta1"
    for name in [*names.split(), "base_momentums", "max_momentums", "last_epoch"]:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.spec == cyclr.CyclicLR(**kwargs)
    without = CyclicLR(make_optimizer(), 0.01, 0.1, cycle_momentum=False)
    theirs_without = TorchCyclicLR(make_optimizer(), 0.01, 0.1, cycle_momentum=False)
    for name in ("use_beta1", "base_momentums", "max_momentums"):  # like torch: not there without momentum
        assert not hasattr(without, name) and not hasattr(theirs_without, name)


def test_attributes_describe_the_schedule_and_cannot_be_assigned():
    scheduler = CyclicLR(make_optimizer(), 0.01, 0.1)
    with pytest.raises(AttributeError):
        scheduler.max_lrs = [1.0]
    scheduler.max_lrs.append(1.0)  # a copy: the schedule is unchanged
    assert scheduler.max_lrs == [0.1]


def test_integer_valued_float_step_sizes_are_accepted_like_torch():
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=3.0, step_size_down=np.float32(5.0))
    scheduler = CyclicLR(make_optimizer(), **kwargs)
    assert scheduler.spec.step_size_up == 3 and scheduler.spec.step_size_down == 5
    compare_with_torch(kwargs, groups=1, kind="sgd", steps=40)


def test_scale_mode_is_the_modes_own_without_scale_fn_like_torch():
    kwargs = dict(
        base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.9
    )  # scale_mode: "cycle"
    assert CyclicLR(make_optimizer(), **kwargs).scale_mode == "iterations"
    compare_with_torch(kwargs, groups=1, kind="sgd", steps=50)
    compare_with_torch({**kwargs, "scale_mode": "cycle"}, groups=1, kind="sgd", steps=50)  # ignored, as torch


class Decay:
    """A callable-object scale_fn with state: torch saves its __dict__.

    Its argument starts at ``first``: the cycle (1) in "cycle" mode, the step (0) in "iterations" mode,
    so that it stays in [0, 1] as cyclr requires of a scale_fn.
    """

    def __init__(self, rate: float, first: int = 1) -> None:
        self.rate, self.first = rate, first

    def __call__(self, x: int) -> float:
        return 1.0 / (1.0 + self.rate * (x - self.first))


def halving(x: int) -> float:
    return 0.5 ** (x - 1)


def halving_per_step(x: int) -> float:
    return 0.5**x


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_custom_scale_fn_matches_torch(scale_mode):
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=9, scale_mode=scale_mode)
    first = 1 if scale_mode == "cycle" else 0
    halves = halving if scale_mode == "cycle" else halving_per_step
    compare_with_torch({**kwargs, "scale_fn": Decay(0.3, first)}, groups=2, kind="sgd", steps=300)
    compare_with_torch({**kwargs, "scale_fn": halves}, groups=1, kind="adam", steps=300)
    compare_with_torch({**kwargs, "scale_fn": halves, "mode": "anything"}, groups=1, kind="sgd", steps=50)


def test_a_scale_fn_outside_0_1_is_refused_naming_the_step():
    # torch takes scale_fn(0) = 2.0 and lets the lr pass max_lr; cyclr refuses (docs/limits.md).
    optimizer = make_optimizer(1, "sgd")
    with pytest.raises(ValueError, match="scale_fn"):
        CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, scale_fn=halving, scale_mode="iterations")


# -- state_dict and resuming ------------------------------------------------------------------------------


def save_and_reload(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer)  # weights_only=True, torch's default: plain data only


def restored_from(source, make_fresh):
    """A fresh optimizer and scheduler loaded from ``source``'s state_dicts, through a checkpoint file."""
    saved = save_and_reload({"optimizer": source.optimizer.state_dict(), "scheduler": source.state_dict()})
    fresh = make_fresh()  # built first, as torch recommends: construction writes step 0
    fresh.optimizer.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    return fresh


@given(cyclic_kwargs(), st.integers(1, 299), st.sampled_from(["sgd", "adam"]))
def test_state_dict_mid_cycle_continues_identically(kwargs, stop, kind):
    reference = CyclicLR(make_optimizer(2, kind), **kwargs)
    expected = run(reference, 300)[stop:]

    first = CyclicLR(make_optimizer(2, kind), **kwargs)
    run(first, stop)
    fresh = restored_from(first, lambda: CyclicLR(make_optimizer(2, kind), **kwargs))
    assert fresh.last_epoch == stop
    assert run(fresh, 300 - stop) == expected  # exactly: the same floats, the same step


def test_state_dict_has_torch_keys_and_loads_both_ways():
    kwargs = dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")
    ours, theirs = CyclicLR(make_optimizer(2), **kwargs), TorchCyclicLR(make_optimizer(2), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(ours, 11), run(theirs, 11)
    internal = {"_is_initial", "_get_lr_called_within_step"}  # torch's flags, meaningless in a checkpoint
    assert set(ours.state_dict()) == set(theirs.state_dict()) - internal

    # Built differently, then loaded from the other class's checkpoint: the state decides.
    other = dict(base_lr=0.5, max_lr=0.9, step_size_up=7)
    our_copy = restored_from(theirs, lambda: CyclicLR(make_optimizer(2), **other))
    their_copy = restored_from(ours, lambda: TorchCyclicLR(make_optimizer(2), **other))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        continued = [run(s, 20) for s in (ours, theirs, our_copy, their_copy)]
    for trajectory in continued[1:]:
        assert_close([lr for lr, _, _ in trajectory], [lr for lr, _, _ in continued[0]])
        assert_close([m for _, m, _ in trajectory], [m for _, m, _ in continued[0]])


def test_load_state_dict_leaves_its_argument_alone():
    scheduler = CyclicLR(make_optimizer(), 0.01, 0.1, scale_fn=Decay(0.2))
    state = scheduler.state_dict()
    before = copy.deepcopy(state)
    scheduler.load_state_dict(state)
    scheduler.load_state_dict(state)  # twice: torch's pops _scale_fn_custom and fails the second time
    assert state == before


def test_callable_object_scale_fn_keeps_its_state_like_torch():
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=4)
    ours = CyclicLR(make_optimizer(), scale_fn=Decay(0.5), **kwargs)
    theirs = TorchCyclicLR(make_optimizer(), scale_fn=Decay(0.5), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(ours, 10), run(theirs, 10)
    state, their_state = ours.state_dict(), theirs.state_dict()
    assert state["_scale_fn_custom"] == their_state["_scale_fn_custom"] == {"rate": 0.5, "first": 1}

    restored = restored_from(ours, lambda: CyclicLR(make_optimizer(), scale_fn=Decay(9.0), **kwargs))
    assert restored.spec.scale_fn.rate == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(restored, 30) == run(ours, 30)


def test_a_function_scale_fn_saves_none_and_the_scheduler_keeps_its_own():
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=halving)
    scheduler = CyclicLR(make_optimizer(), **kwargs)
    run(scheduler, 7)
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] is None
    restored = restored_from(scheduler, lambda: CyclicLR(make_optimizer(), **kwargs))
    assert run(restored, 20) == run(scheduler, 20)


def test_resume_with_last_epoch_matches_torch():
    kwargs = dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")
    for kind in ("sgd", "adam"):
        saved = make_optimizer(2, kind)
        CyclicLR(saved, **kwargs)  # records "initial_lr" in the groups, as a first run would
        ours, theirs = make_optimizer(2, kind), make_optimizer(2, kind)
        ours.load_state_dict(saved.state_dict())
        theirs.load_state_dict(saved.state_dict())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resumed = CyclicLR(ours, last_epoch=13, **kwargs)
            reference = TorchCyclicLR(theirs, last_epoch=13, **kwargs)
            assert resumed.last_epoch == reference.last_epoch == 14  # torch's convention: it takes a step
            ours_run, theirs_run = run(resumed, 30), run(reference, 30)
        assert_close([lr for lr, _, _ in ours_run], [lr for lr, _, _ in theirs_run])
        assert_close([m for _, m, _ in ours_run], [m for _, m, _ in theirs_run])


# -- tensors in the parameter groups ---------------------------------------------------------------------


def test_tensor_lr_is_filled_in_place_with_torchs_rounding():
    kwargs = dict(base_lr=0.0123, max_lr=0.1, step_size_up=3, step_size_down=7, mode="triangular2")
    ours, theirs = make_optimizer(2, lr=torch.tensor(0.5)), make_optimizer(2, lr=torch.tensor(0.5))
    ours_tensors = [group["lr"] for group in ours.param_groups]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_run, theirs_run = run(CyclicLR(ours, **kwargs), 40), run(TorchCyclicLR(theirs, **kwargs), 40)
    assert [group["lr"] for group in ours.param_groups] == ours_tensors  # the same objects
    assert all(group["lr"] is tensor for group, tensor in zip(ours.param_groups, ours_tensors, strict=True))
    for (lrs, _, last), (their_lrs, _, their_last) in zip(ours_run, theirs_run, strict=True):
        assert [t.dtype for t in lrs] == [torch.float32] * 2
        assert [float(t) for t in lrs] == [float(t) for t in their_lrs]  # float32, rounded as torch rounds
        assert [float(t) for t in last] == [float(t) for t in their_last]
        assert all(
            isinstance(t, torch.Tensor) and t is not g for t, g in zip(last, ours_tensors, strict=True)
        )  # copies


def test_tensor_betas_are_filled_in_place():
    optimizer = tensor_adam([torch.nn.Parameter(torch.zeros(1))])
    beta1, beta2 = optimizer.param_groups[0]["betas"]
    scheduler = CyclicLR(optimizer, base_lr=0.001, max_lr=0.01, step_size_up=4)
    for step in range(1, 10):
        optimizer.step()
        scheduler.step()
        betas = optimizer.param_groups[0]["betas"]
        assert betas[0] is beta1 and betas[1] is beta2
        assert float(beta1) == np.float32(scheduler.spec.momentum_at(step))


# -- the generic Scheduler drives any spec ---------------------------------------------------------------


@pytest.mark.parametrize("waveform", ["triangular", "cosine", "welch"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_scheduler_applies_any_spec_exactly(waveform, kind):
    groups = dict(base_lr=[0.01, 0.02], max_lr=0.1, base_momentum=[0.8, 0.85])
    spec = cyclr.CyclicLR(**groups, step_size_up=5, step_size_down=3, mode="triangular2", waveform=waveform)
    lrs, momenta = spec.precompute(60)
    for step, (lr, momentum, last) in enumerate(run(Scheduler(make_optimizer(2, kind), spec), 60)):
        assert lr == last == lrs[step].tolist()  # exactly the spec's values
        assert momentum == momenta[step].tolist()


FAMILIES = {  # a cyclr spec, and torch's own scheduler for it: no torch code was written for these
    "one-cycle, cos": (
        lambda: cyclr.OneCycleLR(max_lr=[0.1, 0.2], total_steps=300),
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=300),
    ),
    "one-cycle, linear, three phases": (
        lambda: cyclr.OneCycleLR(max_lr=0.1, total_steps=300, anneal_strategy="linear", three_phase=True),
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.1, total_steps=300, anneal_strategy="linear", three_phase=True
        ),
    ),
    "SGDR": (
        lambda: cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=7, T_mult=2, eta_min=0.001),
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=7, T_mult=2, eta_min=0.001),
    ),
    # torch's step-wise schedulers step recursively: within 1e-12 of their closed form over these runs
    # (tests/test_stepwise.py bounds the drift), which the spec computes
    "ConstantLR": (
        lambda: cyclr.ConstantLR(0.1, factor=0.3, total_iters=40),
        lambda opt: torch.optim.lr_scheduler.ConstantLR(opt, factor=0.3, total_iters=40),
    ),
    "LinearLR": (
        lambda: cyclr.LinearLR(0.1, start_factor=0.05, end_factor=0.8, total_iters=200),
        lambda opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.05, end_factor=0.8, total_iters=200),  # noqa: E501
    ),
    "ExponentialLR": (
        lambda: cyclr.ExponentialLR(0.1, gamma=0.99),
        lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99),
    ),
    "StepLR": (
        lambda: cyclr.StepLR(0.1, step_size=13, gamma=0.7),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=13, gamma=0.7),
    ),
    "MultiStepLR": (
        lambda: cyclr.MultiStepLR(0.1, milestones=[20, 20, 150], gamma=0.5),
        lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[20, 20, 150], gamma=0.5),
    ),
    "PolynomialLR": (
        lambda: cyclr.PolynomialLR(0.1, total_iters=60, power=2.0),
        lambda opt: torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=60, power=2.0),
    ),
}


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_scheduler_drives_other_families_like_torchs_own_schedulers(family, kind):
    make_spec, make_torch = FAMILIES[family]
    ours = torch_trajectory(lambda opt: Scheduler(opt, make_spec()), 300, groups=2, optimizer=kind)
    theirs = torch_trajectory(make_torch, 300, groups=2, optimizer=kind)
    assert_close(ours[0], theirs[0], what="lr")
    assert_close(ours[1], theirs[1], what="momentum")


def test_a_spec_without_groups_drives_every_group():
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4, waveform="cosine")
    for step, (lr, momentum, _) in enumerate(run(Scheduler(make_optimizer(3), spec), 20)):
        assert lr == [spec.lr_at(step)] * 3 and momentum == [spec.momentum_at(step)] * 3


def test_a_group_added_later_gets_an_ungrouped_spec_and_breaks_a_grouped_one():
    optimizer = make_optimizer(1)
    scheduler = Scheduler(optimizer, cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4))
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))]})
    optimizer.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [scheduler.spec.lr_at(1)] * 2
    optimizer = make_optimizer(1)
    scheduler = Scheduler(optimizer, cyclr.CyclicLR(base_lr=[0.01], max_lr=0.1, step_size_up=4))
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))]})
    optimizer.step()
    with pytest.raises(ValueError, match="param_groups has 2 groups, but the spec has 1"):
        scheduler.step()


class Exponential:
    """A schedule that is no cyclr class at all: the contract is enough (no to_dict, no precompute)."""

    groups = None
    has_momentum = False

    def __call__(self, step: int) -> tuple[float, None]:
        return 0.1 * 0.5**step, None


def test_any_object_with_the_spec_contract_works():
    scheduler = Scheduler(make_optimizer(kind="adagrad"), Exponential())
    trajectory = run(scheduler, 5)
    assert [lr for lr, _, _ in trajectory] == [[0.1 * 0.5**k] for k in range(5)]
    assert scheduler.state_dict()["spec"] is None


@given(st.lists(st.one_of(st.none(), st.integers(0, 5000)), min_size=1, max_size=40))
def test_steps_and_jumps_give_the_spec_value_at_last_epoch(moves):
    spec = cyclr.CyclicLR(
        base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=7, step_size_down=12, mode="exp_range", gamma=0.999
    )
    optimizer = make_optimizer(2)
    scheduler = Scheduler(optimizer, spec)
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in moves:
            scheduler.step(epoch)
            lr, momentum = spec(scheduler.last_epoch)
            assert scheduler.get_last_lr() == scheduler.get_lr() == lr.tolist()
            assert [group["momentum"] for group in optimizer.param_groups] == momentum.tolist()


def test_step_with_epoch_warns_like_torch():
    for make in (lambda opt: CyclicLR(opt, 0.01, 0.1), lambda opt: TorchCyclicLR(opt, 0.01, 0.1)):
        optimizer = make_optimizer()
        scheduler = make(optimizer)
        optimizer.step()
        with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)` was not necessary"):
            scheduler.step(10)
        assert scheduler.last_epoch == 10


@pytest.mark.parametrize("maker", [CyclicLR, TorchCyclicLR], ids=["cyclr", "torch"])
def test_stepping_before_the_optimizer_warns_like_torch(maker):
    scheduler = maker(make_optimizer(), 0.01, 0.1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    optimizer = make_optimizer()
    scheduler = maker(optimizer, 0.01, 0.1)
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()  # the right order: silent
        scheduler.get_last_lr()


def test_get_lr_is_pure_and_silent():
    optimizer = make_optimizer()
    scheduler = CyclicLR(optimizer, 0.01, 0.1, step_size_up=4)
    optimizer.step()
    scheduler.step()
    before = group_settings(optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scheduler.get_lr() == scheduler.get_last_lr() == [scheduler.spec.lr_at(1)]
    assert group_settings(optimizer) == before


def test_works_inside_torchs_sequential_lr():
    optimizer = make_optimizer()
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=3)
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4)
    cyclic = Scheduler(optimizer, spec)
    sequential = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cyclic], milestones=[3])
    lrs = [lr for lr, _, _ in run(sequential, 12)]
    assert lrs[3:] == [[spec.lr_at(k)] for k in range(9)]  # the cyclic schedule restarts at the milestone


def test_scheduler_state_holds_the_spec_and_load_adopts_it():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, waveform="welch")
    scheduler = Scheduler(make_optimizer(2), spec)
    run(scheduler, 5)
    state = save_and_reload(scheduler.state_dict())
    assert state["spec"] == spec.to_dict() and state["last_epoch"] == 5
    # Built with another spec: as in torch, the state decides.
    other_spec = cyclr.CyclicLR(base_lr=0.3, max_lr=0.9)
    other = restored_from(scheduler, lambda: Scheduler(make_optimizer(2), other_spec))
    assert other.spec == spec
    assert run(other, 20) == run(scheduler, 20)


def test_a_spec_holding_code_saves_only_the_step():
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=halving)
    scheduler = Scheduler(make_optimizer(), spec)
    run(scheduler, 5)
    state = scheduler.state_dict()
    assert state["spec"] is None and state["last_epoch"] == 5
    restored = restored_from(scheduler, lambda: Scheduler(make_optimizer(), spec))  # the same spec, then load
    assert restored.spec is spec
    assert run(restored, 10) == run(scheduler, 10)


# -- torch.compile ---------------------------------------------------------------------------------------


def compiles_per_step(make_optimizer_for, make_scheduler, steps: int = 100) -> tuple[list[int], int]:
    """Frames compiled after each of ``steps`` compiled optimizer steps, and how many distinct lrs ran.

    ``dynamic=False``: every float that changes would recompile (by default dynamo recompiles once, then
    treats the float as dynamic), so the counts show every recompile a changing value causes.
    """
    torch._dynamo.reset()
    counter = CompileCounter()  # dynamo's guards decide recompiles, whatever the backend: no C++ compile
    model = torch.nn.Linear(3, 1)
    optimizer = make_optimizer_for(model.parameters())
    scheduler = make_scheduler(optimizer)

    @torch.compile(backend=counter, dynamic=False)
    def optimizer_step():
        optimizer.step()

    inputs = torch.ones(2, 3)
    counts, lrs = [], set()
    try:
        for _ in range(steps):
            model(inputs).sum().backward()
            optimizer_step()
            scheduler.step()
            counts.append(counter.frame_count)
            lrs.add(float(optimizer.param_groups[0]["lr"]))
    finally:
        torch._dynamo.reset()
    return counts, len(lrs)


def test_a_tensor_lr_and_tensor_betas_do_not_recompile_a_compiled_step():
    counts, distinct = compiles_per_step(
        tensor_adam,
        lambda opt: CyclicLR(opt, base_lr=0.001, max_lr=0.01, step_size_up=10),  # cycles beta1 as well
    )
    assert distinct > 10 and counts[0] >= 1
    assert counts[-1] == counts[0]  # compiled once, for 100 steps of a changing lr and beta1


def test_a_float_lr_would_recompile():  # the check above sees lr-driven recompiles when there are some
    counts, _ = compiles_per_step(
        lambda params: tensor_adam(params, lr=0.01),
        lambda opt: CyclicLR(opt, base_lr=0.001, max_lr=0.01),
        steps=5,
    )
    assert counts[3] > counts[0]


def test_a_tensor_lr_does_not_recompile_sgd_but_a_float_momentum_does():
    def compiles(**kwargs) -> list[int]:
        spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=10, **kwargs)
        return compiles_per_step(
            lambda params: torch.optim.SGD(params, lr=torch.tensor(0.01), momentum=0.9),
            lambda opt: Scheduler(opt, spec),
        )[0]

    # SGD compiles twice before any value changes: without, then with its momentum buffers.
    constant_momentum = compiles(cycle_momentum=False)
    assert constant_momentum[-1] == constant_momentum[1]
    # The limitation docs/torch.md states: SGD's momentum is a float (torch's SGD cannot compile a tensor
    # one), so cycling it recompiles (with dynamic=False at every change; by default once).
    cycled_momentum = compiles()
    assert cycled_momentum[-1] > constant_momentum[-1]


# -- errors: the same exception types as torch for the same mistakes, and nothing written -----------------

TORCH_MISTAKES = {
    "not an optimizer": (lambda: "sgd", {}),
    "base_lr list too long": (lambda: make_optimizer(2), {"base_lr": [0.01] * 3}),
    "max_lr list too short": (lambda: make_optimizer(2), {"max_lr": [0.1]}),
    "base_momentum list": (lambda: make_optimizer(2), {"base_momentum": [0.8]}),
    "max_momentum list": (lambda: make_optimizer(2, "adam"), {"max_momentum": [0.9] * 3}),
    "bad mode": (lambda: make_optimizer(), {"mode": "triangle"}),
    "no momentum to cycle": (lambda: make_optimizer(kind="adagrad"), {}),
    "resume without initial_lr": (lambda: make_optimizer(), {"last_epoch": 5}),
}


@pytest.mark.parametrize("mistake", list(TORCH_MISTAKES))
def test_the_same_mistakes_raise_what_torch_raises(mistake):
    make, extra = TORCH_MISTAKES[mistake]
    kwargs = {"base_lr": 0.01, "max_lr": 0.1, **extra}
    expected = torch_error(lambda: TorchCyclicLR(make(), **kwargs))
    assert expected is not None, "torch accepts this"
    optimizer = make()
    before = group_settings(optimizer) if isinstance(optimizer, torch.optim.Optimizer) else None
    with pytest.raises(type(expected)) as raised:
        CyclicLR(optimizer, **kwargs)
    assert type(raised.value) is type(expected)
    if before is not None:
        assert group_settings(optimizer) == before  # validated before anything was written
        assert not hasattr(optimizer.step, "_wrapped_by_lr_sched")


@pytest.mark.parametrize("name", ["base_lr", "max_lr", "base_momentum", "max_momentum"])
def test_length_errors_name_the_parameter_and_both_counts(name):
    message = rf"^{name} must have the same length as optimizer.param_groups: 3 values, 2 groups$"
    with pytest.raises(ValueError, match=message):
        CyclicLR(make_optimizer(2), **{"base_lr": 0.01, "max_lr": 0.1, name: [0.5, 0.6, 0.7]})


STRICTER_THAN_TORCH = {  # torch accepts these silently (or fails with a bare ZeroDivisionError)
    "zero step size": ({"step_size_up": 0}, ValueError, "step_size_up must be a positive integer, got 0"),
    "fractional step size": ({"step_size_down": 2.5}, ValueError, "step_size_down must be a whole number"),
    "string step size": ({"step_size_up": "4"}, TypeError, "step_size_up must be an integer"),
    "negative lr": ({"base_lr": -0.01}, ValueError, "base_lr must be >= 0.0"),
    "nan lr": ({"max_lr": [0.1, float("nan")]}, ValueError, r"max_lr\[1\] must be finite"),
    "zero gamma": ({"gamma": 0.0, "mode": "exp_range"}, ValueError, "gamma must be > 0"),
    "unknown scale_mode": (
        {"scale_fn": halving, "scale_mode": "iter"},
        ValueError,
        "did you mean 'iterations'",
    ),
    "non-bool cycle_momentum": ({"cycle_momentum": 1}, TypeError, "cycle_momentum must be True or False"),
    "non-callable scale_fn": ({"scale_fn": 3}, TypeError, "scale_fn must be callable"),
    "float last_epoch": ({"last_epoch": 2.0}, TypeError, "last_epoch must be an integer"),
}


@pytest.mark.parametrize("mistake", list(STRICTER_THAN_TORCH))
def test_invalid_values_raise_before_anything_is_written(mistake):
    extra, error, message = STRICTER_THAN_TORCH[mistake]
    optimizer = make_optimizer(2)
    optimizer.param_groups[0]["initial_lr"] = optimizer.param_groups[1]["initial_lr"] = 0.1
    before = group_settings(optimizer)
    with pytest.raises(error, match=message):
        CyclicLR(optimizer, **{"base_lr": 0.01, "max_lr": 0.1, **extra})
    assert group_settings(optimizer) == before


SCHEDULER_MISTAKES = {
    "not an optimizer": (lambda: object(), cyclr.CyclicLR(), {}, TypeError, "object is not an Optimizer"),
    "not a spec": (make_optimizer, {"base_lr": 0.01}, {}, TypeError, "spec must be a cyclr schedule"),
    "groups differ": (lambda: make_optimizer(3), cyclr.CyclicLR(base_lr=[0.01, 0.02]), {}, ValueError,
                      "spec.groups is 2, optimizer.param_groups has 3"),
    "no momentum to cycle": (lambda: make_optimizer(kind="adagrad"), cyclr.CyclicLR(), {}, ValueError,
                             "Adagrad has neither 'momentum' nor 'betas'"),
    "last_epoch below -1": (make_optimizer, cyclr.CyclicLR(), {"last_epoch": -2}, ValueError,
                            "last_epoch must be an integer >= -1, got -2"),
    "resume without initial_lr": (make_optimizer, cyclr.CyclicLR(), {"last_epoch": 3}, KeyError,
                                  "initial_lr"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(SCHEDULER_MISTAKES))
def test_scheduler_errors(mistake):
    make, spec, extra, error, message = SCHEDULER_MISTAKES[mistake]
    optimizer = make()
    before = group_settings(optimizer) if isinstance(optimizer, torch.optim.Optimizer) else None
    with pytest.raises(error, match=message):
        Scheduler(optimizer, spec, **extra)
    if before is not None:
        assert group_settings(optimizer) == before


def test_a_spec_that_fails_fails_before_anything_is_written():
    def broken(x: int) -> float:
        raise ArithmeticError("scale_fn failed")

    optimizer = make_optimizer()
    before = group_settings(optimizer)
    with pytest.raises(ArithmeticError, match="scale_fn failed"):
        Scheduler(optimizer, cyclr.CyclicLR(scale_fn=broken))
    assert group_settings(optimizer) == before


def test_load_state_dict_errors_change_nothing():
    scheduler = Scheduler(make_optimizer(2), cyclr.CyclicLR(base_lr=[0.01, 0.02]))
    good = scheduler.state_dict()
    bad_states = {
        "unknown key": ({**good, "lr_lambdas": []}, ValueError, "unknown keys"),
        "no last_epoch": ({k: v for k, v in good.items() if k != "last_epoch"}, KeyError, "last_epoch"),
        "bad last_epoch": ({**good, "last_epoch": 2.5}, TypeError, "last_epoch must be an integer"),
        "groups differ": (
            {**good, "spec": cyclr.CyclicLR(base_lr=[0.1] * 3).to_dict()},
            ValueError,
            "spec.groups is 3",
        ),
        "bad spec data": ({**good, "spec": {"schedule": "Nope"}}, ValueError, "unknown schedule"),
        "not a mapping": ([("last_epoch", 3)], TypeError, "state_dict must be a mapping"),
    }
    for state, error, message in bad_states.values():
        with pytest.raises(error, match=message):
            scheduler.load_state_dict(state)
        assert scheduler.state_dict() == good


def test_cyclic_load_state_dict_errors():
    scheduler = CyclicLR(make_optimizer(), 0.01, 0.1)
    good = scheduler.state_dict()
    with pytest.raises(ValueError, match="scale_fn"):
        scheduler.load_state_dict({**good, "_scale_fn_custom": {"rate": 1.0}})
    with pytest.raises(ValueError, match="total_size must be a whole number"):
        scheduler.load_state_dict({**good, "total_size": 7.5})
    with pytest.raises(ValueError, match="max_lrs must have the same length"):
        scheduler.load_state_dict({**good, "max_lrs": [0.1, 0.2]})
    assert scheduler.state_dict() == good


def test_momentum_values_at_a_huge_step_stay_exact():
    step = 2**40 + 3  # torch's float cycle position drifts here; the integer one does not
    optimizer = make_optimizer()
    optimizer.param_groups[0]["initial_lr"] = 0.01
    scheduler = CyclicLR(optimizer, 0.01, 0.1, step_size_up=4, last_epoch=step - 1)
    assert scheduler.get_last_lr() == [0.01 + (0.1 - 0.01) * 0.75]
    assert math.isclose(optimizer.param_groups[0]["momentum"], 0.9 - 0.1 * 0.75, rel_tol=1e-15)


@pytest.mark.parametrize("step", [2**62 - 3, 2**70])  # past int64 blocks, spec(step) takes Python ints
def test_steps_beyond_int64_still_give_the_spec_values(step):
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=4)
    optimizer = make_optimizer(2)
    for group in optimizer.param_groups:
        group["initial_lr"] = 0.01
    scheduler = Scheduler(optimizer, spec, last_epoch=step - 1)
    optimizer.step()
    for k in range(step, step + 6):
        assert scheduler.last_epoch == k and scheduler.get_last_lr() == spec.lr_at(k).tolist()
        scheduler.step()
