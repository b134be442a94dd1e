"""Shared by the range-test tests: synthetic sweeps with a known answer, and small helpers."""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import strategies as st

from cyclr.rangetest import LRRangeTest, RangeTestRecorder, RangeTestResult


def record_all(losses, smooth=0.0, diverge_factor=4.0, num_steps=None) -> RangeTestResult:
    """Feed ``losses`` to a recorder until it stops; the result."""
    spec = LRRangeTest(num_steps=num_steps or len(losses))
    recorder = RangeTestRecorder(spec, smooth=smooth, diverge_factor=diverge_factor)
    for loss in losses:
        if recorder.record(loss):
            break
    return recorder.result()


def falling(lr: float) -> float:
    """Falls from 1 between lr 3e-4 and 3e-3, then blows up: the default sweep diverges at step 89."""
    return 1.0 / (1.0 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2


def hide(monkeypatch, *modules):
    """Make ``import`` of each module raise ImportError."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def valley(x, center, width, rise_at, top=2.3, bottom=0.3):
    """A loss against x = log10(lr): a plateau, a logistic fall around ``center``, a blow-up after."""
    return bottom + (top - bottom) / (1 + np.exp((x - center) / width)) + 0.5 * 10 ** ((x - rise_at) / 0.25)


def known_answer(center, width, rise_at):
    """The rule on the noise-free curve itself, on a fine grid: (x_base, x_max, x_min)."""
    x = np.linspace(center - 4, rise_at + 1, 400_001)
    y = valley(x, center, width, rise_at)
    i_min = int(np.argmin(y))
    top = y[: i_min + 1].max()
    drop = top - y[i_min]
    x_base = x[np.flatnonzero(y[:i_min] >= top - 0.1 * drop)[-1]]
    x_max = x[np.flatnonzero(y[: i_min + 1] <= y[i_min] + 0.1 * drop)[0]]
    return x_base, x_max, x[i_min]


def sweep_of(center, width, rise_at, noise=0.0, seed=0, num_steps=100, start=-7.0, end=1.0, stop=True):
    """A 100-step exp sweep over the curve with Gaussian noise; ``stop``: cut once the loss passes 2.5
    (as the divergence rule would), else run on to the end, where the loss reaches 1e9 and more."""
    x = np.linspace(start, end, num_steps)
    y = valley(x, center, width, rise_at) + noise * np.random.default_rng(seed).standard_normal(num_steps)
    past = np.flatnonzero((valley(x, center, width, rise_at) > 2.5) & (x > center))
    cut = past[0] + 1 if stop and past.size else num_steps
    return 10.0 ** x[:cut], y[:cut]


curves = st.tuples(st.floats(-5.0, -2.0), st.floats(0.1, 0.35), st.floats(1.0, 2.0)).map(
    lambda t: (t[0], t[1], t[0] + t[2])
)
"""(center, width, rise_at) of a ``valley``."""
