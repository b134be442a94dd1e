"""cyclr.torch with tensor lrs (``lr=torch.tensor(0.1)``, the torch.compile-friendly form): the tensor path
writes every group's tensors in one call; the values are spec(k), bit for bit, rounded once to the
tensor's dtype as ``fill_`` rounds them; the tensors stay the same objects; state and copies continue."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import cyclr
import cyclr.torch as ct

DTYPES = [torch.float64, torch.float32]
# Long enough to cross block boundaries (a block holds 2048 values: 2048 steps of 1 group, 204 of 10).
STEPS = {1: 2100, 10: 450}


def optimizer(groups: int, dtype: torch.dtype | None, kind: str = "sgd", tensor_momentum: bool = False):
    """``groups`` groups, each its own lr tensor of ``dtype`` (a float lr where dtype is None)."""
    params = []
    for _ in range(groups):
        group = {"params": [torch.nn.Parameter(torch.zeros(1))]}
        group["lr"] = 0.1 if dtype is None else torch.tensor(0.1, dtype=dtype)
        if tensor_momentum and kind == "sgd":
            group["momentum"] = torch.tensor(0.9, dtype=dtype)
        if kind == "adam":
            beta1 = torch.tensor(0.9, dtype=dtype) if tensor_momentum else 0.9
            group["betas"] = (beta1, 0.999)
        params.append(group)
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def per_group(groups: int) -> list[float]:
    return [0.001 * (i + 1) for i in range(groups)]


KINDS = {
    "CyclicLR": lambda opt, g: ct.CyclicLR(opt, base_lr=0.001, max_lr=0.006, step_size_up=7),
    "CyclicLR-per-group": lambda opt, g: ct.CyclicLR(
        opt, base_lr=per_group(g), max_lr=[5 * v for v in per_group(g)], step_size_up=5, mode="exp_range"
    ),
    "OneCycleLR": lambda opt, g: ct.OneCycleLR(opt, max_lr=0.01, total_steps=10**6),
    "Scheduler": lambda opt, g: ct.Scheduler(opt, cyclr.OneCycleLR(max_lr=0.01, total_steps=10**6)),
    "Scheduler-per-group": lambda opt, g: ct.Scheduler(
        opt, cyclr.CyclicLR(base_lr=per_group(g), max_lr=0.1, step_size_up=3, mode="triangular2")
    ),
}


def momentum_of(group, kind):
    return group["momentum"] if kind == "sgd" else group["betas"][0]


def bits(value, dtype):
    """The bits ``fill_`` leaves in a tensor of ``dtype`` filled with ``value``."""
    return torch.tensor(float(value), dtype=dtype).view(
        torch.int64 if dtype == torch.float64 else torch.int32
    )


def assert_same_bits(tensor, value):
    assert tensor.view(torch.int64 if tensor.dtype == torch.float64 else torch.int32).item() == (
        bits(value, tensor.dtype).item()
    ), (tensor.item(), value)


def run_pair(make, groups, dtype, kind="sgd", tensor_momentum=False, steps=None):
    """Step a tensor-lr scheduler and its float-lr twin side by side; check every step's written values."""
    tensor_opt, float_opt = optimizer(groups, dtype, kind, tensor_momentum), optimizer(groups, None, kind)
    tensors = [group["lr"] for group in tensor_opt.param_groups]
    pointers = [t.data_ptr() for t in tensors]
    ours, twin = make(tensor_opt, groups), make(float_opt, groups)
    history = []
    for _ in range(steps or STEPS[groups]):
        for group, expected in zip(tensor_opt.param_groups, float_opt.param_groups, strict=True):
            assert_same_bits(group["lr"], expected["lr"])
            if tensor_momentum:
                assert_same_bits(momentum_of(group, kind), momentum_of(expected, kind))
            else:
                assert momentum_of(group, kind) == momentum_of(expected, kind)
        last = ours.get_last_lr()
        for value, expected in zip(last, twin.get_last_lr(), strict=True):
            assert_same_bits(value, expected)
        history.append(last)
        tensor_opt.step(), float_opt.step()
        ours.step(), twin.step()
    # in place: the same tensor objects, the same memory
    assert [group["lr"] for group in tensor_opt.param_groups] == tensors
    assert [group["lr"].data_ptr() for group in tensor_opt.param_groups] == pointers
    # get_last_lr holds copies: never the group's tensors, and each step's its own
    assert all(value is not t for value in history[-1] for t in tensors)
    assert history[0][0].item() != history[-1][0].item() or history[1][0].item() != history[-1][0].item()
    return ours, twin, tensor_opt


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("groups", [1, 10])
@pytest.mark.parametrize("name", sorted(KINDS))
def test_tensor_lrs_receive_spec_values_bit_for_bit(name, groups, dtype):
    ours, _, _ = run_pair(KINDS[name], groups, dtype)
    assert type(ours._plan).__name__ == "_Plan"  # the tensor path wrote them (not fill_ one by one)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("groups", [1, 10])
def test_tensor_momentum_and_beta1_bit_for_bit(kind, groups, dtype):
    run_pair(KINDS["CyclicLR"], groups, dtype, kind=kind, tensor_momentum=True)
    run_pair(KINDS["Scheduler-per-group"], groups, dtype, kind=kind, tensor_momentum=True, steps=300)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_float_momentum_with_tensor_lrs_adam(dtype):
    run_pair(KINDS["OneCycleLR"], 10, dtype, kind="adam")


def test_mixed_groups_float_and_tensor_lrs():
    """Float and tensor groups in one optimizer (and a float32 next to a float64): every value exact."""
    opt = optimizer(4, torch.float64)
    opt.param_groups[1]["lr"] = 0.1
    opt.param_groups[2]["lr"] = torch.tensor(0.1, dtype=torch.float32)
    twin_opt = optimizer(4, None)
    ours = KINDS["Scheduler-per-group"](opt, 4)
    twin = KINDS["Scheduler-per-group"](twin_opt, 4)
    for _ in range(1200):
        for group, expected in zip(opt.param_groups, twin_opt.param_groups, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                assert_same_bits(group["lr"], expected["lr"])
            else:
                assert group["lr"] == expected["lr"]
        opt.step(), twin_opt.step()
        ours.step(), twin.step()
    assert isinstance(opt.param_groups[1]["lr"], float)


def test_a_tensor_shared_by_groups_is_filled():
    """torch gives every group the same tensor when ``lr=tensor`` is the optimizer's default."""
    shared = torch.tensor(0.1, dtype=torch.float64)
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(3)]
    opt = torch.optim.SGD(params, lr=shared, momentum=0.9)
    assert all(group["lr"] is shared for group in opt.param_groups)
    scheduler = KINDS["CyclicLR"](opt, 3)
    for step in range(1, 40):
        opt.step()
        scheduler.step()
        assert_same_bits(shared, scheduler.spec.lr_at(step))


def test_a_replaced_tensor_is_written_and_the_old_one_left():
    opt = optimizer(3, torch.float64)
    scheduler = KINDS["CyclicLR"](opt, 3)
    for _ in range(5):
        opt.step(), scheduler.step()
    old = opt.param_groups[1]["lr"]
    frozen = old.item()
    opt.param_groups[1]["lr"] = fresh = torch.tensor(0.5, dtype=torch.float32)
    for _ in range(5):
        opt.step(), scheduler.step()
        assert_same_bits(fresh, scheduler.spec.lr_at(scheduler.last_epoch))
        assert_same_bits(opt.param_groups[0]["lr"], scheduler.spec.lr_at(scheduler.last_epoch))
    assert old.item() == frozen
    opt.param_groups[1]["lr"] = 0.3  # back to a float: replaced, as on the general path
    opt.step(), scheduler.step()
    assert opt.param_groups[1]["lr"] == scheduler.spec.lr_at(scheduler.last_epoch)


def test_a_group_added_after_construction_is_refused_on_the_tensor_path():
    opt = optimizer(2, torch.float64)
    scheduler = KINDS["Scheduler-per-group"](opt, 2)
    opt.step(), scheduler.step()
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": torch.tensor(0.1)})
    with pytest.raises(ValueError, match="was a group added"):
        scheduler.step()


@pytest.mark.parametrize("copier", ["pickle", "deepcopy", "state_dict", "torch.save"])
def test_saved_mid_block_continues_identically(copier):
    opt = optimizer(10, torch.float32, tensor_momentum=True)
    scheduler = KINDS["CyclicLR-per-group"](opt, 10)
    for _ in range(150):
        opt.step(), scheduler.step()
    assert "_plan" not in vars(scheduler) and "_pending" not in vars(scheduler)
    if copier == "pickle":
        scheduler2 = pickle.loads(pickle.dumps(scheduler))
        opt2 = scheduler2.optimizer
    elif copier == "deepcopy":
        scheduler2 = copy.deepcopy(scheduler)
        opt2 = scheduler2.optimizer
    else:
        opt2 = optimizer(10, torch.float32, tensor_momentum=True)
        scheduler2 = KINDS["CyclicLR-per-group"](opt2, 10)
        state = scheduler.state_dict()
        assert all(isinstance(v, torch.Tensor) for v in state["_last_lr"])
        if copier == "torch.save":
            buffer = io.BytesIO()
            torch.save(state, buffer)
            buffer.seek(0)
            state = torch.load(buffer, weights_only=True)
        scheduler2.load_state_dict(state)
        opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert [v.item() for v in scheduler2.get_last_lr()] == [v.item() for v in scheduler.get_last_lr()]
    for _ in range(300):
        opt.step(), scheduler.step()
        opt2.step(), scheduler2.step()
        for group, other in zip(opt.param_groups, opt2.param_groups, strict=True):
            assert group["lr"].item() == other["lr"].item()
            assert group["momentum"].item() == other["momentum"].item()
        assert [v.item() for v in scheduler2.get_last_lr()] == [v.item() for v in scheduler.get_last_lr()]


def test_get_last_lr_is_the_value_written_even_if_the_tensor_changes_later():
    opt = optimizer(2, torch.float32)
    scheduler = KINDS["CyclicLR"](opt, 2)
    opt.step(), scheduler.step()
    written = opt.param_groups[0]["lr"].item()
    opt.param_groups[0]["lr"].fill_(123.0)  # someone else writes the tensor before get_last_lr is read
    last = scheduler.get_last_lr()
    assert last[0].item() == written and last[0].dtype == torch.float32
    assert scheduler.get_last_lr() is last  # one list per step, as torch's


def test_step_epoch_and_jumps_on_the_tensor_path():
    opt, twin_opt = optimizer(10, torch.float64), optimizer(10, None)
    ours, twin = KINDS["Scheduler-per-group"](opt, 10), KINDS["Scheduler-per-group"](twin_opt, 10)
    opt.step(), twin_opt.step()
    with pytest.warns(UserWarning):
        ours.step(100), twin.step(100)
    for _ in range(120):
        for group, expected in zip(opt.param_groups, twin_opt.param_groups, strict=True):
            assert_same_bits(group["lr"], expected["lr"])
        ours.step(), twin.step()
    with pytest.warns(UserWarning):
        ours.step(5), twin.step(5)
    for group, expected in zip(opt.param_groups, twin_opt.param_groups, strict=True):
        assert_same_bits(group["lr"], expected["lr"])


@pytest.mark.parametrize("per_group", [False, True], ids=["one-value", "per-group"])
def test_a_tensor_lr_after_float_groups_is_filled_without_momentum(per_group):
    """A spec without momentum (transformers' schedules on AdamW) takes a short path for float lrs; a
    tensor lr after float ones must still be filled in place, every group exact."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01 * (i + 1)} for i in range(3)]
    opt = torch.optim.AdamW(params, lr=0.01)
    tensor = torch.tensor(0.03, dtype=torch.float64)
    opt.param_groups[2]["lr"] = tensor
    base = [0.01, 0.02, 0.03] if per_group else 0.02
    spec = cyclr.warmup(cyclr.CosineDecay(base, 100), 10)
    scheduler = ct.Scheduler(opt, spec)
    for step in range(1, 300):
        opt.step()
        scheduler.step()
        expected = spec.lr_at(step)
        values = list(expected) if per_group else [expected] * 3
        assert [opt.param_groups[0]["lr"], opt.param_groups[1]["lr"]] == values[:2]
        assert opt.param_groups[2]["lr"] is tensor and tensor.item() == values[2]
        assert scheduler.get_last_lr()[:2] == values[:2]
