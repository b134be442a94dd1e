"""The JAX adapter: a jitted optax training step with a cyclr schedule against the same step with a
constant learning rate, and ten million counts in one vectorized call against the NumPy path.

The schedules compute in double-float32 (a few hundred scalar operations, fused into the step), so the
training step should cost the same; the vectorized call is compiled once (not timed) and then timed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._timing import Row, best_of, per_call

NUM_COUNTS = 10_000_000
BATCH, WIDTH = 128, 256


def _train_step(optimizer: Any) -> Any:
    """One jitted step (compiled) of a 2-layer MLP (784-256-10, batch 128) trained by ``optimizer``."""
    import jax
    import optax

    keys = jax.random.split(jax.random.key(0), 4)
    params = {
        "w1": jax.random.normal(keys[0], (784, WIDTH)) * 0.05,
        "w2": jax.random.normal(keys[1], (WIDTH, 10)) * 0.05,
    }
    inputs = jax.random.normal(keys[2], (BATCH, 784))
    labels = jax.random.randint(keys[3], (BATCH,), 0, 10)

    def loss(params: Any) -> Any:
        logits = jax.nn.relu(inputs @ params["w1"]) @ params["w2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    @jax.jit
    def step(params: Any, state: Any) -> Any:
        grads = jax.grad(loss)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    carry = [params, optimizer.init(params)]

    def run() -> None:
        carry[0], carry[1] = step(carry[0], carry[1])
        jax.block_until_ready(carry[0])

    run()  # compile
    return run


def _paired(ours: Any, peer: Any, rounds: int = 5) -> tuple[float, float]:
    """Seconds per step of both, measured in turns, each one's best: load on the machine hits both."""
    ours_run, peer_run = _train_step(ours), _train_step(peer)
    ours_times, peer_times = [], []
    for _ in range(rounds):
        ours_times.append(per_call(ours_run, repeat=3))
        peer_times.append(per_call(peer_run, repeat=3))
    return min(ours_times), min(peer_times)


def _in_loop(schedules: Any, steps: int = 100_000) -> float:
    """Seconds per count of evaluating ``schedules`` in a compiled loop, beyond the loop's own cost."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def total(body: Any) -> float:
        loop = jax.jit(lambda start: lax.fori_loop(start, start + steps, body, jnp.float32(0)))
        return best_of(lambda: jax.block_until_ready(loop(jnp.int32(7))), repeat=5)

    with_schedules = total(lambda count, acc: acc + sum(schedule(count) for schedule in schedules))
    bare = total(lambda count, acc: acc + count.astype(jnp.float32))
    return max(with_schedules - bare, 0.0) / steps


def train_step_rows() -> list[Row]:
    import optax

    import cyclr
    import cyclr.jax

    triangle = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    heaviest = cyclr.CyclicLR(
        base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="exp_range", gamma=0.99994, waveform="cosine"
    )
    sgd = optax.inject_hyperparams(optax.sgd)
    rows = []
    ours, peer = _paired(
        optax.sgd(cyclr.jax.lr_schedule(triangle), momentum=0.9), optax.sgd(0.001, momentum=0.9)
    )
    rows.append(
        Row(
            "jitted MLP step, optax.sgd(lr_schedule), triangular",
            ours,
            "same step, constant lr",
            peer,
            "<= 1.01x (a min of 5: no A/A control yet)",
        )
    )
    ours, peer = _paired(
        sgd(learning_rate=cyclr.jax.lr_schedule(heaviest), momentum=cyclr.jax.momentum_schedule(heaviest)),
        sgd(learning_rate=0.001, momentum=0.9),
    )
    rows.append(
        Row(
            "jitted MLP step, injected lr + momentum, exp_range cosine",
            ours,
            "same step, constant injected lr + momentum",
            peer,
            "<= 1.01x (a min of 5: no A/A control yet)",
        )
    )
    for name, spec in (("triangular", triangle), ("exp_range cosine", heaviest)):
        cost = _in_loop((cyclr.jax.lr_schedule(spec), cyclr.jax.momentum_schedule(spec)))
        rows.append(
            Row(f"lr + momentum of one count in a jitted loop, {name}", cost, "the jitted MLP step", peer)
        )
    return rows


def vectorized_rows() -> list[Row]:
    import jax
    import jax.numpy as jnp

    import cyclr
    import cyclr.jax

    counts = jnp.arange(NUM_COUNTS, dtype=jnp.int32)
    steps = np.arange(NUM_COUNTS)
    rows = []
    for mode, waveform in (("triangular", "triangular"), ("exp_range", "cosine")):
        spec = cyclr.CyclicLR(mode=mode, waveform=waveform, gamma=0.99994, cycle_momentum=False)
        schedule = jax.jit(cyclr.jax.lr_schedule(spec))
        ours = best_of(lambda: jax.block_until_ready(schedule(counts)), repeat=5)  # noqa: B023
        lr_at = best_of(lambda: spec.lr_at(steps), repeat=3)  # noqa: B023
        precompute = best_of(lambda: spec.precompute(NUM_COUNTS), repeat=3)  # noqa: B023
        shape = "" if waveform == "triangular" else f", {waveform} waveform"
        what = f"lr of 10M counts, one jitted call, {mode}{shape}"
        rows.append(Row(what, ours, "numpy spec.lr_at(np.arange(10M))", lr_at))
        rows.append(Row(what, ours, "numpy spec.precompute(10M)", precompute))
    return rows


def rows() -> list[Row]:
    return train_step_rows() + vectorized_rows()
