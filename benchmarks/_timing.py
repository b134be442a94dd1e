"""Timing helpers and the row format every benchmark returns."""

from __future__ import annotations

import gc
import time
import timeit
from dataclasses import dataclass
from typing import Callable


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
