"""Paths and open files for the range test's I/O: read lines with their numbers, write atomically.

Reading a path goes line by line in binary, each line decoded as UTF-8 by itself, so that a binary
file or a stray byte is reported with its line, and a file with no newline is not read whole.

Writing to a path is atomic: the data goes to a temporary file beside it, flushed to disk, then
``os.replace`` puts it in place; if anything fails, the file that was there is untouched and the
temporary file is removed. The new file gets the mode the old one had (or the usual ``0o666 & ~umask``).
A path that exists and is not a regular file (``/dev/null``, ``/dev/full``, a FIFO) is written to
directly, never replaced; a symlink is followed, and its target replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO, Any, Union

PathOrFile = Union[str, "os.PathLike[str]", IO[str]]

MAX_LINE = 1 << 20
"""The longest line read from a path, in bytes (1 MiB): a longer one is no sweep's CSV."""


def describe(file: Any) -> str:
    """How messages name ``file``: its path, an open file's name, or "the sweep file"."""
    if isinstance(file, (str, os.PathLike)):
        return os.fsdecode(file)
    name = getattr(file, "name", None)
    return name if isinstance(name, str) else "the sweep file"


@contextlib.contextmanager
def lines_of(file: PathOrFile) -> Iterator[Iterator[str]]:
    """The text lines of a path (UTF-8, a byte-order mark dropped) or of a text file open for reading;
    a line that is not UTF-8 or longer than ``MAX_LINE`` is a ValueError naming the file and line."""
    where = describe(file)
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as binary:
            yield _decoded(binary, where)
        return
    if not hasattr(file, "read"):
        raise TypeError(f"expected a path or a text file open for reading, got {file!r}")
    yield _text_lines(file, where)


def _decoded(binary: IO[bytes], where: str) -> Iterator[str]:
    number = 0
    while True:
        raw = binary.readline(MAX_LINE + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE:
            raise ValueError(f"{where}, line {number}: longer than 1 MiB: is it a sweep's CSV?")
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{where}, line {number}: not UTF-8 text (byte {raw[error.start]:#04x} at column "
                f"{error.start + 1}): is it a CSV file?"
            ) from None


def _text_lines(stream: IO[str], where: str) -> Iterator[str]:
    first = True
    try:
        for line in stream:
            if first and line.startswith("\ufeff"):
                line = line[1:]
            first = False
            yield line
    except UnicodeDecodeError as error:  # a file the caller opened in text mode
        raise ValueError(f"{where}: not UTF-8 text ({error.reason}): is it a CSV file?") from None


@contextlib.contextmanager
def written(file: Any, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream to write to: a path's temporary file, put in place atomically when the block ends
    without an error; or the caller's open file, used as it is (and left open).

    Raises:
        TypeError: ``file`` is neither a path nor a file open for writing.
        IsADirectoryError: the path is a directory.
        FileNotFoundError, NotADirectoryError: its parent directory does not exist, or is a file.
        PermissionError: the file, or its directory, may not be written.
        OSError: anything else the system refuses (no space).
    """
    if not isinstance(file, (str, os.PathLike)):
        if not hasattr(file, "write"):
            kind = "binary" if binary else "text"
            raise TypeError(f"expected a path or a {kind} file open for writing, got {file!r}")
        yield file
        return
    path = os.path.realpath(os.fsdecode(file))  # a symlink's target is what gets replaced
    mode = "wb" if binary else "w"
    encoding = None if binary else "utf-8"
    newline = None if binary else ""
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fsdecode(file))
    if existing is not None and not stat.S_ISREG(existing.st_mode):  # a device, a FIFO: write to it
        with open(path, mode, encoding=encoding, newline=newline) as stream:
            yield stream
        return
    if existing is not None and not os.access(path, os.W_OK):  # as open() would: not around the mode
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        code = errno.ENOTDIR if os.path.exists(parent) else errno.ENOENT
        raise (NotADirectoryError if code == errno.ENOTDIR else FileNotFoundError)(
            code, os.strerror(code), parent
        )
    try:
        temporary, descriptor = _create_beside(path)
    except OSError as error:  # name the path asked for, not the temporary one
        raise type(error)(error.errno, error.strerror, path) from None
    try:
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
        with open(descriptor, mode, encoding=encoding, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _create_beside(path: str) -> tuple[str, int]:
    """A new, empty, hidden file in ``path``'s directory, created with the usual mode (0o666 & ~umask)."""
    directory, name = os.path.split(path)
    for _ in range(100):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", directory)
