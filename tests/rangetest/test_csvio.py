"""A sweep as CSV: to_csv and read_sweep."""

from __future__ import annotations

import io
import math
import os
import re

import numpy as np
import pytest

from cyclr.rangetest import find_lr, read_sweep, suggest


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
        ("", r"^the sweep file is empty: expected a header row naming the lr and loss columns"),
        ("\n\n", r"^the sweep file is empty"),
        ("lr,loss\n", r"^the sweep file has a header and no data rows"),
        (
            "lr,value\n0.1,2\n",
            r"^the sweep file has no loss column \(named loss, train_loss or training_loss, in any case, "
            r"- or _\); its columns: \['lr', 'value'\]; choose one with loss_column=",
        ),
        ("step\n1\n", r"has no lr column \(named lr or learning_rate, in any case, - or _\)"),
        (
            "lr,loss\n0.1,2\n0.2,oops\n",
            r"^the sweep file, line 3, column 'loss': expected a number, got 'oops'$",
        ),
        (
            "lr,loss\n0.1\n",
            r"^the sweep file, line 2, column 'loss': expected a number, got nothing \(the row",
        ),
        (
            "lr,loss\n0.1,2\n-0.2,1\n",
            r"line 3, column 'lr': a learning rate must be positive and finite, got '-0.2'",
        ),
        ("lr,loss\n0.1,2\nnan,1\n", r"line 3, column 'lr': .* positive and finite, got 'nan'"),
        (
            "lr,loss\n0.1,2\n0.1,1\n",
            r"line 3, column 'lr': the lrs of a sweep increase strictly, got 0.1 after 0.1 \(line 2\)",
        ),
        (
            "0.001,2.5\n0.01,2.4\n",
            r"^the sweep file has no header row: line 1 is numbers \('0.001,2.5'\); add",
        ),
        ("1e-3\t2.5\n", r"^the sweep file has no header row"),
        ("lr;loss\n0.1;2\n", r"its columns: \['lr;loss'\]; is it separated by ';'\? read_sweep reads commas"),
        ("lr,loss,loss\n0.1,2,3\n", r"has 2 columns named 'loss'"),
        ("lr,loss,train_loss\n0.1,2,3\n", r"has several loss columns: 'loss', 'train_loss'; choose one"),
        (
            "step,lr,smoothed_loss\n0,0.1,2\n",
            r"has no loss column, only 'smoothed_loss': suggest reads the raw loss \(the moving average lags",
        ),
        ('lr,loss\n0.1,"2\n', r"^the sweep file, line 2: unexpected end of data"),
        ("lr,loss\n0.1,2\x00\n", r"^the sweep file, line 2, column 'loss': expected a number, got '2\\x00'$"),
    ],
)
def test_read_sweep_errors(text, message):
    with pytest.raises(ValueError, match=message):
        read_sweep(io.StringIO(text))


@pytest.mark.parametrize(
    ("header", "lr", "loss"),
    [
        ("lr,loss", "lr", "loss"),
        ("learning_rate,train_loss", "learning_rate", "train_loss"),
        ("Learning-Rate,Training_Loss", "Learning-Rate", "Training_Loss"),
        ("LR,Loss", "LR", "Loss"),
        (" lr , loss ", "lr", "loss"),
        ("step,lr,loss,smoothed_loss", "lr", "loss"),  # what to_csv writes: the raw loss
        ("epoch,learning rate,training loss", "learning rate", "training loss"),
    ],
)
def test_read_sweep_knows_the_common_column_names(header, lr, loss):
    names = [name.strip() for name in header.split(",")]

    def row(lr_value: str, loss_value: str) -> str:
        cells = ["7"] * len(names)
        cells[names.index(lr)], cells[names.index(loss)] = lr_value, loss_value
        return ",".join(cells) + "\n"

    lrs, losses = read_sweep(io.StringIO(header + "\n" + row("0.001", "2.5") + row("0.01", "2")))
    assert lrs.tolist() == [0.001, 0.01] and losses.tolist() == [2.5, 2.0]


def test_read_sweep_takes_columns_by_name():
    text = "lr,loss,val_loss,smoothed_loss\n0.001,2.5,3.5,2.4\n0.01,2.0,3.0,2.3\n"
    assert read_sweep(io.StringIO(text), loss_column="val_loss")[1].tolist() == [3.5, 3.0]
    assert read_sweep(io.StringIO(text), loss_column=" smoothed_loss ")[1].tolist() == [2.4, 2.3]
    text = "a,b\n2.5,0.001\n2.0,0.01\n"
    lrs, losses = read_sweep(io.StringIO(text), lr_column="b", loss_column="a")
    assert lrs.tolist() == [0.001, 0.01] and losses.tolist() == [2.5, 2.0]
    with pytest.raises(ValueError, match=r"has no column 'c' \(lr_column\); its columns: \['a', 'b'\]"):
        read_sweep(io.StringIO(text), lr_column="c", loss_column="a")
    with pytest.raises(TypeError, match=r"loss_column must be a column name \(a string\), got 2"):
        read_sweep(io.StringIO(text), loss_column=2)
    with pytest.raises(ValueError, match=r"lr_column and loss_column name the same column 'a'"):
        read_sweep(io.StringIO(text), lr_column="a", loss_column="a")


def test_non_finite_losses_are_read_as_such():
    """suggest drops them (a sweep that stopped on a NaN loss keeps it as its last point)."""
    text = "lr,loss\n0.001,2.5\n0.01,nan\n0.1,inf\n1,-inf\n"
    assert read_sweep(io.StringIO(text))[1].tolist()[1:] == [
        pytest.approx(math.nan, nan_ok=True),
        math.inf,
        -math.inf,
    ]


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_errors_name_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "sweep.csv", b"lr,loss\n0.1,2\n0.2,oops\n")
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}, line 3, column 'loss': expected a number"
    ):
        read_sweep(path)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line 3"):
        read_sweep(str(path))
    with path.open() as stream, pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line 3"):
        read_sweep(stream)  # an open file: its name


def test_a_field_over_the_csv_limit(tmp_path):
    """Issue 10 item 12: a field over 128 KiB raised csv.Error, a traceback from the command line."""
    path = write(tmp_path, "big.csv", b"lr,loss\n0.1,2\n0.2," + b"9" * (200 * 1024) + b"\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line 3: field larger than field limit"):
        read_sweep(path)


def test_a_line_too_long_for_a_sweep(tmp_path):
    path = write(tmp_path, "long.csv", b"lr,loss\n" + b"1" * (2 << 20))  # 2 MiB, no newline
    with pytest.raises(ValueError, match=r"long.csv, line 2: longer than 1 MiB: is it a sweep's CSV\?"):
        read_sweep(path)


def test_a_binary_file(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    path = write(tmp_path, "plot.png", png)
    with pytest.raises(ValueError, match=r"plot.png, line 1: not UTF-8 text \(byte 0x89 at column 1\)"):
        read_sweep(path)
    path = write(tmp_path, "late.csv", b"lr,loss\n0.1,2\n0.2,\xff\n")
    with pytest.raises(ValueError, match=r"late.csv, line 3: not UTF-8 text \(byte 0xff at column 5\)"):
        read_sweep(path)


def test_an_empty_file_and_a_byte_order_mark(tmp_path):
    with pytest.raises(ValueError, match=r"empty.csv is empty"):
        read_sweep(write(tmp_path, "empty.csv", b""))
    lrs, _ = read_sweep(write(tmp_path, "excel.csv", "\ufefflr,loss\r\n0.1,2\r\n0.2,1\r\n".encode()))
    assert lrs.tolist() == [0.1, 0.2]


def test_a_directory_or_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        read_sweep(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_sweep(tmp_path / "missing.csv")


# -- writing: atomic, to a path; clean errors --------------------------------------------------------------


def test_to_csv_replaces_a_file_atomically(result, tmp_path, monkeypatch):
    path = tmp_path / "sweep.csv"
    path.write_text("the old sweep\n")
    os.chmod(path, 0o640)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("cyclr.rangetest.csvio.csv.writer", lambda *a, **k: type("W", (), {"writerow": fail})())
        with pytest.raises(OSError, match="No space left"):
            result.to_csv(path)
    assert path.read_text() == "the old sweep\n"  # untouched: the new one went to a temp file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.csv"]  # and the temp file is gone
    result.to_csv(path)
    assert read_sweep(path)[0].tolist() == result.lrs.tolist()
    assert os.stat(path).st_mode & 0o777 == 0o640  # the file's mode is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.csv"]


def test_to_csv_makes_a_file_with_the_usual_mode(result, tmp_path):
    result.to_csv(tmp_path / "new.csv")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "new.csv").st_mode & 0o777 == 0o666 & ~umask


def test_to_csv_to_a_directory_or_a_missing_parent(result, tmp_path):
    with pytest.raises(IsADirectoryError, match=r"Is a directory"):
        result.to_csv(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"No such file or directory: .*nowhere"):
        result.to_csv(tmp_path / "nowhere" / "sweep.csv")
    assert list(tmp_path.iterdir()) == []


def test_to_csv_writes_through_a_symlink_and_to_a_device(result, tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    (tmp_path / "link.csv").symlink_to(target)
    result.to_csv(tmp_path / "link.csv")
    assert (tmp_path / "link.csv").is_symlink() and read_sweep(target)[0].tolist() == result.lrs.tolist()
    result.to_csv("/dev/null")  # a device is written to, never replaced
    if os.path.exists("/dev/full"):
        with pytest.raises(OSError, match=r"No space left on device"):
            result.to_csv("/dev/full")
        assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")


def test_csv_needs_a_path_or_a_file(result):
    with pytest.raises(TypeError, match=r"expected a path or a text file open for writing, got 3"):
        result.to_csv(3)
    with pytest.raises(TypeError, match=r"expected a path or a text file open for reading, got 3"):
        read_sweep(3)


def test_to_csv_under_a_file_is_not_a_directory(result, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"Not a directory: .*afile/sweep.csv'"):
        result.to_csv(tmp_path / "afile" / "sweep.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_to_csv_respects_permissions(result, tmp_path):
    locked = tmp_path / "locked.csv"
    locked.write_text("keep\n")
    locked.chmod(0o444)  # replacing it atomically would get around the mode: refused like open() does
    with pytest.raises(PermissionError, match=r"locked.csv"):
        result.to_csv(locked)
    assert locked.read_text() == "keep\n"
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    with pytest.raises(PermissionError, match=r"ro/sweep.csv'"):  # the path asked for, not a temp name
        result.to_csv(folder / "sweep.csv")


def test_to_csv_refuses_a_file_it_may_not_write_even_as_root(result, tmp_path, monkeypatch):
    """The check the test above makes as a user, with os.access saying no (root may write anything)."""
    locked = tmp_path / "locked.csv"
    locked.write_text("keep\n")
    monkeypatch.setattr("cyclr.rangetest._files.os.access", lambda path, mode: False)
    with pytest.raises(PermissionError, match=r"Permission denied: .*locked.csv'"):
        result.to_csv(locked)
    assert locked.read_text() == "keep\n" and [p.name for p in tmp_path.iterdir()] == ["locked.csv"]
