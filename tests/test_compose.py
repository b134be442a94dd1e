"""warmup and join: composed specs with the full contract, optax's join_schedules as the oracle."""

from __future__ import annotations

import json

import jax
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close, ulps

import cyclr
from cyclr import CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

CYCLIC = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=9, mode="triangular2")


@given(st.integers(1, 100), st.floats(0.0, 0.01))
def test_warmup_ramps_linearly_into_the_spec(warmup_steps, start_lr):
    spec = cyclr.warmup(CYCLIC, warmup_steps, start_lr)
    steps = np.arange(warmup_steps)
    assert_close(spec.lr_at(steps), start_lr + (0.01 - start_lr) * steps / warmup_steps)
    after = np.arange(warmup_steps, warmup_steps + 200)
    assert np.array_equal(spec.lr_at(after), CYCLIC.lr_at(after - warmup_steps))
    assert spec.lr_at(0) == start_lr
    # continuous at its end: the last warmup step is one increment below the spec's first value
    assert spec.lr_at(warmup_steps) - spec.lr_at(warmup_steps - 1) == pytest.approx((0.01 - start_lr) / warmup_steps)


def test_warmup_holds_momentum_then_hands_over():
    spec = cyclr.warmup(CYCLIC, 10)
    assert np.all(spec.momentum_at(np.arange(10)) == CYCLIC.momentum_at(0))
    assert np.array_equal(spec.momentum_at(np.arange(10, 50)), CYCLIC.momentum_at(np.arange(40)))
    assert cyclr.warmup(CosineAnnealingLR(0.1, 10), 5).momentum_at(3) is None


def test_warmup_per_group():
    grouped = CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2], step_size_up=5)
    spec = cyclr.warmup(grouped, 4, start_lr=[0.0, 0.001])
    assert spec.groups == 2
    np.testing.assert_allclose(spec.lr_at(2), [0.005, 0.0105])
    np.testing.assert_array_equal(spec.lr_at(4), grouped.lr_at(0))


@given(st.lists(st.integers(1, 60), min_size=1, max_size=4).map(lambda gaps: list(np.cumsum(gaps))))
def test_join_runs_each_spec_from_its_boundary(boundaries):
    parts = [CYCLIC, CyclicLR(step_size_up=3), CosineAnnealingWarmRestarts(0.01, 5, 2), CyclicLR(mode="exp_range", gamma=0.99), CYCLIC]
    parts = [p if p.has_momentum else CyclicLR(step_size_up=4) for p in parts][: len(boundaries) + 1]
    spec = cyclr.join(parts, boundaries)
    starts = [0, *boundaries]
    steps = np.arange(starts[-1] + 50)
    lr = spec.lr_at(steps)
    for k, part in enumerate(parts):
        end = starts[k + 1] if k + 1 < len(starts) else len(steps)
        segment = np.arange(starts[k], end)
        assert np.array_equal(lr[segment], part.lr_at(segment - starts[k]))
        assert np.array_equal(spec.momentum_at(segment), part.momentum_at(segment - starts[k]))


def test_join_matches_optax_join_schedules():
    parts = [OneCycleLR(0.1, total_steps=30, cycle_momentum=False), CosineAnnealingWarmRestarts(0.05, 7, 2), CosineAnnealingLR(0.02, 13)]
    boundaries = [30, 100]
    spec = cyclr.join(parts, boundaries)
    with jax.enable_x64(True):
        # optax evaluates every part at step - boundary, negative before its boundary (then discarded)
        theirs = optax.join_schedules([lambda step, p=p: p.lr_at(max(int(step), 0)) for p in parts], boundaries)
        expected = np.array([float(theirs(step)) for step in range(160)])
    assert np.array_equal(spec.lr_at(np.arange(160)), expected)


def test_composed_specs_keep_the_whole_contract():
    spec = cyclr.warmup(cyclr.join([CYCLIC, OneCycleLR(0.2, total_steps=40)], [50]), 10, start_lr=0.001)
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["schedule"] == "Warmup" and data["spec"]["schedule"] == "Join"
    assert cyclr.from_dict(data) == spec
    steps = np.arange(200)
    lr, momentum = spec.precompute(200)
    assert np.array_equal(lr, spec.lr_at(steps))
    assert np.array_equal(lr, [spec.lr_at(int(k)) for k in steps])
    assert ulps(spec.precompute(200, backend="numba")[0], lr) <= 1
    compiled = cyclr.numba.compile(spec)
    for step in (0, 9, 10, 59, 60, 85, 150):
        assert ulps(compiled(step)[0], spec.lr_at(step)) <= 1
        assert ulps(compiled(step)[1], spec.momentum_at(step)) <= 1


def test_join_of_a_single_spec_is_that_spec():
    assert np.array_equal(cyclr.join([CYCLIC], []).lr_at(np.arange(50)), CYCLIC.lr_at(np.arange(50)))


# -- errors --------------------------------------------------------------------------------------------


def test_warmup_needs_a_spec():
    with pytest.raises(TypeError, match=r"spec must be a cyclr spec, got 0.1 \(float\)"):
        cyclr.warmup(0.1, 10)


@pytest.mark.parametrize(("steps", "error", "message"), [
    (0, ValueError, r"warmup_steps must be a positive integer, got 0"),
    (5.0, TypeError, r"warmup_steps must be an integer, got 5.0"),
])
def test_warmup_steps(steps, error, message):
    with pytest.raises(error, match=message):
        cyclr.warmup(CYCLIC, steps)


@pytest.mark.parametrize("start_lr", [1e308, 1.7976931348623157e308, 5e-324])
def test_warmup_from_an_extreme_start_lr_stays_finite_and_between_its_ends(start_lr):
    # (first - start) * step overflowed to -inf for start_lr near 1e308 (issue 10, hostile sweep)
    spec = cyclr.warmup(CYCLIC, 10, start_lr=start_lr)
    steps = np.arange(30)
    for values in (spec.lr_at(steps), [spec.lr_at(int(k)) for k in steps], spec.precompute(30, backend="numba")[0]):
        values = np.asarray(values)
        assert np.all(np.isfinite(values))
        assert np.all(values[:10] <= max(start_lr, 0.01)) and np.all(values[:10] >= min(start_lr, 0.01))
    assert spec.lr_at(0) == start_lr and spec.lr_at(10) == CYCLIC.lr_at(0)


def test_warmup_steps_beyond_int64_are_refused():
    # 10**400 used to raise a bare OverflowError at lr_at
    with pytest.raises(ValueError, match=r"warmup_steps must be < 2\*\*63 \(int64.*got 9223372036854775808"):
        cyclr.warmup(CYCLIC, 2**63)
    with pytest.raises(ValueError, match=r"warmup_steps must be < 2\*\*63"):
        cyclr.warmup(CYCLIC, 10**400)
    for steps in (2**53 + 1, 2**62 + 1):  # beyond float64's integers: every path divides the same floats
        spec = cyclr.warmup(CYCLIC, steps)
        at = np.array([0, 2**53 + 1, 2**60 + 3, steps - 1])
        assert spec.lr_at(at).tolist() == [spec.lr_at(int(k)) for k in at]
        assert spec.precompute(3, start=2**53, backend="numba")[0].tolist() == spec.lr_at(np.arange(2**53, 2**53 + 3)).tolist()
    long = cyclr.warmup(CYCLIC, 2**63 - 1)
    assert long.lr_at(2**62) == pytest.approx(0.005) and long.lr_at(np.array([2**62]))[0] == pytest.approx(0.005)


def test_warmup_start_lr():
    with pytest.raises(ValueError, match=r"start_lr must be >= 0.0, got -1"):
        cyclr.warmup(CYCLIC, 5, start_lr=-1)
    with pytest.raises(ValueError, match=r"start_lr has 2 values, but the spec has no parameter groups"):
        cyclr.warmup(CYCLIC, 5, start_lr=[0.0, 0.1])


def test_join_needs_specs():
    with pytest.raises(ValueError, match=r"specs must hold at least one spec"):
        cyclr.join([], [])
    with pytest.raises(TypeError, match=r"specs\[1\] must be a cyclr spec, got 'cyclic'"):
        cyclr.join([CYCLIC, "cyclic"], [10])
    with pytest.raises(TypeError, match=r"specs must be a sequence of cyclr specs"):
        cyclr.join(CYCLIC, [])


@pytest.mark.parametrize(("boundaries", "error", "message"), [
    ([10], ValueError, r"boundaries must have one value fewer than specs: 3 specs need 2 boundaries, got 1"),
    ([10, 10], ValueError, r"boundaries must increase strictly, got \[10, 10\]"),
    ([0, 10], ValueError, r"boundaries\[0\] must be a positive integer, got 0"),
    ([10, 20.0], TypeError, r"boundaries\[1\] must be an integer, got 20.0"),
])
def test_join_boundaries(boundaries, error, message):
    with pytest.raises(error, match=message):
        cyclr.join([CYCLIC, CYCLIC, CYCLIC], boundaries)


def test_join_boundaries_as_a_numpy_array():
    # issue 10, item 5: numpy integers are accepted everywhere else
    spec = cyclr.join([CYCLIC, CYCLIC], np.array([10]))
    assert spec.boundaries == (10,) and type(spec.boundaries[0]) is int
    assert spec == cyclr.join([CYCLIC, CYCLIC], [10])
    assert cyclr.join([CYCLIC, CYCLIC], [np.int64(10)]).to_dict() == spec.to_dict()


@pytest.mark.parametrize(("boundaries", "error", "message"), [
    (np.array([10.0]), TypeError, r"boundaries\[0\] must be an integer, got np.float64\(10.0\)"),
    (np.array([True]), TypeError, r"boundaries\[0\] must be an integer, got np.True_"),
    (np.array(10), TypeError, r"boundaries must be a sequence of integers, got array\(10\)"),
    (np.array([[10]]), TypeError, r"boundaries must be a sequence of integers"),
    ("9", TypeError, r"boundaries must be a sequence of integers, got '9'"),
    (10, TypeError, r"boundaries must be a sequence of integers, got 10"),
])
def test_join_boundaries_of_the_wrong_type(boundaries, error, message):
    with pytest.raises(error, match=message):
        cyclr.join([CYCLIC, CYCLIC], boundaries)


def test_join_momentum_all_or_none():
    with pytest.raises(ValueError, match=r"every joined spec must schedule momentum, or none: specs\[1\] do not"):
        cyclr.join([CYCLIC, CosineAnnealingLR(0.1, 10)], [10])


def test_join_groups_must_agree():
    with pytest.raises(ValueError, match=r"joined specs must have the same parameter groups: specs\[0\] has no, specs\[1\] has 2"):
        cyclr.join([CYCLIC, CyclicLR(base_lr=[0.1, 0.2])], [10])
