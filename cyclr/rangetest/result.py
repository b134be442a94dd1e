r"""The outcome of a range test: ``RangeTestResult``, with its suggestion, plain data, CSV and plot."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validate import check_choice
from ._arrays import frozen
from ._files import PathOrFile
from .csvio import write_sweep
from .plot import plot_sweep, save_plot
from .suggestion import Suggestion, suggest

if TYPE_CHECKING:
    from .sweep import LRRangeTest

__all__ = ["REASONS", "RangeTestResult"]

REASONS = ("finished", "diverged", "non-finite", "incomplete", "interrupted")
"""Why a sweep stopped: all ``num_steps`` done; the smoothed loss diverged (see ``RangeTestRecorder``);
a loss was NaN or inf; the caller stopped recording before ``num_steps`` (for example, data ran out);
the training step raised (the partial result is attached to the exception as ``error.result``)."""


@dataclass(frozen=True, eq=False)
class RangeTestResult:
    """A recorded LR range test: what was tried, what the loss did, why it stopped, what to use.

    ``lrs``, ``losses`` and ``smoothed`` (the moving average of ``RangeTestRecorder``) are read-only
    float64 arrays of ``stopped_at + 1`` points; the last loss is NaN or inf when ``reason`` is
    "non-finite". Results compare by identity (they hold arrays).

    Attributes:
        lrs: the learning rate of each step.
        losses: the raw loss of each step.
        smoothed: the bias-corrected moving average the stop rule used.
        stopped_at: the last step taken (``num_steps - 1`` when finished).
        reason: one of ``REASONS``.
        spec: the sweep, an ``LRRangeTest`` (None for a sweep from elsewhere).

    Examples:
        >>> from cyclr.rangetest import find_lr
        >>> result = find_lr(lambda lr: 1 / (1 + 1e3 * lr) + lr, end_lr=100.0, progress=False)
        >>> result
        RangeTestResult(points=91, lrs=1e-07..15.2, stopped_at=90, reason='diverged')
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_at: int
    reason: str
    spec: LRRangeTest | None = None

    def __post_init__(self) -> None:
        for name in ("lrs", "losses", "smoothed"):
            object.__setattr__(self, name, frozen(getattr(self, name)))
        check_choice("reason", self.reason, REASONS)

    def __repr__(self) -> str:
        span = f"{self.lrs[0]:.3g}..{self.lrs[-1]:.3g}" if len(self.lrs) else "none"
        return (
            f"RangeTestResult(points={len(self.lrs)}, lrs={span}, stopped_at={self.stopped_at}, "
            f"reason={self.reason!r})"
        )

    @cached_property
    def suggestion(self) -> Suggestion:
        """``suggest(lrs, losses)`` with its defaults, computed once.

        Raises:
            ValueError: as ``suggest`` does (too few points, a loss that does not fall), the reason
                the sweep stopped named in the message.
        """
        try:
            return suggest(self.lrs, self.losses)
        except ValueError as error:
            raise ValueError(
                f"{error} (the sweep stopped at step {self.stopped_at}: {self.reason})"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the arrays as lists, ``stopped_at``, ``reason``, and the sweep's ``to_dict()``."""
        return {
            "lrs": self.lrs.tolist(),
            "losses": self.losses.tolist(),
            "smoothed": self.smoothed.tolist(),
            "stopped_at": self.stopped_at,
            "reason": self.reason,
            "spec": None if self.spec is None else self.spec.to_dict(),
        }

    def to_csv(self, file: PathOrFile) -> None:
        """Write ``step,lr,loss,smoothed_loss``, one row per step, every float exact (``repr``).

        ``read_sweep`` reads it back (it needs only the ``lr`` and ``loss`` columns). A path is
        written atomically (``write_sweep``): on any error the file that was there is left as it was.

        Args:
            file: a path, or a text file open for writing.

        Raises:
            TypeError: ``file`` is neither a path nor a text file open for writing.
            OSError: the path is a directory, its parent is missing, or the write fails.
        """
        write_sweep(file, self.lrs, self.losses, self.smoothed)

    def plot(self, ax: Any = None, *, path: str | os.PathLike[str] | None = None) -> Any:
        """Loss against lr on a log axis, with the suggestion marked: ``plot_sweep`` of this sweep.

        Args:
            ax: a matplotlib Axes to draw on; None makes a new figure.
            path: also save the figure there (``save_plot``: atomically, in the format of the
                suffix, ``.png``, ``.svg``, ``.pdf``...); None saves nothing.

        Returns:
            The Axes.

        Raises:
            ImportError: matplotlib is not installed (``pip install "cyclr[plot]"``).
            ValueError: ``path`` has no extension or one matplotlib does not know.
            OSError: ``path`` cannot be written (a directory, a missing parent, a full disk).
        """
        try:
            suggestion: Suggestion | str = self.suggestion
        except ValueError as error:
            suggestion = str(error)
        title = f"LR range test: {len(self.lrs)} steps, {self.reason}"
        made = ax is None
        ax = plot_sweep(
            self.lrs, self.losses, suggestion=suggestion, moving_average=self.smoothed, ax=ax, title=title
        )
        if path is not None:
            if made:
                ax.figure.tight_layout()
            save_plot(ax, path)
        return ax
