"""exp_range's factored power: ``gamma**step = gamma**offset * gamma**(cycle * period)`` on every path.

The factorization lets ``precompute`` fill exp_range from one periodic row and one factor per cycle (a
``pow`` per cycle, not per step). These tests hold it to the contract: exact against mpmath to a few ulp
(small steps and near 2**40), ``precompute`` equal to ``spec(step)`` bit for bit on NumPy and numba, the
compiled scalar within 1 ulp, and underflow to exactly ``start`` (never NaN).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import ulps

import cyclr
from cyclr import CyclicLR
from cyclr.cyclic import WAVEFORMS

GAMMAS = [1.0, 1 - 2**-52, 1 - 1e-12, 0.99994, 0.999, 0.9, 0.5, 0.1, 2**-30]


def exact_lr(spec: CyclicLR, step: int) -> mpmath.mpf:
    """The triangular exp_range lr in exact arithmetic (40 digits) from the spec's float parameters."""
    up, down = spec.step_size_up, spec.step_size_down
    offset = step % (up + down)
    ramp = min(mpmath.mpf(offset) / up, mpmath.mpf(up + down - offset) / down)
    base, peak = mpmath.mpf(spec.base_lr), mpmath.mpf(spec.max_lr)
    return base + (peak - base) * ramp * mpmath.power(mpmath.mpf(spec.gamma), step)


def ulps_exact(actual: float, exact: mpmath.mpf) -> float:
    """Distance of ``actual`` from the exact value, in ulps of the float nearest to it."""
    nearest = float(exact)
    return float(abs(mpmath.mpf(actual) - exact) / mpmath.mpf(math.ulp(nearest)))


@pytest.mark.parametrize("gamma", GAMMAS)
def test_factored_power_is_within_two_ulp_of_gamma_pow_step(gamma):
    # At the peak of each cycle (shape 1, base_lr 0, max_lr 1) the lr is the factored power itself:
    # pow(gamma, up) and pow(gamma, cycle * period) each within an ulp (C's pow), their product rounded
    # once more: within 2 ulp of gamma**step while it is a normal float.
    spec = CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=3, step_size_down=5, mode="exp_range", gamma=gamma)
    mpmath.mp.dps = 40
    steps = [8 * c + 3 for c in (0, 1, 2, 7, 100, 12_345)] + [
        8 * c + 3 for c in (2**37, 2**37 + 1, 2**40 // 8)
    ]
    for step in steps:
        exact = mpmath.power(mpmath.mpf(gamma), step)
        if exact < mpmath.mpf(2) ** -1022:
            continue  # subnormal or underflowing: tested below
        assert ulps_exact(spec.lr_at(step), exact) <= 2, step


@pytest.mark.parametrize("gamma", [1 - 1e-12, 0.99994, 0.9])
@pytest.mark.parametrize("around", [0, 10**6, 2**40])
def test_lr_against_mpmath_at_small_steps_and_near_2_to_40(gamma, around):
    spec = CyclicLR(
        base_lr=0.001, max_lr=0.01, step_size_up=1000, step_size_down=999, mode="exp_range", gamma=gamma
    )
    mpmath.mp.dps = 40
    for step in range(around, around + 4000, 37):
        exact = exact_lr(spec, step)
        # 2 ulp for the power, one rounding each for the ramp, the products and the sum.
        assert ulps_exact(spec.lr_at(step), exact) <= 4, step


def test_the_cycle_table_is_used_for_exp_range():
    # Without the table, precompute would evaluate a pow per step: the goal of the factorization.
    spec = CyclicLR(mode="exp_range", gamma=0.99994, step_size_up=4)
    table = spec._cycle_table(5, 100)
    assert table is not None
    assert table.period == 8 and table.first_offset == 5
    assert np.array_equal(table.scale, [math.pow(0.99994, 8 * c) for c in range(len(table.scale))])


@given(
    gamma=st.sampled_from(GAMMAS) | st.floats(2**-40, 1.0),
    up=st.integers(1, 40),
    down=st.integers(1, 40),
    start=st.sampled_from([0, 1, 12_345, 2**40 - 100, 2**62]) | st.integers(0, 2**62),
    num_steps=st.integers(0, 400),
    waveform=st.sampled_from(WAVEFORMS),
    groups=st.booleans(),
    backend=st.sampled_from(["numpy", "numba"]),
)
def test_precompute_equals_spec_bit_for_bit(gamma, up, down, start, num_steps, waveform, groups, backend):
    kwargs = {
        "base_lr": [0.001, 0.0],
        "max_lr": [0.01, 1.0],
        "base_momentum": [0.8, 0.0],
        "max_momentum": [0.9, 0.95],
    }
    if not groups:
        kwargs = {key: value[0] for key, value in kwargs.items()}
    spec = CyclicLR(
        step_size_up=up, step_size_down=down, mode="exp_range", gamma=gamma, waveform=waveform, **kwargs
    )
    lr, momentum = spec.precompute(num_steps, start=start, backend=backend)
    steps = np.arange(num_steps, dtype=np.int64) + start
    expected_lr, expected_momentum = spec(steps)
    assert np.array_equal(lr, expected_lr) and np.array_equal(momentum, expected_momentum)
    for k in range(0, num_steps, max(1, num_steps // 7)):  # the scalar path, too
        assert np.array_equal(lr[k], spec.lr_at(start + k)) and np.array_equal(
            momentum[k], spec.momentum_at(start + k)
        )


@pytest.mark.parametrize("gamma", [0.99994, 0.5, 2**-30])
def test_compiled_schedule_within_one_ulp(gamma):
    spec = CyclicLR(step_size_up=7, step_size_down=3, mode="exp_range", gamma=gamma, waveform="cosine")
    schedule = cyclr.numba.compile(spec)
    for step in [*range(0, 200), 2**40 - 1, 2**40 + 3, 2**62 + 5]:
        lr, momentum = schedule(step)
        assert ulps(lr, spec.lr_at(step)) <= 1 and ulps(momentum, spec.momentum_at(step)) <= 1, step


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_underflow_gives_start_exactly_never_nan(backend):
    # 0.5**(cycle * 8) underflows to 0 from cycle 135 on: every value there is exactly start.
    spec = CyclicLR(base_lr=0.0, max_lr=0.01, step_size_up=4, mode="exp_range", gamma=0.5)
    lr, momentum = spec.precompute(4000, start=0, backend=backend)
    assert np.all(np.isfinite(lr)) and np.all(np.isfinite(momentum))
    assert np.all(lr[8 * 140 :] == 0.0) and np.all(momentum[8 * 140 :] == 0.9)
    assert spec.lr_at(2**62 + 4) == 0.0 and spec.momentum_at(2**62 + 4) == 0.9
    assert spec.lr_at(2**100 + 4) == 0.0  # a Python int beyond int64, too
    # Within the first cycle a tiny gamma underflows gamma**offset itself: 0, not NaN.
    tiny = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=4, mode="exp_range", gamma=1e-300)
    lr, _ = tiny.precompute(64, backend=backend)
    assert lr[1] == 0.001 + 0.009 * (0.25 * 1e-300) and np.all(lr[2:] == 0.001)


@pytest.mark.parametrize("step", [2**63 + 5, 2**1023, 2**1030 + 1, 10**400 + 3])
def test_python_int_steps_past_float_range_are_exact(step):
    # cycle * period past 2**1024 once raised OverflowError (int too large to convert to float);
    # the true gamma**step is below 2**-1075 for every gamma < 1, so the lr is base_lr exactly.
    spec = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=3, mode="exp_range", gamma=1 - 2**-53)
    assert spec.lr_at(step) == 0.001 and spec.momentum_at(step) == 0.9
    # gamma == 1 never decays: the lr is triangular's at any step.
    flat = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=3, mode="exp_range", gamma=1.0)
    triangular = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=3)
    assert flat.lr_at(step) == triangular.lr_at(step) and flat.momentum_at(step) == triangular.momentum_at(
        step
    )


def test_the_exponent_cap_is_where_every_gamma_has_underflowed():
    # The largest gamma below 1 is the slowest to decay; at the cap it is already 0.
    mpmath.mp.dps = 30
    largest = mpmath.mpf(1 - 2**-53)
    assert mpmath.power(largest, cyclr.cyclic.EXPONENT_CAP) < mpmath.mpf(2) ** -1075
    assert math.pow(1 - 2**-53, cyclr.cyclic.EXPONENT_CAP) == 0.0
    # and no int64 step reaches it, so numpy and numba never see the cap
    for period in (2, 3, 4000, 2**62 + 1):
        assert (2**63 - 1) // period < -(-cyclr.cyclic.EXPONENT_CAP // period)
