"""Hostile input, closed: every public constructor and entry point, given values of every type.

Each call either raises a ValueError/TypeError whose message names the parameter, or gives finite values
inside the spec's documented bounds on every path, the paths agreeing: the NumPy path within 1 ulp of
the Python-int path, ``precompute`` bit for bit equal to ``spec(step)``, numba within 1 ulp.

The examples are derandomized (the same ones on every run); the number comes from the profile.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn
from oracle import ulps

import cyclr
import cyclr.numba
from cyclr._limits import exact_steps
from cyclr.compose import Join, Warmup

deterministic = settings(derandomize=True)

INT64_MAX = 2**63 - 1


def _scale_half(x: int) -> float:
    return 0.5


def _scale_nan(x: int) -> float:
    return math.nan


def _scale_big(x: int) -> float:
    return 1.5


# The values a hostile user tries, of every type; each parameter also gets ordinary values.
WEIRD: list[Any] = [
    None, "0.1", "", b"1", True, False, np.True_, np.False_,
    np.float64(0.5), np.float32(0.25), np.int64(7), np.uint64(2**64 - 1), np.int8(-3),
    np.array(0.5), np.array(3), np.array([0.1, 0.2]), np.array([]), np.str_("exp_range"),
    Fraction(1, 3), Fraction(10**400, 3), Decimal("0.1"), Decimal("1e400"),
    2**70, -(2**70), 10**400, 2**63, 2**63 - 1, 2**62, 2**53 + 1, 2**31,
    -0.0, 0.0, 5e-324, 1e-310, math.nan, math.inf, -math.inf, 1e308, -1e308, 1.7976931348623157e308,
    -1, 0, 1, 2, 1.0, 0.5, 1.5, 2.5,
    [], [0.1], [0.1, 0.2], [0.1, 0.2, 0.3], [[0.1]], (0.5,), [math.nan, 0.1], ["a"], {"a": 1}, 1j,
    "triangular", "triangular2", "exp_range", "cos", "linear", "exp", "cycle", "iterations", "cosine", "welch",
    _scale_half, _scale_nan, _scale_big, object(),
]
weird = st.sampled_from(WEIRD)
rates = st.floats(0.0, 1.0) | st.floats(0.0, 1e308) | st.sampled_from([5e-324, 1e-300, 8.98e307])
counts = st.integers(1, 100) | st.integers(1, 2**64)
ORDINARY = {
    "base_lr": rates, "max_lr": rates, "eta_min": rates, "start_lr": rates, "end_lr": rates,
    "base_momentum": rates, "max_momentum": rates,
    "step_size_up": counts, "step_size_down": st.none() | counts, "total_steps": counts,
    "epochs": st.none(), "steps_per_epoch": st.none(), "T_0": counts, "T_mult": st.integers(1, 5) | counts,
    "T_max": counts, "num_steps": counts, "warmup_steps": counts,
    "gamma": st.floats(0.0, 1.0) | st.floats(0.999, 1.001), "pct_start": st.floats(0.0, 1.0),
    "div_factor": st.floats(1e-3, 1e3) | st.floats(0.0, 1e308), "final_div_factor": st.floats(1e-3, 1e5) | st.floats(0.0, 1e308),
    "mode": st.sampled_from(["triangular", "triangular2", "exp_range", "exp", "linear"]),
    "scale_mode": st.sampled_from([None, "cycle", "iterations"]),
    "scale_fn": st.sampled_from([None, None, _scale_half, _scale_nan, _scale_big]),
    "cycle_momentum": st.booleans(), "three_phase": st.booleans(),
    "anneal_strategy": st.sampled_from(["cos", "linear"]),
    "waveform": st.sampled_from(["triangular", "cosine", "welch"]),
}
CONSTRUCTORS = {
    "CyclicLR": (cyclr.CyclicLR, ["base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma", "scale_fn",
                                  "scale_mode", "cycle_momentum", "base_momentum", "max_momentum", "waveform"]),
    "OneCycleLR": (cyclr.OneCycleLR, ["max_lr", "total_steps", "epochs", "steps_per_epoch", "pct_start",
                                      "anneal_strategy", "cycle_momentum", "base_momentum", "max_momentum",
                                      "div_factor", "final_div_factor", "three_phase"]),
    "CosineAnnealingWarmRestarts": (cyclr.CosineAnnealingWarmRestarts, ["base_lr", "T_0", "T_mult", "eta_min"]),
    "CosineAnnealingLR": (cyclr.CosineAnnealingLR, ["base_lr", "T_max", "eta_min"]),
    "LRRangeTest": (cyclr.LRRangeTest, ["start_lr", "end_lr", "num_steps", "mode"]),
}
steps = (
    st.integers(0, 100) | st.integers(0, 2**64) | st.integers(2**63 - 100, 2**63 + 100)
    | st.integers(2**53 - 10, 2**53 + 10) | st.integers(2**31 - 10, 2**31 + 10)
)


@st.composite
def arguments(draw: DrawFn, names: list[str]) -> dict[str, Any]:
    """Keyword arguments: each parameter left out, ordinary, or hostile."""
    kwargs = {}
    for name in names:
        kind = draw(st.sampled_from(["default", "ordinary", "ordinary", "weird"]))
        if kind == "ordinary":
            kwargs[name] = draw(ORDINARY[name])
        elif kind == "weird":
            kwargs[name] = draw(weird)
    return kwargs


def assert_names_a_parameter(error: Exception, names: list[str]) -> None:
    message = str(error)
    assert type(error) in (ValueError, TypeError), f"{type(error).__name__}: {message}"
    assert any(name in message for name in names), f"no parameter named in: {message}"
    assert len(message) < 1000, "the message prints a huge value"


# -- the bounds each spec documents ---------------------------------------------------------------------


def _span(*values: Any) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.array([np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(values[0]) or ()) for v in values])
    return stacked.min(axis=0), stacked.max(axis=0)


def bounds(spec: cyclr.Spec, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per group that ``quantity`` stays within at every step, as documented."""
    if isinstance(spec, cyclr.CyclicLR):
        pair = (spec.base_lr, spec.max_lr) if quantity == "lr" else (spec.base_momentum, spec.max_momentum)
        return _span(*np.broadcast_arrays(*pair))
    if isinstance(spec, cyclr.OneCycleLR):
        if quantity == "momentum":
            return _span(*np.broadcast_arrays(spec.base_momentum, spec.max_momentum))
        top = np.asarray(spec.max_lr, dtype=np.float64)
        initial = top / spec.div_factor
        return _span(top, initial, initial / spec.final_div_factor)
    if isinstance(spec, (cyclr.CosineAnnealingLR, cyclr.CosineAnnealingWarmRestarts)):
        return _span(*np.broadcast_arrays(spec.base_lr, spec.eta_min))
    if isinstance(spec, cyclr.LRRangeTest):
        return _span(spec.start_lr, spec.end_lr)
    if isinstance(spec, Warmup):
        low, high = bounds(spec.spec, quantity)
        if quantity == "lr":
            start = np.broadcast_to(np.asarray(spec.start_lr, dtype=np.float64), np.shape(low))
            return np.minimum(low, start), np.maximum(high, start)
        return low, high
    assert isinstance(spec, Join)
    parts = [bounds(part, quantity) for part in spec.specs]
    return np.min([low for low, _ in parts], axis=0), np.max([high for _, high in parts], axis=0)


def assert_within_bounds(spec: cyclr.Spec, quantity: str, values: Any) -> None:
    values = np.asarray(values, dtype=np.float64)
    assert np.all(np.isfinite(values)), f"non-finite {quantity}: {values}"
    low, high = bounds(spec, quantity)
    # start + delta * shape rounds: an ulp of the larger endpoint either way, and a few for the cosines.
    slack = 4 * np.spacing(np.minimum(np.maximum(np.abs(low), np.abs(high)), 1.7976931348623157e308 / 2))
    assert np.all(values >= low - slack) and np.all(values <= high + slack), (quantity, values, low, high)


def check_spec(spec: cyclr.Spec, chosen: list[int]) -> None:
    """The contract at ``chosen`` steps, on the Python, NumPy and NumPy-precompute paths."""
    quantities = ("lr", "momentum") if spec.has_momentum else ("lr",)
    try:
        exact = {step: spec(step) for step in chosen}  # Python ints: exact at any size
    except ValueError as error:  # only a custom scale_fn may refuse at a step
        assert "scale_fn(" in str(error) and any(callable(getattr(spec, "scale_fn", None)) for _ in [0]), error
        return
    for step, values in exact.items():
        for quantity, value in zip(("lr", "momentum"), values):
            if quantity in quantities:
                assert_within_bounds(spec, quantity, value)
            else:
                assert value is None
    in_int64 = [step for step in chosen if step <= INT64_MAX]
    if in_int64:
        array = np.array(in_int64, dtype=np.int64)
        for index, quantity in enumerate(quantities):
            on_array = (spec.lr_at if quantity == "lr" else spec.momentum_at)(array)
            expected = np.array([exact[step][index] for step in in_int64])
            assert ulps(on_array, expected) <= 1, quantity
        start = in_int64[0]
        count = min(6, 2**63 - start)
        lr, momentum = spec.precompute(count, start=start)
        for i in range(count):
            at = spec(start + i)
            np.testing.assert_array_equal(lr[i], at[0])
            if momentum is not None:
                np.testing.assert_array_equal(momentum[i], at[1])
    beyond = [step for step in chosen if step > INT64_MAX]
    if beyond:
        with pytest.raises(ValueError, match=r"step must be < 2\*\*63"):
            spec.lr_at(np.array(beyond, dtype=object).tolist())
        with pytest.raises(ValueError, match=r"start must be <= 2\*\*63 - 1"):
            spec.precompute(1, start=beyond[0])


# -- every constructor ----------------------------------------------------------------------------------


def build(cls: type, kwargs: dict[str, Any], names: list[str]) -> cyclr.Spec | None:
    """``cls(**kwargs)``, or None after checking that the refusal names a parameter."""
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as error:
        assert_names_a_parameter(error, names)
        return None
    except Exception as error:  # anything else (OverflowError, RecursionError, ...) is a defect
        raise AssertionError(f"{type(error).__name__} from {cls.__name__}({kwargs!r}): {error}") from error


def assert_plain_fields(spec: cyclr.Spec, names: list[str]) -> None:
    """After construction every field holds plain Python data (or a spec, or a callable)."""
    for name in names:
        value = getattr(spec, name)
        for item in value if isinstance(value, tuple) else (value,):
            assert item is None or callable(item) or type(item) in (int, float, bool, str), (name, type(item))


@pytest.mark.parametrize("name", list(CONSTRUCTORS))
@deterministic
@given(data=st.data())
def test_every_constructor_refuses_by_name_or_gives_bounded_agreeing_values(name, data):
    cls, names = CONSTRUCTORS[name]
    kwargs = data.draw(arguments(names), label="kwargs")
    spec = build(cls, kwargs, names)
    if spec is not None:
        assert_plain_fields(spec, names)
        check_spec(spec, data.draw(st.lists(steps, min_size=1, max_size=5), label="steps"))


REQUIRED = {"OneCycleLR": {"max_lr": 0.1, "total_steps": 100}, "CosineAnnealingWarmRestarts": {"base_lr": 0.1, "T_0": 10},
            "CosineAnnealingLR": {"base_lr": 0.1, "T_max": 10}}
SWEEP_STEPS = [0, 1, 5, 99, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64]

@pytest.mark.parametrize("name", list(CONSTRUCTORS))
def test_every_hostile_value_in_every_parameter(name):
    """Systematically, not by chance: each hostile value in each parameter, the others ordinary."""
    cls, names = CONSTRUCTORS[name]
    failures = []
    for parameter in names:
        for value in WEIRD:
            kwargs = {**REQUIRED.get(name, {}), parameter: value}
            if parameter in ("epochs", "steps_per_epoch"):
                kwargs.pop("total_steps", None)
                kwargs.setdefault("epochs", 10) if parameter == "steps_per_epoch" else kwargs.setdefault("steps_per_epoch", 10)
            try:
                spec = build(cls, kwargs, names)
                if spec is not None:
                    assert_plain_fields(spec, names)
                    check_spec(spec, SWEEP_STEPS)
            except AssertionError as error:
                failures.append(f"{name}({parameter}={value!r}): {str(error)[:300]}")
            except Exception as error:  # noqa: BLE001 - anything but a named refusal is a defect
                failures.append(f"{name}({parameter}={value!r}): {type(error).__name__}: {str(error)[:300]}")
    assert not failures, "\n".join(failures)


def test_every_hostile_value_in_warmup_and_join():
    inner = cyclr.CyclicLR(step_size_up=3)
    failures = []
    cases = [(cyclr.warmup, {"spec": inner, "warmup_steps": 10, "start_lr": value}, ["start_lr"]) for value in WEIRD]
    cases += [(cyclr.warmup, {"spec": inner, "warmup_steps": value}, ["warmup_steps"]) for value in WEIRD]
    cases += [(cyclr.warmup, {"spec": value, "warmup_steps": 10}, ["spec"]) for value in WEIRD]
    cases += [(cyclr.join, {"specs": [inner, inner], "boundaries": [value]}, ["boundaries"]) for value in WEIRD]
    cases += [(cyclr.join, {"specs": [inner, inner], "boundaries": value}, ["boundaries"]) for value in WEIRD]
    cases += [(cyclr.join, {"specs": value, "boundaries": [5]}, ["specs"]) for value in WEIRD]
    for function, kwargs, names in cases:
        try:
            spec = build(function, kwargs, names + ["spec", "specs"])
            if spec is not None:
                check_spec(spec, [0, 2, 5, 9, 10, 2**31, 2**63 - 1, 2**64])
        except AssertionError as error:
            failures.append(f"{function.__name__}({kwargs!r}): {str(error)[:300]}")
        except Exception as error:  # noqa: BLE001
            failures.append(f"{function.__name__}({kwargs!r}): {type(error).__name__}: {str(error)[:300]}")
    assert not failures, "\n".join(failures)


SIMPLE = [
    cyclr.CyclicLR(step_size_up=3),
    cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000),
    cyclr.OneCycleLR(max_lr=0.1, total_steps=50),
    cyclr.CosineAnnealingLR(0.1, T_max=7, eta_min=0.01),
]
parts = st.sampled_from(SIMPLE) | st.sampled_from(WEIRD)


@deterministic
@given(spec=parts, warmup_steps=counts | weird, start_lr=rates | weird, chosen=st.lists(steps, min_size=1, max_size=4))
def test_warmup_refuses_by_name_or_gives_bounded_agreeing_values(spec, warmup_steps, start_lr, chosen):
    names = ["spec", "warmup_steps", "start_lr"]
    built = build(cyclr.warmup, {"spec": spec, "warmup_steps": warmup_steps, "start_lr": start_lr}, names)
    if built is not None:
        check_spec(built, chosen)


@deterministic
@given(
    specs=st.lists(parts, max_size=4) | weird,
    boundaries=st.lists(counts | weird, max_size=4) | weird,
    chosen=st.lists(steps, min_size=1, max_size=4),
)
def test_join_refuses_by_name_or_gives_bounded_agreeing_values(specs, boundaries, chosen):
    if isinstance(specs, list) and isinstance(boundaries, list) and len(boundaries) >= len(specs):
        boundaries = sorted(b for b in boundaries if isinstance(b, int) and not isinstance(b, bool))[: max(len(specs) - 1, 0)]
    built = build(cyclr.join, {"specs": specs, "boundaries": boundaries}, ["specs", "boundaries"])
    if built is not None:
        check_spec(built, chosen)


# -- every entry point, given hostile arguments ---------------------------------------------------------

STEP_LIKE = WEIRD + [
    [1, 2], [[1, 2], [3, 4]], (3, 4), np.arange(4), np.arange(4, dtype=np.uint8), np.array([2**63], dtype=np.uint64),
    np.array([-1]), np.array([1.0]), np.array([True]), [1, 2**64], [np.uint64(2**64 - 1)], [[1], [2, 3]], [1, 2.5], [1, True],
]


@pytest.mark.parametrize("spec", SIMPLE + [cyclr.CyclicLR(base_lr=[0.1, 0.2], max_lr=[0.3, 0.4])], ids=lambda s: type(s).__name__)
@deterministic
@given(step=st.sampled_from(STEP_LIKE) | steps)
def test_lr_at_momentum_at_and_call_refuse_by_name_or_agree(spec, step):
    results = []
    for evaluate in (spec.lr_at, spec.momentum_at, spec):
        try:
            results.append(evaluate(step))
        except (ValueError, TypeError) as error:
            assert_names_a_parameter(error, ["step"])
            results.append(type(error))
    if isinstance(results[0], type):
        assert results[1] is results[0] and results[2] is results[0]  # the same refusal from each
        return
    lr, momentum = results[2]
    np.testing.assert_array_equal(lr, results[0])
    np.testing.assert_array_equal(momentum, results[1])
    assert_within_bounds(spec, "lr", lr)
    if spec.has_momentum:
        assert_within_bounds(spec, "momentum", momentum)


@pytest.mark.parametrize("spec", SIMPLE, ids=lambda s: type(s).__name__)
@deterministic
@given(
    num_steps=st.integers(0, 10) | st.sampled_from(WEIRD),
    start=steps | st.sampled_from(WEIRD),
    backend=st.sampled_from(["numpy", "numba"]) | st.sampled_from(WEIRD),
    out=st.sampled_from(["fresh", "none", "alias", "float32", "short", "weird"]),
)
def test_precompute_refuses_by_name_or_equals_the_scalar_path(spec, num_steps, start, backend, out):
    n = num_steps if type(num_steps) is int and 0 <= num_steps <= 10 else 4
    shape = (n,) if spec.groups is None else (n, spec.groups)
    buffers = {
        "fresh": (np.empty(shape), np.empty(shape) if spec.has_momentum else None),
        "none": None,
        "alias": (lambda a: (a, a))(np.empty(shape)),
        "float32": (np.empty(shape, np.float32), None),
        "short": (np.empty(max(n - 1, 0)), None),
        "weird": 5,
    }
    try:
        lr, momentum = spec.precompute(num_steps, start=start, backend=backend, out=buffers[out])
    except (ValueError, TypeError) as error:
        assert_names_a_parameter(error, ["num_steps", "start", "backend", "out"])
        return
    for i in range(len(lr)):
        at = spec(int(start) + i)
        if backend == "numpy":
            np.testing.assert_array_equal(lr[i], at[0])
            np.testing.assert_array_equal(momentum if momentum is None else momentum[i], at[1])
        else:
            assert ulps(lr[i], at[0]) <= 1 and (momentum is None or ulps(momentum[i], at[1]) <= 1)


# -- numba: a fixed set of extreme specs, so that kernels compile once -----------------------------------

EXTREME = [
    cyclr.CyclicLR(base_lr=1e308, max_lr=0.0, step_size_up=2**62 - 1, step_size_down=2**62, mode="triangular2"),
    cyclr.CyclicLR(base_lr=5e-324, max_lr=1.7976931348623157e308, step_size_up=1, mode="exp_range", gamma=5e-324),
    cyclr.OneCycleLR(max_lr=1e-300, total_steps=2**53, div_factor=1e-8, final_div_factor=1e300, three_phase=True),
    cyclr.CosineAnnealingWarmRestarts(8.98e307, T_0=1, T_mult=1000, eta_min=5e-324),
    cyclr.CosineAnnealingWarmRestarts(0.1, T_0=2**63 - 1, T_mult=2**63 - 1),
    cyclr.CosineAnnealingLR(1.7976931348623157e308, T_max=2**62 - 1, eta_min=1.7976931348623157e308 / 2),
]


@pytest.mark.parametrize("spec", EXTREME, ids=lambda s: type(s).__name__)
@deterministic
@given(chosen=st.lists(steps, min_size=1, max_size=5))
def test_extreme_specs_agree_on_every_path_numba_included(spec, chosen):
    check_spec(spec, chosen)
    compiled = cyclr.numba.compile(spec)
    limit = exact_steps(spec)
    for step in chosen:
        if step > INT64_MAX:
            continue
        lr, momentum = spec(step)
        if step < limit:  # past it the compiled function is not exact (see docs/limits.md)
            got_lr, got_momentum = compiled(step)
            assert ulps(got_lr, lr) <= 1 and (momentum is None or ulps(got_momentum, momentum) <= 1)
        count = min(4, 2**63 - step)
        on_numba = spec.precompute(count, start=step, backend="numba")[0]
        assert ulps(on_numba, [spec.lr_at(step + i) for i in range(count)]) <= 1


@pytest.mark.parametrize("value", WEIRD[:20], ids=repr)
def test_numba_compile_refuses_what_is_not_a_spec(value):
    with pytest.raises(TypeError, match=r"compile expects a cyclr spec"):
        cyclr.numba.compile(value)


def test_a_jitted_scale_fn_is_compiled_and_checked():
    @numba.njit
    def quarter(x):
        return 0.25

    spec = cyclr.CyclicLR(step_size_up=2, scale_fn=quarter)
    check_spec(spec, [0, 3, 2**63 - 1, 2**64])
    assert cyclr.numba.compile(spec)(3) == spec(3)
