"""The LR range test: the sweep's spec contract, the recorder's stop rules, find_lr, suggest, the result."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import ulps

import cyclr
from cyclr import _progress
from cyclr.rangetest import (
    LRPoint,
    LRRangeTest,
    RangeTestRecorder,
    RangeTestResult,
    Suggestion,
    find_lr,
    local_quadratic,
    median_of_three,
    noise_level,
    plot_sweep,
    read_sweep,
    suggest,
)

# -- the sweep: a spec with the whole contract -------------------------------------------------------------


@st.composite
def sweeps(draw: st.DrawFn) -> LRRangeTest:
    start = draw(st.floats(1e-9, 1.0))
    ratio = draw(st.floats(1.001, 1e10))
    return LRRangeTest(
        start_lr=start,
        end_lr=start * ratio,
        num_steps=draw(st.integers(2, 5000)),
        mode=draw(st.sampled_from(["exp", "linear"])),
    )


def torch_lr_finder(spec: LRRangeTest, k: int) -> float:
    """torch-lr-finder's ExponentialLR / LinearLR, transcribed: ``r = k / (num_iter - 1)``."""
    r = k / (spec.num_steps - 1)
    if spec.mode == "exp":
        return spec.start_lr * (spec.end_lr / spec.start_lr) ** r
    return spec.start_lr + r * (spec.end_lr - spec.start_lr)


@given(sweeps(), st.data())
def test_matches_torch_lr_finder_inside_the_sweep(spec, data):
    k = data.draw(st.integers(0, spec.num_steps - 2))
    assert spec.lr_at(k) == min(torch_lr_finder(spec, k), spec.end_lr)


@given(sweeps(), st.data())
def test_close_to_the_exact_sweep(spec, data):
    k = data.draw(st.integers(0, spec.num_steps - 1))
    mpmath.mp.dps = 40
    start, end, t = mpmath.mpf(spec.start_lr), mpmath.mpf(spec.end_lr), mpmath.mpf(k) / (spec.num_steps - 1)
    exact = start * (end / start) ** t if spec.mode == "exp" else start + (end - start) * t
    # A few roundings (end/start, k/last, pow, the product); the rounding of t = k/last is amplified by
    # ln(end/start) in the exponential, as in every implementation of this formula.
    bound = (3 + math.log(spec.end_lr / spec.start_lr) / 2) * 2.0**-52
    assert abs(spec.lr_at(k) - float(exact)) <= bound * float(exact)


@given(sweeps())
def test_both_ends_are_exact_and_the_end_holds(spec):
    last = spec.num_steps - 1
    assert spec.lr_at(0) == spec.start_lr
    assert spec.lr_at(last) == spec.end_lr
    for step in (last + 1, last + 12345, 2**62, 2**80):
        assert spec.lr_at(step) == spec.end_lr
    ends = spec.lr_at(np.array([0, last, last + 1, 2**62], dtype=np.int64))
    assert ends.tolist() == [spec.start_lr, spec.end_lr, spec.end_lr, spec.end_lr]


@given(sweeps())
def test_rises_monotonically_between_the_ends(spec):
    lr = spec.lr_at(np.arange(spec.num_steps + 3))
    assert np.all(np.diff(lr) >= 0)
    assert lr.min() == spec.start_lr and lr.max() == spec.end_lr


def test_exp_is_evenly_spaced_in_log_lr():
    lr = LRRangeTest(start_lr=1e-6, end_lr=1.0, num_steps=7).lr_at(np.arange(7))
    np.testing.assert_allclose(lr, 10.0 ** np.arange(-6, 1), rtol=1e-15)


def test_linear_is_evenly_spaced_in_lr():
    lr = LRRangeTest(start_lr=0.01, end_lr=0.05, num_steps=5, mode="linear").lr_at(np.arange(5))
    np.testing.assert_allclose(np.diff(lr), 0.01, rtol=1e-12)


def test_defaults_are_fastais():
    spec = LRRangeTest()
    assert (spec.start_lr, spec.end_lr, spec.num_steps, spec.mode) == (1e-7, 10.0, 100, "exp")


@given(sweeps())
def test_scalar_array_and_precompute_agree_exactly(spec):
    steps = np.arange(spec.num_steps + 2)
    lr, momentum = spec.precompute(len(steps))
    assert momentum is None
    assert np.array_equal(lr, spec.lr_at(steps))
    for k in range(0, len(steps), max(1, len(steps) // 17)):
        assert lr[k] == spec.lr_at(k)
        assert spec(k) == (lr[k], None)


NUMBA_SWEEPS = [
    LRRangeTest(),
    LRRangeTest(start_lr=3e-5, end_lr=0.7, num_steps=1234),
    LRRangeTest(start_lr=1e-4, end_lr=0.1, num_steps=50, mode="linear"),
    LRRangeTest(start_lr=0.3, end_lr=0.30001, num_steps=7, mode="linear"),
]


@pytest.mark.parametrize("spec", NUMBA_SWEEPS, ids=str)
@given(start=st.integers(0, 10**6))
def test_numba_precompute_and_compile_within_one_ulp(spec, start):
    for first in (0, start):
        lr, momentum = spec.precompute(spec.num_steps + 5, start=first, backend="numba")
        assert momentum is None
        assert ulps(lr, spec.precompute(spec.num_steps + 5, start=first)[0]) <= 1
    schedule = cyclr.numba.compile(spec)  # cached per spec: compiled once
    for k in (0, 1, spec.num_steps // 2, spec.num_steps - 1, spec.num_steps, start):
        value, no_momentum = schedule(k)
        assert no_momentum is None
        assert ulps(value, spec.lr_at(k)) <= 1
    assert schedule(0)[0] == spec.start_lr and schedule(spec.num_steps - 1)[0] == spec.end_lr


def test_momentum_is_not_scheduled():
    spec = LRRangeTest()
    assert spec.momentum_at(3) is None
    assert spec.momentum_at(np.arange(4)) is None
    assert not spec.has_momentum
    assert spec.groups is None


@given(sweeps())
def test_dict_round_trip_through_json(spec):
    again = cyclr.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert hash(again) == hash(spec)
    assert again.lr_at(spec.num_steps // 3) == spec.lr_at(spec.num_steps // 3)


def test_to_dict_is_plain_data_after_normalization():
    spec = LRRangeTest(start_lr=np.float32(0.5), end_lr=10, num_steps=np.int64(20))
    assert spec.to_dict() == {
        "schedule": "LRRangeTest",
        "start_lr": 0.5,
        "end_lr": 10.0,
        "num_steps": 20,
        "mode": "exp",
    }
    assert type(spec.end_lr) is float and type(spec.num_steps) is int


def test_spec_is_immutable():
    with pytest.raises(AttributeError):
        LRRangeTest().end_lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", [0.0, -1e-3])
def test_non_positive_lr(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be > 0.0, got {value}"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_lr(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite, got {value}"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize("name", ["start_lr", "end_lr"])
@pytest.mark.parametrize("value", ["1e-3", True, None])
def test_lr_of_the_wrong_type(name, value):
    with pytest.raises(TypeError, match=rf"{name} must be a real number"):
        LRRangeTest(**{name: value})


@pytest.mark.parametrize(("start_lr", "end_lr"), [(1.0, 1.0), (1.0, 0.1)])
def test_sweep_must_go_up(start_lr, end_lr):
    with pytest.raises(
        ValueError, match=rf"end_lr must be > start_lr: the sweep goes up, got start_lr={start_lr}"
    ):
        LRRangeTest(start_lr=start_lr, end_lr=end_lr)


@pytest.mark.parametrize("value", [1, 0, -5])
def test_too_few_steps(value):
    with pytest.raises(ValueError, match=rf"num_steps must be an integer >= 2, got {value}"):
        LRRangeTest(num_steps=value)


@pytest.mark.parametrize("value", [100.0, True, "100"])
def test_num_steps_of_the_wrong_type(value):
    with pytest.raises(TypeError, match=r"num_steps must be an integer, got"):
        LRRangeTest(num_steps=value)


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(
        ValueError, match=r"mode must be one of \['exp', 'linear'\], got 'expo'; did you mean 'exp'\?"
    ):
        LRRangeTest(mode="expo")
    with pytest.raises(TypeError, match=r"mode must be a string"):
        LRRangeTest(mode=1)


# -- the recorder: smoothing and stop rules ----------------------------------------------------------------


def record_all(losses, smooth=0.0, diverge_factor=4.0, num_steps=None):
    """Feed ``losses`` to a recorder until it stops; the result."""
    spec = LRRangeTest(num_steps=num_steps or len(losses))
    recorder = RangeTestRecorder(spec, smooth=smooth, diverge_factor=diverge_factor)
    for loss in losses:
        if recorder.record(loss):
            break
    return recorder.result()


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60), st.floats(0.0, 0.999))
def test_moving_average_with_bias_correction(losses, smooth):
    result = record_all(losses, smooth=smooth, diverge_factor=None)
    average = 0.0
    for k, loss in enumerate(losses):
        average = smooth * average + (1 - smooth) * loss
        assert result.smoothed[k] == pytest.approx(average / (1 - smooth ** (k + 1)), rel=1e-12, abs=1e-9)
    assert result.reason == "finished" and result.stopped_at == len(losses) - 1


def test_no_smoothing_keeps_the_losses():
    result = record_all([3.0, 2.0, 1.0], smooth=0.0)
    assert result.smoothed.tolist() == [3.0, 2.0, 1.0]


def test_finishes_with_every_lr_of_the_sweep():
    seen = []
    result = find_lr(
        lambda lr: seen.append(lr) or 1.0, start_lr=1e-4, end_lr=1.0, num_steps=30, progress=False
    )
    assert result.reason == "finished"
    assert result.stopped_at == 29
    assert seen == result.lrs.tolist() == LRRangeTest(1e-4, 1.0, 30).precompute(30)[0].tolist()
    assert all(type(lr) is float for lr in seen)
    assert result.spec == LRRangeTest(1e-4, 1.0, 30)


def test_diverges_by_the_classic_rule_once_above_the_start():
    # best 0.2; 0.9 > 4 * 0.2 is the classic stop, but 0.9 is below the first loss (1.0): not yet.
    losses = [1.0, 0.5, 0.2, 0.3, 0.7, 0.9, 1.1, 2.0, 3.0]
    result = record_all(losses, smooth=0.0)
    assert result.reason == "diverged"
    assert result.stopped_at == 6
    assert result.losses.tolist() == losses[:7]


def test_diverges_at_the_classic_rule_when_the_loss_has_not_fallen_far():
    # best 0.8 from a start of 1.0: 4 * best = 3.2 is above the start, so the classic rule decides.
    result = record_all([1.0, 0.9, 0.8, 1.5, 3.0, 3.3, 5.0], smooth=0.0)
    assert (result.reason, result.stopped_at) == ("diverged", 5)


def test_negative_losses_do_not_stop_at_once():
    # The classic rule, smoothed > 4 * best, holds for every loss once best is -3.
    losses = [-1.0, -2.0, -3.0, -2.9, -3.0, -2.5, -1.5, 0.5, 1.5]
    result = record_all(losses, smooth=0.0)
    # Above where it started (-1) and more than 3 * |best| = 9 above best: never here.
    assert result.reason == "finished"
    result = record_all([*losses[:-1], 6.5, 7.0], smooth=0.0)
    assert (result.reason, result.stopped_at) == ("diverged", 8)


def test_a_loss_crossing_zero_does_not_stop_on_noise():
    rng = np.random.default_rng(0)
    losses = np.concatenate([np.linspace(1.0, 0.0, 30), 0.02 * rng.standard_normal(60)])
    result = record_all(losses, smooth=0.9)
    assert result.reason == "finished"


@given(
    st.lists(st.floats(-100, 100), min_size=3, max_size=80),
    st.integers(-20, 20),
    st.sampled_from([0.0, 0.5, 0.98]),
)
def test_stop_rule_ignores_the_loss_scale(losses, exponent, smooth):
    # A power of two scales every rounding exactly: the same comparisons, the same stop.
    plain = record_all(losses, smooth=smooth)
    scaled = record_all([2.0**exponent * loss for loss in losses], smooth=smooth)
    assert (plain.reason, plain.stopped_at) == (scaled.reason, scaled.stopped_at)


def test_diverge_factor_none_never_stops_for_divergence():
    result = record_all([1.0, 0.1, 100.0, 1e6], smooth=0.0, diverge_factor=None)
    assert result.reason == "finished"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_and_keeps_the_data(bad):
    losses = iter([2.0, 1.5, 1.0, bad, 0.5])
    result = find_lr(lambda lr: next(losses), num_steps=5, progress=False)
    assert result.reason == "non-finite"
    assert result.stopped_at == 3
    assert result.losses[:3].tolist() == [2.0, 1.5, 1.0]
    assert result.losses[3] == bad or math.isnan(result.losses[3])
    assert math.isnan(result.smoothed[3]) and np.isfinite(result.smoothed[:3]).all()
    assert len(result.lrs) == 4


def test_a_nan_torch_tensor_stops_the_sweep():
    torch = pytest.importorskip("torch")
    result = find_lr(
        lambda lr: torch.tensor(float("nan")) if lr > 1e-3 else torch.tensor(1.0), progress=False
    )
    assert result.reason == "non-finite"
    assert result.lrs[-1] > 1e-3 >= result.lrs[-2]


def test_losses_of_every_framework_as_floats():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    weight = torch.tensor(2.0, requires_grad=True)
    losses = [1.5, np.float32(1.25), np.float64(1.0), np.array(0.75), weight * 0.25, jnp.array(0.25), 7]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float() of a tensor that requires grad would warn
        result = record_all(losses, smooth=0.0, diverge_factor=None)
    assert result.losses.tolist() == [1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 7.0]


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (None, r"the loss at step 0 must be a real number or a 0-d array, got None .*does train_step return"),
        ("1.0", r"must be a real number or a 0-d array, got '1.0' \(str\)"),
        (True, r"got True \(bool\)"),
        (
            np.array([1.0, 2.0]),
            r"the loss at step 0 must be a scalar, got an array of shape \(2,\); reduce it",
        ),
        (object(), r"must be a real number or a 0-d array, got <object"),
        (1 + 2j, r"got \(1\+2j\) \(complex\)"),
    ],
)
def test_a_loss_that_is_not_a_scalar(loss, message):
    with pytest.raises(TypeError, match=message):
        find_lr(lambda lr: loss, progress=False)


def test_a_torch_batch_of_losses_must_be_reduced():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"must be a scalar, got an array of shape \(3,\)"):
        find_lr(lambda lr: torch.ones(3), progress=False)


def test_train_step_errors_propagate_and_nothing_is_swallowed():
    def train_step(lr):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        find_lr(train_step, progress=False)


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
    ],
)
def test_find_lr_validates_before_any_training_step(kwargs, error, message):
    calls = []
    with pytest.raises(error, match=message):
        find_lr(lambda lr: calls.append(lr) or 1.0, **kwargs)
    assert calls == []


def test_recorder_walks_the_sweep():
    spec = LRRangeTest(start_lr=1e-3, end_lr=1e-1, num_steps=3)
    recorder = RangeTestRecorder(spec)
    assert (recorder.step, recorder.stopped, recorder.reason) == (0, False, None)
    assert math.isnan(recorder.smoothed_loss)
    lrs = []
    while not recorder.stopped:
        lrs.append(recorder.next_lr)
        recorder.record(1.0)
    assert lrs == [1e-3, spec.lr_at(1), 1e-1]
    assert (recorder.step, recorder.reason, recorder.smoothed_loss) == (3, "finished", 1.0)


def test_recorder_result_while_running_is_incomplete():
    recorder = RangeTestRecorder(LRRangeTest(num_steps=10))
    recorder.record(2.0)
    recorder.record(1.0)
    result = recorder.result()
    assert (result.reason, result.stopped_at, len(result.lrs)) == ("incomplete", 1, 2)
    recorder.record(0.5)  # it goes on; the result taken before does not change
    assert len(result.losses) == 2


def test_recorder_refuses_to_go_on_after_stopping():
    recorder = RangeTestRecorder(LRRangeTest(num_steps=2))
    recorder.record(1.0)
    recorder.record(math.nan)
    with pytest.raises(
        RuntimeError, match=r"the range test has stopped \(non-finite at step 1\); start a new"
    ):
        recorder.record(1.0)
    with pytest.raises(RuntimeError, match=r"has stopped"):
        recorder.next_lr  # noqa: B018


def test_recorder_result_needs_a_loss():
    with pytest.raises(RuntimeError, match=r"no loss recorded yet"):
        RangeTestRecorder().result()


def test_recorder_needs_a_range_test_spec():
    with pytest.raises(TypeError, match=r"spec must be an LRRangeTest, got CyclicLR"):
        RangeTestRecorder(cyclr.CyclicLR())


# -- the progress bar --------------------------------------------------------------------------------------


def falling(lr: float) -> float:
    """Falls from 1 between lr 3e-4 and 3e-3, then blows up: the default sweep diverges at step 89."""
    return 1.0 / (1.0 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2


def test_progress_false_prints_nothing(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "watched", lambda stream: True)
    find_lr(falling, progress=False)
    assert capfd.readouterr() == ("", "")


def test_progress_prints_nothing_where_nobody_watches(capfd):
    find_lr(falling, progress=True)  # stderr is captured: not a terminal
    assert capfd.readouterr() == ("", "")


def hide(monkeypatch, *modules):
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError


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


# -- suggest: synthetic curves with a known answer ---------------------------------------------------------


def valley(x, center, width, rise_at, top=2.3, bottom=0.3):
    """A loss against x = log10(lr): a plateau, a logistic fall around ``center``, a blow-up after."""
    return bottom + (top - bottom) / (1 + np.exp((x - center) / width)) + 0.5 * 10 ** ((x - rise_at) / 0.25)


def known_answer(center, width, rise_at):
    """The rule on the noise-free curve itself, on a fine grid: (x_base, x_max, x_min)."""
    x = np.linspace(center - 4, rise_at + 1, 400_001)
    y = valley(x, center, width, rise_at)
    i_min = int(np.argmin(y))
    top = y[: i_min + 1].max()
    drop = top - y[i_min]
    x_base = x[np.flatnonzero(y[:i_min] >= top - 0.1 * drop)[-1]]
    x_max = x[np.flatnonzero(y[: i_min + 1] <= y[i_min] + 0.1 * drop)[0]]
    return x_base, x_max, x[i_min]


def sweep_of(center, width, rise_at, noise=0.0, seed=0, num_steps=100, start=-7.0, end=1.0, stop=True):
    """A 100-step exp sweep over the curve with Gaussian noise; ``stop``: cut once the loss passes 2.5
    (as the divergence rule would), else run on to the end, where the loss reaches 1e9 and more."""
    x = np.linspace(start, end, num_steps)
    y = valley(x, center, width, rise_at) + noise * np.random.default_rng(seed).standard_normal(num_steps)
    past = np.flatnonzero((valley(x, center, width, rise_at) > 2.5) & (x > center))
    cut = past[0] + 1 if stop and past.size else num_steps
    return 10.0 ** x[:cut], y[:cut]


curves = st.tuples(st.floats(-5.0, -2.0), st.floats(0.1, 0.35), st.floats(1.0, 2.0)).map(
    lambda t: (t[0], t[1], t[0] + t[2])
)


@given(curves, st.booleans())
def test_noise_free_curves_give_the_known_answer(curve, stop):
    x_base, x_max, x_min = known_answer(*curve)
    s = suggest(*sweep_of(*curve, stop=stop))
    # Run on to 1e9 and more, the blow-up is capped at twice the fall's height; it still bends the fit
    # a little: up to 0.13 decades.
    tolerance = 0.1 if stop else 0.15
    assert abs(math.log10(s.base_lr) - x_base) < tolerance
    assert abs(math.log10(s.max_lr) - x_max) < tolerance
    assert abs(math.log10(s.steepest.lr) - curve[0]) < 0.1  # the logistic's centre: the steepest fall
    assert s.base_lr < s.steepest.lr < s.max_lr <= s.minimum.lr


@given(curves, st.floats(0.0, 0.06), st.integers(0, 2**32 - 1), st.booleans())
def test_noisy_curves_land_near_the_known_answer(curve, noise, seed, stop):
    x_base, x_max, _ = known_answer(*curve)
    s = suggest(*sweep_of(*curve, noise=noise, seed=seed, stop=stop))
    assert abs(math.log10(s.base_lr) - x_base) < 0.35  # within a factor of 2.2, noise up to 3% of the fall
    assert abs(math.log10(s.max_lr) - x_max) < 0.35
    assert abs(math.log10(s.steepest.lr) - curve[0]) < 0.3
    assert s.base_lr < s.steepest.lr <= s.max_lr <= s.minimum.lr


def test_the_steepest_point_does_not_lag_like_a_moving_average():
    lrs, losses = sweep_of(-3.0, 0.2, -1.5, noise=0.03)
    s = suggest(lrs, losses)
    average = record_all(losses, smooth=0.98, diverge_factor=None, num_steps=len(losses)).smoothed
    x = np.log10(lrs)
    lagging = x[10:-5][np.argmin(np.gradient(average, x)[10:-5])]  # fastai / torch-lr-finder's "steep"
    assert abs(math.log10(s.steepest.lr) - -3.0) < 0.1
    assert lagging - -3.0 > 0.3  # more than a factor 2 to the right


def test_single_spikes_barely_move_the_suggestion():
    lrs, losses = sweep_of(-3.0, 0.2, -1.5, noise=0.01)
    spiked = losses.copy()
    spiked[[30, 45, 50, 55, 62]] *= 3.0  # ragged: single batches gone wrong
    clean, rough = suggest(lrs, losses), suggest(lrs, spiked)
    assert abs(math.log10(rough.base_lr / clean.base_lr)) < 0.05
    assert abs(math.log10(rough.max_lr / clean.max_lr)) < 0.05


@given(st.floats(-50.0, 50.0), st.floats(0.01, 100.0))
def test_shifting_or_scaling_the_loss_changes_nothing(shift, scale):
    lrs, losses = sweep_of(-3.0, 0.2, -1.5, noise=0.02)
    plain = suggest(lrs, losses)
    moved = suggest(lrs, scale * losses + shift)  # negative losses included
    for a, b in ((plain.base_lr, moved.base_lr), (plain.max_lr, moved.max_lr)):
        assert b == pytest.approx(a, rel=1e-6)
    assert moved.steepest.lr == plain.steepest.lr and moved.minimum.lr == plain.minimum.lr
    assert moved.minimum.loss == pytest.approx(scale * plain.minimum.loss + shift, rel=1e-9, abs=1e-9)


def test_non_finite_losses_are_dropped():
    lrs, losses = sweep_of(-3.0, 0.2, -1.5, noise=0.02)
    plain = suggest(lrs, losses)
    with_nan = suggest(np.append(lrs, lrs[-1] * 1.2), np.append(losses, np.nan))
    assert with_nan == plain
    holes = losses.copy()
    holes[[20, 40]] = [np.inf, np.nan]
    assert suggest(lrs, holes).max_lr == pytest.approx(plain.max_lr, rel=0.1)


def test_a_linear_sweep_works_too():
    lrs = np.linspace(1e-3, 3e-2, 100)  # unevenly spaced in log(lr): sparse at the start
    losses = valley(np.log10(lrs), -1.9, 0.1, -1.0)
    x_base, x_max, _ = known_answer(-1.9, 0.1, -1.0)
    s = suggest(lrs, losses)
    assert abs(math.log10(s.base_lr) - x_base) < 0.1
    assert abs(math.log10(s.max_lr) - x_max) < 0.1


def test_log_loss_for_losses_that_fall_by_orders_of_magnitude():
    x = np.linspace(-5, 0, 100)
    losses = 10 ** (2 - 4 / (1 + np.exp(-(x + 2.5) / 0.3))) + 10 ** ((x + 0.3) / 0.1)  # 100 -> 0.01, blow-up
    linear, logarithmic = suggest(10**x, losses), suggest(10**x, losses, log_loss=True)
    assert linear.max_lr < 10**-2.5 < logarithmic.max_lr  # linearly, the first decade is 90% of the fall
    assert logarithmic.minimum.loss == pytest.approx(losses[np.argmin(losses)], rel=0.3)
    assert "on a log scale" in logarithmic.base.reason


def test_reasons_flag_a_sweep_that_starts_or_ends_too_late_or_early():
    starts_late = suggest(*sweep_of(-3.0, 0.3, -1.5, start=-3.5))
    assert "sweep from a lower start_lr" in starts_late.base.reason
    ends_early = suggest(*sweep_of(-3.0, 0.2, 5.0, end=-2.0))
    assert "sweep to a higher end_lr" in ends_early.minimum.reason
    fine = suggest(*sweep_of(-3.0, 0.2, -1.5))
    assert "start_lr" not in fine.base.reason and "end_lr" not in fine.minimum.reason


def test_suggestion_reads_well():
    s = suggest(*sweep_of(-3.0, 0.2, -1.5))
    assert (s.base_lr, s.max_lr) == (s.base.lr, s.max.lr)
    lines = str(s).splitlines()
    assert [line.split()[0] for line in lines] == ["base_lr", "max_lr", "steepest", "minimum"]
    assert "starts to fall" in lines[0] and "stops falling" in lines[1]
    assert set(s.to_dict()) == {"base", "max", "steepest", "minimum"}
    assert s.to_dict()["max"] == {"lr": s.max.lr, "loss": s.max.loss, "reason": s.max.reason}
    json.dumps(s.to_dict())
    assert isinstance(s.minimum, LRPoint) and isinstance(s, Suggestion)
    assert not s.curve_losses.flags.writeable


@pytest.mark.parametrize(
    ("lrs", "losses", "error", "message"),
    [
        ([1e-3, 1e-2], [1.0], ValueError, r"lrs and losses must have the same length, got 2 and 1"),
        (
            [1e-3, 0.0, 1e-1],
            [1.0, 1.0, 1.0],
            ValueError,
            r"lrs must be positive and finite, got 0.0 at index 1",
        ),
        ([1e-3, np.nan], [1.0, 1.0], ValueError, r"lrs must be positive and finite, got nan at index 1"),
        ([1e-3, 1e-2, 1e-2], [1.0] * 3, ValueError, r"strictly increasing .* got 0.01 at index 2 after 0.01"),
        (
            np.ones((2, 2)),
            np.ones((2, 2)),
            ValueError,
            r"lrs must be 1-d \(one value per step\), got shape \(2, 2\)",
        ),
        (["a", "b"], [1.0, 1.0], TypeError, r"lrs must be an array of real numbers, got dtype <U1"),
        (np.logspace(-5, 0, 30), [np.nan] * 30, ValueError, r"every loss is NaN or inf \(30 points\)"),
        (
            np.logspace(-5, 0, 10),
            np.ones(10),
            ValueError,
            r"at least 10 finite losses after skipping the first 1 and the last 0, got 9 \(of 10 points",
        ),
        (
            np.logspace(-5, 0, 50),
            np.ones(50),
            ValueError,
            r"the loss does not fall over the sweep: its smoothed curve is flat",
        ),
        (np.logspace(-5, 0, 50), np.linspace(1, 2, 50), ValueError, r"rises from the start"),
    ],
)
def test_suggest_errors(lrs, losses, error, message):
    with pytest.raises(error, match=message):
        suggest(lrs, losses)


@pytest.mark.parametrize("seed", range(20))
def test_pure_noise_is_no_fall(seed):
    losses = 2.0 + 0.1 * np.random.default_rng(seed).standard_normal(100)
    with pytest.raises(ValueError, match=r"the loss does not fall over the sweep"):
        suggest(np.logspace(-7, 1, 100), losses)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"skip_start": -1}, ValueError, r"skip_start must be an integer >= 0, got -1"),
        ({"skip_end": 2.0}, TypeError, r"skip_end must be an integer, got 2.0"),
        ({"skip_start": 60, "skip_end": 5}, ValueError, r"after skipping the first 60 and the last 5, got 7"),
        ({"bandwidth": 0.0}, ValueError, r"bandwidth must be > 0.0, got 0.0"),
        ({"log_loss": 1}, TypeError, r"log_loss must be True or False, got 1"),
    ],
)
def test_suggest_parameter_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        suggest(*sweep_of(-3.0, 0.2, -1.5), **kwargs)


def test_log_loss_needs_positive_losses():
    lrs, losses = sweep_of(-3.0, 0.2, -1.5)
    with pytest.raises(ValueError, match=r"log_loss=True needs positive losses, got -1.0 at index 0"):
        suggest(lrs, np.concatenate([[-1.0], losses[1:]]), log_loss=True)


def test_skips_and_bandwidth_are_honoured():
    lrs, losses = sweep_of(-3.0, 0.2, -1.5, noise=0.02)
    s = suggest(lrs, losses, skip_start=0, skip_end=0, bandwidth=0.3)
    assert s.curve_lrs[0] == lrs[0] and s.curve_lrs[-1] == lrs[-1]
    default = suggest(lrs, losses)
    assert default.curve_lrs[0] == lrs[len(lrs) // 10]


# -- the smoothing pieces ----------------------------------------------------------------------------------


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3), st.integers(3, 200))
def test_local_quadratic_is_exact_on_quadratics(a, b, c, n):
    x = np.sort(np.random.default_rng(n).uniform(-2, 2, n))
    x = np.unique(x)
    smoothed, slope, gain = local_quadratic(x, a + b * x + c * x**2, bandwidth=0.3)
    np.testing.assert_allclose(smoothed, a + b * x + c * x**2, atol=1e-6)
    np.testing.assert_allclose(slope, b + 2 * c * x, atol=1e-5)
    assert np.all((gain > 0) & (gain <= 1.0 + 1e-9))


def test_local_quadratic_is_symmetric_no_lag():
    x = np.linspace(-3, 3, 121)
    y = 1 / (1 + np.exp(x / 0.3))
    smoothed, slope, _ = local_quadratic(x, y, bandwidth=0.3)
    assert x[np.argmin(slope)] == 0.0
    np.testing.assert_allclose(smoothed, 1 - smoothed[::-1], atol=1e-12)


def test_median_of_three_removes_spikes_and_keeps_monotone_runs():
    rising = np.arange(10.0)
    assert np.array_equal(median_of_three(rising), rising)
    spiked = np.ones(10)
    spiked[4] = 50.0
    assert np.array_equal(median_of_three(spiked), np.ones(10))
    assert np.array_equal(median_of_three(np.array([3.0, 1.0])), [3.0, 1.0])


@pytest.mark.parametrize("sigma", [0.01, 0.3])
def test_noise_level_ignores_the_trend(sigma):
    x = np.linspace(-7, 1, 4000)
    y = valley(x, -3, 0.2, -1.5) + sigma * np.random.default_rng(0).standard_normal(len(x))
    assert noise_level(y[x < -1.6]) == pytest.approx(sigma, rel=0.1)
    assert noise_level(np.array([1.0, 2.0])) == 0.0


# -- the result --------------------------------------------------------------------------------------------


@pytest.fixture
def result() -> RangeTestResult:
    return find_lr(falling, progress=False)


def test_result_holds_read_only_arrays(result):
    assert result.reason == "diverged" and result.stopped_at == len(result.lrs) - 1
    for array in (result.lrs, result.losses, result.smoothed):
        assert array.dtype == np.float64 and not array.flags.writeable
    with pytest.raises(AttributeError):
        result.reason = "finished"  # type: ignore[misc]
    assert repr(result) == "RangeTestResult(points=90, lrs=1e-07..1.56, stopped_at=89, reason='diverged')"


def test_result_suggestion_is_suggest_on_the_raw_losses(result):
    assert result.suggestion == suggest(result.lrs, result.losses)
    assert result.suggestion is result.suggestion  # computed once
    assert 1e-4 < result.suggestion.base_lr < 1e-3 < result.suggestion.max_lr < 1e-2


def test_result_without_a_suggestion_says_why():
    result = find_lr(lambda lr: 1.0 if lr < 3e-7 else math.nan, progress=False)
    with pytest.raises(
        ValueError, match=r"at least 10 finite losses.*\(the sweep stopped at step \d+: non-finite\)"
    ):
        result.suggestion  # noqa: B018


def test_result_to_dict_is_json(result):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["reason"] == "diverged" and data["stopped_at"] == 89
    assert data["lrs"] == result.lrs.tolist() and data["losses"] == result.losses.tolist()
    assert cyclr.from_dict(data["spec"]) == result.spec


def test_result_rejects_an_unknown_reason():
    with pytest.raises(
        ValueError, match=r"reason must be one of \['finished', 'diverged', 'non-finite', 'incomplete'\]"
    ):
        RangeTestResult(np.ones(2), np.ones(2), np.ones(2), 1, "stopped")


def test_csv_round_trip_is_exact(result, tmp_path):
    path = tmp_path / "sweep.csv"
    result.to_csv(path)
    assert path.read_text().splitlines()[0] == "step,lr,loss,smoothed_loss"
    lrs, losses = read_sweep(path)
    assert np.array_equal(lrs, result.lrs) and np.array_equal(losses, result.losses)
    assert suggest(lrs, losses) == result.suggestion
    buffer = io.StringIO()
    result.to_csv(buffer)
    buffer.seek(0)
    assert np.array_equal(read_sweep(buffer)[0], result.lrs)
    assert str(path).endswith("sweep.csv") and read_sweep(str(path))[1].shape == losses.shape


def test_csv_keeps_a_non_finite_last_loss(tmp_path):
    result = find_lr(lambda lr: 1.0 if lr < 1e-3 else math.inf, progress=False)
    result.to_csv(tmp_path / "sweep.csv")
    assert read_sweep(tmp_path / "sweep.csv")[1][-1] == math.inf


def test_read_sweep_takes_any_csv_with_lr_and_loss_columns():
    text = "loss , epoch, lr\n2.5,0,0.001\n\n2.0,0,0.01\n1e400,0,0.1\n"
    lrs, losses = read_sweep(io.StringIO(text))
    assert lrs.tolist() == [0.001, 0.01, 0.1] and losses.tolist() == [2.5, 2.0, math.inf]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"the sweep file is empty: expected a header row with lr and loss columns"),
        ("lr,value\n0.1,2\n", r"the sweep file has no loss column; its columns: \['lr', 'value'\]"),
        ("step\n1\n", r"has no lr or loss column"),
        (
            "lr,loss\n0.1,2\n0.2,oops\n",
            r"line 3 of the sweep file: expected numbers for lr and loss, got \['0.2', 'oops'\]",
        ),
        ("lr,loss\n0.1\n", r"line 2 of the sweep file"),
    ],
)
def test_read_sweep_errors(text, message):
    with pytest.raises(ValueError, match=message):
        read_sweep(io.StringIO(text))


def test_csv_needs_a_path_or_a_file(result):
    with pytest.raises(TypeError, match=r"expected a path or a text file open for writing, got 3"):
        result.to_csv(3)
    with pytest.raises(TypeError, match=r"expected a path or a text file open for reading, got 3"):
        read_sweep(3)


# -- the plot ----------------------------------------------------------------------------------------------


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_marks_the_suggestion(result, pyplot):
    ax = result.plot()
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["loss", "moving average (stop rule)", "smoothed (zero-phase)"]
    assert any(label.startswith("base_lr") for label in labels) and any(
        label.startswith("max_lr") for label in labels
    )
    assert any(label.startswith("steepest") for label in labels) and any(
        label.startswith("minimum") for label in labels
    )
    low, high = ax.get_ylim()
    assert high < 1.5 < result.losses.max()  # the blow-up at the end is cut off
    figure, axes = pyplot.subplots()
    assert result.plot(ax=axes) is axes


def test_plot_without_a_suggestion_says_why(pyplot):
    result = find_lr(lambda lr: 1.0 if lr < 3e-7 else math.nan, progress=False)
    ax = result.plot()
    assert ax.get_title().startswith(
        "LR range test: 7 steps, non-finite\nno suggestion: suggest needs at least"
    )


def test_plot_sweep_from_a_csv(result, pyplot, tmp_path):
    result.to_csv(tmp_path / "sweep.csv")
    ax = plot_sweep(*read_sweep(tmp_path / "sweep.csv"), title="from CSV")
    assert ax.get_title() == "from CSV" and ax.get_xscale() == "log"


def test_plot_without_matplotlib_names_the_extra(result, monkeypatch):
    hide(monkeypatch, "matplotlib", "matplotlib.pyplot")
    with pytest.raises(ImportError, match=r'needs matplotlib: pip install "cyclr\[plot\]"'):
        result.plot()


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
