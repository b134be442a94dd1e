"""cyclr's JAX schedules against optax's own, for the schedules optax has: the same counts, the same run.

optax has no cyclical schedule; the usual emulation joins linear pieces with ``optax.join_schedules``
(one ``jnp.where`` per boundary), so its cost grows with the number of cycles covered. ``sgdr_schedule``
is built the same way. cyclr's formulas are closed forms: one evaluation whatever the step. Each row
times one jitted ``vmap`` over ``NUM_COUNTS`` counts (compiled first, compile time in its own row), so
both sides pay the same dispatch.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ._timing import Row, best_of

NUM_COUNTS = 1_000_000
CYCLES = 50  # cycles the joined-pieces emulations must cover


def _compiled(schedule: Callable[[Any], Any]) -> tuple[Callable[[], Any], float]:
    """``schedule`` jitted over a vector of int32 counts: (a timed call, its compile time in seconds)."""
    import jax
    import jax.numpy as jnp

    counts = jnp.arange(NUM_COUNTS, dtype=jnp.int32)
    evaluate = jax.jit(jax.vmap(schedule))  # optax's piecewise schedules take scalar counts only
    started = time.perf_counter()
    evaluate.lower(counts).compile()
    compile_seconds = time.perf_counter() - started
    evaluate(counts).block_until_ready()
    return (lambda: evaluate(counts).block_until_ready()), compile_seconds


def _triangle_from_pieces(base_lr: float, max_lr: float, step_size: int) -> Callable[[Any], Any]:
    """The triangular CLR as optax users build it: linear pieces up and down, joined at boundaries."""
    import optax

    pieces, boundaries = [], []
    for cycle in range(CYCLES):
        pieces += [optax.linear_schedule(base_lr, max_lr, step_size), optax.linear_schedule(max_lr, base_lr, step_size)]
        boundaries += [(2 * cycle + 1) * step_size, (2 * cycle + 2) * step_size]
    return optax.join_schedules(pieces, boundaries[:-1])


def rows() -> list[Row]:
    import optax

    import cyclr
    import cyclr.jax

    step_size = NUM_COUNTS // (2 * CYCLES)
    cases = [
        (
            f"triangular CLR, {CYCLES} cycles",
            cyclr.jax.lr_schedule(cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=step_size, cycle_momentum=False)),
            "optax.join_schedules of linear pieces",
            _triangle_from_pieces(0.001, 0.006, step_size),
        ),
        (
            f"SGDR, {CYCLES} restarts",
            cyclr.jax.lr_schedule(cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=2 * step_size, eta_min=0.001)),
            "optax.sgdr_schedule",
            optax.sgdr_schedule([dict(init_value=0.1, peak_value=0.1, decay_steps=2 * step_size, warmup_steps=0,
                                      end_value=0.001)] * CYCLES),
        ),
        (
            "one-cycle (cosine)",
            cyclr.jax.lr_schedule(cyclr.OneCycleLR(max_lr=0.1, total_steps=NUM_COUNTS + 1, cycle_momentum=False)),
            "optax.cosine_onecycle_schedule",
            optax.cosine_onecycle_schedule(NUM_COUNTS, 0.1),
        ),
    ]
    table = []
    for what, ours, peer_name, peer in cases:
        ours_call, ours_compile = _compiled(ours)
        peer_call, peer_compile = _compiled(peer)
        table.append(Row(f"jax: {what}, {NUM_COUNTS // 10**6}M counts, jitted", best_of(ours_call, repeat=5),
                         peer_name, best_of(peer_call, repeat=5)))
        table.append(Row(f"jax: {what}, compile time", ours_compile, peer_name, peer_compile))
    return table
