"""``cyclr demo``: a small network on scikit-learn's digits, trained in plain numpy, three ways.

First an LR range test (``cyclr.find_lr``) picks ``base_lr`` and ``max_lr``, as the CLR paper does.
Then a fixed lr (``max_lr / 3``), triangular and triangular2 get the same budget, the same initial
weights and the same batches. The optimizer's update is a numba kernel that calls
``cyclr.numba.compile(spec)`` inside it (the "embed in your own optimizer" use). The accuracy per epoch
is printed whatever it shows. Needs scikit-learn (for the data, which ships inside the package) and,
for the plot, matplotlib.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._spec import Spec
from .cyclic import CyclicLR
from .rangetest import RangeTestResult, find_lr

HIDDEN = 64
BATCH = 32
MOMENTUM = 0.9


@dataclass(frozen=True)
class Run:
    """One training run: its name, its schedule, and the test accuracy after each epoch."""

    name: str
    spec: CyclicLR
    accuracy: tuple[float, ...]
    seconds: float


def load_digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (1797 images, offline), scaled to [0, 1]; 80% train, 20% test."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - exercised in a subprocess test
        raise ImportError('the demo needs scikit-learn for its data: pip install "cyclr[demo]"') from error
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
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
    rng = np.random.default_rng(seed)
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
    w1, b1, w2, b2 = _views(params)
    logits = np.maximum(images @ w1 + b1, 0.0) @ w2 + b2
    return float((logits.argmax(axis=1) == labels).mean())


def train(name: str, spec: CyclicLR, data: tuple[np.ndarray, ...], epochs: int, seed: int) -> Run:
    train_x, train_y, test_x, test_y = data
    update = make_update(spec)
    params = initial_params(seed)
    grads, velocity = np.zeros_like(params), np.zeros_like(params)
    batches = np.random.default_rng(seed + 1)
    started = time.perf_counter()
    step, history = 0, []
    for _ in range(epochs):
        order = batches.permutation(len(train_y))
        for first in range(0, len(order) - BATCH + 1, BATCH):
            batch = order[first : first + BATCH]
            gradients(params, train_x[batch], train_y[batch], grads)
            update(params, grads, velocity, step)
            step += 1
        history.append(accuracy(params, test_x, test_y))
    return Run(name, spec, tuple(history), time.perf_counter() - started)


def range_test(data: tuple[np.ndarray, ...], seed: int) -> RangeTestResult:
    """``find_lr`` on this network and optimizer: 150 steps from lr 1e-4 to 10, then the weights are dropped."""
    train_x, train_y = data[0], data[1]
    apply = sgd_momentum()
    params = initial_params(seed)
    grads, velocity = np.zeros_like(params), np.zeros_like(params)
    batches = np.random.default_rng(seed + 2)

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
        f"fixed {fixed:.3g}": CyclicLR(base_lr=fixed, max_lr=fixed, step_size_up=step_size, cycle_momentum=False),
        "triangular": CyclicLR(base_lr=base_lr, max_lr=max_lr, step_size_up=step_size, cycle_momentum=False),
        "triangular2": CyclicLR(
            base_lr=base_lr, max_lr=max_lr, step_size_up=step_size, mode="triangular2", cycle_momentum=False
        ),
    }


FALLBACK_RANGE = (0.01, 0.1)


def run(epochs: int = 12, seed: int = 0, plot_path: Path | str | None = "cyclr_demo.png", out: Any = print) -> list[Run]:
    """The range test, then the three runs; print a table of test accuracy per epoch; write the plot.

    Returns:
        The runs, in the order fixed, triangular, triangular2.
    """
    data = load_digits_split(seed)
    steps_per_epoch = len(data[1]) // BATCH
    out(f"digits: {len(data[1])} training and {len(data[3])} test images; {steps_per_epoch} steps of {BATCH} per epoch;")
    out(f"a 64-{HIDDEN}-10 ReLU network, SGD with momentum {MOMENTUM}, the update a numba kernel calling cyclr.\n")
    sweep = range_test(data, seed)
    try:
        suggestion = sweep.suggestion
        base_lr, max_lr = suggestion.base_lr, suggestion.max_lr
        out(f"LR range test: {len(sweep.lrs)} steps ({sweep.reason}); suggested base_lr {base_lr:.3g}, max_lr {max_lr:.3g}")
    except ValueError as error:
        base_lr, max_lr = FALLBACK_RANGE
        out(f"LR range test gave no suggestion ({error}); using base_lr {base_lr}, max_lr {max_lr}")
    runs = [train(name, spec, data, epochs, seed) for name, spec in schedules(steps_per_epoch, base_lr, max_lr).items()]
    out("\ntest accuracy after each epoch")
    out("epoch  " + "  ".join(f"{run.name:>14}" for run in runs))
    for epoch in range(epochs):
        out(f"{epoch + 1:>5}  " + "  ".join(f"{run.accuracy[epoch]:>14.4f}" for run in runs))
    best = max(runs, key=lambda run: run.accuracy[-1])
    out("\nfinal: " + ", ".join(f"{run.name} {run.accuracy[-1]:.4f}" for run in runs) + f" (best: {best.name})")
    out("times: " + ", ".join(f"{run.name} {run.seconds:.2f} s" for run in runs))
    if plot_path is not None:
        _plot(runs, sweep, steps_per_epoch, epochs, Path(plot_path))
        out(f"wrote {plot_path}")
    return runs


def _plot(runs: list[Run], sweep: RangeTestResult, steps_per_epoch: int, epochs: int, path: Path) -> None:
    from .plotting import require_matplotlib

    pyplot = require_matplotlib()
    figure = pyplot.figure(figsize=(11, 6))
    top, bottom = figure.add_subplot(2, 2, 1), figure.add_subplot(2, 2, 3)
    sweep.plot(ax=figure.add_subplot(1, 2, 2))
    for run in runs:
        top.plot(np.arange(1, epochs + 1) * steps_per_epoch, run.accuracy, marker="o", label=run.name)
        steps = np.arange(epochs * steps_per_epoch)
        bottom.plot(steps, run.spec.lr_at(steps), label=run.name)
    top.set_ylabel("test accuracy")
    top.legend()
    top.set_title("digits: fixed lr vs cyclical (same budget)")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
