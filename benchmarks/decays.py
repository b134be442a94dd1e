"""cyclr's decays (cyclr.decay, cyclr.stepwise) against optax's same schedules under JAX, and precompute
against filling memory.

* JAX: each row times one jitted call over ``NUM_COUNTS`` int32 counts (a vector: optax's decays are
  elementwise ``jax.numpy``), compiled first; the compile time has its own row. cyclr.jax computes in
  double-float32 (exact to 2 float32 ulps at every int32 count); optax in plain float32 (its
  ``decay_rate ** (count / steps)`` is off by hundreds of ulps past 10**5 counts: see
  tests/test_decay_oracles.py). Times are medians of interleaved pairs, with the ratio's noise.
* precompute: ``spec.precompute(10M)`` into a preallocated array on both backends, against
  ``ndarray.fill`` of the same array (the memory-bandwidth floor), medians of interleaved pairs.
"""

from __future__ import annotations

import time
from functools import partial
from collections.abc import Callable
from typing import Any

import numpy as np

from ._timing import Row, paired_medians

NUM_COUNTS = 1_000_000
NUM_STEPS = 10_000_000
PAIRS = 15


def _compiled(schedule: Callable[[Any], Any]) -> tuple[Callable[[], Any], float]:
    """``schedule`` jitted over a vector of int32 counts: (a timed call, its compile time in seconds)."""
    import jax
    import jax.numpy as jnp

    counts = jnp.arange(NUM_COUNTS, dtype=jnp.int32)
    # Both sides give one value per count: optax's constant_schedule ignores its count and returns a 0-d
    # array, which would time nothing against cyclr's million values.
    evaluate = jax.jit(lambda count: jnp.broadcast_to(schedule(count), count.shape))
    started = time.perf_counter()
    evaluate.lower(counts).compile()
    compile_seconds = time.perf_counter() - started
    evaluate(counts).block_until_ready()
    return (lambda: evaluate(counts).block_until_ready()), compile_seconds


def jax_cases() -> list[tuple[str, Any, Any]]:
    """(what, cyclr spec, optax's schedule of the same values)."""
    import optax

    import cyclr

    return [
        ("constant", cyclr.Constant(0.01), optax.constant_schedule(0.01)),
        (
            "linear decay",
            cyclr.PolynomialDecay(0.1, 500_000, end_lr=1e-4, begin=1000),
            optax.linear_schedule(0.1, 1e-4, 500_000, transition_begin=1000),
        ),
        (
            "polynomial decay, power 2",
            cyclr.PolynomialDecay(0.1, 500_000, end_lr=1e-4, power=2.0),
            optax.polynomial_schedule(0.1, 1e-4, 2.0, 500_000),
        ),
        (
            "exponential decay",
            cyclr.ExponentialDecay(0.1, 0.96, 10_000),
            optax.exponential_decay(0.1, 10_000, 0.96),
        ),
        (
            "exponential decay, staircase, end value",
            cyclr.ExponentialDecay(0.1, 0.5, 100_000, staircase=True, end_lr=1e-3),
            optax.exponential_decay(0.1, 100_000, 0.5, staircase=True, end_value=1e-3),
        ),
        (
            "piecewise constant, 3 boundaries",
            cyclr.PiecewiseConstant(1.0, [250_000, 500_000, 750_000], [0.1, 0.01, 0.001, 0.0001]),
            optax.piecewise_constant_schedule(0.1, {250_000: 0.1, 500_000: 0.1, 750_000: 0.1}),
        ),
        (
            "warmup + constant",
            cyclr.warmup(cyclr.Constant(0.1), 10_000, 0.0),
            optax.warmup_constant_schedule(0.0, 0.1, 10_000),
        ),
    ]


def jax_rows() -> list[Row]:
    import cyclr.jax

    table = []
    for what, spec, peer in jax_cases():
        ours_call, ours_compile = _compiled(cyclr.jax.lr_schedule(spec))
        peer_call, peer_compile = _compiled(peer)
        ours, theirs, noise = paired_medians(ours_call, peer_call, pairs=PAIRS)
        label = f"jax: {what}, {NUM_COUNTS // 10**6}M counts, jitted (median; ratio noise ±{noise:.0%})"
        table.append(Row(label, ours, "optax's same schedule", theirs, "no slower"))
        table.append(Row(f"jax: {what}, compile time", ours_compile, "optax's same schedule", peer_compile))
    return table


def precompute_rows() -> list[Row]:
    import cyclr

    lr = np.empty(NUM_STEPS)
    fill = partial(lr.fill, 1.0)
    specs = [
        ("polynomial decay, power 2", cyclr.PolynomialDecay(0.1, NUM_STEPS, end_lr=1e-4, power=2.0)),
        ("exponential decay", cyclr.ExponentialDecay(0.1, 0.96, 10_000)),
        ("step decay (StepLR)", cyclr.StepLR(0.1, 100_000, 0.5)),
        ("piecewise constant", cyclr.PiecewiseConstant(0.1, [10**6, 5 * 10**6], [1.0, 0.1, 0.01])),
    ]
    table = []
    for what, spec in specs:
        for backend in ("numpy", "numba"):
            ours, theirs, noise = paired_medians(
                partial(spec.precompute, NUM_STEPS, backend=backend, out=(lr, None)), fill, pairs=7
            )
            label = f"precompute 10M, {what}, {backend} (median; ratio noise ±{noise:.0%})"
            table.append(Row(label, ours, "fill 1 preallocated array", theirs))
    return table


def rows() -> list[Row]:
    return jax_rows() + precompute_rows()
