"""transformers' and optax's warmup/decay schedules against cyclr's, in the same run, interleaved.

* torch: ``step()`` of ``cyclr.torch.get_scheduler(name, ...)`` against ``transformers.get_scheduler``'s
  (a ``LambdaLR``: a Python lambda per group per step), for every closed-form name, 1 and 10 groups.
  Rounds of ours and theirs alternate; each row is the median of its rounds, with each side's noise
  (the spread of the middle 80% of rounds). Training runs far shorter than the timing loops reach the
  end of: every name runs with ``num_training_steps = 10**9``.
* JAX: per-count time of one jitted ``vmap`` over ``NUM_COUNTS`` int32 counts of ``cyclr.jax.lr_schedule``
  (float32 results within 2 ulps of the float64 value: double-float32 arithmetic) against optax's
  ``warmup_cosine_decay_schedule`` and ``cosine_decay_schedule`` (plain float32 arithmetic), medians of
  interleaved calls.
"""

from __future__ import annotations

import statistics
import timeit
import warnings
from typing import Any

from ._timing import Row, alternating_rounds, spread

GOAL_TORCH = ">= 3x faster"
GOAL_JAX = "no slower"
ROUNDS = 31
PER_ROUND = 4096  # two blocks of precomputed values (2048 steps, one group) per round
NUM_COUNTS = 1_000_000
JAX_ROUNDS = 15
TRAINING = 10**9
KWARGS = {
    "cosine_with_restarts": {"num_cycles": 3},
    "polynomial": {"lr_end": 1e-7, "power": 2.0},
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1},
    "warmup_stable_decay": {"num_decay_steps": TRAINING // 10},
}
NAMES = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
    "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay",
)  # fmt: skip


def _optimizer(groups: int) -> Any:
    import torch

    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.001 * (i + 1)} for i in range(groups)]
    return torch.optim.AdamW(params, lr=0.001)


def _timer(get_scheduler: Any, name: str, groups: int) -> timeit.Timer:
    optimizer = _optimizer(groups)
    scheduler = get_scheduler(name, optimizer, 1000, TRAINING, KWARGS.get(name))
    optimizer.step()
    scheduler.step()  # past the first step's order check, in the steady state
    return timeit.Timer("step()", globals={"step": scheduler.step})


def _torch_rows() -> list[Row]:
    from transformers import get_scheduler as theirs_get

    import cyclr.torch

    result = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in NAMES:
            for groups in (1, 10):
                timers = [_timer(cyclr.torch.get_scheduler, name, groups), _timer(theirs_get, name, groups)]
                ours, theirs = alternating_rounds(*timers, ROUNDS, PER_ROUND)
                what = (
                    f"get_scheduler({name!r}).step(), {groups} group{'s' if groups > 1 else ''} "
                    f"(median of {ROUNDS}; noise ours {spread(ours)}, transformers {spread(theirs)})"
                )
                result.append(
                    Row(
                        what,
                        statistics.median(ours),
                        "transformers LambdaLR.step()",
                        statistics.median(theirs),
                        GOAL_TORCH,
                    )  # fmt: skip
                )
    return result


def _jax_rows() -> list[Row]:
    import time

    import jax
    import jax.numpy as jnp
    import optax

    import cyclr
    import cyclr.jax

    decay = NUM_COUNTS // 2
    cases = [
        (
            "warmup + cosine decay (optax.warmup_cosine_decay_schedule)",
            cyclr.warmup(cyclr.CosineDecay(0.01, decay - 1000, alpha=0.1), 1000, 1e-4),
            optax.warmup_cosine_decay_schedule(1e-4, 0.01, 1000, decay, end_value=0.001),
        ),
        (
            "cosine decay, exponent 2 (optax.cosine_decay_schedule)",
            cyclr.CosineDecay(0.01, decay, alpha=0.1, exponent=2.0),
            optax.cosine_decay_schedule(0.01, decay, alpha=0.1, exponent=2.0),
        ),
        (
            "cosine decay (optax.cosine_decay_schedule)",
            cyclr.CosineDecay(0.01, decay),
            optax.cosine_decay_schedule(0.01, decay),
        ),
    ]
    counts = jnp.arange(NUM_COUNTS, dtype=jnp.int32)
    result = []
    for what, spec, peer in cases:
        calls = []
        for schedule in (cyclr.jax.lr_schedule(spec), peer):
            evaluate = jax.jit(jax.vmap(schedule))
            evaluate(counts).block_until_ready()
            calls.append(lambda e=evaluate: e(counts).block_until_ready())
        ours, theirs = [], []
        for _ in range(JAX_ROUNDS):
            for call, times in zip(calls, (ours, theirs), strict=True):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) / NUM_COUNTS)
        label = f"jitted lr_schedule per count, {what} (median of {JAX_ROUNDS}; noise ours {spread(ours)}, optax {spread(theirs)})"
        result.append(
            Row(label, statistics.median(ours), "optax, per count", statistics.median(theirs), GOAL_JAX)
        )
    return result


def rows() -> list[Row]:
    return _torch_rows() + _jax_rows()
