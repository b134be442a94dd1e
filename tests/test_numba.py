"""The numba path: compiled schedules callable from user @njit code, and the parallel precompute."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba.core.errors import TypingError
from oracle import ulps
from strategies import cyclic_kwargs

import cyclr
from cyclr import CyclicLR


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**12))
def test_compiled_schedule_equals_the_python_path(kwargs, step):
    spec = CyclicLR(**kwargs)
    schedule = cyclr.numba.compile(spec)
    for k in (step, step + 1, step + spec.step_size_up):
        lr, momentum = schedule(k)
        assert ulps(lr, spec.lr_at(k)) <= 1
        if spec.cycle_momentum:
            assert ulps(momentum, spec.momentum_at(k)) <= 1
        else:
            assert momentum is None


def test_callable_from_user_njit_code():
    spec = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=7, mode="triangular2")
    schedule = cyclr.numba.compile(spec)

    @numba.njit
    def sgd_with_momentum(weight, gradient, steps):
        velocity = 0.0
        for step in range(steps):
            lr, momentum = schedule(step)
            velocity = momentum * velocity - lr * gradient
            weight += velocity
        return weight

    expected, velocity = 1.0, 0.0
    for step in range(40):
        velocity = spec.momentum_at(step) * velocity - spec.lr_at(step) * 0.5
        expected += velocity
    assert sgd_with_momentum(1.0, 0.5, 40) == pytest.approx(expected, rel=1e-14)


def test_groups_give_arrays():
    spec = CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2], step_size_up=4)
    lr, momentum = cyclr.numba.compile(spec)(3)
    np.testing.assert_array_equal(lr, spec.lr_at(3))
    np.testing.assert_array_equal(momentum, spec.momentum_at(3))


def test_compile_is_cached_per_spec():
    assert cyclr.numba.compile(CyclicLR(step_size_up=9)) is cyclr.numba.compile(CyclicLR(step_size_up=9))


def test_jitted_scale_fn():
    @numba.njit
    def halve_every_two_cycles(cycle):
        return 0.5 ** ((cycle - 1) // 2)

    spec = CyclicLR(step_size_up=3, scale_fn=halve_every_two_cycles)
    schedule = cyclr.numba.compile(spec)
    for step in range(40):
        assert schedule(step)[0] == spec.lr_at(step)
    lr, _ = spec.precompute(100, backend="numba")
    assert np.array_equal(lr, spec.lr_at(np.arange(100)))


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**9), st.integers(0, 300))
def test_numba_precompute_equals_numpy(kwargs, start, num_steps):
    spec = CyclicLR(**kwargs)
    lr, momentum = spec.precompute(num_steps, start=start, backend="numba")
    expected_lr, expected_momentum = spec.precompute(num_steps, start=start)
    assert ulps(lr, expected_lr) <= 1
    if momentum is not None:
        assert ulps(momentum, expected_momentum) <= 1


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_numba_precompute_large_streams_the_same_values(mode):
    spec = CyclicLR(step_size_up=1000, step_size_down=3000, mode=mode, gamma=0.99999)
    num_steps = 3_000_001  # over the non-temporal-store threshold
    lr, momentum = spec.precompute(num_steps, start=12_345, backend="numba")
    expected_lr, expected_momentum = spec.precompute(num_steps, start=12_345)
    assert ulps(lr, expected_lr) <= 1
    assert ulps(momentum, expected_momentum) <= 1


def test_grouped_numba_precompute():
    spec = CyclicLR(base_lr=[0.01, 0.02, 0.03], max_lr=[0.1, 0.2, 0.3], step_size_up=3, mode="triangular2")
    for num_steps in (5, 1000):
        lr, momentum = spec.precompute(num_steps, start=2, backend="numba")
        assert np.array_equal(lr, spec.precompute(num_steps, start=2)[0])
        assert np.array_equal(momentum, spec.precompute(num_steps, start=2)[1])


# -- errors --------------------------------------------------------------------------------------------


def python_scale(cycle):
    return 1.0 / cycle


def test_python_scale_fn_is_refused_with_a_clear_message():
    spec = CyclicLR(scale_fn=python_scale)
    with pytest.raises(TypeError, match=r"scale_fn=<function python_scale .*> is a Python function.*@numba.njit"):
        cyclr.numba.compile(spec)
    with pytest.raises(TypeError, match=r"scale_fn=<function python_scale"):
        spec.precompute(10, backend="numba")


def test_compile_needs_a_spec():
    with pytest.raises(TypeError, match=r"compile expects a cyclr spec, got dict"):
        cyclr.numba.compile({"schedule": "CyclicLR"})


def test_compiled_schedule_rejects_float_steps():
    with pytest.raises(TypingError, match=r"cyclr: step must be an integer, got float64"):
        cyclr.numba.compile(CyclicLR())(1.5)


def test_compiled_schedule_rejects_negative_steps():
    with pytest.raises(ValueError, match=r"cyclr: step must be >= 0"):
        cyclr.numba.compile(CyclicLR())(-1)


# -- integer limits of compiled code (issue 10, item 3) -----------------------------------------------


@pytest.mark.parametrize("step", [np.uint64(2**63), np.uint64(2**64 - 1), np.uint64(2**63 + 5)])
def test_compiled_schedule_refuses_unsigned_steps_beyond_int64(step):
    # used to return a silently wrong value (the step wrapped or went through float64)
    schedule = cyclr.numba.compile(CyclicLR(step_size_up=7))
    with pytest.raises(ValueError, match=r"cyclr: step must be < 2\*\*63 \(int64\)"):
        schedule(step)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64])
def test_compiled_schedule_is_exact_for_every_integer_type(dtype):
    spec = cyclr.join([CyclicLR(step_size_up=7, mode="exp_range", gamma=0.999), CyclicLR(step_size_up=3)], [100])
    schedule = cyclr.numba.compile(spec)
    for step in (0, 5, 99, 100, 101, min(int(np.iinfo(dtype).max), 2**63 - 1)):
        lr, momentum = schedule(dtype(step))
        assert ulps(lr, spec.lr_at(step)) <= 1 and ulps(momentum, spec.momentum_at(step)) <= 1


def test_compiled_schedule_at_the_last_int64_step():
    spec = CyclicLR(step_size_up=7, mode="triangular2")
    last = 2**63 - 1
    assert ulps(cyclr.numba.compile(spec)(np.uint64(last))[0], spec.lr_at(last)) <= 1
    assert ulps(cyclr.numba.compile(spec)(last)[0], spec.lr_at(last)) <= 1


@pytest.mark.parametrize("step", [np.int8(-1), np.int32(-5), np.int64(-(2**63)), -1])
def test_compiled_schedule_refuses_negative_steps_of_any_type(step):
    with pytest.raises(ValueError, match=r"cyclr: step must be >= 0"):
        cyclr.numba.compile(CyclicLR())(step)


def test_negative_steps_are_refused_inside_user_njit_code():
    schedule = cyclr.numba.compile(CyclicLR())

    @numba.njit
    def at(step):
        return schedule(step)[0]

    with pytest.raises(ValueError, match=r"cyclr: step must be >= 0"):
        at(-3)
    with pytest.raises(ValueError, match=r"cyclr: step must be < 2\*\*63"):
        at(np.uint64(2**63))
