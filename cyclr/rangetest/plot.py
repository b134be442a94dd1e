r"""The plot of a sweep: loss against lr on a log axis, the suggested range marked (matplotlib, lazily)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import as_vector, check_sweep
from ._files import written
from .suggestion import Suggestion, suggest

__all__ = ["plot_sweep", "save_plot"]


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


def save_plot(plot: Any, path: str | os.PathLike[str], *, format: str | None = None, dpi: float = 120) -> str:
    """Save a plot's figure to exactly ``path``, atomically, in the format its name ends in.

    Unlike ``figure.savefig(path)``, a name without an extension is refused (savefig would write
    ``path + ".png"``), and the file is written atomically: to a temporary file beside it, then
    ``os.replace``, so that on any error the file that was there is left as it was (see
    ``cyclr.rangetest._files``; a device such as ``/dev/null`` is written to directly).

    Args:
        plot: a matplotlib Axes (as ``plot_sweep`` returns) or Figure.
        path: where to write; its suffix (in any case) names the format: ``.png``, ``.pdf``, ``.svg``...
        format: the format, when the name does not say it (``"png"``).
        dpi: dots per inch, for raster formats.

    Returns:
        ``path``, as a string.

    Raises:
        ValueError: the format is unknown to matplotlib, or ``path`` has no extension and ``format``
            is None.
        OSError: ``path`` is a directory (IsADirectoryError), its parent is missing
            (FileNotFoundError), or the system refuses the write (no space, no permission).

    Examples:
        >>> import os, tempfile
        >>> lrs = np.logspace(-5, 0, 50)
        >>> ax = plot_sweep(lrs, 1 / (1 + (lrs / 1e-3) ** 2) + lrs)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     os.path.basename(save_plot(ax, os.path.join(folder, "sweep.png")))
        'sweep.png'
    """
    figure = getattr(plot, "figure", plot)
    supported = figure.canvas.get_supported_filetypes()
    formats = ", ".join(f".{name}" for name in sorted(supported))
    name = os.fsdecode(path)
    if format is None:
        suffix = os.path.splitext(name)[1]
        if not suffix:
            raise ValueError(
                f"cannot tell the format of {name} from its name: end it in one of {formats} "
                f"(or pass format=)"
            )
        format = suffix[1:].lower()
        if format not in supported:
            raise ValueError(f"cannot save a plot as {suffix!r} ({name}): use one of {formats}")
    elif format not in supported:
        raise ValueError(f"format must be one of {sorted(supported)}, got {format!r}")
    with written(path, binary=True) as stream:
        figure.savefig(stream, format=format, dpi=dpi)
    return name
