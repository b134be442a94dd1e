"""The core: scalar lr_at against torch's CyclicLR.step(), precompute against filling memory."""

from __future__ import annotations

import timeit
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np

import cyclr

from ._timing import Row, best_of, paired_medians, per_call, ratio_noise

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
    rows += scale_fn_rows(lr)
    ours = best_of(lambda: cyclr.CyclicLR(cycle_momentum=False).precompute(NUM_STEPS))
    rows.append(Row("precompute 10M, triangular, numpy, allocating", ours, "fill 1 preallocated array", fill))
    return rows


def exp_range_rows(lr: np.ndarray, momentum: np.ndarray) -> list[Row]:
    """exp_range precompute against the fill (medians of interleaved pairs), and each family's lr_at
    against torch (``scalar_family_rows``)."""
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
    return rows + scalar_family_rows()


ROUNDS = 301  # interleaved rounds per paired scalar row; the median decides, the ratio's spread is the noise
ROUND_SECONDS = 0.00025  # each side's round lasts about this long: short, so that most rounds fit between
# preemptions on a busy machine, and equal, so that preemption hits both sides alike


def paired_per_call(ours: str, peer: str, namespace: dict) -> tuple[float, float, float]:
    """Seconds per call of the statements ``ours`` and ``peer``: medians of ``ROUNDS`` interleaved rounds,
    and the noise of their ratio (as ``paired_medians``).

    Each side's round is sized to last about ``ROUND_SECONDS``: with equal call counts the slower side's
    longer rounds would be preempted more often on a busy machine, which biases the ratio.
    """
    timers = [timeit.Timer(ours, globals=namespace), timeit.Timer(peer, globals=namespace)]
    numbers = []
    for timer in timers:
        estimate = min(timer.repeat(repeat=5, number=200)) / 200
        numbers.append(max(1, round(ROUND_SECONDS / estimate)))
    mine, theirs = [], []
    for _ in range(ROUNDS):
        theirs.append(timers[1].timeit(numbers[1]) / numbers[1])
        mine.append(timers[0].timeit(numbers[0]) / numbers[0])
    return float(np.median(mine)), float(np.median(theirs)), ratio_noise(mine, theirs)


def _torch_step(make: Callable[[object], object]) -> Callable[[], object]:
    import torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make(optimizer)
        optimizer.step()
        scheduler.step()  # type: ignore[attr-defined]
    return scheduler.step  # type: ignore[attr-defined, no-any-return]


def _scale_decay(step: int) -> float:
    """A custom scale_fn for "iterations" mode: exp_range's own scale, ``0.99994 ** step``."""
    return 0.99994**step


def scalar_family_rows() -> list[Row]:
    """``spec.lr_at(int)`` per family against torch's ``step()`` of the same schedule, paired medians
    (the scalar hot path is one flat function for every family: each must stay ahead)."""
    import torch

    sched = torch.optim.lr_scheduler
    clr = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}
    exp = {**clr, "mode": "exp_range", "gamma": 0.99994}
    custom = {**clr, "scale_fn": _scale_decay, "scale_mode": "iterations"}
    cases = [
        ("exp_range", cyclr.CyclicLR(**exp), lambda o: sched.CyclicLR(o, **exp),
         "torch CyclicLR(mode='exp_range').step()", ">= 10x faster"),
        ("triangular", cyclr.CyclicLR(**clr), lambda o: sched.CyclicLR(o, **clr),
         "torch CyclicLR.step()", ""),
        ("custom scale_fn (iterations)", cyclr.CyclicLR(**custom), lambda o: sched.CyclicLR(o, **custom),
         "torch CyclicLR(scale_fn, 'iterations').step()", ""),
        ("one-cycle", cyclr.OneCycleLR(max_lr=0.01, total_steps=10**9),
         lambda o: sched.OneCycleLR(o, max_lr=0.01, total_steps=10**9), "torch OneCycleLR.step()", ""),
        ("SGDR", cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=1000, T_mult=2),
         lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=1000, T_mult=2),
         "torch CosineAnnealingWarmRestarts.step()", ""),
    ]
    rows = []
    for what, spec, make, peer_name, goal in cases:
        namespace = {"lr_at": spec.lr_at, "step": 123_457, "torch_step": _torch_step(make)}
        ours, theirs, noise = paired_per_call("lr_at(step)", "torch_step()", namespace)
        label = f"spec.lr_at(step), {what}, Python int (median of {ROUNDS}; ratio noise ±{noise:.0%})"
        rows.append(Row(label, ours, peer_name, theirs, goal))
    return rows


def scale_fn_rows(lr: np.ndarray) -> list[Row]:
    """A jitted custom scale_fn in "iterations" mode, precompute on numba: against the fill and against
    the built-in exp_range (the same scale, ``0.99994**step``, factored), paired medians. The custom one
    runs the user's code once per step; how much that costs is the code's own."""
    import numba

    decay = numba.njit(_scale_decay)
    constant = numba.njit(lambda step: 0.5)
    builtin = cyclr.CyclicLR(mode="exp_range", gamma=0.99994, cycle_momentum=False)
    fill = lambda: lr.fill(1.0)  # noqa: E731
    rows = []
    for what, scale_fn in (("0.99994**step", decay), ("a constant 0.5", constant)):
        spec = cyclr.CyclicLR(scale_fn=scale_fn, scale_mode="iterations", cycle_momentum=False)
        run = partial(spec.precompute, NUM_STEPS, backend="numba", out=(lr, None))
        for peer, peer_name in (
            (fill, "fill 1 preallocated array"),
            (partial(builtin.precompute, NUM_STEPS, backend="numba", out=(lr, None)),
             "precompute 10M, built-in exp_range, numba"),
        ):
            ours, theirs, noise = paired_medians(run, peer)
            label = (f"precompute 10M, jitted scale_fn = {what} (iterations), lr only, numba "
                     f"(median; ratio noise ±{noise:.0%})")
            rows.append(Row(label, ours, peer_name, theirs))
    return rows


def rows() -> list[Row]:
    return scalar_rows() + precompute_rows()
