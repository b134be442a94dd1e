"""Where the command line writes: checked before any work, never over an input, written atomically.

An output is refused when it is a directory, lies in a directory that does not exist, is not a regular
file (``/dev/full``), is one of the command's inputs (also through a symlink or a hard link), or exists
and ``--force`` was not given. The file is written to a temporary file in the same directory and moved
into place with ``os.replace``, so a failure (a full disk, Ctrl-C) never leaves a half-written file and
never destroys the one that was there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ._usage import fail


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or the same inode (a hard link)."""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def check_output(
    path: Path, *, force: bool, inputs: Sequence[tuple[str, Path]] = (), flag: str = "-o"
) -> Path:
    """The file to write, refused (one line, exit 2) before any work is done if it is unsafe.

    Args:
        path: the path given on the command line.
        force: ``--force``: an existing regular file may be replaced.
        inputs: ``(flag, path)`` of every file the command reads; none of them is ever replaced.
        flag: the option named in the messages.

    Returns:
        The path to write (a symlink's target, so the link stays a link).
    """
    text = str(path)
    if not text.strip():
        fail(f"{flag} must name a file, got {text!r}")
    if text.endswith(("/", os.sep)) or path.is_dir():
        fail(f"{flag} {text} is a directory; give a file name")
    for input_flag, input_path in inputs:
        if same_file(path, input_path):
            fail(f"{flag} {text} is the input {input_flag} {input_path}; refusing to overwrite an input")
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    parent = target.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a directory"
        fail(f"{flag} {text}: the directory {parent} {what}")
    if target.exists():
        if not target.is_file():
            fail(f"{flag} {text} is not a regular file; write to a file")
        if not force:
            fail(f"{flag} {text} exists; pass --force to overwrite it")
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(target: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """Yield a file in ``target``'s directory; on success it replaces ``target``, on failure it is removed."""
    try:
        handle_fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        fail(f"cannot write {target}: {error.strerror or error} (in {target.parent})")
    try:
        handle: IO[Any] = (
            open(handle_fd, "wb") if binary else open(handle_fd, "w", encoding="utf-8", newline="")
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def shown(target: Path, given: Path) -> str:
    """The path to report: the one given, unless the file written is elsewhere (a suffix, a symlink)."""
    return str(given) if Path(os.path.realpath(given)) == Path(os.path.realpath(target)) else str(target)
