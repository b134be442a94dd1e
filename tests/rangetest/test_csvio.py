"""A sweep as CSV: to_csv and read_sweep."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from cyclr.rangetest import (
    find_lr,
    read_sweep,
    suggest,
)


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
