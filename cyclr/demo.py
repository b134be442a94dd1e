"""``cyclr demo``: does a cyclical lr reach a fixed lr's accuracy in fewer iterations? Digits, over seeds.

Smith's claim (CLR paper, Table 1: CIFAR-10 reaches the fixed lr's 81.4% in 25,000 instead of 70,000
iterations) is speed to accuracy. The demo measures the same two things on a small problem that trains
in a second: a 64-64-10 ReLU network on scikit-learn's 8x8 digits, SGD with momentum 0.9, the update a
numba kernel calling ``cyclr.numba.compile(spec)`` (the "embed in your own optimizer" use).

1. An LR range test (``cyclr.find_lr``) picks ``base_lr`` and ``max_lr``, as the paper does.
2. A fixed lr (``max_lr / 3``), triangular and triangular2 (step size 2 epochs) each train once per
   seed: the same initial weights and batches for the three schedules within a seed.
3. Test accuracy is measured four times an epoch. The target is the fixed lr's mean final accuracy;
   for each schedule the demo reports the final accuracy (mean and standard deviation over seeds) and
   the iterations to reach the target (mean and standard deviation over the seeds that reach it, and
   how many do).

Whatever that shows is printed; nothing is claimed that was not measured. Needs scikit-learn (the data
ships inside it), numba, and matplotlib for the figure: ``pip install "cyclr[demo]"``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._spec import Spec
from .cyclic import CyclicLR
from .rangetest import RangeTestResult, find_lr

HIDDEN = 64
BATCH = 32
MOMENTUM = 0.9
EVALS_PER_EPOCH = 4
FALLBACK_RANGE = (0.01, 0.1)


def require(plot: bool = True) -> None:
    """Import what the demo needs, or raise an ImportError naming the extra that brings it."""
    needed = {"sklearn.datasets": "scikit-learn", "numba": "numba"}
    if plot:
        needed["matplotlib.pyplot"] = "matplotlib"
    for module, package in needed.items():
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ImportError(f'the demo needs {package}: pip install "cyclr[demo]"') from error


@dataclass(frozen=True)
class Runs:
    """One schedule trained once per seed: the test accuracy at each evaluation step, per seed.

    Attributes:
        name: the schedule's label.
        spec: the schedule.
        steps: the iterations after which test accuracy was measured (the last one is the end).
        accuracy: ``accuracy[i][j]`` is seed ``i``'s test accuracy after ``steps[j]`` iterations.
        seconds: the training time of all seeds together.
    """

    name: str
    spec: CyclicLR
    steps: tuple[int, ...]
    accuracy: tuple[tuple[float, ...], ...]
    seconds: float

    @property
    def final(self) -> np.ndarray:
        """Each seed's final test accuracy."""
        return np.array([history[-1] for history in self.accuracy])

    def iterations_to(self, target: float) -> list[int | None]:
        """Per seed, the first measured iteration with test accuracy >= ``target`` (None: never)."""
        return [
            next((step for step, value in zip(self.steps, history, strict=True) if value >= target), None)
            for history in self.accuracy
        ]


@dataclass(frozen=True)
class Report:
    """What the demo measured: the range test, the range it picked, the target, and every run."""

    sweep: RangeTestResult
    base_lr: float
    max_lr: float
    target: float
    runs: tuple[Runs, ...]

    def summary(self) -> list[dict[str, Any]]:
        """Per schedule: final accuracy mean/std, and iterations to the target (mean/std, reached)."""
        rows = []
        for runs in self.runs:
            reached = [step for step in runs.iterations_to(self.target) if step is not None]
            rows.append(
                {
                    "name": runs.name,
                    "final_mean": float(runs.final.mean()),
                    "final_std": float(runs.final.std()),
                    "reached": len(reached),
                    "seeds": len(runs.accuracy),
                    "iterations_mean": float(np.mean(reached)) if reached else None,
                    "iterations_std": float(np.std(reached)) if reached else None,
                }
            )
        return rows


def _one_blas_thread() -> Any:
    """One BLAS thread while training: on 64x64 matrices threads only wait for each other (5x slower on
    a busy two-core machine). threadpoolctl comes with scikit-learn; without it, nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def load_digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (1797 images, offline), scaled to [0, 1]; 80% train, 20% test."""
    require(plot=False)
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng([seed, 0]).permutation(len(digits.target))
    images, labels = digits.data[order] / 16.0, digits.target[order]
    split = int(0.8 * len(labels))
    return images[:split], labels[:split], images[split:], labels[split:]


@functools.cache
def sgd_momentum() -> Callable[..., None]:
    """The optimizer, a numba kernel: ``velocity = MOMENTUM * velocity - lr * grads; params += velocity``.

    Built once (numba is imported only when the demo runs) and shared by the range test and every run.
    """
    import numba

    @numba.njit
    def step(params: np.ndarray, grads: np.ndarray, velocity: np.ndarray, lr: float) -> None:
        for i in range(params.size):
            velocity[i] = MOMENTUM * velocity[i] - lr * grads[i]
            params[i] += velocity[i]

    return step


def make_update(spec: Spec) -> Callable[..., None]:
    """A numba kernel ``update(params, grads, velocity, step)``: the optimizer, its lr from the spec."""
    import numba

    from . import numba as cyclr_numba

    schedule = cyclr_numba.compile(spec)
    apply = sgd_momentum()

    @numba.njit
    def update(params: np.ndarray, grads: np.ndarray, velocity: np.ndarray, step: int) -> None:
        lr, _ = schedule(step)
        apply(params, grads, velocity, lr)

    return update


def _views(params: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weights and biases as views into one flat vector (the kernel updates the vector)."""
    sizes = [(64, HIDDEN), (HIDDEN,), (HIDDEN, 10), (10,)]
    views, offset = [], 0
    for shape in sizes:
        count = int(np.prod(shape))
        views.append(params[offset : offset + count].reshape(shape))
        offset += count
    return tuple(views)


def initial_params(seed: int) -> np.ndarray:
    """He-initialised weights, zero biases, from ``seed``."""
    rng = np.random.default_rng([seed, 1])
    params = np.zeros(64 * HIDDEN + HIDDEN + HIDDEN * 10 + 10)
    w1, _, w2, _ = _views(params)
    w1[...] = rng.normal(0.0, np.sqrt(2.0 / 64), w1.shape)
    w2[...] = rng.normal(0.0, np.sqrt(1.0 / HIDDEN), w2.shape)
    return params


def gradients(params: np.ndarray, images: np.ndarray, labels: np.ndarray, grads: np.ndarray) -> float:
    """Softmax cross-entropy of a one-hidden-layer ReLU network; fills ``grads``, returns the loss."""
    w1, b1, w2, b2 = _views(params)
    gw1, gb1, gw2, gb2 = _views(grads)
    hidden = np.maximum(images @ w1 + b1, 0.0)
    logits = hidden @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(-np.log(probabilities[rows, labels]).mean())
    delta = probabilities
    delta[rows, labels] -= 1.0
    delta /= len(labels)
    gw2[...] = hidden.T @ delta
    gb2[...] = delta.sum(axis=0)
    back = (delta @ w2.T) * (hidden > 0)
    gw1[...] = images.T @ back
    gb1[...] = back.sum(axis=0)
    return loss


def accuracy(params: np.ndarray, images: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of ``images`` classified as their ``labels``."""
    w1, b1, w2, b2 = _views(params)
    logits = np.maximum(images @ w1 + b1, 0.0) @ w2 + b2
    return float((logits.argmax(axis=1) == labels).mean())


def train(
    update: Callable[..., None], data: tuple[np.ndarray, ...], epochs: int, seed: int, evaluate_every: int
) -> tuple[list[int], list[float]]:
    """One run: ``epochs`` epochs of batches from ``seed``; test accuracy every ``evaluate_every`` steps."""
    train_x, train_y, test_x, test_y = data
    params = initial_params(seed)
    grads, velocity = np.zeros_like(params), np.zeros_like(params)
    batches = np.random.default_rng([seed, 2])
    step, steps, history = 0, [], []
    for _ in range(epochs):
        order = batches.permutation(len(train_y))
        for first in range(0, len(order) - BATCH + 1, BATCH):
            batch = order[first : first + BATCH]
            gradients(params, train_x[batch], train_y[batch], grads)
            update(params, grads, velocity, step)
            step += 1
            if step % evaluate_every == 0:
                steps.append(step)
                history.append(accuracy(params, test_x, test_y))
    return steps, history


def range_test(data: tuple[np.ndarray, ...], seed: int) -> RangeTestResult:
    """``find_lr`` on this network and optimizer: 150 steps from lr 1e-4 to 10; the weights are dropped."""
    train_x, train_y = data[0], data[1]
    apply = sgd_momentum()
    params = initial_params(seed)
    grads, velocity = np.zeros_like(params), np.zeros_like(params)
    batches = np.random.default_rng([seed, 3])

    def train_step(lr: float) -> float:
        batch = batches.choice(len(train_y), BATCH, replace=False)
        loss = gradients(params, train_x[batch], train_y[batch], grads)
        apply(params, grads, velocity, lr)
        return loss

    return find_lr(train_step, start_lr=1e-4, end_lr=10.0, num_steps=150, progress=False)


def schedules(steps_per_epoch: int, base_lr: float, max_lr: float) -> dict[str, CyclicLR]:
    """A fixed lr of ``max_lr / 3``, and triangular and triangular2 from ``base_lr`` to ``max_lr``.

    Step size: 2 epochs (Smith: 2-10 x the iterations per epoch), so 12 epochs end at a cycle's end.
    Momentum is a fixed 0.9 in all three (the CLR paper's setting).
    """
    step_size = 2 * steps_per_epoch
    fixed = max_lr / 3
    return {
        f"fixed {fixed:.3g}": CyclicLR(
            base_lr=fixed, max_lr=fixed, step_size_up=step_size, cycle_momentum=False
        ),
        "triangular": CyclicLR(base_lr=base_lr, max_lr=max_lr, step_size_up=step_size, cycle_momentum=False),
        "triangular2": CyclicLR(
            base_lr=base_lr, max_lr=max_lr, step_size_up=step_size, mode="triangular2", cycle_momentum=False
        ),
    }


def measure(epochs: int = 12, seed: int = 0, seeds: int = 5, out: Callable[[str], Any] = print) -> Report:
    """The range test, then each schedule once per seed ``seed, seed + 1, ...``: the numbers, no figure.

    Raises:
        ImportError: scikit-learn or numba is missing (``pip install "cyclr[demo]"``).
    """
    with _one_blas_thread():
        return _measure(epochs, seed, seeds, out)


def _measure(epochs: int, seed: int, seeds: int, out: Callable[[str], Any]) -> Report:
    data = load_digits_split(seed)
    steps_per_epoch = len(data[1]) // BATCH
    out(
        f"digits: {len(data[1])} training and {len(data[3])} test images; {steps_per_epoch} steps of {BATCH} "
        f"per epoch; a 64-{HIDDEN}-10 ReLU network, SGD with momentum {MOMENTUM} "
        "(a numba kernel calling cyclr)"
    )
    sweep = range_test(data, seed)
    try:
        base_lr, max_lr = sweep.suggestion.base_lr, sweep.suggestion.max_lr
        out(
            f"LR range test: {len(sweep.lrs)} steps ({sweep.reason}); "
            f"suggested base_lr {base_lr:.3g}, max_lr {max_lr:.3g}"
        )
    except ValueError as error:
        base_lr, max_lr = FALLBACK_RANGE
        out(f"LR range test gave no suggestion ({error}); using base_lr {base_lr}, max_lr {max_lr}")
    every = max(1, steps_per_epoch // EVALS_PER_EPOCH)
    runs = []
    for name, spec in schedules(steps_per_epoch, base_lr, max_lr).items():
        update, started = make_update(spec), time.perf_counter()
        histories: list[tuple[float, ...]] = []
        steps: list[int] = []
        for offset in range(seeds):
            steps, history = train(update, data, epochs, seed + offset, every)
            histories.append(tuple(history))
        runs.append(Runs(name, spec, tuple(steps), tuple(histories), time.perf_counter() - started))
    target = float(runs[0].final.mean())
    return Report(sweep, base_lr, max_lr, target, tuple(runs))


def describe(report: Report) -> list[str]:
    """The report as lines of text: a table, then what it says, in numbers."""
    rows = report.summary()
    seeds = rows[0]["seeds"]
    lines = [
        f"\n{seeds} seeds; target accuracy {report.target:.4f} (the fixed lr's mean final accuracy, as the "
        "paper's Table 1 compares)",
        f"{'schedule':<14} {'final accuracy':>18} {'iterations to target':>22} {'reached':>8}",
    ]
    for row in rows:
        iterations = (
            "never"
            if row["iterations_mean"] is None
            else f"{row['iterations_mean']:.0f} +- {row['iterations_std']:.0f}"
        )
        lines.append(
            f"{row['name']:<14} {row['final_mean']:>9.4f} +- {row['final_std']:.4f} {iterations:>22} "
            f"{row['reached']:>4}/{row['seeds']}"
        )
    fixed = rows[0]
    for row in rows[1:]:
        if row["iterations_mean"] is None:
            speed = "never reached the target"
        elif fixed["iterations_mean"] is None:
            speed = f"reached the target in {row['iterations_mean']:.0f} iterations; the fixed lr never did"
        else:
            speed = (
                f"reached the target in {row['iterations_mean'] / fixed['iterations_mean']:.2f}x the fixed "
                f"lr's iterations ({row['reached']}/{row['seeds']} seeds "
                f"vs {fixed['reached']}/{fixed['seeds']})"
            )
        difference = row["final_mean"] - fixed["final_mean"]
        spread = float(np.hypot(row["final_std"], fixed["final_std"]))
        verdict = "within" if abs(difference) <= spread else "beyond"
        lines.append(
            f"{row['name']}: {speed}; final accuracy {difference:+.4f} vs fixed ({verdict} the spread "
            f"{spread:.4f})"
        )
    lines.append("times: " + ", ".join(f"{runs.name} {runs.seconds:.2f} s" for runs in report.runs))
    return lines


def run(
    epochs: int = 12,
    seed: int = 0,
    seeds: int = 5,
    plot: Path | str | Callable[[Any], None] | None = "cyclr_demo.png",
    out: Callable[[str], Any] = print,
) -> Report:
    """Measure (see ``measure``), print the report, and draw the figure.

    Args:
        epochs: epochs per run.
        seed: the first seed (the data split and the range test use it).
        seeds: runs per schedule.
        plot: where the figure goes: a path, a function given the matplotlib figure, or None.
        out: where the text goes.

    Returns:
        The ``Report``.
    """
    report = measure(epochs, seed, seeds, out)
    for line in describe(report):
        out(line)
    if plot is not None:
        figure = draw(report)
        try:
            if callable(plot):
                plot(figure)
            else:
                figure.savefig(plot, dpi=110)
        finally:
            import matplotlib.pyplot as pyplot

            pyplot.close(figure)
    return report


def sweep_title(sweep: RangeTestResult, suggestion: Any) -> str:
    """The range-test panel's title: why it stopped, never "finished" over a loss that blew up."""
    losses = np.asarray(sweep.losses, dtype=float)
    finite = losses[np.isfinite(losses)]
    if sweep.reason == "diverged":
        return f"LR range test: stopped at lr {sweep.lrs[-1]:.2g}, the loss diverged"
    if sweep.reason == "finished" and (len(finite) < len(losses) or finite[-1] > 2 * finite.min()):
        where = f" past lr {suggestion.minimum.lr:.2g}" if not isinstance(suggestion, str) else ""
        return f"LR range test: {len(losses)} steps to lr {sweep.lrs[-1]:.2g}; the loss blows up{where}"
    return f"LR range test: {len(losses)} steps to lr {sweep.lrs[-1]:.2g} ({sweep.reason})"


def draw(report: Report) -> Any:
    """The figure: accuracy against iterations (mean and spread), the schedules, and the range test."""
    from .plotting import require_matplotlib
    from .rangetest import plot_sweep

    pyplot = require_matplotlib()
    figure = pyplot.figure(figsize=(12, 6.5))
    top = figure.add_subplot(2, 2, 1)
    bottom = figure.add_subplot(2, 2, 3, sharex=top)
    for color, runs in zip(("C0", "C1", "C2"), report.runs, strict=False):
        steps, values = np.array(runs.steps), np.array(runs.accuracy)
        mean, spread = values.mean(axis=0), values.std(axis=0)
        top.plot(steps, mean, color=color, label=runs.name)
        top.fill_between(steps, mean - spread, mean + spread, color=color, alpha=0.15, lw=0)
        reached = [step for step in runs.iterations_to(report.target) if step is not None]
        if reached:
            top.axvline(float(np.mean(reached)), color=color, ls=":", lw=1)
        lr_steps = np.arange(steps[-1])
        bottom.plot(lr_steps, runs.spec.lr_at(lr_steps), color=color, label=runs.name)
    top.axhline(
        report.target, color="k", ls="--", lw=1, label=f"target {report.target:.3f} (fixed lr's final)"
    )
    top.set_ylim(max(0.0, report.target - 0.12), 1.0)
    top.set_ylabel("test accuracy")
    top.set_title(
        f"mean +- std over {len(report.runs[0].accuracy)} seeds; dotted: mean iterations to the target",
        fontsize=10,
    )
    top.legend(fontsize=8, loc="lower right")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("iteration")
    bottom.legend(fontsize=8, loc="upper right")
    right = figure.add_subplot(1, 2, 2)
    try:
        suggestion: Any = report.sweep.suggestion
    except ValueError as error:
        suggestion = str(error)
    plot_sweep(
        report.sweep.lrs,
        report.sweep.losses,
        suggestion=suggestion,
        ax=right,
        title=sweep_title(report.sweep, suggestion),
    )
    if isinstance(suggestion, str):
        right.legend(fontsize=8)
    figure.tight_layout()
    return figure
