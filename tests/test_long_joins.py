"""Long and deep compositions on every path: 1,000 joined pieces, joins of joins, warmups inside joins.

Regressions for issue 10, item 7: a join of 40 specs raised RecursionError on the numba paths (35 took
7.7 s to compile) and a flat join of 1,000 raised RecursionError on the Python paths. A join dispatches
by a search on its boundaries, so neither the Python stack nor numba's compile grows with the pieces.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import ulps

from adapters.float32_oracle import float32_ulps

import cyclr
from cyclr import CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

PIECES = 1000
KINDS = [
    CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=4, mode="triangular2"),
    OneCycleLR(0.2, total_steps=9),
    CyclicLR(step_size_up=2, mode="exp_range", gamma=0.97, waveform="cosine"),
    cyclr.warmup(CyclicLR(base_lr=0.02, max_lr=0.05, step_size_up=2), 3, start_lr=0.001),
]


def distinct_pieces(n: int) -> list[cyclr.Spec]:
    """n different specs (no two equal): nothing to share between them."""
    return [CosineAnnealingLR(0.1 + k * 1e-4, T_max=5 + k % 7, eta_min=1e-3) for k in range(n)]


def boundaries_for(n: int, width: int = 5) -> list[int]:
    return [width * (k + 1) + k % 3 for k in range(n - 1)]


def expected(pieces: list[cyclr.Spec], boundaries: list[int], steps: np.ndarray, quantity: str = "lr") -> np.ndarray:
    starts = np.array([0, *boundaries])
    index = np.searchsorted(starts, steps, side="right") - 1
    at = "lr_at" if quantity == "lr" else "momentum_at"
    return np.array([getattr(pieces[k], at)(int(s - starts[k])) for k, s in zip(index, steps)])


LONG = cyclr.join([KINDS[k % 4] for k in range(PIECES)], boundaries_for(PIECES))
LONG_STEPS = np.arange(0, 5 * PIECES + 300)


def test_a_flat_join_of_1000_distinct_specs_on_the_python_and_numpy_paths():
    pieces, boundaries = distinct_pieces(PIECES), boundaries_for(PIECES)
    spec = cyclr.join(pieces, boundaries)
    steps = np.arange(0, 5 * PIECES + 300)
    want = expected(pieces, boundaries, steps)
    assert np.array_equal([spec.lr_at(int(k)) for k in steps], want)
    assert np.array_equal(spec.lr_at(steps), want)
    assert np.array_equal(spec.precompute(len(steps))[0], want)
    assert np.array_equal(spec.lr_at(steps.reshape(-1, 4)), want.reshape(-1, 4))
    assert spec.lr_at(steps.reshape(-1, 1)).shape == (len(steps), 1)


def test_a_join_of_1000_on_the_numba_paths():
    want_lr = expected([KINDS[k % 4] for k in range(PIECES)], boundaries_for(PIECES), LONG_STEPS)
    want_momentum = expected([KINDS[k % 4] for k in range(PIECES)], boundaries_for(PIECES), LONG_STEPS, "momentum")
    assert np.array_equal(LONG.lr_at(LONG_STEPS), want_lr)
    lr, momentum = LONG.precompute(len(LONG_STEPS), backend="numba")
    assert ulps(lr, want_lr) <= 1 and ulps(momentum, want_momentum) <= 1
    schedule = cyclr.numba.compile(LONG)
    for step in LONG_STEPS[::37]:
        lr, momentum = schedule(int(step))
        assert ulps(lr, LONG.lr_at(int(step))) <= 1 and ulps(momentum, LONG.momentum_at(int(step))) <= 1


def test_a_join_of_40_distinct_specs_compiles_for_numba():
    pieces, boundaries = distinct_pieces(40), boundaries_for(40)
    spec = cyclr.join(pieces, boundaries)
    steps = np.arange(0, 250)
    assert ulps(spec.precompute(250, backend="numba")[0], expected(pieces, boundaries, steps)) <= 1


def test_joins_of_joins_and_warmups_inside_joins_flatten():
    inner = [cyclr.join([KINDS[(j + k) % 4] for k in range(10)], boundaries_for(10, 4)) for j in range(10)]
    nested = cyclr.warmup(cyclr.join([cyclr.warmup(part, 3) for part in inner], boundaries_for(10, 60)), 5)
    steps = np.arange(0, 700)
    values = nested.lr_at(steps)
    assert np.array_equal(values, [nested.lr_at(int(k)) for k in steps])
    assert ulps(nested.precompute(700, backend="numba")[0], values) <= 1
    # the first part's warmup runs from its join boundary at 5 (the outer warmup) for 3 steps
    assert nested.lr_at(5) == 0.0 and nested.lr_at(8) == inner[0].lr_at(0)
    # an inner join cut short by the outer boundary: the next part starts exactly there
    assert nested.lr_at(5 + 60) == 0.0 and nested.lr_at(5 + 63) == inner[1].lr_at(0)


def test_a_chain_of_joins_at_the_depth_limit_on_every_python_path():
    spec: cyclr.Spec = KINDS[0]
    for depth in range(60):
        spec = cyclr.join([KINDS[depth % 4], spec], [5])
    steps = np.arange(0, 400)
    values = spec.lr_at(steps)
    assert values[-1] == KINDS[0].lr_at(400 - 1 - 300)
    assert ulps(spec.precompute(400, backend="numba")[0], values) <= 1


def test_boundaries_beyond_int64_are_never_reached():
    spec = cyclr.join([KINDS[0], KINDS[1]], [2**70])
    steps = np.array([0, 5, 2**63 - 1])
    assert np.array_equal(spec.lr_at(steps), KINDS[0].lr_at(steps))
    assert spec.lr_at(2**70 + 3) == KINDS[1].lr_at(3)  # the Python path has no limit
    assert spec.precompute(4, start=2**62, backend="numba")[0].tolist() == KINDS[0].precompute(4, start=2**62)[0].tolist()


def test_a_join_of_1000_through_torch():
    torch = pytest.importorskip("torch")
    import cyclr.torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    scheduler = cyclr.torch.Scheduler(optimizer, LONG)
    lrs = []
    for _ in range(300):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == LONG.lr_at(np.arange(300)).tolist()


def test_a_join_of_1000_through_jax():
    import jax
    import jax.numpy as jnp

    import cyclr.jax

    schedule = jax.jit(cyclr.jax.lr_schedule(LONG))
    steps = LONG_STEPS[::7]
    got = np.asarray(schedule(jnp.asarray(steps, dtype=jnp.int32)))
    assert got.dtype == np.float32 and float32_ulps(got, LONG.lr_at(steps)) <= 2


def test_a_join_of_1000_through_keras():
    import keras

    import cyclr.keras

    schedule = cyclr.keras.Schedule(LONG)
    steps = LONG_STEPS[::7]
    got = keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(steps, dtype="int32")))
    assert float32_ulps(got, LONG.lr_at(steps)) <= 2


def test_any_nesting_flattens_into_one_search_over_distinct_leaves():
    from cyclr._ops import PYTHON
    from cyclr.compose import Join, Warmup

    spec: cyclr.Spec = LONG
    for depth in range(20):
        spec = cyclr.warmup(cyclr.join([KINDS[depth % 4], spec], [7]), 2)
    segments = spec._segments
    assert not any(isinstance(leaf, (Join, Warmup)) for _, leaf in segments)
    starts = [start for start, _ in segments]
    assert starts[0] == 0 and all(a < b for a, b in zip(starts, starts[1:]))
    built = []
    recording = PYTHON._replace(select=lambda branches: built.append(len(branches)) or PYTHON.select(branches))
    formula = spec._formula(recording, "lr")
    # one switch over the distinct leaves (4 kinds, a warmup's ramp, 20 outer ramps), whatever the depth
    assert built == [4 + 1 + 20]
    for step in (0, 1, 2, 8, 9, 200, 5000):
        assert formula(step) == spec.lr_at(step)


def test_numba_compiles_one_kernel_per_family_not_per_piece():
    import cyclr.numba as cyclr_numba

    modes = [dict(mode="triangular"), dict(mode="triangular2", waveform="welch"), dict(mode="exp_range", gamma=0.9)]
    pieces = [
        CyclicLR(base_lr=1e-3 * (1 + k), max_lr=0.1 + k * 1e-3, step_size_up=2 + k % 5, **modes[k % 3]) for k in range(300)
    ] + [CosineAnnealingLR(0.1 + k * 1e-4, T_max=3 + k, eta_min=1e-3) for k in range(300)]
    pieces = [piece if piece.has_momentum else CyclicLR(step_size_up=2 + k) for k, piece in enumerate(pieces)]
    boundaries = boundaries_for(len(pieces), 4)
    spec = cyclr.join(pieces, boundaries)
    before = len(cyclr_numba._KERNELS)
    schedule = cyclr.numba.compile(spec)
    steps = np.arange(0, 4 * len(pieces) + 50, 3)
    want = expected(pieces, boundaries, steps)
    got = np.array([schedule(int(step))[0] for step in steps])
    assert ulps(got, want) <= 1
    assert ulps(spec.precompute(4 * len(pieces), backend="numba")[0], spec.lr_at(np.arange(4 * len(pieces)))) <= 1
    # the cyclic formula's 3 mode/waveform combinations, each for lr and momentum: 6 kernels for 600 pieces
    assert len(cyclr_numba._KERNELS) - before <= 6


@pytest.mark.parametrize("spec", [LONG, cyclr.join(distinct_pieces(3), [4, 9]), cyclr.warmup(KINDS[0], 3)], ids=["long", "3", "warmup"])
def test_zero_dimensional_and_empty_steps(spec):
    # a 0-d array of steps used to fail in the numpy switch (reshape() of nothing)
    for step in (0, 4, 9, 2000):
        assert spec.lr_at(np.array(step)).shape == ()
        assert spec.lr_at(np.array(step)) == spec.lr_at(step)
        assert spec.lr_at(np.int64(step)) == spec.lr_at(step)
    assert spec.lr_at(np.array([], dtype=np.int64)).shape == (0,)
    assert spec.lr_at(np.zeros((0, 3), dtype=np.int64)).shape == (0, 3)
