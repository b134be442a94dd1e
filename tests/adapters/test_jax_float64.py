"""cyclr.jax on CPU and GPU: float32 schedules computed in float64 inside the float32 program.

The claims: the schedule is the core's float64 formula run by XLA (so the float32 result is the float64
value rounded once, give or take XLA's fused multiply-adds), its cosine is exact enough for any argument
a cyclr formula forms, and the double-float32 path (TPUs) stays exact where cancellation is real.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from float32_oracle import CATALOGUE, CATALOGUE_STEPS, LARGE_COUNTS, expected, float32_ulps, groups_of
from test_jax import ARITHMETIC, arithmetic_of, both_schedules

import cyclr
import cyclr.jax
from cyclr.jax import _HALF_PI, COS_ARGUMENT_MAX, FLOAT64, _cos64, _power64

RNG = np.random.default_rng(1993)


def exact_cos(x: np.ndarray) -> np.ndarray:
    """cos of each float64 ``x`` (taken as exact), to 200 bits, rounded to float64."""
    with mpmath.workprec(200):
        return np.array([float(mpmath.cos(mpmath.mpf(float(value)))) for value in x])


def test_the_parts_of_half_pi_are_short_and_sum_to_it():
    for part in _HALF_PI[:-1]:
        mantissa, _ = np.frexp(part)
        assert mantissa * 2**22 == int(mantissa * 2**22)  # 22 significant bits: k * part is exact
    with mpmath.workprec(300):
        error = sum(mpmath.mpf(part) for part in _HALF_PI) - mpmath.pi / 2
        assert abs(error) < mpmath.mpf(2) ** -120


def test_cos64_is_accurate_relative_to_its_value_up_to_the_argument_limit():
    quarter_turns = RNG.integers(-(2**31) + 1, 2**31 - 1, 600).astype(np.float64)
    near_zeros = quarter_turns * (np.pi / 2)  # the float64 nearest k * pi/2: cos is tiny at the odd ones
    x = np.concatenate(
        [
            RNG.uniform(-7, 7, 600),
            RNG.uniform(-COS_ARGUMENT_MAX, COS_ARGUMENT_MAX, 600),
            near_zeros,
            np.nextafter(near_zeros, np.inf),
            [0.0, np.pi / 4, np.pi / 2, np.pi, 3 * np.pi / 2, 2 * np.pi, COS_ARGUMENT_MAX, -COS_ARGUMENT_MAX],
        ]
    )
    with jax.enable_x64(True):
        ours = np.asarray(jax.jit(_cos64)(jnp.asarray(x)))
    reference = exact_cos(x)
    # The reduction is exact to 2**-51 |r| plus k * 2**-88; the series to 2**-52 of their value.
    assert np.all(np.abs(ours - reference) <= 2.0**-50 * np.abs(reference) + 2.0**-85)


@pytest.mark.parametrize("gamma", [0.99994, 0.9, 0.5, 0.999999, 1e-3, 1.0])
def test_power64_of_a_constant_base_is_accurate_at_every_int32_exponent(gamma):
    exponents = np.concatenate([np.arange(100), RNG.integers(0, 2**31, 200), [2**31 - 1]]).astype(np.int64)
    with jax.enable_x64(True):
        ours = np.asarray(jax.jit(lambda n: _power64(gamma, n))(jnp.asarray(exponents)))
    with mpmath.workprec(200):
        exact = np.array([float(mpmath.mpf(gamma) ** int(n)) for n in exponents])
    # exp(n * log(gamma)): log(gamma) and the product each round once, so the error is at most
    # 2**-52 |n log(gamma)| + 2**-52 relative; |n log(gamma)| <= 746 while the value is a float64 > 0.
    normal = exact > 2.0**-1000
    assert np.all(np.abs(ours[normal] / exact[normal] - 1) <= 2.0**-52 * 748)
    assert np.all(ours[~normal] <= 2.0**-999)
    assert ours[0] == 1.0


def test_cos64_of_a_python_number_is_cs_cos():
    assert _cos64(1.0) == np.cos(1.0) and _cos64(np.float64(2.5)) == np.cos(2.5)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_formula_takes_the_cosine_of_small_arguments(name):
    """The cosine's argument limit holds for every family: at the int32 ends of the counts, every
    argument a formula passes to cos is within a few pi (positions in a cycle are integers)."""
    spec = CATALOGUE[name]
    arguments = []

    def recording_cos(x):
        arguments.append(np.max(np.abs(np.asarray(x, dtype=np.float64))))
        return _cos64(x)

    counts = np.concatenate([CATALOGUE_STEPS, LARGE_COUNTS]).astype(np.int64)
    xp = FLOAT64._replace(cos=recording_cos)
    with jax.enable_x64(True):
        for quantity in ("lr", "momentum"):
            formula = spec._formula(xp, quantity)
            if formula is not None:
                steps = jnp.asarray(counts)[:, None] if spec.groups else jnp.asarray(counts)
                formula(steps)
    # CosineDecay continuing past its end reduces its position modulo 2 * decay_steps (two whole
    # periods of every wave with 2 * num_cycles an integer), so its argument reaches 2 pi * 2 num_cycles.
    limit = 4 * np.pi * max(1.0, getattr(spec, "num_cycles", 0.0) + 0.5)
    assert max(arguments, default=0.0) <= limit <= COS_ARGUMENT_MAX


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_on_cpu_the_schedule_is_the_float64_value_rounded_once(name):
    spec = CATALOGUE[name]
    for group in groups_of(spec):
        lr, momentum = both_schedules(spec, group)(CATALOGUE_STEPS)
        # Correctly rounded but for XLA's fused multiply-adds and its own log and pow: 2**-40 of an ulp.
        assert float32_ulps(lr, expected(spec, "lr", CATALOGUE_STEPS, group)) <= 0.5 + 2.0**-20
        if momentum is not None:
            assert (
                float32_ulps(momentum, expected(spec, "momentum", CATALOGUE_STEPS, group)) <= 0.5 + 2.0**-20
            )


def test_on_cpu_the_schedule_computes_in_float64_and_returns_float32():
    spec = cyclr.OneCycleLR(max_lr=0.1, total_steps=100)
    schedule = cyclr.jax.lr_schedule(spec)
    assert "f64" in str(jax.make_jaxpr(schedule)(jnp.int32(3))) and schedule(3).dtype == jnp.float32
    with arithmetic_of("double-float32"):  # a new schedule: jax caches traces by function
        assert "f64" not in str(jax.make_jaxpr(cyclr.jax.lr_schedule(spec))(jnp.int32(3)))


# -- where cancellation is real: adversarial parameters, both arithmetics --------------------------------

ADVERSARIAL = {
    # The lr falls from 1 to 1e-9 at the peak: 1 + (1e-9 - 1) cancels a billion-fold.
    "base_lr > max_lr, a billion-fold": cyclr.CyclicLR(
        base_lr=1.0, max_lr=1e-9, step_size_up=7, step_size_down=13
    ),
    # Momentum from 0.95 down to exactly 0, in a Hann window (1 - cos near 0 cancels too).
    "momentum falling to 0": cyclr.CyclicLR(
        base_lr=0.1,
        max_lr=1.0,
        step_size_up=2**24 + 1,
        base_momentum=0.0,
        max_momentum=0.95,
        waveform="cosine",
    ),
    # gamma**count through the whole float32 range, down to underflow.
    "gamma**count": cyclr.CyclicLR(step_size_up=3, mode="exp_range", gamma=0.99999, waveform="welch"),
    # Two large rates 2**-30 apart: the cycle lives in the last bits of 1000.
    "tiny difference of large rates": cyclr.CyclicLR(
        base_lr=1000.0, max_lr=1000.0 + 2.0**-20, step_size_up=5
    ),
    # Cosine decay to 0: 1 + cos near pi cancels; the end of a 2**30-step anneal.
    "cosine to 0": cyclr.CosineAnnealingLR(base_lr=0.1, T_max=2**30),
    "one-cycle to a tiny floor": cyclr.OneCycleLR(max_lr=1.0, total_steps=2**31 - 1, final_div_factor=1e12),
}


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_parameters_are_float32_exact(name, arithmetic):
    spec = ADVERSARIAL[name]
    ends = [2**30 - 7, 2**30 - 1, 2**30, 2**30 + 1, 2**31 - 2]
    counts = np.unique(np.concatenate([LARGE_COUNTS, np.arange(0, 64), ends])).astype(np.int32)
    with arithmetic_of(arithmetic):
        lr, momentum = both_schedules(spec)(counts)
    for quantity, values in (("lr", lr), ("momentum", momentum)):
        if values is None:
            continue
        reference = expected(spec, quantity, counts)
        # What the formula cancels: its largest endpoint. float64 itself is only good to 2**-53 of it;
        # double-float32 to 2**-46: forgive 2**-44 of it (float32_ulps), as the random-spec test does.
        magnitude = max(
            abs(float(v)) for v in (spec.lr_at(0), spec.lr_at(1), spec.lr_at(2**20)) if v is not None
        )
        if quantity == "momentum":
            magnitude = 1.0
        assert float32_ulps(values, reference, cancelling=magnitude) <= 2
        if arithmetic == "float64":  # no forgiveness needed: float64 cancels like the reference
            assert float32_ulps(values, reference, cancelling=2.0**-8 * magnitude) <= 2


PLAIN_FLOAT32 = FLOAT64._replace(
    cos=jnp.cos, floor=lambda x: jnp.floor(x).astype(jnp.int32), power=jnp.power, lookup=None
)
"""The formulas on plain float32 values and exact int32 counts: what the issue proposed to use alone."""


NOT_ENOUGH = {
    "base_lr > max_lr, a billion-fold": (ADVERSARIAL["base_lr > max_lr, a billion-fold"], "lr", 0),
    "momentum falling to 0": (ADVERSARIAL["momentum falling to 0"], "momentum", 2**24 - 20_000),
    "cosine to 0": (cyclr.CosineAnnealingLR(base_lr=0.1, T_max=200_000), "lr", 200_000 - 20_000),
}


@pytest.mark.parametrize("name", list(NOT_ENOUGH))
def test_plain_float32_on_exact_int32_positions_is_not_enough_where_cancellation_is_real(name):
    """Why the float32 schedules do not compute in float32, even with the position an exact int32."""
    spec, quantity, first = NOT_ENOUGH[name]
    counts = np.arange(first, first + 20_000, 7, dtype=np.int32)
    values = spec._formula(PLAIN_FLOAT32, quantity)(jnp.asarray(counts))
    assert values.dtype == jnp.float32
    assert float32_ulps(values, expected(spec, quantity, counts)) > 100


def test_plain_float32_is_not_within_2_ulps_even_where_nothing_cancels():
    """A linear ramp ``start + delta * (offset / up)`` in float32 rounds four times: past 2 ulps.

    (The spec was found by a search over 3,000 random triangles; the worst-case bound is 3.5 ulps.)
    """
    base, peak, up = 0.004317497619350442, 0.08288780028146508, 4892
    offsets = np.arange(up + 1)
    plain = np.float32(base) + np.float32(peak - base) * (offsets.astype(np.float32) / np.float32(up))
    exact = base + (peak - base) * (offsets / up)
    assert float32_ulps(plain, exact) > 2
    spec = cyclr.CyclicLR(base_lr=base, max_lr=peak, step_size_up=up, cycle_momentum=False)
    for arithmetic in ARITHMETIC:
        with arithmetic_of(arithmetic):
            ours = jax.jit(cyclr.jax.lr_schedule(spec))(jnp.asarray(offsets, jnp.int32))
        assert float32_ulps(ours, spec.lr_at(offsets)) <= 0.5 + 2.0**-20


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
def test_a_long_join_finds_its_piece_by_binary_search_on_both_arithmetics(arithmetic):
    """More than WHERE_CHAIN_MAX boundaries: jnp.searchsorted, with boundaries past int32 never reached."""
    pieces = [cyclr.CosineAnnealingLR(0.1 + k * 1e-3, T_max=3 + k % 4) for k in range(20)]
    boundaries = [7 * (k + 1) for k in range(17)] + [2**31 - 1, 2**40]
    assert len(boundaries) > cyclr.jax.WHERE_CHAIN_MAX
    spec = cyclr.join(pieces, boundaries)
    counts = np.concatenate([np.arange(0, 140), [2**31 - 2, 2**31 - 1]]).astype(np.int32)
    with arithmetic_of(arithmetic):
        lr = jax.jit(cyclr.jax.lr_schedule(spec))(jnp.asarray(counts))
    assert float32_ulps(lr, spec.lr_at(counts.astype(np.int64))) <= 0.5 + 2.0**-20
