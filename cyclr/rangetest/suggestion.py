r"""Suggesting ``base_lr`` and ``max_lr`` from a recorded sweep, by the paper's rule: ``suggest``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import check_bool, check_int
from ._arrays import check_sweep, frozen
from ._checks import real
from .smoothing import blow_up_cap, local_quadratic, median_of_three, noise_level

__all__ = ["BANDWIDTH", "FALL_MARGIN", "MIN_POINTS", "NOISE_MARGIN", "LRPoint", "Suggestion", "suggest"]

FALL_MARGIN = 0.1
"""``suggest``: base_lr is where the smoothed loss is this fraction of its fall below its top, max_lr
where it is this fraction above its bottom (or ``NOISE_MARGIN`` standard errors, if that is more)."""
NOISE_MARGIN = 5.0
"""``suggest``: the margins are at least this many standard errors of the smoothed curve."""
BANDWIDTH = 0.2
"""Default smoothing bandwidth of ``suggest``, in decades of lr (a factor 10**0.2 = 1.6 in lr)."""
MIN_POINTS = 10
"""``suggest`` needs at least this many finite losses after skipping the ends."""


@dataclass(frozen=True)
class LRPoint:
    """One suggested learning rate, the smoothed loss there, and why (one line)."""

    lr: float
    loss: float
    reason: str


@dataclass(frozen=True)
class Suggestion:
    """What ``suggest`` finds on a sweep: the CLR range and two landmarks, each with its reason.

    Attributes:
        base: where the loss starts to fall; ``base.lr`` is the suggested ``base_lr``.
        max: where the loss stops falling; ``max.lr`` is the suggested ``max_lr``.
        steepest: where the smoothed loss falls fastest per decade of lr (fastai's "steep").
        minimum: where the smoothed loss is lowest.
        curve_lrs: the learning rates of the zero-phase smoothed curve the four were read from.
        curve_losses: that curve (in the loss's units, also with ``log_loss``).

    Examples:
        >>> lrs = np.logspace(-6, 0, 61)
        >>> suggestion = suggest(lrs, 1 / (1 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 2)
        >>> suggestion.base_lr < suggestion.steepest.lr < suggestion.max_lr < suggestion.minimum.lr
        True
    """

    base: LRPoint
    max: LRPoint
    steepest: LRPoint
    minimum: LRPoint
    curve_lrs: np.ndarray = field(repr=False, compare=False)
    curve_losses: np.ndarray = field(repr=False, compare=False)

    @property
    def base_lr(self) -> float:
        """The suggested lower bound of a cyclical schedule: where the loss starts to fall."""
        return self.base.lr

    @property
    def max_lr(self) -> float:
        """The suggested upper bound of a cyclical schedule: where the loss stops falling."""
        return self.max.lr

    def to_dict(self) -> dict[str, Any]:
        """The four points as plain data: ``{"base": {"lr", "loss", "reason"}, "max": ..., ...}``."""
        return {
            name: {"lr": point.lr, "loss": point.loss, "reason": point.reason}
            for name, point in (
                ("base", self.base),
                ("max", self.max),
                ("steepest", self.steepest),
                ("minimum", self.minimum),
            )
        }

    def __str__(self) -> str:
        rows = (
            ("base_lr", self.base),
            ("max_lr", self.max),
            ("steepest", self.steepest),
            ("minimum", self.minimum),
        )
        return "\n".join(f"{name:<9} {point.lr:9.3g}  {point.reason}" for name, point in rows)


def _crossing(x: np.ndarray, lr: np.ndarray, y: np.ndarray, i: int, level: float) -> tuple[float, float]:
    """Where the segment from ``(x[i], y[i])`` to ``(x[i+1], y[i+1])`` crosses ``level`` (linear in
    ``x = log10(lr)``): ``(x, lr)``, the lr kept within ``[lr[i], lr[i+1]]`` (``10**log10(lr)`` can be
    an ulp off ``lr``)."""
    if y[i] == y[i + 1]:
        at = float(x[i])
    else:
        fraction = (y[i] - level) / (y[i] - y[i + 1])
        at = float(x[i] + min(max(fraction, 0.0), 1.0) * (x[i + 1] - x[i]))
    return at, min(max(10.0**at, float(lr[i])), float(lr[i + 1]))


def suggest(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    *,
    skip_start: int | None = None,
    skip_end: int | None = None,
    bandwidth: float = BANDWIDTH,
    log_loss: bool = False,
) -> Suggestion:
    r"""Suggest ``base_lr`` and ``max_lr`` from a range-test sweep, by the paper's rule, robust to noise.

    Smith (2017): base_lr where the loss starts to fall, max_lr where it stops falling. Stateless: any
    recorded sweep will do (``read_sweep`` reads one from CSV). Precisely:

    1. Drop the points whose loss is NaN or inf (and take ``log(loss)`` with ``log_loss``). Of the rest,
       the last ``skip_end`` are left out and the first ``skip_start`` only steady the fit at its left
       edge: neither is searched (the unstable start, the blow-up at the end).
    2. Smooth ``y = loss`` against ``x = log10(lr)``, zero-phase (unlike a causal moving average, it
       does not lag: the fall is not pushed to higher lrs): ``median_of_three`` (single spikes out),
       capped at ``blow_up_cap`` (a blow-up to 1e9 becomes a plateau), then ``local_quadratic`` (a
       weighted quadratic fit around each point, ``bandwidth`` decades or 5 neighbours wide): the
       curve ``s``, its slope ``s'``, and its standard error ``error = noise_level(loss) * gain``.
       (The losses are scaled by a power of two into [-1, 1] first, exactly, and the results scaled
       back: any finite losses, up to 1e308, give the same lrs.)
    3. ``bottom = min(s)`` at ``x_min``; ``top = max(s)`` over ``x <= x_min``; ``drop = top - bottom``.
    4. ``top_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * error(top))`` (10% of the fall, or 5
       standard errors where the noise is larger: ``top``, the maximum of a noisy curve, lies above the
       plateau by a few standard errors), ``bottom_margin`` likewise at ``bottom``.
       ``base_lr``: the last crossing of ``s = top - top_margin`` before ``x_min`` (the loss has started
       to fall, for good). ``max_lr``: the first crossing of ``s = bottom + bottom_margin`` after that
       (the fall is done but for its last tenth: it flattens). Each crossing is interpolated linearly
       in ``x`` between the two points around it. Both lie on steep parts of the curve, where noise
       moves a crossing little, unlike ``argmin(s)`` in a flat valley. Unless the fall clears both
       margins, ``top - top_margin > bottom + bottom_margin``, the loss does not fall out of its
       noise: ValueError.
    5. ``steepest``: the point of the sweep of least ``s'`` from ``base_lr`` to ``max_lr``, both
       included; on a sweep so coarse that no point lies between them, the end of the range where
       ``s'``, interpolated linearly, is less. ``minimum``: ``x_min``. So always
       ``base_lr <= steepest.lr <= max_lr <= minimum.lr``.

    The paper's other rule, ``base_lr = max_lr / 3`` to ``max_lr / 4``, is a narrower choice; with
    the suggested ``max_lr`` it is one division away.

    Args:
        lrs: the learning rates of the sweep, positive and strictly increasing.
        losses: the loss at each (raw, not smoothed; NaN and inf allowed, they are dropped).
        skip_start: points ignored at the start; None means a tenth of the finite points.
        skip_end: points ignored at the end; None means a twentieth of the finite points.
        bandwidth: the smoothing width in decades of lr (> 0); sparse stretches get wider fits.
        log_loss: apply the rule to ``log(loss)`` (losses must be positive): for losses that fall by
            orders of magnitude (a regression's squared error), where on a linear scale the fall
            "ends" as soon as the first 90% of it, the first order of magnitude, is gone.

    Returns:
        A ``Suggestion``: ``base_lr``, ``max_lr``, and the points ``base``, ``max``, ``steepest``,
        ``minimum``, each an ``LRPoint(lr, loss, reason)``.

    Raises:
        TypeError: lrs or losses are not arrays of numbers; a parameter has the wrong type.
        ValueError: lengths differ; lrs not positive, finite and strictly increasing; every loss
            NaN or inf; fewer than ``MIN_POINTS`` finite losses left after skipping; the loss does not
            fall (out of its noise) over the sweep.

    Examples:
        >>> lrs = np.logspace(-6, 0, 61)
        >>> s = suggest(lrs, 1 / (1 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 2)
        >>> f"{s.base_lr:.1e} {s.max_lr:.1e}"
        '3.2e-04 3.1e-03'
    """
    all_lrs, all_losses = check_sweep(lrs, losses)
    bandwidth = real("bandwidth", bandwidth, above=0.0)
    if check_bool("log_loss", log_loss):
        bad = np.flatnonzero(all_losses <= 0)
        if bad.size:
            raise ValueError(
                f"log_loss=True needs positive losses, got {float(all_losses[bad[0]])!r} at index {bad[0]}"
            )
        with np.errstate(divide="ignore"):
            all_losses = np.log(all_losses)
    finite = np.isfinite(all_losses)
    count = int(finite.sum())
    if count == 0:
        raise ValueError(
            f"every loss is NaN or inf ({len(all_losses)} points): nothing to suggest from; if the sweep "
            f"blew up at once, start it at a lower start_lr"
        )
    skip_start = count // 10 if skip_start is None else check_int("skip_start", skip_start, minimum=0)
    skip_end = count // 20 if skip_end is None else check_int("skip_end", skip_end, minimum=0)
    kept = count - skip_start - skip_end
    if kept < MIN_POINTS:
        raise ValueError(
            f"suggest needs at least {MIN_POINTS} finite losses after skipping the first {skip_start} "
            f"and the last {skip_end}, got {max(kept, 0)} (of {len(all_losses)} points, {count} finite); "
            f"run a longer sweep or one that diverges later"
        )
    # The skipped start still steadies the fit at the window's left edge; the skipped end is left out.
    fitted = slice(0, count - skip_end)
    lr, loss = all_lrs[finite][fitted], all_losses[finite][fitted]
    # Scaled by a power of two into [-1, 1], exactly: losses near 1e308 do not overflow in the
    # smoothing, nor do tiny ones lose digits; everything is reported back in the loss's own units.
    peak = float(np.max(np.abs(loss)))
    exponent = math.frexp(peak)[1] if peak > 0 else 0
    loss = np.ldexp(loss, -exponent)
    despiked = median_of_three(loss)
    cap = blow_up_cap(despiked, skip_start)
    fit = local_quadratic(np.log10(lr), np.minimum(despiked, cap), bandwidth)
    s, slope, gain = (part[skip_start:] for part in fit)
    error = noise_level(loss[loss <= cap]) * gain
    lr = lr[skip_start:]
    x = np.log10(lr)

    i_min = int(np.argmin(s))
    i_top = int(np.argmax(s[: i_min + 1]))
    top, bottom = float(s[i_top]), float(s[i_min])
    drop = top - bottom

    def back(value: float) -> float:
        """A value of the scaled curve in the loss's units (before exp() undoes log_loss)."""
        try:
            return math.ldexp(float(value), exponent)
        except OverflowError:
            raise ValueError(
                "the smoothed loss goes beyond the largest float (1.8e308) in the loss's units: divide "
                "the losses by a power of ten first"
            ) from None

    def unit(value: float) -> float:
        return math.exp(back(value)) if log_loss else back(value)

    top_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * float(error[i_top]))
    bottom_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * float(error[i_min]))
    start_level, end_level = top - top_margin, bottom + bottom_margin
    # The fall must clear both margins: then base_lr < max_lr (a fall of 5 standard errors at the top
    # and 10% at the bottom would otherwise put the "start" of the fall below its "end").
    if not (drop > 1e-10 * max(abs(top), abs(bottom)) and start_level > end_level):
        if i_min == 0:
            how = "rises from the start"
        elif not drop > 1e-10 * max(abs(top), abs(bottom)):
            how = "is flat"
        else:
            how = "stays within its noise"
        raise ValueError(
            f"the loss does not fall over the sweep: its smoothed curve {how} (from {unit(top):.4g} at "
            f"lr {lr[i_top]:.3g}, lowest {unit(bottom):.4g} at lr {lr[i_min]:.3g}); is the model trained "
            f"already? If not, sweep from a lower start_lr or to a higher end_lr"
        )
    i_base = i_top + int(np.flatnonzero(s[i_top:i_min] >= start_level)[-1])
    x_base, base_lr = _crossing(x, lr, s, i_base, start_level)
    i_max = i_base + int(np.flatnonzero(s[i_base : i_min + 1] <= end_level)[0])
    x_max, max_lr = _crossing(x, lr, s, i_max - 1, end_level)
    # The steepest point of the sweep inside [base_lr, max_lr]; on a sweep too coarse to have one
    # there (both crossings on one segment), the end of the range where the interpolated slope is less.
    inside = np.flatnonzero((lr >= base_lr) & (lr <= max_lr))
    if inside.size:
        i_steep = int(inside[np.argmin(slope[inside])])
        steep_lr, steep_loss, steep_slope = float(lr[i_steep]), float(s[i_steep]), float(slope[i_steep])
    else:
        i, width = i_base, x[i_base + 1] - x[i_base]
        at_base, at_max = (
            float(slope[i] + (at - x[i]) / width * (slope[i + 1] - slope[i])) for at in (x_base, x_max)
        )
        steep_lr, steep_loss, steep_slope = (
            (base_lr, start_level, at_base) if at_base <= at_max else (max_lr, end_level, at_max)
        )

    scale = " on a log scale" if log_loss else ""
    fall = (
        f"of its fall{scale} from {unit(top):.4g} (lr {lr[i_top]:.3g}) to {unit(bottom):.4g} "
        f"(lr {lr[i_min]:.3g})"
    )
    base_reason = f"the loss starts to fall here: down {top_margin / drop:.0%} {fall}"
    if x_base - x[0] < bandwidth:
        base_reason += "; it may be falling at the start already: sweep from a lower start_lr"
    max_reason = f"the loss stops falling here: {bottom_margin / drop:.0%} {fall} to go"
    per = "log(loss) per decade of lr" if log_loss else "per decade of lr"
    steepest_reason = f"the smoothed loss falls fastest here: {back(steep_slope):.3g} {per}"
    minimum_reason = "the smoothed loss is lowest here"
    if i_min == len(s) - 1:
        minimum_reason += ", at the end of the sweep: it may fall further, sweep to a higher end_lr"
    else:
        minimum_reason += "; beyond, it rises"
    curve = np.array([back(value) for value in s]) if exponent > 1000 else np.ldexp(s, exponent)
    return Suggestion(
        base=LRPoint(base_lr, unit(start_level), base_reason),
        max=LRPoint(max_lr, unit(end_level), max_reason),
        steepest=LRPoint(steep_lr, unit(steep_loss), steepest_reason),
        minimum=LRPoint(float(lr[i_min]), unit(bottom), minimum_reason),
        curve_lrs=frozen(lr),
        curve_losses=frozen(np.exp(curve) if log_loss else curve),
    )
