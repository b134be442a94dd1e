"""cyclr.jax: optax schedules equal to the core's values, float32-exact at every int32 count, in optax."""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from float32_oracle import (
    CATALOGUE,
    CATALOGUE_STEPS,
    LARGE_COUNTS,
    expected,
    float32_ulps,
    groups_of,
    registered_families,
)
from hypothesis import given
from hypothesis import strategies as st
from strategies import cyclic_kwargs

import cyclr
import cyclr.jax
from cyclr.cyclic import MODES, WAVEFORMS


ARITHMETIC = ["float64", "double-float32"]
"""The two ways a float32 schedule computes: in float64, rounded once (CPU and GPU backends), and in
double-float32 (TPUs, without float64). The backend picks one; these tests run both."""


@contextlib.contextmanager
def arithmetic_of(name: str):
    """Schedules traced inside compute in ``name`` (the backend's own choice restored after)."""
    saved = cyclr.jax.FLOAT64_BACKENDS
    cyclr.jax.FLOAT64_BACKENDS = saved if name == "float64" else ()
    try:
        yield
    finally:
        cyclr.jax.FLOAT64_BACKENDS = saved


def both_schedules(spec: cyclr.Spec, group: int | None = None):
    """One jitted function of the count giving (lr, momentum): one compilation per spec."""
    lr = cyclr.jax.lr_schedule(spec, group=group)
    momentum = cyclr.jax.momentum_schedule(spec, group=group) if spec.has_momentum else None
    return jax.jit(lambda count: (lr(count), None if momentum is None else momentum(count)))


def assert_float32_exact(spec: cyclr.Spec, counts, lr, momentum, group=None, bound: float = 2.0) -> None:
    assert lr.dtype == jnp.float32 and lr.shape == np.shape(counts)
    assert float32_ulps(lr, expected(spec, "lr", counts, group)) <= bound
    if momentum is not None:
        assert float32_ulps(momentum, expected(spec, "momentum", counts, group)) <= bound


# -- float32 exactness ----------------------------------------------------------------------------------


# Around every point of a cycle, plus counts where a float32 formula breaks.
def counts_for(spec: cyclr.CyclicLR) -> np.ndarray:
    near = [offset + k for offset in (0, spec.step_size_up, spec.period) for k in (-1, 0, 1)]
    cycle_starts = [(count // spec.period) * spec.period for count in (2**24, 2**30, 2**31 - 1)]
    extra = [start + k for start in cycle_starts for k in near if start + k < 2**31]
    counts = np.concatenate([LARGE_COUNTS, extra, np.arange(0, 20_000, 997)])
    return np.unique(np.clip(counts, 0, 2**31 - 1)).astype(np.int32)


SPEC_SHAPES = {
    # Smith's example, asymmetric, with gamma = 0.99994: not a float32, so float32 pow fails.
    "paper": dict(base_lr=0.001, max_lr=0.006, step_size_up=2000, step_size_down=3000, gamma=0.99994),
    # Everything cancels: lr falls from 1 to 1e-6, momentum to 0; odd step sizes.
    "cancelling": dict(
        base_lr=1.0,
        max_lr=1e-6,
        step_size_up=7,
        step_size_down=13,
        gamma=0.97,
        base_momentum=0.0,
        max_momentum=0.95,
    ),
    # One cycle longer than 2**24 steps: the offset in the cycle is not a float32.
    "long-cycle": dict(
        base_lr=0.01, max_lr=0.1, step_size_up=2**24 + 3, step_size_down=2**26 + 1, gamma=0.9999999
    ),
}


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("waveform", WAVEFORMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", list(SPEC_SHAPES))
def test_every_mode_and_waveform_is_float32_exact_up_to_int32_max(shape, mode, waveform, arithmetic):
    spec = cyclr.CyclicLR(mode=mode, waveform=waveform, **SPEC_SHAPES[shape])
    counts = counts_for(spec)
    with arithmetic_of(arithmetic):
        lr, momentum = both_schedules(spec)(counts)
    assert_float32_exact(spec, counts, lr, momentum)


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@given(cyclic_kwargs(waveforms=True), st.lists(st.integers(0, 2**31 - 1), min_size=16, max_size=16))
def test_random_specs_at_random_counts_are_float32_exact(arithmetic, kwargs, counts):
    spec = cyclr.CyclicLR(**kwargs)
    counts = np.array(counts + [0, spec.step_size_up, 2**24, 2**31 - 1], dtype=np.int32)
    # Eager: each operation is compiled once for this shape and reused by every example.
    with arithmetic_of(arithmetic):
        lr = cyclr.jax.lr_schedule(spec)(counts)
        momentum = cyclr.jax.momentum_schedule(spec)(counts) if spec.has_momentum else None
    assert float32_ulps(lr, spec.lr_at(counts.astype(np.int64))) <= 2
    if momentum is not None:
        # A base_momentum of 1e-12 under 0.9 cancels 2**40-fold: forgive 2**-44 of the momenta there.
        cancelling = max(spec.base_momentum, spec.max_momentum)
        assert float32_ulps(momentum, spec.momentum_at(counts.astype(np.int64)), cancelling) <= 2


def test_float32_arithmetic_alone_is_not_enough():
    """Why the schedules compute in double-float: the naive float32 formulas are far off."""
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="exp_range", gamma=0.99994)
    counts = np.arange(10_000, 60_000, 1000, dtype=np.int32)
    naive_power = np.asarray(jnp.float32(0.99994) ** jnp.asarray(counts, jnp.float32))
    assert float32_ulps(naive_power, 0.99994 ** counts.astype(np.float64)) > 100
    assert (
        float32_ulps(jax.jit(cyclr.jax.lr_schedule(spec))(counts), spec.lr_at(counts.astype(np.int64))) <= 2
    )

    triangle = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    counts = np.arange(2**24 + 1, 2**24 + 4000, 37, dtype=np.int32)
    x = jnp.asarray(counts, jnp.float32) / 2000  # torch's formula, in float32
    naive = 0.001 + 0.005 * jnp.maximum(0.0, 1 - jnp.abs(x - 2 * jnp.floor(1 + x / 2) + 1))
    exact = triangle.lr_at(counts.astype(np.int64))
    assert float32_ulps(naive, exact) > 1000
    assert float32_ulps(cyclr.jax.lr_schedule(triangle)(counts), exact) <= 2


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("waveform", WAVEFORMS)
def test_exact_values_stay_exact(waveform, arithmetic):
    """The ends of a cycle are the spec's numbers rounded once, and a momentum falling to 0 reaches 0."""
    spec = cyclr.CyclicLR(
        base_lr=0.1, max_lr=1.0, step_size_up=3, base_momentum=0.0, max_momentum=0.9, waveform=waveform
    )
    last_peak = (2**31 - 1) // 6 * 6 + 3 - 6
    with arithmetic_of(arithmetic):
        lr, momentum = both_schedules(spec)(np.array([0, 3, 6, last_peak, last_peak + 3], dtype=np.int32))
    np.testing.assert_array_equal(lr, np.float32([0.1, 1.0, 0.1, 1.0, 0.1]))
    np.testing.assert_array_equal(momentum, np.float32([0.9, 0.0, 0.9, 0.0, 0.9]))


# -- jit, vmap, shapes, x64 -------------------------------------------------------------------------------


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
def test_eager_jit_and_vmap_agree_bit_for_bit(arithmetic):
    spec = cyclr.CyclicLR(step_size_up=11, step_size_down=5, mode="exp_range", gamma=0.999, waveform="cosine")
    schedule = cyclr.jax.lr_schedule(spec)
    counts = LARGE_COUNTS
    with arithmetic_of(arithmetic):
        eager = np.asarray(schedule(counts))
        np.testing.assert_array_equal(np.asarray(jax.jit(schedule)(counts)), eager)
        np.testing.assert_array_equal(np.asarray(jax.vmap(schedule)(counts)), eager)
        np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(schedule))(counts)), eager)
        np.testing.assert_array_equal([float(jax.jit(schedule)(int(c))) for c in counts[:4]], eager[:4])


def test_any_shape_of_counts():
    spec = cyclr.CyclicLR(step_size_up=4)
    counts = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    lr = cyclr.jax.lr_schedule(spec)(counts)
    assert lr.shape == (2, 3, 4)
    assert float32_ulps(lr, spec.lr_at(counts.astype(np.int64))) <= 0.5
    assert cyclr.jax.lr_schedule(spec)(7).shape == ()
    assert float32_ulps(cyclr.jax.lr_schedule(spec)(np.uint8(7)), spec.lr_at(7)) <= 0.5


def test_with_x64_the_values_are_float64():
    spec = cyclr.CyclicLR(step_size_up=2000, mode="exp_range", gamma=0.99994, waveform="cosine")
    counts = np.array([0, 1000, 123_456, 2**31 - 1, 2**40 + 3], dtype=np.int64)
    schedule = cyclr.jax.lr_schedule(spec)
    with jax.enable_x64(True):
        lr = jax.jit(schedule)(counts)
        momentum = cyclr.jax.momentum_schedule(spec)(counts)
    assert lr.dtype == jnp.float64 and momentum.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(lr), spec.lr_at(counts), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(momentum), spec.momentum_at(counts), rtol=1e-14)


def test_traceable_scale_fn():
    def halve_every_two_cycles(cycle):  # jnp arithmetic: works on Python ints (the core) and traced arrays
        return 0.5 ** ((cycle - 1) // 2)

    spec = cyclr.CyclicLR(step_size_up=3, scale_fn=halve_every_two_cycles)
    counts = np.arange(60, dtype=np.int32)
    assert (
        float32_ulps(jax.jit(cyclr.jax.lr_schedule(spec))(counts), spec.lr_at(counts.astype(np.int64))) <= 1
    )
    by_step = cyclr.CyclicLR(
        step_size_up=3, scale_fn=lambda step: jnp.exp(-step / 100.0), scale_mode="iterations"
    )
    reference = cyclr.CyclicLR(
        step_size_up=3, scale_fn=lambda step: math.exp(-step / 100.0), scale_mode="iterations"
    )
    assert float32_ulps(cyclr.jax.lr_schedule(by_step)(counts), reference.lr_at(counts.astype(np.int64))) <= 2


# -- every spec family, through the same contract --------------------------------------------------------


def test_the_catalogue_has_every_spec_family():
    assert {type(spec).__name__ for spec in CATALOGUE.values()} >= registered_families()


@pytest.mark.parametrize("arithmetic", ARITHMETIC)
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_spec_family_is_float32_exact(name, arithmetic):
    spec = CATALOGUE[name]
    for group in groups_of(spec):
        with arithmetic_of(arithmetic):
            lr, momentum = both_schedules(spec, group)(CATALOGUE_STEPS)
        assert_float32_exact(spec, CATALOGUE_STEPS, lr, momentum, group)


# -- in optax ---------------------------------------------------------------------------------------------

SPEC = cyclr.CyclicLR(
    base_lr=0.01,
    max_lr=0.1,
    step_size_up=3,
    step_size_down=5,
    mode="triangular2",
    base_momentum=0.5,
    max_momentum=0.95,
)
STEPS = 40


def run_optax(optimizer: optax.GradientTransformation, steps: int = STEPS) -> tuple[np.ndarray, list]:
    """Minimize ``w**2 / 2`` (gradient w) from w = 1, jitted; the weight after each step and the updates."""
    params = jnp.array([1.0])
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        updates, state = optimizer.update(params, state, params)  # the gradient of w**2 / 2 is w
        return optax.apply_updates(params, updates), state, updates

    weights, updates = [], []
    for _ in range(steps):
        params, state, update = step(params, state)
        weights.append(float(params[0]))
        updates.append(update)
    return np.array(weights), updates


def run_torch(make_optimizer, steps: int = STEPS) -> np.ndarray:
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = make_optimizer([weight])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = torch.optim.lr_scheduler.CyclicLR(
            optimizer,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=3,
            step_size_down=5,
            mode="triangular2",
            base_momentum=0.5,
            max_momentum=0.95,
        )
        weights = []
        for _ in range(steps):
            optimizer.zero_grad()
            (weight**2 / 2).sum().backward()
            optimizer.step()
            scheduler.step()
            weights.append(weight.item())
    return np.array(weights)


def test_optax_sgd_takes_the_learning_rate_at_every_count():
    optimizer = optax.sgd(learning_rate=cyclr.jax.lr_schedule(SPEC))
    params = jnp.zeros(1)
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    for count in range(STEPS):
        updates, state = update(jnp.ones(1), state)  # a gradient of 1: the update is -lr
        assert float32_ulps(-updates[0], SPEC.lr_at(count)) <= 0.5


def test_inject_hyperparams_cycles_momentum_as_torch_does():
    optimizer = optax.inject_hyperparams(optax.sgd)(
        learning_rate=cyclr.jax.lr_schedule(SPEC), momentum=cyclr.jax.momentum_schedule(SPEC)
    )
    weights, _ = run_optax(optimizer)
    expected_weights = run_torch(lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9))
    np.testing.assert_allclose(weights, expected_weights, rtol=2e-5)
    fixed, _ = run_optax(optax.sgd(cyclr.jax.lr_schedule(SPEC), momentum=0.95))
    assert np.max(np.abs(fixed - expected_weights)) > 1e-3  # the cycled momentum made the difference


def test_inject_hyperparams_cycles_adams_b1_as_torch_does():
    optimizer = optax.inject_hyperparams(optax.adam)(
        learning_rate=cyclr.jax.lr_schedule(SPEC), b1=cyclr.jax.momentum_schedule(SPEC), eps=1e-12
    )
    weights, _ = run_optax(optimizer)
    expected_weights = run_torch(lambda params: torch.optim.Adam(params, lr=0.1, eps=1e-12))
    np.testing.assert_allclose(weights, expected_weights, rtol=2e-5, atol=1e-7)
    state = optimizer.init(jnp.ones(1))
    assert float(state.hyperparams["b1"]) == np.float32(SPEC.momentum_at(0))


def test_one_optimizer_per_group():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.001], max_lr=[0.1, 0.002], step_size_up=4)
    optimizer = optax.multi_transform(
        {f"group{g}": optax.sgd(cyclr.jax.lr_schedule(spec, group=g)) for g in range(2)},
        {"a": "group0", "b": "group1"},
    )
    params = {"a": jnp.zeros(1), "b": jnp.zeros(1)}
    state = optimizer.init(params)
    for count in range(12):
        updates, state = optimizer.update({"a": jnp.ones(1), "b": jnp.ones(1)}, state)
        lrs = spec.lr_at(count)
        assert float32_ulps(-updates["a"][0], lrs[0]) <= 0.5 and float32_ulps(-updates["b"][0], lrs[1]) <= 0.5


# -- errors, one per documented error ---------------------------------------------------------------------


def test_not_a_spec():
    with pytest.raises(TypeError, match="lr_schedule expects a cyclr spec"):
        cyclr.jax.lr_schedule(0.1)


def test_grouped_spec_without_group():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="the spec has 2 parameter groups .* pass group=i"):
        cyclr.jax.lr_schedule(spec)


def test_group_out_of_range():
    spec = cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="group must be < 2 .*, got 2"):
        cyclr.jax.momentum_schedule(spec, group=2)


def test_group_without_groups():
    with pytest.raises(ValueError, match="group=0 given, but the spec has no parameter groups"):
        cyclr.jax.lr_schedule(cyclr.CyclicLR(), group=0)


def test_group_not_an_integer():
    with pytest.raises(TypeError, match="group must be an integer, got 1.0"):
        cyclr.jax.lr_schedule(cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.2]), group=1.0)


def test_momentum_not_scheduled():
    with pytest.raises(ValueError, match="momentum_schedule: this CyclicLR does not schedule momentum"):
        cyclr.jax.momentum_schedule(cyclr.CyclicLR(cycle_momentum=False))


def test_scale_fn_that_jax_cannot_trace():
    spec = cyclr.CyclicLR(scale_fn=lambda cycle: 1.0 if cycle < 3 else 0.5)
    with pytest.raises(TypeError, match="scale_fn=<lambda> cannot run on a JAX integer tensor"):
        cyclr.jax.lr_schedule(spec)


def test_count_not_an_integer():
    schedule = cyclr.jax.lr_schedule(cyclr.CyclicLR())
    with pytest.raises(TypeError, match="count must be an integer .* got dtype float32"):
        schedule(jnp.float32(3.0))


def test_importing_without_jax_names_the_extra():
    code = "import sys\nsys.modules['jax'] = None\nimport cyclr.jax"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert 'ImportError: cyclr.jax needs JAX and optax: pip install "cyclr[jax]"' in result.stderr


# -- issue 10: int32 counts, checked when the schedule is built -----------------------------------------


@pytest.mark.parametrize("build", [cyclr.jax.lr_schedule, cyclr.jax.momentum_schedule])
def test_a_spec_past_int32_is_refused_when_the_schedule_is_built(build):
    # SGDR beyond its int32 range was silently wrong (-2.2e24 at count 10**9 for T_0=1, T_mult=1000).
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000)
    pattern = (
        r"cyclr.jax.(lr|momentum)_schedule: CosineAnnealingWarmRestarts\(T_0=1, T_mult=1000\) is exact under JAX "
        r"only for counts below 21496\d\d: .* int32"
    )
    with pytest.raises(ValueError, match=pattern):
        build(spec)
    with pytest.raises(ValueError, match=pattern):
        build(cyclr.warmup(spec, 10))


def test_sgdr_reached_only_past_int32_is_accepted():
    late = cyclr.join([cyclr.CyclicLR(cycle_momentum=False), cyclr.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=1000)], [2**31])
    schedule = jax.jit(cyclr.jax.lr_schedule(late))
    counts = np.array([0, 7, 2**31 - 1])
    assert float32_ulps(schedule(jnp.asarray(counts, jnp.int32)), late.lr_at(counts)) <= 0.5


@pytest.mark.parametrize(
    "spec",
    [
        cyclr.OneCycleLR(max_lr=0.1, total_steps=2**40),
        cyclr.OneCycleLR(max_lr=0.1, total_steps=2**53, three_phase=True),
        cyclr.CyclicLR(step_size_up=2**40),
        cyclr.CosineAnnealingLR(0.1, T_max=2**61),
        cyclr.CosineAnnealingWarmRestarts(0.1, T_0=2**20, T_mult=3),
        cyclr.warmup(cyclr.CyclicLR(), 2**40),
    ],
    ids=["one-cycle", "one-cycle-3", "cyclic", "cosine", "sgdr", "warmup"],
)
def test_constants_past_int32_are_exact_at_every_int32_count(spec):
    # OneCycleLR(total_steps=2**40) raised OverflowError at every count.
    counts = np.array([0, 1, 5, 2**24 + 1, 2**30, 2**31 - 1])
    lr, momentum = both_schedules(spec)(jnp.asarray(counts, jnp.int32))
    assert float32_ulps(lr, spec.lr_at(counts)) <= 0.5
    if momentum is not None:
        assert float32_ulps(momentum, spec.momentum_at(counts)) <= 0.5


@pytest.mark.parametrize("spec", [cyclr.Constant(0.1), cyclr.Constant([0.1, 0.3])], ids=["scalar", "groups"])
def test_a_constant_schedule_is_one_float32_constant_broadcast(spec):
    """A constant spec's schedule does no float64 work in the traced program (it was 13x slower than
    optax's constant_schedule on a million counts): the value is rounded to float32 once, when traced."""
    for group in [None] if spec.groups is None else range(spec.groups):
        schedule = cyclr.jax.lr_schedule(spec, group=group)
        jaxpr = str(jax.make_jaxpr(schedule)(jnp.arange(5)))
        assert "f64" not in jaxpr
        expected = np.float32(spec.lr_at(0) if group is None else spec.lr_at(0)[group])
        assert np.array_equal(np.asarray(jax.jit(schedule)(jnp.arange(5))), np.full(5, expected))
        assert jax.jit(schedule)(jnp.int32(7)).shape == ()
