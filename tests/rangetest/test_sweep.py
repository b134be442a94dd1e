"""LRRangeTest: the sweep as a spec, with the whole contract and its laws."""

from __future__ import annotations

import json
import math
import re
import sys
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import ulps

import cyclr
from cyclr.rangetest import LRRangeTest


@st.composite
def sweeps(draw: st.DrawFn) -> LRRangeTest:
    start = draw(st.floats(1e-9, 1.0))
    ratio = draw(st.floats(1.001, 1e10))
    return LRRangeTest(
        start_lr=start,
        end_lr=start * ratio,
        num_steps=draw(st.integers(2, 5000)),
        mode=draw(st.sampled_from(["exp", "linear"])),
    )


def torch_lr_finder(spec: LRRangeTest, k: int) -> float:
    """torch-lr-finder's ExponentialLR / LinearLR, transcribed: ``r = k / (num_iter - 1)``."""
    r = k / (spec.num_steps - 1)
    if spec.mode == "exp":
        return spec.start_lr * (spec.end_lr / spec.start_lr) ** r
    return spec.start_lr + r * (spec.end_lr - spec.start_lr)


@given(sweeps(), st.data())
def test_matches_torch_lr_finder_inside_the_sweep(spec, data):
    k = data.draw(st.integers(0, spec.num_steps - 2))
    assert spec.lr_at(k) == min(torch_lr_finder(spec, k), spec.end_lr)


@given(sweeps(), st.data())
def test_close_to_the_exact_sweep(spec, data):
    k = data.draw(st.integers(0, spec.num_steps - 1))
    mpmath.mp.dps = 40
    start, end, t = mpmath.mpf(spec.start_lr), mpmath.mpf(spec.end_lr), mpmath.mpf(k) / (spec.num_steps - 1)
    exact = start * (end / start) ** t if spec.mode == "exp" else start + (end - start) * t
    # A few roundings (end/start, k/last, pow, the product); the rounding of t = k/last is amplified by
    # ln(end/start) in the exponential, as in every implementation of this formula.
    bound = (3 + math.log(spec.end_lr / spec.start_lr) / 2) * 2.0**-52
    assert abs(spec.lr_at(k) - float(exact)) <= bound * float(exact)


@given(sweeps())
def test_both_ends_are_exact_and_the_end_holds(spec):
    last = spec.num_steps - 1
    assert spec.lr_at(0) == spec.start_lr
    assert spec.lr_at(last) == spec.end_lr
    for step in (last + 1, last + 12345, 2**62, 2**80):
        assert spec.lr_at(step) == spec.end_lr
    ends = spec.lr_at(np.array([0, last, last + 1, 2**62], dtype=np.int64))
    assert ends.tolist() == [spec.start_lr, spec.end_lr, spec.end_lr, spec.end_lr]


@given(sweeps())
def test_rises_monotonically_between_the_ends(spec):
    lr = spec.lr_at(np.arange(spec.num_steps + 3))
    assert np.all(np.diff(lr) >= 0)
    assert lr.min() == spec.start_lr and lr.max() == spec.end_lr


def test_exp_is_evenly_spaced_in_log_lr():
    lr = LRRangeTest(start_lr=1e-6, end_lr=1.0, num_steps=7).lr_at(np.arange(7))
    np.testing.assert_allclose(lr, 10.0 ** np.arange(-6, 1), rtol=1e-15)


def test_linear_is_evenly_spaced_in_lr():
    lr = LRRangeTest(start_lr=0.01, end_lr=0.05, num_steps=5, mode="linear").lr_at(np.arange(5))
    np.testing.assert_allclose(np.diff(lr), 0.01, rtol=1e-12)


def test_defaults_are_fastais():
    spec = LRRangeTest()
    assert (spec.start_lr, spec.end_lr, spec.num_steps, spec.mode) == (1e-7, 10.0, 100, "exp")


@given(sweeps())
def test_scalar_array_and_precompute_agree_exactly(spec):
    steps = np.arange(spec.num_steps + 2)
    lr, momentum = spec.precompute(len(steps))
    assert momentum is None
    assert np.array_equal(lr, spec.lr_at(steps))
    for k in range(0, len(steps), max(1, len(steps) // 17)):
        assert lr[k] == spec.lr_at(k)
        assert spec(k) == (lr[k], None)


NUMBA_SWEEPS = [
    LRRangeTest(),
    LRRangeTest(start_lr=3e-5, end_lr=0.7, num_steps=1234),
    LRRangeTest(start_lr=1e-4, end_lr=0.1, num_steps=50, mode="linear"),
    LRRangeTest(start_lr=0.3, end_lr=0.30001, num_steps=7, mode="linear"),
]


@pytest.mark.parametrize("spec", NUMBA_SWEEPS, ids=str)
@given(start=st.integers(0, 10**6))
def test_numba_precompute_and_compile_within_one_ulp(spec, start):
    for first in (0, start):
        lr, momentum = spec.precompute(spec.num_steps + 5, start=first, backend="numba")
        assert momentum is None
        assert ulps(lr, spec.precompute(spec.num_steps + 5, start=first)[0]) <= 1
    schedule = cyclr.numba.compile(spec)  # cached per spec: compiled once
    for k in (0, 1, spec.num_steps // 2, spec.num_steps - 1, spec.num_steps, start):
        value, no_momentum = schedule(k)
        assert no_momentum is None
        assert ulps(value, spec.lr_at(k)) <= 1
    assert schedule(0)[0] == spec.start_lr and schedule(spec.num_steps - 1)[0] == spec.end_lr


def test_momentum_is_not_scheduled():
    spec = LRRangeTest()
    assert spec.momentum_at(3) is None
    assert spec.momentum_at(np.arange(4)) is None
    assert not spec.has_momentum
    assert spec.groups is None


@given(sweeps())
def test_dict_round_trip_through_json(spec):
    again = cyclr.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert hash(again) == hash(spec)
    assert again.lr_at(spec.num_steps // 3) == spec.lr_at(spec.num_steps // 3)


def test_to_dict_is_plain_data_after_normalization():
    spec = LRRangeTest(start_lr=np.float32(0.5), end_lr=10, num_steps=np.int64(20))
    assert spec.to_dict() == {
        "schedule": "LRRangeTest",
        "start_lr": 0.5,
        "end_lr": 10.0,
        "num_steps": 20,
        "mode": "exp",
    }
    assert type(spec.end_lr) is float and type(spec.num_steps) is int


def test_spec_is_immutable():
    with pytest.raises(AttributeError):
        LRRangeTest().end_lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", [0.0, -1e-3])
def test_non_positive_lr(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be > 0.0, got {value}"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_lr(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite, got {value}"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", ["1e-3", True, None])
def test_lr_of_the_wrong_type(name, value):
    with pytest.raises(TypeError, match=rf"{name} must be a real number"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize(("start_lr", "end_lr"), [(1.0, 1.0), (1.0, 0.1)])
def test_sweep_must_go_up(start_lr, end_lr):
    with pytest.raises(
        ValueError, match=rf"end_lr must be > start_lr: the sweep goes up, got start_lr={start_lr}"
    ):
        LRRangeTest(start_lr=start_lr, end_lr=end_lr)


@pytest.mark.parametrize("value", [1, 0, -5])
def test_too_few_steps(value):
    with pytest.raises(ValueError, match=rf"num_steps must be an integer >= 2, got {value}"):
        LRRangeTest(num_steps=value)


@pytest.mark.parametrize("value", [100.0, True, "100"])
def test_num_steps_of_the_wrong_type(value):
    with pytest.raises(TypeError, match=r"num_steps must be an integer, got"):
        LRRangeTest(num_steps=value)


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(
        ValueError, match=r"mode must be one of \['exp', 'linear'\], got 'expo'; did you mean 'exp'\?"
    ):
        LRRangeTest(mode="expo")
    with pytest.raises(TypeError, match=r"mode must be a string"):
        LRRangeTest(mode=1)


# -- hostile parameters: a sweep that is built keeps its laws, or it is not built -------------------------

TINY = sys.float_info.min  # the smallest normal float, 2.2250738585072014e-308
MAX_STEPS = 2**53 + 1


def test_a_subnormal_start_is_refused():
    """Issue 10 item 2: start_lr=5e-324 made end_lr / start_lr inf, and the sweep jumped to end_lr."""
    with pytest.raises(
        ValueError, match=r"start_lr must be a normal float, >= 2.2250738585072014e-308, got 5e-324"
    ):
        LRRangeTest(start_lr=5e-324, end_lr=1.0)
    with pytest.raises(ValueError, match=r"start_lr must be a normal float"):
        LRRangeTest(start_lr=5e-324, end_lr=1.0, mode="linear")


def test_an_exponential_ratio_that_overflows_is_refused():
    with pytest.raises(
        ValueError,
        match=r"end_lr / start_lr must be a finite float for mode 'exp' \(the sweep's ratio\), got "
        r"end_lr=10000000000.0, start_lr=1e-300: it overflows; raise start_lr or lower end_lr",
    ):
        LRRangeTest(start_lr=1e-300, end_lr=1e10)
    linear = LRRangeTest(start_lr=1e-300, end_lr=1e10, mode="linear")  # no ratio: fine
    assert linear.lr_at(1) == 1e-300 + (1e10 - 1e-300) * (1 / 99)


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize(
    "value",
    [10**400, -(10**400), Fraction(10**400, 3), 2**1024],
    ids=["1e400", "-1e400", "fraction", "2**1024"],
)
def test_a_number_too_large_for_a_float_is_a_value_error(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite, got .*beyond the largest float"):
        LRRangeTest(**{name: value})


def test_a_huge_number_is_named_briefly():
    with pytest.raises(ValueError) as caught:
        LRRangeTest(end_lr=10**5000)  # its repr would be 5001 digits (and Python refuses to print it)
    assert len(str(caught.value)) < 200 and "end_lr" in str(caught.value)


def test_decimal_is_not_a_real_number():
    with pytest.raises(TypeError, match=r"end_lr must be a real number, got Decimal\('1E\+400'\)"):
        LRRangeTest(end_lr=Decimal("1e400"))


@pytest.mark.parametrize("value", [MAX_STEPS + 1, 2**63, 10**400], ids=["2**53+2", "2**63", "1e400"])
def test_num_steps_beyond_2_53_is_refused(value):
    with pytest.raises(ValueError, match=r"num_steps must be <= 2\*\*53 \+ 1, so that each step's fraction"):
        LRRangeTest(num_steps=value)


def test_the_longest_sweep_keeps_its_laws():
    spec = LRRangeTest(start_lr=1e-7, end_lr=10.0, num_steps=MAX_STEPS)
    last = MAX_STEPS - 1
    steps = np.array([0, 1, 2, last // 2, last - 1, last, last + 1, 2**63 - 1], dtype=np.int64)
    lr = spec.lr_at(steps)
    assert lr.tolist() == [spec.lr_at(int(k)) for k in steps]
    assert lr[0] == 1e-7 and lr[5] == 10.0 and np.all(np.diff(lr) >= 0)


positive = st.one_of(
    st.floats(min_value=0.0, exclude_min=True, allow_subnormal=True, allow_infinity=False),
    st.sampled_from([5e-324, TINY, TINY * 2, 1e-300, 1e-7, 1.0, 1e300, sys.float_info.max]),
    st.integers(1, 2**1100),
    st.fractions(min_value=Fraction(1, 10**400), max_value=Fraction(10**400)).filter(lambda f: f > 0),
)
hostile = st.one_of(
    positive,
    st.sampled_from([0, 0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, True, None, "1e-3", Decimal(1)]),
    st.sampled_from([np.float32(1e-3), np.float64(5e-324), np.int64(3), np.float16(0.5)]),
)
step_counts = st.one_of(
    st.integers(2, 60),
    st.integers(2, 2**70),
    st.sampled_from([MAX_STEPS - 1, MAX_STEPS, MAX_STEPS + 1, 2**63 - 1, 2**63, 0, 1, -3]),
)


@given(
    start=hostile, end=hostile, num_steps=step_counts, mode=st.sampled_from(["exp", "linear"]), data=st.data()
)
def test_every_sweep_built_keeps_its_laws(start, end, num_steps, mode, data):
    """Built from anything: a ValueError/TypeError naming a parameter, or a sweep that starts at start_lr,
    ends at end_lr, rises monotonically, stays finite and within [start_lr, end_lr] at every step (up to
    2**63 - 1, and 2**80 on the Python path), with the scalar and numpy paths equal."""
    try:
        spec = LRRangeTest(start_lr=start, end_lr=end, num_steps=num_steps, mode=mode)
    except (TypeError, ValueError) as error:
        assert re.match(r"(start_lr|end_lr|num_steps|mode|end_lr / start_lr) must be", str(error)), error
        return
    last = spec.num_steps - 1
    k = data.draw(st.integers(0, last - 1))
    steps = sorted({0, 1, k, k + 1, last // 2, last - 1, last, min(last + 1, 2**63 - 1), 2**63 - 1})
    scalar = [spec.lr_at(step) for step in steps]
    array = spec.lr_at(np.array(steps, dtype=np.int64))
    assert array.tolist() == scalar
    assert all(math.isfinite(lr) and spec.start_lr <= lr <= spec.end_lr for lr in scalar)
    assert all(a <= b for a, b in zip(scalar[:-1], scalar[1:], strict=True))
    assert spec.lr_at(0) == spec.start_lr and spec.lr_at(last) == spec.end_lr == spec.lr_at(2**80)
    assert spec.start_lr >= TINY and math.isfinite(spec.end_lr)
