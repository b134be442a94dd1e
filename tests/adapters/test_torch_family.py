"""cyclr.torch's OneCycleLR, CosineAnnealingWarmRestarts and CosineAnnealingLR, beside torch's own."""

from __future__ import annotations

import copy
import io
import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close
from strategies import one_cycle_kwargs

import cyclr
from cyclr.torch import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, Scheduler

Torch = torch.optim.lr_scheduler


def make_optimizer(groups: int = 1, kind: str = "sgd", lr=0.1):
    """One parameter per group; ``lr`` a float, a tensor, or a list with one per group."""
    lrs = lr if isinstance(lr, list) else [lr] * groups
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": value} for value in lrs]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1)
    return torch.optim.Adagrad(params, lr=0.1)  # neither momentum nor betas


def run(scheduler, steps: int) -> list[tuple[list, list, list]]:
    """(lr, momentum or beta1, get_last_lr) of every group after construction and after each of ``steps``
    steps (``steps + 1`` rows)."""
    optimizer = scheduler.optimizer
    key = "betas" if "betas" in optimizer.defaults else "momentum"

    def row():
        groups = optimizer.param_groups
        momenta = [group[key][0] if key == "betas" else group.get(key) for group in groups]
        lrs = [lr.clone() if isinstance(lr := group["lr"], torch.Tensor) else lr for group in groups]
        return lrs, momenta, list(scheduler.get_last_lr())

    seen = [row()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecations; the order warning is tested elsewhere
        for _ in range(steps):
            optimizer.step()
            scheduler.step()
            seen.append(row())
    return seen


def lrs_of(trajectory) -> np.ndarray:
    return np.array([[float(v) for v in lr] for lr, _, _ in trajectory])


def momenta_of(trajectory) -> np.ndarray:
    return np.array([[float(v) for v in momentum] for _, momentum, _ in trajectory])


def side_by_side(ours, theirs, steps: int, exact: bool = False) -> None:
    """Both schedulers for ``steps`` steps: the same lrs and momenta (to 1e-12, or bit for bit)."""
    mine, torchs = run(ours, steps), run(theirs, steps)
    if exact:
        assert [(lr, m) for lr, m, _ in mine] == [(lr, m) for lr, m, _ in torchs]
    assert_close(lrs_of(mine), lrs_of(torchs), what="lr")
    if all(m is not None for m in mine[0][1]):
        assert_close(momenta_of(mine), momenta_of(torchs), what="momentum")
    assert all(last == lr for lr, _, last in mine)  # get_last_lr() is what the groups hold


def group_settings(optimizer) -> list[dict]:
    return [copy.deepcopy({k: v for k, v in g.items() if k != "params"}) for g in optimizer.param_groups]


def torch_error(make):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make()
    except Exception as error:  # noqa: BLE001 - the oracle's exception, whatever it is
        return error
    return None


def save_and_reload(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer)  # weights_only=True, torch's default: plain data only


def restored_from(source, make_fresh):
    """A fresh optimizer and scheduler loaded from ``source``'s state_dicts, through a checkpoint file."""
    saved = save_and_reload({"optimizer": source.optimizer.state_dict(), "scheduler": source.state_dict()})
    fresh = make_fresh()
    fresh.optimizer.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    return fresh


group_lrs = st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3)
eta_mins = st.floats(0.0, 1e-4)
kinds = st.sampled_from(["sgd", "adam"])


def test_all_are_schedulers_over_their_specs():
    optimizer = make_optimizer()
    for scheduler, spec_type in (
        (OneCycleLR(optimizer, max_lr=0.1, total_steps=10), cyclr.OneCycleLR),
        (CosineAnnealingWarmRestarts(optimizer, T_0=5), cyclr.CosineAnnealingWarmRestarts),
        (CosineAnnealingLR(optimizer, T_max=5), cyclr.CosineAnnealingLR),
    ):
        assert isinstance(scheduler, Scheduler) and isinstance(scheduler, Torch.LRScheduler)
        assert type(scheduler.spec) is spec_type


# == OneCycleLR ===========================================================================================


@given(st.integers(1, 3).flatmap(lambda groups: st.tuples(st.just(groups), one_cycle_kwargs(None if groups == 1 else groups))), kinds)
def test_one_cycle_matches_torch(groups_and_kwargs, kind):
    groups, kwargs = groups_and_kwargs
    total = kwargs["total_steps"]
    ours = OneCycleLR(make_optimizer(groups, kind), **kwargs)
    theirs = Torch.OneCycleLR(make_optimizer(groups, kind), **kwargs)
    side_by_side(ours, theirs, total - 1)  # every step of the cycle, 0 .. total_steps - 1


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize(
    "extra",
    [{}, {"anneal_strategy": "linear", "three_phase": True}, {"pct_start": 0.45, "max_lr": [0.1, 0.3]}],
)
def test_one_cycle_is_torch_bit_for_bit(extra, kind):
    kwargs = {"max_lr": 0.1, "total_steps": 300, **extra}
    ours, theirs = (
        OneCycleLR(make_optimizer(2, kind), **kwargs),
        Torch.OneCycleLR(make_optimizer(2, kind), **kwargs),
    )
    assert group_settings(ours.optimizer) == group_settings(theirs.optimizer)  # lr, momentum, initial_lr, ...
    side_by_side(ours, theirs, 299, exact=True)


def test_one_cycle_exposes_torchs_attributes():
    kwargs = dict(max_lr=[0.1, 0.2], epochs=4, steps_per_epoch=25, div_factor=10.0)
    for kind in ("sgd", "adam"):
        ours = OneCycleLR(make_optimizer(2, kind), **kwargs)
        theirs = Torch.OneCycleLR(make_optimizer(2, kind), **kwargs)
        for name in ("total_steps", "cycle_momentum", "use_beta1", "base_lrs", "last_epoch", "_step_count"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.spec == cyclr.OneCycleLR(**kwargs)
    without = dict(max_lr=0.1, total_steps=10, cycle_momentum=False)
    ours, theirs = OneCycleLR(make_optimizer(), **without), Torch.OneCycleLR(make_optimizer(), **without)
    assert not hasattr(ours, "use_beta1") and not hasattr(theirs, "use_beta1")
    assert group_settings(ours.optimizer) == group_settings(theirs.optimizer)  # no momentum keys written


def test_total_steps_takes_precedence_over_epochs_as_in_torch():
    kwargs = dict(max_lr=0.1, total_steps=50, epochs=3, steps_per_epoch=7)  # torch ignores the epochs
    ours, theirs = OneCycleLR(make_optimizer(), **kwargs), Torch.OneCycleLR(make_optimizer(), **kwargs)
    assert ours.total_steps == theirs.total_steps == 50
    with pytest.raises(ValueError, match="disagrees"):  # the spec itself refuses the contradiction
        cyclr.OneCycleLR(**kwargs)


def test_int_pct_start_and_numpy_numbers_are_accepted_where_torch_refuses_them():
    for pct in (0, 1):
        assert isinstance(
            torch_error(lambda p=pct: Torch.OneCycleLR(make_optimizer(), 0.1, 20, pct_start=p)), ValueError
        )
        ours = run(OneCycleLR(make_optimizer(), 0.1, 20, pct_start=pct), 19)
        theirs = run(Torch.OneCycleLR(make_optimizer(), 0.1, 20, pct_start=float(pct)), 19)
        assert [lr for lr, _, _ in ours] == [lr for lr, _, _ in theirs]
    assert isinstance(torch_error(lambda: Torch.OneCycleLR(make_optimizer(), 0.1, np.int64(20))), ValueError)
    assert OneCycleLR(make_optimizer(), 0.1, np.int64(20)).total_steps == 20
    ours = run(OneCycleLR(make_optimizer(), 0.1, 20, pct_start=np.float32(0.25)), 19)
    theirs = run(Torch.OneCycleLR(make_optimizer(), 0.1, 20, pct_start=float(np.float32(0.25))), 19)
    assert [lr for lr, _, _ in ours] == [lr for lr, _, _ in theirs]


# -- the end of the cycle ------------------------------------------------------------------------------


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_the_end_is_where_torch_ends_holding_the_final_value(anneal_strategy):
    kwargs = dict(max_lr=0.1, total_steps=40, anneal_strategy=anneal_strategy)
    ours, theirs = OneCycleLR(make_optimizer(), **kwargs), Torch.OneCycleLR(make_optimizer(), **kwargs)
    mine, torchs = run(ours, 40), run(theirs, 40)  # the usual loop: total_steps calls of step()
    assert mine[:40] == torchs[:40]
    assert ours.last_epoch == theirs.last_epoch == 40
    final = ours.spec.lr_at(39)
    assert mine[40][0] == [final] == [ours.spec.lr_at(40)]  # held: the spec's value
    their_lr = torchs[40][0][0]  # extrapolated: the cosine turns back up, the linear anneal goes negative
    assert their_lr > final if anneal_strategy == "cos" else their_lr < 0 < final

    message = "^Tried to step 41 times. The specified number of total steps is 40$"
    for scheduler in (ours, theirs):
        scheduler.optimizer.step()
        with pytest.raises(ValueError, match=message):
            scheduler.step()
    assert theirs.last_epoch == 41  # torch moved before raising
    before = group_settings(ours.optimizer)
    with pytest.raises(ValueError, match="Tried to step 100 times"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.step(100)
    assert ours.last_epoch == 40 and ours.get_last_lr() == [final]  # ours has not moved
    assert group_settings(ours.optimizer) == before
    with pytest.warns(UserWarning, match="epoch parameter"):
        ours.step(40)  # and may still jump back
    assert ours.last_epoch == 40


@pytest.mark.parametrize("groups", [1, 3])
def test_the_end_is_found_across_precomputed_blocks_and_jumps(groups):
    max_lr = 0.1 if groups == 1 else [0.1, 0.2, 0.3]  # blocks of 2048 steps, or of 682 with 3 groups
    scheduler = OneCycleLR(make_optimizer(groups), max_lr=max_lr, total_steps=3000)
    lrs = lrs_of(run(scheduler, 3000))
    assert np.array_equal(lrs, scheduler.spec.lr_at(np.arange(3001)).reshape(3001, -1))
    with pytest.raises(ValueError, match="Tried to step 3001 times"):
        scheduler.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler.step(2998)  # a jump back, then to the end and one past it again
        scheduler.step(), scheduler.step()
        assert scheduler.last_epoch == 3000
        with pytest.raises(ValueError, match="Tried to step 3001 times"):
            scheduler.step()
    assert scheduler.get_last_lr() == np.atleast_1d(scheduler.spec.lr_at(3000)).tolist()


def test_resuming_at_the_end_raises_as_torch():
    saved = make_optimizer()
    OneCycleLR(saved, max_lr=0.1, total_steps=10)
    for maker in (OneCycleLR, Torch.OneCycleLR):
        for last_epoch in (9, 10):  # to step 10, the end; to step 11, past it
            optimizer = make_optimizer()
            optimizer.load_state_dict(saved.state_dict())
            error = torch_error(
                lambda m=maker, o=optimizer, n=last_epoch: m(o, max_lr=0.1, total_steps=10, last_epoch=n)
            )
            if last_epoch == 9:
                assert error is None
            else:
                assert isinstance(error, ValueError)
                assert str(error) == "Tried to step 11 times. The specified number of total steps is 10"


def test_pct_start_one_reaches_the_end_where_torch_divides_by_zero():
    ours, theirs = make_optimizer(), make_optimizer()
    scheduler = OneCycleLR(ours, max_lr=0.1, total_steps=10, pct_start=1.0)
    assert lrs_of(run(scheduler, 10))[-1].tolist() == [0.1]  # no anneal: the peak, held at step 10
    reference = Torch.OneCycleLR(theirs, max_lr=0.1, total_steps=10, pct_start=1.0)
    run(reference, 9)
    theirs.step()
    with pytest.raises(ZeroDivisionError):
        reference.step()  # torch's last phase has zero steps


def test_a_zero_width_phase_is_a_value_error_where_torch_divides_by_zero():
    kwargs = dict(max_lr=0.1, total_steps=10, pct_start=0.1)  # the rise would last 0 steps
    assert isinstance(torch_error(lambda: Torch.OneCycleLR(make_optimizer(), **kwargs)), ZeroDivisionError)
    optimizer = make_optimizer()
    before = group_settings(optimizer)
    with pytest.raises(ValueError, match="pct_start \\* total_steps must not be 1"):
        OneCycleLR(optimizer, **kwargs)
    assert group_settings(optimizer) == before


# -- state -------------------------------------------------------------------------------------------


@given(one_cycle_kwargs(groups=2), st.integers(0, 400), kinds)
def test_one_cycle_state_dict_mid_run_continues_identically(kwargs, stop, kind):
    total = kwargs["total_steps"]
    stop = min(stop, total)
    expected = run(OneCycleLR(make_optimizer(2, kind), **kwargs), total)[stop:]
    first = OneCycleLR(make_optimizer(2, kind), **kwargs)
    run(first, stop)
    other = dict(max_lr=0.5, total_steps=total + 7, anneal_strategy="linear")  # the state decides
    fresh = restored_from(first, lambda: OneCycleLR(make_optimizer(2, kind), **other))
    assert fresh.spec == first.spec and fresh.last_epoch == stop
    assert run(fresh, total - stop)[1:] == expected[1:]  # exactly


def test_one_cycle_state_has_torchs_keys_and_loads_both_ways():
    kwargs = dict(max_lr=[0.01, 0.02], total_steps=60, three_phase=True)
    ours, theirs = (
        OneCycleLR(make_optimizer(2, "adam"), **kwargs),
        Torch.OneCycleLR(make_optimizer(2, "adam"), **kwargs),
    )
    run(ours, 17), run(theirs, 17)
    state, their_state = ours.state_dict(), theirs.state_dict()
    internal = {"_is_initial", "_get_lr_called_within_step"}  # torch's flags, meaningless in a checkpoint
    assert set(state) == set(their_state) - internal | {"spec"}
    assert {k: state[k] for k in their_state if k not in internal} == {
        k: v for k, v in their_state.items() if k not in internal
    }

    our_copy = restored_from(theirs, lambda: OneCycleLR(make_optimizer(2, "adam"), **kwargs))
    their_copy = restored_from(ours, lambda: Torch.OneCycleLR(make_optimizer(2, "adam"), **kwargs))
    continued = [run(s, 42) for s in (ours, theirs, our_copy, their_copy)]  # to step 59, the last
    for trajectory in continued[1:]:
        assert [(lr, m) for lr, m, _ in trajectory] == [(lr, m) for lr, m, _ in continued[0]]


def test_a_torch_state_for_another_cycle_is_refused():
    theirs = Torch.OneCycleLR(make_optimizer(), max_lr=0.1, total_steps=60)
    state = theirs.state_dict()
    others = [
        {"pct_start": 0.25},
        {"anneal_strategy": "linear"},
        {"cycle_momentum": False},
        {"total_steps": 61},
    ]
    for other in others:
        ours = OneCycleLR(make_optimizer(), max_lr=0.1, **{"total_steps": 60, **other})
        good = ours.state_dict()
        with pytest.raises(ValueError, match="built with the same arguments"):
            ours.load_state_dict(state)
        assert ours.state_dict() == good
    ours = OneCycleLR(make_optimizer(), max_lr=0.1, total_steps=60)
    with pytest.raises(ValueError, match="not a OneCycleLR"):
        ours.load_state_dict({**ours.state_dict(), "spec": cyclr.CyclicLR().to_dict()})
    with pytest.raises(ValueError, match="unknown keys"):
        ours.load_state_dict({**ours.state_dict(), "T_0": 3})


def test_one_cycle_resume_with_last_epoch_matches_torch():
    kwargs = dict(max_lr=[0.01, 0.02], total_steps=50, anneal_strategy="linear")
    for kind in ("sgd", "adam"):
        saved = make_optimizer(2, kind)
        OneCycleLR(saved, **kwargs)  # records "initial_lr", "max_lr", ... as a first run would
        ours, theirs = make_optimizer(2, kind), make_optimizer(2, kind)
        ours.load_state_dict(saved.state_dict())
        theirs.load_state_dict(saved.state_dict())
        resumed, reference = (
            OneCycleLR(ours, last_epoch=13, **kwargs),
            Torch.OneCycleLR(theirs, last_epoch=13, **kwargs),
        )
        assert resumed.last_epoch == reference.last_epoch == 14
        side_by_side(resumed, reference, 35, exact=True)


def test_one_cycle_fills_tensor_lrs_in_place_with_torchs_rounding():
    kwargs = dict(max_lr=0.0123, total_steps=30)
    ours, theirs = make_optimizer(2, lr=torch.tensor(0.5)), make_optimizer(2, lr=torch.tensor(0.5))
    tensors = [group["lr"] for group in ours.param_groups]
    mine, torchs = run(OneCycleLR(ours, **kwargs), 29), run(Torch.OneCycleLR(theirs, **kwargs), 29)
    assert all(group["lr"] is tensor for group, tensor in zip(ours.param_groups, tensors, strict=True))
    assert_close(lrs_of(mine), lrs_of(torchs), rtol=1e-7)  # float32 both; torch rounds its float64 too
    assert np.array_equal(lrs_of(mine), lrs_of(torchs))


# -- errors: torch's exception types for the same mistakes ------------------------------------------------

ONE_CYCLE_MISTAKES = {
    "not an optimizer": (lambda: "sgd", {}),
    "no total_steps": (make_optimizer, {"total_steps": None}),
    "only epochs": (make_optimizer, {"total_steps": None, "epochs": 4}),
    "zero total_steps": (make_optimizer, {"total_steps": 0}),
    "float total_steps": (make_optimizer, {"total_steps": 10.0}),
    "string total_steps": (make_optimizer, {"total_steps": "10"}),
    "zero epochs": (make_optimizer, {"total_steps": None, "epochs": 0, "steps_per_epoch": 5}),
    "string epochs": (make_optimizer, {"total_steps": None, "epochs": "2", "steps_per_epoch": 5}),
    "float steps_per_epoch": (make_optimizer, {"total_steps": None, "epochs": 2, "steps_per_epoch": 5.5}),
    "pct_start above 1": (make_optimizer, {"pct_start": 1.5}),
    "negative pct_start": (make_optimizer, {"pct_start": -0.1}),
    "bool pct_start": (make_optimizer, {"pct_start": True}),
    "string pct_start": (make_optimizer, {"pct_start": "0.3"}),
    "None pct_start": (make_optimizer, {"pct_start": None}),
    "bad anneal_strategy": (make_optimizer, {"anneal_strategy": "cosine"}),
    "None anneal_strategy": (make_optimizer, {"anneal_strategy": None}),
    "max_lr list too long": (lambda: make_optimizer(2), {"max_lr": [0.1] * 3}),
    "base_momentum list": (lambda: make_optimizer(2), {"base_momentum": [0.8]}),
    "max_momentum list": (lambda: make_optimizer(2, "adam"), {"max_momentum": [0.9] * 3}),
    "no momentum to cycle": (lambda: make_optimizer(kind="adagrad"), {}),
    "resume without initial_lr": (make_optimizer, {"last_epoch": 5}),
}


@pytest.mark.parametrize("mistake", list(ONE_CYCLE_MISTAKES))
def test_one_cycle_mistakes_raise_what_torch_raises(mistake):
    make, extra = ONE_CYCLE_MISTAKES[mistake]
    kwargs = {"max_lr": 0.1, "total_steps": 20, **extra}
    expected = torch_error(lambda: Torch.OneCycleLR(make(), **kwargs))
    assert expected is not None, "torch accepts this"
    optimizer = make()
    before = group_settings(optimizer) if isinstance(optimizer, torch.optim.Optimizer) else None
    with pytest.raises(type(expected)) as raised:
        OneCycleLR(optimizer, **kwargs)
    assert type(raised.value) is type(expected)
    if before is not None:
        assert group_settings(optimizer) == before  # validated before anything was written
        assert not hasattr(optimizer.step, "_wrapped_by_lr_sched")


ONE_CYCLE_STRICTER = {  # torch accepts these (or fails with a bare ZeroDivisionError)
    "zero div_factor": ({"div_factor": 0}, ValueError, "div_factor must be > 0"),
    "negative max_lr": ({"max_lr": -0.1}, ValueError, "max_lr must be >= 0"),
    "nan pct_start": ({"pct_start": float("nan")}, ValueError, "pct_start must be a float between 0 and 1"),
    "non-bool three_phase": ({"three_phase": 1}, TypeError, "three_phase must be True or False"),
    "bool total_steps": ({"total_steps": True}, ValueError, "total_steps must be a positive integer"),
}


@pytest.mark.parametrize("mistake", list(ONE_CYCLE_STRICTER))
def test_one_cycle_refuses_invalid_values_torch_accepts(mistake):
    extra, error, message = ONE_CYCLE_STRICTER[mistake]
    optimizer = make_optimizer()
    before = group_settings(optimizer)
    with pytest.raises(error, match=message):
        OneCycleLR(optimizer, **{"max_lr": 0.1, "total_steps": 20, **extra})
    assert group_settings(optimizer) == before


# == CosineAnnealingWarmRestarts ============================================================================


@given(group_lrs, st.integers(1, 40), st.integers(1, 4), eta_mins, kinds)
def test_warm_restarts_match_torch(lrs, T_0, T_mult, eta_min, kind):
    ours = CosineAnnealingWarmRestarts(make_optimizer(len(lrs), kind, lr=lrs), T_0, T_mult, eta_min)
    theirs = Torch.CosineAnnealingWarmRestarts(make_optimizer(len(lrs), kind, lr=lrs), T_0, T_mult, eta_min)
    side_by_side(ours, theirs, 300)
    assert (ours.T_cur, ours.T_i) == (theirs.T_cur, theirs.T_i)


@pytest.mark.parametrize("kind", ["sgd", "adam", "adagrad"])
def test_warm_restarts_are_torch_bit_for_bit(kind):
    make = lambda opt: (opt, 7, 2, 0.001)  # noqa: E731
    ours = CosineAnnealingWarmRestarts(*make(make_optimizer(2, kind, lr=[0.1, 0.03])))
    theirs = Torch.CosineAnnealingWarmRestarts(*make(make_optimizer(2, kind, lr=[0.1, 0.03])))
    for name in ("T_0", "T_mult", "eta_min", "T_cur", "T_i", "base_lrs", "last_epoch"):
        assert getattr(ours, name) == getattr(theirs, name), name
    side_by_side(ours, theirs, 400, exact=True)
    assert ours.spec == cyclr.CosineAnnealingWarmRestarts(base_lr=[0.1, 0.03], T_0=7, T_mult=2, eta_min=0.001)


def test_base_lrs_are_the_recorded_initial_lrs_as_in_torch():
    def optimizer():
        opt = make_optimizer(2, lr=[0.05, 0.02])
        opt.param_groups[0]["initial_lr"] = 0.2  # recorded by an earlier scheduler
        return opt

    ours, theirs = (
        CosineAnnealingWarmRestarts(optimizer(), T_0=5),
        Torch.CosineAnnealingWarmRestarts(optimizer(), T_0=5),
    )
    assert ours.base_lrs == theirs.base_lrs == [0.2, 0.02]
    side_by_side(ours, theirs, 20, exact=True)


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 500)), min_size=1, max_size=30), st.sampled_from([1, 2, 3])
)
def test_warm_restarts_jumps_and_steps_interleave_as_in_torch(moves, T_mult):
    # With T_mult > 1 torch finds the restart with a float log, which can put a jump to a restart step
    # itself one period early (T_cur == T_i, the lr at eta_min); the next step() corrects it. Those jumps
    # are compared with the spec only.
    ours = CosineAnnealingWarmRestarts(make_optimizer(), T_0=3, T_mult=T_mult)
    theirs = Torch.CosineAnnealingWarmRestarts(make_optimizer(), T_0=3, T_mult=T_mult)
    restarts = set(ours.spec.restart_steps(12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither warns, about the epoch or the order
        for epoch in moves:
            ours.optimizer.step(), theirs.optimizer.step()
            ours.step(epoch), theirs.step(epoch)
            step = ours.last_epoch
            assert step == theirs.last_epoch
            assert ours.get_last_lr() == [ours.spec.lr_at(step)]
            if T_mult == 1 or epoch is None or epoch not in restarts:
                assert_close(ours.get_last_lr(), theirs.get_last_lr())
                assert (ours.T_cur, ours.T_i) == (theirs.T_cur, theirs.T_i)


def test_jumps_are_exact_where_torchs_float_log_misplaces_the_restart():
    ours = CosineAnnealingWarmRestarts(make_optimizer(lr=1.0), T_0=1, T_mult=3)
    theirs = Torch.CosineAnnealingWarmRestarts(make_optimizer(lr=1.0), T_0=1, T_mult=3)
    ours.step(121), theirs.step(121)  # 121 = 1 + 3 + 9 + 27 + 81: a restart
    assert ours.get_last_lr() == [1.0] and (ours.T_cur, ours.T_i) == (0, 243)
    assert theirs.get_last_lr() != [1.0]


def test_step_epoch_refuses_what_is_no_epoch():
    scheduler = CosineAnnealingWarmRestarts(make_optimizer(), T_0=10)
    good = scheduler.state_dict()
    for bad, error, message in [
        (-1, ValueError, "epoch must be an integer >= 0, got -1"),
        (-0.5, ValueError, "epoch must be a finite number >= 0, got -0.5"),
        (math.inf, ValueError, "epoch must be a finite number >= 0, got inf"),
        (math.nan, ValueError, "epoch must be a finite number >= 0, got nan"),
        ("3", TypeError, "epoch must be a real number >= 0, got '3'"),
        (True, TypeError, "epoch must be a real number >= 0, got True"),
    ]:
        with pytest.raises(error, match=re.escape(message)):
            scheduler.step(bad)
        assert scheduler.state_dict() == good


@given(group_lrs, st.integers(1, 20), st.integers(1, 3), st.integers(0, 200))
def test_warm_restarts_state_loads_both_ways(lrs, T_0, T_mult, stop):
    def build(maker, **other):
        return maker(
            make_optimizer(len(lrs), lr=lrs), **{"T_0": T_0, "T_mult": T_mult, "eta_min": 1e-4, **other}
        )

    ours, theirs = build(CosineAnnealingWarmRestarts), build(Torch.CosineAnnealingWarmRestarts)
    run(ours, stop), run(theirs, stop)
    state, their_state = ours.state_dict(), theirs.state_dict()
    internal = {"_is_initial", "_get_lr_called_within_step", "_step_count"}  # torch's CAWR never counts
    assert {k: v for k, v in state.items() if k not in internal} == {
        k: v for k, v in their_state.items() if k not in internal
    }
    other = dict(T_0=T_0 + 3, T_mult=1, eta_min=0.0)  # built differently: the state decides
    copies = (
        restored_from(theirs, lambda: build(CosineAnnealingWarmRestarts, **other)),
        restored_from(ours, lambda: build(Torch.CosineAnnealingWarmRestarts, **other)),
        restored_from(ours, lambda: build(CosineAnnealingWarmRestarts, **other)),
    )
    expected = run(ours, 100)
    for copy_ in copies:
        assert_close(lrs_of(run(copy_, 100)), lrs_of(expected))
    assert run(copies[2], 0) == run(ours, 0)  # ours from ours: the same floats


def test_a_torch_state_stepped_with_fractional_epochs_loads_and_continues_as_torchs():
    theirs = Torch.CosineAnnealingWarmRestarts(make_optimizer(), T_0=10, T_mult=2)
    theirs.step(13.5)
    ours = CosineAnnealingWarmRestarts(make_optimizer(), T_0=10, T_mult=2)
    ours.optimizer.load_state_dict(theirs.optimizer.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert (ours.T_cur, ours.T_i, ours.last_epoch) == (3.5, 20, 13)
    side_by_side(ours, theirs, 40)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_resume_with_last_epoch(T_mult):
    saved = make_optimizer(2, lr=[0.1, 0.05])
    CosineAnnealingWarmRestarts(saved, T_0=5, T_mult=T_mult)
    ours, theirs = make_optimizer(2), make_optimizer(2)
    ours.load_state_dict(saved.state_dict())
    theirs.load_state_dict(saved.state_dict())
    resumed = CosineAnnealingWarmRestarts(ours, T_0=5, T_mult=T_mult, last_epoch=20)
    reference = Torch.CosineAnnealingWarmRestarts(theirs, T_0=5, T_mult=T_mult, last_epoch=20)
    assert resumed.last_epoch == reference.last_epoch == 21
    assert (resumed.T_cur, resumed.T_i) == ((1, 5) if T_mult == 1 else (6, 20))  # restarts at 5, 15, 35
    mine = run(resumed, 60)
    assert [lr for lr, _, _ in mine] == [resumed.spec.lr_at(k).tolist() for k in range(21, 82)]
    if T_mult == 1:
        assert_close(lrs_of(mine), lrs_of(run(reference, 60)))
    else:  # torch restarts its count at T_cur = last_epoch and accounts for one restart only
        assert (reference.T_cur, reference.T_i) == (1, 10)


WARM_RESTARTS_MISTAKES = {
    "not an optimizer": (lambda: "sgd", {}),
    "zero T_0": (make_optimizer, {"T_0": 0}),
    "float T_0": (make_optimizer, {"T_0": 5.0}),
    "string T_0": (make_optimizer, {"T_0": "5"}),
    "None T_0": (make_optimizer, {"T_0": None}),
    "zero T_mult": (make_optimizer, {"T_mult": 0}),
    "fractional T_mult": (make_optimizer, {"T_mult": 1.5}),
    "string T_mult": (make_optimizer, {"T_mult": "2"}),
    "string eta_min": (make_optimizer, {"eta_min": "0"}),
    "None eta_min": (make_optimizer, {"eta_min": None}),
    "resume without initial_lr": (make_optimizer, {"last_epoch": 5}),
}


@pytest.mark.parametrize("mistake", list(WARM_RESTARTS_MISTAKES))
def test_warm_restarts_mistakes_raise_what_torch_raises(mistake):
    make, extra = WARM_RESTARTS_MISTAKES[mistake]
    kwargs = {"T_0": 5, **extra}
    expected = torch_error(lambda: Torch.CosineAnnealingWarmRestarts(make(), **kwargs))
    assert expected is not None, "torch accepts this"
    optimizer = make()
    before = group_settings(optimizer) if isinstance(optimizer, torch.optim.Optimizer) else None
    with pytest.raises(type(expected)) as raised:
        CosineAnnealingWarmRestarts(optimizer, **kwargs)
    assert type(raised.value) is type(expected)
    if before is not None:
        assert group_settings(optimizer) == before


def test_warm_restarts_refuse_a_negative_eta_min_torch_accepts():
    assert (
        torch_error(lambda: Torch.CosineAnnealingWarmRestarts(make_optimizer(), T_0=5, eta_min=-0.1)) is None
    )
    with pytest.raises(ValueError, match="eta_min must be >= 0"):
        CosineAnnealingWarmRestarts(make_optimizer(), T_0=5, eta_min=-0.1)


# == CosineAnnealingLR =====================================================================================


@given(group_lrs, st.integers(1, 120), eta_mins, kinds)
def test_cosine_annealing_matches_torch_to_its_drift(lrs, T_max, eta_min, kind):
    ours = CosineAnnealingLR(make_optimizer(len(lrs), kind, lr=lrs), T_max, eta_min)
    theirs = Torch.CosineAnnealingLR(make_optimizer(len(lrs), kind, lr=lrs), T_max, eta_min)
    side_by_side(ours, theirs, 300)  # past T_max: both rise back, with period 2 * T_max


def test_cosine_annealing_steps_torchs_recursion_and_scheduler_over_the_spec_is_the_closed_form():
    ours = CosineAnnealingLR(make_optimizer(lr=0.1), T_max=1000, eta_min=1e-5)
    theirs = Torch.CosineAnnealingLR(make_optimizer(lr=0.1), T_max=1000, eta_min=1e-5)
    closed_form = Scheduler(make_optimizer(lr=0.1), cyclr.CosineAnnealingLR(base_lr=0.1, T_max=1000, eta_min=1e-5))
    mine, torchs = lrs_of(run(ours, 1500))[:, 0], lrs_of(run(theirs, 1500))[:, 0]
    exact = lrs_of(run(closed_form, 1500))[:, 0]
    assert np.array_equal(mine, torchs)  # the same recursion, the same floats
    assert np.array_equal(exact, ours.spec.lr_at(np.arange(1501)))
    assert not np.array_equal(torchs, exact)  # the recursion drifts (by ~1e-13 here)
    assert_close(torchs, exact)
    for name in ("T_max", "eta_min", "base_lrs", "last_epoch"):
        assert getattr(ours, name) == getattr(theirs, name), name


def test_cosine_annealing_step_with_epoch_is_torchs_closed_form():
    ours, theirs = (
        CosineAnnealingLR(make_optimizer(), T_max=30),
        Torch.CosineAnnealingLR(make_optimizer(), T_max=30),
    )
    for epoch in (7, 45, 3):
        for scheduler in (ours, theirs):
            scheduler.optimizer.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                scheduler.step(epoch)
        assert ours.get_last_lr() == theirs.get_last_lr()


def test_cosine_annealing_takes_a_whole_float_T_max():
    ours = CosineAnnealingLR(make_optimizer(), T_max=40.0)
    assert ours.T_max == 40 and ours.spec.T_max == 40
    side_by_side(ours, Torch.CosineAnnealingLR(make_optimizer(), T_max=40.0), 100)


@given(group_lrs, st.integers(1, 50), st.integers(0, 150), kinds)
def test_cosine_annealing_state_loads_both_ways(lrs, T_max, stop, kind):
    def build(maker, **other):
        return maker(make_optimizer(len(lrs), kind, lr=lrs), **{"T_max": T_max, "eta_min": 1e-5, **other})

    ours, theirs = build(CosineAnnealingLR), build(Torch.CosineAnnealingLR)
    run(ours, stop), run(theirs, stop)
    internal = {"_is_initial", "_get_lr_called_within_step"}
    assert set(ours.state_dict()) == set(theirs.state_dict()) - internal
    other = dict(T_max=T_max + 9, eta_min=0.0)
    copies = (
        restored_from(theirs, lambda: build(CosineAnnealingLR, **other)),
        restored_from(ours, lambda: build(Torch.CosineAnnealingLR, **other)),
        restored_from(ours, lambda: build(CosineAnnealingLR, **other)),
    )
    expected = run(ours, 80)
    for copy_ in copies:
        assert_close(lrs_of(run(copy_, 80)), lrs_of(expected))
    assert run(copies[2], 10) == run(ours, 10)  # ours from ours: exactly


def test_cosine_annealing_resume_with_last_epoch_starts_from_the_closed_form():
    saved = make_optimizer(2, "adam", lr=[0.1, 0.05])
    run(CosineAnnealingLR(saved, T_max=25), 30)  # a checkpoint after 30 steps
    ours, theirs = make_optimizer(2, "adam"), make_optimizer(2, "adam")
    ours.load_state_dict(saved.state_dict())
    theirs.load_state_dict(saved.state_dict())
    resumed = CosineAnnealingLR(ours, T_max=25, last_epoch=30)
    reference = Torch.CosineAnnealingLR(theirs, T_max=25, last_epoch=30)
    assert resumed.last_epoch == reference.last_epoch == 31  # torch's convention: construction steps
    mine, torchs = lrs_of(run(resumed, 40)), lrs_of(run(reference, 40))
    assert np.array_equal(mine[0], resumed.spec.lr_at(31))  # step 31 is step 31's value ...
    assert_close(mine, resumed.spec.lr_at(np.arange(31, 72)))  # ... and the recursion continues from it
    # torch keeps the group's lr (step 30's) for step 31, then recurses from it: one step behind.
    assert np.array_equal(torchs[0], resumed.spec.lr_at(30))
    assert not np.allclose(torchs, mine, rtol=1e-3)


COSINE_MISTAKES = {  # torch checks nothing at construction: its first step() fails
    "zero T_max": ({"T_max": 0}, ValueError, "T_max must be a positive integer, got 0"),
    "string T_max": ({"T_max": "5"}, TypeError, "T_max must be an integer"),
    "None T_max": ({"T_max": None}, TypeError, "T_max must be an integer"),
    "string eta_min": ({"eta_min": "0"}, TypeError, "eta_min must be a real number"),
}


@pytest.mark.parametrize("mistake", list(COSINE_MISTAKES))
def test_cosine_annealing_mistakes_raise_at_construction(mistake):
    extra, error, message = COSINE_MISTAKES[mistake]
    kwargs = {"T_max": 5, **extra}

    def torch_first_step():
        scheduler = Torch.CosineAnnealingLR(make_optimizer(), **kwargs)
        scheduler.optimizer.step()
        scheduler.step()

    expected = torch_error(torch_first_step)
    assert isinstance(expected, ZeroDivisionError if mistake == "zero T_max" else error)
    optimizer = make_optimizer()
    before = group_settings(optimizer)
    with pytest.raises(error, match=message):
        CosineAnnealingLR(optimizer, **kwargs)
    assert group_settings(optimizer) == before


def test_cosine_annealing_refuses_what_torch_accepts():
    for kwargs, message in (
        ({"T_max": 10.5}, "T_max must be a whole number of steps, got 10.5"),
        ({"T_max": -3}, "T_max must be a positive integer, got -3"),
        ({"T_max": 5, "eta_min": -1e-3}, "eta_min must be >= 0"),
    ):
        assert torch_error(lambda k=kwargs: Torch.CosineAnnealingLR(make_optimizer(), **k)) is None
        with pytest.raises(ValueError, match=message):
            CosineAnnealingLR(make_optimizer(), **kwargs)
    with pytest.raises(KeyError, match="initial_lr"):
        CosineAnnealingLR(make_optimizer(), T_max=5, last_epoch=3)


# == shared behaviour: tensors, huge steps ===================================================================


@pytest.mark.parametrize("family", ["restarts", "cosine"])
def test_tensor_lrs_are_filled_in_place_with_the_value_rounded_once(family):
    ours_class, torch_class, kwargs = {
        "restarts": (CosineAnnealingWarmRestarts, Torch.CosineAnnealingWarmRestarts, dict(T_0=7, T_mult=2)),
        "cosine": (CosineAnnealingLR, Torch.CosineAnnealingLR, dict(T_max=20)),
    }[family]
    ours = make_optimizer(2, lr=[torch.tensor(0.05), torch.tensor(0.01)])
    theirs = make_optimizer(2, lr=[torch.tensor(0.05), torch.tensor(0.01)])
    tensors = [group["lr"] for group in ours.param_groups]
    scheduler = ours_class(ours, eta_min=1e-4, **kwargs)
    mine, torchs = run(scheduler, 60), run(torch_class(theirs, eta_min=1e-4, **kwargs), 60)
    assert all(group["lr"] is tensor for group, tensor in zip(ours.param_groups, tensors, strict=True))
    assert all(t.dtype == torch.float32 for lr, _, _ in mine for t in lr)
    base = [float(np.float32(0.05)), float(np.float32(0.01))]  # the tensors' values, as float64
    assert scheduler.base_lrs == base
    spec_values = scheduler.spec.lr_at(np.arange(61)).astype(np.float32)  # float64, rounded once
    if family == "restarts":
        assert np.array_equal(lrs_of(mine), spec_values)
    else:  # torch's recursion, from each float32 lr read as float64: within float32 rounding per step
        assert_close(lrs_of(mine), spec_values, rtol=1e-5)
    assert_close(lrs_of(mine), lrs_of(torchs), rtol=1e-5)  # torch computes in float32 (recursively, cosine)


def test_a_huge_step_is_exact():
    step = 2**40 + 12345
    optimizer = make_optimizer(lr=0.1)
    optimizer.param_groups[0]["initial_lr"] = 0.1
    restarts = CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2, last_epoch=step - 1)
    assert restarts.get_last_lr() == [restarts.spec.lr_at(step)]
    T_cur, T_i = restarts.T_cur, restarts.T_i
    start = step - T_cur
    assert start in restarts.spec.restart_steps(40) and start + T_i in restarts.spec.restart_steps(40)
    expected = 0.1 * (1 + math.cos(math.pi * T_cur / T_i)) / 2
    assert restarts.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)
