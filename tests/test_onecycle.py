"""OneCycleLR: torch as the oracle, optax where the semantics coincide, the schedule's laws, errors."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction

import jax
import numpy as np
import optax
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close, torch_trajectory, ulps
from strategies import one_cycle_kwargs

import cyclr
from cyclr import OneCycleLR


def torch_one_cycle(kwargs: dict, groups: int = 1, optimizer: str = "sgd"):
    make = lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, **kwargs)  # noqa: E731
    return torch_trajectory(make, kwargs["total_steps"], groups=groups, optimizer=optimizer)


@given(one_cycle_kwargs())
def test_matches_torch(kwargs):
    lr, momentum = torch_one_cycle(kwargs)
    spec = OneCycleLR(**kwargs)
    steps = np.arange(spec.total_steps)
    assert_close(spec.lr_at(steps), lr[:, 0])
    assert_close([spec.lr_at(int(k)) for k in steps], lr[:, 0])
    if kwargs["cycle_momentum"]:
        assert_close(spec.momentum_at(steps), momentum[:, 0])


@given(one_cycle_kwargs(groups=2), st.sampled_from(["sgd", "adam"]))
def test_matches_torch_per_group_sgd_and_adam(kwargs, optimizer):
    lr, momentum = torch_one_cycle(kwargs, groups=2, optimizer=optimizer)
    spec = OneCycleLR(**kwargs)
    assert_close(spec.lr_at(np.arange(spec.total_steps)), lr)
    if kwargs["cycle_momentum"]:
        assert_close(spec.momentum_at(np.arange(spec.total_steps)), momentum)


def test_epochs_and_steps_per_epoch_like_torch():
    kwargs = {"max_lr": 0.2, "epochs": 4, "steps_per_epoch": 25}
    lr, _ = torch_trajectory(lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, **kwargs), 100)
    spec = OneCycleLR(**kwargs)
    assert spec.total_steps == 100
    assert spec == OneCycleLR(max_lr=0.2, total_steps=100)
    assert_close(spec.lr_at(np.arange(100)), lr[:, 0])


def test_steps_past_the_end_hold_the_final_value():
    for kwargs in ({"anneal_strategy": "cos"}, {"anneal_strategy": "linear", "three_phase": True}):
        spec = OneCycleLR(max_lr=0.1, total_steps=100, **kwargs)
        final_lr, final_momentum = spec(99)
        assert final_lr == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)
        for step in (100, 101, 10**6, 2**40):
            assert spec(step) == (final_lr, final_momentum)
        assert np.all(spec.lr_at(np.arange(99, 300)) == final_lr)


def test_endpoints_and_peak():
    spec = OneCycleLR(max_lr=0.1, total_steps=1000, pct_start=0.25)
    assert spec.lr_at(0) == pytest.approx(0.1 / 25, rel=1e-15)
    assert spec.lr_at(249) == 0.1
    assert spec.momentum_at(0) == 0.95
    assert spec.momentum_at(249) == 0.85
    assert spec.lr_at(999) == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)
    three = OneCycleLR(max_lr=0.1, total_steps=1000, pct_start=0.25, three_phase=True)
    assert three.lr_at(249) == 0.1
    assert three.lr_at(498) == pytest.approx(0.1 / 25, rel=1e-14)


@given(one_cycle_kwargs())
def test_bounds_and_monotone_phases(kwargs):
    spec = OneCycleLR(**kwargs)
    lr = spec.lr_at(np.arange(spec.total_steps))
    top = spec.max_lr
    low = top / spec.div_factor / spec.final_div_factor
    slack = np.spacing(top)
    assert np.all((low - slack <= lr) & (lr <= top + slack))
    for phase in spec.phases:
        steps = np.arange(max(0, int(np.ceil(phase.start_step))), int(np.floor(phase.end_step)) + 1)
        steps = steps[(steps > phase.start_step) | (steps == 0)]
        values = spec.lr_at(steps[steps < spec.total_steps])
        rising = {("initial", "max"): 1, ("max", "min"): -1, ("max", "initial"): -1, ("initial", "min"): -1}
        direction = rising[phase.lr]
        if direction == -1 and phase.lr == ("initial", "min") and spec.final_div_factor < 1:
            continue
        assert np.all(np.diff(values) * direction >= -slack)


def test_momentum_moves_opposite_to_lr():
    spec = OneCycleLR(max_lr=0.1, total_steps=200, three_phase=False)
    lr, momentum = spec(np.arange(200))
    assert np.all(np.sign(np.diff(lr)) == -np.sign(np.diff(momentum)))


def test_optax_cosine_onecycle_is_ours_one_step_longer():
    """optax peaks at int(pct * T) and ends at T; torch's (and ours) at pct * total - 1 and total - 1."""
    transition_steps, pct_start = 99, 0.3
    peak = int(pct_start * transition_steps)  # 29
    spec = OneCycleLR(max_lr=0.1, total_steps=transition_steps + 1, pct_start=(peak + 1) / (transition_steps + 1))
    with jax.enable_x64(True):
        theirs = optax.cosine_onecycle_schedule(transition_steps, 0.1, pct_start=pct_start)
        expected = np.array([float(theirs(step)) for step in range(transition_steps + 1)])
    assert_close(spec.lr_at(np.arange(transition_steps + 1)), expected, rtol=1e-13)


def test_optax_linear_onecycle_is_our_three_phase_linear():
    transition_steps, pct_start, pct_final = 99, 0.3, 0.59  # int(0.59 * 99) == 2 * int(0.3 * 99)
    peak = int(pct_start * transition_steps)
    spec = OneCycleLR(
        max_lr=0.1,
        total_steps=transition_steps + 1,
        pct_start=(peak + 1) / (transition_steps + 1),
        anneal_strategy="linear",
        three_phase=True,  # optax's docstring says it ends at peak / final_div_factor; it ends at
    )  # (peak / div_factor) / final_div_factor, as torch does
    with jax.enable_x64(True):
        theirs = optax.linear_onecycle_schedule(transition_steps, 0.1, pct_start=pct_start, pct_final=pct_final)
        expected = np.array([float(theirs(step)) for step in range(transition_steps + 1)])
    assert_close(spec.lr_at(np.arange(transition_steps + 1)), expected, rtol=1e-13)


def test_contract_paths_agree():
    spec = OneCycleLR(max_lr=[0.1, 0.3], total_steps=333, three_phase=True)
    steps = np.arange(400)
    assert np.array_equal(spec.precompute(400)[0], spec.lr_at(steps))
    assert ulps(spec.precompute(400, backend="numba")[0], spec.lr_at(steps)) <= 1
    lr, momentum = cyclr.numba.compile(spec)(100)
    assert ulps(lr, spec.lr_at(100)) <= 1 and ulps(momentum, spec.momentum_at(100)) <= 1
    assert cyclr.from_dict(spec.to_dict()) == spec


# -- errors --------------------------------------------------------------------------------------------


def test_zero_width_rising_phase():
    with pytest.raises(ValueError, match=r"pct_start \* total_steps must not be 1 \(pct_start=0.1, total_steps=10\)"):
        OneCycleLR(max_lr=0.1, total_steps=10, pct_start=0.1)


def test_total_steps_or_epochs_required():
    with pytest.raises(ValueError, match=r"give total_steps, or epochs and steps_per_epoch"):
        OneCycleLR(max_lr=0.1)


def test_epochs_without_steps_per_epoch():
    with pytest.raises(ValueError, match=r"epochs and steps_per_epoch go together, got epochs=3, steps_per_epoch=None"):
        OneCycleLR(max_lr=0.1, epochs=3)


def test_total_steps_disagreeing_with_epochs():
    with pytest.raises(ValueError, match=r"total_steps=99 disagrees with epochs \* steps_per_epoch = 4 \* 25"):
        OneCycleLR(max_lr=0.1, total_steps=99, epochs=4, steps_per_epoch=25)


@pytest.mark.parametrize(("name", "value", "error", "message"), [
    ("total_steps", 0, ValueError, r"total_steps must be a positive integer, got 0"),
    ("total_steps", 100.0, TypeError, r"total_steps must be an integer, got 100.0"),
    ("pct_start", 1.5, ValueError, r"pct_start must be <= 1.0, got 1.5"),
    ("pct_start", -0.1, ValueError, r"pct_start must be >= 0.0, got -0.1"),
    ("anneal_strategy", "cosine", ValueError, r"anneal_strategy must be one of \['cos', 'linear'\], got 'cosine'; did you mean 'cos'\?"),
    ("div_factor", 0.0, ValueError, r"div_factor must be > 0.0, got 0.0"),
    ("final_div_factor", -1.0, ValueError, r"final_div_factor must be > 0.0, got -1.0"),
    ("max_lr", float("nan"), ValueError, r"max_lr must be finite, got nan"),
    ("base_momentum", -0.5, ValueError, r"base_momentum must be >= 0.0, got -0.5"),
    ("three_phase", 1, TypeError, r"three_phase must be True or False, got 1"),
    ("cycle_momentum", "yes", TypeError, r"cycle_momentum must be True or False, got 'yes'"),
])
def test_bad_parameters(name, value, error, message):
    kwargs = {"max_lr": 0.1, "total_steps": 100, name: value}
    with pytest.raises(error, match=message):
        OneCycleLR(**kwargs)


def test_bad_epochs():
    with pytest.raises(ValueError, match=r"epochs must be a positive integer, got 0"):
        OneCycleLR(max_lr=0.1, epochs=0, steps_per_epoch=10)
    with pytest.raises(TypeError, match=r"steps_per_epoch must be an integer, got 2.5"):
        OneCycleLR(max_lr=0.1, epochs=3, steps_per_epoch=2.5)


def test_group_lengths_must_agree():
    with pytest.raises(ValueError, match=r"same length: max_lr has 2, base_momentum has 3"):
        OneCycleLR(max_lr=[0.1, 0.2], total_steps=10, base_momentum=[0.8, 0.8, 0.8])


# -- issue 10: derived values finite, counts integers, limits stated ---------------------------------------


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(div_factor=5e-324), r"max_lr / div_factor \(the initial lr\) must be finite, got max_lr=0.1 / div_factor=5e-324 = inf"),
        (dict(max_lr=1e308, div_factor=0.1), r"max_lr / div_factor \(the initial lr\) must be finite"),
        (dict(max_lr=[0.1, 1e308], div_factor=0.5), r"max_lr\[1\] / div_factor \(the initial lr\) must be finite"),
        (dict(final_div_factor=5e-324), r"max_lr / div_factor / final_div_factor \(the final lr\) must be finite, got 0.004 / final_div_factor=5e-324 = inf"),
        (dict(div_factor=10**400), r"div_factor must be finite, got an integer of 401 digits"),
        (dict(pct_start=Fraction(10**400, 3)), r"pct_start must be finite"),
        (dict(max_lr=-(10**400)), r"max_lr must be finite"),
    ],
)
def test_derived_lrs_must_be_finite(kwargs, pattern):
    # div_factor=5e-324 gave lr=inf, final_div_factor=5e-324 nan at the end.
    with pytest.raises(ValueError, match=pattern):
        OneCycleLR(**{"max_lr": 0.1, "total_steps": 100, **kwargs})


@pytest.mark.parametrize("div_factor, final_div_factor", [(1e-300, 1.0), (5e-324, 1e300), (1e300, 1e300), (0.01, 5e-324)])
def test_extreme_but_finite_factors_give_finite_values_on_every_path(div_factor, final_div_factor):
    try:
        spec = OneCycleLR(max_lr=1e-10, total_steps=50, div_factor=div_factor, final_div_factor=final_div_factor)
    except ValueError as error:
        assert "must be finite" in str(error)
        return
    lr = spec.lr_at(np.arange(60))
    assert np.all(np.isfinite(lr)) and np.all(lr >= 0)
    for backend in ("numpy", "numba"):
        np.testing.assert_array_equal(spec.precompute(60, backend=backend)[0], lr)


@pytest.mark.parametrize("name, value", [("total_steps", True), ("total_steps", 100.0), ("epochs", True), ("steps_per_epoch", 10.0), ("epochs", np.float64(10))])
def test_a_bool_or_float_count_is_a_type_error_even_when_the_numbers_agree(name, value):
    kwargs = {"max_lr": 0.1, "total_steps": 100, "epochs": 10, "steps_per_epoch": 10, name: value}
    if name == "total_steps" and value is True:
        kwargs.update(epochs=1, steps_per_epoch=1)
    with pytest.raises(TypeError, match=rf"{name} must be an integer, got {re.escape(repr(value))}"):
        OneCycleLR(**kwargs)


def test_total_steps_is_at_most_2_to_the_53():
    with pytest.raises(ValueError, match=r"total_steps must be <= 2\*\*53 \(the phase ends are float64\)"):
        OneCycleLR(max_lr=0.1, total_steps=2**53 + 1)
    with pytest.raises(ValueError, match=r"total_steps must be <= 2\*\*53 .* got an integer of 401 digits"):
        OneCycleLR(max_lr=0.1, total_steps=10**400)
    with pytest.raises(ValueError, match=r"epochs \* steps_per_epoch \(total_steps\) must be <= 2\*\*53"):
        OneCycleLR(max_lr=0.1, epochs=2**30, steps_per_epoch=2**30)


@pytest.mark.parametrize("three_phase", [False, True])
def test_the_longest_cycle_is_exact_on_every_path(three_phase):
    spec = OneCycleLR(max_lr=0.1, total_steps=2**53, three_phase=three_phase)
    steps = sorted({0, 1, 2**51, 2**52 - 2, 2**52 - 1, 2**52, 2**53 - 2, 2**53 - 1, 2**53, 2**63 - 1})
    phase_ends = [math.floor(phase.end_step) + k for phase in spec.phases for k in (0, 1)]
    steps = sorted(set(steps) | {step for step in phase_ends if 0 <= step < 2**63})
    expected = [spec(step) for step in steps]
    lr, momentum = spec(np.array(steps))
    np.testing.assert_array_equal(lr, [value for value, _ in expected])
    np.testing.assert_array_equal(momentum, [value for _, value in expected])
    for step in (2**53 - 3, 2**63 - 4):
        for backend in ("numpy", "numba"):
            np.testing.assert_array_equal(spec.precompute(3, start=step, backend=backend)[0], [spec.lr_at(step + i) for i in range(3)])


def test_numpy_scalars_are_stored_as_python_types():
    spec = OneCycleLR(
        max_lr=np.float32(0.5),
        total_steps=np.int32(100),
        anneal_strategy=np.str_("linear"),
        cycle_momentum=np.True_,
        three_phase=np.False_,
        div_factor=np.array(25.0),
    )
    assert type(spec.three_phase) is bool and type(spec.cycle_momentum) is bool and type(spec.anneal_strategy) is str
    for name, value in spec.to_dict().items():
        assert type(value) in (str, int, float, bool, type(None)), (name, type(value))
    assert cyclr.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
