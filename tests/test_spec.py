"""The contract every spec shares: steps in, shapes out, precompute, serialization, errors."""

from __future__ import annotations

import numpy as np
import pytest

import cyclr
from cyclr import CyclicLR

SPEC = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5)
GROUPED = CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=5)


def test_python_int_gives_python_floats():
    lr, momentum = SPEC(4)
    assert type(lr) is float and type(momentum) is float


def test_numpy_integer_scalar_is_a_step():
    assert SPEC.lr_at(np.int32(4)) == SPEC.lr_at(4)
    assert SPEC.lr_at(np.uint8(4)) == SPEC.lr_at(4)


@pytest.mark.parametrize("shape", [(0,), (7,), (2, 3), (2, 1, 4)])
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.uint64])
def test_integer_arrays_keep_their_shape(shape, dtype):
    steps = (np.arange(int(np.prod(shape))) % 100).astype(dtype).reshape(shape)
    lr, momentum = SPEC(steps)
    assert lr.shape == shape and lr.dtype == np.float64
    assert momentum.shape == shape
    for index in np.ndindex(*shape):
        assert lr[index] == SPEC.lr_at(int(steps[index]))


def test_lists_of_ints_are_arrays():
    assert np.array_equal(SPEC.lr_at([0, 1, 2]), SPEC.lr_at(np.arange(3)))


def test_groups_add_a_trailing_axis():
    assert GROUPED.lr_at(2).shape == (2,)
    assert GROUPED.lr_at(np.arange(6).reshape(2, 3)).shape == (2, 3, 2)
    lr, momentum = GROUPED.precompute(10)
    assert lr.shape == momentum.shape == (10, 2)
    assert np.array_equal(lr[4], GROUPED.lr_at(4))
    first = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5)
    second = CyclicLR(base_lr=0.02, max_lr=0.3, step_size_up=3, step_size_down=5)
    assert np.array_equal(lr[:, 0], first.lr_at(np.arange(10)))
    assert np.array_equal(lr[:, 1], second.lr_at(np.arange(10)))


def test_momentum_is_none_when_not_cycled():
    spec = CyclicLR(cycle_momentum=False)
    assert spec.momentum_at(5) is None
    assert spec.momentum_at(np.arange(3)) is None
    assert spec(5)[1] is None
    assert spec.precompute(4)[1] is None
    assert not spec.has_momentum


@pytest.mark.parametrize("num_steps", [0, 1, 15, 16, 17, 1000])
@pytest.mark.parametrize("start", [0, 1, 7, 8, 10**12 + 3])
@pytest.mark.parametrize("spec", [SPEC, GROUPED, CyclicLR(mode="triangular2", step_size_up=2, step_size_down=1)])
def test_precompute_covers_every_cycle_boundary(spec, start, num_steps):
    lr, momentum = spec.precompute(num_steps, start=start)
    steps = np.arange(start, start + num_steps)
    assert np.array_equal(lr, spec.lr_at(steps))
    assert np.array_equal(momentum, spec.momentum_at(steps))


def test_precompute_into_preallocated_arrays():
    lr, momentum = np.empty(50), np.empty(50)
    result = SPEC.precompute(50, start=3, out=(lr, momentum))
    assert result[0] is lr and result[1] is momentum
    assert np.array_equal(lr, SPEC.lr_at(np.arange(3, 53)))


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [-1, np.int64(-5), np.array([0, 3, -2])])
def test_negative_step(step):
    with pytest.raises(ValueError, match=r"step must be >= 0, got -"):
        SPEC.lr_at(step)
    with pytest.raises(ValueError, match=r"step must be >= 0, got -"):
        SPEC.momentum_at(step)


@pytest.mark.parametrize("step", [1.0, 2.5, np.float32(3), np.array([1.0, 2.0]), "3", None, [1.5]])
def test_non_integer_step(step):
    with pytest.raises(TypeError, match=r"step must be an integer or an array of integers, got"):
        SPEC.lr_at(step)


@pytest.mark.parametrize("step", [True, np.bool_(False), np.array([True, False])])
def test_bool_is_not_a_step(step):
    with pytest.raises(TypeError, match=r"step must be an integer"):
        SPEC.lr_at(step)


def test_step_beyond_int64():
    with pytest.raises(ValueError, match=r"step must be < 2\*\*63"):
        SPEC.lr_at(np.array([2**64 - 1], dtype=np.uint64))


def test_momentum_of_a_spec_without_momentum_still_checks_the_step():
    with pytest.raises(ValueError, match=r"step must be >= 0"):
        CyclicLR(cycle_momentum=False).momentum_at(-1)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"num_steps": -1}, ValueError, r"num_steps must be an integer >= 0, got -1"),
    ({"num_steps": 10.0}, TypeError, r"num_steps must be an integer, got 10.0"),
    ({"num_steps": 10, "start": -2}, ValueError, r"start must be an integer >= 0, got -2"),
    ({"num_steps": 10, "backend": "numbaa"}, ValueError, r"backend must be one of \['numpy', 'numba'\], got 'numbaa'; did you mean 'numba'\?"),
])
def test_precompute_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        SPEC.precompute(**kwargs)


@pytest.mark.parametrize(("out", "error", "message"), [
    ([np.empty(5), np.empty(5)], TypeError, r"out must be a tuple \(lr, momentum\)"),
    ((np.empty(4), np.empty(5)), ValueError, r"out\[0\] must be float64 of shape \(5,\), got float64 \(4,\)"),
    ((np.empty(5), np.empty(5, dtype=np.float32)), ValueError, r"out\[1\] must be float64"),
    ((np.empty(5), None), TypeError, r"out\[1\] must be a numpy array, got NoneType"),
    ((np.empty(10)[::2], np.empty(5)), ValueError, r"out\[0\] must be C-contiguous"),
])
def test_precompute_out_errors(out, error, message):
    with pytest.raises(error, match=message):
        SPEC.precompute(5, out=out)


def test_precompute_out_momentum_must_be_none_without_momentum():
    with pytest.raises(ValueError, match=r"out\[1\] must be None"):
        CyclicLR(cycle_momentum=False).precompute(5, out=(np.empty(5), np.empty(5)))


def test_from_dict_unknown_schedule():
    with pytest.raises(ValueError, match=r"unknown schedule 'Cyclic'; known: \[.*'CyclicLR'"):
        cyclr.from_dict({"schedule": "Cyclic"})


def test_from_dict_unknown_parameter():
    data = {**SPEC.to_dict(), "step_size": 10}
    with pytest.raises(ValueError, match=r"unknown parameters for CyclicLR: \['step_size'\]"):
        cyclr.from_dict(data)


def test_from_dict_validates_like_the_constructor():
    with pytest.raises(ValueError, match=r"step_size_up must be a positive integer, got 0"):
        cyclr.from_dict({**SPEC.to_dict(), "step_size_up": 0})


def test_from_dict_needs_a_mapping():
    with pytest.raises(TypeError, match=r"from_dict expects a mapping, got list"):
        cyclr.from_dict([1, 2])


# -- issue 10: integer limits, aliased outputs, the accepted step inputs ----------------------------------


def test_precompute_start_beyond_int64_is_a_value_error_naming_start():
    # It raised OverflowError ("Python int too large to convert to C long").
    for backend in ("numpy", "numba"):
        with pytest.raises(ValueError, match=r"start must be <= 2\*\*63 - 1 \(steps are held in int64\), got 9223372036854775808"):
            SPEC.precompute(4, start=2**63, backend=backend)
        with pytest.raises(ValueError, match=r"start must be <= 2\*\*63 - 1 .* got an integer of 31 digits"):
            SPEC.precompute(4, start=10**30, backend=backend)


@pytest.mark.parametrize("start, num_steps", [(2**63 - 5, 10), (2**63 - 1, 2), (1, 2**63)])
def test_precompute_past_int64_is_a_value_error_naming_the_limit(start, num_steps):
    # start + num_steps > 2**63 wrapped silently.
    for backend in ("numpy", "numba"):
        with pytest.raises(ValueError, match=r"start \+ num_steps must be <= 2\*\*63 \(the last step, start \+ num_steps - 1, is held in int64\)"):
            SPEC.precompute(num_steps, start=start, backend=backend)


@pytest.mark.parametrize("spec", [SPEC, GROUPED, CyclicLR(mode="triangular2", step_size_up=2)], ids=["plain", "grouped", "triangular2"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_precompute_up_to_the_last_int64_step_equals_the_scalar_path(spec, backend):
    start = 2**63 - 20
    lr, momentum = spec.precompute(20, start=start, backend=backend)
    for i in range(20):
        expected_lr, expected_momentum = spec(start + i)
        np.testing.assert_array_equal(lr[i], expected_lr)
        np.testing.assert_array_equal(momentum[i], expected_momentum)


def test_precompute_refuses_aliased_outputs():
    buffer = np.empty(9)
    for out in ((buffer[:8], buffer[:8]), (buffer[:8], buffer[1:])):
        with pytest.raises(ValueError, match=r"out\[0\] and out\[1\] must not share memory"):
            SPEC.precompute(8, out=out)
    grouped = np.empty((8, 2))
    with pytest.raises(ValueError, match=r"must not share memory"):
        GROUPED.precompute(8, out=(grouped, grouped))


def test_an_empty_list_is_an_empty_array_of_steps():
    # lr_at([]) was a TypeError while lr_at(np.array([], int)) gave [].
    for steps in ([], (), np.array([], dtype=np.int64)):
        lr = SPEC.lr_at(steps)
        assert lr.dtype == np.float64 and lr.shape == (0,)
    assert SPEC.lr_at([[], []]).shape == (2, 0)
    assert GROUPED.momentum_at([]).shape == (0, 2)
    lr, momentum = SPEC([])
    assert lr.shape == momentum.shape == (0,)


@pytest.mark.parametrize(
    "steps, error, pattern",
    [
        ([1.0, 2.0], TypeError, r"step must be an integer or an array of integers"),
        ([True, 2], TypeError, r"step must be an integer or an array of integers"),
        ([[1], [1, 2]], TypeError, r"step must be an integer or an array of integers"),
        (["1"], TypeError, r"step must be an integer or an array of integers"),
        ([None], TypeError, r"step must be an integer or an array of integers"),
        (np.array([], dtype=np.float64), TypeError, r"array of dtype float64"),
        ([2**64], ValueError, r"step must be < 2\*\*63 and >= 0 in an array \(arrays hold int64 steps\)"),
        ([1, -(2**70)], ValueError, r"step must be < 2\*\*63 and >= 0 in an array"),
        ([3, -1], ValueError, r"step must be >= 0, got -1"),
        (-(2**70), ValueError, r"step must be >= 0, got an integer of 22 digits"),
    ],
    ids=repr,
)
def test_the_step_inputs_that_are_refused(steps, error, pattern):
    for evaluate in (SPEC.lr_at, SPEC.momentum_at, SPEC):
        with pytest.raises(error, match=pattern):
            evaluate(steps)


def test_python_ints_past_int64_are_exact_on_the_scalar_path():
    period = 8
    for step in (2**63, 2**64 + 3, 2**100 + 5, np.uint64(2**64 - 1)):
        assert SPEC.lr_at(step) == SPEC.lr_at(int(step) % period)
        assert SPEC(step) == SPEC(int(step) % period)


def test_an_integer_past_pythons_4300_digit_limit_is_described_not_printed():
    with pytest.raises(ValueError, match=r"base_lr must be finite, got an integer of 5001 digits \(about 2\*\*16609\)"):
        cyclr.CosineAnnealingLR(base_lr=10**5000, T_max=10)
