"""Progress bars for long loops (the LR range test), with no required dependency.

``open_progress`` picks the first that is available: tqdm (the ``progress`` extra), rich, or a one-line
bar of its own. It shows one only where someone can watch it: on a terminal, or in a Jupyter kernel.
Redirected to a file or a pipe (a CI log), stderr gets nothing.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Protocol


class ProgressBar(Protocol):
    """What a loop needs from a bar: advance one step with a status line, and close."""

    def advance(self, status: str) -> None:
        """One more step done; ``status`` is a short text shown after the bar."""

    def close(self, status: str = "") -> None:
        """Finish the bar (a final ``status`` replaces the last one if given)."""


def watched(stream: IO[str]) -> bool:
    """Whether someone can see a bar written to ``stream``: a terminal, or a Jupyter kernel's stream."""
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def open_progress(total: int, description: str, backend: str | None = None) -> ProgressBar | None:
    """A bar of ``total`` steps on stderr, or None when stderr is not watched (see ``watched``).

    Args:
        total: the number of steps the loop will take at most.
        description: the label in front of the bar.
        backend: "tqdm", "rich" or "plain" to force one; None takes the first installed, in that order.

    Returns:
        A ``ProgressBar``, or None when nothing should be shown.
    """
    stream = sys.stderr
    if not watched(stream):
        return None
    order = ("tqdm", "rich", "plain") if backend is None else (backend,)
    for name in order:
        try:
            return _BARS[name](total, description, stream)
        except ImportError:
            continue
    return _PlainBar(total, description, stream)


class _TqdmBar:
    def __init__(self, total: int, description: str, stream: IO[str]) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=description, unit="step", file=stream, dynamic_ncols=True)

    def advance(self, status: str) -> None:
        self._bar.set_postfix_str(status, refresh=False)
        self._bar.update(1)

    def close(self, status: str = "") -> None:
        if status:
            self._bar.set_postfix_str(status, refresh=False)
        self._bar.close()


class _RichBar:
    def __init__(self, total: int, description: str, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(file=stream),
        )
        self._task = self._progress.add_task(description, total=total, status="")
        self._progress.start()

    def advance(self, status: str) -> None:
        self._progress.update(self._task, advance=1, status=status)

    def close(self, status: str = "") -> None:
        if status:
            self._progress.update(self._task, status=status)
        self._progress.stop()


class _PlainBar:
    """``description  37/100 [#######-------------] status``, redrawn in place at most 10 times a second."""

    WIDTH = 24

    def __init__(self, total: int, description: str, stream: IO[str]) -> None:
        self._total, self._description, self._stream = total, description, stream
        self._done, self._status, self._drawn_at = 0, "", -1.0

    def advance(self, status: str) -> None:
        self._done, self._status = self._done + 1, status
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 or self._done >= self._total:
            self._draw()
            self._drawn_at = now

    def close(self, status: str = "") -> None:
        if status:
            self._status = status
        self._draw()
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self) -> None:
        filled = self.WIDTH * self._done // max(self._total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        width = len(str(self._total))
        line = f"{self._description} {self._done:>{width}}/{self._total} [{bar}] {self._status}"
        self._stream.write("\r" + line + "\x1b[K")  # \x1b[K: clear what a longer line left behind
        self._stream.flush()


_BARS: dict[str, Any] = {"tqdm": _TqdmBar, "rich": _RichBar, "plain": _PlainBar}
