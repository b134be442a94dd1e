"""The core: scalar lr_at against torch's CyclicLR.step(), precompute against filling memory."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np

import cyclr

from ._timing import Row, best_of, per_call

NUM_STEPS = 10_000_000


def scalar_rows() -> list[Row]:
    import torch

    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=0.001, max_lr=0.006, step_size_up=2000)
        torch_step = per_call("step()", namespace={"step": scheduler.step})
    namespace = {"lr_at": spec.lr_at, "spec": spec, "step": 123_457}
    return [
        Row("spec.lr_at(step), Python int", per_call("lr_at(step)", namespace=namespace),
            "torch CyclicLR.step()", torch_step, ">= 10x faster"),
        Row("spec(step) -> (lr, momentum)", per_call("spec(step)", namespace=namespace),
            "torch CyclicLR.step()", torch_step),
    ]


def precompute_rows() -> list[Row]:
    rows = []
    lr = np.empty(NUM_STEPS)
    momentum = np.empty(NUM_STEPS)
    fill = best_of(lambda: lr.fill(1.0))
    fill_two = best_of(lambda: (lr.fill(1.0), momentum.fill(1.0)))
    for mode in ("triangular", "triangular2"):
        spec = cyclr.CyclicLR(mode=mode, cycle_momentum=False)
        for backend, goal in (("numpy", "<= 4x the fill"), ("numba", "<= 1.5x the fill")):
            ours = best_of(lambda: spec.precompute(NUM_STEPS, backend=backend, out=(lr, None)))
            rows.append(Row(f"precompute 10M, {mode}, lr only, {backend}", ours, "fill 1 preallocated array", fill,
                            goal if mode == "triangular" else ""))
    spec = cyclr.CyclicLR()
    for backend in ("numpy", "numba"):
        ours = best_of(lambda: spec.precompute(NUM_STEPS, backend=backend, out=(lr, momentum)))
        rows.append(Row(f"precompute 10M, triangular, lr+momentum, {backend}", ours, "fill 2 preallocated arrays", fill_two))
    rows += exp_range_rows(lr, momentum)
    ours = best_of(lambda: cyclr.CyclicLR(cycle_momentum=False).precompute(NUM_STEPS))
    rows.append(Row("precompute 10M, triangular, numpy, allocating", ours, "fill 1 preallocated array", fill))
    return rows


def paired_medians(
    ours: Callable[[], object], peer: Callable[[], object], *, pairs: int = 31
) -> tuple[float, float, float]:
    """Median seconds of ``ours`` and ``peer``, run in interleaved pairs, and the noise of their ratio.

    The noise is half the spread between the 10th and 90th percentile of the per-pair ratios, relative to
    their median: what one pair could be off by.
    """
    ours(), peer()
    mine, theirs = [], []
    for _ in range(pairs):
        for fn, into in ((peer, theirs), (ours, mine)):
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    ratios = np.array(mine) / np.array(theirs)
    low, middle, high = np.percentile(ratios, [10, 50, 90])
    return float(np.median(mine)), float(np.median(theirs)), float((high - low) / 2 / middle)


def exp_range_rows(lr: np.ndarray, momentum: np.ndarray) -> list[Row]:
    """exp_range precompute against the fill (medians of interleaved pairs) and lr_at against torch."""
    import torch

    rows = []
    fill = lambda: lr.fill(1.0)  # noqa: E731
    fill_two = lambda: (lr.fill(1.0), momentum.fill(1.0))  # noqa: E731
    for quantities, outputs, peer, peer_name in (
        ("lr only", (lr, None), fill, "fill 1 preallocated array"),
        ("lr+momentum", (lr, momentum), fill_two, "fill 2 preallocated arrays"),
    ):
        spec = cyclr.CyclicLR(mode="exp_range", gamma=0.99994, cycle_momentum=quantities != "lr only")
        for backend, goal in (("numpy", "<= 4x the fill"), ("numba", "<= 2x the fill")):
            ours, theirs, noise = paired_medians(
                partial(spec.precompute, NUM_STEPS, backend=backend, out=outputs), peer
            )
            what = f"precompute 10M, exp_range, {quantities}, {backend} (median; ratio noise ±{noise:.0%})"
            rows.append(Row(what, ours, peer_name, theirs, goal))
    spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="exp_range", gamma=0.99994)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = torch.optim.lr_scheduler.CyclicLR(
            optimizer, base_lr=0.001, max_lr=0.006, step_size_up=2000, mode="exp_range", gamma=0.99994
        )
        torch_step = per_call("step()", namespace={"step": scheduler.step})
    ours = per_call("lr_at(step)", namespace={"lr_at": spec.lr_at, "step": 123_457})
    peer_name = "torch CyclicLR(mode='exp_range').step()"
    rows.append(Row("spec.lr_at(step), exp_range, Python int", ours, peer_name, torch_step, ">= 10x faster"))
    return rows


def rows() -> list[Row]:
    return scalar_rows() + precompute_rows()
