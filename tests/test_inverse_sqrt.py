"""InverseSqrt against transformers' inverse sqrt lambda, its laws, huge steps, and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close

import cyclr
from cyclr import InverseSqrt

optimization = pytest.importorskip("transformers.optimization")


@given(st.floats(1e-6, 10.0), st.integers(0, 100), st.integers(1, 20_000) | st.none())
def test_transformers_inverse_sqrt(base_lr, warmup, timescale):
    timescale = timescale or warmup or 10_000  # transformers' default
    spec = InverseSqrt(base_lr, timescale)
    spec = cyclr.warmup(spec, warmup) if warmup else spec
    steps = np.concatenate([np.arange(warmup + 300), [10**6, 2**40]])
    theirs = [
        base_lr
        * optimization._get_inverse_sqrt_schedule_lr_lambda(
            int(k), num_warmup_steps=warmup, timescale=timescale
        )
        for k in steps
    ]
    assert_close(spec.lr_at(steps), theirs)


@given(st.integers(1, 10**6), st.integers(0, 2**62))
def test_the_law(timescale, step):
    spec = InverseSqrt(1.0, timescale)
    assert spec.lr_at(step) == pytest.approx(math.sqrt(timescale / (step + timescale)), rel=4e-16)
    assert spec.lr_at(3 * timescale) == 0.5


def test_python_ints_past_every_float():
    spec = InverseSqrt([0.1, 0.2], 10)
    for step in (2**1000 - 1, 2**1000, 10**400, 10**4000):
        expected = 0.1 * math.exp(0.5 * (math.log(10) - math.log(step + 10)))
        assert spec.lr_at(step)[0] == pytest.approx(expected, rel=1e-13)
    assert spec.lr_at(2**1000)[0] == pytest.approx(spec.lr_at(2**1000 - 1)[0], rel=1e-13)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"timescale": 0}, ValueError, "timescale must be a positive integer, got 0"),
        ({"timescale": 2**63}, ValueError, r"timescale must be <= 2\*\*63 - 1"),
        ({"timescale": 10.0}, TypeError, "timescale must be an integer, got 10.0"),
        ({"base_lr": math.nan}, ValueError, "base_lr must be finite"),
        ({"base_lr": [0.1, -1.0]}, ValueError, r"base_lr\[1\] must be >= 0.0, got -1.0"),
    ],
)
def test_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        InverseSqrt(**{"base_lr": 0.1, **kwargs})
