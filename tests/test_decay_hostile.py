"""Every hostile value in every parameter of cyclr.decay's and cyclr.stepwise's specs: refused when the spec
is built, with a ValueError or TypeError naming the parameter, or accepted with finite values that agree
on the Python and NumPy paths at ordinary and huge steps (numba: in the catalogues)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import ulps
from test_hostile import WEIRD, assert_names_a_parameter

import cyclr

FAMILIES = {
    "Constant": dict(base_lr=0.1),
    "PolynomialDecay": dict(base_lr=0.1, decay_steps=10, end_lr=0.01, power=2.0, begin=3, cycle=True),
    "ExponentialDecay": dict(base_lr=0.1, decay_rate=0.9, decay_steps=10, staircase=False, begin=3, end_lr=1e-3),
    "InverseTimeDecay": dict(base_lr=0.1, decay_rate=0.5, decay_steps=10, staircase=True),
    "PiecewiseConstant": dict(base_lr=0.1, boundaries=[10, 20], factors=[1.0, 0.5, 0.1], inclusive=True),
    "ConstantLR": dict(base_lr=0.1, factor=0.5, total_iters=5),
    "LinearLR": dict(base_lr=0.1, start_factor=0.5, end_factor=1.0, total_iters=5),
    "ExponentialLR": dict(base_lr=0.1, gamma=0.9),
    "StepLR": dict(base_lr=0.1, step_size=3, gamma=0.5),
    "MultiStepLR": dict(base_lr=0.1, milestones=[3, 5], gamma=0.5),
    "PolynomialLR": dict(base_lr=0.1, total_iters=5, power=1.0),
}
STEPS = [0, 1, 7, 2**31 - 1, 2**53 + 1, 2**63 - 1]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_hostile_value_in_every_parameter(name):
    cls, ordinary = getattr(cyclr, name), FAMILIES[name]
    failures = []
    for parameter in ordinary:
        for value in WEIRD:
            kwargs = {**ordinary, parameter: value}
            try:
                spec = cls(**kwargs)
            except (ValueError, TypeError) as error:
                try:
                    assert_names_a_parameter(error, list(ordinary))
                except AssertionError as failure:
                    failures.append(f"{name}({parameter}={value!r}): {failure}")
                continue
            except Exception as error:  # noqa: BLE001 (anything else is a defect)
                failures.append(f"{name}({parameter}={value!r}): {type(error).__name__}: {error}")
                continue
            try:
                scalars = np.array([spec.lr_at(step) for step in STEPS])
                assert np.all(np.isfinite(scalars)), scalars
                assert ulps(spec.lr_at(np.array(STEPS)), scalars) == 0
                lr, _ = spec.precompute(3, start=2**63 - 3)  # numba: the catalogues (compiling is slow)
                assert np.array_equal(lr, spec.lr_at(np.arange(2**63 - 3, 2**63, dtype=np.int64)))
                assert all(math.isfinite(float(np.max(spec.lr_at(step)))) for step in (2**64, 10**30))
            except Exception as error:  # noqa: BLE001
                failures.append(f"{name}({parameter}={value!r}) built, then: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures[:20])
