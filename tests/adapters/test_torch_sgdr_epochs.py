"""cyclr.torch.CosineAnnealingWarmRestarts with torch's stateful side: fractional epochs, jumps back,
an assignable T_cur, and the exact whole-step path."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from oracle import assert_close
from torch.optim import lr_scheduler as Torch

import cyclr.torch as ct


def make_optimizer(lrs=(0.1, 0.02)):
    model = torch.nn.Linear(2, 2 * len(lrs))
    params = list(model.parameters())
    return torch.optim.SGD([{"params": [params[i % 2]], "lr": lr} for i, lr in enumerate(lrs)], lr=0.1)


def pair(T_0, T_mult, eta_min=1e-4):
    return (
        ct.CosineAnnealingWarmRestarts(make_optimizer(), T_0=T_0, T_mult=T_mult, eta_min=eta_min),
        Torch.CosineAnnealingWarmRestarts(make_optimizer(), T_0=T_0, T_mult=T_mult, eta_min=eta_min),
    )


def observe(scheduler):
    return (
        [g["lr"] for g in scheduler.optimizer.param_groups],
        scheduler.T_cur,
        scheduler.T_i,
        scheduler.last_epoch,
    )


def torch_restart_is_exact(epoch: float, T_0: int, T_mult: int) -> bool:
    """torch finds the restart with a float logarithm, wrong near some restarts (T_0=1, T_mult=3, 121)."""
    if T_mult == 1 or epoch < T_0:
        return True
    n = int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult))
    start = T_0 * (T_mult**n - 1) // (T_mult - 1)
    return start <= epoch < start + T_0 * T_mult**n


@pytest.mark.parametrize("T_0, T_mult", [(1, 1), (3, 1), (10, 1), (2, 2), (3, 3), (10, 2)])
@pytest.mark.parametrize("iters", [3, 7])
def test_torchs_documented_fractional_loop_gives_torchs_values(T_0, T_mult, iters):
    ours, theirs = pair(T_0, T_mult)
    for epoch in range(25):
        for i in range(iters):
            for scheduler in (ours, theirs):
                scheduler.optimizer.step()
                scheduler.step(epoch + i / iters)
            mine, reference = observe(ours), observe(theirs)
            assert_close(mine[0], reference[0], what=f"lr at epoch {epoch + i / iters}")
            assert mine[1:] == pytest.approx(reference[1:], rel=1e-15, abs=1e-13)


def test_jumps_backwards_and_forwards_then_steps_on_like_torch():
    ours, theirs = pair(10, 2)
    for epoch in [0, 0.1, 12.5, 3, 3.75, 31.0, 29.99, 70.5, None, None, 2.25, None, 0, None]:
        for scheduler in (ours, theirs):
            scheduler.step(epoch) if epoch is not None else scheduler.step()
        mine, reference = observe(ours), observe(theirs)
        assert_close(mine[0], reference[0], what=f"lr after step({epoch})")
        assert mine[1:] == pytest.approx(reference[1:], rel=1e-15, abs=1e-13), epoch


def test_whole_epochs_are_exact_where_torchs_logarithm_misplaces_the_restart():
    ours, theirs = pair(1, 3)
    ours.step(121)
    theirs.step(121)
    assert (ours.T_cur, ours.T_i) == ours.spec.position(121) == (0, 243)
    assert (theirs.T_cur, theirs.T_i) == (81, 81)  # torch: log(243, 3) = 4.999...
    assert ours.get_last_lr() == ours.spec.lr_at(121).tolist()
    ours.step(121.0)  # a whole float is the same step, exactly
    assert ours.get_last_lr() == ours.spec.lr_at(121).tolist() and ours.T_cur == 0.0


def test_assigning_T_cur_is_torchs_state():
    ours, theirs = pair(4, 1)
    for value in [7, 8, 9, 0, 2.5, 3]:
        for scheduler in (ours, theirs):
            scheduler.T_cur = value
            scheduler.step()
        mine, reference = observe(ours), observe(theirs)
        assert_close(mine[0], reference[0], what=f"lr after T_cur = {value}")
        assert mine[1:] == reference[1:]
    for _ in range(10):  # and on from there
        for scheduler in (ours, theirs):
            scheduler.step()
        mine, reference = observe(ours), observe(theirs)
        assert mine[0] == pytest.approx(reference[0], rel=1e-15)  # the lrs, one per group
        assert mine[1:] == reference[1:]


def test_back_on_the_whole_step_positions_the_values_are_the_specs_again():
    ours, _ = pair(5, 2)
    ours.step(2.5)
    ours.step(6)  # whole again
    for _ in range(40):
        ours.step()
        assert ours.get_last_lr() == ours.spec.lr_at(ours.last_epoch).tolist()
        assert (ours.T_cur, ours.T_i) == ours.spec.position(ours.last_epoch)


def test_a_fractional_state_saves_pickles_and_continues():
    ours, theirs = pair(3, 2)
    for scheduler in (ours, theirs):
        scheduler.step(7.4)
    state = ours.state_dict()
    assert (state["T_cur"], state["T_i"], state["last_epoch"]) == pytest.approx((4.4, 6, 7))
    loaded = ct.CosineAnnealingWarmRestarts(make_optimizer(), T_0=1)
    loaded.optimizer.load_state_dict(ours.optimizer.state_dict())
    loaded.load_state_dict(state)
    copied = pickle.loads(pickle.dumps(ours))
    for _ in range(20):
        for scheduler in (ours, theirs, loaded, copied):
            scheduler.step()
        assert observe(loaded) == observe(ours) == observe(copied)
        assert_close(observe(ours)[0], observe(theirs)[0])


def test_get_lr_is_the_value_at_T_cur():
    ours, theirs = pair(4, 1)
    ours.step(1.5)
    theirs.step(1.5)
    assert_close(ours.get_lr(), [g["lr"] for g in theirs.optimizer.param_groups])


def test_a_bad_state_T_i_is_refused_and_nothing_changes():
    ours, _ = pair(4, 1)
    state = ours.state_dict()
    for bad, error in [(0, ValueError), (-4, ValueError), (math.nan, ValueError), ("4", TypeError)]:
        with pytest.raises(error, match="T_i must be a positive number"):
            ours.load_state_dict({**state, "T_i": bad})
    for bad, error in [(-1.5, ValueError), (math.inf, ValueError), (None, TypeError)]:
        with pytest.raises(error, match="T_cur must be a finite number >= 0"):
            ours.load_state_dict({**state, "T_cur": bad, "last_epoch": 2})
    assert ours.state_dict() == state


operations = st.lists(
    st.one_of(
        st.none(),  # step()
        st.integers(0, 400),  # step(whole epoch)
        st.floats(0, 400, allow_nan=False).map(lambda x: round(x, 2)),  # step(fractional epoch)
    ),
    min_size=1,
    max_size=30,
)


@given(st.integers(1, 12), st.integers(1, 4), operations)
def test_any_sequence_of_steps_and_jumps_matches_torch(T_0, T_mult, sequence):
    for epoch in sequence:
        assume(epoch is None or torch_restart_is_exact(epoch, T_0, T_mult))
    ours, theirs = pair(T_0, T_mult)
    for epoch in sequence:
        for scheduler in (ours, theirs):
            scheduler.step(epoch) if epoch is not None else scheduler.step()
        # torch's step() after a jump counts on from T_cur, so both stay aligned; positions agree
        # exactly, lrs to torch's rounding of the same expression.
        mine, reference = observe(ours), observe(theirs)
        assert_close(mine[0], reference[0], what=f"lr after step({epoch})")
        assert mine[1:] == pytest.approx(reference[1:], rel=1e-12, abs=1e-9)
