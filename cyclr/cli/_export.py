"""``cyclr export``: the precomputed schedule, streamed to CSV, JSON or NPY in chunks.

The schedule is computed ``CHUNK`` steps at a time with ``spec.precompute(n, start=...)`` (bit for bit
``spec(step)``), so memory stays constant at any ``--num-steps``. Before anything is written the size is
bounded from above and refused when it exceeds the free space of the disk that would hold it, and steps
must stay within int64 (the last step at most ``2**63 - 1``), the numpy paths' limit.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._spec import Spec
from ._files import atomic_write
from ._usage import fail

CHUNK = 1 << 16
INT64_MAX = 2**63 - 1
FLOAT_CHARS = 24  # the longest repr of a float64: -2.2250738585072014e-308


def check_range(start: int, num_steps: int, what: str = "steps are int64") -> None:
    """``start`` and ``start + num_steps - 1`` must both fit int64: the numpy and numba paths' limit."""
    if start < 0:
        fail(f"--start must be >= 0, got {start}")
    if num_steps > 0 and start + num_steps - 1 > INT64_MAX:
        fail(
            f"--start + --num-steps - 1 must be at most 2**63 - 1 = {INT64_MAX} ({what}), "
            f"got {start} + {num_steps} - 1 = {start + num_steps - 1}"
        )


def column_names(spec: Spec, start: int) -> list[str]:
    """``step``, then ``lr`` and ``momentum`` (``lr[0]``, ``lr[1]``, ... with parameter groups)."""
    lr, momentum = spec.precompute(1, start=start)
    names = ["step"]
    for label, values in (("lr", lr), ("momentum", momentum)):
        if values is not None:
            names += [label] if values.ndim == 1 else [f"{label}[{g}]" for g in range(values.shape[1])]
    return names


def chunks(spec: Spec, start: int, num_steps: int) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """``(steps, value columns)`` for ``CHUNK`` steps at a time."""
    for first in range(start, start + num_steps, CHUNK):
        count = min(CHUNK, start + num_steps - first)
        lr, momentum = spec.precompute(count, start=first)
        columns: list[np.ndarray] = []
        for values in (lr, momentum):
            if values is not None:
                columns += [values] if values.ndim == 1 else [values[:, g] for g in range(values.shape[1])]
        yield np.arange(first, first + count, dtype=np.int64), columns


def size_bound(fmt: str, start: int, num_steps: int, columns: int) -> int:
    """An upper bound of the file's size in bytes."""
    step_chars = len(str(max(start + num_steps - 1, 0))) + 2
    if fmt == "npy":
        return 4096 + num_steps * 8 * columns
    return 4096 + num_steps * (step_chars + (columns - 1) * (FLOAT_CHARS + 2))


def check_disk(fmt: str, target: Path, start: int, num_steps: int, columns: int) -> None:
    """Refuse an export that could not fit the free space of ``target``'s disk."""
    needed = size_bound(fmt, start, num_steps, columns)
    free = shutil.disk_usage(target.parent).free + (target.stat().st_size if target.is_file() else 0)
    if needed > free:
        fail(
            f"--num-steps {num_steps} as {fmt} needs up to {needed / 1e9:.3g} GB, but {target.parent} has "
            f"{free / 1e9:.3g} GB free; export fewer steps"
        )


def _write_csv(handle: IO[str], spec: Spec, names: list[str], start: int, num_steps: int) -> None:
    handle.write(",".join(names) + "\n")
    for steps, columns in chunks(spec, start, num_steps):
        rows = zip(steps.tolist(), *(column.tolist() for column in columns), strict=True)
        handle.write("".join(",".join(map(repr, row)) + "\n" for row in rows))


def _write_json(handle: IO[str], spec: Spec, names: list[str], start: int, num_steps: int) -> None:
    try:
        described: Any = spec.to_dict()
    except ValueError:
        described = repr(spec)
    handle.write('{"spec": ' + json.dumps(described))
    for index, name in enumerate(names):
        handle.write(f", {json.dumps(name)}: [")
        separator = ""
        for steps, columns in chunks(spec, start, num_steps):
            values = steps if index == 0 else columns[index - 1]
            handle.write(separator + ", ".join(map(repr, values.tolist())))
            separator = ", "
        handle.write("]")
    handle.write("}")


def _write_npy(handle: IO[bytes], spec: Spec, names: list[str], start: int, num_steps: int) -> None:
    dtype = np.dtype([(name, np.int64 if name == "step" else np.float64) for name in names])
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (num_steps,)}
    np.lib.format.write_array_header_1_0(handle, header)
    for steps, columns in chunks(spec, start, num_steps):
        table = np.empty(len(steps), dtype=dtype)
        for name, column in zip(names, [steps, *columns], strict=True):
            table[name] = column
        handle.write(table.tobytes())


def export(spec: Spec, fmt: str, target: Path, start: int, num_steps: int) -> None:
    """Write ``num_steps`` steps from ``start`` to ``target`` (checked already), atomically."""
    check_range(start, num_steps)
    names = column_names(spec, start)
    check_disk(fmt, target, start, num_steps, len(names))
    with atomic_write(target, binary=fmt == "npy") as handle:
        if fmt == "csv":
            _write_csv(handle, spec, names, start, num_steps)
        elif fmt == "json":
            _write_json(handle, spec, names, start, num_steps)
        else:
            _write_npy(handle, spec, names, start, num_steps)
