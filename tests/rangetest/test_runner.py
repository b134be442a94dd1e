"""find_lr: the loop, its validation, its progress bar, and how a sweep ends early."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from fractions import Fraction

import pytest
from curves import falling, hide

from cyclr import _progress
from cyclr.rangetest import RangeTestRecorder, find_lr


def test_train_step_errors_propagate_and_nothing_is_swallowed():
    def train_step(lr):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory") as caught:
        find_lr(train_step, progress=False)
    assert caught.value.result is None  # nothing was recorded: nothing to keep, and no note
    assert not getattr(caught.value, "__notes__", [])


def failing_after(count: int, error: BaseException):
    """A train_step that returns falling losses for ``count`` steps, then raises ``error``; its lrs."""
    lrs: list[float] = []

    def train_step(lr: float) -> float:
        if len(lrs) == count:
            raise error
        lrs.append(lr)
        return falling(lr)

    return train_step, lrs


@pytest.mark.parametrize(
    "error",
    [RuntimeError("CUDA out of memory"), MemoryError(), KeyboardInterrupt(), ValueError("bad batch")],
    ids=type,
)
def test_an_error_in_train_step_keeps_the_points_recorded(error):
    train_step, lrs = failing_after(40, error)
    with pytest.raises(type(error)) as caught:
        find_lr(train_step, progress=False)
    assert caught.value is error  # the same exception, unchanged but for the result and a note
    partial = caught.value.result
    assert (partial.reason, partial.stopped_at, partial.lrs.tolist()) == ("interrupted", 39, lrs)
    assert partial.losses.tolist() == [falling(lr) for lr in lrs]
    assert partial.spec == find_lr(falling, progress=False).spec
    (note,) = caught.value.__notes__
    assert note == (
        f"cyclr.find_lr: the 40 points recorded before this error (steps 0..39, lr 1e-07..{lrs[-1]:.3g}) "
        f"are kept in this exception's .result, a RangeTestResult with reason 'interrupted'"
    )


def test_a_bad_loss_late_in_the_sweep_keeps_the_points_too():
    losses = iter([2.0, 1.5, None])
    with pytest.raises(TypeError, match=r"the loss at step 2 must be a real number") as caught:
        find_lr(lambda lr: next(losses), progress=False)
    assert caught.value.result.losses.tolist() == [2.0, 1.5]
    assert caught.value.result.reason == "interrupted"


def test_an_interrupted_recorder_has_stopped():
    recorder = RangeTestRecorder()
    recorder.record(1.0)
    error = recorder.attach_result(KeyboardInterrupt())
    assert recorder.stopped and recorder.reason == "interrupted"
    assert error.result.reason == "interrupted" and recorder.result().reason == "interrupted"
    with pytest.raises(RuntimeError, match=r"the range test has stopped \(interrupted at step 0\)"):
        recorder.record(1.0)


def test_the_torch_helper_keeps_the_points_and_restores_the_model():
    torch = pytest.importorskip("torch")
    import cyclr.torch

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    batches = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(4)]
    calls = []

    def loss_fn(outputs, targets):
        if len(calls) == 12:
            raise RuntimeError("CUDA out of memory")
        calls.append(1)
        return torch.nn.functional.mse_loss(outputs, targets)

    with pytest.raises(RuntimeError, match="out of memory") as caught:
        cyclr.torch.find_lr(model, optimizer, loss_fn, batches, progress=False)
    assert caught.value.result.reason == "interrupted" and len(caught.value.result.losses) == 12
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_train_step_must_be_callable():
    with pytest.raises(TypeError, match=r"train_step must be callable as train_step\(lr\) -> loss, got 3"):
        find_lr(3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"smooth": 1.0}, ValueError, r"smooth must be in \[0, 1\): 1 would never move, got 1.0"),
        ({"smooth": -0.1}, ValueError, r"smooth must be >= 0.0, got -0.1"),
        ({"smooth": math.nan}, ValueError, r"smooth must be finite, got nan"),
        ({"diverge_factor": 1.0}, ValueError, r"diverge_factor must be > 1.0, got 1.0"),
        ({"diverge_factor": math.inf}, ValueError, r"diverge_factor must be finite, got inf"),
        ({"diverge_factor": "4"}, TypeError, r"diverge_factor must be a real number"),
        ({"progress": "yes"}, TypeError, r"progress must be True or False, got 'yes'"),
        ({"start_lr": 0.0}, ValueError, r"start_lr must be > 0.0, got 0.0"),
        ({"num_steps": 1}, ValueError, r"num_steps must be an integer >= 2, got 1"),
        ({"mode": "log"}, ValueError, r"mode must be one of \['exp', 'linear'\], got 'log'"),
        ({"smooth": 10**400}, ValueError, r"smooth must be finite, got an integer of 401 digits.*beyond the largest float"),
        ({"diverge_factor": Fraction(10**400)}, ValueError, r"diverge_factor must be finite, got Fraction"),
        ({"end_lr": -(10**400)}, ValueError, r"end_lr must be finite, got an integer of 401 digits"),
    ],
)
def test_find_lr_validates_before_any_training_step(kwargs, error, message):
    calls = []
    with pytest.raises(error, match=message):
        find_lr(lambda lr: calls.append(lr) or 1.0, **kwargs)
    assert calls == []


def test_progress_false_prints_nothing(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "watched", lambda stream: True)
    find_lr(falling, progress=False)
    assert capfd.readouterr() == ("", "")


def test_progress_prints_nothing_where_nobody_watches(capfd):
    find_lr(falling, progress=True)  # stderr is captured: not a terminal
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("hidden", "expected"),
    [
        ((), r"LR range test:  90%\|[^|]+\| 90/100 .*diverged"),  # tqdm (progress extra)
        (("tqdm", "tqdm.auto"), r"LR range test .*90/100 .*diverged"),  # rich
        (
            ("tqdm", "tqdm.auto", "rich", "rich.console", "rich.progress"),
            r"LR range test  90/100 \[#{21}-{3}\] diverged",
        ),
    ],
    ids=["tqdm", "rich", "plain"],
)
def test_progress_bar_on_a_terminal(capsys, monkeypatch, hidden, expected):
    monkeypatch.setattr(_progress, "watched", lambda stream: True)
    hide(monkeypatch, *hidden)
    result = find_lr(falling, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert result.stopped_at == 89
    assert re.search(expected, err), err[-300:]


def test_watched_streams():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    closed = io.StringIO()
    closed.close()
    assert _progress.watched(Terminal())
    assert not _progress.watched(io.StringIO())
    assert not _progress.watched(object())
    assert not _progress.watched(closed)


def test_import_loads_no_progress_or_plot_library():
    heavy = ("tqdm", "rich", "matplotlib", "torch", "numba")
    code = f"import cyclr.rangetest, sys\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert output.stdout.strip() == "[]"


def test_train_step_ends_the_sweep_with_stop_iteration():
    from cyclr.rangetest import find_lr

    batches = iter(range(7))

    def train_step(lr):
        next(batches)  # StopIteration once the data has run out
        return 1.0 / (1.0 + lr)

    result = find_lr(train_step, num_steps=50, progress=False)
    assert result.reason == "incomplete" and result.stopped_at == 6 and len(result.losses) == 7


def test_stop_iteration_before_the_first_loss_is_an_error():
    from cyclr.rangetest import find_lr

    def train_step(lr):
        raise StopIteration

    with pytest.raises(ValueError, match=r"train_step raised StopIteration before its first loss"):
        find_lr(train_step, progress=False)
