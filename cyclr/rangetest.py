r"""The LR range test (Smith 2017, section 3.3): sweep the learning rate up, watch the loss, pick a range.

Four pieces, each usable alone:

* ``LRRangeTest``: the sweep as a spec, ``start_lr -> end_lr`` in ``num_steps`` steps (exponential or
  linear), with the whole contract of every cyclr schedule, so the same sweep runs through every adapter.
* ``RangeTestRecorder``: records one loss per step, smooths it, and applies the stop rules; a training
  loop or a framework callback drives it.
* ``find_lr(train_step)``: the loop for any framework; ``train_step(lr) -> loss`` is yours.
* ``suggest(lrs, losses)``: stateless; base_lr and max_lr by the paper's rule from any recorded sweep.

The result, a ``RangeTestResult``, holds the arrays, why the sweep stopped, the suggestion, a plot and
a CSV export; ``read_sweep`` reads such a CSV back for ``suggest``.

Examples:
    >>> from cyclr.rangetest import find_lr
    >>> def train_step(lr):  # a loss that falls from lr 3e-4 to 3e-3, then blows up
    ...     return 1 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2
    >>> result = find_lr(train_step, progress=False)
    >>> result.reason, f"{result.suggestion.base_lr:.1e}", f"{result.suggestion.max_lr:.1e}"
    ('diverged', '3.2e-04', '3.0e-03')
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any, Union

import numpy as np

from ._ops import Ops
from ._progress import open_progress
from ._spec import Formula, Spec
from ._validate import check_bool, check_choice, check_int, check_real

__all__ = [
    "LRPoint",
    "LRRangeTest",
    "RangeTestRecorder",
    "RangeTestResult",
    "Suggestion",
    "find_lr",
    "plot_sweep",
    "read_sweep",
    "suggest",
]

MODES = ("exp", "linear")
REASONS = ("finished", "diverged", "non-finite", "incomplete")
"""Why a sweep stopped: all ``num_steps`` done; the smoothed loss diverged (see ``RangeTestRecorder``);
a loss was NaN or inf; the caller stopped recording before ``num_steps`` (for example, data ran out)."""

FALL_MARGIN = 0.1
"""``suggest``: base_lr is where the smoothed loss is this fraction of its fall below its top, max_lr
where it is this fraction above its bottom (or ``NOISE_MARGIN`` standard errors, if that is more)."""
NOISE_MARGIN = 5.0
"""``suggest``: the margins are at least this many standard errors of the smoothed curve."""
BANDWIDTH = 0.2
"""Default smoothing bandwidth of ``suggest``, in decades of lr (a factor 10**0.2 = 1.6 in lr)."""
NEIGHBOURS = 5
"""Each local fit of ``suggest`` spans at least this many neighbouring points, wherever they are sparse."""
MIN_POINTS = 10
"""``suggest`` needs at least this many finite losses after skipping the ends."""

PathOrFile = Union[str, "os.PathLike[str]", IO[str]]


# -- the sweep as a spec ---------------------------------------------------------------------------------


def range_test_formula(xp: Ops, *, start_lr: float, end_lr: float, num_steps: int, mode: str) -> Formula:
    r"""The sweep, ``step -> lr``, for the namespace ``xp``.

    With ``last = num_steps - 1`` and ``t = min(step, last) / last``::

        lr = start_lr * (end_lr / start_lr) ** t        "exp"    (evenly spaced in log(lr))
           = start_lr + (end_lr - start_lr) * t         "linear"

    capped at ``end_lr``, and exactly ``end_lr`` from ``step = last`` on: the sweep holds its end value.
    ``t = 0`` gives ``start_lr`` exactly (``x ** 0.0 == 1.0``, ``x + 0.0 == x``).
    """
    last = num_steps - 1
    minimum, where, power = xp.minimum, xp.where, xp.power
    ratio, delta = end_lr / start_lr, end_lr - start_lr
    exponential = mode == "exp"  # decided once, not per step

    def value(step: Any) -> Any:
        t = minimum(step, last) / last
        if exponential:
            swept = start_lr * power(ratio, t)
        else:
            swept = start_lr + delta * t
        return where(step >= last, end_lr, minimum(swept, end_lr))

    return value


@dataclass(frozen=True)
class LRRangeTest(Spec):
    r"""The learning-rate sweep of a range test: ``start_lr`` to ``end_lr`` in ``num_steps`` steps.

    Step ``k`` of the sweep, with ``last = num_steps - 1``::

        "exp":     lr(k) = start_lr * (end_lr / start_lr) ** (k / last)      (fastai, torch-lr-finder)
        "linear":  lr(k) = start_lr + (end_lr - start_lr) * k / last         (the paper's)

    ``lr(0) == start_lr`` and ``lr(last) == end_lr`` exactly. Past the sweep the lr holds at ``end_lr``
    (``lr(k) == end_lr`` for every ``k >= last``); torch-lr-finder's schedulers keep extrapolating
    instead, which overflows to inf for long runs. Momentum is not scheduled (``momentum_at`` is None).
    The same value for every parameter group.

    Args:
        start_lr: the first learning rate (> 0).
        end_lr: the last learning rate (> start_lr).
        num_steps: steps in the sweep, both ends included (an integer >= 2).
        mode: "exp" (evenly spaced in log(lr), the usual choice) or "linear".

    Raises:
        TypeError: a parameter has the wrong type (a float num_steps, a string lr, ...).
        ValueError: an lr is NaN, inf or <= 0; ``end_lr <= start_lr``; ``num_steps < 2``; unknown mode.

    Examples:
        >>> sweep = LRRangeTest(start_lr=1e-4, end_lr=1.0, num_steps=5)
        >>> sweep.lr_at([0, 1, 2, 3, 4, 10])
        array([1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00, 1.e+00])
    """

    start_lr: float = 1e-7
    end_lr: float = 10.0
    num_steps: int = 100
    mode: str = "exp"

    def __post_init__(self) -> None:
        def normalize(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        normalize("start_lr", check_real("start_lr", self.start_lr, above=0.0))
        normalize("end_lr", check_real("end_lr", self.end_lr, above=0.0))
        if not self.end_lr > self.start_lr:
            raise ValueError(
                f"end_lr must be > start_lr: the sweep goes up, got start_lr={self.start_lr!r}, "
                f"end_lr={self.end_lr!r}"
            )
        normalize("num_steps", check_int("num_steps", self.num_steps, minimum=2))
        check_choice("mode", self.mode, MODES)

    @property
    def groups(self) -> int | None:
        return None

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        if quantity == "momentum":
            return None
        return range_test_formula(
            xp, start_lr=self.start_lr, end_lr=self.end_lr, num_steps=self.num_steps, mode=self.mode
        )


# -- recording a sweep -----------------------------------------------------------------------------------


def _as_loss(value: Any, step: int) -> float:
    """A loss as a Python float: floats, numpy scalars, 0-d arrays of any framework (no import needed)."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(
            f"the loss at step {step} must be a real number or a 0-d array, got {value!r} "
            f"({type(value).__name__}); does train_step return the loss?"
        )
    shape = getattr(value, "shape", ())
    if tuple(shape) != ():
        raise TypeError(
            f"the loss at step {step} must be a scalar, got an array of shape {tuple(shape)}; "
            f"reduce it first (loss.mean())"
        )
    detach = getattr(value, "detach", None)  # a torch tensor that requires grad: float() would warn
    if callable(detach):
        value = detach()
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"the loss at step {step} must be a real number or a 0-d array, got {value!r} "
            f"({type(value).__name__})"
        ) from error


class RangeTestRecorder:
    r"""Records a range test one loss at a time, smooths it, and decides when to stop.

    Whoever runs the training drives it: set the lr to ``next_lr``, take one training step, pass the
    loss to ``record``; stop when it returns True. ``find_lr`` is that loop; a framework callback can
    be too. The recorder counts its own steps: it never reads a global step of a trainer.

    The smoothed loss is an exponential moving average with bias correction (``k`` counts from 0)::

        average(k)  = smooth * average(k-1) + (1 - smooth) * loss(k),   average(-1) = 0
        smoothed(k) = average(k) / (1 - smooth ** (k + 1))

    (computed as the equal running mean ``smoothed(k-1) + w * (loss(k) - smoothed(k-1))`` with
    ``w = (1 - smooth) / (1 - smooth ** (k + 1))``: a constant loss gives exactly that constant).

    The sweep stops at step ``k`` when ``loss(k)`` is NaN or inf (reason "non-finite"), when all
    ``num_steps`` are done ("finished"), or when the smoothed loss has diverged ("diverged"), which is,
    with ``first = smoothed(0)`` and ``best = min(smoothed(0..k))``::

        smoothed(k) > first   and   smoothed(k) - best > (diverge_factor - 1) * |best|

    For positive losses the second condition is the classic rule of fastai and torch-lr-finder,
    ``smoothed > diverge_factor * best``; written with ``|best|`` it keeps its meaning for a negative
    best, where ``smoothed > diverge_factor * best`` holds at once for any smoothed loss at all. The
    first condition (the loss is worse than where it started) keeps the rule from firing on noise when
    ``|best|`` is near zero: a loss that crosses zero, or a model that is trained already. Both are
    invariant to scaling the loss by a positive factor.

    Args:
        spec: the sweep (an ``LRRangeTest``).
        smooth: the moving average's weight of the past, in [0, 1); 0 means no smoothing.
        diverge_factor: see the rule above (> 1); None never stops for divergence.

    Raises:
        TypeError: ``spec`` is not an ``LRRangeTest``; a parameter has the wrong type.
        ValueError: ``smooth`` outside [0, 1); ``diverge_factor <= 1``, NaN or inf.

    Examples:
        >>> recorder = RangeTestRecorder(LRRangeTest(num_steps=3), smooth=0.0)
        >>> [recorder.record(loss) for loss in (2.0, 1.0, 0.5)], recorder.reason
        ([False, False, True], 'finished')
    """

    def __init__(
        self,
        spec: LRRangeTest | None = None,
        *,
        smooth: float = 0.98,
        diverge_factor: float | None = 4.0,
    ) -> None:
        spec = LRRangeTest() if spec is None else spec
        if not isinstance(spec, LRRangeTest):
            raise TypeError(f"spec must be an LRRangeTest, got {spec!r} ({type(spec).__name__})")
        smooth = check_real("smooth", smooth, minimum=0.0)
        if smooth >= 1.0:
            raise ValueError(f"smooth must be in [0, 1): 1 would never move, got {smooth!r}")
        if diverge_factor is not None:
            diverge_factor = check_real("diverge_factor", diverge_factor, above=1.0)
        self.spec = spec
        self.smooth = smooth
        self.diverge_factor = diverge_factor
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []
        self._best = math.inf
        self._reason: str | None = None

    @property
    def step(self) -> int:
        """The number of losses recorded so far (the step the next loss belongs to)."""
        return len(self._losses)

    @property
    def stopped(self) -> bool:
        """Whether the sweep is over (finished, diverged or non-finite)."""
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        """Why the sweep stopped (one of ``REASONS``), or None while it runs."""
        return self._reason

    @property
    def next_lr(self) -> float:
        """The learning rate for the next training step: ``spec.lr_at(step)``.

        Raises:
            RuntimeError: the sweep has stopped.
        """
        self._check_running()
        return float(self.spec.lr_at(self.step))

    @property
    def smoothed_loss(self) -> float:
        """The last smoothed loss (NaN before the first record)."""
        return self._smoothed[-1] if self._smoothed else math.nan

    def record(self, loss: Any) -> bool:
        """Record the loss of the training step just taken at ``next_lr``; True when the sweep stops.

        Args:
            loss: a Python float, a numpy scalar, or a 0-d array of any framework (``float()`` works
                on it); NaN or inf stops the sweep, and is recorded.

        Returns:
            True when the sweep is over: ``reason`` says why.

        Raises:
            TypeError: ``loss`` is not a real number or a 0-d array.
            RuntimeError: the sweep has stopped already.
        """
        self._check_running()
        step = self.step
        value = _as_loss(loss, step)
        self._lrs.append(float(self.spec.lr_at(step)))
        self._losses.append(value)
        if not math.isfinite(value):
            self._smoothed.append(math.nan)
            self._reason = "non-finite"
            return True
        # The bias-corrected average, as the equivalent running weighted mean (exact for a constant):
        # smoothed(k) = smoothed(k-1) + w (loss(k) - smoothed(k-1)), w = (1 - smooth) / (1 - smooth**(k+1))
        weight = (1.0 - self.smooth) / (1.0 - self.smooth ** (step + 1))
        previous = self._smoothed[-1] if step else value
        smoothed = previous + weight * (value - previous)
        self._smoothed.append(smoothed)
        self._best = min(self._best, smoothed)
        if self._diverged(smoothed):
            self._reason = "diverged"
        elif step == self.spec.num_steps - 1:
            self._reason = "finished"
        return self.stopped

    def _diverged(self, smoothed: float) -> bool:
        if self.diverge_factor is None:
            return False
        best, first = self._best, self._smoothed[0]
        return smoothed > first and smoothed - best > (self.diverge_factor - 1.0) * abs(best)

    def _check_running(self) -> None:
        if self._reason is not None:
            raise RuntimeError(
                f"the range test has stopped ({self._reason} at step {self.step - 1}); "
                f"start a new RangeTestRecorder to sweep again"
            )

    def result(self) -> RangeTestResult:
        """The sweep so far as a ``RangeTestResult``; reason "incomplete" if it is still running.

        Raises:
            RuntimeError: nothing has been recorded.
        """
        if not self._losses:
            raise RuntimeError("no loss recorded yet: record at least one before asking for the result")
        return RangeTestResult(
            lrs=np.array(self._lrs),
            losses=np.array(self._losses),
            smoothed=np.array(self._smoothed),
            stopped_at=self.step - 1,
            reason=self._reason or "incomplete",
            spec=self.spec,
        )


def find_lr(
    train_step: Callable[[float], Any],
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smooth: float = 0.98,
    diverge_factor: float | None = 4.0,
    progress: bool = True,
) -> RangeTestResult:
    r"""Run an LR range test with your own training step, in any framework.

    For ``k = 0, 1, ...``: ``loss(k) = train_step(lr(k))`` with ``lr(k)`` the sweep of
    ``LRRangeTest(start_lr, end_lr, num_steps, mode)``, until the sweep is done, the smoothed loss
    diverges, or a loss is NaN or inf (see ``RangeTestRecorder`` for the smoothing and the rule). The
    data gathered up to the stop is kept. ``train_step`` sets the lr, trains on one batch and returns
    the loss, or raises ``StopIteration`` when its data runs out (the sweep then ends with reason
    "incomplete"); saving and restoring the model and the optimizer is up to the caller (the framework
    helpers do it for you).

    Args:
        train_step: ``train_step(lr) -> loss``; the loss a Python float, a numpy scalar or a 0-d
            torch/JAX/TensorFlow array (converted with ``float()``).
        start_lr: the first lr (> 0).
        end_lr: the last lr (> start_lr).
        num_steps: training steps at most (>= 2).
        mode: "exp" (evenly spaced in log(lr)) or "linear".
        smooth: weight of the past in the moving average, in [0, 1).
        diverge_factor: the divergence threshold (> 1); None runs until the end or a NaN.
        progress: a progress bar on stderr when it is a terminal or a Jupyter kernel (tqdm if
            installed, else rich, else a plain one); False prints nothing.

    Returns:
        A ``RangeTestResult``: ``lrs``, ``losses``, ``smoothed``, ``stopped_at``, ``reason``, and
        ``suggestion`` (``suggest`` on the recorded sweep).

    Raises:
        TypeError: ``train_step`` is not callable, returns something that is not a scalar loss, or a
            parameter has the wrong type.
        ValueError: a parameter breaks its rule (see ``LRRangeTest`` and ``RangeTestRecorder``), or
            ``train_step`` raised ``StopIteration`` before its first loss.

    Examples:
        >>> result = find_lr(lambda lr: (lr - 0.01) ** 2, end_lr=1.0, num_steps=50, progress=False)
        >>> result.reason, result.stopped_at, len(result.lrs)
        ('diverged', 42, 43)
    """
    if not callable(train_step):
        raise TypeError(f"train_step must be callable as train_step(lr) -> loss, got {train_step!r}")
    spec = LRRangeTest(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode)
    recorder = RangeTestRecorder(spec, smooth=smooth, diverge_factor=diverge_factor)
    bar = open_progress(spec.num_steps, "LR range test") if check_bool("progress", progress) else None
    try:
        while not recorder.stopped:
            lr = recorder.next_lr
            try:
                loss = train_step(lr)
            except StopIteration:  # the data ran out: keep what was gathered ("incomplete")
                break
            recorder.record(loss)
            if bar is not None:
                bar.advance(f"lr {lr:.2e}  loss {recorder.smoothed_loss:.4g}")
    finally:
        if bar is not None:
            bar.close(recorder.reason or "")
    if recorder.step == 0:
        raise ValueError("train_step raised StopIteration before its first loss: no data to sweep with")
    return recorder.result()


# -- the suggestion --------------------------------------------------------------------------------------


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


def _as_vector(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d (one value per step), got shape {array.shape}")
    return array.astype(np.float64)


def _check_sweep(lrs: Any, losses: Any) -> tuple[np.ndarray, np.ndarray]:
    lrs, losses = _as_vector("lrs", lrs), _as_vector("losses", losses)
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    bad = np.flatnonzero(~(np.isfinite(lrs) & (lrs > 0)))
    if bad.size:
        raise ValueError(f"lrs must be positive and finite, got {float(lrs[bad[0]])!r} at index {bad[0]}")
    falling = np.flatnonzero(np.diff(lrs) <= 0)
    if falling.size:
        i = falling[0] + 1
        raise ValueError(
            f"lrs must be strictly increasing (a sweep, in the order it ran), got {float(lrs[i])!r} at index "
            f"{i} after {float(lrs[i - 1])!r}"
        )
    return lrs, losses


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


def _crossing(x: np.ndarray, y: np.ndarray, i: int, level: float) -> float:
    """Where the segment from ``(x[i], y[i])`` to ``(x[i+1], y[i+1])`` crosses ``level`` (linear)."""
    if y[i] == y[i + 1]:
        return float(x[i])
    fraction = (y[i] - level) / (y[i] - y[i + 1])
    return float(x[i] + min(max(fraction, 0.0), 1.0) * (x[i + 1] - x[i]))


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
    3. ``bottom = min(s)`` at ``x_min``; ``top = max(s)`` over ``x <= x_min``; ``drop = top - bottom``.
       Unless ``top - 5 error(top) > bottom + 5 error(bottom)`` the loss does not fall out of its
       noise: ValueError.
    4. ``top_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * error(top))`` (10% of the fall, or 5
       standard errors where the noise is larger: ``top``, the maximum of a noisy curve, lies above the
       plateau by a few standard errors), ``bottom_margin`` likewise at ``bottom``.
       ``base_lr``: the last crossing of ``s = top - top_margin`` before ``x_min`` (the loss has started
       to fall, for good). ``max_lr``: the first crossing of ``s = bottom + bottom_margin`` after that
       (the fall is done but for its last tenth: it flattens). Each crossing is interpolated linearly
       in ``x`` between the two points around it. Both lie on steep parts of the curve, where noise
       moves a crossing little, unlike ``argmin(s)`` in a flat valley.
    5. ``steepest``: the point of least ``s'`` from ``base_lr`` to ``max_lr``; ``minimum``: ``x_min``.

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
    lrs, losses = _check_sweep(lrs, losses)
    bandwidth = check_real("bandwidth", bandwidth, above=0.0)
    if check_bool("log_loss", log_loss):
        bad = np.flatnonzero(losses <= 0)
        if bad.size:
            raise ValueError(
                f"log_loss=True needs positive losses, got {float(losses[bad[0]])!r} at index {bad[0]}"
            )
        with np.errstate(divide="ignore"):
            losses = np.log(losses)
    finite = np.isfinite(losses)
    count = int(finite.sum())
    if count == 0:
        raise ValueError(
            f"every loss is NaN or inf ({len(losses)} points): nothing to suggest from; if the sweep "
            f"blew up at once, start it at a lower start_lr"
        )
    skip_start = count // 10 if skip_start is None else check_int("skip_start", skip_start, minimum=0)
    skip_end = count // 20 if skip_end is None else check_int("skip_end", skip_end, minimum=0)
    kept = count - skip_start - skip_end
    if kept < MIN_POINTS:
        raise ValueError(
            f"suggest needs at least {MIN_POINTS} finite losses after skipping the first {skip_start} "
            f"and the last {skip_end}, got {max(kept, 0)} (of {len(losses)} points, {count} finite); "
            f"run a longer sweep or one that diverges later"
        )
    # The skipped start still steadies the fit at the window's left edge; the skipped end is left out.
    fitted = slice(0, count - skip_end)
    lr, loss = lrs[finite][fitted], losses[finite][fitted]
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
    # Values are reported in the loss's own units: exp() undoes log_loss.
    unit: Callable[[float], float] = math.exp if log_loss else float
    if not (
        drop > 1e-10 * max(abs(top), abs(bottom))
        and top - NOISE_MARGIN * error[i_top] > bottom + NOISE_MARGIN * error[i_min]
    ):
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
    top_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * float(error[i_top]))
    bottom_margin = max(FALL_MARGIN * drop, NOISE_MARGIN * float(error[i_min]))
    start_level, end_level = top - top_margin, bottom + bottom_margin
    i_base = i_top + int(np.flatnonzero(s[i_top:i_min] >= start_level)[-1])
    x_base = _crossing(x, s, i_base, start_level)
    i_max = i_base + int(np.flatnonzero(s[i_base : i_min + 1] <= end_level)[0])
    x_max = _crossing(x, s, i_max - 1, end_level)
    i_steep = i_base + int(np.argmin(slope[i_base : i_max + 1]))

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
    steepest_reason = f"the smoothed loss falls fastest here: {slope[i_steep]:.3g} {per}"
    minimum_reason = "the smoothed loss is lowest here"
    if i_min == len(s) - 1:
        minimum_reason += ", at the end of the sweep: it may fall further, sweep to a higher end_lr"
    else:
        minimum_reason += "; beyond, it rises"
    return Suggestion(
        base=LRPoint(10.0**x_base, unit(start_level), base_reason),
        max=LRPoint(10.0**x_max, unit(end_level), max_reason),
        steepest=LRPoint(float(lr[i_steep]), unit(float(s[i_steep])), steepest_reason),
        minimum=LRPoint(float(lr[i_min]), unit(bottom), minimum_reason),
        curve_lrs=_frozen(lr),
        curve_losses=_frozen(np.exp(s) if log_loss else s),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


# -- the result ------------------------------------------------------------------------------------------


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
            object.__setattr__(self, name, _frozen(getattr(self, name)))
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

        ``read_sweep`` reads it back (it needs only the ``lr`` and ``loss`` columns).

        Args:
            file: a path, or a text file open for writing.
        """
        columns = (self.lrs.tolist(), self.losses.tolist(), self.smoothed.tolist())
        with _opened(file, "w") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(["step", "lr", "loss", "smoothed_loss"])
            for step, values in enumerate(zip(*columns, strict=True)):
                writer.writerow([step, *map(repr, values)])

    def plot(self, ax: Any = None) -> Any:
        """Loss against lr on a log axis, with the suggestion marked: ``plot_sweep`` of this sweep.

        Args:
            ax: a matplotlib Axes to draw on; None makes a new figure.

        Returns:
            The Axes.

        Raises:
            ImportError: matplotlib is not installed (``pip install "cyclr[plot]"``).
        """
        try:
            suggestion: Suggestion | str = self.suggestion
        except ValueError as error:
            suggestion = str(error)
        title = f"LR range test: {len(self.lrs)} steps, {self.reason}"
        return plot_sweep(
            self.lrs, self.losses, suggestion=suggestion, moving_average=self.smoothed, ax=ax, title=title
        )


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
    lrs, losses = _check_sweep(lrs, losses)
    if suggestion is None:
        suggestion = suggest(lrs, losses)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    finite = np.isfinite(losses)
    ax.plot(lrs[finite], losses[finite], color="0.6", lw=1, label="loss")
    if moving_average is not None:
        average = _as_vector("moving_average", moving_average)
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


@contextlib.contextmanager
def _opened(file: PathOrFile, mode: str) -> Iterator[IO[str]]:
    """A path opened (and closed) here, or a text file used as it is (and left open)."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, mode, newline="") as stream:
            yield stream
        return
    if not hasattr(file, "write" if mode == "w" else "read"):
        purpose = "writing" if mode == "w" else "reading"
        raise TypeError(f"expected a path or a text file open for {purpose}, got {file!r}")
    yield file


def read_sweep(file: PathOrFile) -> tuple[np.ndarray, np.ndarray]:
    """Read a recorded sweep from CSV: the columns named ``lr`` and ``loss`` (others are ignored).

    Reads what ``RangeTestResult.to_csv`` writes, or any CSV with a header row naming those two
    columns; "nan" and "inf" are read as such. The result goes straight into ``suggest``.

    Args:
        file: a path, or a text file open for reading.

    Returns:
        ``(lrs, losses)``, float64 arrays.

    Raises:
        ValueError: no header, no ``lr`` or ``loss`` column, or a cell that is not a number (its line
            is named).

    Examples:
        >>> import io
        >>> read_sweep(io.StringIO("lr,loss\\n0.001,2.5\\n0.01,nan\\n"))
        (array([0.001, 0.01 ]), array([2.5, nan]))
    """
    with _opened(file, "r") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise ValueError("the sweep file is empty: expected a header row with lr and loss columns")
        names = [name.strip() for name in header]
        missing = [name for name in ("lr", "loss") if name not in names]
        if missing:
            raise ValueError(f"the sweep file has no {' or '.join(missing)} column; its columns: {names}")
        columns = names.index("lr"), names.index("loss")
        lrs, losses = [], []
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                lr, loss = (float(row[i]) for i in columns)
            except (IndexError, ValueError):
                raise ValueError(
                    f"line {line} of the sweep file: expected numbers for lr and loss, got {row}"
                ) from None
            lrs.append(lr)
            losses.append(loss)
    return np.array(lrs, dtype=np.float64), np.array(losses, dtype=np.float64)
