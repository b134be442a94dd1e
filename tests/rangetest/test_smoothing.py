"""The smoothing pieces of suggest: local_quadratic, median_of_three, noise_level."""

from __future__ import annotations

import numpy as np
import pytest
from curves import valley
from hypothesis import given
from hypothesis import strategies as st

from cyclr.rangetest import local_quadratic, median_of_three, noise_level


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3), st.integers(3, 200))
def test_local_quadratic_is_exact_on_quadratics(a, b, c, n):
    x = np.sort(np.random.default_rng(n).uniform(-2, 2, n))
    x = np.unique(x)
    smoothed, slope, gain = local_quadratic(x, a + b * x + c * x**2, bandwidth=0.3)
    np.testing.assert_allclose(smoothed, a + b * x + c * x**2, atol=1e-6)
    np.testing.assert_allclose(slope, b + 2 * c * x, atol=1e-5)
    assert np.all((gain > 0) & (gain <= 1.0 + 1e-9))


def test_local_quadratic_is_symmetric_no_lag():
    x = np.linspace(-3, 3, 121)
    y = 1 / (1 + np.exp(x / 0.3))
    smoothed, slope, _ = local_quadratic(x, y, bandwidth=0.3)
    assert x[np.argmin(slope)] == 0.0
    np.testing.assert_allclose(smoothed, 1 - smoothed[::-1], atol=1e-12)


def test_median_of_three_removes_spikes_and_keeps_monotone_runs():
    rising = np.arange(10.0)
    assert np.array_equal(median_of_three(rising), rising)
    spiked = np.ones(10)
    spiked[4] = 50.0
    assert np.array_equal(median_of_three(spiked), np.ones(10))
    assert np.array_equal(median_of_three(np.array([3.0, 1.0])), [3.0, 1.0])


@pytest.mark.parametrize("sigma", [0.01, 0.3])
def test_noise_level_ignores_the_trend(sigma):
    x = np.linspace(-7, 1, 4000)
    y = valley(x, -3, 0.2, -1.5) + sigma * np.random.default_rng(0).standard_normal(len(x))
    assert noise_level(y[x < -1.6]) == pytest.approx(sigma, rel=0.1)
    assert noise_level(np.array([1.0, 2.0])) == 0.0
