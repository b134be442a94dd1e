"""RangeTestRecorder: losses of every framework, one at a time, and the recorder's own rules."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from curves import record_all

import cyclr
from cyclr.rangetest import LRRangeTest, RangeTestRecorder, find_lr


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_and_keeps_the_data(bad):
    losses = iter([2.0, 1.5, 1.0, bad, 0.5])
    result = find_lr(lambda lr: next(losses), num_steps=5, progress=False)
    assert result.reason == "non-finite"
    assert result.stopped_at == 3
    assert result.losses[:3].tolist() == [2.0, 1.5, 1.0]
    assert result.losses[3] == bad or math.isnan(result.losses[3])
    assert math.isnan(result.smoothed[3]) and np.isfinite(result.smoothed[:3]).all()
    assert len(result.lrs) == 4


def test_a_nan_torch_tensor_stops_the_sweep():
    torch = pytest.importorskip("torch")
    result = find_lr(
        lambda lr: torch.tensor(float("nan")) if lr > 1e-3 else torch.tensor(1.0), progress=False
    )
    assert result.reason == "non-finite"
    assert result.lrs[-1] > 1e-3 >= result.lrs[-2]


def test_losses_of_every_framework_as_floats():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    weight = torch.tensor(2.0, requires_grad=True)
    losses = [1.5, np.float32(1.25), np.float64(1.0), np.array(0.75), weight * 0.25, jnp.array(0.25), 7]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float() of a tensor that requires grad would warn
        result = record_all(losses, smooth=0.0, diverge_factor=None)
    assert result.losses.tolist() == [1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 7.0]


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (None, r"the loss at step 0 must be a real number or a 0-d array, got None .*does train_step return"),
        ("1.0", r"must be a real number or a 0-d array, got '1.0' \(str\)"),
        (True, r"got True \(bool\)"),
        (
            np.array([1.0, 2.0]),
            r"the loss at step 0 must be a scalar, got an array of shape \(2,\); reduce it",
        ),
        (object(), r"must be a real number or a 0-d array, got <object"),
        (1 + 2j, r"got \(1\+2j\) \(complex\)"),
    ],
)
def test_a_loss_that_is_not_a_scalar(loss, message):
    with pytest.raises(TypeError, match=message):
        find_lr(lambda lr: loss, progress=False)


def test_a_torch_batch_of_losses_must_be_reduced():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"must be a scalar, got an array of shape \(3,\)"):
        find_lr(lambda lr: torch.ones(3), progress=False)


def test_recorder_walks_the_sweep():
    spec = LRRangeTest(start_lr=1e-3, end_lr=1e-1, num_steps=3)
    recorder = RangeTestRecorder(spec)
    assert (recorder.step, recorder.stopped, recorder.reason) == (0, False, None)
    assert math.isnan(recorder.smoothed_loss)
    lrs = []
    while not recorder.stopped:
        lrs.append(recorder.next_lr)
        recorder.record(1.0)
    assert lrs == [1e-3, spec.lr_at(1), 1e-1]
    assert (recorder.step, recorder.reason, recorder.smoothed_loss) == (3, "finished", 1.0)


def test_recorder_result_while_running_is_incomplete():
    recorder = RangeTestRecorder(LRRangeTest(num_steps=10))
    recorder.record(2.0)
    recorder.record(1.0)
    result = recorder.result()
    assert (result.reason, result.stopped_at, len(result.lrs)) == ("incomplete", 1, 2)
    recorder.record(0.5)  # it goes on; the result taken before does not change
    assert len(result.losses) == 2


def test_recorder_refuses_to_go_on_after_stopping():
    recorder = RangeTestRecorder(LRRangeTest(num_steps=2))
    recorder.record(1.0)
    recorder.record(math.nan)
    with pytest.raises(
        RuntimeError, match=r"the range test has stopped \(non-finite at step 1\); start a new"
    ):
        recorder.record(1.0)
    with pytest.raises(RuntimeError, match=r"has stopped"):
        recorder.next_lr  # noqa: B018


def test_recorder_result_needs_a_loss():
    with pytest.raises(RuntimeError, match=r"no loss recorded yet"):
        RangeTestRecorder().result()


def test_recorder_needs_a_range_test_spec():
    with pytest.raises(TypeError, match=r"spec must be an LRRangeTest, got CyclicLR"):
        RangeTestRecorder(cyclr.CyclicLR())


@pytest.mark.parametrize(
    "loss", [10**400, -(10**400), Fraction(10**400, 7)], ids=["1e400", "-1e400", "fraction"]
)
def test_a_loss_too_large_for_a_float(loss):
    with pytest.raises(
        ValueError, match=r"the loss at step 0 is too large for a float: 1000|-1000|Fraction"
    ) as caught:
        find_lr(lambda lr: loss, progress=False)
    assert caught.value.result is None
