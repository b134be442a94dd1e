r"""The range test's loop for any framework: ``find_lr(train_step)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._progress import open_progress
from .._validate import check_bool
from .recorder import RangeTestRecorder
from .result import RangeTestResult
from .sweep import LRRangeTest

__all__ = ["find_lr"]


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

    Whatever ``train_step`` raises (out of memory, a ``KeyboardInterrupt``, a bad batch), and a loss
    that is not a scalar, propagates unchanged, never swallowed, with the points recorded before it
    attached: ``error.result`` is a ``RangeTestResult`` with reason "interrupted" (None when nothing
    was recorded), and a note on the exception says so (``RangeTestRecorder.attach_result``)::

        try:
            result = find_lr(train_step)
        except RuntimeError as error:  # CUDA out of memory at step 80, say
            result = error.result      # steps 0..79

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
    except BaseException as error:  # out of memory, Ctrl-C, a bad loss: raised again, the data attached
        recorder.attach_result(error)
        raise  # the same exception, its traceback intact
    finally:
        if bar is not None:
            bar.close(recorder.reason or "")
    if recorder.step == 0:
        raise ValueError("train_step raised StopIteration before its first loss: no data to sweep with")
    return recorder.result()
