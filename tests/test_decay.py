"""The decays of cyclr.decay: laws, exact huge steps, bit-for-bit paths and one test per documented error.

The oracle tests against optax and Keras live in tests/test_decay_oracles.py.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import ulps

import cyclr
from cyclr import Constant, PolynomialDecay

rates = st.floats(0.0, 1.0)
SPECS = [
    Constant(0.01),
    Constant([0.1, 0.2]),
    PolynomialDecay(0.1, 100),
    PolynomialDecay([0.1, 0.2], 7, end_lr=[0.01, 0.3], power=2.0, begin=3),
    PolynomialDecay(0.1, 10, end_lr=0.001, power=0.5, cycle=True),
    PolynomialDecay(0.1, 2**62, power=3.0, begin=2**40),
]
HUGE = [2**31 - 1, 2**53 + 1, 2**62 + 7, 2**63 - 1]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_every_path_agrees_bit_for_bit(spec):
    steps = np.concatenate([np.arange(300), HUGE])
    vector = spec.lr_at(steps)
    scalars = np.array([spec.lr_at(int(step)) for step in steps])
    assert np.array_equal(vector, scalars)
    for start in (0, 5, 2**40):
        expected = spec.lr_at(np.arange(start, start + 200))
        for backend in ("numpy", "numba"):
            lr, momentum = spec.precompute(200, start=start, backend=backend)
            assert momentum is None and np.array_equal(lr, expected)
    schedule = cyclr.numba.compile(spec)
    for step in (0, 1, 17, *HUGE):
        lr, momentum = schedule(step)
        assert momentum is None and ulps(lr, spec.lr_at(step)) == 0


# -- Constant -----------------------------------------------------------------------------------------


@given(base_lr=rates | st.lists(rates, min_size=1, max_size=3), step=st.integers(0, 2**200))
def test_constant_is_base_lr_at_every_step(base_lr, step):
    spec = Constant(base_lr)
    assert np.array_equal(spec.lr_at(step), np.asarray(base_lr))
    assert spec.momentum_at(step) is None and not spec.has_momentum


@pytest.mark.parametrize(
    "value, error, message",
    [
        (-0.1, ValueError, r"base_lr must be >= 0.0, got -0.1"),
        (math.nan, ValueError, r"base_lr must be finite, got nan"),
        (math.inf, ValueError, r"base_lr must be finite, got inf"),
        (10**400, ValueError, r"base_lr must be finite, got an integer of 401 digits"),
        ([], ValueError, r"base_lr must not be an empty sequence"),
        (True, TypeError, r"base_lr must be a real number, got True"),
        ("0.1", TypeError, r"base_lr must be a real number or a sequence of them, got '0.1'"),
    ],
)
def test_constant_refuses_a_bad_base_lr(value, error, message):
    with pytest.raises(error, match=message):
        Constant(value)


# -- PolynomialDecay ----------------------------------------------------------------------------------


def polynomial(base_lr, decay_steps, end_lr=0.0, power=1.0, begin=0, cycle=False, *, step):
    """The formula in exact rational arithmetic (power 1) or mpmath-free float reference."""
    s = max(step - begin, 0)
    if cycle:
        horizon = decay_steps * max(-(-s // decay_steps), 1)
    else:
        horizon, s = decay_steps, min(s, decay_steps)
    frac = Fraction(horizon - s, horizon)
    return (Fraction(base_lr) - Fraction(end_lr)) * frac ** int(power) + Fraction(end_lr)


@given(
    base_lr=rates,
    end_lr=rates,
    decay_steps=st.integers(1, 10**6) | st.integers(1, 2**63 - 1),
    power=st.sampled_from([1.0, 2.0, 3.0]),
    begin=st.integers(0, 100) | st.integers(0, 2**63 - 1),
    cycle=st.booleans(),
    step=st.integers(0, 2**70),
)
def test_polynomial_decay_is_its_formula_to_a_few_ulps(
    base_lr, end_lr, decay_steps, power, begin, cycle, step
):
    spec = PolynomialDecay(base_lr, decay_steps, end_lr, power, begin, cycle)
    exact = float(polynomial(base_lr, decay_steps, end_lr, power, begin, cycle, step=step))
    # 1 - t/d rounds once (an ulp of 1, absolute), the power multiplies that by `power`, the product and
    # the sum round once each: a few ulps of max(base_lr, end_lr), absolute.
    assert abs(spec.lr_at(step) - exact) <= (2 + 2 * power) * 2**-52 * max(base_lr, end_lr) + 1e-300


def test_polynomial_decay_holds_before_begin_and_after_the_end():
    spec = PolynomialDecay(0.1, 10, end_lr=0.01, power=2.0, begin=5)
    lr = spec.lr_at(np.arange(30))
    assert np.all(lr[:6] == lr[0]) and lr[0] == (0.1 - 0.01) * 1.0 + 0.01
    assert np.all(lr[15:] == 0.01)
    assert np.all(np.diff(lr[5:16]) < 0)
    assert spec.lr_at(10**300) == 0.01


def test_polynomial_decay_cycle_is_keras_growing_horizon():
    spec = PolynomialDecay(1.0, 4, cycle=True)
    lr = spec.lr_at(np.arange(13))
    # the horizon is 4 up to step 4, 8 up to step 8, 12 up to 12: the lr reaches 0 at each multiple
    expected = [1.0, 0.75, 0.5, 0.25, 0.0, 3 / 8, 2 / 8, 1 / 8, 0.0, 3 / 12, 2 / 12, 1 / 12, 0.0]
    assert lr.tolist() == pytest.approx(expected, rel=0.0, abs=2**-52)  # 1 - s / d rounds: an ulp of 1
    assert lr[[4, 8, 12]].tolist() == [0.0] * 3


def test_polynomial_decay_increases_when_end_lr_is_above_base_lr():
    lr = PolynomialDecay(0.0, 4, end_lr=1.0).lr_at(np.arange(6))
    assert lr.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_polynomial_decay_with_cycle_refuses_python_steps_beyond_a_float():
    spec = PolynomialDecay(0.1, 10, cycle=True)
    assert math.isfinite(spec.lr_at(2**1023 - 1))
    with pytest.raises(ValueError, match=r"step must be < 2\*\*1023 for PolynomialDecay\(cycle=True\)"):
        spec.lr_at(2**1023)
    assert PolynomialDecay(0.1, 10).lr_at(10**400) == 0.0  # without cycle the step is never a float


def test_polynomial_decay_of_huge_rates_stays_finite():
    top = 1.7976931348623157e308
    for spec in (
        PolynomialDecay(top, 3, power=0.5),
        PolynomialDecay(0.0, 3, end_lr=top),
        PolynomialDecay(top, 3, end_lr=top),
    ):
        lr = spec.lr_at(np.arange(6))
        assert np.all(np.isfinite(lr)) and np.all(lr <= top)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(decay_steps=0), ValueError, r"decay_steps must be a positive integer, got 0"),
        (dict(decay_steps=-3), ValueError, r"decay_steps must be a positive integer, got -3"),
        (dict(decay_steps=10.0), TypeError, r"decay_steps must be an integer, got 10.0 \(float\)"),
        (dict(decay_steps=True), TypeError, r"decay_steps must be an integer, got True"),
        (
            dict(decay_steps=2**63),
            ValueError,
            r"decay_steps must be <= 2\*\*63 - 1 \(the NumPy and numba paths",
        ),
        (dict(begin=-1), ValueError, r"begin must be an integer >= 0, got -1"),
        (dict(begin=1.5), TypeError, r"begin must be an integer, got 1.5"),
        (dict(begin=2**63), ValueError, r"begin must be <= 2\*\*63 - 1"),
        (dict(power=0.0), ValueError, r"power must be > 0.0, got 0.0"),
        (dict(power=-1.0), ValueError, r"power must be > 0.0, got -1.0"),
        (dict(power=math.inf), ValueError, r"power must be finite, got inf"),
        (dict(power="2"), TypeError, r"power must be a real number, got '2'"),
        (dict(end_lr=-0.1), ValueError, r"end_lr must be >= 0.0, got -0.1"),
        (dict(end_lr=math.nan), ValueError, r"end_lr must be finite, got nan"),
        (dict(base_lr=-1.0), ValueError, r"base_lr must be >= 0.0, got -1.0"),
        (dict(cycle=1), TypeError, r"cycle must be True or False, got 1"),
        (dict(base_lr=[0.1, 0.2], end_lr=[0.0, 0.0, 0.0]), ValueError, r"base_lr has 2, end_lr has 3"),
    ],
)
def test_polynomial_decay_refuses_bad_parameters_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        PolynomialDecay(**{"base_lr": 0.1, "decay_steps": 10, **kwargs})


# -- ExponentialDecay -----------------------------------------------------------------------------------

from cyclr import ExponentialDecay, InverseTimeDecay, PiecewiseConstant  # noqa: E402


def test_exponential_decay_is_base_times_rate_to_the_power():
    spec = ExponentialDecay(0.1, 0.5, 10, begin=5)
    steps = np.arange(60)
    expected = [0.1 * math.pow(0.5, max(k - 5, 0) / 10.0) for k in steps]
    assert spec.lr_at(steps).tolist() == expected  # the same pow, bit for bit
    stairs = ExponentialDecay(0.1, 0.5, 10, staircase=True).lr_at(steps)
    assert stairs.tolist() == [0.1 * math.pow(0.5, k // 10) for k in steps]


def test_exponential_decay_end_lr_is_a_floor_below_one_and_a_cap_above():
    assert ExponentialDecay(0.1, 0.5, 1, end_lr=0.01).lr_at(np.arange(6)).tolist() == [
        0.1,
        0.05,
        0.025,
        0.0125,
        0.01,
        0.01,
    ]
    assert ExponentialDecay(0.1, 2.0, 1, end_lr=0.5).lr_at(np.arange(5)).tolist() == [0.1, 0.2, 0.4, 0.5, 0.5]


@pytest.mark.parametrize("step", [2**63 - 1, 2**63 + 9, 2**1100, 10**400])
def test_exponential_decay_settles_exactly_at_huge_steps(step):
    assert ExponentialDecay(0.1, 0.999, 3).lr_at(step) == 0.0
    assert ExponentialDecay(0.1, 1 - 2**-53, 1).lr_at(step) == (
        0.0 if step > 2**63 else 0.1 * math.pow(1 - 2**-53, step)
    )
    assert ExponentialDecay([0.1, 0.2], 0.9, 7, staircase=True, end_lr=[0.01, 0.0]).lr_at(step).tolist() == [
        0.01,
        0.0,
    ]
    assert ExponentialDecay(1e-30, 1.0 + 2**-52, 1, end_lr=1.0).lr_at(step) == 1.0
    assert ExponentialDecay([0.0, 1e-3], 1.5, 2, end_lr=1.0).lr_at(step).tolist() == [0.0, 1.0]
    assert ExponentialDecay(0.1, 1.0, 5).lr_at(step) == 0.1


def test_a_growing_exponential_decay_never_reaches_inf_or_nan_on_any_path():
    spec = ExponentialDecay([0.0, 1e-20], 3.0, 1, end_lr=1e10)
    steps = np.array([0, 10, 60, 1000, 10**6, 2**62])
    lr = spec.lr_at(steps)
    assert np.all(np.isfinite(lr)) and lr[:, 0].tolist() == [0.0] * 6 and lr[-1, 1] == 1e10
    assert np.array_equal(spec.precompute(100, start=2**40, backend="numba")[0][:, 1], np.full(100, 1e10))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(decay_rate=0.0), ValueError, r"decay_rate must be > 0.0, got 0.0"),
        (dict(decay_rate=-0.5), ValueError, r"decay_rate must be > 0.0, got -0.5"),
        (dict(decay_rate=math.nan), ValueError, r"decay_rate must be finite, got nan"),
        (dict(decay_rate=1.5), ValueError, r"decay_rate > 1 grows the lr without bound .* needs end_lr"),
        (
            dict(decay_rate=1.5, base_lr=1e-40, end_lr=1.0),
            ValueError,
            r"end_lr \(the cap\) must be in \(0, 2\*\*100 \* base_lr\]",
        ),
        (
            dict(decay_rate=2.0**100, end_lr=1.0),
            ValueError,
            r"decay_rate=1.2676506002282294e\+30 reaches end_lr in too few, too large steps",
        ),
        (dict(decay_steps=0), ValueError, r"decay_steps must be a positive integer, got 0"),
        (dict(decay_steps=1.0), TypeError, r"decay_steps must be an integer, got 1.0"),
        (dict(staircase="yes"), TypeError, r"staircase must be True or False, got 'yes'"),
        (dict(begin=-2), ValueError, r"begin must be an integer >= 0, got -2"),
        (dict(end_lr=-1.0), ValueError, r"end_lr must be >= 0.0, got -1.0"),
        (dict(base_lr=[0.1] * 3, end_lr=[0.1, 0.2]), ValueError, r"base_lr has 3, end_lr has 2"),
    ],
)
def test_exponential_decay_refuses_bad_parameters_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        ExponentialDecay(**{"base_lr": 0.1, "decay_rate": 0.9, "decay_steps": 10, **kwargs})


# -- InverseTimeDecay -----------------------------------------------------------------------------------


def test_inverse_time_decay_is_keras_formula():
    steps = np.arange(50)
    assert InverseTimeDecay(0.1, 0.5, 7).lr_at(steps).tolist() == [0.1 / (1 + 0.5 * (k / 7.0)) for k in steps]
    assert InverseTimeDecay(0.1, 0.5, 7, True).lr_at(steps).tolist() == [
        0.1 / (1 + 0.5 * (k // 7)) for k in steps
    ]
    assert InverseTimeDecay(0.1, 0.0, 7).lr_at(10**300) == 0.1


def test_inverse_time_decay_refuses_python_steps_beyond_a_float():
    spec = InverseTimeDecay(0.1, 1.0, 1)
    assert 0 < spec.lr_at(2**1023 - 1) < 1e-300
    with pytest.raises(ValueError, match=r"step must be < 2\*\*1023 for InverseTimeDecay"):
        spec.lr_at(2**1023)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(decay_rate=-1.0), ValueError, r"decay_rate must be >= 0.0, got -1.0"),
        (dict(decay_rate=math.inf), ValueError, r"decay_rate must be finite, got inf"),
        (dict(decay_steps=0), ValueError, r"decay_steps must be a positive integer, got 0"),
        (dict(decay_steps=2**63), ValueError, r"decay_steps must be <= 2\*\*63 - 1"),
        (dict(staircase=0), TypeError, r"staircase must be True or False, got 0"),
        (dict(base_lr=math.nan), ValueError, r"base_lr must be finite, got nan"),
    ],
)
def test_inverse_time_decay_refuses_bad_parameters_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        InverseTimeDecay(**{"base_lr": 0.1, "decay_rate": 0.5, "decay_steps": 10, **kwargs})


# -- PiecewiseConstant ----------------------------------------------------------------------------------


@given(
    boundaries=st.lists(st.integers(0, 2**63 - 2), max_size=6, unique=True).map(sorted),
    inclusive=st.booleans(),
    step=st.integers(0, 2**64),
)
def test_piecewise_constant_is_the_factor_of_the_piece_holding_the_step(boundaries, inclusive, step):
    factors = [1.0 / (k + 1) for k in range(len(boundaries) + 1)]
    spec = PiecewiseConstant(0.3, boundaries, factors, inclusive=inclusive)
    k = sum(1 for b in boundaries if (b < step if inclusive else b <= step))
    assert spec.lr_at(step) == 0.3 * factors[k]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(boundaries=[5, 5], factors=[1.0, 0.5, 0.1]),
            ValueError,
            r"boundaries must be strictly increasing, got boundaries\[0\]=5, boundaries\[1\]=5",
        ),
        (
            dict(boundaries=[7, 5], factors=[1.0, 0.5, 0.1]),
            ValueError,
            r"boundaries must be strictly increasing",
        ),
        (
            dict(boundaries=[-1], factors=[1.0, 0.5]),
            ValueError,
            r"boundaries\[0\] must be an integer >= 0, got -1",
        ),
        (
            dict(boundaries=[2.0], factors=[1.0, 0.5]),
            TypeError,
            r"boundaries\[0\] must be an integer, got 2.0",
        ),
        (dict(boundaries=[2**63], factors=[1.0, 0.5]), ValueError, r"boundaries\[0\] must be <= 2\*\*63 - 1"),
        (
            dict(boundaries="10", factors=[1.0, 0.5]),
            TypeError,
            r"boundaries must be a sequence of integers, got '10'",
        ),
        (
            dict(boundaries=[10], factors=[1.0]),
            ValueError,
            r"factors must have one more entry than boundaries .* got 1 factors and 1 boundaries",
        ),
        (dict(boundaries=[10], factors=0.5), TypeError, r"factors must be a sequence of numbers, got 0.5"),
        (dict(boundaries=[10], factors=[1.0, -0.5]), ValueError, r"factors\[1\] must be >= 0.0, got -0.5"),
        (dict(boundaries=[10], factors=[1.0, math.nan]), ValueError, r"factors\[1\] must be finite, got nan"),
        (
            dict(base_lr=1e300, boundaries=[10], factors=[1.0, 1e10]),
            ValueError,
            r"base_lr \* factors\[1\] must be a finite float",
        ),
        (
            dict(boundaries=[10], factors=[1.0, 0.5], inclusive=None),
            TypeError,
            r"inclusive must be True or False, got None",
        ),
    ],
)
def test_piecewise_constant_refuses_bad_parameters_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        PiecewiseConstant(**{"base_lr": 0.1, **kwargs})


@pytest.mark.parametrize(
    "spec",
    [
        ExponentialDecay(0.1, 0.96, 10),
        ExponentialDecay([0.1, 0.2], 0.5, 7, staircase=True, begin=5, end_lr=[1e-3, 2e-3]),
        ExponentialDecay(1e-3, 1.05, 3, end_lr=0.1),
        InverseTimeDecay([0.1, 0.2], 2.0, 7, staircase=True),
        PiecewiseConstant([1.0, 2.0], [10, 20, 2**62], [0.1, 0.05, 0.01, 0.0], inclusive=True),
    ],
    ids=repr,
)
def test_the_other_decays_agree_on_every_path_bit_for_bit(spec):
    test_every_path_agrees_bit_for_bit(spec)


# -- the command line -----------------------------------------------------------------------------------

from cyclr.cli import main  # noqa: E402


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exit:
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "argv, spec",
    [
        (["--schedule", "multistep-lr", "--base-lr", "0.1", "--milestones", "3,5", "--gamma", "0.5"], cyclr.MultiStepLR(0.1, [3, 5], 0.5)),
        (["--schedule", "multistep-lr", "--base-lr", "0.1", "--milestones", "3"], cyclr.MultiStepLR(0.1, [3])),
        (["--schedule", "piecewise", "--base-lr", "1", "--boundaries", "10", "--factors", "0.1,0.01", "--inclusive"], PiecewiseConstant(1.0, [10], [0.1, 0.01], inclusive=True)),
        (["--schedule", "exponential", "--base-lr", "0.1", "--decay-rate", "0.5", "--decay-steps", "10", "--staircase", "--end-lr", "0.01"], ExponentialDecay(0.1, 0.5, 10, True, end_lr=0.01)),
        (["--schedule", "polynomial", "--base-lr", "0.1,0.2", "--decay-steps", "10", "--power", "2", "--cycle"], PolynomialDecay([0.1, 0.2], 10, power=2.0, cycle=True)),
        (["--schedule", "linear-lr", "--base-lr", "0.1", "--total-iters", "7"], cyclr.LinearLR(0.1, total_iters=7)),
    ],
)
def test_the_command_line_builds_each_family_from_its_flags(capsys, argv, spec):
    status, out, err = run(capsys, "config", *argv, "--format", "json")
    assert status == 0 and err == ""
    assert cyclr.from_dict(json.loads(out)) == spec


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--schedule", "multistep-lr", "--base-lr", "0.1", "--milestones", "3.0"], "argument --milestones: expected comma-separated integers, got '3.0'"),
        (["--schedule", "step-lr", "--base-lr", "0.1", "--step-size", "0"], "step_size must be a positive integer, got 0"),
        (["--schedule", "exponential", "--base-lr", "0.1", "--decay-rate", "1.5", "--decay-steps", "10"], "decay_rate > 1 grows the lr without bound"),
        (["--schedule", "piecewise", "--base-lr", "1", "--boundaries", "10", "--factors", "0.1"], "factors must have one more entry than boundaries"),
        (["--schedule", "polynomial", "--base-lr", "0.1"], "--decay-steps is required for --schedule polynomial"),
    ],
)
def test_command_line_mistakes_print_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, "show", *argv)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err


def test_polynomial_decay_cycle_stays_within_its_bounds_past_2_53():
    # s / (decay_steps * ceil(s / decay_steps)) rounds past 1 there: a math domain error in pow (power
    # 0.5), and a negative lr (power 1), before the fraction was clipped at 0
    for power in (0.5, 1.0, 2.0):
        spec = PolynomialDecay(0.1, 10, power=power, cycle=True)
        steps = [2**53 + 1, 2**53 + 3, 2**62 + 1, 2**63 - 1]
        values = np.array([spec.lr_at(step) for step in steps])
        assert np.all((values >= 0.0) & (values <= 0.1))
        assert np.array_equal(spec.lr_at(np.array(steps)), values)
