r"""The zero-phase smoothing ``suggest`` reads a sweep through: despiking, a cap, a local quadratic fit.

Each piece is a small numpy function with its formula in the docstring; ``suggest`` chains them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NEIGHBOURS", "blow_up_cap", "local_quadratic", "median_of_three", "noise_level"]

NEIGHBOURS = 5
"""Each local fit of ``suggest`` spans at least this many neighbouring points, wherever they are sparse."""


def local_quadratic(
    x: np.ndarray, y: np.ndarray, bandwidth: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""A zero-phase smoother: a weighted quadratic fit around every point, no lag in either direction.

    At each ``x_i``, with ``u = (x - x_i) / h_i``, fit ``y ~ a + b u + c u**2`` by least squares with
    weights ``exp(-u**2 / 2)``, where ``h_i = max(bandwidth, distance to the NEIGHBOURS-th nearest
    point)`` so that sparse stretches still hold a few points. The smoothed value is ``a``, the slope
    ``b / h_i``. The fit is symmetric in ``x``: a falling edge stays where it is, where a causal moving
    average would move it to the right. At the ends the fit is one-sided, still exact for a quadratic.

    Args:
        x: positions, strictly increasing (here log10(lr)).
        y: the values, finite.
        bandwidth: the kernel's standard deviation, in units of ``x`` (> 0).

    Returns:
        ``(smoothed, slope, gain)``: the curve, its derivative ``d smoothed / d x``, and the noise
        gain of each smoothed value, ``sqrt(sum_j l_ij**2)`` with ``l_ij`` the weight of ``y_j`` in
        ``smoothed_i``: with independent noise of standard deviation ``sigma`` in ``y``, the standard
        error of ``smoothed_i`` is ``sigma * gain_i``.

    Examples:
        >>> x = np.linspace(0.0, 1.0, 11)
        >>> smoothed, slope, _ = local_quadratic(x, 3 * x**2, bandwidth=0.2)
        >>> bool(np.allclose(smoothed, 3 * x**2) and np.allclose(slope, 6 * x))
        True
    """
    n = len(x)
    k = min(NEIGHBOURS, n - 1)
    # The k-th nearest neighbour of a point lies among the k points on either side of it.
    padded = np.concatenate([np.full(k, np.inf), x, np.full(k, np.inf)])
    around = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    h = np.maximum(bandwidth, np.sort(np.abs(around - x[:, None]), axis=1)[:, k])
    smoothed, slope, gain = np.empty(n), np.empty(n), np.empty(n)
    for first in range(0, n, 128):  # rows in blocks, columns within reach: memory O(128 * window)
        rows = slice(first, min(first + 128, n))
        reach = 5.0 * float(h[rows].max())  # weights beyond 5 standard deviations (< 4e-6) are left out
        low = int(np.searchsorted(x, x[rows.start] - reach))
        high = int(np.searchsorted(x, x[rows.stop - 1] + reach, side="right"))
        u = (x[None, low:high] - x[rows, None]) / h[rows, None]
        weighted = [np.exp(-0.5 * u * u)]  # w, w u, w u**2, w u**3, w u**4
        for _ in range(4):
            weighted.append(weighted[-1] * u)
        moments = [np.sum(term, axis=1) for term in weighted]
        gram = np.stack([np.stack(moments[i : i + 3], axis=-1) for i in range(3)], axis=-2)
        # A touch of ridge on b and c: never singular, and a constant y still fits exactly.
        gram += 1e-12 * moments[0][:, None, None] * np.diag([0.0, 1.0, 1.0])
        # Columns 0 and 1 of gram^-1 turn the data into a and b: the equivalent kernels.
        inverse = np.linalg.solve(gram, np.broadcast_to(np.eye(3)[:, :2], (u.shape[0], 3, 2)))
        value_kernel, slope_kernel = (
            sum(weighted[p] * inverse[:, p, column, None] for p in range(3)) for column in (0, 1)
        )
        smoothed[rows] = value_kernel @ y[low:high]
        slope[rows] = (slope_kernel @ y[low:high]) / h[rows]
        gain[rows] = np.sqrt(np.sum(value_kernel**2, axis=1))
    return smoothed, slope, gain


def blow_up_cap(y: np.ndarray, start: int = 0) -> float:
    """``top + (top - bottom)``: above this, a loss is blowing up.

    ``bottom`` is the lowest value from index ``start`` on, ``top`` the highest from ``start`` to it.
    Everything up to the bottom lies below the cap. Capped there, a rise past the bottom (the loss
    blowing up, 1e9 where the rest is 2) becomes a plateau and cannot tip a smoother's fit over into
    the valley beside it.

    Examples:
        >>> y = np.array([2.0, 2.0, 1.0, 0.5, 3.0, 1e9])
        >>> np.minimum(y, blow_up_cap(y))
        array([2. , 2. , 1. , 0.5, 3. , 3.5])
    """
    if len(y) <= start:
        return math.inf
    lowest = start + int(np.argmin(y[start:]))
    top = float(np.max(y[start : lowest + 1]))
    return top + (top - float(y[lowest]))


def noise_level(y: np.ndarray) -> float:
    """The standard deviation of the noise in ``y``, from second differences, robust to the trend.

    For independent noise of standard deviation ``sigma``, ``y[i-1] - 2 y[i] + y[i+1]`` has standard
    deviation ``sqrt(6) sigma``; a smooth trend adds little to most of them, and the median absolute
    deviation ignores the few it does (a steep fall, a blow-up)::

        sigma = 1.4826 * median(|d2 - median(d2)|) / sqrt(6)

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = np.linspace(0, 1, 2000)
        >>> round(noise_level(np.sin(3 * x) + 0.1 * rng.standard_normal(2000)), 2)
        0.1
    """
    if len(y) < 3:
        return 0.0
    d2 = y[:-2] - 2.0 * y[1:-1] + y[2:]
    return 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6.0)


def median_of_three(y: np.ndarray) -> np.ndarray:
    """``median(y[i-1], y[i], y[i+1])`` at every inner point, the ends as they are.

    Removes single spikes and leaves monotone runs unchanged: a ragged loss loses its outliers, the
    shape of the fall stays where it is.
    """
    if len(y) < 3:
        return y.copy()
    out = y.copy()
    out[1:-1] = np.median(np.stack([y[:-2], y[1:-1], y[2:]]), axis=0)
    return out
