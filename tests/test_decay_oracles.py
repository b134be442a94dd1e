"""optax and Keras as oracles for cyclr.decay: whole runs and random parameters, 1e-12 relative in float64
(optax under ``jax.enable_x64``, Keras on JAX in float64) and 2 float32 ulps for cyclr.jax and cyclr.keras.

Every mapping here is the one docs/migration.md states, argument by argument.
"""

from __future__ import annotations

import os

import jax
import keras
import numpy as np
import optax
import pytest
from adapters.float32_oracle import float32_ulps
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close
from strategies import decay_kwargs

import cyclr
import cyclr.jax
import cyclr.keras
from cyclr import Constant, ExponentialDecay, InverseTimeDecay, PiecewiseConstant, PolynomialDecay

assert os.environ["KERAS_BACKEND"] == "jax"
schedules = keras.optimizers.schedules
STEPS = np.arange(700)


def optax64(schedule_of, steps=STEPS) -> np.ndarray:
    """An optax schedule's float64 values (built and called under x64)."""
    with jax.enable_x64(True):
        return np.asarray(schedule_of()(np.asarray(steps, dtype=np.int64)), dtype=np.float64)


def keras64(schedule_of, steps=STEPS) -> np.ndarray:
    """A Keras schedule's float64 values: float64 rates, float64 steps, under JAX's x64."""
    with jax.enable_x64(True):
        return np.asarray(schedule_of()(np.asarray(steps, dtype=np.int64)), dtype=np.float64)


def f64(x):
    """A Keras rate as float64 (a Python float would be cast to Keras' floatx, float32)."""
    return np.asarray(x, dtype=np.float64)[()]


def assert_polynomial_close(spec: PolynomialDecay, expected: np.ndarray, steps=STEPS) -> None:
    """Within 1e-12 relative, or within what the anchor's own rounding of ``frac = 1 - t / d`` allows.

    XLA rounds ``1 - t / d`` in optax's and Keras' vectorized schedules to 2**-53 of 1 (absolute):
    optax's ``polynomial_schedule(1.0, 0.0, 0.5, 491)`` at the end is 1.05e-8 on an array of counts,
    ``sqrt(2**-53)``, and 0.0 at the scalar count. With ``delta = 2**-52``, the anchor's value is then
    within ``|base - end| * ((frac + delta)**p - max(frac - delta, 0)**p)`` of the exact one.
    """
    frac = (
        (spec.lr_at(np.asarray(steps)) - spec.end_lr) / (spec.base_lr - spec.end_lr)
        if spec.base_lr != spec.end_lr
        else 0
    )
    frac = np.clip(np.asarray(frac, dtype=np.float64), 0.0, 1.0) ** (1 / spec.power)
    delta, p = 2.0**-52, spec.power
    slack = abs(spec.base_lr - spec.end_lr) * ((frac + delta) ** p - np.maximum(frac - delta, 0.0) ** p)
    error = np.abs(spec.lr_at(np.asarray(steps)) - expected)
    assert np.all(error <= 1e-12 * np.abs(expected) + slack + 1e-300), float(np.max(error - slack))


def assert_float32(spec: cyclr.Spec, expected64: np.ndarray, steps=STEPS) -> None:
    """cyclr.jax and cyclr.keras within 2 float32 ulps of the float64 oracle."""
    counts = np.asarray(steps, dtype=np.int32)
    assert float32_ulps(np.asarray(jax.jit(cyclr.jax.lr_schedule(spec))(counts)), expected64) <= 2
    keras_values = keras.ops.convert_to_numpy(cyclr.keras.Schedule(spec)(keras.ops.convert_to_tensor(counts)))
    assert float32_ulps(keras_values, expected64) <= 2


# -- optax ----------------------------------------------------------------------------------------------


@given(kwargs=decay_kwargs("PolynomialDecay"))
def test_optax_polynomial_schedule(kwargs):
    kwargs["cycle"] = False  # optax has no cycle
    spec = PolynomialDecay(**kwargs)
    expected = optax64(
        lambda: optax.polynomial_schedule(
            init_value=kwargs["base_lr"],
            end_value=kwargs["end_lr"],
            power=kwargs["power"],
            transition_steps=kwargs["decay_steps"],
            transition_begin=kwargs["begin"],
        )
    )
    assert_polynomial_close(spec, expected)


def test_optax_linear_schedule_whole_run_and_float32():
    spec = PolynomialDecay(0.1, decay_steps=500, end_lr=1e-4, begin=50)
    expected = optax64(lambda: optax.linear_schedule(0.1, 1e-4, transition_steps=500, transition_begin=50))
    assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)
    assert_float32(spec, expected)
    rising = PolynomialDecay(0.0, decay_steps=100, end_lr=0.1)  # linear_schedule also rises
    assert_close(rising.lr_at(STEPS), optax64(lambda: optax.linear_schedule(0.0, 0.1, 100)), rtol=1e-12)


@given(kwargs=decay_kwargs("ExponentialDecay"))
def test_optax_exponential_decay(kwargs):
    spec = ExponentialDecay(**kwargs)
    expected = optax64(
        lambda: optax.exponential_decay(
            init_value=kwargs["base_lr"],
            transition_steps=kwargs["decay_steps"],
            decay_rate=kwargs["decay_rate"],
            transition_begin=kwargs["begin"],
            staircase=kwargs["staircase"],
            end_value=kwargs["end_lr"],
        )
    )
    assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)


def test_optax_exponential_decay_whole_runs_in_float32():
    cases = [
        (dict(decay_rate=0.96, decay_steps=1000), {}),
        (dict(decay_rate=0.5, decay_steps=30, staircase=True, begin=100, end_lr=1e-3), {}),
        (dict(decay_rate=1.01, decay_steps=3, end_lr=0.5), {}),
    ]
    steps = np.concatenate([STEPS, [10**5, 2**24 + 1, 2**30, 2**31 - 1]])
    for kwargs, _ in cases:
        spec = ExponentialDecay(0.1, **kwargs)
        expected = optax64(
            lambda kwargs=kwargs: optax.exponential_decay(
                0.1,
                kwargs["decay_steps"],
                kwargs["decay_rate"],
                transition_begin=kwargs.get("begin", 0),
                staircase=kwargs.get("staircase", False),
                end_value=kwargs.get("end_lr"),
            ),
            steps,
        )
        assert_close(spec.lr_at(steps), expected, rtol=1e-12)
        assert_float32(spec, expected, steps)


@given(kwargs=decay_kwargs("PiecewiseConstant"), init=st.floats(1e-4, 1.0))
def test_optax_piecewise_constant_schedule(kwargs, init):
    boundaries, scales = kwargs["boundaries"], kwargs["factors"][1:]
    values = [init]  # optax multiplies its value by each scale in turn: base_lr=1.0, those running products
    for scale in scales:
        values.append(scale * values[-1])
    spec = PiecewiseConstant(1.0, boundaries, values, inclusive=False)
    expected = optax64(
        lambda: optax.piecewise_constant_schedule(init, dict(zip(boundaries, scales, strict=True)))
    )
    np.testing.assert_array_equal(spec.lr_at(STEPS), expected)  # bit for bit


def test_optax_constant_and_warmup_constant_schedules():
    expected = np.broadcast_to(optax64(lambda: optax.constant_schedule(0.03)), STEPS.shape)
    assert np.array_equal(Constant(0.03).lr_at(STEPS), expected)
    # warmup_constant_schedule is linear_schedule(init, peak, warmup_steps): the peak at warmup_steps,
    # as cyclr.warmup's first step of the spec: no off-by-one (the ramps round differently: an ulp).
    for init, peak, warmup_steps in [(0.0, 0.1, 10), (1e-4, 0.03, 333), (0.05, 0.01, 7)]:
        spec = cyclr.warmup(Constant(peak), warmup_steps, init)
        expected = optax64(lambda i=init, p=peak, w=warmup_steps: optax.warmup_constant_schedule(i, p, w))
        assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)
        assert spec.lr_at(warmup_steps) == expected[warmup_steps] == peak
        assert spec.lr_at(warmup_steps - 1) == pytest.approx(expected[warmup_steps - 1], rel=1e-15)
        assert_float32(spec, expected)


# -- Keras ----------------------------------------------------------------------------------------------


@given(kwargs=decay_kwargs("PolynomialDecay"))
def test_keras_polynomial_decay(kwargs):
    kwargs["begin"] = 0  # Keras has no begin
    spec = PolynomialDecay(**kwargs)
    expected = keras64(
        lambda: schedules.PolynomialDecay(
            f64(kwargs["base_lr"]),
            kwargs["decay_steps"],
            end_learning_rate=kwargs["end_lr"],
            power=kwargs["power"],
            cycle=kwargs["cycle"],
        )
    )
    assert_polynomial_close(spec, expected)


def test_keras_polynomial_decay_with_cycle_whole_run_and_float32():
    spec = PolynomialDecay(0.1, 60, end_lr=1e-3, power=2.0, cycle=True)
    expected = keras64(lambda: schedules.PolynomialDecay(f64(0.1), 60, 1e-3, power=2.0, cycle=True))
    assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)
    assert_float32(spec, expected)


@given(kwargs=decay_kwargs("ExponentialDecay"))
def test_keras_exponential_decay(kwargs):
    kwargs.update(begin=0, end_lr=None)  # Keras has neither
    if kwargs["decay_rate"] > 1:
        kwargs["decay_rate"] = 1 / kwargs["decay_rate"]  # and without a cap cyclr refuses growth
    spec = ExponentialDecay(**kwargs)
    expected = keras64(
        lambda: schedules.ExponentialDecay(
            f64(kwargs["base_lr"]), kwargs["decay_steps"], kwargs["decay_rate"], staircase=kwargs["staircase"]
        )
    )
    assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)


@given(kwargs=decay_kwargs("InverseTimeDecay"))
def test_keras_inverse_time_decay(kwargs):
    spec = InverseTimeDecay(**kwargs)
    expected = keras64(
        lambda: schedules.InverseTimeDecay(
            f64(kwargs["base_lr"]), kwargs["decay_steps"], kwargs["decay_rate"], staircase=kwargs["staircase"]
        )
    )
    assert_close(spec.lr_at(STEPS), expected, rtol=1e-12)


def test_keras_inverse_time_decay_whole_run_and_float32():
    steps = np.concatenate([STEPS, [10**5, 2**24 + 1, 2**30, 2**31 - 1]])
    for staircase in (False, True):
        spec = InverseTimeDecay(0.1, 0.5, 10, staircase=staircase)
        expected = keras64(
            lambda s=staircase: schedules.InverseTimeDecay(f64(0.1), 10, 0.5, staircase=s), steps
        )
        assert_close(spec.lr_at(steps), expected, rtol=1e-12)
        assert_float32(spec, expected, steps)


@given(kwargs=decay_kwargs("PiecewiseConstant"))
def test_keras_piecewise_constant_decay(kwargs):
    boundaries, values = kwargs["boundaries"], kwargs["factors"]
    if not boundaries:
        boundaries, values = [5], values + [0.5]  # Keras needs a boundary
    spec = PiecewiseConstant(1.0, boundaries, values, inclusive=True)
    expected = keras64(lambda: schedules.PiecewiseConstantDecay(boundaries, [f64(v) for v in values]))
    np.testing.assert_array_equal(spec.lr_at(STEPS), expected)  # bit for bit


def test_the_two_boundary_conventions_differ_by_one_step():
    optax_like = PiecewiseConstant(0.1, [10], [1.0, 0.5])
    keras_like = PiecewiseConstant(0.1, [10], [1.0, 0.5], inclusive=True)
    assert (optax_like.lr_at(9), optax_like.lr_at(10)) == (0.1, 0.05)
    assert (keras_like.lr_at(10), keras_like.lr_at(11)) == (0.1, 0.05)
    keras_values = keras64(lambda: schedules.PiecewiseConstantDecay([10], [f64(0.1), f64(0.05)]))
    optax_values = optax64(lambda: optax.piecewise_constant_schedule(0.1, {10: 0.5}))
    assert keras_values[10] == 0.1 and optax_values[10] == 0.05
    assert_float32(keras_like, keras_values)
    assert_float32(optax_like, optax_values)


# -- optax's own float32 (what cyclr.jax's double-float32 is for) ---------------------------------------


def test_optax_float32_exponential_decay_drifts_where_cyclr_jax_does_not():
    """optax computes ``decay_rate ** (count / transition_steps)`` in float32: its error grows with the
    exponent; cyclr.jax stays within 2 ulps of the float64 value at every int32 count."""
    counts = np.array([10**5, 10**6, 2**24 + 1, 2**27], dtype=np.int32)
    spec = ExponentialDecay(1.0, 0.99999, 1)
    exact = spec.lr_at(counts.astype(np.int64))
    theirs = np.asarray(optax.exponential_decay(1.0, 1, 0.99999)(counts))
    ours = np.asarray(cyclr.jax.lr_schedule(spec)(counts))
    assert float32_ulps(ours, exact) <= 2
    assert float32_ulps(theirs, exact) > 100  # optax's float32 power
