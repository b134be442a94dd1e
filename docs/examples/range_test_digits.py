"""The LR range test on a real dataset: scikit-learn's digits, a small MLP, torch on the CPU.

For each seed: run ``cyclr.rangetest.find_lr`` on a fresh network (plain torch, the lr set in the
optimizer's param groups by the training closure), restore the network, then train it twice for the
same number of steps from the same initial weights and batch order:

* CLR: ``CyclicLR(base_lr, max_lr)`` over the suggested range, triangular, two full cycles;
* fixed: a constant lr of ``max_lr / 3`` (the paper's other choice of a single lr from the test);
* fixed at max_lr, for reference.

Prints the suggestions and the final figures, and with ``--plot PATH`` saves the range test's plot
(docs/img/range_test_digits.png is made by ``python docs/examples/range_test_digits.py --plot
docs/img/range_test_digits.png``). Deterministic: fixed seeds, one CPU thread. About 10 s.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from cyclr import CyclicLR
from cyclr.rangetest import RangeTestResult, find_lr

BATCH_SIZE = 32
STEPS_PER_EPOCH = 41  # 1297 training images / 32
STEP_SIZE_UP = 2 * STEPS_PER_EPOCH  # the paper: 2-10 epochs per half cycle
TRAIN_STEPS = 4 * STEP_SIZE_UP  # two full cycles, ending at base_lr as the paper advises
MOMENTUM = 0.9
SWEEP = dict(start_lr=1e-5, end_lr=10.0, num_steps=100)
POLICIES = {
    "clr": "CyclicLR(base_lr, max_lr)",
    "fixed": "fixed lr = max_lr / 3",
    "fixed_max": "fixed lr = max_lr",
}


def digits(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The 1797 8x8 digits shipped with scikit-learn (no download), scaled to [0, 1]; 500 held out."""
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images / 16.0, labels, test_size=500, random_state=seed, stratify=labels
    )
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.int64)  # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test)


def network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def batches(x: torch.Tensor, y: torch.Tensor, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled minibatches, epoch after epoch, in an order fixed by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x) - BATCH_SIZE + 1, BATCH_SIZE):
            index = order[start : start + BATCH_SIZE]
            yield x[index], y[index]


def training_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, data: Iterator[tuple[torch.Tensor, torch.Tensor]]
) -> Callable[[float], torch.Tensor]:
    """``train_step(lr) -> loss``: one SGD step on the next batch at learning rate ``lr``."""
    loss_fn = nn.CrossEntropyLoss()

    def train_step(lr: float) -> torch.Tensor:
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = next(data)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    return train_step


def range_test(seed: int, x: torch.Tensor, y: torch.Tensor) -> RangeTestResult:
    """find_lr on a fresh network; the network and optimizer are thrown away afterwards."""
    model = network(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=SWEEP["start_lr"], momentum=MOMENTUM)
    step = training_step(model, optimizer, batches(x, y, seed + 1000))
    return find_lr(step, **SWEEP, progress=False)


def train(seed: int, lr_at: Callable[[int], float], data: tuple[torch.Tensor, ...]) -> dict[str, float]:
    """TRAIN_STEPS steps from the seed's initial weights and batch order; the final figures."""
    x_train, y_train, x_test, y_test = data
    model = network(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_at(0), momentum=MOMENTUM)
    step = training_step(model, optimizer, batches(x_train, y_train, seed))
    for k in range(TRAIN_STEPS):
        step(lr_at(k))
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        train_loss = float(loss_fn(model(x_train), y_train))
        logits = model(x_test)
        test_loss = float(loss_fn(logits, y_test))
        accuracy = float((logits.argmax(dim=1) == y_test).float().mean())
    return {"train_loss": train_loss, "test_loss": test_loss, "test_accuracy": accuracy}


def moving_average_landmarks(result: RangeTestResult) -> tuple[float, float]:
    """What a causal-moving-average finder reads off the same sweep: the lr of its steepest descent
    (least d smoothed / d log10(lr)) and of its minimum, skipping 10 points at the start and 5 at the
    end as fastai and torch-lr-finder do."""
    lrs, average = result.lrs[10:-5], result.smoothed[10:-5]
    keep = np.isfinite(average)
    lrs, average = lrs[keep], average[keep]
    slope = np.gradient(average, np.log10(lrs))
    return float(lrs[np.argmin(slope)]), float(lrs[np.argmin(average)])


def constant(lr: float) -> Callable[[int], float]:
    """The schedule ``step -> lr``."""
    return lambda step: lr


def run(seeds: tuple[int, ...] = (0, 1, 2, 3, 4), plot: str | None = None) -> dict[str, Any]:
    """The whole experiment; returns every figure (and saves the seed-0 range test's plot to ``plot``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = digits()
        rows = []
        for seed in seeds:
            result = range_test(seed, data[0], data[1])
            suggestion = result.suggestion
            clr = CyclicLR(
                base_lr=suggestion.base_lr,
                max_lr=suggestion.max_lr,
                step_size_up=STEP_SIZE_UP,
                cycle_momentum=False,
            )
            rows.append(
                {
                    "seed": seed,
                    "result": result,
                    "suggestion": suggestion,
                    "moving_average": moving_average_landmarks(result),
                    "clr": train(seed, clr.lr_at, data),
                    "fixed": train(seed, constant(suggestion.max_lr / 3), data),
                    "fixed_max": train(seed, constant(suggestion.max_lr), data),
                }
            )
            if plot is not None and seed == seeds[0]:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt

                ax = result.plot()
                ax.set_title(f"digits, MLP 64-128-10, SGD momentum 0.9, batch 32: {result.reason}")
                ax.figure.tight_layout()
                ax.figure.savefig(plot, dpi=110)
                plt.close(ax.figure)
    finally:
        torch.set_num_threads(threads)
    return {"rows": rows, "summary": summarize(rows)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and (sample) standard deviation over the seeds, per policy and figure."""
    summary = {}
    for policy in POLICIES:
        summary[policy] = {
            name: (
                statistics.mean(row[policy][name] for row in rows),
                statistics.stdev(row[policy][name] for row in rows) if len(rows) > 1 else 0.0,
            )
            for name in ("train_loss", "test_loss", "test_accuracy")
        }
    return summary


def report(figures: dict[str, Any]) -> str:
    """The figures as a plain-text table: the suggestions per seed, then each policy per seed and mean."""
    lines = [
        "seed  stopped        base_lr   max_lr    steepest  minimum   | moving average: steepest  minimum"
    ]
    for row in figures["rows"]:
        s, result = row["suggestion"], row["result"]
        lines.append(
            f"{row['seed']:>4}  {result.reason:<8} {result.stopped_at:>4}  {s.base_lr:<9.3g} "
            f"{s.max_lr:<9.3g} {s.steepest.lr:<9.3g} {s.minimum.lr:<9.3g} | "
            f"{row['moving_average'][0]:<25.3g} {row['moving_average'][1]:.3g}"
        )
    lines.append("")
    lines.append(
        f"{'policy':<26} {'test accuracy per seed':<38} {'mean ± sd':<17} test loss        train loss"
    )
    for policy, label in POLICIES.items():
        f = figures["summary"][policy]
        per_seed = " ".join(f"{row[policy]['test_accuracy']:.3f}" for row in figures["rows"])
        lines.append(
            f"{label:<26} {per_seed:<38} {f['test_accuracy'][0]:.4f} ± {f['test_accuracy'][1]:.4f}  "
            f"{f['test_loss'][0]:.4f} ± {f['test_loss'][1]:.4f}  "
            f"{f['train_loss'][0]:.4f} ± {f['train_loss'][1]:.4f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="save the seed-0 range test's plot here (PNG)")
    args = parser.parse_args()
    print(report(run(plot=args.plot)))


if __name__ == "__main__":
    main()
