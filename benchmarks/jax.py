"""The JAX adapter: a jitted optax training step with a cyclr schedule against the same step with a
constant learning rate, and ten million counts in one vectorized call against the NumPy path.

The training-step rows time every family's step against the same step with trivial callables, in
paired blocks (every build of every variant once per block, in a rotating order), each variant compiled
several times and averaged over its builds, with an A/A control: a second set of builds of the trivial
step. The vectorized call is compiled once (not timed) and then timed, in turns with the
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


def _paired_blocks(runs: dict[str, list[Any]], blocks: int, steps: int) -> dict[str, np.ndarray]:
    """Seconds per step of every variant, in ``blocks`` blocks: in each block every build of every
    variant runs ``steps`` steps, in a rotating order (load on the machine hits every build of a block
    alike), and a variant's time for the block is the mean over its builds.

    A variant is several separately compiled builds of the same step: one build's code and buffers land
    where they land, which moves its step time by a few tenths of a percent for good (two builds of the
    trivial step differ by up to 0.6% at 2,000 blocks); the mean over builds averages that out.
    """
    import time

    order = [(name, build) for name, builds in runs.items() for build in range(len(builds))]
    times: dict[str, list[list[float]]] = {name: [[] for _ in builds] for name, builds in runs.items()}
    for block in range(blocks):
        shift = (block * 7) % len(order)  # rotate by a step coprime to the usual sizes
        for name, build in order[shift:] + order[:shift]:
            run = runs[name][build]
            started = time.perf_counter()
            for _ in range(steps):
                run()
            times[name][build].append((time.perf_counter() - started) / steps)
    return {name: np.mean(np.array(per_build), axis=0) for name, per_build in times.items()}


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


BLOCKS = 300
STEPS_PER_BLOCK = 4
BUILDS = 4


def train_step_rows(blocks: int = BLOCKS, steps: int = STEPS_PER_BLOCK, builds: int = BUILDS) -> list[Row]:
    """The jitted MLP step with injected lr + momentum: each family's schedules against trivial callables.

    Every variant is ``builds`` separately compiled steps. Two such sets of the step with the trivial
    callable (``lambda count: constant``) form the A/A control: their ratio shows what the benchmark can
    resolve. Each family is compared with both sets together.
    """
    import jax.numpy as jnp
    import optax

    import cyclr.jax

    sgd = optax.inject_hyperparams(optax.sgd)

    def constant(value: float) -> Any:
        return lambda count: jnp.float32(value)

    def trivial() -> Any:
        return sgd(learning_rate=constant(0.001), momentum=constant(0.9))

    runs = {
        "trivial": [_train_step(trivial()) for _ in range(builds)],
        "trivial again": [_train_step(trivial()) for _ in range(builds)],
    }
    specs = families()
    for name, spec in specs.items():
        momentum = cyclr.jax.momentum_schedule(spec) if spec.has_momentum else constant(0.9)
        optimizer = sgd(learning_rate=cyclr.jax.lr_schedule(spec), momentum=momentum)
        runs[name] = [_train_step(optimizer) for _ in range(builds)]
    times = _paired_blocks(runs, blocks, steps)
    base = times["trivial"]
    rows = []
    what = f"median of {blocks} paired blocks of {steps} steps x {builds} builds"
    ratio, noise = _ratio(times["trivial again"], base)
    rows.append(
        Row(
            f"A/A control: jitted MLP step, injected trivial callables, two sets of builds ({what}: ratio "
            f"{ratio:.4f} ± {noise:.4f})",
            ratio * float(np.median(base)),
            "the same step",
            float(np.median(base)),
            "1.00x (the noise floor)",
        )
    )
    pooled = (times["trivial"] + times["trivial again"]) / 2  # the families' baseline: both sets
    for name, spec in specs.items():
        ratio, noise = _ratio(times[name], pooled)
        momentum = "momentum" if spec.has_momentum else "constant momentum"
        rows.append(
            Row(
                f"jitted MLP step, injected lr + {momentum}, {name} "
                f"({what}: ratio {ratio:.4f} ± {noise:.4f})",
                ratio * float(np.median(pooled)),  # so that the table's ratio is the median block ratio
                f"same step, injected lambda count: constant ({2 * builds} builds)",
                float(np.median(pooled)),
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
