"""A jitted custom ``scale_fn`` in "iterations" mode on the numba backend: one call per step, nothing else.

``precompute(backend="numba")`` fills it from one cycle's shape times ``scale_fn(step)``, the call compiled
into the parallel kernel, which also checks every value is finite (no second pass in Python). These tests
hold it to the contract: equal bit for bit to ``spec(steps)`` (the NumPy path) and to the scalar path at any
start, with groups, every waveform, ranges shorter than a cycle and near the end of int64; non-finite
values refused with the Python path's message, never handed out.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cyclr.numba
from cyclr import CyclicLR
from cyclr.cyclic import WAVEFORMS


@numba.njit
def decay(step):
    return 0.9999 ** (step % 100_000)


@numba.njit
def half(step):
    return 0.5


@numba.njit
def integer_scale(step):
    return 1 if step % 3 else 0  # an int: promoted to float64 as on every path


@numba.njit
def float32_scale(step):
    return np.float32(0.25) + np.float32(step % 2) * np.float32(0.5)


@numba.njit
def inf_from_1000(step):
    return math.inf if step >= 1000 else 1.0


@numba.njit
def nan_at_7(step):
    return math.nan if step == 7 else 0.5


SCALES = [decay, half, integer_scale, float32_scale]


@given(
    scale_fn=st.sampled_from(SCALES),
    up=st.integers(1, 30),
    down=st.integers(1, 30),
    start=st.sampled_from([0, 1, 12_345, 2**40 - 7, 2**63 - 300]) | st.integers(0, 2**62),
    num_steps=st.integers(0, 250),
    waveform=st.sampled_from(WAVEFORMS),
    groups=st.booleans(),
)
def test_numba_precompute_equals_spec_bit_for_bit(scale_fn, up, down, start, num_steps, waveform, groups):
    kwargs = {"base_lr": [0.001, 0.0], "max_lr": [0.01, 1.0], "base_momentum": [0.8, 0.0], "max_momentum": [0.9, 0.95]}
    if not groups:
        kwargs = {key: value[0] for key, value in kwargs.items()}
    spec = CyclicLR(
        step_size_up=up, step_size_down=down, scale_fn=scale_fn, scale_mode="iterations", waveform=waveform, **kwargs
    )
    num_steps = min(num_steps, 2**63 - start)
    lr, momentum = spec.precompute(num_steps, start=start, backend="numba")
    steps = np.arange(num_steps, dtype=np.int64) + start
    expected_lr, expected_momentum = spec(steps)
    assert np.array_equal(lr, expected_lr) and np.array_equal(momentum, expected_momentum)
    for k in range(0, num_steps, max(1, num_steps // 5)):
        assert np.array_equal(lr[k], spec.lr_at(start + k)) and np.array_equal(momentum[k], spec.momentum_at(start + k))


def test_the_kernel_is_the_one_used():
    # The step-scaled table exists for this mode only; the numba backend reports it checked the values.
    spec = CyclicLR(step_size_up=4, scale_fn=half, scale_mode="iterations")
    table = spec._step_scaled_table(3, 100)
    assert table is not None and table.period == 8 and table.first_offset == 3 and len(table.shape) == 8
    assert spec._step_scaled_table(3, 5).period == 5  # shorter than a cycle: the range's own shapes
    assert CyclicLR(step_size_up=4, scale_fn=half)._step_scaled_table(0, 100) is None  # "cycle" mode
    assert CyclicLR(step_size_up=4, mode="exp_range")._step_scaled_table(0, 100) is None
    lr, momentum = np.empty(100), np.empty(100)
    assert cyclr.numba.precompute_into(spec, 0, lr, momentum) is True
    assert cyclr.numba.precompute_into(CyclicLR(step_size_up=4), 0, lr, momentum) is False


@pytest.mark.parametrize("num_steps", [2000, 3_000_000])  # the second one streams its stores
def test_a_non_finite_value_is_refused_naming_the_step(num_steps):
    spec = CyclicLR(step_size_up=2, scale_fn=inf_from_1000, scale_mode="iterations", cycle_momentum=False)
    with pytest.raises(ValueError, match=r"scale_fn\(1000\) returned inf \(step 1000\)"):
        spec.precompute(num_steps, backend="numba")
    groups = CyclicLR(base_lr=[0.001, 0.002], max_lr=[0.01, 0.02], step_size_up=2, scale_fn=nan_at_7,
                      scale_mode="iterations")
    with pytest.raises(ValueError, match=r"scale_fn\(7\) returned nan \(step 7\)"):
        groups.precompute(50, backend="numba")


def test_an_overflowing_product_is_refused_too():
    # A finite scale whose product overflows: the value checked is the value written.
    @numba.njit
    def huge(step):
        return 1e300

    spec = CyclicLR(base_lr=0.0, max_lr=1e10, step_size_up=2, scale_fn=huge, scale_mode="iterations")
    with pytest.raises(ValueError, match=r"scale_fn\(\d+\) returned 1e\+300"):
        spec.precompute(40, backend="numba")


def test_a_finite_range_before_a_bad_step_is_filled():
    spec = CyclicLR(step_size_up=2, scale_fn=inf_from_1000, scale_mode="iterations", cycle_momentum=False)
    lr, _ = spec.precompute(1000, backend="numba")
    assert np.all(np.isfinite(lr)) and np.array_equal(lr, spec.lr_at(np.arange(1000)))
