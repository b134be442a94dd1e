"""The scalar hot path: ``spec.lr_at`` as one flat function (``cyclr._inline``), equal to the closure.

``spec.lr_at(step)`` with a Python int runs the spec's formula rewritten from its own source (the order
functions inlined, fixed choices folded, a guard in front). These tests hold it to the closure it replaces:
the same floats bit for bit, on every family, at small steps and at Python ints beyond int64; every other
input takes the general, checked path with its errors; nothing of it is saved, pickled or compared.
"""

from __future__ import annotations

import copy
import math
import pickle
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import cyclic_kwargs, one_cycle_kwargs

import cyclr
from cyclr._inline import inline
from cyclr._ops import PYTHON
from cyclr.cyclic import WAVEFORMS

SPECS = {
    "triangular": cyclr.CyclicLR(step_size_up=5, step_size_down=8),
    "triangular2": cyclr.CyclicLR(step_size_up=5, mode="triangular2"),
    "exp_range": cyclr.CyclicLR(step_size_up=7, step_size_down=3, mode="exp_range", gamma=0.99994),
    "exp_range-tiny-gamma": cyclr.CyclicLR(step_size_up=4, mode="exp_range", gamma=2**-30),
    "exp_range-cosine-groups": cyclr.CyclicLR(
        base_lr=[0.001, 0.0], max_lr=[0.01, 1.0], step_size_up=6, mode="exp_range", gamma=0.9, waveform="cosine"
    ),
    "welch": cyclr.CyclicLR(step_size_up=4, waveform="welch"),
    "scale_fn": cyclr.CyclicLR(step_size_up=3, scale_fn=lambda x: 1 / x),
    "scale_fn-iterations": cyclr.CyclicLR(step_size_up=3, scale_fn=lambda x: 0.5, scale_mode="iterations"),
    "one-cycle": cyclr.OneCycleLR(max_lr=0.1, total_steps=90),
    "one-cycle-3-linear": cyclr.OneCycleLR(max_lr=0.1, total_steps=77, three_phase=True, anneal_strategy="linear"),
    "sgdr": cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=4, T_mult=3, eta_min=0.001),
    "sgdr-flat": cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=9),
    "cosine": cyclr.CosineAnnealingLR(base_lr=0.1, T_max=33),
    "warmup": cyclr.warmup(cyclr.OneCycleLR(max_lr=0.1, total_steps=50), 10, 0.001),
    "range-test": cyclr.LRRangeTest(),
    "join": cyclr.join([cyclr.CosineAnnealingLR(0.1, 20), cyclr.CosineAnnealingWarmRestarts(0.05, 7, 2)], [20]),
}
STEPS = [*range(0, 130), 997, 2000, 123_457, 2**31 - 1, 2**40 + 3, 2**62 + 5, 2**63 - 1, 2**63 + 11, 2**100 + 7]


def fresh(spec):
    """A new, unused copy (the fast function is made on first use)."""
    return cyclr.from_dict(spec.to_dict()) if "scale_fn" not in repr(spec) else copy.deepcopy(spec)


def same(a, b):
    """Bit for bit: equal floats (arrays for groups) or both None."""
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(np.asarray(a), np.asarray(b)) and np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.parametrize("name", SPECS)
def test_lr_at_is_the_closure_bit_for_bit(name):
    spec = fresh(SPECS[name])
    closures = spec._python_formulas
    for quantity, method in (("lr", spec.lr_at), ("momentum", spec.momentum_at)):
        closure = closures[quantity]
        for step in STEPS:
            try:
                expected = None if closure is None else closure(step)
            except (OverflowError, ValueError) as error:  # the closure's own limit: the same error
                with pytest.raises(type(error)):
                    method(step)
                continue
            assert same(method(step), expected), (quantity, step)
            assert same(getattr(type(spec), f"{quantity}_at")(spec, step), expected), (quantity, step)


@pytest.mark.parametrize("name", SPECS)
def test_call_matches_lr_at_and_momentum_at(name):
    spec = fresh(SPECS[name])
    for step in STEPS[:40] + STEPS[-6:]:
        lr, momentum = spec(step)
        assert same(lr, spec.lr_at(step)) and same(momentum, spec.momentum_at(step))


@given(kwargs=cyclic_kwargs(waveforms=True), step=st.integers(0, 2**70))
def test_cyclic_flat_function_equals_closure(kwargs, step):
    spec = cyclr.CyclicLR(**kwargs)
    for quantity, method in (("lr", spec.lr_at), ("momentum", spec.momentum_at)):
        closure = spec._python_formulas[quantity]
        assert same(method(step), None if closure is None else closure(step))


@given(kwargs=one_cycle_kwargs(), step=st.integers(0, 500))
def test_one_cycle_flat_function_equals_closure(kwargs, step):
    spec = cyclr.OneCycleLR(**kwargs)
    for quantity, method in (("lr", spec.lr_at), ("momentum", spec.momentum_at)):
        closure = spec._python_formulas[quantity]
        assert same(method(step), None if closure is None else closure(step))


@pytest.mark.parametrize("waveform", WAVEFORMS)
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_the_cyclic_formula_is_rewritten(mode, waveform):
    # The point of the hot path: one flat function, not a bound method calling a closure.
    spec = fresh(cyclr.CyclicLR(step_size_up=3, mode=mode, gamma=0.9, waveform=waveform))
    assert isinstance(spec.lr_at, types.FunctionType) and isinstance(spec.momentum_at, types.FunctionType)
    assert spec.lr_at.__name__ == "lr_at" and spec.lr_at.__doc__ == cyclr.Spec.lr_at.__doc__
    code = spec.lr_at.__code__
    assert "minimum" not in code.co_freevars  # inlined
    assert not {"hann", "welch", "constant", "halving", "exponential", "by_cycle"} & set(code.co_freevars)
    assert spec.lr_at is spec.lr_at  # made once, then kept


@pytest.mark.parametrize(
    "step, error",
    [
        (True, TypeError),
        (1.0, TypeError),
        (-1, ValueError),
        ("3", TypeError),
        ([1, -2], ValueError),
        (np.array([0.5]), TypeError),
        (2**63, None),  # a Python int: exact on the flat path
    ],
)
def test_other_steps_take_the_checked_path(step, error):
    spec = fresh(SPECS["exp_range"])
    if error is None:
        assert spec.lr_at(step) == spec._python_formulas["lr"](step)
        return
    with pytest.raises(error):
        spec.lr_at(step)
    with pytest.raises(error):
        spec.momentum_at(step)


def test_numpy_integers_and_arrays_keep_their_results():
    spec = fresh(SPECS["exp_range"])
    assert type(spec.lr_at(np.int64(5))) is float and spec.lr_at(np.int64(5)) == spec.lr_at(5)
    values = spec.lr_at(np.arange(40))
    assert values.dtype == np.float64 and np.array_equal(values, [spec.lr_at(k) for k in range(40)])
    assert spec.lr_at([]).shape == (0,)


def test_nothing_of_it_is_saved_pickled_or_compared():
    spec = fresh(SPECS["exp_range-cosine-groups"])
    unused = fresh(spec)
    spec.lr_at(3), spec.momentum_at(3)
    assert "lr_at" in vars(spec)  # the made function lives with the instance, like a cached_property
    assert spec == unused and hash(spec) == hash(unused) and repr(spec) == repr(unused)
    assert spec.to_dict() == unused.to_dict()
    assert pickle.dumps(spec) == pickle.dumps(unused)
    for again in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec), copy.copy(spec)):
        assert "lr_at" not in vars(again) and again == spec
        assert same(again.lr_at(1234), spec.lr_at(1234))


def test_a_subclass_override_is_kept():
    class Shifted(cyclr.CyclicLR):
        def lr_at(self, step):
            return super().lr_at(step) + 1.0

    spec = Shifted(step_size_up=3)
    base = cyclr.CyclicLR(step_size_up=3)
    for _ in range(2):  # super() made no instance attribute that would hide the override
        assert spec.lr_at(2) == base.lr_at(2) + 1.0
    assert "lr_at" not in vars(spec)


def test_inline_refuses_what_it_cannot_rewrite():
    assert inline(lambda step: step) is None  # no def of its own name in the source line
    assert inline(math.cos) is None  # no code

    def two(step, other):
        return step

    assert inline(two) is None

    def nested(step):
        return sum(k for k in range(step))  # a generator: its own scope

    assert inline(nested) is None
    # a spec whose formula cannot be rewritten keeps the method
    spec = cyclr.CyclicLR(step_size_up=3)
    spec.__dict__["_python_formulas"] = {"lr": lambda step: 0.5, "momentum": None}
    assert spec.lr_at(1) == 0.5 and not isinstance(vars(spec).get("lr_at"), types.FunctionType)


def test_inlined_order_functions_keep_order_and_evaluation():
    minimum, maximum = PYTHON.minimum, PYTHON.maximum
    calls = []
    flag, other = True, False

    def log(value):
        calls.append(value)
        return value

    def value(step):
        low = minimum(log(step), log(3))
        if flag:
            high = maximum(log(-0.0), log(0.0))  # ties: maximum keeps its first argument, as the function
        elif other:
            high = 1 / 0
        else:
            high = None
        return low, high, math.copysign(1.0, high) if not other else None

    flat = inline(value)
    assert flat is not None
    for step in (1, 3, 5):
        calls.clear()
        expected = value(step)
        first = list(calls)
        calls.clear()
        assert flat(step) == expected and calls == first
    assert "minimum" not in flat.__code__.co_freevars and "flag" not in flat.__code__.co_freevars
    assert math.copysign(1.0, flat(1)[1]) == math.copysign(1.0, maximum(-0.0, 0.0))
    nan = float("nan")
    assert math.isnan(inline(lambda_free_min(minimum))(nan)) == math.isnan(minimum(nan, 1.0))


def lambda_free_min(minimum):
    def value(step):
        return minimum(step, 1.0)

    return value


def test_a_used_spec_is_freed_at_once_no_reference_cycle():
    import gc
    import weakref

    gc.disable()
    try:
        spec = fresh(SPECS["exp_range"])
        spec.lr_at(3), spec.momentum_at(3), spec.lr_at([1, 2])
        reference = weakref.ref(spec)
        del spec
        assert reference() is None  # freed by its reference count, without the cycle collector
    finally:
        gc.enable()


def test_the_flat_function_outlives_its_spec():
    lr_at = fresh(SPECS["one-cycle"]).lr_at  # the spec itself is gone at once
    expected = SPECS["one-cycle"]
    assert lr_at(5) == expected.lr_at(5)
    assert np.array_equal(lr_at(np.arange(6)), expected.lr_at(np.arange(6)))
    with pytest.raises(ValueError, match="step"):
        lr_at(-1)
    import inspect

    assert list(inspect.signature(lr_at).parameters) == ["step"]


def test_a_closure_with_a_cell_not_yet_filled_is_left_as_it_is():
    """A formula whose closure names a variable assigned after its ``def`` (an empty cell when the spec is
    first used) is not rewritten: ``inline`` returns None and ``lr_at`` takes the method (found with
    CosineDecayRestarts, whose formula referred to a name bound later)."""
    from cyclr._inline import inline

    def factory():
        def value(step):
            return later * step

        assert inline(value) is None  # the cell of `later` is empty here
        later = 0.5
        return value

    assert factory()(4) == 2.0
    spec = cyclr.CosineDecayRestarts(base_lr=0.1, first_decay_steps=10)
    assert spec.lr_at(25) == spec.lr_at(np.array([25]))[0]
