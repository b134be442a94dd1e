"""lr_at / momentum_at / spec() on array-API arrays: torch, JAX, dask, array-api-strict (and CuPy, CUDA).

Oracle: the NumPy path (``spec.lr_at(numpy_array)``), itself tested against torch, optax and Keras.
Integer positions are exact on every path, so the values differ only where a library's float64
operation is not correctly rounded. The bounds, in ulps of the schedule's largest value M (the
error analysis is in docs/arrays.md):

* dask: bit for bit (its blocks are NumPy arrays, and ``pow`` is NumPy's ``float_power``, C's pow,
  as on the NumPy path);
* torch CPU and array-api-strict: 3 ulp(M). Their + - * / are correctly rounded; ``cos`` (torch's
  vectorised one) and ``pow`` (torch's; NumPy's SIMD ``np.power`` under array-api-strict) are within
  1 ulp, and each enters the value multiplied by at most M: two such functions in a formula
  (exp_range's two powers), plus a tie the NumPy path rounds the other way;
* JAX with x64 (XLA on CPU): 6 ulp(M), ``2 + ln(end_lr / start_lr)`` for the exponential range test.
  XLA's vectorised float64 division is 1 ulp off in 14-36% of quotients by a schedule's constants
  (measured: 7, 33, 2000); a quotient ``q`` in [0, 2) that
  feeds ``cos(pi * q)`` moves the value by at most ``pi * M * 2**-53`` (about pi ulp(M)), plus cos's
  own ulp and the shared roundings; one that feeds ``ratio ** q`` moves it by ``ln(ratio)`` ulps of
  the value;
* JAX without x64, and torch without float64: float32 within 2 ulp of the float64 value
  (cyclr._float32's double-float evaluation, as cyclr.jax).
"""

from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from adapters.float32_oracle import CATALOGUE, float32_ulps
from hypothesis import given
from hypothesis import strategies as st
from strategies import cyclic_kwargs

import cyclr
from cyclr.rangetest import LRRangeTest

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")
da = pytest.importorskip("dask.array")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from cyclr import _array_api  # noqa: E402

EXTRA = {
    "exp-range-long": cyclr.CyclicLR(step_size_up=2000, mode="exp_range", gamma=0.99994, waveform="cosine"),
    "exp-range-every-step": cyclr.CyclicLR(step_size_up=1, step_size_down=1, mode="exp_range", gamma=0.9),
    "cosine-long": cyclr.CosineAnnealingLR(0.1, T_max=10**9),
    "sgdr-doubling": cyclr.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2),
    "join-far": cyclr.join(
        [cyclr.CosineAnnealingLR(0.1, 20)] * 4 + [cyclr.CyclicLR(cycle_momentum=False)], [10, 20, 30, 2**62]
    ),
    "triangular2-late": cyclr.CyclicLR(step_size_up=1, step_size_down=1, mode="triangular2"),
}
SPECS = {**CATALOGUE, **EXTRA}
RNG = np.random.default_rng(20261202)
STEPS = np.unique(
    np.concatenate([np.arange(3000), RNG.integers(0, 2**62, 3000), RNG.integers(0, 10**7, 3000), [2**63 - 1]])
).astype(np.int64)
STEPS32 = STEPS[STEPS <= 2**31 - 1].astype(np.int32)


def scale_ulps(actual, expected) -> float:
    """The largest error in ulps of the largest |expected| (per group): the schedule's own scale."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if expected.size == 0:
        return 0.0
    scale = np.spacing(np.max(np.abs(expected), axis=0))
    return float(np.max(np.abs(actual - expected) / scale))


def values(spec, quantity, steps):
    return spec.lr_at(steps) if quantity == "lr" else spec.momentum_at(steps)


QUANTITIES = [(name, quantity) for name, spec in SPECS.items() for quantity in spec.QUANTITIES]


@pytest.fixture
def x64():
    """JAX with float64 on, restored after the test."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def x32():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    yield
    jax.config.update("jax_enable_x64", previous)


# -- values against the NumPy path -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "quantity"), QUANTITIES)
def test_dask_equals_the_numpy_path_bit_for_bit(name, quantity):
    spec = SPECS[name]
    expected = values(spec, quantity, STEPS)
    result = values(spec, quantity, da.from_array(STEPS, chunks=1000))
    if expected is None:
        assert result is None
        return
    assert isinstance(result, da.Array)
    np.testing.assert_array_equal(result.compute(), expected)


@pytest.mark.parametrize(("name", "quantity"), QUANTITIES)
@pytest.mark.parametrize("library", ["torch", "array-api-strict"])
def test_torch_and_strict_within_3_ulp_of_the_schedule_scale(name, quantity, library):
    spec = SPECS[name]
    expected = values(spec, quantity, STEPS)
    steps = torch.from_numpy(STEPS) if library == "torch" else xs.asarray(STEPS)
    result = values(spec, quantity, steps)
    if expected is None:
        assert result is None
        return
    assert result.dtype == (torch.float64 if library == "torch" else xs.float64)
    assert tuple(result.shape) == expected.shape
    assert scale_ulps(np.asarray(result), expected) <= 3.0


def test_torch_cpu_is_exact_where_no_transcendental_is_involved():
    """Integer positions and correctly rounded + - * /: torch equals NumPy bit for bit."""
    for spec in (
        cyclr.CyclicLR(step_size_up=7, step_size_down=3),
        cyclr.OneCycleLR(0.1, 1000, anneal_strategy="linear"),
    ):
        np.testing.assert_array_equal(spec.lr_at(torch.from_numpy(STEPS)).numpy(), spec.lr_at(STEPS))


@pytest.mark.parametrize(("name", "quantity"), QUANTITIES)
def test_jax_x64_within_6_ulp_of_the_schedule_scale(name, quantity, x64):
    spec = SPECS[name]
    expected = values(spec, quantity, STEPS)
    result = values(spec, quantity, jnp.asarray(STEPS))
    if expected is None:
        assert result is None
        return
    assert result.dtype == jnp.float64
    bound = 6.0
    if isinstance(spec, cyclr.CosineDecay):
        # XLA's float64 division is 1 ulp off in about a third of quotients: the error of t / D, times
        # the cosine's argument scale (pi * 2 * num_cycles, over up to two periods), reaches the result
        # as about |argument| / 2 ulps of the scale; 6 ulps was derived for arguments up to 4 pi.
        bound = 6.0 * max(1.0, spec.num_cycles + 0.5)
    if isinstance(spec, LRRangeTest) and spec.mode == "exp":
        bound = 2.0 + math.log(spec.end_lr / spec.start_lr)
    assert scale_ulps(np.asarray(result), expected) <= bound


@pytest.mark.parametrize(("name", "quantity"), QUANTITIES)
def test_jax_float32_within_2_ulp_of_the_float64_value(name, quantity, x32):
    spec = SPECS[name]
    if cyclr._limits.exact_steps(spec, 32) <= 2**31 - 1:
        pytest.skip("not exact in int32")
    expected = values(spec, quantity, STEPS32.astype(np.int64))
    result = values(spec, quantity, jnp.asarray(STEPS32))
    if expected is None:
        assert result is None
        return
    assert result.dtype == jnp.float32
    assert float32_ulps(result, expected) <= 2.0


@pytest.mark.parametrize("name", ["cyclic", "cyclic-hann-groups", "sgdr", "join", "range-test-exp"])
def test_torch_without_float64_is_float32_within_2_ulp(name, monkeypatch):
    """A device without float64 (Apple's MPS), simulated on the CPU: the double-float32 evaluation."""
    monkeypatch.setattr(_array_api, "_has_float64", lambda xp, device, library: False)
    spec = SPECS[name]
    result = spec.lr_at(torch.from_numpy(STEPS32))
    assert result.dtype == torch.float32
    assert float32_ulps(result.numpy(), spec.lr_at(STEPS32.astype(np.int64))) <= 2.0
    with pytest.raises(ValueError, match=r"2\*\*31 in a torch array .*int32"):
        spec.lr_at(torch.tensor([2**31]))


def test_jax_jit_traces_the_array_path(x32):
    spec = CATALOGUE["cyclic-hann-groups"]
    result = jax.jit(spec.lr_at)(jnp.arange(50, dtype=jnp.int32))
    assert result.shape == (50, 2) and result.dtype == jnp.float32
    assert float32_ulps(result, spec.lr_at(np.arange(50))) <= 2.0


# -- shapes, dtypes, devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 0, 3)])
@pytest.mark.parametrize("library", ["torch", "array-api-strict", "dask"])
def test_the_result_has_the_steps_shape_plus_the_groups_axis(shape, library):
    steps = np.asarray(np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) * 3)
    make = {"torch": torch.from_numpy, "array-api-strict": xs.asarray, "dask": da.from_array}[library]
    for spec in (
        cyclr.CyclicLR(step_size_up=4),
        CATALOGUE["cyclic-hann-groups"],
        cyclr.CosineAnnealingLR(0.1, 9),
    ):
        lr, momentum = spec(make(steps))
        wanted = shape if spec.groups is None else (*shape, spec.groups)
        assert tuple(lr.shape) == wanted
        np.testing.assert_array_equal(
            np.asarray(lr.compute() if library == "dask" else lr), spec.lr_at(steps)
        )
        assert (momentum is None) == (not spec.has_momentum)


def test_a_constant_result_is_a_new_writable_array_not_a_broadcast_view():
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1)  # T_cur is 0 at every step: lr is constant
    lr = spec.lr_at(torch.arange(5))
    lr.add_(1.0)  # an expanded view would refuse this
    assert lr.tolist() == [1.1] * 5


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64])
def test_every_torch_integer_dtype_is_accepted(dtype):
    spec = cyclr.CyclicLR(step_size_up=5)
    np.testing.assert_array_equal(
        spec.lr_at(torch.arange(100, dtype=dtype)).numpy(), spec.lr_at(np.arange(100))
    )


def test_torch_results_stay_on_the_steps_device():
    spec = CATALOGUE["join"]
    steps = torch.arange(10, device="meta")  # no data at all: any host copy would fail
    lr = spec.lr_at(steps) if False else _array_api.evaluate(spec, "lr", steps, check=False)
    assert lr.device.type == "meta" and lr.shape == (10,) and lr.dtype == torch.float64


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="CUDA torch needs an NVIDIA GPU; this machine has none"
)
def test_cuda_torch_on_the_device():  # pragma: no cover - no GPU here
    spec = CATALOGUE["cyclic-hann-groups"]
    lr = spec.lr_at(torch.from_numpy(STEPS).cuda())
    assert lr.device.type == "cuda"
    assert scale_ulps(lr.cpu().numpy(), spec.lr_at(STEPS)) <= 2.0


def test_cupy_on_the_device():  # pragma: no cover - no GPU here
    cupy = pytest.importorskip("cupy", reason="CuPy needs an NVIDIA GPU and is not installed on this machine")
    spec = CATALOGUE["cyclic-hann-groups"]
    lr = spec.lr_at(cupy.asarray(STEPS))
    assert isinstance(lr, cupy.ndarray)
    assert scale_ulps(cupy.asnumpy(lr), spec.lr_at(STEPS)) <= 2.0


# -- validation ----------------------------------------------------------------------------------------------

LIBRARIES = {
    "torch": torch.asarray,
    "array-api-strict": xs.asarray,
    "jax": jnp.asarray,
}


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("bad", [[True, False], [1.0, 2.0]], ids=["bool", "float"])
def test_bool_and_float_arrays_are_refused_naming_the_argument(library, bad):
    with pytest.raises(
        TypeError, match=r"step must be an integer or an array of integers, got an array of dtype"
    ):
        cyclr.CyclicLR().lr_at(LIBRARIES[library](bad))


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_negative_steps_are_refused(library):
    with pytest.raises(ValueError, match=r"step must be >= 0, got -3"):
        cyclr.CyclicLR().lr_at(LIBRARIES[library]([0, -3, 5]))


def test_check_false_skips_the_value_checks():
    values = _array_api.evaluate(cyclr.CyclicLR(), "lr", torch.tensor([-3, 1]), check=False)
    assert values.shape == (2,)


def test_unsigned_steps_beyond_int64_are_refused():
    with pytest.raises(ValueError, match=r"step must be < 2\*\*63 in a torch array"):
        cyclr.CyclicLR().lr_at(torch.tensor([2**63], dtype=torch.uint64))


def test_steps_past_a_specs_int64_limit_are_refused_naming_the_limit():
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000)
    limit = cyclr._limits.exact_steps(spec)
    np.testing.assert_array_equal(
        spec.lr_at(torch.tensor([limit - 1])).numpy(), spec.lr_at(np.array([limit - 1]))
    )
    with pytest.raises(
        ValueError, match=rf"step must be < {limit} for CosineAnnealingWarmRestarts\(T_0=1, T_mult=1000\)"
    ):
        spec.lr_at(torch.tensor([limit]))


def test_steps_past_int32_in_float32_name_the_limit(x32):
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000)
    limit = cyclr._limits.exact_steps(spec, 32)
    with pytest.raises(ValueError, match=rf"step must be < {limit} for .* past int32"):
        spec.lr_at(jnp.asarray([limit], dtype=jnp.int32))


def test_a_dask_array_is_checked_when_it_is_computed():
    lazy = cyclr.CyclicLR().lr_at(da.from_array(np.array([0, -3, 5]), chunks=1))
    with pytest.raises(ValueError, match=r"step must be >= 0, got -3"):
        lazy.compute()


def test_an_object_that_is_no_array_is_refused():
    class Fake:
        __module__ = "torch.fake"

    with pytest.raises(TypeError, match="step must be an integer"):
        cyclr.CyclicLR().lr_at(Fake())


def test_a_numpy_array_keeps_the_numpy_path():
    assert not _array_api.is_array(np.arange(3)) and not _array_api.is_array(np.int64(3))
    assert _array_api.is_array(torch.arange(3)) and _array_api.is_array(xs.asarray([1]))


# -- custom scale_fn ---------------------------------------------------------------------------------------


def test_a_scale_fn_receives_the_whole_integer_array_once():
    calls = []

    def halve(cycle):
        calls.append(cycle)
        return 0.5**cycle

    spec = cyclr.CyclicLR(step_size_up=2, scale_fn=halve, scale_mode="cycle")
    expected = spec.lr_at(np.arange(40))
    calls.clear()
    np.testing.assert_allclose(spec.lr_at(torch.arange(40)).numpy(), expected, rtol=1e-15)
    assert len(calls) == 1 and isinstance(calls[0], torch.Tensor) and calls[0].shape == (40,)


def test_a_scale_fn_that_cannot_run_on_arrays_is_a_type_error_naming_it():
    def python_only(cycle):
        return 1.0 if cycle < 3 else 0.5

    with pytest.raises(TypeError, match=r"scale_fn=python_only cannot run on a torch integer array"):
        cyclr.CyclicLR(scale_fn=python_only).lr_at(torch.arange(5))


def test_a_scale_fn_outside_0_1_is_refused():
    spec = cyclr.CyclicLR(scale_fn=lambda x: x * 1.0, scale_mode="iterations")
    with pytest.raises(ValueError, match=r"scale_fn returned a value outside \[0, 1\]"):
        spec.lr_at(torch.arange(5))
    lazy = spec.lr_at(da.arange(5, chunks=2))  # dask: when the chunk is computed
    with pytest.raises(ValueError, match=r"scale_fn returned a value outside \[0, 1\]"):
        lazy.compute()
    assert np.array_equal(spec.lr_at(da.arange(2, chunks=1)).compute(), spec.lr_at(np.arange(2)))


# -- dask stays lazy, in bounded memory ---------------------------------------------------------------------


def test_dask_builds_a_graph_without_computing():
    def boom(block):
        raise AssertionError("a chunk was computed")

    steps = da.arange(10**10, chunks=10**7)
    poisoned = steps.map_blocks(boom, dtype=steps.dtype)
    lr = CATALOGUE["join"].lr_at(poisoned)  # building must not compute a chunk
    assert lr.shape == (10**10,) and lr.numblocks == (1000,)
    assert CATALOGUE["cyclic"].lr_at(steps).shape == (10**10,)


def _peak_bytes(spec, n: int, chunk: int) -> tuple[int, float]:
    lr = spec.lr_at(da.arange(n, chunks=chunk))
    tracemalloc.start()
    try:
        total = lr.sum().compute(scheduler="synchronous")
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


def test_dask_computes_chunk_by_chunk_in_bounded_memory():
    """The peak is a few chunks' temporaries and dask's graph (measured: 6 MB), not the 32 MB array."""
    spec, n = CATALOGUE["cyclic"], 4_000_000
    peak, total = _peak_bytes(spec, n, 25_000)
    assert peak < n * 8 / 4
    assert total == pytest.approx(spec.lr_at(np.arange(n)).sum(), rel=1e-12)


# -- torch.compile -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cyclic-hann-groups", "join"])
def test_torch_compile_fullgraph_one_graph_and_the_same_values(name):
    from torch._dynamo.utils import counters

    spec = SPECS[name]
    _array_api.evaluate(spec, "lr", torch.tensor(0), check=False)  # the first call builds the formula
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(lambda step: _array_api.evaluate(spec, "lr", step, check=False), fullgraph=True)
    results = [compiled(torch.tensor(k)) for k in range(0, 300, 7)]
    assert counters["stats"]["unique_graphs"] == 1
    expected = spec.lr_at(np.arange(0, 300, 7))
    assert scale_ulps(np.stack([r.numpy() for r in results]), expected) <= 2.0


# -- state and imports ---------------------------------------------------------------------------------------


def test_a_spec_used_on_arrays_pickles_copies_and_compares_as_before():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    fresh = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    spec.lr_at(torch.arange(10))
    assert spec == fresh and hash(spec) == hash(fresh) and spec.to_dict() == fresh.to_dict()
    for clone in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec)):
        assert clone == spec
        torch.testing.assert_close(
            clone.lr_at(torch.arange(10)), spec.lr_at(torch.arange(10)), rtol=0, atol=0
        )


def test_import_cyclr_and_the_numpy_path_do_not_import_array_api_compat():
    code = (
        "import sys, numpy as np, cyclr\ncyclr.CyclicLR().lr_at(np.arange(5))\n"
        "print('array_api_compat' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- any CyclicLR, any steps -------------------------------------------------------------------------------


@given(kwargs=cyclic_kwargs(waveforms=True), far=st.lists(st.integers(0, 2**62), max_size=20))
def test_any_cyclic_on_torch_within_3_ulp_of_its_scale(kwargs, far):
    """M is the larger bound of the quantity (base_lr/max_lr; the momenta), whatever steps are drawn."""
    spec = cyclr.CyclicLR(**kwargs)
    steps = np.array([*range(3 * spec.period), *far], dtype=np.int64)
    for quantity, bounds in (("lr", ("base_lr", "max_lr")), ("momentum", ("base_momentum", "max_momentum"))):
        expected = values(spec, quantity, steps)
        result = values(spec, quantity, torch.from_numpy(steps))
        if expected is None:
            assert result is None
            continue
        largest = max(abs(kwargs[bound]) for bound in bounds)
        assert np.max(np.abs(result.numpy() - expected)) <= 3 * np.spacing(largest)
