"""CosineDecay and CosineDecayRestarts: the laws, every anchor's variant (optax, Keras, transformers) as an
oracle in float64, exact restarts, and one test per documented error.

Tolerances: every anchor computes ``base_lr * factor`` with a factor in [0, 1] whose float64 error is a
few ulps of 1 (``1 + cos(x)`` cancels near the end of a decay, so not of the value): the comparison is
``oracle.assert_close`` at 1e-12 relative to the value or to the run's largest value (``base_lr``).
"""

from __future__ import annotations

import math
import types
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close

import cyclr
from cyclr import CosineDecay, CosineDecayRestarts
from cyclr.cosine_decay import MAX_FRACTIONAL_RESTARTS, fractional_restart_starts

STEPS = np.arange(0, 700)


# -- laws --------------------------------------------------------------------------------------------------


@given(
    st.floats(1e-6, 10.0),
    st.integers(1, 10_000),
    st.floats(0.0, 1.0),
    st.floats(0.1, 5.0),
)
def test_a_half_cosine_falls_from_base_lr_to_the_floor_and_holds(base_lr, decay_steps, alpha, exponent):
    spec = CosineDecay(base_lr, decay_steps, alpha=alpha, exponent=exponent)
    steps = np.unique(np.linspace(0, decay_steps, 200).astype(np.int64))
    values = spec.lr_at(steps)
    assert values[0] == pytest.approx(base_lr, rel=1e-15)
    assert np.all(np.diff(values) <= 1e-15 * base_lr)
    floor = alpha * base_lr
    assert np.all(values >= floor * (1 - 1e-15))
    assert spec.lr_at(decay_steps) == pytest.approx(floor, rel=1e-15, abs=1e-300)
    assert spec.lr_at(decay_steps + 12345) == spec.lr_at(decay_steps) == spec.lr_at(2**70)


@given(st.integers(1, 1000), st.sampled_from([0.5, 1.0, 1.5, 3.0]), st.integers(0, 2**40))
def test_continuing_an_integral_wave_is_exact_at_any_step(decay_steps, num_cycles, step):
    """The wave has period 2 * decay_steps when 2 * num_cycles is an integer: reduced with integers."""
    spec = CosineDecay(1.0, decay_steps, num_cycles=num_cycles, after="continue")
    assert spec.lr_at(step) == spec.lr_at(step % (2 * decay_steps))
    assert spec.lr_at(step + 2 * decay_steps * 10**30) == spec.lr_at(step % (2 * decay_steps))


def test_half_a_cosine_continuing_is_cosine_annealing():
    ours = CosineDecay(0.1, 33, alpha=0.01, after="continue")
    torch_form = cyclr.CosineAnnealingLR(0.1, T_max=33, eta_min=0.1 * 0.01)
    assert_close(ours.lr_at(STEPS), torch_form.lr_at(STEPS))


@given(st.integers(1, 500), st.integers(1, 9), st.integers(0, 10**6))
def test_hard_restarts_restart_at_whole_cycles_exactly(decay_steps, cycles, step):
    spec = CosineDecay(1.0, decay_steps * cycles, num_cycles=cycles, hard_restarts=True, after="continue")
    assert spec.lr_at(step) == spec.lr_at(step % decay_steps)
    assert spec.lr_at(decay_steps * (step % cycles)) == 1.0


def test_zero_after_the_end():
    spec = CosineDecay(0.1, 30, num_cycles=3, hard_restarts=True, after="zero")
    assert spec.lr_at(29) > 0 and spec.lr_at(30) == 0.0 and spec.lr_at(10**30) == 0.0
    grouped = CosineDecay([0.1, 0.2], 30, after="zero")
    assert grouped.lr_at(30).tolist() == [0.0, 0.0]


def test_offset_shifts_the_decay():
    plain, shifted = CosineDecay(0.1, 40, after="continue"), CosineDecay(0.1, 40, after="continue", offset=1)
    np.testing.assert_array_equal(shifted.lr_at(STEPS[:-1]), plain.lr_at(STEPS[1:]))
    held = CosineDecay(0.1, 40, alpha=0.3, offset=2)
    assert held.lr_at(38) == held.lr_at(10**9) == CosineDecay(0.1, 40, alpha=0.3).lr_at(40)


# -- optax, with jax_enable_x64 (float64) -------------------------------------------------------------------


def optax_values(schedule, steps) -> np.ndarray:
    import jax

    with jax.enable_x64(True):
        return np.asarray(jax.vmap(schedule)(np.asarray(steps, dtype=np.int64)), dtype=np.float64)


@given(st.floats(1e-5, 5.0), st.integers(1, 600), st.floats(0.0, 1.0), st.floats(0.2, 4.0))
def test_optax_cosine_decay_schedule(init_value, decay_steps, alpha, exponent):
    optax = pytest.importorskip("optax")
    theirs = optax_values(optax.cosine_decay_schedule(init_value, decay_steps, alpha, exponent), STEPS)
    ours = CosineDecay(init_value, decay_steps, alpha=alpha, exponent=exponent).lr_at(STEPS)
    assert_close(ours, theirs)


@given(
    st.floats(0.0, 0.1), st.floats(1e-4, 5.0), st.integers(1, 200), st.integers(1, 400),
    st.floats(0.0, 1.0), st.sampled_from([1.0, 0.5, 2.0]),
)  # fmt: skip
def test_optax_warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay, end_ratio, exponent):
    """optax's decay_steps includes the warmup; end_value is alpha * peak_value (optax's own alpha)."""
    optax = pytest.importorskip("optax")
    end_value = end_ratio * peak_value
    decay_steps = warmup_steps + decay
    theirs = optax_values(
        optax.warmup_cosine_decay_schedule(
            init_value, peak_value, warmup_steps, decay_steps, end_value, exponent
        ),
        STEPS,
    )
    alpha = end_value / peak_value
    spec = cyclr.warmup(
        CosineDecay(peak_value, decay, alpha=alpha, exponent=exponent), warmup_steps, init_value
    )
    assert_close(spec.lr_at(STEPS), theirs)


# -- Keras, in float64 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_float64():
    """Keras' schedules computed in float64: floatx float64 under JAX with x64. keras.ops.cos rounds a
    float64 argument through float32 (its dtype promotion of ``(float64, float)``), so the schedules'
    module gets ``jnp.cos`` instead: the formulas are Keras' own, the arithmetic all float64."""
    import os

    if os.environ.get("KERAS_BACKEND", "jax") != "jax":
        pytest.skip("the float64 Keras oracle runs on the JAX backend")
    jax = pytest.importorskip("jax")
    keras = pytest.importorskip("keras")
    from keras.src.optimizers.schedules import learning_rate_schedule as module

    floatx = keras.config.floatx()
    original = module.ops
    module.ops = types.SimpleNamespace(
        **{n: getattr(original, n) for n in dir(original) if not n.startswith("__")}
    )
    module.ops.cos = jax.numpy.cos
    keras.config.set_floatx("float64")
    try:
        with jax.enable_x64(True):
            yield keras, jax
    finally:
        module.ops = original
        keras.config.set_floatx(floatx)


def keras_values(jax, schedule, steps) -> np.ndarray:
    call = jax.jit(schedule)
    return np.array([float(call(jax.numpy.asarray(int(step), dtype=jax.numpy.int64))) for step in steps])


@pytest.mark.parametrize(
    "alpha, warmup_steps, warmup_target", [(0.0, 0, None), (0.2, 0, None), (0.1, 25, 2.0), (0.0, 7, 0.3)]
)
def test_keras_cosine_decay(keras_float64, alpha, warmup_steps, warmup_target):
    keras, jax = keras_float64
    steps = np.concatenate([np.arange(0, 160), [500]])
    theirs = keras_values(
        jax,
        keras.optimizers.schedules.CosineDecay(
            np.float64(0.5), 110, alpha=alpha, warmup_target=warmup_target, warmup_steps=warmup_steps
        ),
        steps,
    )
    spec = CosineDecay(warmup_target or 0.5, 110, alpha=alpha)
    if warmup_steps:  # Keras: from initial_learning_rate to warmup_target, then the decay from the target
        spec = cyclr.warmup(spec, warmup_steps, 0.5)
    assert_close(spec.lr_at(steps), theirs)


@pytest.mark.parametrize(
    "first_decay_steps, t_mul, m_mul, alpha",
    [(10, 2.0, 1.0, 0.0), (7, 1.5, 0.9, 0.1), (5, 3.0, 0.5, 0.2), (9, 1.0, 0.8, 0.0), (3, 1.1, 1.0, 0.05), (20, 1.25, 0.7, 0.0)],
)  # fmt: skip
def test_keras_cosine_decay_restarts(keras_float64, first_decay_steps, t_mul, m_mul, alpha):
    keras, jax = keras_float64
    schedule = keras.optimizers.schedules.CosineDecayRestarts(
        np.float64(1.0), first_decay_steps, t_mul=t_mul, m_mul=m_mul, alpha=alpha
    )
    with jax.enable_x64(True):
        theirs = np.asarray(jax.jit(schedule)(np.arange(600, dtype=np.int64)), dtype=np.float64)
    ours = CosineDecayRestarts(1.0, first_decay_steps, t_mul=t_mul, m_mul=m_mul, alpha=alpha).lr_at(
        np.arange(600)
    )
    assert_close(ours, theirs)


def test_integer_t_mul_restarts_are_sgdrs():
    ours = CosineDecayRestarts(0.1, 10, t_mul=3.0, alpha=0.01)
    sgdr = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=3, eta_min=0.001)
    steps = np.concatenate([np.arange(2000), [2**40 + 7, 2**62]])
    assert_close(ours.lr_at(steps), sgdr.lr_at(steps))


def test_integer_t_mul_beyond_the_closed_form_takes_the_exact_table():
    """t_mul > first_decay_steps (or first_decay_steps * t_mul >= 2**31): the table, still exact."""
    for first, t_mul in ((1, 2.0), (3, 7.0), (2**30, 2.0)):
        spec = CosineDecayRestarts(1.0, first, t_mul=t_mul)
        sgdr = cyclr.CosineAnnealingWarmRestarts(1.0, T_0=first, T_mult=int(t_mul))
        steps = np.concatenate([np.arange(3000), sgdr.restart_steps(20)[5:], [2**40 + 1]])
        assert_close(spec.lr_at(steps), [sgdr.lr_at(int(step)) for step in steps])
        for start in sgdr.restart_steps(25):
            assert spec.lr_at(start) == 1.0


@given(st.integers(1, 50), st.floats(1.03, 4.0).filter(lambda t: not t.is_integer()))
def test_fractional_restarts_begin_at_the_exact_integer_steps(first_decay_steps, t_mul):
    starts = fractional_restart_starts(first_decay_steps, t_mul)
    growth = Fraction(t_mul)
    for i, start in enumerate(starts[:30], 1):
        exact = first_decay_steps * (growth**i - 1) / (growth - 1)
        assert start - 1 < exact <= start
    spec = CosineDecayRestarts(1.0, first_decay_steps, t_mul=t_mul)
    for i, start in enumerate(starts[:30], 1):
        # restart i has begun: less than one step of its first_decay_steps * t_mul**i is done
        done = min(1.0, 1.0 / (first_decay_steps * t_mul**i))
        assert spec.lr_at(start) >= 0.5 * (1 + math.cos(math.pi * done)) - 1e-12


def test_fractional_restarts_beyond_int64_on_the_python_path():
    spec = CosineDecayRestarts(1.0, 7, t_mul=1.5, m_mul=0.9)
    last = fractional_restart_starts(7, 1.5)[-1]
    assert spec.lr_at(last) == pytest.approx(0.9 ** len(fractional_restart_starts(7, 1.5)), rel=1e-12)
    beyond = spec.lr_at(2**64)
    assert math.isfinite(beyond) and 0.0 <= beyond <= 1.0


def test_a_float_position_refuses_python_ints_past_every_float():
    spec = CosineDecay(0.1, 10, num_cycles=0.3, after="continue")
    assert math.isfinite(spec.lr_at(2**999))
    with pytest.raises(
        ValueError, match=r"step must be < 2\*\*1000 for a CosineDecay continuing past its end"
    ):
        spec.lr_at(2**1000)


def test_python_ints_past_int64_are_exact():
    for spec in (CosineDecay(0.1, 100, alpha=0.1), CosineDecay(0.1, 100, after="continue"),
                 CosineDecayRestarts(0.1, 10, t_mul=2.0)):  # fmt: skip
        assert math.isfinite(spec.lr_at(10**400))


# -- errors: one per documented error ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"decay_steps": 1.5}, TypeError, "decay_steps must be an integer, got 1.5"),
        ({"decay_steps": 0}, ValueError, "decay_steps must be a positive integer, got 0"),
        ({"decay_steps": 2**62}, ValueError, r"decay_steps must be <= 2\*\*62 - 1"),
        ({"alpha": 1.5}, ValueError, "alpha must be <= 1.0, got 1.5"),
        ({"alpha": -0.1}, ValueError, "alpha must be >= 0.0, got -0.1"),
        ({"alpha": True}, TypeError, "alpha must be a real number, got True"),
        ({"exponent": 0.0}, ValueError, "exponent must be > 0.0, got 0.0"),
        ({"num_cycles": 0}, ValueError, "num_cycles must be > 0.0, got 0"),
        ({"num_cycles": math.nan}, ValueError, "num_cycles must be finite"),
        ({"num_cycles": 1e300}, ValueError, "num_cycles must be <= 2147483648"),
        ({"after": "stop"}, ValueError, r"after must be one of \['hold', 'continue', 'zero'\], got 'stop'"),
        ({"hard_restarts": 1}, TypeError, "hard_restarts must be True or False, got 1"),
        ({"hard_restarts": True}, ValueError, "after must be 'zero' .* got after='hold'"),
        ({"offset": -1}, ValueError, "offset must be an integer >= 0, got -1"),
        ({"offset": 11}, ValueError, r"offset must be <= decay_steps \(10\).*got 11"),
        ({"base_lr": -0.1}, ValueError, "base_lr must be >= 0.0, got -0.1"),
        ({"base_lr": "0.1"}, TypeError, "base_lr must be a real number or a sequence"),
    ],
)
def test_cosine_decay_errors(kwargs, error, message):
    arguments = {"base_lr": 0.1, "decay_steps": 10, **kwargs}
    with pytest.raises(error, match=message):
        CosineDecay(**arguments)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"first_decay_steps": 0}, ValueError, "first_decay_steps must be a positive integer, got 0"),
        ({"first_decay_steps": 2**63}, ValueError, r"first_decay_steps must be <= 2\*\*63 - 1"),
        ({"first_decay_steps": 3.0}, TypeError, "first_decay_steps must be an integer"),
        ({"t_mul": 0.5}, ValueError, "t_mul must be >= 1.0, got 0.5"),
        ({"t_mul": 1.001}, ValueError, rf"at most {MAX_FRACTIONAL_RESTARTS} restarts below 2\*\*63"),
        ({"m_mul": 1.5}, ValueError, "m_mul must be <= 1.0, got 1.5"),
        ({"alpha": -1.0}, ValueError, "alpha must be >= 0.0, got -1.0"),
        ({"base_lr": math.inf}, ValueError, "base_lr must be finite"),
    ],
)
def test_cosine_decay_restarts_errors(kwargs, error, message):
    arguments = {"base_lr": 0.1, "first_decay_steps": 10, **kwargs}
    with pytest.raises(error, match=message):
        CosineDecayRestarts(**arguments)
