"""WarmupStableDecay against transformers' own WSD lambda (every warmup and decay type, random parameters),
its laws, and one test per documented error. Tolerance: see tests/test_cosine_decay.py (1e-12 of base_lr)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close

from cyclr import WarmupStableDecay
from cyclr.wsd import SHAPES

optimization = pytest.importorskip("transformers.optimization")


def transformers_values(base_lr, steps, **kwargs) -> np.ndarray:
    return np.array([base_lr * optimization._get_wsd_scheduler_lambda(int(k), **kwargs) for k in steps])


@given(
    st.floats(1e-6, 10.0),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(SHAPES),
    st.sampled_from(SHAPES),
    st.floats(0.0, 1.0),
    st.floats(0.05, 3.0),
)
def test_transformers_wsd(base_lr, warmup, stable, decay, warmup_type, decay_type, min_lr_ratio, num_cycles):
    spec = WarmupStableDecay(
        base_lr, warmup, decay, num_stable_steps=stable, warmup_type=warmup_type, decay_type=decay_type,
        min_lr_ratio=min_lr_ratio, num_cycles=num_cycles,
    )  # fmt: skip
    steps = np.arange(warmup + stable + decay + 20)
    theirs = transformers_values(
        base_lr, steps, num_warmup_steps=warmup, num_stable_steps=stable, num_decay_steps=decay,
        warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=min_lr_ratio, num_cycles=num_cycles,
    )  # fmt: skip
    assert_close(spec.lr_at(steps), theirs)


def test_total_steps_or_stable_steps_give_the_same_schedule():
    by_total = WarmupStableDecay(0.1, 10, 20, num_training_steps=100)
    by_stable = WarmupStableDecay(0.1, 10, 20, num_stable_steps=70)
    both = WarmupStableDecay(0.1, 10, 20, num_training_steps=100, num_stable_steps=70)
    steps = np.arange(130)
    for spec in (by_stable, both):
        np.testing.assert_array_equal(spec.lr_at(steps), by_total.lr_at(steps))
    assert by_total.stable_steps == 70 and by_total != by_stable  # the parameters, as given, are kept


def test_phases():
    spec = WarmupStableDecay([0.1, 0.2], 4, 4, num_stable_steps=3, decay_type="linear", min_lr_ratio=0.5)
    lrs = spec.lr_at(np.arange(13))[:, 0]
    assert lrs[0] == 0.05 and lrs[4] == lrs[6] == 0.1 and lrs[7] == 0.1 and lrs[11] == lrs[12] == 0.05
    assert np.all(np.diff(lrs[:5]) > 0) and np.all(np.diff(lrs[7:12]) < 0)
    assert spec.lr_at(2**62)[1] == 0.1 and spec.lr_at(10**400)[1] == 0.1


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num_training_steps": None}, ValueError, "one of num_training_steps or num_stable_steps must be given"),
        ({"num_stable_steps": 5}, ValueError, r"num_training_steps must be num_warmup_steps \+ num_stable_steps \+ "
                                              r"num_decay_steps when both are given, got num_training_steps=100 != 10 \+ 5 \+ 20"),
        ({"num_training_steps": 25}, ValueError, r"num_training_steps must be >= num_warmup_steps \+ num_decay_steps.*"
                                                 r"got num_training_steps=25 < 10 \+ 20"),
        ({"num_warmup_steps": -1}, ValueError, "num_warmup_steps must be an integer >= 0, got -1"),
        ({"num_decay_steps": 2.0}, TypeError, "num_decay_steps must be an integer, got 2.0"),
        ({"num_training_steps": None, "num_stable_steps": -3}, ValueError, "num_stable_steps must be an integer >= 0"),
        ({"num_training_steps": 2**64}, ValueError, r"must be <= 2\*\*63 - 1 \(int64"),
        ({"warmup_type": "exp"}, ValueError, r"warmup_type must be one of \['linear', 'cosine', '1-sqrt'\], got 'exp'"),
        ({"decay_type": "sqrt"}, ValueError, r"decay_type must be one of .*got 'sqrt'; did you mean '1-sqrt'\?"),
        ({"min_lr_ratio": 1.5}, ValueError, "min_lr_ratio must be <= 1.0, got 1.5"),
        ({"num_cycles": 0.0}, ValueError, "num_cycles must be > 0.0, got 0.0"),
        ({"num_cycles": 1e300}, ValueError, "num_cycles must be <= 2147483648"),
        ({"base_lr": []}, ValueError, "base_lr must not be an empty sequence"),
    ],
)  # fmt: skip
def test_errors(kwargs, error, message):
    arguments = {
        "base_lr": 0.1,
        "num_warmup_steps": 10,
        "num_decay_steps": 20,
        "num_training_steps": 100,
        **kwargs,
    }
    with pytest.raises(error, match=message):
        WarmupStableDecay(**arguments)
