"""Every spec pickles, deep-copies and copies, used or not, and continues identically."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

import cyclr
from cyclr._spec import _REGISTRY


def _specs() -> list[cyclr.Spec]:
    cosine = cyclr.CosineAnnealingLR(0.1, T_max=10)
    return [
        cyclr.CyclicLR(step_size_up=7, mode="triangular2"),
        cyclr.CyclicLR(base_lr=[1e-3, 2e-3], max_lr=[1e-2, 2e-2], mode="exp_range", gamma=0.99),
        cyclr.CyclicLR(scale_fn=abs, scale_mode="cycle"),
        cyclr.OneCycleLR(max_lr=0.1, total_steps=100, three_phase=True),
        cyclr.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2),
        cosine,
        cyclr.warmup(cosine, 5),
        cyclr.join([cosine, cyclr.CyclicLR(cycle_momentum=False)], [10]),
        cyclr.LRRangeTest(),
        cyclr.CosineDecay(0.1, 40, alpha=0.1, hard_restarts=True, num_cycles=2, after="zero"),
        cyclr.CosineDecayRestarts([0.1, 0.2], 10, t_mul=1.5),
        cyclr.warmup(cyclr.InverseSqrt(0.1, 50), 50),
        cyclr.WarmupStableDecay(0.1, 10, 20, num_training_steps=100, warmup_type="cosine"),
        cyclr.Constant([0.1, 0.2]),
        cyclr.PolynomialDecay(0.1, 50, end_lr=0.001, power=2.0, begin=3, cycle=True),
        cyclr.ExponentialDecay([0.1, 0.2], 0.5, 7, staircase=True, begin=5, end_lr=1e-3),
        cyclr.InverseTimeDecay(0.1, 0.5, 10),
        cyclr.PiecewiseConstant(0.1, [10, 20], [1.0, 0.5, 0.1], inclusive=True),
        cyclr.ConstantLR(0.1),
        cyclr.LinearLR(0.1),
        cyclr.ExponentialLR(0.1, 0.9),
        cyclr.StepLR(0.1, 30),
        cyclr.MultiStepLR(0.1, [30, 30, 80]),
        cyclr.PolynomialLR(0.1, 100, 2.0),
    ]


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used"])
@pytest.mark.parametrize("spec", _specs(), ids=lambda spec: type(spec).__name__)
def test_spec_pickles_and_copies(spec: cyclr.Spec, used: bool) -> None:
    if used:
        spec.lr_at(3), spec.lr_at(np.arange(4)), spec.precompute(20)
        if spec != _specs()[2]:  # a Python scale_fn has no numba path
            spec.precompute(20, backend="numba")
    steps = np.arange(0, 300, 7)
    for clone in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec), copy.copy(spec)):
        assert type(clone) is type(spec) and clone == spec
        np.testing.assert_array_equal(clone.lr_at(steps), spec.lr_at(steps))
        for mine, theirs in zip(clone(123), spec(123), strict=True):
            np.testing.assert_array_equal(mine, theirs)


def test_pickle_holds_plain_data_for_builtin_specs() -> None:
    spec = cyclr.CyclicLR(step_size_up=7)
    function, (data,) = spec.__reduce__()
    assert function is cyclr.from_dict and data == spec.to_dict()


def test_a_user_subclass_never_replaces_a_builtin_and_still_pickles() -> None:
    @dataclasses.dataclass(frozen=True)
    class CyclicLR(cyclr.CyclicLR):  # the same name as the built-in
        pass

    assert _REGISTRY["CyclicLR"] is cyclr.CyclicLR
    assert type(cyclr.from_dict({"schedule": "CyclicLR"})) is cyclr.CyclicLR
    spec = CyclicLR(step_size_up=5)
    function, (cls, arguments) = spec.__reduce__()
    assert cls is CyclicLR and arguments["step_size_up"] == 5


@pytest.mark.parametrize("name", [["CyclicLR"], {"a": 1}, None, 3])
def test_from_dict_refuses_a_schedule_name_that_is_not_a_string(name: object) -> None:
    with pytest.raises(ValueError, match="unknown schedule"):
        cyclr.from_dict({"schedule": name})


def test_a_pickled_spec_names_the_public_from_dict() -> None:
    data = pickle.dumps(cyclr.CyclicLR(step_size_up=7), protocol=2)
    assert b"from_dict" in data and b"cyclr._spec" not in data
