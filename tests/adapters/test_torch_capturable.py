"""cyclr.torch with ``capturable=True``: the step count on the device, ``step()`` in torch operations.

The values equal ``spec(k)`` (rounded once to the lr tensor's dtype), eagerly and inside compiled code
over 1,000 steps (every value checked: under torch.compile a copy into a 0-d float64 CPU tensor can be
dropped silently); the scheduler adds no graph break and no recompile to a compiled step; state,
pickles and copies continue as the host scheduler's do; a float lr is refused with the way to fix it.
"""

from __future__ import annotations

import copy
import io
import pickle
import warnings

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

import cyclr
import cyclr.torch as ct

DTYPES = [torch.float64, torch.float32]
SPEC = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=7, mode="exp_range", gamma=0.999)


def tensor(value: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(value, dtype=dtype)


def sgd(dtype=torch.float64, groups=1, momentum=True, shared=False):
    """SGD with tensor lr (and momentum): ``groups`` groups, each its own tensors unless ``shared``."""
    lr, mom = tensor(0.1, dtype), tensor(0.9, dtype)
    params = []
    for _ in range(groups):
        group = {"params": [torch.nn.Parameter(torch.ones(2, dtype=dtype))]}
        if not shared:
            group["lr"] = tensor(0.1, dtype)
            if momentum:
                group["momentum"] = tensor(0.9, dtype)
        params.append(group)
    return torch.optim.SGD(params, lr=lr, momentum=mom if momentum else 0.0)


def adam(dtype=torch.float64):
    model = torch.nn.Linear(3, 1).to(dtype)
    return torch.optim.Adam(
        model.parameters(), lr=tensor(0.1, dtype), betas=(tensor(0.9, dtype), tensor(0.99, dtype))
    )


def with_grads(optimizer):
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = torch.ones_like(p)
    return optimizer


def beta1(group):
    return (
        group["momentum"]
        if "momentum" in group and not isinstance(group.get("betas"), tuple)
        else group["betas"][0]
    )


def expected(values, index, dtype):
    """``spec(k)``'s lr or momentum for one group, rounded once to ``dtype`` (as fill_ rounds)."""
    value = (
        values if not isinstance(values, (list, tuple)) and getattr(values, "ndim", 0) == 0 else values[index]
    )
    return torch.tensor(float(value), dtype=torch.float64).to(dtype)


def assert_at(scheduler, spec, k):
    """Every group holds ``spec(k)``; the step count and ``get_last_lr`` say ``k``."""
    lr, momentum = spec(k)
    for index, group in enumerate(scheduler.optimizer.param_groups):
        assert group["lr"] == expected(lr, index, group["lr"].dtype), (k, index, group["lr"], lr)
        if momentum is not None:
            m = beta1(group)
            assert m == expected(momentum, index, m.dtype), (k, index, m, momentum)
        assert scheduler.get_last_lr()[index] == group["lr"]


# The schedulers: name -> (build(optimizer) -> scheduler, groups)
def _kinds():
    per_group = cyclr.CyclicLR(
        base_lr=[0.001, 0.002], max_lr=[0.01, 0.03], step_size_up=5, mode="triangular2"
    )
    return {
        "Scheduler": (lambda o: ct.Scheduler(o, SPEC, capturable=True), 1),
        "Scheduler-per-group": (lambda o: ct.Scheduler(o, per_group, capturable=True), 2),
        "CyclicLR": (
            lambda o: ct.CyclicLR(o, base_lr=0.001, max_lr=0.006, step_size_up=3, capturable=True),
            1,
        ),
        "OneCycleLR": (
            lambda o: ct.OneCycleLR(o, max_lr=0.01, total_steps=1000, capturable=True),
            1,
        ),
        "CosineAnnealingLR": (
            lambda o: ct.CosineAnnealingLR(o, T_max=50, eta_min=0.001, capturable=True),
            1,
        ),
        "CosineAnnealingWarmRestarts": (
            lambda o: ct.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, capturable=True),
            1,
        ),
    }


KINDS = _kinds()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_eager_steps_write_spec_k_in_place(kind, dtype):
    build, groups = KINDS[kind]
    optimizer = with_grads(sgd(dtype, groups=groups))
    tensors = [(g["lr"], g["momentum"]) for g in optimizer.param_groups]
    scheduler = build(optimizer)
    spec = scheduler.spec  # the drop-ins' specs (from the groups' lrs) are tested in test_torch*.py
    assert type(scheduler).__name__ == kind.split("-")[0] and isinstance(
        scheduler, getattr(ct, kind.split("-")[0])
    )
    assert_at(scheduler, spec, 0)
    for k in range(1, 40):
        optimizer.step()
        scheduler.step()
        assert_at(scheduler, spec, k)
        assert scheduler.last_epoch == k and scheduler._step_count == k + 1
    # the same tensors, written in place
    for group, (lr, momentum) in zip(optimizer.param_groups, tensors, strict=True):
        assert group["lr"] is lr and group["momentum"] is momentum


def test_adam_beta1_is_written_and_beta2_kept():
    optimizer = with_grads(adam())
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=3, base_momentum=0.8, max_momentum=0.9)
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)
    for k in range(1, 10):
        optimizer.step()
        scheduler.step()
        assert_at(scheduler, spec, k)
        assert optimizer.param_groups[0]["betas"][1] == tensor(0.99)


def test_a_tensor_shared_by_groups_takes_the_one_value_of_a_spec_without_groups():
    optimizer = with_grads(sgd(groups=3, shared=True))
    assert optimizer.param_groups[0]["lr"] is optimizer.param_groups[2]["lr"]
    scheduler = ct.Scheduler(optimizer, SPEC, capturable=True)
    for k in range(1, 5):
        optimizer.step()
        scheduler.step()
        assert_at(scheduler, SPEC, k)


# -- compiled ------------------------------------------------------------------------------------------


def _compiles(fn, steps, at=(1, 3)):
    """Run ``fn`` ``steps`` times under torch.compile; torch's counts of compiled frames and graphs after
    the calls numbered in ``at`` and at the end, and the graph breaks."""
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(fn)
    history = {}
    for call in range(1, steps + 1):
        compiled()
        if call in at or call == steps:
            history[call] = (counters["frames"]["total"], counters["stats"].get("unique_graphs", 0))
    return history, sum(counters["graph_break"].values()), list(counters["graph_break"])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("make", [adam, sgd], ids=["Adam", "SGD"])
def test_a_compiled_step_breaks_and_compiles_as_the_optimizer_step_alone(make, dtype):
    # The optimizer.step alone (no scheduler): torch's own deliberate graph breaks (SGD with a tensor
    # momentum adds one at `if momentum != 0`, and compiles again at its second step, once the momentum
    # buffer exists).
    alone = with_grads(make(dtype))
    history_alone, breaks_alone, _ = _compiles(lambda: alone.step(), 3)
    optimizer = with_grads(make(dtype))
    spec = SPEC if make is sgd else cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=7)
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)

    def train_step():
        optimizer.step()
        scheduler.step()

    history, breaks, reasons = _compiles(train_step, 1000)
    assert breaks == breaks_alone  # no graph break of the scheduler's own
    assert not any("skipped" in reason for reason in reasons)  # torch's wrapper of optimizer.step is gone
    # compiled on the first call only, but for the optimizer's own second compile; never after
    assert history[1000] == history[3]
    assert history[3][0] - history[1][0] == history_alone[3][0] - history_alone[1][0]
    assert history[1][1] == history_alone[1][1] + 1  # the scheduler's graph, made once
    assert scheduler.last_epoch == 1000 and bool(optimizer._opt_called)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_inside_compiled_code_every_step_writes_spec_k(dtype):
    optimizer = with_grads(adam(dtype))
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=7)
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)

    @torch.compile
    def train_step():
        optimizer.step()
        scheduler.step()

    torch._dynamo.reset()
    for k in range(1, 1001):
        train_step()
        assert_at(scheduler, spec, k)


class SignSGD(torch.optim.Optimizer):
    """A user's optimizer written in torch operations: it traces fully."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.sub_(group["lr"] * group["momentum"] * torch.sign(p.grad))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_traceable_training_step_compiles_with_fullgraph_once_over_1000_steps(dtype):
    model = torch.nn.Linear(3, 1).to(dtype)
    optimizer = SignSGD(model.parameters(), lr=tensor(0.1, dtype), momentum=tensor(0.9, dtype))
    scheduler = ct.Scheduler(optimizer, SPEC, capturable=True)
    x, y = torch.randn(8, 3, dtype=dtype), torch.randn(8, 1, dtype=dtype)

    @torch.compile(fullgraph=True)
    def train_step():
        optimizer.step()
        scheduler.step()

    torch._dynamo.reset()
    counters.clear()
    for k in range(1, 1001):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        train_step()
        assert_at(scheduler, SPEC, k)
    assert counters["stats"]["unique_graphs"] == 1
    assert not counters["graph_break"]
    assert bool(optimizer._opt_called)  # the step-order flag survives compiled code (see _Called)


def test_torch_drops_a_copy_into_a_0d_float64_cpu_tensor_under_compile_but_not_foreach_copy():
    # The fact the scheduler works around (torch 2.13); if torch fixes it, this test says so.
    class Holder:
        pass

    holder = Holder()
    holder.copied, holder.foreach, holder.step = tensor(0.0), tensor(0.0), torch.tensor(0)

    @torch.compile(fullgraph=True)
    def write():
        holder.step.add_(1)
        value = holder.step.to(torch.float64) * 0.5
        holder.copied.copy_(value)
        torch._foreach_copy_([holder.foreach], [value])

    torch._dynamo.reset()
    for _ in range(3):
        write()
    assert holder.foreach == 1.5
    if holder.copied == 1.5:
        pytest.fail("torch now writes copy_() into a 0-d float64 CPU tensor: docs/torch.md can drop the note")
    assert holder.copied == 0.0


def test_torch_schedulers_wrapper_of_optimizer_step_is_replaced_by_a_traceable_one():
    optimizer = with_grads(adam())
    torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)  # torch's wrapper first
    scheduler = ct.Scheduler(optimizer, cyclr.CyclicLR(step_size_up=3, cycle_momentum=False), capturable=True)
    _, _, reasons = _compiles(lambda: optimizer.step(), 2)
    assert not any("skipped" in reason for reason in reasons)
    assert optimizer.step._wrapped_by_lr_sched and bool(optimizer._opt_called)
    scheduler.step()  # after optimizer.step: no order warning


# -- CUDA graphs ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graph capture needs a CUDA device; none here")
def test_a_cuda_graph_of_the_whole_training_step_replays_the_schedule():
    device = torch.device("cuda")
    model = torch.nn.Linear(16, 1).to(device)
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=torch.tensor(0.001, device=device),
        betas=(torch.tensor(0.9, device=device), torch.tensor(0.999, device=device)),
        capturable=True,
    )
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=7)
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)
    x, y = torch.randn(32, 16, device=device), torch.randn(32, 1, device=device)
    # warm up on a side stream (torch's recipe), then capture forward, backward and both steps
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            optimizer.zero_grad(set_to_none=False)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            scheduler.step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=False)
    with torch.cuda.graph(graph):
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    lrs, momenta = [], []
    for _ in range(1000):
        graph.replay()
        lrs.append(optimizer.param_groups[0]["lr"].clone())
        momenta.append(optimizer.param_groups[0]["betas"][0].clone())
    torch.cuda.synchronize()
    start = 4  # three warm-up steps and the capture's own step, then one step per replay
    for i, (lr, momentum) in enumerate(zip(lrs, momenta, strict=True)):
        k = start + 1 + i
        assert lr.item() == torch.tensor(spec.lr_at(k), dtype=torch.float32).item(), k
        assert momentum.item() == torch.tensor(spec.momentum_at(k), dtype=torch.float32).item(), k
    assert scheduler.last_epoch == start + 1000


# -- construction: what capturable needs ---------------------------------------------------------------


def test_a_float_lr_is_refused_with_the_way_to_fix_it():
    optimizer = torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=0.01)
    with pytest.raises(TypeError, match=r"param_groups\[0\]\['lr'\] is 0.01 .*lr=torch.tensor\(0.001\)"):
        ct.Scheduler(optimizer, cyclr.CyclicLR(cycle_momentum=False), capturable=True)
    assert optimizer.param_groups[0]["lr"] == 0.01 and "initial_lr" not in optimizer.param_groups[0]
    assert not hasattr(optimizer.step, "_wrapped_by_lr_sched")  # nothing changed


def test_a_float_momentum_or_beta1_the_spec_schedules_is_refused():
    sgd_float = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=tensor(0.1), momentum=0.9)
    with pytest.raises(
        TypeError, match=r"\['momentum'\] is 0.9 .*momentum=torch.tensor\(0.9\).*cycle_momentum=False"
    ):
        ct.CyclicLR(sgd_float, base_lr=0.01, max_lr=0.1, capturable=True)
    ct.CyclicLR(sgd_float, base_lr=0.01, max_lr=0.1, cycle_momentum=False, capturable=True)  # lr only: fine
    adam_float = torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=tensor(0.1))
    with pytest.raises(TypeError, match=r"\['betas'\]\[0\] is 0.9 .*betas=\(torch.tensor\(0.9\)"):
        ct.OneCycleLR(adam_float, max_lr=0.1, total_steps=10, capturable=True)


@pytest.mark.parametrize(
    "lr, message",
    [
        (
            torch.tensor([0.1, 0.2]),
            r"one-element floating-point tensor in param_groups\[0\]\['lr'\], got dtype torch.float32 "
            r"and shape \(2,\)",
        ),
        (torch.tensor(1), r"one-element floating-point tensor .* got dtype torch.int64"),
        (torch.tensor(0.1, requires_grad=True), r"cannot write param_groups\[0\]\['lr'\]: it requires grad"),
    ],
    ids=["two-elements", "integer", "requires-grad"],
)
def test_a_tensor_that_cannot_be_written_is_refused(lr, message):
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    optimizer.param_groups[0]["lr"] = lr
    with pytest.raises(ValueError, match=message):
        ct.Scheduler(optimizer, cyclr.CyclicLR(cycle_momentum=False), capturable=True)


def test_groups_sharing_a_tensor_are_refused_for_a_spec_with_groups():
    optimizer = sgd(groups=2, shared=True)
    spec = cyclr.CyclicLR(base_lr=[0.001, 0.002], max_lr=0.01, cycle_momentum=False)
    with pytest.raises(ValueError, match=r"param_groups\[0\] and param_groups\[1\] share one lr tensor"):
        ct.Scheduler(optimizer, spec, capturable=True)


def test_capturable_must_be_a_bool_and_the_spec_a_cyclr_spec():
    optimizer = sgd()
    with pytest.raises(TypeError, match="capturable must be True or False, got 1"):
        ct.Scheduler(optimizer, SPEC, capturable=1)

    class Custom:
        groups, has_momentum = None, False

        def __call__(self, step):
            return 0.1, None

    with pytest.raises(TypeError, match="capturable=True needs a cyclr spec .* got Custom"):
        ct.Scheduler(optimizer, Custom(), capturable=True)


# -- the scheduler's behaviour: order warning, jumps ---------------------------------------------------


def test_the_first_eager_step_warns_when_optimizer_step_was_not_called():
    scheduler = ct.Scheduler(sgd(), SPEC, capturable=True)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    optimizer = with_grads(sgd())
    scheduler = ct.Scheduler(optimizer, SPEC, capturable=True)
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()
        scheduler.step()


def test_step_with_an_epoch_jumps_and_warns_as_torch():
    optimizer = with_grads(sgd())
    scheduler = ct.Scheduler(optimizer, SPEC, capturable=True)
    optimizer.step()
    with pytest.warns(UserWarning, match="epoch"):
        scheduler.step(20)
    assert_at(scheduler, SPEC, 20)
    assert scheduler.last_epoch == 20 and scheduler._step_count == 2
    scheduler.step()
    assert_at(scheduler, SPEC, 21)
    with pytest.raises(TypeError, match="epoch"):
        scheduler.step(2.5)


def test_resuming_with_last_epoch_continues_at_the_next_step():
    optimizer = with_grads(sgd())
    optimizer.param_groups[0]["initial_lr"] = 0.001
    scheduler = ct.Scheduler(optimizer, SPEC, last_epoch=9, capturable=True)
    assert_at(scheduler, SPEC, 10)
    assert scheduler.last_epoch == 10 and scheduler._step_count == 1


# -- state ---------------------------------------------------------------------------------------------


def _stepped(build, steps, capturable=True):
    optimizer = with_grads(sgd())
    scheduler = build(optimizer, capturable)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler


BUILDS = {
    "Scheduler": lambda o, c: ct.Scheduler(o, SPEC, capturable=c),
    "CyclicLR": lambda o, c: ct.CyclicLR(o, base_lr=0.001, max_lr=0.006, step_size_up=3, capturable=c),
    "OneCycleLR": lambda o, c: ct.OneCycleLR(o, max_lr=0.01, total_steps=100, capturable=c),
    "CosineAnnealingWarmRestarts": lambda o, c: ct.CosineAnnealingWarmRestarts(o, T_0=5, capturable=c),
}


def _plain_types(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain_types(v) for v in value)
    return value is None or type(value) in (int, float, str, bool)


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_state_is_the_host_schedulers_in_plain_types_and_loads_both_ways(name):
    build = BUILDS[name]
    _, capturable = _stepped(build, 12)
    _, host = _stepped(build, 12, capturable=False)
    state = capturable.state_dict()
    assert _plain_types(state), state
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    host_state = host.state_dict()
    assert set(loaded) == set(host_state)
    assert {k: v for k, v in loaded.items() if k != "_last_lr"} == {
        k: v for k, v in host_state.items() if k != "_last_lr"
    }
    assert [float(v) for v in host_state["_last_lr"]] == loaded["_last_lr"]
    # capturable -> host, host -> capturable: each continues where the saved one would have
    for source, target_capturable in ((loaded, False), (host_state, True)):
        optimizer, target = _stepped(build, 0, capturable=target_capturable)
        target.load_state_dict(source)
        assert target.last_epoch == 12 and target._step_count == 13
        for k in range(13, 20):
            optimizer.step()
            target.step()
            lr = optimizer.param_groups[0]["lr"]
            assert lr == expected(target.spec.lr_at(k), 0, lr.dtype), (k, lr)


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used"])
@pytest.mark.parametrize("clone", ["pickle", "deepcopy"])
def test_pickles_and_copies_stay_capturable_and_continue_identically(clone, used):
    optimizer, scheduler = _stepped(BUILDS["CyclicLR"], 5 if used else 0)
    copied = pickle.loads(pickle.dumps(scheduler)) if clone == "pickle" else copy.deepcopy(scheduler)
    assert type(copied) is type(scheduler) and type(copied).__name__ == "CyclicLR"
    assert copied.state_dict() == scheduler.state_dict()
    other = copied.optimizer
    assert other is not optimizer
    for _ in range(10):
        for opt, sched in ((optimizer, scheduler), (other, copied)):
            opt.step()
            sched.step()
        assert other.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
        assert other.param_groups[0]["momentum"] == optimizer.param_groups[0]["momentum"]
        assert copied.state_dict() == scheduler.state_dict()
    assert "_capture" not in copied.__dict__  # the device formulas are a cache, never saved


def test_get_last_lr_holds_copies_of_what_was_written():
    optimizer, scheduler = _stepped(BUILDS["Scheduler"], 3)
    last = scheduler.get_last_lr()
    optimizer.step()
    scheduler.step()
    assert last[0] == expected(SPEC.lr_at(3), 0, torch.float64)
    assert scheduler.get_last_lr()[0] == optimizer.param_groups[0]["lr"]


COMPILED_SPECS = {
    "OneCycleLR-cos": cyclr.OneCycleLR(max_lr=0.01, total_steps=1000, three_phase=True),
    "SGDR": cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=7, T_mult=2, eta_min=0.001),
    "CyclicLR-per-group": cyclr.CyclicLR(base_lr=[0.001, 0.002], max_lr=[0.01, 0.03], step_size_up=5),
}


@pytest.mark.parametrize("name", sorted(COMPILED_SPECS))
def test_compiled_float64_values_of_cosine_and_grouped_specs(name):
    spec = COMPILED_SPECS[name]
    groups = spec.groups or 1
    optimizer = with_grads(sgd(groups=groups, momentum=spec.has_momentum))
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)

    @torch.compile(fullgraph=True)
    def scheduler_step():
        scheduler.step()

    torch._dynamo.reset()
    for k in range(1, 1001):
        scheduler_step()
        assert_at(scheduler, spec, k)


def test_a_custom_scale_fn_written_in_torch_runs_on_the_device():
    def halving(x):  # Python's pow on the host path, torch's float64 pow on the device
        return 0.5**x if isinstance(x, int) else torch.pow(0.5, x.to(torch.float64))

    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=3, scale_fn=halving, cycle_momentum=False)
    optimizer = with_grads(sgd(momentum=False))
    scheduler = ct.Scheduler(optimizer, spec, capturable=True)
    for k in range(1, 20):
        optimizer.step()
        scheduler.step()
        assert_at(scheduler, spec, k)


def test_a_custom_scale_fn_that_fails_on_tensors_is_refused_before_anything_changes():
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, scale_fn=lambda x: [1.0], cycle_momentum=False)
    optimizer = sgd(momentum=False)
    with pytest.raises((TypeError, ValueError), match="scale_fn"):
        ct.Scheduler(optimizer, spec, capturable=True)
    assert optimizer.param_groups[0]["lr"] == tensor(0.1) and "initial_lr" not in optimizer.param_groups[0]


def test_warm_restarts_refuse_an_assigned_position_and_a_fractional_epoch():
    optimizer = with_grads(sgd())
    scheduler = ct.CosineAnnealingWarmRestarts(optimizer, T_0=5, capturable=True)
    optimizer.step()
    scheduler.step()
    assert scheduler.T_cur == 1 and scheduler.T_i == 5
    with pytest.raises(ValueError, match="T_cur and T_i cannot be assigned"):
        scheduler.T_cur = 2.5
    with pytest.raises(TypeError, match="epoch"):
        scheduler.step(1.5)
    assert scheduler.last_epoch == 1


def test_one_cycle_past_total_steps_holds_the_specs_last_value_instead_of_raising():
    optimizer = with_grads(sgd())
    scheduler = ct.OneCycleLR(optimizer, max_lr=0.01, total_steps=5, capturable=True)
    for k in range(1, 9):
        optimizer.step()
        scheduler.step()
        assert_at(scheduler, scheduler.spec, k)
    assert optimizer.param_groups[0]["lr"] == expected(scheduler.spec.lr_at(5), 0, torch.float64)


@pytest.mark.parametrize("position", [0, 1], ids=["first", "after-warmup"])
def test_in_sequential_lr_it_steps_and_counts_as_the_host_scheduler(position):
    spec = cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)
    runs = []
    for capturable in (False, True):
        optimizer = with_grads(sgd(momentum=False))
        other = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=3)
        ours = ct.Scheduler(optimizer, spec, capturable=capturable)
        schedulers = [other, ours] if position else [ours, other]
        sequential = torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers, milestones=[3])
        lrs = []
        for _ in range(12):
            optimizer.step()
            sequential.step()
            lrs.append(float(optimizer.param_groups[0]["lr"]))
        state = ours.state_dict()
        state["_last_lr"] = [float(v) for v in state["_last_lr"]]
        runs.append((lrs, state, ours.last_epoch, ours._step_count))
    assert runs[0] == runs[1]
