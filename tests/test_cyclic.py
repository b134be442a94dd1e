"""CyclicLR: PyTorch as the oracle, exact arithmetic at huge steps, the laws of the schedule, and errors."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close, torch_trajectory, ulps
from strategies import cyclic_kwargs

import cyclr
from cyclr import CyclicLR
from cyclr.cyclic import WAVEFORMS

# -- PyTorch's CyclicLR is the reference ---------------------------------------------------------------


def torch_cyclic(kwargs: dict, num_steps: int, groups: int = 1, optimizer: str = "sgd"):
    def make(opt):
        return torch.optim.lr_scheduler.CyclicLR(opt, **kwargs)

    return torch_trajectory(make, num_steps, groups=groups, optimizer=optimizer)


@given(cyclic_kwargs())
def test_matches_torch(kwargs):
    steps = np.arange(600)
    expected_lr, expected_momentum = torch_cyclic(kwargs, len(steps))
    spec = CyclicLR(**kwargs)
    assert_close(spec.lr_at(steps), expected_lr[:, 0])
    if kwargs["cycle_momentum"]:
        assert_close(spec.momentum_at(steps), expected_momentum[:, 0])
    else:
        assert spec.momentum_at(steps) is None
    assert_close([spec.lr_at(int(k)) for k in steps[:50]], expected_lr[:50, 0])


@given(cyclic_kwargs(groups=3))
def test_matches_torch_per_group(kwargs):
    expected_lr, expected_momentum = torch_cyclic(kwargs, 500, groups=3)
    spec = CyclicLR(**kwargs)
    assert spec.groups == 3
    assert_close(spec.lr_at(np.arange(500)), expected_lr)
    if kwargs["cycle_momentum"]:
        assert_close(spec.momentum_at(np.arange(500)), expected_momentum)
    assert_close(spec.lr_at(7), expected_lr[7])


@given(cyclic_kwargs())
def test_matches_torch_adam_beta1(kwargs):
    expected_lr, expected_beta1 = torch_cyclic(kwargs, 300, optimizer="adam")
    spec = CyclicLR(**kwargs)
    assert_close(spec.lr_at(np.arange(300)), expected_lr[:, 0])
    if kwargs["cycle_momentum"]:
        assert_close(spec.momentum_at(np.arange(300)), expected_beta1[:, 0])


def scale_by_cycle(x):
    return 1.0 / (1.0 + 0.5 * (x - 1))


def scale_by_step(x):
    return 0.5 * (1.0 + math.cos(x / 37.0))


@pytest.mark.parametrize(("scale_fn", "scale_mode"), [(scale_by_cycle, "cycle"), (scale_by_step, "iterations")])
def test_custom_scale_fn_matches_torch(scale_fn, scale_mode):
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=13, scale_fn=scale_fn, scale_mode=scale_mode)
    expected_lr, expected_momentum = torch_cyclic(kwargs, 700)
    spec = CyclicLR(**kwargs)
    assert_close(spec.lr_at(np.arange(700)), expected_lr[:, 0])
    assert_close(spec.momentum_at(np.arange(700)), expected_momentum[:, 0])
    assert_close([spec.lr_at(k) for k in range(0, 700, 17)], expected_lr[::17, 0])


def test_custom_scale_fn_defaults_to_cycle_scaling_like_torch():
    kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=5, scale_fn=scale_by_cycle)
    expected_lr, _ = torch_cyclic(kwargs, 100)
    assert CyclicLR(**kwargs).scale_mode == "cycle"
    assert_close(CyclicLR(**kwargs).lr_at(np.arange(100)), expected_lr[:, 0])


def test_step_zero_is_base_lr_and_max_momentum():
    spec = CyclicLR(base_lr=0.01, max_lr=0.1, base_momentum=0.7, max_momentum=0.95)
    assert spec(0) == (0.01, 0.95)
    peak = spec.step_size_up
    assert spec.lr_at(peak) == 0.1
    assert spec.momentum_at(peak) == pytest.approx(0.7, rel=1e-15)


# -- exact at any step ---------------------------------------------------------------------------------

HUGE = 2**40


def exact_cyclic(spec: CyclicLR, step: int, quantity: str = "lr") -> Fraction:
    """The schedule in rational arithmetic, from the spec's float parameters."""
    up, down = spec.step_size_up, spec.step_size_down
    cycle, offset = divmod(step, up + down)
    ramp = min(Fraction(offset, up), Fraction(up + down - offset, down))
    # Past cycle 1200, 2**-cycle is far below an ulp of the result: capping it keeps Fractions small.
    scale = Fraction(1, 2 ** min(cycle, 1200)) if spec.mode == "triangular2" else Fraction(1)
    start, end = (spec.base_lr, spec.max_lr) if quantity == "lr" else (spec.max_momentum, spec.base_momentum)
    return Fraction(start) + (Fraction(end) - Fraction(start)) * ramp * scale


@given(
    up=st.integers(1, 10**6),
    down=st.integers(1, 10**6),
    delta=st.integers(0, 10**7),
    bounds=st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=2).map(sorted),
)
def test_exact_near_2_pow_40(up, down, delta, bounds):
    spec = CyclicLR(base_lr=bounds[0], max_lr=bounds[1], step_size_up=up, step_size_down=down)
    step = HUGE + delta
    for quantity, value in (("lr", spec.lr_at(step)), ("momentum", spec.momentum_at(step))):
        exact = exact_cyclic(spec, step, quantity)
        assert ulps(value, float(exact)) <= 3, (quantity, value, float(exact))
    vector = spec.lr_at(np.array([step, step + 1], dtype=np.int64))
    assert vector[0] == spec.lr_at(step)
    assert vector[1] == spec.lr_at(step + 1)


def test_exact_where_torch_drifts():
    """Torch's ``1 + t/T - floor(1 + t/T)`` loses the offset's low bits at 2**40; the integer one does not."""
    kwargs = dict(base_lr=0.0, max_lr=1.0, step_size_up=3, step_size_down=7, cycle_momentum=False)
    spec = CyclicLR(**kwargs)
    step = HUGE + 1
    exact = float(exact_cyclic(spec, step))
    assert ulps(spec.lr_at(step), exact) <= 1
    t_over_T = step / 10  # torch's formula, transcribed
    cycle = math.floor(1 + t_over_T)
    x = 1.0 + t_over_T - cycle
    torch_value = 0.0 + (1.0 - 0.0) * (x / 0.3 if x <= 0.3 else (x - 1) / (0.3 - 1))
    assert ulps(torch_value, exact) > 1e6


def test_triangular2_exact_at_huge_step():
    spec = CyclicLR(base_lr=0.001, max_lr=0.5, step_size_up=3, step_size_down=4, mode="triangular2")
    for step in (7 * 1000 + 3, 7 * 1074 + 2, 7 * 2000 + 3, HUGE + 5):
        assert ulps(spec.lr_at(step), float(exact_cyclic(spec, step))) <= 2


@pytest.mark.parametrize("waveform", ["cosine", "welch"])
def test_waveforms_exact_at_huge_step(waveform):
    spec = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=999, step_size_down=1001, waveform=waveform)
    mpmath.mp.dps = 40
    for step in (HUGE + 17, HUGE + 1500, 3 * HUGE + 999):
        offset = step % 2000
        ramp = min(mpmath.mpf(offset) / 999, mpmath.mpf(2000 - offset) / 1001)
        shape = (1 - mpmath.cos(mpmath.pi * ramp)) / 2 if waveform == "cosine" else ramp * (2 - ramp)
        exact = mpmath.mpf(0.01) + (mpmath.mpf(0.1) - mpmath.mpf(0.01)) * shape
        assert ulps(spec.lr_at(step), float(exact)) <= 3


def test_exp_range_exact_at_large_step():
    spec = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=1000, mode="exp_range", gamma=1 - 1e-12)
    mpmath.mp.dps = 40
    for step in (10**9 + 500, 10**11 + 1234, HUGE + 777):
        offset = step % 2000
        ramp = min(mpmath.mpf(offset) / 1000, mpmath.mpf(2000 - offset) / 1000)
        exact = mpmath.mpf(0.001) + (mpmath.mpf(0.01) - mpmath.mpf(0.001)) * ramp * mpmath.power(mpmath.mpf(spec.gamma), step)
        assert ulps(spec.lr_at(step), float(exact)) <= 4


def test_python_int_steps_beyond_int64():
    spec = CyclicLR(step_size_up=3, step_size_down=5)
    assert spec.lr_at(2**80 + 3) == spec.lr_at((2**80 + 3) % 8)


# -- the laws of the schedule --------------------------------------------------------------------------


def within(values, a, b):
    """``a <= values <= b`` up to one rounding of the larger bound: ``a + (b - a)`` can miss ``b`` by that."""
    low, high = sorted((a, b))
    slack = np.spacing(max(abs(a), abs(b)))
    return np.all((low - slack <= values) & (values <= high + slack))


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**12))
def test_lr_and_momentum_stay_within_bounds(kwargs, step):
    spec = CyclicLR(**kwargs)
    lr, momentum = spec(step + np.arange(200))
    assert within(lr, spec.base_lr, spec.max_lr)
    if momentum is not None:
        assert within(momentum, spec.base_momentum, spec.max_momentum)


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**12))
def test_triangular_is_periodic(kwargs, step):
    spec = CyclicLR(**{**kwargs, "mode": "triangular"})
    steps = step + np.arange(spec.period)
    assert np.array_equal(spec.lr_at(steps), spec.lr_at(steps + spec.period))
    assert spec.lr_at(step) == spec.lr_at(step + 1000 * spec.period)


@given(cyclic_kwargs(), st.integers(0, 30))
def test_triangular2_peak_amplitude_halves_every_cycle(kwargs, cycle):
    spec = CyclicLR(**{**kwargs, "mode": "triangular2", "base_lr": 0.0, "max_lr": 1.0})
    peak = cycle * spec.period + spec.step_size_up
    assert spec.lr_at(peak) == 2.0**-cycle
    assert spec.lr_at(peak + spec.period) == spec.lr_at(peak) / 2


@given(cyclic_kwargs(), st.integers(0, 10**6))
def test_exp_range_amplitude_follows_gamma_pow_step(kwargs, step):
    spec = CyclicLR(**{**kwargs, "mode": "exp_range"})
    triangular = CyclicLR(**{**kwargs, "mode": "triangular"})
    expected = spec.base_lr + (triangular.lr_at(step) - spec.base_lr) * spec.gamma**step
    assert spec.lr_at(step) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@given(cyclic_kwargs(waveforms=True))
def test_momentum_moves_opposite_to_lr(kwargs):
    spec = CyclicLR(**{**kwargs, "cycle_momentum": True})
    lr, momentum = spec(np.arange(3 * spec.period))
    lr_direction = np.sign(np.diff(lr)) * np.sign(spec.max_lr - spec.base_lr)
    momentum_direction = np.sign(np.diff(momentum)) * np.sign(spec.max_momentum - spec.base_momentum)
    moving = (lr_direction != 0) & (momentum_direction != 0)
    assert np.all(lr_direction[moving] == -momentum_direction[moving])


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**9), st.integers(0, 400))
def test_precompute_equals_lr_at(kwargs, start, num_steps):
    spec = CyclicLR(**kwargs)
    lr, momentum = spec.precompute(num_steps, start=start)
    steps = np.arange(start, start + num_steps)
    assert np.array_equal(lr, spec.lr_at(steps))
    if momentum is not None:
        assert np.array_equal(momentum, spec.momentum_at(steps))
    for k in range(0, num_steps, 37):
        assert lr[k] == spec.lr_at(start + k)


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**6))
def test_spec_equals_its_dict_round_trip(kwargs, step):
    spec = CyclicLR(**kwargs)
    data = json.loads(json.dumps(spec.to_dict()))
    again = cyclr.from_dict(data)
    assert again == spec
    assert hash(again) == hash(spec)
    assert again(step) == spec(step)


@given(cyclic_kwargs(groups=2))
def test_group_dict_round_trip(kwargs):
    spec = CyclicLR(**kwargs)
    assert cyclr.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_step_size_down_defaults_to_step_size_up():
    assert CyclicLR(step_size_up=7) == CyclicLR(step_size_up=7, step_size_down=7)
    assert CyclicLR(step_size_up=7).period == 14


def test_scale_mode_resolves_to_the_modes_own():
    assert CyclicLR(mode="triangular2").scale_mode == "cycle"
    assert CyclicLR(mode="exp_range").scale_mode == "iterations"
    assert CyclicLR(mode="exp_range", scale_mode="iterations") == CyclicLR(mode="exp_range")


def test_scalar_broadcasts_against_group_sequences():
    spec = CyclicLR(base_lr=0.001, max_lr=[0.01, 0.02])
    assert spec.groups == 2
    np.testing.assert_array_equal(spec.lr_at(0), [0.001, 0.001])
    np.testing.assert_array_equal(spec.momentum_at(0), [0.9, 0.9])


def test_spec_is_immutable():
    spec = CyclicLR()
    with pytest.raises(AttributeError):
        spec.base_lr = 0.5  # type: ignore[misc]


# -- bad input: one test per documented error ----------------------------------------------------------


@pytest.mark.parametrize("value", [0, -3])
@pytest.mark.parametrize("name", ["step_size_up", "step_size_down"])
def test_non_positive_step_size(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer, got {value}"):
        CyclicLR(**{name: value})


@pytest.mark.parametrize("value", [2000.0, 2.5, "2000", True, None])
def test_non_integer_step_size_up(value):
    with pytest.raises(TypeError, match=r"step_size_up must be an integer, got"):
        CyclicLR(step_size_up=value)


@pytest.mark.parametrize("value", [2000.0, False])
def test_non_integer_step_size_down(value):
    with pytest.raises(TypeError, match=r"step_size_down must be an integer, got"):
        CyclicLR(step_size_down=value)


@pytest.mark.parametrize("name", ["base_lr", "max_lr", "base_momentum", "max_momentum"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_rates(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite, got {value}"):
        CyclicLR(**{name: value})


@pytest.mark.parametrize("name", ["base_lr", "max_lr", "base_momentum", "max_momentum"])
def test_negative_rates(name):
    with pytest.raises(ValueError, match=rf"{name} must be >= 0.0, got -0.1"):
        CyclicLR(**{name: -0.1})


@pytest.mark.parametrize("name", ["base_lr", "max_lr", "base_momentum", "max_momentum"])
@pytest.mark.parametrize("value", [True, "0.1", None])
def test_rates_of_the_wrong_type(name, value):
    with pytest.raises(TypeError, match=rf"{name} must be a real number"):
        CyclicLR(**{name: value})


def test_bad_value_inside_a_group_sequence_is_named_by_index():
    with pytest.raises(ValueError, match=r"max_lr\[1\] must be finite, got nan"):
        CyclicLR(max_lr=[0.1, math.nan])


def test_empty_group_sequence():
    with pytest.raises(ValueError, match=r"base_lr must not be an empty sequence"):
        CyclicLR(base_lr=[])


def test_sequences_of_different_lengths():
    with pytest.raises(ValueError, match=r"same length: base_lr has 2, max_lr has 3"):
        CyclicLR(base_lr=[0.1, 0.2], max_lr=[1.0, 1.0, 1.0])


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(ValueError, match=r"mode must be one of .* got 'triangle'; did you mean 'triangular'\?"):
        CyclicLR(mode="triangle")
    with pytest.raises(ValueError, match=r"got 'exp'; did you mean 'exp_range'\?"):
        CyclicLR(mode="exp")


def test_mode_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"mode must be a string"):
        CyclicLR(mode=2)


@pytest.mark.parametrize("gamma", [0.0, -0.5])
def test_non_positive_gamma(gamma):
    with pytest.raises(ValueError, match=rf"gamma must be > 0.0, got {gamma}"):
        CyclicLR(mode="exp_range", gamma=gamma)


def test_non_finite_gamma():
    with pytest.raises(ValueError, match=r"gamma must be finite, got nan"):
        CyclicLR(gamma=math.nan)


def test_scale_mode_contradicting_the_mode():
    with pytest.raises(ValueError, match=r"scale_mode='cycle' contradicts mode='exp_range'"):
        CyclicLR(mode="exp_range", scale_mode="cycle")


def test_unknown_scale_mode():
    with pytest.raises(ValueError, match=r"scale_mode must be one of \['cycle', 'iterations'\], got 'cycles'"):
        CyclicLR(scale_fn=scale_by_cycle, scale_mode="cycles")


def test_scale_fn_not_callable():
    with pytest.raises(TypeError, match=r"scale_fn must be callable or None, got 0.5"):
        CyclicLR(scale_fn=0.5)


def test_cycle_momentum_must_be_a_bool():
    with pytest.raises(TypeError, match=r"cycle_momentum must be True or False, got 1"):
        CyclicLR(cycle_momentum=1)


def test_unknown_waveform():
    with pytest.raises(ValueError, match=r"waveform must be one of .* got 'sine'"):
        CyclicLR(waveform="sine")


def test_custom_scale_fn_cannot_be_serialized():
    spec = CyclicLR(scale_fn=scale_by_cycle)
    with pytest.raises(ValueError, match=r"scale_fn=<function scale_by_cycle .*> cannot be serialized"):
        spec.to_dict()


# -- issue 10: values finite and within the boundaries, or a clear refusal --------------------------------


@pytest.mark.parametrize("gamma", [1.0 + 2**-52, 1.01, 2.0, 10**400])
def test_gamma_above_one_is_refused(gamma):
    # gamma > 1 grew the amplitude: the lr passed max_lr at step 3 and overflowed to inf past step ~1750.
    with pytest.raises(ValueError, match=r"gamma must be (in \(0, 1\]|finite), got"):
        CyclicLR(mode="exp_range", gamma=gamma, step_size_up=2)


@given(
    gamma=st.floats(2**-30, 1.0, exclude_min=False),
    step=st.integers(0, 2**63 - 1),
    waveform=st.sampled_from(WAVEFORMS),
)
def test_exp_range_stays_within_its_boundaries_at_any_step(gamma, step, waveform):
    spec = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=gamma, waveform=waveform)
    for steps in (step, np.array([step])):
        lr, momentum = spec(steps)
        assert np.all((0.001 <= lr) & (lr <= 0.01)) and np.all((0.8 <= momentum) & (momentum <= 0.9))


def _returning(value):
    def scale_fn(x):
        return value

    return scale_fn


BAD_SCALES = [math.inf, -math.inf, math.nan, -0.5, 1.5, True, "half", None, 10**400, np.float64(2.0)]


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
@pytest.mark.parametrize("value", BAD_SCALES, ids=repr)
def test_a_scale_fn_outside_0_1_raises_naming_scale_fn_on_every_python_path(value, scale_mode):
    spec = CyclicLR(step_size_up=2, scale_fn=_returning(value), scale_mode=scale_mode)
    pattern = r"scale_fn\(\d+\) returned .* \((cycle \d+, steps \d+ to \d+|step \d+)\); a custom scale_fn must return a finite number in \[0, 1\]"
    for evaluate in (
        lambda: spec.lr_at(3),
        lambda: spec.momentum_at(3),
        lambda: spec(3),
        lambda: spec.lr_at(np.arange(4)),
        lambda: spec.precompute(4),
        lambda: spec.precompute(40),  # the cycle-table path
    ):
        with pytest.raises(ValueError, match=pattern):
            evaluate()


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0, np.float32(0.25), Fraction(1, 3)], ids=repr)
def test_a_scale_fn_inside_0_1_is_used_as_a_float(value):
    spec = CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=2, scale_fn=_returning(value))
    assert spec.lr_at(2) == float(value) and type(spec.lr_at(2)) is float
    np.testing.assert_array_equal(spec.precompute(8)[0], spec.lr_at(np.arange(8)))


def test_a_jitted_scale_fn_returning_inf_is_refused_by_numba_precompute():
    import numba

    @numba.njit
    def blows_up(cycle):
        return math.inf if cycle > 1 else 1.0

    spec = CyclicLR(step_size_up=2, scale_fn=blows_up)
    with pytest.raises(ValueError, match=r"scale_fn\(2\) returned inf \(cycle 2, steps 4 to 7\)"):
        spec.precompute(8, backend="numba")


def test_a_period_of_2_to_the_63_is_refused():
    # It wrapped in int64: the numba path returned a negative lr at step 5.
    with pytest.raises(ValueError, match=r"step_size_up \+ step_size_down \(the period\) must be < 2\*\*63"):
        CyclicLR(step_size_up=2**62)
    with pytest.raises(ValueError, match=r"step_size_up must be a positive integer"):
        CyclicLR(step_size_up=0)


@pytest.mark.parametrize("start", [0, 2**62, 2**63 - 16])
def test_the_largest_period_is_exact_on_every_path(start):
    spec = CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=2**62 - 1, step_size_down=2**62)
    steps = np.arange(16, dtype=np.int64) + start
    expected = np.array([spec.lr_at(int(step)) for step in steps])
    top = 0.01 + np.spacing(0.01)  # base_lr + (max_lr - base_lr) may round an ulp past max_lr
    assert np.all((0.001 <= expected) & (expected <= top))
    np.testing.assert_array_equal(spec.lr_at(steps), expected)
    for backend in ("numpy", "numba"):
        np.testing.assert_array_equal(spec.precompute(16, start=start, backend=backend)[0], expected)


@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
def test_the_cycle_table_near_the_end_of_int64(mode):
    # The last cycle's peak, where the table reads the scale, lies past 2**63 - 1.
    spec = CyclicLR(step_size_up=3, step_size_down=5, mode=mode)
    start = 2**63 - 40
    expected = np.array([spec.lr_at(start + i) for i in range(40)])
    for backend in ("numpy", "numba"):
        np.testing.assert_array_equal(spec.precompute(40, start=start, backend=backend)[0], expected)


def test_numpy_scalars_are_stored_as_python_types():
    spec = CyclicLR(
        base_lr=np.float32(0.001),
        step_size_up=np.int64(10),
        mode=np.str_("triangular2"),
        gamma=np.float64(1.0),
        cycle_momentum=np.True_,
        waveform=np.str_("cosine"),
        base_momentum=np.array(0.8),
    )
    for name, value in spec.to_dict().items():
        assert type(value) in (str, int, float, bool, type(None)), (name, type(value))
    assert json.loads(json.dumps(spec.to_dict())) == spec.to_dict()
    assert cyclr.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    custom = CyclicLR(scale_fn=scale_by_cycle, scale_mode=np.str_("iterations"), cycle_momentum=np.False_)
    assert type(custom.scale_mode) is str and type(custom.cycle_momentum) is bool


@pytest.mark.parametrize("name", ["base_lr", "max_lr", "base_momentum", "max_momentum", "gamma"])
@pytest.mark.parametrize("value", [10**400, -(10**400), Fraction(10**400, 3)], ids=["int", "-int", "Fraction"])
def test_reals_beyond_a_float_are_a_value_error_naming_the_parameter(name, value):
    # They raised a bare OverflowError.
    with pytest.raises(ValueError, match=rf"{name} must be finite, got .* \(beyond the largest float"):
        CyclicLR(**{name: value})
    if name != "gamma":  # one per parameter group
        with pytest.raises(ValueError, match=rf"{name}\[1\] must be finite"):
            CyclicLR(**{name: [0.5, value]})


def test_a_decimal_is_not_a_real_number():
    from decimal import Decimal

    with pytest.raises(TypeError, match=r"base_lr must be a real number, got Decimal\('0.1'\)"):
        CyclicLR(base_lr=Decimal("0.1"))
    with pytest.raises(TypeError, match=r"gamma must be a real number, got Decimal\('1E\+400'\)"):
        CyclicLR(gamma=Decimal("1e400"))


def test_a_spec_is_not_a_scale_fn():
    with pytest.raises(TypeError, match="scale_fn must be a function x -> scale in \\[0, 1\\], got a CyclicLR spec"):
        CyclicLR(scale_fn=CyclicLR())
