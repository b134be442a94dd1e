"""from_dict / to_dict on hostile data: every bad input is a ValueError/TypeError naming the field.

Regressions for issue 10, item 6: a spec given where a scale_fn is expected, nesting deep enough to
exhaust Python's recursion limit, wrong container types and non-string keys.
"""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cyclr
from cyclr import CosineAnnealingLR, CyclicLR
from cyclr._spec import _REGISTRY, MAX_DEPTH

COSINE = CosineAnnealingLR(0.1, T_max=10)


def nested_warmups(depth: int) -> cyclr.Spec:
    spec: cyclr.Spec = COSINE
    for _ in range(depth):
        spec = cyclr.warmup(spec, 2)
    return spec


def nested_data(depth: int) -> dict:
    data: dict = COSINE.to_dict()
    for _ in range(depth):
        data = {"schedule": "Warmup", "spec": data, "warmup_steps": 2, "start_lr": 0.0}
    return data


# -- the registry ---------------------------------------------------------------------------------------


def test_only_cyclrs_own_classes_are_registered():
    assert all(cls.__module__.split(".")[0] == "cyclr" for cls in _REGISTRY.values())
    assert {"CyclicLR", "OneCycleLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "Warmup", "Join",
            "LRRangeTest", "Constant", "PolynomialDecay",
            "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstant", "ConstantLR", "LinearLR", "ExponentialLR",
            "StepLR", "MultiStepLR", "PolynomialLR"} <= set(_REGISTRY)
    for name, cls in _REGISTRY.items():
        assert cls.__name__ == name and issubclass(cls, cyclr.Spec)


@pytest.mark.parametrize("name", [["CyclicLR"], ("CyclicLR",), {"CyclicLR": 1}, None, 3, b"CyclicLR"])
def test_an_unhashable_or_non_string_schedule_name_is_a_clear_error(name):
    with pytest.raises(ValueError, match=r"unknown schedule .*; known: \["):
        cyclr.from_dict({"schedule": name})


# -- scale_fn and other fields that are not specs -----------------------------------------------------


@pytest.mark.parametrize("value", [
    CyclicLR().to_dict(), {"schedule": "Join"}, {"a": 1}, [CyclicLR().to_dict()], "abs", 3, [1, 2],
])
def test_scale_fn_in_data_is_refused_when_built(value):
    # A spec's data used to become a spec, which is callable: accepted here, failing at lr_at.
    with pytest.raises((TypeError, ValueError), match=r"scale_fn"):
        cyclr.from_dict({"schedule": "CyclicLR", "scale_fn": value})


@pytest.mark.parametrize("field", ["base_lr", "max_lr", "mode", "gamma", "cycle_momentum"])
def test_a_specs_data_where_a_number_is_expected_is_refused(field):
    with pytest.raises(TypeError, match=rf"CyclicLR\.{field} .*got a mapping"):
        cyclr.from_dict({"schedule": "CyclicLR", field: COSINE.to_dict()})


# -- containers of the wrong type ------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({"schedule": "Warmup", "spec": [COSINE.to_dict()], "warmup_steps": 2},
     r"Warmup\.spec must be a spec's data \(a mapping with a 'schedule' key\), got a list"),
    ({"schedule": "Warmup", "spec": "CosineAnnealingLR", "warmup_steps": 2}, r"Warmup\.spec must be a spec's data"),
    ({"schedule": "Warmup", "spec": {"T_max": 3}, "warmup_steps": 2}, r"Warmup\.spec must be a spec's data"),
    ({"schedule": "Join", "specs": COSINE.to_dict(), "boundaries": []},
     r"Join\.specs must be a list of specs' data, got a mapping"),
    ({"schedule": "Join", "specs": [COSINE.to_dict(), 3], "boundaries": [4]}, r"Join\.specs\[1\] must be a spec's data"),
    ({"schedule": "Join", "specs": [COSINE.to_dict(), [COSINE.to_dict()]], "boundaries": [4]},
     r"Join\.specs\[1\] must be a spec's data .*got a list"),
    ({"schedule": "CyclicLR", "base_lr": [[0.1], [0.2]]}, r"CyclicLR\.base_lr\[0\] .*got a list"),
])
def test_wrong_containers_name_the_field(data, message):
    with pytest.raises(TypeError, match=message):
        cyclr.from_dict(data)


@pytest.mark.parametrize("key", [1, None, ("a",), 2.5, b"base_lr"])
def test_non_string_keys_are_refused(key):
    with pytest.raises(TypeError, match=r"CyclicLR: parameter names must be strings, got .* \("):
        cyclr.from_dict({"schedule": "CyclicLR", key: 1})


def test_unknown_parameters_are_named():
    with pytest.raises(ValueError, match=r"unknown parameters for CyclicLR: \['bogus'\]"):
        cyclr.from_dict({"schedule": "CyclicLR", "bogus": 1})


def test_inner_errors_are_the_constructors():
    with pytest.raises(ValueError, match=r"step_size_up must be a positive integer, got 0"):
        cyclr.from_dict({"schedule": "Warmup", "spec": {"schedule": "CyclicLR", "step_size_up": 0}, "warmup_steps": 2})


# -- nesting ------------------------------------------------------------------------------------------


def test_nesting_up_to_the_limit_keeps_the_whole_contract():
    spec = nested_warmups(MAX_DEPTH - 1)
    assert spec._depth == MAX_DEPTH
    data = json.loads(json.dumps(spec.to_dict()))
    assert cyclr.from_dict(data) == spec
    for clone in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec)):
        assert clone == spec and hash(clone) == hash(spec)
    assert repr(spec).count("Warmup(") == MAX_DEPTH - 1
    steps = np.arange(0, 3 * MAX_DEPTH)
    assert np.array_equal(spec.lr_at(steps), [spec.lr_at(int(k)) for k in steps])
    # each warmup ramps to the next one's start, 0; the innermost from 0 to the cosine's 0.1
    end = 2 * (MAX_DEPTH - 1)
    assert spec.lr_at(end - 2) == 0.0 and spec.lr_at(end - 1) == 0.05 and spec.lr_at(end) == 0.1


@pytest.mark.parametrize("depth", [MAX_DEPTH, 300, 500, 5000])
def test_nesting_beyond_the_limit_is_refused_when_built(depth):
    with pytest.raises(ValueError, match=rf"Warmup nests specs {MAX_DEPTH + 1} deep; at most {MAX_DEPTH} are allowed"):
        nested_warmups(depth)


@pytest.mark.parametrize("depth", [MAX_DEPTH, 300, 500, 5000])
def test_nested_data_beyond_the_limit_is_refused_by_from_dict(depth):
    # 300-500 deep used to hit RecursionError in from_dict
    with pytest.raises(ValueError, match=rf"spec data nested more than {MAX_DEPTH} deep"):
        cyclr.from_dict(nested_data(depth))


def test_nested_joins_count_too():
    spec: cyclr.Spec = COSINE
    for _ in range(MAX_DEPTH - 1):
        spec = cyclr.join([COSINE, spec], [3])
    assert spec.lr_at(3 * (MAX_DEPTH - 1)) == COSINE.lr_at(0)
    with pytest.raises(ValueError, match=rf"Join nests specs {MAX_DEPTH + 1} deep"):
        cyclr.join([spec, COSINE], [3])


def test_deeply_nested_lists_are_refused_not_recursed():
    data: list = [0.1]
    for _ in range(5000):
        data = [data]
    with pytest.raises(TypeError, match=r"CyclicLR\.base_lr\[0\] .*got a list"):
        cyclr.from_dict({"schedule": "CyclicLR", "base_lr": data})


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["schedule", "spec", "specs", "boundaries", "warmup_steps", "base_lr", "T_max", 1]),
        children | st.sampled_from(["Warmup", "Join", "CyclicLR", "CosineAnnealingLR"]), max_size=4),
    max_leaves=20,
))
def test_arbitrary_data_gives_a_spec_or_a_clear_error(data):
    try:
        spec = cyclr.from_dict(data)
    except (TypeError, ValueError) as error:
        assert str(error)
    else:
        assert cyclr.from_dict(spec.to_dict()) == spec
