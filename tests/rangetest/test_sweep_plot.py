"""The plot of a sweep: plot_sweep and RangeTestResult.plot."""

from __future__ import annotations

import math
import os
import pathlib

import pytest
from curves import hide

from cyclr.rangetest import find_lr, plot_sweep, read_sweep, save_plot


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


# -- saving the plot: to a path, atomically, in the format its name says -----------------------------------


def test_plot_saves_to_a_path_in_the_format_of_its_suffix(result, pyplot, tmp_path):
    ax = result.plot(path=tmp_path / "sweep.png")
    assert ax.get_xscale() == "log"
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result.plot(path=str(tmp_path / "sweep.SVG"))  # any case
    assert b"<svg" in (tmp_path / "sweep.SVG").read_bytes()[:400]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.SVG", "sweep.png"]


def test_save_plot_writes_exactly_the_path_given(result, pyplot, tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the format of .*adir from its name: end it in one of"):
        save_plot(result.plot(), tmp_path / "adir")  # matplotlib would write adir.png
    with pytest.raises(ValueError, match=r"cannot save a plot as '.bogus' \(.*x.bogus\): use one of .*\.png"):
        save_plot(result.plot(), tmp_path / "x.bogus")
    assert list(tmp_path.iterdir()) == []


def test_save_plot_to_a_directory_a_missing_parent_or_a_full_disk(result, pyplot, tmp_path):
    ax = result.plot()
    (tmp_path / "adir.png").mkdir()
    with pytest.raises(IsADirectoryError):
        save_plot(ax, tmp_path / "adir.png")
    with pytest.raises(FileNotFoundError):
        save_plot(ax, tmp_path / "nowhere" / "sweep.png")
    if os.path.exists("/dev/full"):
        with pytest.raises(OSError, match=r"No space left on device"):
            save_plot(ax, pathlib.Path("/dev/full"), format="png")  # a device: written to, not replaced
    assert [p.name for p in tmp_path.iterdir()] == ["adir.png"]


def test_save_plot_keeps_the_old_file_when_drawing_fails(result, pyplot, tmp_path, monkeypatch):
    path = tmp_path / "sweep.png"
    path.write_bytes(b"old")
    ax = result.plot()

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(ax.figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="the renderer broke"):
        save_plot(ax, path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["sweep.png"]
