"""Every schedule family keeps the same contract on every path: one catalogue, the same checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from catalogue import FAMILIES
from oracle import ulps

import cyclr

CATALOGUE = {
    **FAMILIES,
    "range-test": cyclr.LRRangeTest(),
    "range-test-linear": cyclr.LRRangeTest(start_lr=1e-4, end_lr=1.0, num_steps=250, mode="linear"),
}
STEPS = np.concatenate([np.arange(300), [1000, 12345, 10**6, 2**31 - 1, 2**40 + 3]])


@pytest.fixture(params=list(CATALOGUE), ids=list(CATALOGUE))
def spec(request):
    return CATALOGUE[request.param]


def test_python_ints_and_arrays_agree_bit_for_bit(spec):
    for quantity in ("lr_at", "momentum_at"):
        vector = getattr(spec, quantity)(STEPS)
        if vector is None:
            assert getattr(spec, quantity)(7) is None
            continue
        for k, step in enumerate(STEPS):
            assert np.array_equal(getattr(spec, quantity)(int(step)), vector[k])


def test_shapes(spec):
    trailing = () if spec.groups is None else (spec.groups,)
    assert spec.lr_at(np.zeros((2, 3), dtype=np.int64)).shape == (2, 3, *trailing)
    lr, momentum = spec.precompute(11, start=4)
    assert lr.shape == (11, *trailing)
    assert (momentum is None) == (not spec.has_momentum)


def test_precompute_on_both_backends(spec):
    for start in (0, 3, 2**40):
        expected = spec(np.arange(start, start + 400))
        lr, momentum = spec.precompute(400, start=start)
        assert np.array_equal(lr, expected[0])
        numba_lr, numba_momentum = spec.precompute(400, start=start, backend="numba")
        assert ulps(numba_lr, expected[0]) <= 1
        if spec.has_momentum:
            assert np.array_equal(momentum, expected[1])
            assert ulps(numba_momentum, expected[1]) <= 1


def test_compiled_schedule(spec):
    schedule = cyclr.numba.compile(spec)
    for step in (0, 1, 17, 299, 2**31 - 1, 2**40 + 3):
        lr, momentum = schedule(step)
        assert ulps(lr, spec.lr_at(step)) <= 1
        if spec.has_momentum:
            assert ulps(momentum, spec.momentum_at(step)) <= 1
        else:
            assert momentum is None


def test_serialization_round_trip(spec):
    again = cyclr.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and hash(again) == hash(spec)
    assert np.array_equal(again.lr_at(STEPS), spec.lr_at(STEPS))


def test_immutable(spec):
    with pytest.raises(AttributeError):
        spec.groups = 3
    name = next(iter(spec.to_dict().keys() - {"schedule"}))
    with pytest.raises(AttributeError):
        setattr(spec, name, 1)


def test_steps_are_validated(spec):
    with pytest.raises(ValueError, match=r"step must be >= 0, got -1"):
        spec.lr_at(-1)
    with pytest.raises(TypeError, match=r"step must be an integer"):
        spec.lr_at(1.0)


HUGE_STEPS = [2**63, 2**64 + 3, 10**30, 2**1019, 2**1023, 2**1024 + 1, 10**400]


def test_python_int_steps_past_every_float_are_exact_or_refused_by_name(spec):
    """A Python int step of any size gives finite values, or a ValueError that names the limit: never
    an OverflowError from a float conversion (SGDR's period and CosineDecayRestarts' position passed
    the largest float from about 1e308 on), never a NaN or an infinity."""
    for step in HUGE_STEPS:
        for quantity in ("lr_at", "momentum_at"):
            try:
                value = getattr(spec, quantity)(step)
            except ValueError as error:
                assert "step must be <" in str(error), error
                continue
            if value is not None:
                assert np.all(np.isfinite(value)), (step, quantity, value)
                assert np.all(np.asarray(value) >= 0), (step, quantity, value)


def test_sgdr_past_the_largest_float_is_the_exact_position_in_its_period():
    from fractions import Fraction

    spec = cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=10, T_mult=2, eta_min=0.001)
    for k in (1019, 1023, 1100, 4000):
        step = 2**k  # restart i = k - 4 begins at 10 * (2**i - 1): T_cur = 6 * 2**i + 10, T_i = 10 * 2**i
        i = k - 4
        fraction = Fraction(6 * 2**i + 10, 10 * 2**i)
        expected = 0.001 + (0.1 - 0.001) * (1 + np.cos(np.pi * float(fraction))) / 2
        assert spec.position(step) == (6 * 2**i + 10, 10 * 2**i)
        assert abs(spec.lr_at(step) - expected) <= 1e-15
    # Below the switch the value is torch's expression, bit for bit as before.
    step = 2**1000
    t_cur, t_i = spec.position(step)
    assert spec.lr_at(step) == 0.001 + (0.1 - 0.001) * (1 + np.cos(np.pi * t_cur / float(t_i))) / 2


def test_cosine_decay_restarts_past_its_table_is_the_exact_position_in_its_restart():
    import math
    from fractions import Fraction

    spec = cyclr.CosineDecayRestarts(base_lr=0.1, first_decay_steps=7, t_mul=1.5, m_mul=1.0, alpha=0.1)
    growth = Fraction(3, 2)
    for step in (2**63 + 5, 10**30, 10**400):
        restart = 0
        while math.ceil(7 * (growth ** (restart + 1) - 1) / (growth - 1)) <= step:
            restart += 1
        fraction = (Fraction(step, 7) - (growth**restart - 1) / (growth - 1)) / growth**restart
        assert 0 <= fraction < 1
        expected = 0.1 * (0.9 * (0.5 * (1 + math.cos(math.pi * float(fraction)))) + 0.1)
        assert abs(spec.lr_at(step) - expected) <= 1e-16
