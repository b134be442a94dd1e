"""The stop rule: the bias-corrected moving average and the divergence test."""

from __future__ import annotations

import numpy as np
import pytest
from curves import record_all
from hypothesis import given
from hypothesis import strategies as st

from cyclr.rangetest import LRRangeTest, find_lr


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60), st.floats(0.0, 0.999))
def test_moving_average_with_bias_correction(losses, smooth):
    result = record_all(losses, smooth=smooth, diverge_factor=None)
    average = 0.0
    for k, loss in enumerate(losses):
        average = smooth * average + (1 - smooth) * loss
        assert result.smoothed[k] == pytest.approx(average / (1 - smooth ** (k + 1)), rel=1e-12, abs=1e-9)
    assert result.reason == "finished" and result.stopped_at == len(losses) - 1


def test_no_smoothing_keeps_the_losses():
    result = record_all([3.0, 2.0, 1.0], smooth=0.0)
    assert result.smoothed.tolist() == [3.0, 2.0, 1.0]


def test_finishes_with_every_lr_of_the_sweep():
    seen = []
    result = find_lr(
        lambda lr: seen.append(lr) or 1.0, start_lr=1e-4, end_lr=1.0, num_steps=30, progress=False
    )
    assert result.reason == "finished"
    assert result.stopped_at == 29
    assert seen == result.lrs.tolist() == LRRangeTest(1e-4, 1.0, 30).precompute(30)[0].tolist()
    assert all(type(lr) is float for lr in seen)
    assert result.spec == LRRangeTest(1e-4, 1.0, 30)


def test_diverges_by_the_classic_rule_once_above_the_start():
    # best 0.2; 0.9 > 4 * 0.2 is the classic stop, but 0.9 is below the first loss (1.0): not yet.
    losses = [1.0, 0.5, 0.2, 0.3, 0.7, 0.9, 1.1, 2.0, 3.0]
    result = record_all(losses, smooth=0.0)
    assert result.reason == "diverged"
    assert result.stopped_at == 6
    assert result.losses.tolist() == losses[:7]


def test_diverges_at_the_classic_rule_when_the_loss_has_not_fallen_far():
    # best 0.8 from a start of 1.0: 4 * best = 3.2 is above the start, so the classic rule decides.
    result = record_all([1.0, 0.9, 0.8, 1.5, 3.0, 3.3, 5.0], smooth=0.0)
    assert (result.reason, result.stopped_at) == ("diverged", 5)


def test_negative_losses_do_not_stop_at_once():
    # The classic rule, smoothed > 4 * best, holds for every loss once best is -3.
    losses = [-1.0, -2.0, -3.0, -2.9, -3.0, -2.5, -1.5, 0.5, 1.5]
    result = record_all(losses, smooth=0.0)
    # Above where it started (-1) and more than 3 * |best| = 9 above best: never here.
    assert result.reason == "finished"
    result = record_all([*losses[:-1], 6.5, 7.0], smooth=0.0)
    assert (result.reason, result.stopped_at) == ("diverged", 8)


def test_a_loss_crossing_zero_does_not_stop_on_noise():
    rng = np.random.default_rng(0)
    losses = np.concatenate([np.linspace(1.0, 0.0, 30), 0.02 * rng.standard_normal(60)])
    result = record_all(losses, smooth=0.9)
    assert result.reason == "finished"


@given(
    st.lists(st.floats(-100, 100), min_size=3, max_size=80),
    st.integers(-20, 20),
    st.sampled_from([0.0, 0.5, 0.98]),
)
def test_stop_rule_ignores_the_loss_scale(losses, exponent, smooth):
    # A power of two scales every rounding exactly: the same comparisons, the same stop.
    plain = record_all(losses, smooth=smooth)
    scaled = record_all([2.0**exponent * loss for loss in losses], smooth=smooth)
    assert (plain.reason, plain.stopped_at) == (scaled.reason, scaled.stopped_at)


def test_diverge_factor_none_never_stops_for_divergence():
    result = record_all([1.0, 0.1, 100.0, 1e6], smooth=0.0, diverge_factor=None)
    assert result.reason == "finished"
