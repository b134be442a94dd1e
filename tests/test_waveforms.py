"""The CLR paper's windows: triangular (Bartlett, torch's), cosine (Hann) and welch (parabolic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import cyclic_kwargs

from cyclr import CyclicLR


@given(cyclic_kwargs(waveforms=True), st.integers(0, 10**9))
def test_symmetric_cycles_are_mirror_images(kwargs, cycle):
    spec = CyclicLR(**{**kwargs, "step_size_down": kwargs["step_size_up"], "mode": "triangular"})
    peak = cycle * spec.period + spec.step_size_up
    k = np.arange(spec.step_size_up + 1)
    assert np.array_equal(spec.lr_at(peak + k), spec.lr_at(peak - k))


@pytest.mark.parametrize("waveform", ["triangular", "cosine", "welch"])
@given(kwargs=cyclic_kwargs())
def test_endpoints_are_the_bounds(waveform, kwargs):
    spec = CyclicLR(**{**kwargs, "waveform": waveform, "mode": "triangular"})
    assert spec.lr_at(0) == spec.base_lr
    assert spec.lr_at(spec.step_size_up) == pytest.approx(spec.max_lr, rel=1e-15, abs=1e-16)
    assert spec.lr_at(spec.period) == spec.base_lr


@given(up=st.integers(1, 200), down=st.integers(1, 200))
def test_hann_and_welch_are_their_windows(up, down):
    base, top = 0.01, 1.01
    steps = np.arange(up + down)
    ramp = np.minimum(steps / up, (up + down - steps) / down)
    hann = CyclicLR(base_lr=base, max_lr=top, step_size_up=up, step_size_down=down, waveform="cosine")
    welch = CyclicLR(base_lr=base, max_lr=top, step_size_up=up, step_size_down=down, waveform="welch")
    np.testing.assert_allclose(hann.lr_at(steps), base + np.sin(np.pi * ramp / 2) ** 2, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(welch.lr_at(steps), base + 1 - (1 - ramp) ** 2, rtol=1e-14, atol=1e-15)
    triangular = CyclicLR(base_lr=base, max_lr=top, step_size_up=up, step_size_down=down).lr_at(steps)
    assert np.all(welch.lr_at(steps) >= triangular)  # the parabola lies above the triangle


@given(cyclic_kwargs(), st.sampled_from(["cosine", "welch"]))
@example(  # base_lr and max_lr 1 ulp apart: the fraction of the range is all rounding
    dict(base_lr=1.0000000000000002e-06, max_lr=1e-06, step_size_up=1, mode="triangular2",
         base_momentum=0.5, max_momentum=0.0),
    "cosine",
)
def test_scale_modes_and_momentum_apply_to_every_waveform(kwargs, waveform):
    spec = CyclicLR(**{**kwargs, "waveform": waveform, "cycle_momentum": True})
    triangle = CyclicLR(**{**kwargs, "waveform": "triangular", "cycle_momentum": True})
    peaks = np.arange(5) * spec.period + spec.step_size_up
    np.testing.assert_allclose(spec.lr_at(peaks), triangle.lr_at(peaks), rtol=1e-14)  # same scale per cycle
    lr, momentum = spec(np.arange(2 * spec.period))

    def resolved(low: float, high: float) -> bool:
        # The fractions below divide by high - low: an error of 1 ulp of the bounds becomes ulp / (high -
        # low) of the fraction, which stays under atol=1e-9 only when the range is >= 1e-6 of the bounds.
        return high != low and abs(high - low) >= 1e-6 * max(abs(high), abs(low))

    fraction_lr = None
    if resolved(spec.base_lr, spec.max_lr):
        fraction_lr = (lr - spec.base_lr) / (spec.max_lr - spec.base_lr)
    if fraction_lr is not None and resolved(spec.base_momentum, spec.max_momentum):
        fraction_momentum = (spec.max_momentum - momentum) / (spec.max_momentum - spec.base_momentum)
        np.testing.assert_allclose(fraction_lr, fraction_momentum, atol=1e-9)
