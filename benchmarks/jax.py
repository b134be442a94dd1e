"""The JAX adapter: a jitted optax training step with a cyclr schedule against the same step with a
constant learning rate, and ten million counts in one vectorized call against the NumPy path.

The training-step rows time every family's step against the same step with trivial callables, in
paired blocks (every variant once per block, in a rotating order), with an A/A control: the same trivial
step built twice. The vectorized call is compiled once (not timed) and then timed, in turns with the
NumPy path, medians reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._timing import Row, best_of
from .optax import interleaved

NUM_COUNTS = 10_000_000
TURNS = 11
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


def _paired_blocks(runs: dict[str, Any], blocks: int, steps: int) -> dict[str, np.ndarray]:
    """Seconds per step of every run, in ``blocks`` blocks of ``steps`` steps each, every run once per
    block in a rotating order (load on the machine hits every run of a block alike)."""
    import time

    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for block in range(blocks):
        shift = block % len(names)
        for name in names[shift:] + names[:shift]:
            run = runs[name]
            started = time.perf_counter()
            for _ in range(steps):
                run()
            times[name].append((time.perf_counter() - started) / steps)
    return {name: np.array(values) for name, values in times.items()}


def _ratio(ours: np.ndarray, peer: np.ndarray) -> tuple[float, float]:
    """The median of the per-block ratios, and the half-width of their 95% interval for that median
    (order statistics of the block ratios: no assumption on their distribution)."""
    ratios = np.sort(ours / peer)
    n = len(ratios)
    half = 1.96 * np.sqrt(n) / 2
    low, high = ratios[max(int(n / 2 - half), 0)], ratios[min(int(np.ceil(n / 2 + half)), n - 1)]
    return float(np.median(ratios)), float((high - low) / 2)


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


def families() -> dict[str, Any]:
    """One spec of each family, as a training run would use it."""
    import cyclr

    return {
        "triangular": cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000),
        "triangular2": cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="triangular2"),
        "exp_range cosine": cyclr.CyclicLR(
            base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="exp_range", gamma=0.99994, waveform="cosine"
        ),
        "one-cycle cosine": cyclr.OneCycleLR(max_lr=0.1, total_steps=100_000),
        "one-cycle linear": cyclr.OneCycleLR(max_lr=0.1, total_steps=100_000, anneal_strategy="linear"),
        "SGDR": cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=1000, T_mult=2, eta_min=0.001),
        "cosine annealing": cyclr.CosineAnnealingLR(base_lr=0.1, T_max=100_000),
        "warmup + join": cyclr.warmup(
            cyclr.join(
                [cyclr.CosineAnnealingLR(0.1, 5000), cyclr.CyclicLR(0.001, 0.01, 500, cycle_momentum=False)],
                [5000],
            ),
            500,
            0.0,
        ),
    }


BLOCKS = 200
STEPS_PER_BLOCK = 10


def train_step_rows(blocks: int = BLOCKS, steps: int = STEPS_PER_BLOCK) -> list[Row]:
    """The jitted MLP step with injected lr + momentum: each family's schedules against trivial callables.

    Two separately built steps with the trivial callable (``lambda count: constant``) form the A/A
    control: their ratio shows what the benchmark can resolve.
    """
    import jax.numpy as jnp
    import optax

    import cyclr.jax

    sgd = optax.inject_hyperparams(optax.sgd)

    def constant(value: float) -> Any:
        return lambda count: jnp.float32(value)

    runs = {
        "trivial": _train_step(sgd(learning_rate=constant(0.001), momentum=constant(0.9))),
        "trivial again": _train_step(sgd(learning_rate=constant(0.001), momentum=constant(0.9))),
    }
    specs = families()
    for name, spec in specs.items():
        momentum = cyclr.jax.momentum_schedule(spec) if spec.has_momentum else constant(0.9)
        runs[name] = _train_step(sgd(learning_rate=cyclr.jax.lr_schedule(spec), momentum=momentum))
    times = _paired_blocks(runs, blocks, steps)
    base = times["trivial"]
    rows = []
    what = f"median of {blocks} paired blocks of {steps}"
    ratio, noise = _ratio(times["trivial again"], base)
    rows.append(
        Row(
            f"A/A control: jitted MLP step, injected trivial callables, built twice ({what}: ratio "
            f"{ratio:.4f} ± {noise:.4f})",
            ratio * float(np.median(base)),
            "the same step",
            float(np.median(base)),
            "1.00x (the noise floor)",
        )
    )
    for name, spec in specs.items():
        ratio, noise = _ratio(times[name], base)
        momentum = "momentum" if spec.has_momentum else "constant momentum"
        rows.append(
            Row(
                f"jitted MLP step, injected lr + {momentum}, {name} "
                f"({what}: ratio {ratio:.4f} ± {noise:.4f})",
                ratio * float(np.median(base)),  # so that the table's ratio is the median block ratio
                "same step, injected lambda count: constant",
                float(np.median(base)),
                "<= 1.01x",
            )
        )
    for name in ("triangular", "exp_range cosine"):
        spec = specs[name]
        cost = _in_loop((cyclr.jax.lr_schedule(spec), cyclr.jax.momentum_schedule(spec)))
        rows.append(
            Row(
                f"lr + momentum of one count in a jitted loop, {name}",
                cost,
                "the jitted MLP step",
                float(np.median(base)),
            )
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
        ours = lambda: jax.block_until_ready(schedule(counts))  # noqa: B023, E731
        ours()
        shape = "" if waveform == "triangular" else f", {waveform} waveform"
        what = f"lr of 10M counts, one jitted call, {mode}{shape} (median of {TURNS}"
        for peer_name, peer in (
            ("numpy spec.lr_at(np.arange(10M))", lambda: spec.lr_at(steps)),  # noqa: B023
            ("numpy spec.precompute(10M)", lambda: spec.precompute(NUM_COUNTS)),  # noqa: B023
        ):
            peer()
            ours_time, peer_time, noise = interleaved(ours, peer, TURNS)
            rows.append(Row(f"{what}; ratio noise ±{noise / 2:.0f}%)", ours_time, peer_name, peer_time))
    return rows


def rows() -> list[Row]:
    return train_step_rows() + vectorized_rows()
