r"""A sweep as CSV: ``read_sweep`` reads any CSV with lr and loss columns, ``write_sweep`` writes one.

The columns ``read_sweep`` looks for, compared in any case with ``-`` and spaces read as ``_``:

* the lr: ``lr``, ``learning_rate`` (``LR``, ``learning-rate``, ``Learning Rate``, ...);
* the loss: ``loss``, ``train_loss``, ``training_loss``.

More than one loss column of these names is ambiguous (a ValueError: choose with ``loss_column``). A
``smoothed_loss`` is not taken for the loss: ``suggest`` reads the raw loss, and a moving average lags
it (``loss_column="smoothed_loss"`` takes it anyway).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._files import PathOrFile, describe, lines_of, written

__all__ = ["LOSS_COLUMNS", "LR_COLUMNS", "read_sweep", "write_sweep"]

LR_COLUMNS = ("lr", "learning_rate")
"""The names of an lr column ``read_sweep`` knows (in any case, ``-`` or a space for ``_``)."""
LOSS_COLUMNS = ("loss", "train_loss", "training_loss")
"""The names of a loss column ``read_sweep`` knows (in any case, ``-`` or a space for ``_``)."""


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _choose(names: list[str], kind: str, chosen: str | None, known: tuple[str, ...], where: str) -> int:
    """The index of the lr or loss column: the one named ``chosen``, else the one known name present."""
    parameter = f"{kind}_column"
    if chosen is not None:
        matches = [i for i, name in enumerate(names) if name == chosen.strip()]
        if not matches:
            raise ValueError(f"{where} has no column {chosen!r} ({parameter}); its columns: {names}")
    else:
        matches = [i for i, name in enumerate(names) if _normal(name) in known]
        found = sorted({names[i] for i in matches}, key=names.index)
        if len(found) > 1:
            listed = ", ".join(map(repr, found))
            raise ValueError(f"{where} has several {kind} columns: {listed}; choose one with {parameter}=")
        if not matches:
            smoothed = [name for name in names if _normal(name) == "smoothed_loss"]
            if kind == "loss" and smoothed:
                raise ValueError(
                    f"{where} has no loss column, only {smoothed[0]!r}: suggest reads the raw loss (the "
                    f"moving average lags it); pass loss_column={smoothed[0]!r} to use it anyway"
                )
            accepted = " or ".join([", ".join(known[:-1]), known[-1]] if len(known) > 1 else known)
            hint = ""
            if len(names) == 1 and any(separator in names[0] for separator in ";\t|"):
                separator = next(s for s in ";\t|" if s in names[0])
                hint = f"; is it separated by {separator!r}? read_sweep reads commas"
            raise ValueError(
                f"{where} has no {kind} column (named {accepted}, in any case, - or _); its columns: "
                f"{names}{hint}; choose one with {parameter}="
            )
    if len(matches) > 1:
        raise ValueError(
            f"{where} has {len(matches)} columns named {names[matches[0]]!r}: which is the {kind}?"
        )
    return matches[0]


def read_sweep(
    file: PathOrFile, *, lr_column: str | None = None, loss_column: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read a recorded sweep from CSV: its lr and loss columns (the others are ignored).

    Reads what ``RangeTestResult.to_csv`` writes, or any comma-separated file whose first line names
    its columns. The lr column is ``lr`` or ``learning_rate``, the loss ``loss``, ``train_loss`` or
    ``training_loss`` (in any case, ``-`` or a space for ``_``: ``LR``, ``learning-rate``), or the
    columns named by ``lr_column`` and ``loss_column``. A loss may be "nan" or "inf" (``suggest``
    drops those points; a sweep that stopped on a NaN keeps it); each lr must be positive, finite and
    larger than the one before. Blank lines are skipped. A path is read as UTF-8 (a byte-order mark,
    as Excel writes, is fine). The result goes straight into ``suggest``.

    Args:
        file: a path, or a text file open for reading.
        lr_column: the name of the lr column, exactly as in the header (spaces around it aside);
            None: the one column of a known lr name.
        loss_column: the name of the loss column, likewise; None: the one column of a known loss name.

    Returns:
        ``(lrs, losses)``, float64 arrays.

    Raises:
        TypeError: ``file`` is neither a path nor a text file; a column name is not a string.
        ValueError: naming the file (and the line, and the column, where there is one): the file is
            empty, binary (not UTF-8), has a line over 1 MiB or a field over the csv module's limit
            (128 KiB); no header row (the first line is numbers); no lr or loss column, several, or
            the same for both; a header and no rows; a cell that is not a number; an lr that is not
            positive and finite, or not larger than the one before it.
        OSError: the path cannot be read (missing, a directory, no permission).

    Examples:
        >>> import io
        >>> read_sweep(io.StringIO("lr,loss\\n0.001,2.5\\n0.01,nan\\n"))
        (array([0.001, 0.01 ]), array([2.5, nan]))
        >>> read_sweep(io.StringIO("Learning-Rate,train_loss\\n0.001,2.5\\n"))
        (array([0.001]), array([2.5]))
    """
    for parameter, chosen in (("lr_column", lr_column), ("loss_column", loss_column)):
        if chosen is not None and not isinstance(chosen, str):
            raise TypeError(f"{parameter} must be a column name (a string), got {chosen!r}")
    where = describe(file)
    with lines_of(file) as lines:
        reader = csv.reader(lines, strict=True)
        try:
            return _read(reader, where, lr_column, loss_column)
        except csv.Error as error:
            raise ValueError(f"{where}, line {reader.line_num}: {error}") from None


def _read(
    reader: Any, where: str, lr_column: str | None, loss_column: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``reader`` (a ``csv.reader``, which counts the lines it has read) as a sweep."""
    rows: Iterator[list[str]] = (row for row in reader if any(cell.strip() for cell in row))
    header = next(rows, None)
    if header is None:
        raise ValueError(f"{where} is empty: expected a header row naming the lr and loss columns (lr,loss)")
    names = [name.strip() for name in header]
    # Numbers where the names should be (or "1e-3<tab>2.5" read as one cell): the header is missing.
    if all(_is_number(cell) for cell in names if cell) or _is_number(names[0].split()[0]):
        raise ValueError(
            f"{where} has no header row: line {reader.line_num} is numbers ({','.join(header)!r}); add a "
            f"first line naming the columns, such as lr,loss"
        )
    lr_at = _choose(names, "lr", lr_column, LR_COLUMNS, where)
    loss_at = _choose(names, "loss", loss_column, LOSS_COLUMNS, where)
    if lr_at == loss_at:
        raise ValueError(f"lr_column and loss_column name the same column {names[lr_at]!r}")
    lrs: list[float] = []
    losses: list[float] = []
    previous_line = 0
    for row in rows:
        line = reader.line_num
        lr = _cell(row, lr_at, names, where, line)
        loss = _cell(row, loss_at, names, where, line)
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(
                f"{where}, line {line}, column {names[lr_at]!r}: a learning rate must be positive and "
                f"finite, got {row[lr_at].strip()!r}"
            )
        if lrs and not lr > lrs[-1]:
            raise ValueError(
                f"{where}, line {line}, column {names[lr_at]!r}: the lrs of a sweep increase strictly, got "
                f"{lr!r} after {lrs[-1]!r} (line {previous_line})"
            )
        lrs.append(lr)
        losses.append(loss)
        previous_line = line
    if not lrs:
        raise ValueError(f"{where} has a header and no data rows: nothing to suggest from")
    return np.array(lrs, dtype=np.float64), np.array(losses, dtype=np.float64)


def _cell(row: list[str], index: int, names: list[str], where: str, line: int) -> float:
    place = f"{where}, line {line}, column {names[index]!r}"
    if index >= len(row) or not row[index].strip():
        raise ValueError(
            f"{place}: expected a number, got nothing (the row has {len(row)} cells, the column is "
            f"number {index + 1})"
        )
    try:
        return float(row[index])
    except ValueError:
        raise ValueError(f"{place}: expected a number, got {row[index].strip()!r}") from None


def write_sweep(
    file: PathOrFile,
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
) -> None:
    """Write ``step,lr,loss,smoothed_loss``, one row per step, every float exact (``repr``).

    A path is written atomically (a temporary file beside it, then ``os.replace``): on any error the
    file that was there is left as it was.

    Args:
        file: a path, or a text file open for writing.
        lrs: the learning rate of each step.
        losses: the loss of each step.
        smoothed: the recorder's moving average of each step.

    Raises:
        TypeError: ``file`` is neither a path nor a text file open for writing.
        OSError: the path is a directory (IsADirectoryError), its parent is missing
            (FileNotFoundError), or the system refuses the write (no space, no permission).
    """
    columns = (np.asarray(lrs).tolist(), np.asarray(losses).tolist(), np.asarray(smoothed).tolist())
    with written(file) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["step", "lr", "loss", "smoothed_loss"])
        for step, values in enumerate(zip(*columns, strict=True)):
            writer.writerow([step, *map(repr, values)])
