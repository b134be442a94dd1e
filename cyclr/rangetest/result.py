r"""The outcome of a range test: ``RangeTestResult``, with its suggestion, plain data, CSV and plot."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .._spec import from_dict
from .._validate import check_choice, check_int
from ._arrays import frozen
from ._files import PathOrFile
from .csvio import write_sweep
from .plot import plot_sweep, save_plot
from .suggestion import Suggestion, suggest
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
            array = frozen(getattr(self, name))
            if array.ndim != 1:
                raise ValueError(f"{name} must be 1-d (one value per step), got shape {array.shape}")
            object.__setattr__(self, name, array)
        object.__setattr__(self, "stopped_at", check_int("stopped_at", self.stopped_at, minimum=0))
        lengths = {len(self.lrs), len(self.losses), len(self.smoothed)}
        if lengths != {self.stopped_at + 1}:
            raise ValueError(
                f"lrs, losses and smoothed must have stopped_at + 1 = {self.stopped_at + 1} points, got "
                f"{len(self.lrs)}, {len(self.losses)} and {len(self.smoothed)}"
            )
        check_choice("reason", self.reason, REASONS)
        if self.spec is not None and not isinstance(self.spec, LRRangeTest):
            raise TypeError(f"spec must be an LRRangeTest or None, got {self.spec!r}")

    def __getstate__(self) -> dict[str, Any]:
        """The fields only: the cached ``suggestion`` is not saved (it is recomputed on demand)."""
        return {name: value for name, value in self.__dict__.items() if name != "suggestion"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, frozen(value) if isinstance(value, np.ndarray) else value)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """The result back from ``to_dict()`` data (after JSON, say); every field checked again.

        Raises:
            TypeError, ValueError: the data is not what ``to_dict`` writes (a field missing, a bad
                value, a spec that ``cyclr.from_dict`` refuses).
        """
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict from RangeTestResult.to_dict(), got {type(data).__name__}")
        names = ("lrs", "losses", "smoothed", "stopped_at", "reason", "spec")
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(
                f"data from RangeTestResult.to_dict() needs {missing}; got the keys {sorted(data)}"
            )
        spec = None if data["spec"] is None else from_dict(data["spec"])
        return cls(
            lrs=np.asarray(data["lrs"], dtype=np.float64),
            losses=np.asarray(data["losses"], dtype=np.float64),
            smoothed=np.asarray(data["smoothed"], dtype=np.float64),
            stopped_at=data["stopped_at"],
            reason=data["reason"],
            spec=spec,  # type: ignore[arg-type]  # checked in __post_init__
        )

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
        """Plain data: the arrays as lists, ``stopped_at``, ``reason``, and the sweep's ``to_dict()``;
        ``from_dict`` reads it back."""
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
