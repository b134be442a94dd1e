"""The plot of a sweep: plot_sweep and RangeTestResult.plot."""

from __future__ import annotations

import math

import pytest
from curves import hide

from cyclr.rangetest import (
    find_lr,
    plot_sweep,
    read_sweep,
)


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
