r"""A sweep as CSV: ``read_sweep`` reads any CSV with lr and loss columns, ``write_sweep`` writes one."""

from __future__ import annotations

import csv
from collections.abc import Sequence

import numpy as np

from ._files import PathOrFile, opened

__all__ = ["read_sweep", "write_sweep"]


def read_sweep(file: PathOrFile) -> tuple[np.ndarray, np.ndarray]:
    """Read a recorded sweep from CSV: the columns named ``lr`` and ``loss`` (others are ignored).

    Reads what ``RangeTestResult.to_csv`` writes, or any CSV with a header row naming those two
    columns; "nan" and "inf" are read as such. The result goes straight into ``suggest``.

    Args:
        file: a path, or a text file open for reading.

    Returns:
        ``(lrs, losses)``, float64 arrays.

    Raises:
        ValueError: no header, no ``lr`` or ``loss`` column, or a cell that is not a number (its line
            is named).

    Examples:
        >>> import io
        >>> read_sweep(io.StringIO("lr,loss\\n0.001,2.5\\n0.01,nan\\n"))
        (array([0.001, 0.01 ]), array([2.5, nan]))
    """
    with opened(file, "r") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise ValueError("the sweep file is empty: expected a header row with lr and loss columns")
        names = [name.strip() for name in header]
        missing = [name for name in ("lr", "loss") if name not in names]
        if missing:
            raise ValueError(f"the sweep file has no {' or '.join(missing)} column; its columns: {names}")
        columns = names.index("lr"), names.index("loss")
        lrs, losses = [], []
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                lr, loss = (float(row[i]) for i in columns)
            except (IndexError, ValueError):
                raise ValueError(
                    f"line {line} of the sweep file: expected numbers for lr and loss, got {row}"
                ) from None
            lrs.append(lr)
            losses.append(loss)
    return np.array(lrs, dtype=np.float64), np.array(losses, dtype=np.float64)


def write_sweep(
    file: PathOrFile,
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
) -> None:
    """Write ``step,lr,loss,smoothed_loss``, one row per step, every float exact (``repr``).

    Args:
        file: a path, or a text file open for writing.
        lrs: the learning rate of each step.
        losses: the loss of each step.
        smoothed: the recorder's moving average of each step.
    """
    columns = (np.asarray(lrs).tolist(), np.asarray(losses).tolist(), np.asarray(smoothed).tolist())
    with opened(file, "w") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["step", "lr", "loss", "smoothed_loss"])
        for step, values in enumerate(zip(*columns, strict=True)):
            writer.writerow([step, *map(repr, values)])
