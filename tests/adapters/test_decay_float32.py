"""cyclr.decay and cyclr.stepwise under JAX and Keras (float32): within 2 float32 ulps of the float64
value at every count up to 2**20 and near 2**24, 2**30 and 2**31 - 1 (``LARGE_COUNTS``).

Double-float32 products lose their low halves below float32's normal range: a value under about
``2**-114`` (5e-35) is good to ``2**-12`` relative only, and one under ``2**-126`` may be flushed to 0.
The specs here stay above 5e-35 wherever they are not 0 (docs/limits.md); the last test shows the floor.
"""

from __future__ import annotations

import jax
import keras
import numpy as np
import pytest
from float32_oracle import LARGE_COUNTS, float32_ulps

import cyclr
import cyclr.jax
import cyclr.keras

COUNTS = np.concatenate([np.arange(2**20), LARGE_COUNTS]).astype(np.int32)
SPECS = {
    "constant": cyclr.Constant(0.003),
    "polynomial": cyclr.PolynomialDecay(0.1, 2**30, end_lr=1e-5, power=0.7, begin=100),
    "polynomial-cycle": cyclr.PolynomialDecay(0.1, 3000, end_lr=1e-4, power=2.0, cycle=True),
    "linear-short": cyclr.PolynomialDecay(0.1, 1000, end_lr=0.0),
    "exponential": cyclr.ExponentialDecay(0.1, 0.96, 10_000),
    "exponential-staircase-end": cyclr.ExponentialDecay(0.1, 0.5, 2**20, True, 5, end_lr=1e-6),
    "exponential-growth": cyclr.ExponentialDecay(1e-4, 1.000003, 1, end_lr=0.5),
    "inverse-time": cyclr.InverseTimeDecay(0.1, 0.5, 1000),
    "inverse-time-staircase": cyclr.InverseTimeDecay(0.1, 3.0, 7, staircase=True),
    "piecewise": cyclr.PiecewiseConstant(0.1, [1000, 2**24, 2**31 - 2], [1.0, 0.1, 0.01, 0.001]),
    "piecewise-inclusive": cyclr.PiecewiseConstant(1.0, [2**24], [0.1, 0.01], inclusive=True),
    "constant-lr": cyclr.ConstantLR(0.1, factor=0.5, total_iters=2**24),
    "linear-lr": cyclr.LinearLR(0.1, start_factor=1e-3, total_iters=2**30),
    "exponential-lr": cyclr.ExponentialLR(0.1, 0.99999),
    "step-lr": cyclr.StepLR(0.1, 2**24, 0.5),
    "multistep-lr": cyclr.MultiStepLR(0.1, [10, 2**24, 2**24, 2**31 - 1], 0.3),
    "polynomial-lr": cyclr.PolynomialLR(0.1, 2**31 - 1, 1.5),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_jax_is_float32_exact(name):
    spec = SPECS[name]
    values = np.asarray(jax.jit(cyclr.jax.lr_schedule(spec))(COUNTS))
    assert float32_ulps(values, spec.lr_at(COUNTS.astype(np.int64))) <= 2


@pytest.mark.parametrize("name", list(SPECS))
def test_keras_is_float32_exact(name):
    spec = SPECS[name]
    schedule = cyclr.keras.Schedule(spec)
    schedule = jax.jit(schedule) if keras.backend.backend() == "jax" else schedule
    values = keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(COUNTS)))
    assert float32_ulps(values, spec.lr_at(COUNTS.astype(np.int64))) <= 2


def test_values_below_float32s_normal_range_lose_precision_and_are_then_flushed():
    counts = np.array([30, 33, 37, 38, 45], dtype=np.int32)
    spec = cyclr.ExponentialLR(1.0, 0.1)  # 10**-step: the power alone stays exact down to 2**-126
    values = np.asarray(jax.jit(cyclr.jax.lr_schedule(spec))(counts)).astype(np.float64)
    exact = spec.lr_at(counts.astype(np.int64))
    assert float32_ulps(values[:3], exact[:3]) <= 2  # 1e-30 .. 1e-37
    assert np.all(values[3:] == 0.0)  # 1e-38, 1e-45: below 2**-126, flushed to zero (XLA does)
    # A product whose halves fall below 2**-126 keeps about 12 bits: 0.1 * 1e-34 = 1e-35
    product = cyclr.ExponentialLR(0.1, 0.1)
    value = float(jax.jit(cyclr.jax.lr_schedule(product))(np.int32(34)))
    assert 2**-20 < abs(value / product.lr_at(34) - 1) < 2**-10
