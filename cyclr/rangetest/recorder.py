r"""Recording a sweep one loss at a time: ``RangeTestRecorder``, for any loop that trains and reports."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from ._checks import brief
from .result import RangeTestResult
from .stop import check_diverge_factor, check_smooth, has_diverged, smoothed_next
from .sweep import LRRangeTest

__all__ = ["RangeTestRecorder"]

E = TypeVar("E", bound=BaseException)


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
    except OverflowError:
        raise ValueError(f"the loss at step {step} is too large for a float: {brief(value)}") from None
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

    The stop rule (``cyclr.rangetest.stop`` has it in full): the loss is smoothed by a bias-corrected
    exponential moving average, ``smoothed(k) = average(k) / (1 - smooth ** (k + 1))`` with
    ``average(k) = smooth * average(k-1) + (1 - smooth) * loss(k)``. The sweep stops at step ``k`` when
    ``loss(k)`` is NaN or inf (reason "non-finite"), when all ``num_steps`` are done ("finished"), or
    when the smoothed loss has diverged ("diverged"), with ``first = smoothed(0)`` and
    ``best = min(smoothed(0..k))``::

        smoothed(k) > first   and   smoothed(k) - best > (diverge_factor - 1) * |best|

    (for positive losses, fastai's ``smoothed > diverge_factor * best``; the first condition keeps a
    loss near zero or below it from stopping on noise). Both are invariant to scaling the loss.

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
        smooth = check_smooth(smooth)
        diverge_factor = check_diverge_factor(diverge_factor)
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
        """Whether the sweep is over (finished, diverged, non-finite or interrupted)."""
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
            ValueError: ``loss`` is too large for a float (``10**400``).
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
        smoothed = smoothed_next(self._smoothed[-1] if step else value, value, step, self.smooth)
        self._smoothed.append(smoothed)
        self._best = min(self._best, smoothed)
        if self._diverged(smoothed):
            self._reason = "diverged"
        elif step == self.spec.num_steps - 1:
            self._reason = "finished"
        return self.stopped

    def _diverged(self, smoothed: float) -> bool:
        return has_diverged(smoothed, self._smoothed[0], self._best, self.diverge_factor)

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

    def attach_result(self, error: E, caller: str = "cyclr.find_lr") -> E:
        """Stop the sweep ("interrupted") and keep what it recorded in ``error.result``; ``error`` back.

        For the loop that drives the recorder, when the training step raises (out of memory, a
        ``KeyboardInterrupt``, a bad batch): ``except BaseException as e: raise recorder.attach_result(e)``
        lets the exception propagate unchanged, with the partial ``RangeTestResult`` (reason
        "interrupted") as ``error.result`` and a note (``error.add_note``) that says so. With nothing
        recorded, ``error.result`` is None and no note is added. A stopped sweep (finished, diverged,
        non-finite) keeps its reason.

        Args:
            error: the exception being raised.
            caller: the name the note gives the range test (``"cyclr.keras.find_lr"``, say).

        Returns:
            ``error`` itself.

        Examples:
            >>> recorder = RangeTestRecorder(LRRangeTest(num_steps=10))
            >>> recorder.record(2.0)
            False
            >>> recorder.attach_result(KeyboardInterrupt()).result
            RangeTestResult(points=1, lrs=1e-07..1e-07, stopped_at=0, reason='interrupted')
        """
        if self._reason is None:
            self._reason = "interrupted"
        partial = self.result() if self._losses else None
        try:
            error.result = partial  # type: ignore[attr-defined]
        except AttributeError:  # an exception type that takes no attributes: nothing to attach to
            return error
        if partial is not None:
            note = (
                f"{caller}: the {len(partial.lrs)} points recorded before this error (steps "
                f"0..{partial.stopped_at}, lr {partial.lrs[0]:.3g}..{partial.lrs[-1]:.3g}) are kept in "
                f"this exception's .result, a RangeTestResult with reason {partial.reason!r}"
            )
            add_note = getattr(error, "add_note", None)
            if add_note is not None:
                add_note(note)
            else:  # Python 3.10: the attribute 3.11 reads
                error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]
        return error
