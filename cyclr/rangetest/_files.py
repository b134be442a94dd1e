"""Paths and open files for the range test's I/O: read from either, write to either."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, Union

PathOrFile = Union[str, "os.PathLike[str]", IO[str]]


@contextlib.contextmanager
def opened(file: PathOrFile, mode: str) -> Iterator[IO[str]]:
    """A path opened (and closed) here, or a text file used as it is (and left open)."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, mode, newline="") as stream:
            yield stream
        return
    if not hasattr(file, "write" if mode == "w" else "read"):
        purpose = "writing" if mode == "w" else "reading"
        raise TypeError(f"expected a path or a text file open for {purpose}, got {file!r}")
    yield file
