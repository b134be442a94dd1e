"""cyclr.plot: curves drawn from the spec, boundaries where the shape turns, matplotlib only inside."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import cyclr
from cyclr.plotting import cycle_boundaries, describe, natural_length

matplotlib.use("Agg")


def test_plot_draws_lr_and_momentum():
    spec = cyclr.CyclicLR(step_size_up=50, step_size_down=70, mode="triangular2")
    ax = cyclr.plot(spec, 400)
    (line,) = ax.get_lines()[:1]
    assert np.array_equal(line.get_xdata(), np.arange(400))
    assert np.array_equal(line.get_ydata(), spec.lr_at(np.arange(400)))
    twin = [other for other in ax.figure.axes if other is not ax]
    assert len(twin) == 1 and np.array_equal(
        twin[0].get_lines()[0].get_ydata(), spec.momentum_at(np.arange(400))
    )
    marks = [line.get_xdata()[0] for line in ax.get_lines()[1:]]
    assert marks == [0, 120, 240, 360]


def test_plot_on_given_axes_without_momentum():
    import matplotlib.pyplot as pyplot

    _, ax = pyplot.subplots()
    spec = cyclr.CosineAnnealingLR(base_lr=[0.1, 0.2], T_max=30)
    assert cyclr.plot(spec, 90, ax=ax, start=10) is ax
    assert len(ax.figure.axes) == 1
    assert ax.get_lines()[0].get_ydata().shape == (90, 2) or len(ax.get_lines()) >= 2


@pytest.mark.parametrize(
    ("spec", "length", "marks"),
    [
        (cyclr.CyclicLR(step_size_up=10, step_size_down=5), 30, [0, 15]),
        (cyclr.OneCycleLR(max_lr=0.1, total_steps=100), 100, [0, 30]),
        (cyclr.OneCycleLR(max_lr=0.1, total_steps=100, three_phase=True), 100, [0, 30, 59]),
        (cyclr.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2), 70, [0, 10, 30]),
        (cyclr.CosineAnnealingLR(0.1, T_max=25), 50, [0, 25]),
        (cyclr.warmup(cyclr.CyclicLR(step_size_up=10), 7), 47, [0, 7, 27]),
        (
            cyclr.join([cyclr.CosineAnnealingLR(0.1, 20), cyclr.CosineAnnealingWarmRestarts(0.1, 5)], [20]),
            35,
            [0, 20, 25, 30],
        ),
    ],
)
def test_natural_length_and_boundaries(spec, length, marks):
    assert natural_length(spec) == length
    assert cycle_boundaries(spec, 0, length) == marks


@pytest.mark.parametrize(
    ("spec", "length"),
    [
        (cyclr.PolynomialDecay(0.1, 100, begin=20), 145),  # the decay, a quarter more of its hold
        (cyclr.PolynomialDecay(0.1, 100, cycle=True), 200),  # two cycles
        (cyclr.ExponentialDecay(0.1, 0.5, 10, begin=5), 46),  # ln 10 / ln 2 = 3.3: four periods, that step
        (cyclr.ExponentialDecay(0.1, 1.0, 10), 11),  # a rate of 1 never changes: one period
        (cyclr.InverseTimeDecay(0.1, 0.5, 10), 181),  # 1 + 0.5 p = 10 at p = 18
        (cyclr.InverseTimeDecay(0.1, 0.0, 10), 11),  # a rate of 0 never changes: one period
        (cyclr.PolynomialDecay(0.1, 2**62, begin=2**62), 2**63 - 1),  # capped at int64
        (cyclr.PiecewiseConstant(0.1, [10, 80], [1.0, 0.5, 0.1]), 100),
        (cyclr.ConstantLR(0.1, total_iters=5), 10),
        (cyclr.LinearLR(0.1, total_iters=40), 50),
        (cyclr.PolynomialLR(0.1, total_iters=40), 50),
        (cyclr.ExponentialLR(0.1, 0.9), 23),  # 0.9 ** 22 < 0.1
        (cyclr.StepLR(0.1, 30), 120),
        (cyclr.MultiStepLR(0.1, [30, 80]), 100),
        (cyclr.CosineDecay(0.1, 200), 250),
        (cyclr.CosineDecay(0.1, 200, after="continue"), 400),
        (cyclr.CosineDecayRestarts(0.1, 10, t_mul=2.0), 70),  # three restarts: 10 + 20 + 40
        (cyclr.CosineDecayRestarts(0.1, 10, t_mul=1e200), 2**63 - 1),  # its square overflows a float
        (cyclr.InverseSqrt(0.1, timescale=10), 991),  # base_lr / 10 at 99 timescales
        (cyclr.WarmupStableDecay(0.1, 10, 30, num_training_steps=100), 125),
        (cyclr.Constant(0.1), 1000),  # no length of its own
    ],
)
def test_natural_length_of_every_decay(spec, length):
    assert natural_length(spec) == length


DECAYS_THAT_SETTLE = (
    cyclr.PolynomialDecay,
    cyclr.PiecewiseConstant,
    cyclr.ConstantLR,
    cyclr.LinearLR,
    cyclr.PolynomialLR,
    cyclr.MultiStepLR,
    cyclr.WarmupStableDecay,
)


def test_every_family_shows_its_shape_in_its_natural_length():
    """The length ``cyclr show`` and ``cyclr plot`` default to: the schedule moves within it, a decay
    that settles has settled inside it, one that never ends falls (or grows) at least tenfold."""
    from test_contract import CATALOGUE

    for name, spec in CATALOGUE.items():
        length = natural_length(spec)
        steps = np.unique(np.linspace(0, length - 1, 5000).astype(np.int64))  # 0 to length - 1
        lr = np.asarray(spec.lr_at(steps), dtype=np.float64)
        if isinstance(spec, cyclr.Constant):
            assert length == 1000
            continue
        assert np.ptp(lr, axis=0).min() > 0, name  # not flat on the window
        if isinstance(spec, DECAYS_THAT_SETTLE) and not getattr(spec, "cycle", False):
            assert np.array_equal(lr[-1], spec.lr_at(100 * length)), name  # settled within it
        if isinstance(spec, (cyclr.ExponentialLR, cyclr.InverseTimeDecay, cyclr.InverseSqrt)):
            assert np.all(lr[0] >= 10 * lr[-1] - 1e-12), name


def test_boundaries_are_where_the_shape_turns():
    spec = cyclr.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2)
    lr = spec.lr_at(np.arange(150))
    jumps = list(np.flatnonzero(np.diff(lr) > 0) + 1)
    assert cycle_boundaries(spec, 1, 150) == jumps


def test_describe():
    assert describe(cyclr.CyclicLR(waveform="welch")) == "CyclicLR (triangular, welch waveform)"
    assert describe(cyclr.OneCycleLR(0.1, total_steps=10)) == "OneCycleLR"


def test_plot_errors():
    with pytest.raises(TypeError, match=r"plot expects a cyclr spec, got dict"):
        cyclr.plot({"schedule": "CyclicLR"})
    with pytest.raises(ValueError, match=r"num_steps must be a positive integer, got 0"):
        cyclr.plot(cyclr.CyclicLR(), 0)
    with pytest.raises(
        ValueError, match=r"num_steps must be at most 10000000 \(one point per step\), got 10000001"
    ):
        cyclr.plot(cyclr.CyclicLR(), 10_000_001)
    with pytest.raises(
        ValueError, match=r"start \+ num_steps - 1 must be at most 2\*\*63 - 1 = 9223372036854775807"
    ):
        cyclr.plot(cyclr.CyclicLR(), 2, start=2**63 - 1)
    with pytest.raises(ValueError, match=r"start must be"):
        cyclr.plot(cyclr.CyclicLR(), 2, start=-1)


def test_plot_without_matplotlib_names_the_extra():
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import cyclr\n"
        "try:\n    cyclr.plot(cyclr.CyclicLR())\n"
        "except ImportError as error:\n    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == 'plotting needs matplotlib: pip install "cyclr[plot]"'
