r"""The plot of a sweep: loss against lr on a log axis, the suggested range marked (matplotlib, lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import as_vector, check_sweep
from .suggestion import Suggestion, suggest

__all__ = ["plot_sweep"]


def plot_sweep(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    *,
    suggestion: Suggestion | str | None = None,
    moving_average: Sequence[float] | np.ndarray | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Plot a sweep: the raw loss against lr on a log axis, the smoothed curve, the suggested range.

    Draws the raw losses (grey), the zero-phase smoothed curve that ``suggest`` reads (blue), the range
    base_lr..max_lr shaded between two dashed lines, and the steepest and the minimum points. The
    y-axis spans the sweep up to the minimum, so that a blow-up at the end does not flatten the rest.
    matplotlib is imported here, not with cyclr.

    Args:
        lrs: the learning rates of the sweep (for example from ``read_sweep``).
        losses: the loss at each.
        suggestion: a ``Suggestion`` to draw; None computes ``suggest(lrs, losses)``; a string (the
            reason there is none) is shown in the title instead.
        moving_average: the recorder's causal moving average, drawn dotted if given: it lags behind
            the loss, to the right, where the zero-phase curve does not.
        ax: a matplotlib Axes to draw on; None makes a new figure.
        title: the title; None: "LR range test".

    Returns:
        The Axes.

    Raises:
        ImportError: matplotlib is not installed (``pip install "cyclr[plot]"``).
        ValueError: as ``suggest``, when ``suggestion`` is None and there is none.

    Examples:
        >>> lrs = np.logspace(-5, 0, 50)
        >>> ax = plot_sweep(lrs, 1 / (1 + (lrs / 1e-3) ** 2) + lrs)
        >>> ax.get_xscale()
        'log'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError('plotting a range test needs matplotlib: pip install "cyclr[plot]"') from error
    lrs, losses = check_sweep(lrs, losses)
    if suggestion is None:
        suggestion = suggest(lrs, losses)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    finite = np.isfinite(losses)
    ax.plot(lrs[finite], losses[finite], color="0.6", lw=1, label="loss")
    if moving_average is not None:
        average = as_vector("moving_average", moving_average)
        ax.plot(lrs, average, color="C1", lw=1.2, ls=":", label="moving average (stop rule)")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    title = "LR range test" if title is None else title
    if isinstance(suggestion, str):
        ax.set_title(f"{title}\nno suggestion: {suggestion}"[:120], fontsize=9)
        return ax
    curve = suggestion.curve_losses
    ax.plot(suggestion.curve_lrs, curve, color="C0", lw=2, label="smoothed (zero-phase)")
    ax.axvspan(suggestion.base_lr, suggestion.max_lr, color="C2", alpha=0.12)
    ax.axvline(suggestion.base_lr, color="C2", lw=1.2, ls="--", label=f"base_lr {suggestion.base_lr:.2g}")
    ax.axvline(suggestion.max_lr, color="C3", lw=1.2, ls="--", label=f"max_lr {suggestion.max_lr:.2g}")
    for point, name, marker in ((suggestion.steepest, "steepest", "v"), (suggestion.minimum, "minimum", "o")):
        ax.plot([point.lr], [point.loss], marker=marker, color="k", ls="", label=f"{name} {point.lr:.2g}")
    # Fit the y-axis to the stretch up to the minimum: the blow-up beyond would flatten the rest.
    inside = finite & (lrs >= suggestion.curve_lrs[0]) & (lrs <= suggestion.minimum.lr)
    low = min(float(np.min(curve)), float(np.percentile(losses[inside], 1)))
    high = max(float(np.max(curve[suggestion.curve_lrs <= suggestion.minimum.lr])), suggestion.base.loss)
    high = max(high, float(np.percentile(losses[inside], 99)))
    pad = 0.08 * (high - low)
    ax.set_ylim(low - pad, high + pad)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return ax
