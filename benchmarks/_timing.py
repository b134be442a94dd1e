"""Timing helpers and the row format every benchmark returns."""

from __future__ import annotations

import gc
import statistics
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    """One measurement next to its peer from the same run."""

    what: str
    ours: float  # seconds
    peer_name: str
    peer: float  # seconds
    goal: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.peer


def per_call(
    fn: Callable[[], object] | str, *, repeat: int = 7, min_time: float = 0.2, namespace: dict | None = None
) -> float:
    """Seconds per call: the best of ``repeat`` runs of an auto-sized loop (timeit's method).

    ``fn`` is a callable, or a statement run in ``namespace`` (no wrapper call to count).
    """
    timer = timeit.Timer(fn, globals=namespace)
    number, elapsed = 1, 0.0
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time / repeat:
            break
        number *= 2
    gc.disable()
    try:
        return min(timer.repeat(repeat=repeat, number=number)) / number
    finally:
        gc.enable()


def best_of(fn: Callable[[], object], *, repeat: int = 9) -> float:
    """Seconds for one call of a long-running ``fn``: the best of ``repeat`` after a warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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
    return float(np.median(mine)), float(np.median(theirs)), ratio_noise(mine, theirs)


def ratio_noise(mine: list[float], theirs: list[float]) -> float:
    """Half the 10th-90th percentile spread of the per-pair ratios ``mine / theirs``, relative to their
    median."""
    ratios = np.array(mine) / np.array(theirs)
    low, middle, high = np.percentile(ratios, [10, 50, 90])
    return float((high - low) / 2 / middle)


def alternating_rounds(
    ours: timeit.Timer, peer: timeit.Timer, rounds: int, number: int
) -> tuple[list[float], list[float]]:
    """Seconds per call of each timer, in ``rounds`` rounds of ``number`` calls, the two in turns."""
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(ours.timeit(number) / number)
        theirs.append(peer.timeit(number) / number)
    return mine, theirs


def spread(times: list[float]) -> str:
    """The spread of the middle 80% of rounds around their median, in percent."""
    ordered = sorted(times)
    low, high = ordered[len(ordered) // 10], ordered[-1 - len(ordered) // 10]
    return f"{100 * (high - low) / statistics.median(ordered):.0f}%"
