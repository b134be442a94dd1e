"""cyclr's JAX schedules against optax's own, for the schedules optax has: the same counts, the same run.

optax has no cyclical schedule; the usual emulation joins linear pieces with ``optax.join_schedules``
(one ``jnp.where`` per boundary), so its cost grows with the number of cycles covered. ``sgdr_schedule``
is built the same way. cyclr's formulas are closed forms: one evaluation whatever the step. Each row
times one jitted ``vmap`` over ``NUM_COUNTS`` counts, so both sides pay the same dispatch.

Both sides are timed in turns (ours, peer, ours, peer, ...), and each row reports the medians and the
spread of the per-turn ratio (its interquartile range, as a percentage of the median ratio), so that load
on the machine hits both alike and the noise is on the table. Compile time is trace + lower + compile of
a fresh ``jax.jit`` (no cache), also in turns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._timing import Row

NUM_COUNTS = 1_000_000
CYCLES = 50  # cycles the joined-pieces emulations must cover
TURNS = 21  # timed calls of each side, interleaved
COMPILES = 5  # compilations of each side, interleaved


def _counts() -> Any:
    import jax.numpy as jnp

    return jnp.arange(NUM_COUNTS, dtype=jnp.int32)


def _compile_seconds(schedule: Callable[[Any], Any]) -> float:
    """Seconds to trace, lower and compile a fresh jitted vmap of ``schedule`` (no cache hit)."""
    import jax

    counts = _counts()
    evaluate = jax.jit(jax.vmap(lambda count: schedule(count)))  # a new function: nothing cached
    started = time.perf_counter()
    evaluate.lower(counts).compile()
    return time.perf_counter() - started


def _call(schedule: Callable[[Any], Any]) -> Callable[[], Any]:
    """A timed call: the jitted vmap of ``schedule`` over the counts (compiled and run once first)."""
    import jax

    counts = _counts()
    evaluate = jax.jit(jax.vmap(schedule))  # optax's piecewise schedules take scalar counts only
    evaluate(counts).block_until_ready()
    return lambda: evaluate(counts).block_until_ready()


def interleaved(ours: Callable[[], Any], peer: Callable[[], Any], turns: int) -> tuple[float, float, float]:
    """(median seconds of ours, of peer, spread of the per-turn ratio in %): the two timed in turns.

    A function that returns a float reports its own seconds (a compile time); otherwise it is timed.
    """
    ours_times: list[float] = []
    peer_times: list[float] = []
    for turn in range(turns):
        for fn, times in ((ours, ours_times), (peer, peer_times))[:: 1 if turn % 2 else -1]:
            started = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - started
            times.append(result if isinstance(result, float) else elapsed)
    ratios = np.array(ours_times) / np.array(peer_times)
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return float(np.median(ours_times)), float(np.median(peer_times)), float(100 * (q3 - q1) / median)


def _triangle_from_pieces(base_lr: float, max_lr: float, step_size: int) -> Callable[[Any], Any]:
    """The triangular CLR as optax users build it: linear pieces up and down, joined at boundaries."""
    import optax

    pieces, boundaries = [], []
    for cycle in range(CYCLES):
        pieces += [
            optax.linear_schedule(base_lr, max_lr, step_size),
            optax.linear_schedule(max_lr, base_lr, step_size),
        ]
        boundaries += [(2 * cycle + 1) * step_size, (2 * cycle + 2) * step_size]
    return optax.join_schedules(pieces, boundaries[:-1])


def cases() -> list[tuple[str, Any, str, Any]]:
    """(what, cyclr schedule, optax's name, optax schedule): the same schedule on both sides."""
    import optax

    import cyclr
    import cyclr.jax

    n = NUM_COUNTS
    step_size = n // (2 * CYCLES)
    return [
        (
            f"triangular CLR, {CYCLES} cycles",
            cyclr.jax.lr_schedule(
                cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=step_size, cycle_momentum=False)
            ),
            "optax.join_schedules of linear pieces",
            _triangle_from_pieces(0.001, 0.006, step_size),
        ),
        (
            f"SGDR, {CYCLES} restarts",
            cyclr.jax.lr_schedule(
                cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=2 * step_size, eta_min=0.001)
            ),
            "optax.sgdr_schedule",
            optax.sgdr_schedule(
                [
                    dict(
                        init_value=0.1,
                        peak_value=0.1,
                        decay_steps=2 * step_size,
                        warmup_steps=0,
                        end_value=0.001,
                    )
                ]
                * CYCLES
            ),
        ),
        (
            "one-cycle (cosine)",
            cyclr.jax.lr_schedule(cyclr.OneCycleLR(max_lr=0.1, total_steps=n + 1, cycle_momentum=False)),
            "optax.cosine_onecycle_schedule",
            optax.cosine_onecycle_schedule(n, 0.1),
        ),
        (
            "one-cycle (linear, three phases)",
            cyclr.jax.lr_schedule(
                cyclr.OneCycleLR(
                    max_lr=0.1,
                    total_steps=n + 1,
                    anneal_strategy="linear",
                    three_phase=True,
                    cycle_momentum=False,
                )
            ),
            "optax.linear_onecycle_schedule",
            optax.linear_onecycle_schedule(n, 0.1, pct_start=0.3, pct_final=0.6),
        ),
        (
            "cosine decay (CosineAnnealingLR)",
            cyclr.jax.lr_schedule(cyclr.CosineAnnealingLR(base_lr=0.1, T_max=n)),
            "optax.cosine_decay_schedule",
            optax.cosine_decay_schedule(0.1, n),
        ),
    ]


def rows() -> list[Row]:
    table = []
    for what, ours, peer_name, peer in cases():
        ours_time, peer_time, noise = interleaved(_call(ours), _call(peer), TURNS)
        table.append(
            Row(
                f"jax: {what}, {NUM_COUNTS // 10**6}M counts, jitted "
                f"(median of {TURNS}; ratio noise ±{noise / 2:.0f}%)",
                ours_time,
                peer_name,
                peer_time,
                "<= 1x (as fast as optax)",
            )
        )
        compile_ours, compile_peer, noise = interleaved(
            lambda: _compile_seconds(ours),  # noqa: B023
            lambda: _compile_seconds(peer),  # noqa: B023
            COMPILES,
        )
        table.append(
            Row(
                f"jax: {what}, compile time (median of {COMPILES}; ratio noise ±{noise / 2:.0f}%)",
                compile_ours,
                peer_name,
                compile_peer,
                "<= 1x",
            )
        )
    return table
